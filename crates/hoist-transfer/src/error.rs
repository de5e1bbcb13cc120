//! The crate's error type.

use std::path::PathBuf;

use hoist_oci::Digest;
use thiserror::Error;

/// Errors from moving images between the store and registries.
#[derive(Debug, Error)]
pub enum TransferError {
    /// The registry failed; see [`hoist_registry::RegistryError::hint`].
    #[error(transparent)]
    Registry(Box<hoist_registry::RegistryError>),
    /// The local store failed.
    #[error(transparent)]
    Store(#[from] hoist_store::StoreError),
    /// The image to push has no name or digest in the store.
    #[error("image {reference} is not in the local store")]
    NotInStore {
        /// What was asked for.
        reference: String,
    },
    /// A manifest, index or config did not parse.
    #[error("invalid {what} {digest}")]
    Json {
        /// Which document.
        what: &'static str,
        /// Its digest.
        digest: Digest,
        /// Cause.
        #[source]
        source: serde_json::Error,
    },
    /// A document is not an image manifest or index.
    #[error(
        "{digest} has media type {media_type:?}, which is neither an image manifest nor an index"
    )]
    NotAnImage {
        /// Its digest.
        digest: Digest,
        /// What it claims to be.
        media_type: String,
    },
    /// An index lists no manifest for the requested platform.
    #[error("{reference} has no image for platform {platform} (available: {available})")]
    NoMatchingPlatform {
        /// The image.
        reference: String,
        /// The platform asked for.
        platform: String,
        /// Platforms the index lists.
        available: String,
    },
    /// A blob the image needs is absent from the store (e.g. a platform of a
    /// multi-platform index that was never pulled).
    #[error("blob {digest} of {reference} is not in the local store")]
    MissingBlob {
        /// The image being pushed.
        reference: String,
        /// The absent blob.
        digest: Digest,
    },
    /// Downloaded content does not match its descriptor.
    #[error("{digest} from {reference} is {actual} bytes, its descriptor says {expected}")]
    SizeMismatch {
        /// The image.
        reference: String,
        /// The blob.
        digest: Digest,
        /// Size in the descriptor.
        expected: u64,
        /// Size received.
        actual: u64,
    },
    /// Indexes nest deeper than hoist follows.
    #[error("{reference}: indexes nested more than {depth} levels deep")]
    TooDeep {
        /// The image.
        reference: String,
        /// The limit.
        depth: usize,
    },
    /// The record of blob sources could not be read or written.
    #[error("cannot {op} blob source record {path}")]
    Sources {
        /// What was attempted.
        op: &'static str,
        /// The record file.
        path: PathBuf,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// An OCI layout (an `oci:` directory or a temporary copy) is unusable.
    #[error("oci layout {path}: {reason}")]
    Layout {
        /// The layout directory or file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A blob could not be read from a copy's source.
    #[error("cannot read blob {digest} from {source_name}")]
    BlobIo {
        /// The source.
        source_name: String,
        /// The blob.
        digest: Digest,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// A copy endpoint (`oci:DIR`, `docker-archive:FILE`, a registry reference, …) is
    /// malformed or unusable in that position.
    #[error("invalid copy endpoint {input:?}: {reason}")]
    Endpoint {
        /// What was given.
        input: String,
        /// What is wrong.
        reason: String,
    },
    /// A transfer task panicked or was cancelled.
    #[error("transfer task failed: {0}")]
    Task(String),
}

impl From<hoist_registry::RegistryError> for TransferError {
    fn from(e: hoist_registry::RegistryError) -> Self {
        TransferError::Registry(Box::new(e))
    }
}

impl TransferError {
    /// The registry error inside, when there is one (for `hint:` lines).
    pub fn registry(&self) -> Option<&hoist_registry::RegistryError> {
        match self {
            TransferError::Registry(e) => Some(e.as_ref()),
            _ => None,
        }
    }
}
