//! The crate's error type.

use std::path::PathBuf;
use std::time::Duration;

/// How a plugin's own `plugin-error` classified a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GuestErrorKind {
    /// The plugin has nothing for this registry; the next source is asked.
    NotFound,
    /// The host refused a capability the plugin asked for.
    Denied,
    /// An argument broke the plugin's rules.
    Invalid,
    /// Anything else.
    Failed,
}

impl std::fmt::Display for GuestErrorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            GuestErrorKind::NotFound => "not found",
            GuestErrorKind::Denied => "denied",
            GuestErrorKind::Invalid => "invalid",
            GuestErrorKind::Failed => "failed",
        })
    }
}

/// Everything that can go wrong loading, checking or calling a plugin.
#[derive(Debug, thiserror::Error)]
pub enum PluginError {
    /// A plugin file could not be read.
    #[error("plugin file {}: read failed", .path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The component has no `hoist-plugin-manifest` custom section.
    #[error("plugin {origin}: no hoist-plugin-manifest section")]
    MissingManifest {
        /// Where the plugin came from (file or built-in name).
        origin: String,
    },
    /// The manifest is not valid.
    #[error("plugin {origin}: invalid manifest: {reason}")]
    InvalidManifest {
        /// Where the plugin came from.
        origin: String,
        /// What is wrong.
        reason: String,
    },
    /// The bytes are not a component this engine can compile.
    #[error("plugin {name}: cannot compile component: {reason}")]
    Compile {
        /// Plugin name.
        name: String,
        /// The engine's message.
        reason: String,
    },
    /// The component imports something its world does not allow.
    #[error("plugin {name} imports {}, which world `{world}` does not allow; refusing to load it", .imports.join(", "))]
    ForbiddenImport {
        /// Plugin name.
        name: String,
        /// The world the manifest declares.
        world: String,
        /// Every import that is not allowed.
        imports: Vec<String>,
    },
    /// The component does not fit its world (missing or mistyped exports/imports).
    #[error("plugin {name}: does not implement world `{world}`: {reason}")]
    Link {
        /// Plugin name.
        name: String,
        /// The world.
        world: String,
        /// The engine's message.
        reason: String,
    },
    /// The plugin grew its memory past the limit.
    #[error("plugin {name} ran out of memory (limit {limit_bytes} bytes)")]
    OutOfMemory {
        /// Plugin name.
        name: String,
        /// The limit.
        limit_bytes: u64,
    },
    /// The plugin ran past its deadline and was stopped.
    #[error("plugin {name} timed out after {limit:?} and was stopped")]
    Timeout {
        /// Plugin name.
        name: String,
        /// The deadline.
        limit: Duration,
    },
    /// The plugin trapped (a panic in the guest shows up as `unreachable`).
    #[error("plugin {name} crashed: {trap} (a panic or abort inside the plugin)")]
    Trap {
        /// Plugin name.
        name: String,
        /// The trap or engine message.
        trap: String,
    },
    /// The plugin returned an error of its own.
    #[error("plugin {name}: {kind}: {message}")]
    Guest {
        /// Plugin name.
        name: String,
        /// The plugin's classification.
        kind: GuestErrorKind,
        /// The plugin's message.
        message: String,
    },
    /// A plugin answer does not make sense (e.g. a reference that does not parse).
    #[error("plugin {name}: bad answer: {reason}")]
    BadAnswer {
        /// Plugin name.
        name: String,
        /// What is wrong.
        reason: String,
    },
    /// The compiled-plugin cache could not be used.
    #[error("plugin cache {}: {action} failed", .path.display())]
    Cache {
        /// The file or directory.
        path: PathBuf,
        /// What was attempted.
        action: &'static str,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// `config.toml` could not be read or is invalid.
    #[error("config {}: {reason}", .path.display())]
    Config {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// No plugin by that name.
    #[error("no plugin named {name:?}")]
    UnknownPlugin {
        /// The name asked for.
        name: String,
    },
    /// The plugin exists but implements another world.
    #[error("plugin {name} is a `{actual}` plugin, not `{expected}`")]
    WrongWorld {
        /// Plugin name.
        name: String,
        /// The world needed.
        expected: String,
        /// The plugin's world.
        actual: String,
    },
    /// Installing or removing a plugin file failed.
    #[error("plugin directory {}: {action} failed", .path.display())]
    Install {
        /// The file or directory.
        path: PathBuf,
        /// What was attempted.
        action: &'static str,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A plugin cannot be installed under that name.
    #[error("cannot install plugin {name:?}: {reason}")]
    BadInstall {
        /// The plugin's name.
        name: String,
        /// Why not.
        reason: String,
    },
    /// The plugin's bytes do not have the digest it was pinned to.
    #[error("plugin {origin}: digest is {actual}, expected {expected}; refusing it")]
    DigestMismatch {
        /// Where the bytes came from.
        origin: String,
        /// The pinned digest.
        expected: hoist_oci::Digest,
        /// The digest of what arrived.
        actual: hoist_oci::Digest,
    },
    /// An OCI artifact is not a wasm plugin (or not pinned by digest).
    #[error("plugin artifact {reference}: {reason}")]
    Artifact {
        /// The artifact reference.
        reference: String,
        /// What is wrong.
        reason: String,
    },
    /// The registry failed while publishing or fetching a plugin artifact.
    #[error("plugin artifact {reference}: registry request failed")]
    Registry {
        /// The artifact reference.
        reference: String,
        /// The registry error (boxed: it is large).
        #[source]
        source: Box<hoist_registry::RegistryError>,
    },
    /// The engine or the HTTP client could not be set up.
    #[error("plugin host setup failed: {reason}")]
    Setup {
        /// What failed.
        reason: String,
    },
}

impl PluginError {
    /// True when the plugin simply had nothing for the registry.
    pub fn is_not_found(&self) -> bool {
        matches!(
            self,
            PluginError::Guest {
                kind: GuestErrorKind::NotFound,
                ..
            }
        )
    }
}
