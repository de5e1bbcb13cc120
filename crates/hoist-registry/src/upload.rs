//! Blob uploads: existence check, streamed monolithic PUT, chunked PATCH, fallbacks and
//! restarts with a fresh session from a re-opened source.

use std::future::Future;
use std::sync::Arc;

use futures_util::StreamExt as _;
use hoist_oci::{Digest, Reference, parse_digest};
use reqwest::header::{
    CONTENT_LENGTH, CONTENT_RANGE, CONTENT_TYPE, HeaderMap, HeaderValue, LOCATION,
};
use reqwest::{Method, StatusCode, Url};
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio_util::io::ReaderStream;

use crate::blob::blob_ctx;
use crate::client::Client;
use crate::error::{ErrorCode, Operation, RegistryError};
use crate::progress::{BlobAction, Progress};
use crate::retry::backoff;
use crate::transport::{Ctx, Endpoint};

/// What [`Client::push_blob`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlobPush {
    /// The repository already had the blob; nothing was sent.
    Exists,
    /// The blob was uploaded.
    Uploaded,
}

enum Chunked {
    Done,
    /// The registry refused `Content-Range` chunks; use one streamed PUT instead.
    Rejected,
}

/// Read size of a streamed upload body.
const STREAM_BUFFER: usize = 256 * 1024;

/// A locked source as an `AsyncRead`, so that a chunk's body can own it ('static).
struct GuardRead<R>(tokio::sync::OwnedMutexGuard<R>);

impl<R: AsyncRead + Unpin> AsyncRead for GuardRead<R> {
    fn poll_read(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut *self.get_mut().0).poll_read(cx, buf)
    }
}

fn octet_headers(len: u64) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    h.insert(CONTENT_LENGTH, HeaderValue::from(len));
    h
}

fn restartable(e: &RegistryError) -> bool {
    e.is_transient() || matches!(e.code(), Some(ErrorCode::BlobUploadUnknown))
}

impl Client {
    /// Uploads a blob unless the repository already has it.
    ///
    /// `open` must return a fresh reader over the blob's `size` bytes each time it is
    /// called: an interrupted upload starts again with a new session. Blobs smaller than
    /// the registry's chunk size ([`crate::ClientOptions::chunk_size`] unless a
    /// [`crate::LimitsProvider`] says otherwise) go in one streamed `PUT`; larger ones in
    /// `PATCH` chunks with `Content-Range`, falling back to one streamed `PUT` when the
    /// registry rejects chunks (400/416).
    pub async fn push_blob<F, Fut, R>(
        &self,
        repo: &Reference,
        digest: &Digest,
        size: u64,
        open: F,
    ) -> Result<BlobPush, RegistryError>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = std::io::Result<R>>,
        R: AsyncRead + Send + Unpin + 'static,
    {
        let mut c = blob_ctx(Operation::Push, repo, "pull,push");
        if self.head_blob(&mut c, repo, digest).await?.is_some() {
            self.progress
                .blob_started(digest, Some(size), BlobAction::Exists);
            self.progress.blob_done(digest);
            return Ok(BlobPush::Exists);
        }
        let state = self.state(repo.domain());
        let _permit = state
            .uploads
            .acquire()
            .await
            .map_err(|_| RegistryError::Setup {
                reason: "upload limiter closed".into(),
            })?;
        let mut attempt = 0;
        loop {
            match self.upload_once(repo, digest, size, &open).await {
                Ok(()) => {
                    self.progress.blob_done(digest);
                    return Ok(BlobPush::Uploaded);
                }
                Err(e) if restartable(&e) && attempt < self.opts.retries => {
                    tracing::debug!(%digest, error = %e, attempt, "blob upload failed, restarting");
                    tokio::time::sleep(backoff(
                        attempt,
                        self.opts.retry_base_delay,
                        self.opts.retry_max_delay,
                    ))
                    .await;
                    attempt += 1;
                }
                Err(e) => return Err(e),
            }
        }
    }

    async fn open_source<F, Fut, R>(
        &self,
        repo: &Reference,
        digest: &Digest,
        open: &F,
    ) -> Result<R, RegistryError>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = std::io::Result<R>>,
    {
        open().await.map_err(|source| RegistryError::LocalIo {
            op: Operation::Push,
            target: repo.name(),
            digest: digest.clone(),
            source,
        })
    }

    /// POSTs a new upload session and returns its URL.
    async fn start_upload(&self, c: &mut Ctx, repo: &Reference) -> Result<Url, RegistryError> {
        let path = format!("v2/{}/blobs/uploads/", repo.repository());
        let resp = self
            .send(
                c,
                Method::POST,
                Endpoint::Path(path),
                HeaderMap::new(),
                None,
            )
            .await?;
        if resp.status() != StatusCode::ACCEPTED {
            return Err(self.fail(c, resp).await);
        }
        self.location(c, resp.headers()).await
    }

    async fn location(&self, c: &Ctx, h: &HeaderMap) -> Result<Url, RegistryError> {
        let (_, info) = self.pinged(&c.registry).await?;
        let loc = h
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| RegistryError::Protocol {
                op: c.op,
                target: c.target.clone(),
                reason: "upload response has no Location".into(),
            })?;
        info.base.join(loc).map_err(|e| RegistryError::Protocol {
            op: c.op,
            target: c.target.clone(),
            reason: format!("invalid upload Location: {e}"),
        })
    }

    async fn upload_once<F, Fut, R>(
        &self,
        repo: &Reference,
        digest: &Digest,
        size: u64,
        open: &F,
    ) -> Result<(), RegistryError>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = std::io::Result<R>>,
        R: AsyncRead + Send + Unpin + 'static,
    {
        let mut c = blob_ctx(Operation::Push, repo, "pull,push");
        let url = self.start_upload(&mut c, repo).await?;
        self.progress
            .blob_started(digest, Some(size), BlobAction::Upload);
        if size >= self.state(repo.domain()).limits.chunk_size {
            let reader = self.open_source(repo, digest, open).await?;
            match self
                .upload_chunks(&c, repo, digest, size, url, reader)
                .await?
            {
                Chunked::Done => return Ok(()),
                Chunked::Rejected => {
                    tracing::debug!(%digest, "registry rejected chunked upload, using one PUT");
                    self.progress
                        .blob_started(digest, Some(size), BlobAction::Upload);
                }
            }
            let url = self.start_upload(&mut c, repo).await?;
            let reader = self.open_source(repo, digest, open).await?;
            return self.put_streamed(&c, digest, size, url, reader).await;
        }
        let reader = self.open_source(repo, digest, open).await?;
        self.put_streamed(&c, digest, size, url, reader).await
    }

    /// One `PUT ?digest=` whose body streams the whole blob.
    async fn put_streamed<R>(
        &self,
        c: &Ctx,
        digest: &Digest,
        size: u64,
        mut url: Url,
        reader: R,
    ) -> Result<(), RegistryError>
    where
        R: AsyncRead + Send + Unpin + 'static,
    {
        url.query_pairs_mut().append_pair("digest", digest.as_ref());
        let progress: Arc<dyn Progress> = self.progress.clone();
        let d = digest.clone();
        let stream = ReaderStream::with_capacity(reader, 256 * 1024).map(move |chunk| {
            if let Ok(b) = &chunk {
                progress.blob_progress(&d, b.len() as u64);
            }
            chunk
        });
        let resp = self
            .send_streaming(
                c,
                Method::PUT,
                url,
                octet_headers(size),
                reqwest::Body::wrap_stream(stream),
            )
            .await?;
        self.finish_check(c, digest, resp).await
    }

    async fn finish_check(
        &self,
        c: &Ctx,
        digest: &Digest,
        resp: reqwest::Response,
    ) -> Result<(), RegistryError> {
        if resp.status() != StatusCode::CREATED && !resp.status().is_success() {
            return Err(self.fail(c, resp).await);
        }
        if let Some(served) = resp
            .headers()
            .get("docker-content-digest")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| parse_digest(v).ok())
            && served != *digest
        {
            return Err(RegistryError::DigestMismatch {
                op: Operation::Push,
                target: c.target.clone(),
                expected: digest.clone(),
                actual: served,
            });
        }
        Ok(())
    }

    async fn upload_chunks<R>(
        &self,
        c: &Ctx,
        repo: &Reference,
        digest: &Digest,
        size: u64,
        mut url: Url,
        reader: R,
    ) -> Result<Chunked, RegistryError>
    where
        R: AsyncRead + Send + Unpin + 'static,
    {
        let chunk = self.state(repo.domain()).limits.chunk_size;
        let mut offset: u64 = 0;
        // Each chunk streams from the source, nothing is buffered: the body holds the
        // reader until it has sent its `n` bytes. A failure restarts the whole upload
        // (`push_blob` re-opens the source), so no chunk needs keeping for a resend.
        let reader = Arc::new(tokio::sync::Mutex::new(reader));
        while offset < size {
            let n = chunk.min(size - offset);
            let guard = reader.clone().lock_owned().await;
            let body = ReaderStream::with_capacity(GuardRead(guard).take(n), STREAM_BUFFER);
            let mut h = octet_headers(n);
            if let Ok(v) = HeaderValue::from_str(&format!("{offset}-{}", offset + n - 1)) {
                h.insert(CONTENT_RANGE, v);
            }
            let resp = self
                .send_streaming(
                    c,
                    Method::PATCH,
                    url.clone(),
                    h,
                    reqwest::Body::wrap_stream(body),
                )
                .await?;
            let st = resp.status();
            if offset == 0
                && (st == StatusCode::RANGE_NOT_SATISFIABLE || st == StatusCode::BAD_REQUEST)
            {
                let loc = url.to_string();
                self.cancel_upload(c, &loc).await;
                return Ok(Chunked::Rejected);
            }
            if st != StatusCode::ACCEPTED && st != StatusCode::NO_CONTENT {
                return Err(self.fail(c, resp).await);
            }
            url = self.location(c, resp.headers()).await.unwrap_or(url);
            offset += n;
            self.progress.blob_progress(digest, n);
        }
        url.query_pairs_mut().append_pair("digest", digest.as_ref());
        let resp = self
            .send_streaming(
                c,
                Method::PUT,
                url,
                octet_headers(0),
                reqwest::Body::from(Vec::new()),
            )
            .await?;
        self.finish_check(c, digest, resp).await?;
        Ok(Chunked::Done)
    }
}

/// Compile-time check: the CLI spawns transfers on a multi-threaded runtime, so their
/// futures must be `Send`.
#[cfg(test)]
#[allow(dead_code)]
fn transfer_futures_are_send(c: &Client, r: &Reference, d: &Digest, sink: &mut Vec<u8>) {
    fn send<T: Send>(_: T) {}
    send(c.push_blob(r, d, 0, || async {
        Ok(std::io::Cursor::new(Vec::<u8>::new()))
    }));
    send(c.get_blob(r, d, sink));
    send(c.get_manifest(r, &[]));
    send(c.check_login("r", &crate::Credential::Anonymous));
}
