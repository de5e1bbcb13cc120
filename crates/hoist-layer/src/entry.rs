//! The values a layer is built from.

use std::collections::BTreeMap;
use std::path::PathBuf;

use hoist_oci::media::Compression;
use hoist_oci::{Digest, MediaType};

/// A point in time: seconds since the Unix epoch plus nanoseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp {
    /// Seconds since 1970-01-01T00:00:00Z (may be negative).
    pub secs: i64,
    /// Nanoseconds within the second, `0..1_000_000_000`.
    pub nanos: u32,
}

impl Timestamp {
    /// A whole-second timestamp.
    pub const fn from_secs(secs: i64) -> Self {
        Timestamp { secs, nanos: 0 }
    }
}

/// Ownership, permissions, time and extended attributes of an entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryMeta {
    /// Permission bits including setuid/setgid/sticky (`0o7777` mask); no file-type bits.
    pub mode: u32,
    /// Owner user id.
    pub uid: u32,
    /// Owner group id.
    pub gid: u32,
    /// Modification time.
    pub mtime: Timestamp,
    /// Extended attributes, written as `SCHILY.xattr.<name>` PAX records.
    pub xattrs: BTreeMap<String, Vec<u8>>,
}

impl Default for EntryMeta {
    /// `0o755`, root:root, mtime 0 (the epoch), no xattrs: what missing parent directories get.
    fn default() -> Self {
        EntryMeta {
            mode: 0o755,
            uid: 0,
            gid: 0,
            mtime: Timestamp::default(),
            xattrs: BTreeMap::new(),
        }
    }
}

/// Where a regular file's content comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileSource {
    /// A file on disk, streamed when the layer is written.
    Path(PathBuf),
    /// Small inline content (e.g. a heredoc).
    Bytes(Vec<u8>),
}

/// What an entry is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryKind {
    /// A directory.
    Dir,
    /// A regular file of `size` bytes.
    File {
        /// Content source.
        source: FileSource,
        /// Size in bytes; a path source must still have at least this many bytes when written.
        size: u64,
    },
    /// A symbolic link.
    Symlink {
        /// Link target, stored verbatim.
        target: String,
    },
    /// A hard link to an earlier entry.
    Hardlink {
        /// Image path of the first link (same form as [`Entry::path`]).
        target: String,
    },
    /// Deletes the lower layer's file: written as `.wh.<name>` in the parent directory.
    Whiteout,
    /// A directory whose lower-layer contents are hidden: written as the directory plus `.wh..wh..opq`.
    OpaqueDir,
}

/// One entry of a layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Image path relative to `/`, `/`-separated, no leading `/`, e.g. `app/src/main.rs`.
    pub path: String,
    /// What the entry is.
    pub kind: EntryKind,
    /// Ownership, mode, time, xattrs.
    pub meta: EntryMeta,
}

/// How [`write_layer`](crate::write_layer) writes a layer.
#[derive(Debug, Clone)]
pub struct LayerOptions {
    /// Compression of the blob. Default: [`Compression::Gzip`].
    pub compression: Compression,
    /// Compression level. Default (`None`): gzip level 1 (zlib-rs' fast path:
    /// ~2x the speed of level 2 for ~5% bigger blobs), zstd level 2 (as fast as
    /// level 1 here and slightly smaller; level 3 is ~1.5x slower).
    pub level: Option<i32>,
    /// Compression worker threads. Default: `std::thread::available_parallelism()`.
    /// The output bytes do not depend on this value.
    pub threads: usize,
    /// Metadata for parent directories that are missing from the entries.
    /// Default: [`EntryMeta::default`] (`0o755`, root, mtime 0).
    pub parent_meta: EntryMeta,
    /// `SOURCE_DATE_EPOCH`: every mtime later than this is set to this. Default: `None`.
    pub clamp_mtime: Option<Timestamp>,
}

impl Default for LayerOptions {
    fn default() -> Self {
        LayerOptions {
            compression: Compression::Gzip,
            level: None,
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
            parent_meta: EntryMeta::default(),
            clamp_mtime: None,
        }
    }
}

/// What [`write_layer`](crate::write_layer) produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerInfo {
    /// sha256 of the uncompressed tar (the config's `rootfs.diff_ids` entry).
    pub diff_id: Digest,
    /// Size of the uncompressed tar in bytes.
    pub uncompressed_size: u64,
    /// sha256 of the blob as written to the sink.
    pub digest: Digest,
    /// Size of the blob in bytes.
    pub size: u64,
    /// OCI layer media type for the compression.
    pub media_type: MediaType,
    /// Number of tar entries written (including added parents and whiteout markers).
    pub entries: u64,
}
