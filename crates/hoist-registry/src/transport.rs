//! Sending requests: authorization, manual redirects (credentials never leave the
//! registry's host), retries with backoff, and error mapping.

use bytes::Bytes;
use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderValue, LOCATION, WWW_AUTHENTICATE};
use reqwest::{Method, Response, StatusCode, Url};

use crate::auth::{AuthScheme, TokenCache, union_scopes};
use crate::challenge::parse_challenges;
use crate::client::{Client, PingInfo, RegistryState};
use crate::error::{Operation, RegistryError, parse_error_body};
use crate::retry::{backoff, is_retryable_status, is_retryable_transport, retry_after};

const MAX_REDIRECTS: usize = 10;
const MAX_ERROR_BODY: usize = 64 * 1024;

/// What a request is for: used for scopes and error messages.
#[derive(Debug, Clone)]
pub(crate) struct Ctx {
    pub op: Operation,
    pub registry: String,
    /// Shown in errors, e.g. `127.0.0.1:5000/samples/demo:v1`.
    pub target: String,
    pub scopes: Vec<String>,
}

/// Where a request goes.
#[derive(Debug, Clone)]
pub(crate) enum Endpoint {
    /// Relative to the registry base, e.g. `v2/a/b/manifests/v1`.
    Path(String),
    /// A URL the registry handed out (upload `Location`).
    Url(Url),
}

/// One request before redirects.
struct Outgoing<'a> {
    method: Method,
    url: Url,
    headers: &'a HeaderMap,
    body: Option<Bytes>,
}

/// A URL without its query (signed storage URLs carry secrets there).
pub(crate) fn display_url(u: &Url) -> String {
    let mut u = u.clone();
    u.set_query(None);
    u.to_string()
}

/// True when `u` is on the registry's own origin (host and port).
fn same_origin(u: &Url, base: &Url) -> bool {
    u.host_str() == base.host_str() && u.port_or_known_default() == base.port_or_known_default()
}

/// Maps an error response, reading at most 64 KiB of its body.
pub(crate) async fn api_error(
    op: Operation,
    target: &str,
    registry: &str,
    mut resp: Response,
) -> RegistryError {
    let status = resp.status().as_u16();
    let mut body = Vec::new();
    // A body we cannot read still leaves the status to report.
    while let Ok(Some(chunk)) = resp.chunk().await {
        body.extend_from_slice(&chunk);
        if body.len() >= MAX_ERROR_BODY {
            break;
        }
    }
    RegistryError::Api {
        op,
        target: target.to_string(),
        registry: registry.to_string(),
        status,
        errors: parse_error_body(&body),
    }
}

impl Client {
    pub(crate) fn resolve(
        &self,
        ctx: &Ctx,
        info: &PingInfo,
        ep: &Endpoint,
    ) -> Result<Url, RegistryError> {
        match ep {
            Endpoint::Url(u) => Ok(u.clone()),
            Endpoint::Path(p) => info.base.join(p).map_err(|e| RegistryError::Protocol {
                op: ctx.op,
                target: ctx.target.clone(),
                reason: format!("invalid URL path {p:?}: {e}"),
            }),
        }
    }

    /// Sends one request following redirects by hand; `Authorization` goes only to the
    /// registry's own origin.
    async fn execute(
        &self,
        state: &RegistryState,
        info: &PingInfo,
        out: Outgoing<'_>,
        auth: Option<&HeaderValue>,
    ) -> Result<Response, reqwest::Error> {
        let Outgoing {
            mut method,
            mut url,
            headers,
            mut body,
        } = out;
        for _ in 0..=MAX_REDIRECTS {
            let mut req = self
                .http_for(state)
                .request(method.clone(), url.clone())
                .headers(headers.clone());
            if let Some(a) = auth
                && same_origin(&url, &info.base)
            {
                req = req.header(AUTHORIZATION, a.clone());
            }
            if let Some(b) = &body {
                req = req.body(b.clone());
            }
            let resp = req.send().await?;
            let st = resp.status();
            if !st.is_redirection() || st == StatusCode::NOT_MODIFIED {
                return Ok(resp);
            }
            let Some(loc) = resp
                .headers()
                .get(LOCATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|l| url.join(l).ok())
            else {
                return Ok(resp);
            };
            tracing::debug!(from = %display_url(&url), to = %display_url(&loc), status = st.as_u16(), "following redirect");
            if st == StatusCode::SEE_OTHER
                || (matches!(st, StatusCode::MOVED_PERMANENTLY | StatusCode::FOUND)
                    && method == Method::POST)
            {
                method = Method::GET;
                body = None;
            }
            url = loc;
        }
        // Too many redirects: hand back the last answer as an error response.
        self.http_for(state)
            .request(method, url)
            .headers(headers.clone())
            .send()
            .await
    }

    /// Sends a replayable request with auth, redirects, scope escalation and retries.
    /// Returns the final response whatever its status (callers map errors).
    pub(crate) async fn send(
        &self,
        ctx: &mut Ctx,
        method: Method,
        ep: Endpoint,
        headers: HeaderMap,
        body: Option<Bytes>,
    ) -> Result<Response, RegistryError> {
        let (state, mut info) = self.pinged(&ctx.registry).await?;
        let url = self.resolve(ctx, &info, &ep)?;
        let mut attempt = 0u32;
        let mut reauthed = false;
        loop {
            let auth = self.authorization(&state, &info.auth, &ctx.scopes).await?;
            let res = self
                .execute(
                    &state,
                    &info,
                    Outgoing {
                        method: method.clone(),
                        url: url.clone(),
                        headers: &headers,
                        body: body.clone(),
                    },
                    auth.as_ref(),
                )
                .await;
            match res {
                Err(e) => {
                    if is_retryable_transport(&e) && attempt < self.opts.retries {
                        let d = backoff(
                            attempt,
                            self.opts.retry_base_delay,
                            self.opts.retry_max_delay,
                        );
                        tracing::debug!(url = %display_url(&url), error = %e.without_url(), attempt, delay_ms = d.as_millis() as u64, "request failed, retrying");
                        tokio::time::sleep(d).await;
                        attempt += 1;
                        continue;
                    }
                    return Err(RegistryError::Http {
                        op: ctx.op,
                        target: ctx.target.clone(),
                        url: display_url(&url),
                        source: e.without_url(),
                    });
                }
                Ok(resp) if resp.status() == StatusCode::UNAUTHORIZED && !reauthed => {
                    reauthed = true;
                    let values: Vec<&str> = resp
                        .headers()
                        .get_all(WWW_AUTHENTICATE)
                        .iter()
                        .filter_map(|v| v.to_str().ok())
                        .collect();
                    let ch = parse_challenges(values);
                    if !matches!(info.auth, AuthScheme::Bearer { .. }) {
                        // /v2/ was open (or Basic) but this resource asks for more.
                        let wanted = AuthScheme::from_challenges(&ch);
                        if wanted == info.auth || wanted == AuthScheme::None {
                            return Ok(resp);
                        }
                        tracing::debug!(?wanted, "resource asks for another auth scheme");
                        info.auth = wanted;
                        continue;
                    }
                    self.tokens
                        .invalidate(&TokenCache::key(&ctx.registry, &ctx.scopes));
                    if let Some(b) = ch.iter().find(|c| c.scheme == "bearer")
                        && b.param("error") == Some("insufficient_scope")
                        && let Some(extra) = b.param("scope")
                    {
                        union_scopes(&mut ctx.scopes, extra);
                        tracing::debug!(scopes = ?ctx.scopes, "insufficient scope, requesting more");
                    }
                    continue;
                }
                Ok(resp)
                    if is_retryable_status(resp.status().as_u16())
                        && attempt < self.opts.retries =>
                {
                    let d = retry_after(resp.headers())
                        .unwrap_or_else(|| {
                            backoff(
                                attempt,
                                self.opts.retry_base_delay,
                                self.opts.retry_max_delay,
                            )
                        })
                        .min(self.opts.retry_max_delay);
                    tracing::debug!(url = %display_url(&url), status = resp.status().as_u16(), attempt, delay_ms = d.as_millis() as u64, "retrying");
                    tokio::time::sleep(d).await;
                    attempt += 1;
                }
                Ok(resp) => return Ok(resp),
            }
        }
    }

    /// Sends a request whose body is a one-shot stream: a single attempt, no redirects.
    /// Callers retry by restarting the whole operation.
    pub(crate) async fn send_streaming(
        &self,
        ctx: &Ctx,
        method: Method,
        url: Url,
        headers: HeaderMap,
        body: reqwest::Body,
    ) -> Result<Response, RegistryError> {
        let (state, info) = self.pinged(&ctx.registry).await?;
        let auth = self.authorization(&state, &info.auth, &ctx.scopes).await?;
        let mut req = self
            .http_for(&state)
            .request(method, url.clone())
            .headers(headers)
            .body(body);
        if let Some(a) = auth
            && same_origin(&url, &info.base)
        {
            req = req.header(AUTHORIZATION, a);
        }
        req.send().await.map_err(|e| RegistryError::Http {
            op: ctx.op,
            target: ctx.target.clone(),
            url: display_url(&url),
            source: e.without_url(),
        })
    }

    /// Maps a non-success response to an error for `ctx`.
    pub(crate) async fn fail(&self, ctx: &Ctx, resp: Response) -> RegistryError {
        api_error(ctx.op, &ctx.target, &ctx.registry, resp).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origin_check_uses_host_and_port() {
        let base = Url::parse("http://127.0.0.1:5000/").unwrap();
        assert!(same_origin(
            &Url::parse("http://127.0.0.1:5000/v2/x").unwrap(),
            &base
        ));
        assert!(!same_origin(
            &Url::parse("http://127.0.0.1:5001/v2/x").unwrap(),
            &base
        ));
        assert!(!same_origin(
            &Url::parse("http://localhost:5000/v2/x").unwrap(),
            &base
        ));
        let u = Url::parse("https://s3.example/b?X-Amz-Signature=secret").unwrap();
        assert_eq!(display_url(&u), "https://s3.example/b");
    }
}
