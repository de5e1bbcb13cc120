//! Progress reporting for blob transfers; the CLI renders it.

use hoist_oci::Digest;

/// What happens to a blob.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlobAction {
    /// Bytes are sent to the registry.
    Upload,
    /// Bytes are fetched from the registry.
    Download,
    /// The registry links the blob from another repository; no bytes move.
    Mount,
    /// The registry already has the blob; no bytes move.
    Exists,
}

/// Receives blob transfer events. Implementations must be cheap: they are called per chunk.
pub trait Progress: Send + Sync {
    /// A blob transfer starts (or is skipped, for `Mount`/`Exists`).
    fn blob_started(&self, digest: &Digest, size: Option<u64>, action: BlobAction);
    /// `bytes` more bytes moved. After a restart the count starts again from zero
    /// after a new `blob_started`.
    fn blob_progress(&self, digest: &Digest, bytes: u64);
    /// The blob is complete.
    fn blob_done(&self, digest: &Digest);
}

/// Ignores every event.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProgress;

impl Progress for NoProgress {
    fn blob_started(&self, _: &Digest, _: Option<u64>, _: BlobAction) {}
    fn blob_progress(&self, _: &Digest, _: u64) {}
    fn blob_done(&self, _: &Digest) {}
}
