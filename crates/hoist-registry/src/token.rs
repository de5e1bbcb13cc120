//! Token flows: GET and OAuth2 POST token requests, refresh tokens, and the
//! `Authorization` value of each registry request.

use std::time::{Duration, Instant};

use reqwest::header::{CONTENT_TYPE, HeaderValue};
use reqwest::{StatusCode, Url};
use serde::Deserialize;

use hoist_oci::Digest;

use crate::auth::{
    AuthScheme, Token, TokenCache, basic_header, bearer_header, credential_fingerprint,
};
use crate::client::{Client, RegistryState};
use crate::credential::Credential;
use crate::error::RegistryError;

/// The `client_id` sent to token servers.
pub const CLIENT_ID: &str = "hoist";

/// Default token lifetime when the server gives none (distribution spec: 60 s).
const DEFAULT_EXPIRES: u64 = 60;

#[derive(Deserialize)]
struct TokenResponse {
    #[serde(default)]
    token: Option<String>,
    #[serde(default)]
    access_token: Option<String>,
    #[serde(default)]
    expires_in: Option<u64>,
    #[serde(default)]
    refresh_token: Option<String>,
}

fn strip_query(realm: &str) -> String {
    realm.split('?').next().unwrap_or(realm).to_string()
}

/// Pulls a human message out of a token server's error body (never echoing the request).
fn token_error_detail(body: &[u8]) -> Option<String> {
    let v: serde_json::Value = serde_json::from_slice(body).ok()?;
    for k in ["details", "error_description", "message", "error"] {
        if let Some(s) = v.get(k).and_then(|x| x.as_str()) {
            return Some(s.chars().take(200).collect());
        }
    }
    let first = crate::error::parse_error_body(body).into_iter().next()?;
    Some(format!("{}: {}", first.code, first.message))
}

impl Client {
    /// The `Authorization` value for a request needing `scopes`, fetching a token if needed.
    pub(crate) async fn authorization(
        &self,
        state: &RegistryState,
        auth: &AuthScheme,
        scopes: &[String],
    ) -> Result<Option<HeaderValue>, RegistryError> {
        match auth {
            AuthScheme::None => Ok(None),
            AuthScheme::Basic => {
                let cred = self.creds.credential(&state.name).await?;
                Ok(basic_header(&cred))
            }
            AuthScheme::Bearer { realm, service } => {
                let key = TokenCache::key(&state.name, scopes);
                if let Some(t) = self.tokens.get(&key) {
                    return Ok(bearer_header(&t.token));
                }
                let cred = self.creds.credential(&state.name).await?;
                if let Credential::RegistryToken(t) = &cred {
                    return Ok(bearer_header(t));
                }
                let t = self
                    .fetch_token(state, realm, service.as_deref(), scopes, &cred)
                    .await?;
                let h = bearer_header(&t.token);
                self.tokens.put(key, t);
                Ok(h)
            }
        }
    }

    /// Gets a token from the realm: OAuth2 POST when a refresh token is known (or the
    /// password grant is enabled), else GET; POST falls back to GET on 404/405.
    pub(crate) async fn fetch_token(
        &self,
        state: &RegistryState,
        realm: &str,
        service: Option<&str>,
        scopes: &[String],
        cred: &Credential,
    ) -> Result<Token, RegistryError> {
        let owner = credential_fingerprint(cred);
        let refresh = match cred {
            Credential::IdentityToken(t) => Some(t.clone()),
            // A stored refresh token stands in only for the credential that obtained it.
            _ => state
                .refresh_token
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .as_ref()
                .filter(|(o, _)| *o == owner)
                .map(|(_, t)| t.clone()),
        };
        let post_form: Option<Vec<(&str, String)>> = match (refresh, cred) {
            (Some(rt), _) => Some(vec![
                ("grant_type", "refresh_token".into()),
                ("refresh_token", rt),
            ]),
            (None, Credential::Basic { username, password }) if self.opts.oauth2_password_grant => {
                Some(vec![
                    ("grant_type", "password".into()),
                    ("username", username.clone()),
                    ("password", password.clone()),
                ])
            }
            _ => None,
        };
        if let Some(mut form) = post_form {
            if let Some(s) = service {
                form.push(("service", s.to_string()));
            }
            if !scopes.is_empty() {
                form.push(("scope", scopes.join(" ")));
            }
            form.push(("client_id", CLIENT_ID.into()));
            form.push(("access_type", "offline".into()));
            let body = form_urlencoded::Serializer::new(String::new())
                .extend_pairs(form.iter().map(|(k, v)| (*k, v.as_str())))
                .finish();
            let req = self
                .http_for(state)
                .post(realm)
                .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(body);
            let resp = self.token_request(state, realm, req).await?;
            let status = resp.status();
            if status == StatusCode::NOT_FOUND || status == StatusCode::METHOD_NOT_ALLOWED {
                tracing::debug!(registry = %state.name, "token server has no OAuth2 POST, using GET");
            } else {
                return self.token_from_response(state, realm, resp, owner).await;
            }
        }
        let mut url = Url::parse(realm).map_err(|e| RegistryError::Protocol {
            op: crate::error::Operation::Login,
            target: state.name.clone(),
            reason: format!("invalid token realm: {e}"),
        })?;
        {
            let mut q = url.query_pairs_mut();
            if let Some(s) = service {
                q.append_pair("service", s);
            }
            for s in scopes {
                q.append_pair("scope", s);
            }
            if matches!(cred, Credential::Basic { .. }) {
                q.append_pair("offline_token", "true");
                q.append_pair("client_id", CLIENT_ID);
            }
        }
        let mut req = self.http_for(state).get(url);
        if let Some(h) = basic_header(cred) {
            req = req.header(reqwest::header::AUTHORIZATION, h);
        }
        let resp = self.token_request(state, realm, req).await?;
        self.token_from_response(state, realm, resp, owner).await
    }

    async fn token_request(
        &self,
        state: &RegistryState,
        realm: &str,
        req: reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, RegistryError> {
        let mut attempt = 0;
        loop {
            let Some(r) = req.try_clone() else {
                return Err(RegistryError::Protocol {
                    op: crate::error::Operation::Login,
                    target: state.name.clone(),
                    reason: "token request is not repeatable".into(),
                });
            };
            match r.send().await {
                Ok(resp)
                    if crate::retry::is_retryable_status(resp.status().as_u16())
                        && attempt < self.opts.retries =>
                {
                    let d = crate::retry::retry_after(resp.headers()).unwrap_or_else(|| {
                        crate::retry::backoff(
                            attempt,
                            self.opts.retry_base_delay,
                            self.opts.retry_max_delay,
                        )
                    });
                    tokio::time::sleep(d.min(self.opts.retry_max_delay)).await;
                }
                Ok(resp) => return Ok(resp),
                Err(e)
                    if crate::retry::is_retryable_transport(&e) && attempt < self.opts.retries =>
                {
                    tracing::debug!(registry = %state.name, error = %e.without_url(), "token request failed, retrying");
                    tokio::time::sleep(crate::retry::backoff(
                        attempt,
                        self.opts.retry_base_delay,
                        self.opts.retry_max_delay,
                    ))
                    .await;
                }
                Err(e) => {
                    return Err(RegistryError::Http {
                        op: crate::error::Operation::Login,
                        target: state.name.clone(),
                        url: strip_query(realm),
                        source: e.without_url(),
                    });
                }
            }
            attempt += 1;
        }
    }

    async fn token_from_response(
        &self,
        state: &RegistryState,
        realm: &str,
        resp: reqwest::Response,
        owner: Digest,
    ) -> Result<Token, RegistryError> {
        let status = resp.status().as_u16();
        let body = resp.bytes().await.map_err(|e| RegistryError::Http {
            op: crate::error::Operation::Login,
            target: state.name.clone(),
            url: strip_query(realm),
            source: e.without_url(),
        })?;
        if !(200..300).contains(&status) {
            return Err(RegistryError::Token {
                registry: state.name.clone(),
                realm: strip_query(realm),
                status,
                detail: token_error_detail(&body),
            });
        }
        let tr: TokenResponse =
            serde_json::from_slice(&body).map_err(|e| RegistryError::Protocol {
                op: crate::error::Operation::Login,
                target: state.name.clone(),
                reason: format!("token response is not valid JSON: {e}"),
            })?;
        let token = tr
            .token
            .filter(|t| !t.is_empty())
            .or(tr.access_token.filter(|t| !t.is_empty()))
            .ok_or_else(|| RegistryError::Protocol {
                op: crate::error::Operation::Login,
                target: state.name.clone(),
                reason: "token response has neither token nor access_token".into(),
            })?;
        if let Some(rt) = tr.refresh_token.filter(|t| !t.is_empty()) {
            *state
                .refresh_token
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner) = Some((owner, rt));
        }
        let secs = tr
            .expires_in
            .unwrap_or(DEFAULT_EXPIRES)
            .max(DEFAULT_EXPIRES);
        // Renew a little early so a token does not expire in flight.
        let lifetime = Duration::from_secs(secs).mul_f64(0.9);
        tracing::debug!(registry = %state.name, expires_in = secs, "got registry token");
        Ok(Token {
            token,
            expires: Instant::now() + lifetime,
        })
    }
}
