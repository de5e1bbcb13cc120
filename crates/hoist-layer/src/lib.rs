//! Deterministic OCI layer tarballs, compressed in one pass with both digests,
//! and safe extraction.
//!
//! * [`write_layer`] turns a list of [`Entry`] values into a reproducible layer
//!   blob written to any `io::Write`, returning its [`LayerInfo`] (diffID,
//!   blob digest, sizes, media type).
//! * [`extract`] unpacks a (possibly compressed) tar stream under a root
//!   directory without ever writing outside it, applying OCI whiteouts.
//! * [`detect_compression`] sniffs gzip, bzip2, xz, zstd and plain tar.
//!
//! This crate knows nothing about registries or the image store.

mod detect;
pub mod diff;
mod entry;
mod error;
mod extract;
pub mod overlay;
mod write;

pub use detect::{ArchiveCompression, DETECT_PREFIX_LEN, decompressor, detect_compression};
pub use entry::{Entry, EntryKind, EntryMeta, FileSource, LayerInfo, LayerOptions, Timestamp};
pub use error::LayerError;
pub use extract::{ExtractOptions, ExtractStats, extract};
pub use hoist_oci::media::Compression;
pub use write::write_layer;
