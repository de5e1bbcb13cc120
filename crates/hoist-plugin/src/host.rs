//! The [`PluginHost`]: one wasmtime `Engine` with epoch interruption, the compiled
//! component cache, the HTTP client plugins use, and the host-wide limits.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use wasmtime::{Config, Engine};

use crate::PluginError;
use crate::cache::CompileCache;
use crate::secrets::{EnvSecrets, SecretSource};

/// Host-wide settings. Every field documents its default.
#[derive(Debug, Clone)]
pub struct HostOptions {
    /// Where compiled components are cached. Default: [`CompileCache::default_dir`];
    /// `None` compiles every time.
    pub cache_dir: Option<PathBuf>,
    /// Largest linear memory a plugin may have, in bytes; a manifest may ask for less.
    /// Default: 32 MiB.
    pub max_memory: u64,
    /// Longest a call (instantiation included) may take; a manifest may ask for less.
    /// Default: 10 s.
    pub max_call_time: Duration,
    /// Epoch tick: how often deadlines are checked. Default: 10 ms.
    pub epoch_tick: Duration,
    /// Most HTTP requests per call; a manifest may ask for fewer. Default: 8.
    pub max_http_requests: u32,
    /// Largest HTTP response body, in bytes; a manifest may ask for less. Default: 1 MiB.
    pub max_http_response: u64,
    /// Largest file `read-file` returns, in bytes. Default: 1 MiB.
    pub max_file_size: u64,
    /// HTTP request timeout (connect to last byte). Default: 30 s.
    pub http_timeout: Duration,
    /// Extra PEM CA bundle for plugin HTTPS, like the registry client's. Default:
    /// `None`, in which case `$SSL_CERT_FILE` is used when set.
    pub ca_file: Option<PathBuf>,
    /// Where `get-secret` values come from. Default: [`EnvSecrets`].
    pub secrets: Arc<dyn SecretSource>,
    /// Logical file names and their paths. Default: `docker-config` →
    /// `$DOCKER_CONFIG/config.json` or `~/.docker/config.json`.
    pub files: BTreeMap<String, PathBuf>,
}

impl Default for HostOptions {
    fn default() -> Self {
        let mut files = BTreeMap::new();
        let docker = std::env::var_os("DOCKER_CONFIG")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".docker")));
        if let Some(d) = docker {
            files.insert("docker-config".to_string(), d.join("config.json"));
        }
        Self {
            cache_dir: CompileCache::default_dir(),
            max_memory: 32 << 20,
            max_call_time: Duration::from_secs(10),
            epoch_tick: Duration::from_millis(10),
            max_http_requests: 8,
            max_http_response: 1 << 20,
            max_file_size: 1 << 20,
            http_timeout: Duration::from_secs(30),
            ca_file: None,
            secrets: Arc::new(EnvSecrets),
            files,
        }
    }
}

/// Increments the engine's epoch every tick until dropped.
#[derive(Debug)]
struct EpochTicker {
    stop: Arc<AtomicBool>,
}

impl EpochTicker {
    fn start(engine: Engine, tick: Duration) -> Result<Self, PluginError> {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        std::thread::Builder::new()
            .name("hoist-plugin-epoch".into())
            .spawn(move || {
                while !flag.load(Ordering::Relaxed) {
                    std::thread::sleep(tick);
                    engine.increment_epoch();
                }
            })
            .map_err(|e| PluginError::Setup {
                reason: format!("cannot start the epoch thread: {e}"),
            })?;
        Ok(Self { stop })
    }
}

impl Drop for EpochTicker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Shared by the host and every plugin it loaded.
#[derive(Debug)]
pub(crate) struct HostShared {
    pub engine: Engine,
    pub opts: HostOptions,
    pub cache: Option<CompileCache>,
    pub http: reqwest::Client,
    _ticker: EpochTicker,
}

/// Loads and runs plugins. Cheap to clone.
#[derive(Debug, Clone)]
pub struct PluginHost {
    pub(crate) shared: Arc<HostShared>,
}

impl PluginHost {
    /// Sets up the engine (epoch interruption on), the cache and the HTTP client.
    pub fn new(opts: HostOptions) -> Result<Self, PluginError> {
        let mut config = Config::new();
        config.epoch_interruption(true);
        config.wasm_component_model(true);
        let engine = Engine::new(&config).map_err(|e| PluginError::Setup {
            reason: format!("wasm engine: {e}"),
        })?;
        let cache = match &opts.cache_dir {
            Some(dir) => Some(CompileCache::new(dir.clone(), &engine)?),
            None => None,
        };
        let http = build_http_client(&opts)?;
        let ticker = EpochTicker::start(engine.clone(), opts.epoch_tick)?;
        Ok(Self {
            shared: Arc::new(HostShared {
                engine,
                opts,
                cache,
                http,
                _ticker: ticker,
            }),
        })
    }

    /// The options in use.
    pub fn options(&self) -> &HostOptions {
        &self.shared.opts
    }
}

fn install_crypto_provider() {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        // Err means another thread installed a provider first, which is just as good.
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
}

/// The plugins' HTTP client, set up like hoist-registry's: rustls with the ring
/// provider, system roots plus an optional CA bundle, no redirects.
fn build_http_client(opts: &HostOptions) -> Result<reqwest::Client, PluginError> {
    install_crypto_provider();
    let mut b = reqwest::Client::builder()
        .user_agent(concat!("hoist-plugin/", env!("CARGO_PKG_VERSION")))
        .redirect(reqwest::redirect::Policy::none())
        .timeout(opts.http_timeout);
    let ca = opts
        .ca_file
        .clone()
        .or_else(|| std::env::var_os("SSL_CERT_FILE").map(Into::into));
    if let Some(path) = ca {
        let pem = std::fs::read(&path).map_err(|e| PluginError::Setup {
            reason: format!("cannot read CA file {}: {e}", path.display()),
        })?;
        let certs =
            reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| PluginError::Setup {
                reason: format!("invalid CA file {}: {e}", path.display()),
            })?;
        b = b.tls_certs_merge(certs);
    }
    b.build().map_err(|e| PluginError::Setup {
        reason: format!("cannot build the plugin HTTP client: {e}"),
    })
}
