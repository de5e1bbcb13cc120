//! hoist-plugin: sandboxed wasm plugins on wasmtime.
//!
//! Plugins are WebAssembly components implementing a world of the WIT package
//! `hoist:plugin@0.1.1` (`plugins/wit/`): `auth` plugins supply registry credentials
//! ([`PluginCredentials`] implements [`hoist_registry::CredentialProvider`]), and
//! `registry-profile` plugins describe a registry's naming rules and limits
//! ([`Profiles`]).
//!
//! Deny by default:
//! - a plugin's manifest (custom section `hoist-plugin-manifest`) declares the HTTP
//!   origins, secrets and files it needs; the user's `config.toml` grants them
//!   ([`PluginConfig`]); built-in plugins get what they declare unless narrowed;
//! - before instantiation, the component's imports are checked against its world:
//!   anything else (`wasi:sockets`, `wasi:filesystem`, ...) is refused;
//! - HTTP goes through the host's client, to allowed origins only, with a request
//!   count cap and a response size cap;
//! - each call runs in a fresh `Store` with a memory limit and an epoch deadline plus
//!   a wall-clock timeout; a trapped store is dropped.
//!
//! Compiled components are cached on disk by content digest ([`CompileCache`]).
#![deny(missing_docs)]

mod artifact;
mod bindings;
mod builtin;
mod cache;
mod chain;
mod config;
mod credential;
mod error;
mod glob;
mod host;
mod installed;
mod limiter;
mod manifest;
mod plugin;
mod profiles;
mod secrets;
mod set;
mod state;

pub use artifact::{MAX_COMPONENT_SIZE, WASM_CONFIG, WASM_LAYER, fetch_plugin, push_plugin};
pub use bindings::WIT_VERSION;
pub use builtin::{BUILTINS, Builtin, builtin};
pub use cache::{CacheOutcome, CompileCache};
pub use chain::PluginCredentials;
pub use config::{AuthSettings, Capabilities, Grant, PluginConfig, PluginSettings};
pub use credential::PluginCredential;
pub use error::{GuestErrorKind, PluginError};
pub use glob::glob_match;
pub use host::{HostOptions, PluginHost};
pub use installed::PluginDir;
pub use manifest::{HttpOrigin, MANIFEST_SECTION, Manifest, ManifestLimits, World};
pub use plugin::{CredentialRequest, EffectiveLimits, LoadPath, Plugin, PluginOrigin};
pub use profiles::{Profiles, RegistryLimits};
pub use secrets::{EnvSecrets, SecretSource};
pub use set::Plugins;
