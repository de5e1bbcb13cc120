//! Blob reads: existence checks, verified streaming downloads with resume, and mounts.

use hoist_oci::{Digest, Hasher, Reference};
use reqwest::header::{CONTENT_LENGTH, HeaderMap, HeaderValue, LOCATION, RANGE};
use reqwest::{Method, StatusCode};
use tokio::io::{AsyncWrite, AsyncWriteExt};

use crate::auth::repo_scope;
use crate::client::Client;
use crate::error::{Operation, RegistryError};
use crate::progress::BlobAction;
use crate::retry::{backoff, is_retryable_transport};
use crate::transport::{Ctx, Endpoint};

pub(crate) fn blob_ctx(op: Operation, repo: &Reference, actions: &str) -> Ctx {
    Ctx {
        op,
        registry: repo.domain().to_string(),
        target: repo.name(),
        scopes: vec![repo_scope(repo.repository(), actions)],
    }
}

pub(crate) fn blob_path(repo: &Reference, d: &Digest) -> String {
    format!("v2/{}/blobs/{d}", repo.repository())
}

impl Client {
    /// `HEAD` on a blob: its size when the repository has it, `None` otherwise.
    pub async fn blob_exists(
        &self,
        repo: &Reference,
        digest: &Digest,
    ) -> Result<Option<u64>, RegistryError> {
        let mut c = blob_ctx(Operation::Pull, repo, "pull");
        self.head_blob(&mut c, repo, digest).await
    }

    /// `HEAD` on a blob within `c` (so a push reuses its push-scoped token).
    pub(crate) async fn head_blob(
        &self,
        c: &mut Ctx,
        repo: &Reference,
        digest: &Digest,
    ) -> Result<Option<u64>, RegistryError> {
        let resp = self
            .send(
                c,
                Method::HEAD,
                Endpoint::Path(blob_path(repo, digest)),
                HeaderMap::new(),
                None,
            )
            .await?;
        match resp.status() {
            StatusCode::NOT_FOUND => Ok(None),
            s if s.is_success() => Ok(Some(
                resp.headers()
                    .get(CONTENT_LENGTH)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0),
            )),
            _ => Err(self.fail(c, resp).await),
        }
    }

    /// Streams a blob into `sink`, hashing as bytes pass, and returns its size.
    ///
    /// A connection that breaks mid-body is resumed with `Range` (or, when the registry
    /// answers 200 instead of 206, by skipping what was already written). A digest
    /// mismatch gives [`RegistryError::DigestMismatch`]; the caller removes what the sink
    /// holds. Redirects to storage hosts never carry the registry's `Authorization`.
    pub async fn get_blob<W>(
        &self,
        repo: &Reference,
        digest: &Digest,
        sink: &mut W,
    ) -> Result<u64, RegistryError>
    where
        W: AsyncWrite + Unpin + ?Sized,
    {
        let state = self.state(repo.domain());
        let _permit = state
            .downloads
            .acquire()
            .await
            .map_err(|_| RegistryError::Setup {
                reason: "download limiter closed".into(),
            })?;
        let mut c = blob_ctx(Operation::Pull, repo, "pull");
        let local = |source| RegistryError::LocalIo {
            op: Operation::Pull,
            target: repo.name(),
            digest: digest.clone(),
            source,
        };
        let mut hasher = Hasher::new();
        let mut written: u64 = 0;
        let mut started = false;
        let mut breaks = 0u32;
        loop {
            let mut h = HeaderMap::new();
            if written > 0
                && let Ok(v) = HeaderValue::from_str(&format!("bytes={written}-"))
            {
                h.insert(RANGE, v);
            }
            let mut resp = self
                .send(
                    &mut c,
                    Method::GET,
                    Endpoint::Path(blob_path(repo, digest)),
                    h,
                    None,
                )
                .await?;
            let status = resp.status();
            if !status.is_success() {
                return Err(self.fail(&c, resp).await);
            }
            // Bytes of this response to drop because they were already written.
            let mut skip = if status == StatusCode::PARTIAL_CONTENT {
                0
            } else {
                written
            };
            if !started {
                let size = resp.content_length();
                self.progress
                    .blob_started(digest, size, BlobAction::Download);
                started = true;
            }
            let broke = loop {
                match resp.chunk().await {
                    Ok(Some(chunk)) => {
                        let mut data = &chunk[..];
                        if skip > 0 {
                            let n = (skip as usize).min(data.len());
                            data = &data[n..];
                            skip -= n as u64;
                        }
                        if data.is_empty() {
                            continue;
                        }
                        hasher.update(data);
                        sink.write_all(data).await.map_err(local)?;
                        written += data.len() as u64;
                        self.progress.blob_progress(digest, data.len() as u64);
                    }
                    Ok(None) => break None,
                    Err(e) => break Some(e),
                }
            };
            match broke {
                None => break,
                Some(e) if is_retryable_transport(&e) && breaks < self.opts.retries => {
                    tracing::debug!(%digest, written, error = %e.without_url(), "blob download broke, resuming");
                    tokio::time::sleep(backoff(
                        breaks,
                        self.opts.retry_base_delay,
                        self.opts.retry_max_delay,
                    ))
                    .await;
                    breaks += 1;
                }
                Some(e) => {
                    return Err(RegistryError::Http {
                        op: Operation::Pull,
                        target: repo.name(),
                        url: blob_path(repo, digest),
                        source: e.without_url(),
                    });
                }
            }
        }
        sink.flush().await.map_err(local)?;
        let actual = hasher.finish();
        if actual != *digest {
            return Err(RegistryError::DigestMismatch {
                op: Operation::Pull,
                target: repo.name(),
                expected: digest.clone(),
                actual,
            });
        }
        self.progress.blob_done(digest);
        Ok(written)
    }

    /// Asks the registry to link `digest` from `from` (same registry) into `repo`.
    /// True when mounted (201); false when the registry declined (202, the upload
    /// session it opened is cancelled) or `from` is on another registry.
    pub async fn mount_blob(
        &self,
        repo: &Reference,
        digest: &Digest,
        from: &Reference,
    ) -> Result<bool, RegistryError> {
        if from.domain() != repo.domain() {
            return Ok(false);
        }
        let mut c = blob_ctx(Operation::Mount, repo, "pull,push");
        c.scopes.push(repo_scope(from.repository(), "pull"));
        let path = format!(
            "v2/{}/blobs/uploads/?mount={digest}&from={}",
            repo.repository(),
            from.repository()
        );
        let resp = self
            .send(
                &mut c,
                Method::POST,
                Endpoint::Path(path),
                HeaderMap::new(),
                None,
            )
            .await?;
        match resp.status() {
            StatusCode::CREATED => {
                self.progress.blob_started(digest, None, BlobAction::Mount);
                self.progress.blob_done(digest);
                tracing::debug!(%digest, from = %from.name(), to = %repo.name(), "mounted blob");
                Ok(true)
            }
            StatusCode::ACCEPTED => {
                let loc = resp
                    .headers()
                    .get(LOCATION)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string);
                if let Some(loc) = loc {
                    self.cancel_upload(&c, &loc).await;
                }
                Ok(false)
            }
            _ => Err(self.fail(&c, resp).await),
        }
    }

    /// Best-effort `DELETE` of an upload session we will not use.
    pub(crate) async fn cancel_upload(&self, c: &Ctx, location: &str) {
        let Ok((_, info)) = self.pinged(&c.registry).await else {
            return;
        };
        let Ok(url) = info.base.join(location) else {
            return;
        };
        let mut c = c.clone();
        match self
            .send(
                &mut c,
                Method::DELETE,
                Endpoint::Url(url),
                HeaderMap::new(),
                None,
            )
            .await
        {
            Ok(r) => tracing::debug!(status = r.status().as_u16(), "cancelled upload session"),
            // An abandoned session expires on the registry by itself; nothing else to do.
            Err(e) => tracing::debug!(error = %e, "could not cancel upload session"),
        }
    }
}
