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
