//! The [`Client`]: construction, per-registry state, ping and login.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use reqwest::header::{AUTHORIZATION, HeaderValue, WWW_AUTHENTICATE};
use reqwest::{Method, Url};
use tokio::sync::{OnceCell, Semaphore};

use crate::auth::{AuthScheme, TokenCache};
use crate::challenge::parse_challenges;
use crate::credential::{Credential, CredentialProvider};
use crate::error::{Operation, RegistryError};
use crate::limits::{EffectiveLimits, LimitsProvider, TransferLimits};
use crate::options::ClientOptions;
use crate::progress::{NoProgress, Progress};

/// What a ping learned about a registry.
#[derive(Debug, Clone)]
pub(crate) struct PingInfo {
    /// `https://host/` or `http://host/`.
    pub base: Url,
    /// How the registry wants to be authenticated.
    pub auth: AuthScheme,
}

/// Per-registry state: ping result, refresh token, transfer limits.
pub(crate) struct RegistryState {
    pub name: String,
    pub ping: OnceCell<PingInfo>,
    /// The last refresh token and the fingerprint of the credential that obtained it.
    pub refresh_token: Mutex<Option<(hoist_oci::Digest, String)>>,
    pub uploads: Semaphore,
    pub downloads: Semaphore,
    /// Upload chunk size and concurrency in effect for this registry.
    pub limits: EffectiveLimits,
    /// Whether TLS verification is skipped (loopback, insecure list, or tls_verify=false).
    pub unverified_tls: bool,
}

/// An async OCI distribution client. Cheap to clone; clones share caches and limits.
#[derive(Clone)]
pub struct Client {
    pub(crate) opts: Arc<ClientOptions>,
    verified: reqwest::Client,
    unverified: reqwest::Client,
    pub(crate) creds: Arc<dyn CredentialProvider>,
    pub(crate) progress: Arc<dyn Progress>,
    limits: Option<Arc<dyn LimitsProvider>>,
    registries: Arc<Mutex<HashMap<String, Arc<RegistryState>>>>,
    pub(crate) tokens: Arc<TokenCache>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("opts", &self.opts)
            .finish_non_exhaustive()
    }
}

fn install_crypto_provider() {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        // Err means another thread installed a provider first, which is just as good.
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
}

impl Client {
    /// A client with the given options, anonymous credentials and no progress reporting.
    pub fn new(opts: ClientOptions) -> Result<Self, RegistryError> {
        install_crypto_provider();
        let ca = match &opts.ca_file {
            Some(p) => Some(p.clone()),
            None => std::env::var_os("SSL_CERT_FILE").map(Into::into),
        };
        let mut extra = Vec::new();
        if let Some(path) = ca {
            let pem = std::fs::read(&path).map_err(|e| RegistryError::Setup {
                reason: format!("cannot read CA file {}: {e}", path.display()),
            })?;
            extra =
                reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| RegistryError::Setup {
                    reason: format!("invalid CA file {}: {e}", path.display()),
                })?;
        }
        let build = |verify: bool| {
            let mut b = reqwest::Client::builder()
                .user_agent(opts.user_agent.clone())
                .redirect(reqwest::redirect::Policy::none())
                .connect_timeout(opts.connect_timeout)
                .read_timeout(std::time::Duration::from_secs(120))
                .tls_danger_accept_invalid_certs(!verify);
            if verify && !extra.is_empty() {
                b = b.tls_certs_merge(extra.clone());
            }
            b.build().map_err(|e| RegistryError::Setup {
                reason: format!("cannot build HTTP client: {e}"),
            })
        };
        let verified = build(opts.tls_verify)?;
        let unverified = build(false)?;
        Ok(Self {
            opts: Arc::new(opts),
            verified,
            unverified,
            creds: Arc::new(Credential::Anonymous),
            progress: Arc::new(NoProgress),
            limits: None,
            registries: Arc::default(),
            tokens: Arc::default(),
        })
    }

    /// Uses `provider` for credentials (default: anonymous).
    pub fn with_credentials(mut self, provider: Arc<dyn CredentialProvider>) -> Self {
        self.creds = provider;
        self
    }

    /// Asks `provider` for each registry's transfer limits (default: the client-wide
    /// values of [`ClientOptions`] for every registry).
    pub fn with_limits(mut self, provider: Arc<dyn LimitsProvider>) -> Self {
        self.limits = Some(provider);
        self
    }

    /// The transfer limits in effect for `registry` (`host[:port]`).
    pub fn limits_for(&self, registry: &str) -> EffectiveLimits {
        self.state(registry).limits
    }

    /// Reports blob transfers to `progress` (default: [`NoProgress`]).
    pub fn with_progress(mut self, progress: Arc<dyn Progress>) -> Self {
        self.progress = progress;
        self
    }

    /// The options in use.
    pub fn options(&self) -> &ClientOptions {
        &self.opts
    }

    /// True when `registry` may be reached over plain HTTP (loopback or listed insecure).
    pub fn allows_plain_http(&self, registry: &str) -> bool {
        is_loopback_host(registry) || self.opts.insecure_registries.iter().any(|h| h == registry)
    }

    pub(crate) fn http_for(&self, state: &RegistryState) -> &reqwest::Client {
        if state.unverified_tls {
            &self.unverified
        } else {
            &self.verified
        }
    }

    pub(crate) fn state(&self, registry: &str) -> Arc<RegistryState> {
        let mut map = self
            .registries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        map.entry(registry.to_string())
            .or_insert_with(|| {
                let over = self
                    .limits
                    .as_ref()
                    .map_or_else(TransferLimits::default, |p| p.limits(registry));
                let limits = EffectiveLimits::resolve(&self.opts, over);
                tracing::debug!(
                    registry,
                    uploads = limits.max_concurrent_uploads,
                    downloads = limits.max_concurrent_downloads,
                    chunk_size = limits.chunk_size,
                    "registry transfer limits"
                );
                Arc::new(RegistryState {
                    name: registry.to_string(),
                    ping: OnceCell::new(),
                    refresh_token: Mutex::new(None),
                    uploads: Semaphore::new(limits.max_concurrent_uploads),
                    downloads: Semaphore::new(limits.max_concurrent_downloads),
                    limits,
                    unverified_tls: self.allows_plain_http(registry) || !self.opts.tls_verify,
                })
            })
            .clone()
    }

    /// The registry's state after a successful ping (cached).
    pub(crate) async fn pinged(
        &self,
        registry: &str,
    ) -> Result<(Arc<RegistryState>, PingInfo), RegistryError> {
        let state = self.state(registry);
        let info = state
            .ping
            .get_or_try_init(|| self.ping_uncached(&state))
            .await?
            .clone();
        Ok((state, info))
    }

    /// Pings `registry`'s `/v2/` and reports how it authenticates (cached per client).
    pub async fn ping(&self, registry: &str) -> Result<(), RegistryError> {
        self.pinged(registry).await.map(|_| ())
    }

    async fn ping_uncached(&self, state: &RegistryState) -> Result<PingInfo, RegistryError> {
        let registry = &state.name;
        let schemes: &[&str] = if self.allows_plain_http(registry) {
            &["https", "http"]
        } else {
            &["https"]
        };
        let mut last_err = None;
        for (i, scheme) in schemes.iter().enumerate() {
            let base = Url::parse(&format!("{scheme}://{registry}/")).map_err(|e| {
                RegistryError::Protocol {
                    op: Operation::Login,
                    target: registry.clone(),
                    reason: format!("invalid registry address: {e}"),
                }
            })?;
            let url = base.join("v2/").map_err(|e| RegistryError::Protocol {
                op: Operation::Login,
                target: registry.clone(),
                reason: format!("invalid registry address: {e}"),
            })?;
            let last = i + 1 == schemes.len();
            let mut attempt = 0;
            let resp = loop {
                match self.http_for(state).get(url.clone()).send().await {
                    Ok(r)
                        if crate::retry::is_retryable_status(r.status().as_u16())
                            && attempt < self.opts.retries =>
                    {
                        let d = crate::retry::retry_after(r.headers()).unwrap_or_else(|| {
                            crate::retry::backoff(
                                attempt,
                                self.opts.retry_base_delay,
                                self.opts.retry_max_delay,
                            )
                        });
                        tokio::time::sleep(d.min(self.opts.retry_max_delay)).await;
                        attempt += 1;
                    }
                    Ok(r) => break Ok(r),
                    Err(e) if !last => break Err(e),
                    Err(e)
                        if crate::retry::is_retryable_transport(&e)
                            && attempt < self.opts.retries =>
                    {
                        tracing::debug!(registry, error = %e, attempt, "ping failed, retrying");
                        tokio::time::sleep(crate::retry::backoff(
                            attempt,
                            self.opts.retry_base_delay,
                            self.opts.retry_max_delay,
                        ))
                        .await;
                        attempt += 1;
                    }
                    Err(e) => break Err(e),
                }
            };
            let resp = match resp {
                Ok(r) => r,
                Err(e) => {
                    tracing::debug!(registry, scheme, error = %e, "ping got no response");
                    last_err = Some(RegistryError::Http {
                        op: Operation::Login,
                        target: registry.clone(),
                        url: url.to_string(),
                        source: e.without_url(),
                    });
                    continue;
                }
            };
            let status = resp.status().as_u16();
            let auth = match status {
                200..=299 => AuthScheme::None,
                401 => {
                    let values: Vec<&str> = resp
                        .headers()
                        .get_all(WWW_AUTHENTICATE)
                        .iter()
                        .filter_map(|v| v.to_str().ok())
                        .collect();
                    AuthScheme::from_challenges(&parse_challenges(values))
                }
                _ => {
                    return Err(crate::transport::api_error(
                        Operation::Login,
                        registry,
                        registry,
                        resp,
                    )
                    .await);
                }
            };
            tracing::debug!(registry, scheme, ?auth, "pinged registry");
            return Ok(PingInfo { base, auth });
        }
        Err(last_err.unwrap_or_else(|| RegistryError::Protocol {
            op: Operation::Login,
            target: registry.clone(),
            reason: "no scheme to try".into(),
        }))
    }

    /// Verifies `credential` against `registry` by completing its auth flow (for
    /// `hoist login`). Nothing is cached from a failed check.
    pub async fn check_login(
        &self,
        registry: &str,
        credential: &Credential,
    ) -> Result<(), RegistryError> {
        let (state, info) = self.pinged(registry).await?;
        let url = info.base.join("v2/").map_err(|e| RegistryError::Protocol {
            op: Operation::Login,
            target: registry.to_string(),
            reason: e.to_string(),
        })?;
        let header: Option<HeaderValue> = match &info.auth {
            AuthScheme::None => return Ok(()),
            AuthScheme::Basic => crate::auth::basic_header(credential),
            AuthScheme::Bearer { realm, service } => {
                let tok = self
                    .fetch_token(&state, realm, service.as_deref(), &[], credential)
                    .await?;
                crate::auth::bearer_header(&tok.token)
            }
        };
        let mut req = self.http_for(&state).request(Method::GET, url.clone());
        if let Some(h) = header {
            req = req.header(AUTHORIZATION, h);
        }
        let resp = req.send().await.map_err(|e| RegistryError::Http {
            op: Operation::Login,
            target: registry.to_string(),
            url: url.to_string(),
            source: e.without_url(),
        })?;
        if resp.status().is_success() {
            Ok(())
        } else {
            Err(crate::transport::api_error(Operation::Login, registry, registry, resp).await)
        }
    }
}

/// True for `localhost`, `127.x.x.x` and `[::1]`, with or without a port.
pub(crate) fn is_loopback_host(registry: &str) -> bool {
    let host = if registry.starts_with('[') {
        registry.find(']').map_or(registry, |i| &registry[..=i])
    } else {
        registry.rsplit_once(':').map_or(registry, |(h, _)| h)
    };
    host == "localhost" || host.starts_with("127.") || host == "[::1]"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_only_for_loopback_and_listed_hosts() {
        let c = Client::new(ClientOptions {
            insecure_registries: vec!["reg.lan:5000".into()],
            ..ClientOptions::default()
        })
        .unwrap();
        for h in [
            "localhost:5000",
            "127.0.0.1:1",
            "127.9.9.9",
            "[::1]:5000",
            "localhost",
            "reg.lan:5000",
        ] {
            assert!(c.allows_plain_http(h), "{h}");
        }
        for h in [
            "reg.lan",
            "reg.lan:5001",
            "docker.io",
            "localhost.example.com",
            "[::2]:5000",
        ] {
            assert!(!c.allows_plain_http(h), "{h}");
        }
    }

    #[test]
    fn missing_ca_file_is_a_setup_error() {
        let e = Client::new(ClientOptions {
            ca_file: Some("/nonexistent/ca.pem".into()),
            ..ClientOptions::default()
        })
        .unwrap_err();
        assert!(matches!(e, RegistryError::Setup { .. }), "{e:?}");
        assert!(e.to_string().contains("/nonexistent/ca.pem"));
    }
}
