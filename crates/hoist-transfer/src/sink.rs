//! An `AsyncWrite` over the store's synchronous [`hoist_store::BlobWriter`].

use std::io::Write;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::AsyncWrite;

/// Writes straight through to a synchronous writer.
///
/// The blob writer buffers 256 KiB and writes to a local file, which completes without
/// waiting on the network; a blocking-pool hop per chunk (what `tokio::fs` does) would
/// cost more than the write itself. Downloads run on a multi-threaded runtime, so one
/// slow disk write never stalls the other transfers.
pub(crate) struct SyncSink<'a, W: Write>(pub &'a mut W);

impl<W: Write + Unpin> AsyncWrite for SyncSink<'_, W> {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Poll::Ready(self.get_mut().0.write(buf))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(self.get_mut().0.flush())
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        self.poll_flush(cx)
    }
}

/// Finishes a blob written through [`SyncSink`]: checks that `written` matches the
/// descriptor's size, then publishes it under its digest (fsync + rename, off the async
/// workers). `source` names where the bytes came from, for the error.
pub(crate) async fn commit_blob(
    w: hoist_store::BlobWriter,
    blob: &hoist_oci::spec::Descriptor,
    written: u64,
    source: impl FnOnce() -> String,
) -> Result<(), crate::TransferError> {
    if written != blob.size() {
        return Err(crate::TransferError::SizeMismatch {
            reference: source(),
            digest: blob.digest().clone(),
            expected: blob.size(),
            actual: written,
        });
    }
    let d = blob.digest().clone();
    tokio::task::spawn_blocking(move || w.commit_expect(&d))
        .await
        .map_err(|e| crate::TransferError::Task(e.to_string()))??;
    Ok(())
}
