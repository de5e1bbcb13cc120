//! Client configuration.

use std::path::PathBuf;
use std::time::Duration;

/// How a [`crate::Client`] talks to registries. Every field documents its default.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// Hosts (`host[:port]`) that may be reached over plain HTTP and whose TLS certificates
    /// are not verified. Default: empty. Loopback registries are always treated this way.
    ///
    /// The rule: for a loopback or listed registry the client first pings
    /// `https://<host>/v2/` without certificate verification; if no HTTP response arrives
    /// (connection refused, TLS handshake failure), it uses `http://` for that registry
    /// from then on. Every other registry is HTTPS only, with verification.
    pub insecure_registries: Vec<String>,
    /// Verify TLS certificates of registries not covered by `insecure_registries`.
    /// Default: `true`.
    pub tls_verify: bool,
    /// Extra PEM CA bundle trusted in addition to the system roots. Default: `None`, in
    /// which case `$SSL_CERT_FILE` is used when set.
    pub ca_file: Option<PathBuf>,
    /// How many times a failed request (408, 429, 5xx, connection reset, timeout) is
    /// retried. Default: 5.
    pub retries: u32,
    /// First backoff delay; doubled per attempt with jitter. Default: 200 ms.
    pub retry_base_delay: Duration,
    /// Longest backoff delay (also caps `Retry-After`). Default: 30 s.
    pub retry_max_delay: Duration,
    /// Concurrent blob uploads per registry. Default: 4.
    pub max_concurrent_uploads: usize,
    /// Concurrent blob downloads per registry. Default: 4.
    pub max_concurrent_downloads: usize,
    /// `User-Agent` header. Default: `hoist/<version>`.
    pub user_agent: String,
    /// Blobs of at least this size are uploaded in chunked `PATCH` requests of this size;
    /// smaller ones in one streamed `PUT`. Chunks stream from the source (never buffered
    /// whole), so a large chunk costs no memory and saves round trips. Default: 64 MiB.
    pub chunk_size: u64,
    /// Use the OAuth2 password grant (`POST` to the realm) for username/password
    /// credentials instead of the `GET` token request; falls back to `GET` when the
    /// token server answers 404. Default: `false` (like docker).
    pub oauth2_password_grant: bool,
    /// TCP connect timeout. Default: 30 s.
    pub connect_timeout: Duration,
    /// Largest manifest accepted. Default: 4 MiB.
    pub max_manifest_size: u64,
}

impl Default for ClientOptions {
    fn default() -> Self {
        Self {
            insecure_registries: Vec::new(),
            tls_verify: true,
            ca_file: None,
            retries: 5,
            retry_base_delay: Duration::from_millis(200),
            retry_max_delay: Duration::from_secs(30),
            max_concurrent_uploads: 4,
            max_concurrent_downloads: 4,
            user_agent: concat!("hoist/", env!("CARGO_PKG_VERSION")).to_string(),
            chunk_size: 64 * 1024 * 1024,
            oauth2_password_grant: false,
            connect_timeout: Duration::from_secs(30),
            max_manifest_size: 4 * 1024 * 1024,
        }
    }
}
