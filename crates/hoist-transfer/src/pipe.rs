//! A registry blob as an `AsyncRead`: a download task writes into an in-memory pipe,
//! the reader (an upload to another registry) drains it. Nothing touches the disk and
//! at most [`PIPE_BUFFER`] bytes are in flight.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use hoist_oci::{Digest, Reference};
use hoist_registry::{Client, RegistryError};
use tokio::io::{AsyncRead, DuplexStream, ReadBuf};
use tokio::task::JoinHandle;

/// Bytes buffered between the download and the upload.
const PIPE_BUFFER: usize = 1 << 20;

/// The read end of a streamed blob download. A failed download (broken connection
/// after retries, digest mismatch) ends the stream with that error rather than a short
/// read. Dropping the reader cancels the download.
pub(crate) struct BlobPipe {
    rx: DuplexStream,
    task: JoinHandle<Result<u64, RegistryError>>,
    finished: bool,
}

impl BlobPipe {
    /// Starts downloading `digest` from `repo`.
    pub(crate) fn spawn(client: Client, repo: Reference, digest: Digest) -> Self {
        let (mut tx, rx) = tokio::io::duplex(PIPE_BUFFER);
        let task = tokio::spawn(async move {
            // The write end is dropped when the task ends: that is the reader's EOF.
            client.get_blob(&repo, &digest, &mut tx).await
        });
        Self {
            rx,
            task,
            finished: false,
        }
    }
}

impl AsyncRead for BlobPipe {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        ready!(Pin::new(&mut this.rx).poll_read(cx, buf))?;
        if buf.filled().len() > before || this.finished || buf.remaining() == 0 {
            return Poll::Ready(Ok(()));
        }
        // End of the pipe: the download is over; report how it ended.
        match ready!(Pin::new(&mut this.task).poll(cx)) {
            Ok(Ok(_)) => {
                this.finished = true;
                Poll::Ready(Ok(()))
            }
            Ok(Err(e)) => Poll::Ready(Err(io::Error::other(e))),
            Err(e) => Poll::Ready(Err(io::Error::other(e))),
        }
    }
}

impl Drop for BlobPipe {
    fn drop(&mut self) {
        self.task.abort();
    }
}
