//! `hoist plugin`: list, inspect, install, publish and try the wasm plugins; and the
//! plugins registry commands use (auth chain, registry profiles).

mod manage;
mod show;

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use hoist_plugin::{HostOptions, PluginConfig, PluginDir, PluginHost, Plugins, Profiles};
use hoist_registry::CredentialProvider;

use crate::client::RegistryArgs;

/// `hoist plugin` subcommands.
#[derive(clap::Subcommand)]
pub enum PluginCmd {
    /// List built-in, installed and configured plugins.
    Ls,
    /// Print a plugin's manifest, digest, grants and limits as JSON.
    Inspect {
        /// A plugin name, or a component file.
        plugin: String,
    },
    /// Install a plugin from a component file or a registry (`oci://REPO@sha256:…`).
    Add {
        /// `FILE` or `oci://REPO@sha256:…` (artifacts are pinned by digest).
        source: String,
        /// Refuse a file whose sha256 digest differs (`sha256:…`).
        #[arg(long, value_name = "DIGEST")]
        digest: Option<String>,
        #[command(flatten)]
        registry_args: RegistryArgs,
    },
    /// Remove an installed plugin.
    Rm {
        /// Plugin name.
        name: String,
    },
    /// Publish a component file as an OCI artifact; prints the manifest digest.
    Push {
        /// The component file.
        file: PathBuf,
        /// Where to push (`REGISTRY/REPO:TAG`).
        reference: String,
        #[command(flatten)]
        registry_args: RegistryArgs,
    },
    /// Call a plugin for one registry (secrets in the answer are masked).
    Test {
        /// Plugin name.
        plugin: String,
        /// Registry host (`host[:port]`).
        #[arg(long)]
        registry: String,
        /// Repository to ask about (auth plugins).
        #[arg(long, default_value = "")]
        repository: String,
        /// Reference to normalise (profile plugins).
        #[arg(long)]
        reference: Option<String>,
    },
}

/// Runs a `hoist plugin` subcommand.
pub fn run(cmd: PluginCmd) -> anyhow::Result<()> {
    match cmd {
        PluginCmd::Ls => show::ls(),
        PluginCmd::Inspect { plugin } => show::inspect(&plugin),
        PluginCmd::Add {
            source,
            digest,
            registry_args,
        } => manage::add(&source, digest.as_deref(), &registry_args),
        PluginCmd::Rm { name } => manage::rm(&name),
        PluginCmd::Push {
            file,
            reference,
            registry_args,
        } => manage::push(&file, &reference, &registry_args),
        PluginCmd::Test {
            plugin,
            registry,
            repository,
            reference,
        } => show::test(&plugin, &registry, &repository, reference.as_deref()),
    }
}

/// The plugin configuration: `$XDG_CONFIG_HOME/hoist/config.toml` (installed plugins
/// next to it in `plugins/`).
fn config() -> anyhow::Result<PluginConfig> {
    Ok(match PluginConfig::default_path() {
        Some(p) => PluginConfig::load(&p)?,
        None => PluginConfig::default(),
    })
}

/// Where `hoist plugin add` installs plugins.
fn plugin_dir(cfg: &PluginConfig) -> anyhow::Result<PluginDir> {
    cfg.installed_dir
        .clone()
        .map(PluginDir::new)
        .or_else(PluginDir::default_dir)
        .ok_or_else(|| {
            anyhow::anyhow!("cannot find the config directory: set HOME or XDG_CONFIG_HOME")
        })
}

/// Loads every plugin (built-ins, installed, and those in `config.toml`);
/// `authfile` (from `--authfile`) becomes the `docker-config` file plugins may read.
fn load_plugins(authfile: Option<&Path>) -> anyhow::Result<Plugins> {
    let cfg = config()?;
    let mut opts = HostOptions::default();
    if let Some(f) = authfile {
        opts.files
            .insert("docker-config".to_string(), f.to_path_buf());
    }
    let host = PluginHost::new(opts)?;
    Ok(Plugins::load(host, cfg))
}

/// The plugins of this process, loaded once for the registry commands (one command
/// per process, so the first `--authfile` seen is the only one). `None` after a
/// warning when the plugin host cannot start.
fn shared(authfile: Option<&Path>) -> Option<&'static Plugins> {
    static SHARED: OnceLock<Option<Plugins>> = OnceLock::new();
    SHARED
        .get_or_init(|| match load_plugins(authfile) {
            Ok(p) => Some(p),
            Err(e) => {
                tracing::warn!(error = %format!("{e:#}"), "plugins unavailable; using auth files and default registry rules");
                None
            }
        })
        .as_ref()
}

/// The credential chain of registry commands: auth plugins in `[auth] plugins` order,
/// then `fallback` (the auth files). Without a plugin host only `fallback` is used.
pub fn credential_chain(
    authfile: Option<&Path>,
    fallback: Arc<dyn CredentialProvider>,
) -> Arc<dyn CredentialProvider> {
    let Some(plugins) = shared(authfile) else {
        return fallback;
    };
    match plugins.credentials() {
        Ok(chain) => Arc::new(chain.with_fallback(fallback)),
        Err(e) => {
            tracing::warn!(error = %e, "auth plugins unavailable; using auth files only");
            fallback
        }
    }
}

/// The registry profiles (naming rules and transfer limits) registry commands apply.
pub fn profiles(authfile: Option<&Path>) -> Option<Profiles> {
    shared(authfile).map(Plugins::profiles)
}
