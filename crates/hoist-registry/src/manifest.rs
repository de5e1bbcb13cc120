//! Manifest operations: get, head, put, delete.

use bytes::{Bytes, BytesMut};
use hoist_oci::media::{self, MANIFEST_ACCEPT};
use hoist_oci::{Digest, MediaType, Reference, parse_digest, sha256_of};
use reqwest::header::{ACCEPT, CONTENT_LENGTH, CONTENT_TYPE, HeaderMap, HeaderValue};
use reqwest::{Method, Response, StatusCode};

use crate::auth::repo_scope;
use crate::client::Client;
use crate::error::{Operation, RegistryError};
use crate::transport::{Ctx, Endpoint};

const DOCKER_CONTENT_DIGEST: &str = "docker-content-digest";

/// A fetched manifest or index, verified.
#[derive(Debug, Clone)]
pub struct Manifest {
    /// The exact bytes served (digest-stable).
    pub bytes: Bytes,
    /// The media type (from `Content-Type`, or the document's `mediaType`).
    pub media_type: MediaType,
    /// The sha256 digest of `bytes`.
    pub digest: Digest,
}

/// What a `HEAD` on a manifest tells.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestHead {
    /// The manifest's digest.
    pub digest: Digest,
    /// Its media type.
    pub media_type: MediaType,
    /// Its size in bytes.
    pub size: u64,
}

pub(crate) fn ctx(op: Operation, r: &Reference, actions: &str) -> Ctx {
    Ctx {
        op,
        registry: r.domain().to_string(),
        target: r.to_string(),
        scopes: vec![repo_scope(r.repository(), actions)],
    }
}

fn manifest_path(r: &Reference) -> String {
    format!("v2/{}/manifests/{}", r.repository(), r.tag_or_digest())
}

fn header_digest(resp: &Response) -> Option<Digest> {
    let v = resp.headers().get(DOCKER_CONTENT_DIGEST)?.to_str().ok()?;
    parse_digest(v.trim()).ok()
}

fn content_type(resp: &Response) -> Option<String> {
    let v = resp.headers().get(CONTENT_TYPE)?.to_str().ok()?;
    let base = v.split(';').next().unwrap_or(v).trim();
    (!base.is_empty()).then(|| base.to_string())
}

fn accept_header(accept: &[&str]) -> HeaderMap {
    let list = if accept.is_empty() {
        MANIFEST_ACCEPT
    } else {
        accept
    };
    let mut h = HeaderMap::new();
    if let Ok(v) = HeaderValue::from_str(&list.join(", ")) {
        h.insert(ACCEPT, v);
    }
    h
}

/// The media type of a manifest served as `application/json` or without a type.
fn sniff_media_type(bytes: &[u8]) -> Result<Option<MediaType>, &'static str> {
    let v: serde_json::Value = serde_json::from_slice(bytes).map_err(|_| "not JSON")?;
    if v.get("schemaVersion").and_then(serde_json::Value::as_u64) == Some(1) {
        return Err("schema1");
    }
    if let Some(mt) = v.get("mediaType").and_then(serde_json::Value::as_str) {
        return Ok(Some(MediaType::from(mt)));
    }
    Ok(Some(if v.get("manifests").is_some() {
        MediaType::ImageIndex
    } else {
        MediaType::ImageManifest
    }))
}

impl Client {
    /// Fetches a manifest (≤ `max_manifest_size`), verifying its digest against the
    /// reference's digest, or against `Docker-Content-Digest` when fetched by tag.
    /// `accept` defaults to every supported manifest and index type when empty.
    /// Docker schema1 gives [`RegistryError::Unsupported`].
    pub async fn get_manifest(
        &self,
        r: &Reference,
        accept: &[&str],
    ) -> Result<Manifest, RegistryError> {
        let mut c = ctx(Operation::Pull, r, "pull");
        let mut resp = self
            .send(
                &mut c,
                Method::GET,
                Endpoint::Path(manifest_path(r)),
                accept_header(accept),
                None,
            )
            .await?;
        if !resp.status().is_success() {
            return Err(self.fail(&c, resp).await);
        }
        let limit = self.opts.max_manifest_size;
        let too_large = || RegistryError::ManifestTooLarge {
            target: c.target.clone(),
            limit,
        };
        if resp.content_length().is_some_and(|n| n > limit) {
            return Err(too_large());
        }
        let served_type = content_type(&resp);
        let served_digest = header_digest(&resp);
        let mut buf = BytesMut::new();
        while let Some(chunk) = resp.chunk().await.map_err(|e| RegistryError::Http {
            op: c.op,
            target: c.target.clone(),
            url: manifest_path(r),
            source: e.without_url(),
        })? {
            buf.extend_from_slice(&chunk);
            if buf.len() as u64 > limit {
                return Err(too_large());
            }
        }
        let bytes = buf.freeze();
        let unsupported = || RegistryError::Unsupported {
            op: Operation::Pull,
            target: c.target.clone(),
            what: "manifest format: Docker schema1".into(),
        };
        let media_type = match served_type.as_deref() {
            Some(t) if media::is_schema1(t) && t != "application/json" => return Err(unsupported()),
            Some(t) if t != "application/json" && t != "text/plain" => MediaType::from(t),
            _ => match sniff_media_type(&bytes) {
                Ok(Some(mt)) => mt,
                Err("schema1") => return Err(unsupported()),
                _ => {
                    return Err(RegistryError::Protocol {
                        op: c.op,
                        target: c.target.clone(),
                        reason: "manifest has no media type and is not JSON".into(),
                    });
                }
            },
        };
        let digest = sha256_of(&bytes);
        let expected = r.digest().cloned().or(served_digest);
        if let Some(expected) = expected
            && expected != digest
        {
            return Err(RegistryError::DigestMismatch {
                op: Operation::Pull,
                target: c.target.clone(),
                expected,
                actual: digest,
            });
        }
        Ok(Manifest {
            bytes,
            media_type,
            digest,
        })
    }

    /// `HEAD` on a manifest: `None` when it does not exist. When the registry omits
    /// `Docker-Content-Digest`, the manifest is fetched to compute it.
    pub async fn head_manifest(
        &self,
        r: &Reference,
    ) -> Result<Option<ManifestHead>, RegistryError> {
        let mut c = ctx(Operation::Pull, r, "pull");
        let resp = self
            .send(
                &mut c,
                Method::HEAD,
                Endpoint::Path(manifest_path(r)),
                accept_header(&[]),
                None,
            )
            .await?;
        if resp.status() == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        if !resp.status().is_success() {
            return Err(self.fail(&c, resp).await);
        }
        let size = resp
            .headers()
            .get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok());
        match (header_digest(&resp), content_type(&resp), size) {
            (Some(digest), Some(mt), Some(size)) if r.digest().is_none_or(|d| *d == digest) => {
                Ok(Some(ManifestHead {
                    digest,
                    media_type: MediaType::from(mt.as_str()),
                    size,
                }))
            }
            _ => {
                let m = self.get_manifest(r, &[]).await?;
                Ok(Some(ManifestHead {
                    size: m.bytes.len() as u64,
                    digest: m.digest,
                    media_type: m.media_type,
                }))
            }
        }
    }

    /// Uploads a manifest under the reference's tag (or digest) and returns its digest.
    pub async fn put_manifest(
        &self,
        r: &Reference,
        media_type: &MediaType,
        bytes: Bytes,
    ) -> Result<Digest, RegistryError> {
        let mut c = ctx(Operation::Push, r, "pull,push");
        let digest = sha256_of(&bytes);
        if let Some(d) = r.digest()
            && *d != digest
        {
            return Err(RegistryError::DigestMismatch {
                op: Operation::Push,
                target: c.target.clone(),
                expected: d.clone(),
                actual: digest,
            });
        }
        let mut h = HeaderMap::new();
        let ct =
            HeaderValue::from_str(media_type.as_ref()).map_err(|_| RegistryError::Protocol {
                op: Operation::Push,
                target: c.target.clone(),
                reason: format!("media type {media_type} is not a valid header value"),
            })?;
        h.insert(CONTENT_TYPE, ct);
        let resp = self
            .send(
                &mut c,
                Method::PUT,
                Endpoint::Path(manifest_path(r)),
                h,
                Some(bytes),
            )
            .await?;
        if !resp.status().is_success() {
            return Err(self.fail(&c, resp).await);
        }
        if let Some(served) = header_digest(&resp)
            && served != digest
        {
            return Err(RegistryError::DigestMismatch {
                op: Operation::Push,
                target: c.target.clone(),
                expected: digest,
                actual: served,
            });
        }
        tracing::debug!(reference = %r, %digest, "pushed manifest");
        Ok(digest)
    }

    /// Deletes a manifest. A tag is first resolved to its digest (registries delete by
    /// digest), so every tag pointing at that manifest goes too.
    pub async fn delete_manifest(&self, r: &Reference) -> Result<(), RegistryError> {
        let target = match r.digest() {
            Some(_) => r.clone(),
            None => {
                let head = self
                    .head_manifest(r)
                    .await?
                    .ok_or_else(|| RegistryError::Api {
                        op: Operation::Delete,
                        target: r.to_string(),
                        registry: r.domain().to_string(),
                        status: 404,
                        errors: vec![crate::error::ApiErrorEntry {
                            code: crate::error::ErrorCode::ManifestUnknown,
                            message: "manifest unknown".into(),
                            detail: None,
                        }],
                    })?;
                r.with_digest(head.digest)
            }
        };
        let mut c = ctx(Operation::Delete, &target, "delete");
        let path = format!(
            "v2/{}/manifests/{}",
            target.repository(),
            target.digest().map(ToString::to_string).unwrap_or_default()
        );
        let resp = self
            .send(
                &mut c,
                Method::DELETE,
                Endpoint::Path(path),
                HeaderMap::new(),
                None,
            )
            .await?;
        if resp.status().is_success() {
            Ok(())
        } else {
            Err(self.fail(&c, resp).await)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_untyped_documents() {
        assert_eq!(
            sniff_media_type(br#"{"schemaVersion":2,"manifests":[]}"#).unwrap(),
            Some(MediaType::ImageIndex)
        );
        assert_eq!(
            sniff_media_type(br#"{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json"}"#)
                .unwrap()
                .unwrap()
                .to_string(),
            media::DOCKER_MANIFEST
        );
        assert_eq!(sniff_media_type(br#"{"schemaVersion":1}"#), Err("schema1"));
        assert_eq!(sniff_media_type(b"nope"), Err("not JSON"));
    }
}
