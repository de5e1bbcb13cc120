use std::io;
use std::path::PathBuf;

use hoist_oci::{Digest, OciError};
use thiserror::Error;

/// Everything that can go wrong in the store and its archive import/export.
#[derive(Debug, Error)]
pub enum StoreError {
    /// A filesystem operation failed.
    #[error("cannot {op} {path}")]
    Io {
        /// What was attempted, e.g. `create`, `rename`.
        op: &'static str,
        /// The path involved.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// The root exists but is not a usable OCI image layout.
    #[error("{path} is not an OCI image layout: {reason}")]
    NotALayout {
        /// The offending file or directory.
        path: PathBuf,
        /// Why it was rejected.
        reason: String,
    },
    /// A blob is not in the store.
    #[error("blob {digest} not found in {root}")]
    BlobNotFound {
        /// The missing digest.
        digest: Digest,
        /// The store (or layout) root that was searched.
        root: PathBuf,
    },
    /// `commit()` on a writer whose producer does the hashing: it has no digest of its own.
    #[error("blob writer was created for a producer-hashed blob: commit it with its digest")]
    UnhashedCommit,
    /// Content did not hash to the digest it was announced with.
    #[error("digest mismatch: expected {expected}, got {actual}")]
    DigestMismatch {
        /// The digest the caller expected.
        expected: Digest,
        /// The digest of the bytes actually received.
        actual: Digest,
    },
    /// Only sha256 content addresses are written by hoist.
    #[error("unsupported digest algorithm in {digest}")]
    UnsupportedDigest {
        /// The digest with the foreign algorithm.
        digest: Digest,
    },
    /// A JSON document was larger than the bound allowed for it.
    #[error("{what} {location} is larger than {max} bytes")]
    TooLarge {
        /// Which document.
        what: &'static str,
        /// Its digest or path.
        location: String,
        /// The bound.
        max: u64,
    },
    /// A JSON document did not parse.
    #[error("invalid {what} JSON in {location}")]
    Json {
        /// Which document, e.g. `index.json`, `manifest`.
        what: &'static str,
        /// Its digest or path.
        location: String,
        /// The parser's error.
        #[source]
        source: serde_json::Error,
    },
    /// A name needs a tag: `set_name` with a digest-only reference.
    #[error("{reference} cannot be used as a name: it has no tag")]
    NameNeedsTag {
        /// The reference given.
        reference: String,
    },
    /// A descriptor or blob is neither an image manifest nor an index.
    #[error("{digest} is not an image manifest or index (media type {media_type:?})")]
    NotAnImage {
        /// The digest.
        digest: Digest,
        /// The media type found, empty when there was none.
        media_type: String,
    },
    /// An index has no manifest for the requested platform.
    #[error("{reference} has no image for platform {platform} (available: {available})")]
    NoMatchingPlatform {
        /// The reference being resolved.
        reference: String,
        /// The requested platform.
        platform: String,
        /// The platforms the index offers, comma separated.
        available: String,
    },
    /// `prune` was called while this process holds a [`crate::StoreLease`]:
    /// waiting for the exclusive lock would deadlock.
    #[error("cannot prune {root} while this process holds a store lease")]
    LeaseHeld {
        /// The store root.
        root: PathBuf,
    },
    /// An archive is malformed or of an unknown kind.
    #[error("invalid archive {path}: {reason}")]
    InvalidArchive {
        /// The archive file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// A name in an archive (or given for export) is not a valid reference.
    #[error("invalid image name {input:?} in {path}")]
    InvalidName {
        /// The name as found.
        input: String,
        /// Where it was found.
        path: PathBuf,
        /// The parser's error.
        #[source]
        source: OciError,
    },
    /// Export destination exists and cannot be written into.
    #[error("{path} exists and is neither an empty directory nor an OCI image layout")]
    DestinationExists {
        /// The destination.
        path: PathBuf,
    },
    /// Two exported images would carry the same tag-only `ref.name`.
    #[error(
        "two exported images are tagged {tag:?} ({first} and {second}); export them separately"
    )]
    DuplicateTag {
        /// The clashing tag.
        tag: String,
        /// The first image name.
        first: String,
        /// The second image name.
        second: String,
    },
    /// A docker-archive can only hold single-platform image manifests.
    #[error("{reference} is an index ({digest}); docker-archive needs a single-platform manifest")]
    NeedsManifest {
        /// The image name.
        reference: String,
        /// The index digest.
        digest: Digest,
    },
}

impl StoreError {
    /// Shorthand for [`StoreError::Io`].
    pub(crate) fn io(op: &'static str, path: impl Into<PathBuf>) -> impl FnOnce(io::Error) -> Self {
        let path = path.into();
        move |source| StoreError::Io { op, path, source }
    }
}
