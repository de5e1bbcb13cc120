//! A loaded plugin: manifest checked, component compiled (or taken from the cache),
//! imports checked against its world, pre-instantiated. Each call gets a fresh
//! `Store` with a memory limit and an epoch deadline; a trapped store is dropped.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hoist_oci::{Digest, sha256_of};
use wasmtime::component::{Component, HasSelf, Linker};
use wasmtime::{Store, Trap};

use crate::bindings::auth::exports::hoist::plugin::credentials::Credential as WitCredential;
use crate::bindings::auth::hoist::plugin::types::PluginError as WitError;
use crate::bindings::{self, auth, profile};
use crate::cache::CacheOutcome;
use crate::config::{Capabilities, PluginSettings};
use crate::error::GuestErrorKind;
use crate::host::{HostShared, PluginHost};
use crate::limiter::Limiter;
use crate::manifest::{HttpOrigin, Manifest, World};
use crate::state::{CallState, PluginContext};
use crate::{PluginCredential, PluginError};

/// Where a plugin came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PluginOrigin {
    /// Embedded in hoist.
    Builtin,
    /// A component file.
    File(PathBuf),
}

impl std::fmt::Display for PluginOrigin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PluginOrigin::Builtin => f.write_str("built-in"),
            PluginOrigin::File(p) => write!(f, "{}", p.display()),
        }
    }
}

/// How loading went, for diagnostics and benchmarks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoadPath {
    /// Compiled from wasm (no cache configured).
    Compiled,
    /// Compiled and written to the cache.
    CompiledAndCached,
    /// Loaded from the cache.
    Cached,
}

/// Limits in effect for one plugin: its manifest's requests clamped by the host's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EffectiveLimits {
    /// Linear memory, in bytes.
    pub memory: u64,
    /// Deadline for instantiation plus one call.
    pub call_time: Duration,
    /// HTTP requests per call.
    pub http_requests: u32,
    /// Largest HTTP response body, in bytes.
    pub http_response: u64,
}

enum Pre {
    Auth(auth::AuthPre<CallState>),
    Profile(profile::RegistryProfilePre<CallState>),
}

/// A loaded plugin.
pub struct Plugin {
    manifest: Manifest,
    digest: Digest,
    origin: PluginOrigin,
    load_path: LoadPath,
    limits: EffectiveLimits,
    ctx: Arc<PluginContext>,
    pre: Pre,
    shared: Arc<HostShared>,
}

impl std::fmt::Debug for Plugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Plugin")
            .field("name", &self.manifest.name)
            .field("world", &self.manifest.world)
            .field("digest", &self.digest)
            .field("origin", &self.origin)
            .finish_non_exhaustive()
    }
}

impl PluginHost {
    /// Loads a component: reads its manifest, compiles it (through the cache), refuses
    /// imports its world does not allow, and pre-instantiates it. `settings` are the
    /// user's `[plugins.NAME]` table; `origin` decides the default grants (built-ins
    /// get what they declare, others nothing).
    pub fn load(
        &self,
        wasm: &[u8],
        origin: PluginOrigin,
        settings: Option<&PluginSettings>,
    ) -> Result<Plugin, PluginError> {
        let shared = &self.shared;
        let label = match &origin {
            PluginOrigin::Builtin => "built-in".to_string(),
            PluginOrigin::File(p) => p.display().to_string(),
        };
        let manifest = Manifest::extract(&label, wasm)?;
        let name = manifest.name.clone();
        let started = Instant::now();
        let (component, load_path) = match &shared.cache {
            Some(cache) => {
                let (c, outcome) = cache.load_or_compile(&shared.engine, &name, wasm)?;
                let path = match outcome {
                    CacheOutcome::Hit => LoadPath::Cached,
                    CacheOutcome::Stored => LoadPath::CompiledAndCached,
                };
                (c, path)
            }
            None => {
                let c = Component::new(&shared.engine, wasm).map_err(|e| PluginError::Compile {
                    name: name.clone(),
                    reason: e.to_string(),
                })?;
                (c, LoadPath::Compiled)
            }
        };
        check_imports(&shared.engine, &component, &manifest)?;
        let link_err = |e: wasmtime::Error| PluginError::Link {
            name: name.clone(),
            world: manifest.world.to_string(),
            reason: format!("{e:#}"),
        };
        let mut linker: Linker<CallState> = Linker::new(&shared.engine);
        let pre = match manifest.world {
            World::Auth => {
                auth::Auth::add_to_linker::<_, HasSelf<_>>(&mut linker, |s| s).map_err(link_err)?;
                let ip = linker.instantiate_pre(&component).map_err(link_err)?;
                Pre::Auth(auth::AuthPre::new(ip).map_err(link_err)?)
            }
            World::RegistryProfile => {
                define_types_instance(&mut linker).map_err(link_err)?;
                let ip = linker.instantiate_pre(&component).map_err(link_err)?;
                Pre::Profile(profile::RegistryProfilePre::new(ip).map_err(link_err)?)
            }
        };
        let opts = &shared.opts;
        let limits = EffectiveLimits {
            memory: manifest
                .limits
                .memory_mib
                .map_or(opts.max_memory, |m| (m << 20).min(opts.max_memory)),
            call_time: manifest.limits.timeout_ms.map_or(opts.max_call_time, |ms| {
                Duration::from_millis(ms).min(opts.max_call_time)
            }),
            http_requests: manifest
                .limits
                .http_requests
                .map_or(opts.max_http_requests, |n| n.min(opts.max_http_requests)),
            http_response: manifest
                .limits
                .http_response_bytes
                .map_or(opts.max_http_response, |n| n.min(opts.max_http_response)),
        };
        let caps = Capabilities::resolve(
            &manifest,
            settings,
            origin == PluginOrigin::Builtin,
            &opts.files,
        );
        let ctx = Arc::new(PluginContext {
            name: name.clone(),
            declared_http: manifest
                .http
                .iter()
                .filter_map(|o| HttpOrigin::parse(o).ok())
                .collect(),
            declared_files: manifest.files.clone(),
            caps,
            secrets: opts.secrets.clone(),
            http: shared.http.clone(),
            max_requests: limits.http_requests,
            max_response_bytes: limits.http_response,
            max_file_bytes: opts.max_file_size,
        });
        tracing::debug!(plugin = %name, ?load_path, elapsed = ?started.elapsed(), "plugin loaded");
        Ok(Plugin {
            digest: sha256_of(wasm),
            manifest,
            origin,
            load_path,
            limits,
            ctx,
            pre,
            shared: shared.clone(),
        })
    }

    /// Reads and loads a component file.
    pub fn load_file(
        &self,
        path: &std::path::Path,
        settings: Option<&PluginSettings>,
    ) -> Result<Plugin, PluginError> {
        let wasm = std::fs::read(path).map_err(|e| PluginError::Read {
            path: path.to_path_buf(),
            source: e,
        })?;
        self.load(&wasm, PluginOrigin::File(path.to_path_buf()), settings)
    }
}

/// A registry-profile component still imports the types-only interface its exports
/// use; give it an empty instance of that name.
fn define_types_instance(linker: &mut Linker<CallState>) -> wasmtime::Result<()> {
    linker
        .instance(&format!("hoist:plugin/types@{}", bindings::WIT_VERSION))
        .map(|_| ())
}

fn check_imports(
    engine: &wasmtime::Engine,
    component: &Component,
    manifest: &Manifest,
) -> Result<(), PluginError> {
    let ty = component.component_type();
    let forbidden: Vec<String> = ty
        .imports(engine)
        .map(|(name, _)| name.to_string())
        .filter(|name| !bindings::import_allowed(manifest.world, name))
        .collect();
    if forbidden.is_empty() {
        return Ok(());
    }
    Err(PluginError::ForbiddenImport {
        name: manifest.name.clone(),
        world: manifest.world.to_string(),
        imports: forbidden,
    })
}

impl Plugin {
    /// The plugin's manifest.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// The plugin's name.
    pub fn name(&self) -> &str {
        &self.manifest.name
    }

    /// sha256 of the component bytes.
    pub fn digest(&self) -> &Digest {
        &self.digest
    }

    /// Where it came from.
    pub fn origin(&self) -> &PluginOrigin {
        &self.origin
    }

    /// Whether it was compiled or loaded from the cache.
    pub fn load_path(&self) -> LoadPath {
        self.load_path
    }

    /// The limits in effect.
    pub fn limits(&self) -> EffectiveLimits {
        self.limits
    }

    /// The grants in effect, as `kind:value` strings.
    pub fn grants(&self) -> Vec<String> {
        self.ctx.caps.describe()
    }

    fn store(&self, registry: &str) -> Store<CallState> {
        let state = CallState::new(self.ctx.clone(), Limiter::new(self.limits.memory), registry);
        let mut store = Store::new(&self.shared.engine, state);
        store.limiter(|s| &mut s.limiter);
        let tick = self.shared.opts.epoch_tick.as_nanos().max(1);
        let ticks = self.limits.call_time.as_nanos().div_ceil(tick) as u64;
        store.set_epoch_deadline(ticks.max(1));
        store.epoch_deadline_trap();
        store
    }

    fn trap_error(&self, e: wasmtime::Error, oom: bool) -> PluginError {
        let name = self.manifest.name.clone();
        if oom {
            return PluginError::OutOfMemory {
                name,
                limit_bytes: self.limits.memory,
            };
        }
        match e.downcast_ref::<Trap>() {
            Some(Trap::Interrupt) => PluginError::Timeout {
                name,
                limit: self.limits.call_time,
            },
            Some(t) => PluginError::Trap {
                name,
                trap: t.to_string(),
            },
            None => PluginError::Trap {
                name,
                trap: format!("{e:#}"),
            },
        }
    }

    fn guest_error(&self, e: WitErrorAny) -> PluginError {
        let (kind, message) = e.0;
        PluginError::Guest {
            name: self.manifest.name.clone(),
            kind,
            message,
        }
    }

    fn wrong_world(&self, expected: World) -> PluginError {
        PluginError::WrongWorld {
            name: self.manifest.name.clone(),
            expected: expected.to_string(),
            actual: self.manifest.world.to_string(),
        }
    }

    /// Asks an auth plugin for a credential. Needs a Tokio runtime (for the
    /// wall-clock deadline and HTTP).
    pub async fn get_credential(
        &self,
        request: &CredentialRequest<'_>,
    ) -> Result<PluginCredential, PluginError> {
        let Pre::Auth(pre) = &self.pre else {
            return Err(self.wrong_world(World::Auth));
        };
        let mut store = self.store(request.registry);
        let actions: Vec<String> = request.actions.iter().map(|a| a.to_string()).collect();
        let outcome = {
            let call = async {
                let inst = pre.instantiate_async(&mut store).await?;
                inst.hoist_plugin_credentials()
                    .call_get_credential(
                        &mut store,
                        request.registry,
                        request.repository,
                        &actions,
                        request.challenge,
                    )
                    .await
            };
            tokio::time::timeout(self.limits.call_time, call).await
        };
        let oom = store.data().limiter.hit;
        drop(store);
        match outcome {
            Err(_elapsed) => Err(PluginError::Timeout {
                name: self.manifest.name.clone(),
                limit: self.limits.call_time,
            }),
            Ok(Err(e)) => Err(self.trap_error(e, oom)),
            Ok(Ok(Err(guest))) => Err(self.guest_error(WitErrorAny::from_auth(guest))),
            Ok(Ok(Ok(c))) => Ok(match c {
                WitCredential::Anonymous => PluginCredential::Anonymous,
                WitCredential::Basic((username, password)) => {
                    PluginCredential::Basic { username, password }
                }
                WitCredential::Bearer((token, expires_in)) => PluginCredential::Bearer {
                    token,
                    expires_in: expires_in.map(Duration::from_secs),
                },
                WitCredential::IdentityToken(t) => PluginCredential::IdentityToken(t),
            }),
        }
    }

    /// Runs one profile export in a fresh store.
    fn with_profile<R>(
        &self,
        registry: &str,
        f: impl FnOnce(
            &profile::exports::hoist::plugin::profile::Guest,
            &mut Store<CallState>,
        ) -> wasmtime::Result<R>,
    ) -> Result<R, PluginError> {
        let Pre::Profile(pre) = &self.pre else {
            return Err(self.wrong_world(World::RegistryProfile));
        };
        let mut store = self.store(registry);
        let result = pre
            .instantiate(&mut store)
            .and_then(|inst| f(inst.hoist_plugin_profile(), &mut store));
        let oom = store.data().limiter.hit;
        drop(store);
        result.map_err(|e| self.trap_error(e, oom))
    }

    /// Profile: does this profile describe `registry`?
    pub fn profile_matches(&self, registry: &str) -> Result<bool, PluginError> {
        self.with_profile(registry, |p, s| p.call_matches(s, registry))
    }

    /// Profile: applies the registry's naming rules to a normalised reference string.
    pub fn profile_normalize(&self, reference: &str) -> Result<String, PluginError> {
        let registry = reference.split('/').next().unwrap_or(reference);
        self.with_profile(registry, |p, s| p.call_normalize(s, reference))?
            .map_err(|e| self.guest_error(WitErrorAny::from_profile(e)))
    }

    /// Profile: the registry's transfer limits.
    pub fn profile_limits(&self, registry: &str) -> Result<crate::RegistryLimits, PluginError> {
        let l = self.with_profile(registry, |p, s| p.call_limits(s, registry))?;
        Ok(crate::RegistryLimits {
            max_concurrent_push: l.max_concurrent_push,
            max_concurrent_pull: l.max_concurrent_pull,
            chunk_size: l.chunk_size,
        })
    }

    /// Profile: a hint for failed authentication.
    pub fn profile_auth_hint(&self, registry: &str) -> Result<Option<String>, PluginError> {
        self.with_profile(registry, |p, s| p.call_auth_hint(s, registry))
    }
}

/// A guest `plugin-error` from either world, as (kind, message).
struct WitErrorAny((GuestErrorKind, String));

impl WitErrorAny {
    fn from_auth(e: WitError) -> Self {
        Self(match e {
            WitError::NotFound(m) => (GuestErrorKind::NotFound, m),
            WitError::Denied(m) => (GuestErrorKind::Denied, m),
            WitError::Invalid(m) => (GuestErrorKind::Invalid, m),
            WitError::Failed(m) => (GuestErrorKind::Failed, m),
        })
    }

    fn from_profile(e: profile::hoist::plugin::types::PluginError) -> Self {
        use profile::hoist::plugin::types::PluginError as P;
        Self(match e {
            P::NotFound(m) => (GuestErrorKind::NotFound, m),
            P::Denied(m) => (GuestErrorKind::Denied, m),
            P::Invalid(m) => (GuestErrorKind::Invalid, m),
            P::Failed(m) => (GuestErrorKind::Failed, m),
        })
    }
}

/// What an auth plugin is asked.
#[derive(Debug, Clone, Copy, Default)]
pub struct CredentialRequest<'a> {
    /// Registry host (`host[:port]`).
    pub registry: &'a str,
    /// Repository, or `""` when not known.
    pub repository: &'a str,
    /// Actions (`pull`, `push`), empty when not known.
    pub actions: &'a [&'a str],
    /// The registry's `WWW-Authenticate` header, when one was received.
    pub challenge: Option<&'a str>,
}
