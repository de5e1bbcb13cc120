//! `hoist plugin`: list, inspect and try the wasm plugins.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context as _;
use hoist_plugin::{
    CredentialRequest, HostOptions, Plugin, PluginConfig, PluginHost, Plugins, World,
};
use hoist_registry::CredentialProvider;

/// `hoist plugin` subcommands.
#[derive(clap::Subcommand)]
pub enum PluginCmd {
    /// List built-in and configured plugins.
    Ls,
    /// Print a plugin's manifest, digest, grants and limits as JSON.
    Inspect {
        /// A plugin name, or a component file.
        plugin: String,
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

/// The plugin configuration file: `$XDG_CONFIG_HOME/hoist/config.toml`.
fn config() -> anyhow::Result<(Option<PathBuf>, PluginConfig)> {
    let path = PluginConfig::default_path();
    let cfg = match &path {
        Some(p) => PluginConfig::load(p)?,
        None => PluginConfig::default(),
    };
    Ok((path, cfg))
}

/// Loads every plugin (built-ins and those in `config.toml`).
pub fn load_plugins() -> anyhow::Result<Plugins> {
    load_plugins_with(None)
}

/// Like [`load_plugins`]; `authfile` (from `--authfile`) becomes the `docker-config`
/// file plugins may read.
fn load_plugins_with(authfile: Option<&Path>) -> anyhow::Result<Plugins> {
    let (_, cfg) = config()?;
    let mut opts = HostOptions::default();
    if let Some(f) = authfile {
        opts.files
            .insert("docker-config".to_string(), f.to_path_buf());
    }
    let host = PluginHost::new(opts)?;
    Ok(Plugins::load(host, cfg))
}

/// The credential chain of registry commands: auth plugins in `[auth] plugins` order,
/// then `fallback` (the auth files). If the plugin host cannot start, a warning says
/// why and only `fallback` is used.
pub fn credential_chain(
    authfile: Option<&Path>,
    fallback: Arc<dyn CredentialProvider>,
) -> Arc<dyn CredentialProvider> {
    let chain = load_plugins_with(authfile).and_then(|p| Ok(p.credentials()?));
    match chain {
        Ok(chain) => Arc::new(chain.with_fallback(fallback)),
        Err(e) => {
            tracing::warn!(error = %format!("{e:#}"), "auth plugins unavailable; using auth files only");
            fallback
        }
    }
}

/// Runs a `hoist plugin` subcommand.
pub fn run(cmd: PluginCmd) -> anyhow::Result<()> {
    match cmd {
        PluginCmd::Ls => ls(),
        PluginCmd::Inspect { plugin } => inspect(&plugin),
        PluginCmd::Test {
            plugin,
            registry,
            repository,
            reference,
        } => test(&plugin, &registry, &repository, reference.as_deref()),
    }
}

fn ls() -> anyhow::Result<()> {
    let plugins = load_plugins()?;
    println!(
        "{:<18} {:<17} {:<9} {:<34} GRANTS",
        "NAME", "WORLD", "ORIGIN", "REGISTRIES"
    );
    for p in plugins.plugins() {
        let origin = match p.origin() {
            hoist_plugin::PluginOrigin::Builtin => "built-in".to_string(),
            hoist_plugin::PluginOrigin::File(_) => "file".to_string(),
        };
        let grants = p.grants();
        println!(
            "{:<18} {:<17} {:<9} {:<34} {}",
            p.name(),
            p.manifest().world,
            origin,
            p.manifest().registries.join(","),
            if grants.is_empty() {
                "-".to_string()
            } else {
                grants.join(",")
            }
        );
    }
    for (name, e) in plugins.failures() {
        eprintln!("warning: plugin {name} not loaded: {e}");
    }
    Ok(())
}

fn describe(p: &Plugin) -> serde_json::Value {
    let l = p.limits();
    serde_json::json!({
        "name": p.name(),
        "origin": p.origin().to_string(),
        "digest": p.digest().to_string(),
        "manifest": p.manifest(),
        "grants": p.grants(),
        "limits": {
            "memory_bytes": l.memory,
            "call_time_ms": l.call_time.as_millis() as u64,
            "http_requests": l.http_requests,
            "http_response_bytes": l.http_response,
        },
    })
}

fn inspect(arg: &str) -> anyhow::Result<()> {
    let path = Path::new(arg);
    let value = if path.is_file() {
        let (_, cfg) = config()?;
        let host = PluginHost::new(HostOptions::default())?;
        let wasm =
            std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
        let name = hoist_plugin::Manifest::extract(arg, &wasm)?.name;
        let p = host.load(
            &wasm,
            hoist_plugin::PluginOrigin::File(path.to_path_buf()),
            cfg.plugins.get(&name),
        )?;
        describe(&p)
    } else {
        let plugins = load_plugins()?;
        describe(plugins.get(arg)?)
    };
    println!("{}", serde_json::to_string_pretty(&value)?);
    Ok(())
}

fn test(
    name: &str,
    registry: &str,
    repository: &str,
    reference: Option<&str>,
) -> anyhow::Result<()> {
    let plugins = load_plugins()?;
    let p = plugins.get(name)?;
    match p.manifest().world {
        World::Auth => {
            let rt = crate::client::runtime()?;
            let cred = rt.block_on(p.get_credential(&CredentialRequest {
                registry,
                repository,
                ..CredentialRequest::default()
            }))?;
            println!("{}", cred.masked());
        }
        World::RegistryProfile => {
            println!("matches: {}", p.profile_matches(registry)?);
            let l = p.profile_limits(registry)?;
            let show = |v: Option<u64>| v.map_or("default".to_string(), |n| n.to_string());
            println!(
                "max-concurrent-push: {}",
                show(l.max_concurrent_push.map(u64::from))
            );
            println!(
                "max-concurrent-pull: {}",
                show(l.max_concurrent_pull.map(u64::from))
            );
            println!("chunk-size: {}", show(l.chunk_size));
            if let Some(h) = p.profile_auth_hint(registry)? {
                println!("auth-hint: {h}");
            }
            if let Some(r) = reference {
                let parsed = hoist_oci::Reference::parse_name_only(r)?;
                println!("normalized: {}", p.profile_normalize(&parsed.to_string())?);
            }
        }
    }
    Ok(())
}
