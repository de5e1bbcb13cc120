//! The per-call store state and the `host` interface an auth plugin imports: every
//! call is checked against the plugin's declarations and the user's grants.

use std::sync::Arc;

use crate::bindings::auth::hoist::plugin::host::{self, LogLevel, Request, Response};
use crate::bindings::auth::hoist::plugin::types::{self, PluginError as WitError};
use crate::config::Capabilities;
use crate::glob::glob_match;
use crate::limiter::Limiter;
use crate::manifest::HttpOrigin;
use crate::secrets::SecretSource;

/// What a plugin's calls may use; shared by all calls of one plugin.
#[derive(Debug)]
pub(crate) struct PluginContext {
    pub name: String,
    /// Origins the manifest declares (to tell "undeclared" from "not granted").
    pub declared_http: Vec<HttpOrigin>,
    pub declared_files: Vec<String>,
    pub caps: Capabilities,
    pub secrets: Arc<dyn SecretSource>,
    pub http: reqwest::Client,
    pub max_requests: u32,
    pub max_response_bytes: u64,
    pub max_file_bytes: u64,
}

/// Store data for one call.
pub(crate) struct CallState {
    pub limiter: Limiter,
    pub ctx: Arc<PluginContext>,
    /// The registry the call is about (`{registry}` in HTTP origins).
    pub registry: String,
    pub requests_made: u32,
}

impl CallState {
    pub fn new(ctx: Arc<PluginContext>, limiter: Limiter, registry: &str) -> Self {
        Self {
            limiter,
            ctx,
            registry: registry.to_ascii_lowercase(),
            requests_made: 0,
        }
    }

    fn origin_allowed(&self, url: &reqwest::Url, list: &[HttpOrigin]) -> bool {
        let Some(host) = url.host_str() else {
            return false;
        };
        let host = host.to_ascii_lowercase();
        let Some(port) = url.port_or_known_default() else {
            return false;
        };
        let loopback = is_loopback_host(&host);
        list.iter().any(|o| {
            let scheme_ok = url.scheme() == o.scheme
                || (url.scheme() == "http" && o.scheme == "https" && loopback);
            let entry = o.host.replace("{registry}", &self.registry);
            let (eh, ep) = split_host_port(&entry);
            let ep = ep.unwrap_or(if url.scheme() == "https" { 443 } else { 80 });
            // `*` in a declared host stands for any run of characters (one origin
            // for every region of a cloud API, e.g. `api.ecr.*.amazonaws.com`).
            scheme_ok && (eh == host || (eh.contains('*') && glob_match(&eh, &host))) && ep == port
        })
    }

    fn check_url(&self, url: &reqwest::Url) -> Result<(), WitError> {
        let shown = format!(
            "{}://{}{}",
            url.scheme(),
            url.host_str().unwrap_or(""),
            url.port().map(|p| format!(":{p}")).unwrap_or_default()
        );
        match url.scheme() {
            "https" => {}
            "http"
                if url
                    .host_str()
                    .is_some_and(|h| is_loopback_host(h) || is_metadata_host(h)) => {}
            _ => {
                return Err(WitError::Denied(format!(
                    "http request to {shown} denied: only https (or http to loopback or a cloud metadata server) is allowed"
                )));
            }
        }
        if !self.origin_allowed(url, &self.ctx.declared_http) {
            return Err(WitError::Denied(format!(
                "http request to {shown} denied: origin not declared in the plugin's manifest"
            )));
        }
        if !self.origin_allowed(url, &self.ctx.caps.http) {
            return Err(WitError::Denied(format!(
                "http request to {shown} denied: origin declared but not granted"
            )));
        }
        Ok(())
    }

    async fn send(&mut self, req: Request) -> Result<Response, WitError> {
        let url = reqwest::Url::parse(&req.url)
            .map_err(|e| WitError::Invalid(format!("bad url {:?}: {e}", req.url)))?;
        self.check_url(&url)?;
        if self.requests_made >= self.ctx.max_requests {
            return Err(WitError::Denied(format!(
                "http request denied: limit of {} requests per call reached",
                self.ctx.max_requests
            )));
        }
        self.requests_made += 1;
        let method = reqwest::Method::from_bytes(req.method.as_bytes())
            .map_err(|_| WitError::Invalid(format!("bad http method {:?}", req.method)))?;
        let mut rb = self.ctx.http.request(method, url.clone());
        for (name, value) in &req.headers {
            let lower = name.to_ascii_lowercase();
            if matches!(
                lower.as_str(),
                "host" | "content-length" | "transfer-encoding"
            ) {
                continue;
            }
            rb = rb.header(name.as_str(), value.as_str());
        }
        if let Some(body) = req.body {
            rb = rb.body(body);
        }
        let host = url.host_str().unwrap_or("").to_string();
        tracing::debug!(plugin = %self.ctx.name, method = %req.method, %host, path = url.path(), "plugin http request");
        let mut resp = rb
            .send()
            .await
            .map_err(|e| WitError::Failed(format!("http request to {host} failed: {e}")))?;
        let status = resp.status().as_u16();
        let headers = resp
            .headers()
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let mut body = Vec::new();
        while let Some(chunk) = resp
            .chunk()
            .await
            .map_err(|e| WitError::Failed(format!("reading the answer from {host} failed: {e}")))?
        {
            if (body.len() + chunk.len()) as u64 > self.ctx.max_response_bytes {
                return Err(WitError::Denied(format!(
                    "http response from {host} is larger than the limit of {} bytes",
                    self.ctx.max_response_bytes
                )));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Response {
            status,
            headers,
            body,
        })
    }
}

/// `localhost`, `127.x.x.x`, `[::1]` (without a port).
fn is_loopback_host(host: &str) -> bool {
    host == "localhost" || host.starts_with("127.") || host == "[::1]" || host == "::1"
}

/// Cloud instance metadata servers, which only speak plain HTTP and are link-local
/// (they never leave the machine): `metadata.google.internal`, `169.254.169.254`.
fn is_metadata_host(host: &str) -> bool {
    host.eq_ignore_ascii_case("metadata.google.internal") || host == "169.254.169.254"
}

/// `host[:port]` → (host, port); IPv6 hosts keep their brackets.
fn split_host_port(s: &str) -> (String, Option<u16>) {
    let s = s.to_ascii_lowercase();
    if s.starts_with('[') {
        if let Some(end) = s.find(']') {
            let port = s[end + 1..].strip_prefix(':').and_then(|p| p.parse().ok());
            return (s[..=end].to_string(), port);
        }
        return (s, None);
    }
    match s.rsplit_once(':') {
        Some((h, p)) => match p.parse() {
            Ok(port) => (h.to_string(), Some(port)),
            Err(_) => (s.clone(), None),
        },
        None => (s, None),
    }
}

impl types::Host for CallState {}

impl host::Host for CallState {
    async fn get_secret(&mut self, name: String) -> Result<String, WitError> {
        if let Err(why) = self.ctx.caps.check_secret(&name) {
            tracing::debug!(plugin = %self.ctx.name, secret = %name, "secret denied");
            return Err(WitError::Denied(why));
        }
        self.ctx
            .secrets
            .get(&name)
            .ok_or_else(|| WitError::NotFound(format!("secret {name} is not set")))
    }

    async fn read_file(&mut self, logical_name: String) -> Result<Vec<u8>, WitError> {
        if !self.ctx.declared_files.contains(&logical_name) {
            return Err(WitError::Denied(format!(
                "file {logical_name} is not declared in the plugin's manifest"
            )));
        }
        let Some(path) = self.ctx.caps.files.get(&logical_name) else {
            return Err(WitError::Denied(format!(
                "file {logical_name} is not granted (add \"file:{logical_name}\" to the plugin's grant list)"
            )));
        };
        let meta = match std::fs::metadata(path) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(WitError::NotFound(format!(
                    "file {logical_name} ({}) does not exist",
                    path.display()
                )));
            }
            Err(e) => {
                return Err(WitError::Failed(format!(
                    "file {logical_name}: cannot stat {}: {e}",
                    path.display()
                )));
            }
        };
        if meta.len() > self.ctx.max_file_bytes {
            return Err(WitError::Denied(format!(
                "file {logical_name} is larger than the limit of {} bytes",
                self.ctx.max_file_bytes
            )));
        }
        std::fs::read(path).map_err(|e| {
            WitError::Failed(format!(
                "file {logical_name}: cannot read {}: {e}",
                path.display()
            ))
        })
    }

    async fn http_request(&mut self, req: Request) -> Result<Response, WitError> {
        self.send(req).await
    }

    async fn log(&mut self, level: LogLevel, msg: String) {
        let plugin = self.ctx.name.as_str();
        match level {
            LogLevel::Trace => tracing::trace!(plugin, "{msg}"),
            LogLevel::Debug => tracing::debug!(plugin, "{msg}"),
            LogLevel::Info => tracing::info!(plugin, "{msg}"),
            LogLevel::Warn => tracing::warn!(plugin, "{msg}"),
            LogLevel::Error => tracing::error!(plugin, "{msg}"),
        }
    }

    async fn now(&mut self) -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
    }
}

#[cfg(test)]
mod tests {
    use super::split_host_port;

    #[test]
    fn host_port_split() {
        assert_eq!(split_host_port("r.io"), ("r.io".into(), None));
        assert_eq!(
            split_host_port("127.0.0.1:5000"),
            ("127.0.0.1".into(), Some(5000))
        );
        assert_eq!(split_host_port("[::1]:443"), ("[::1]".into(), Some(443)));
        assert_eq!(split_host_port("R.IO"), ("r.io".into(), None));
    }
}
