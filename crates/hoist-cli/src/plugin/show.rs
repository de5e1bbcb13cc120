//! `hoist plugin ls`, `inspect` and `test`.

use std::path::Path;

use anyhow::Context as _;
use hoist_plugin::{CredentialRequest, HostOptions, Plugin, PluginHost, PluginOrigin, World};

use super::{config, load_plugins};

/// `hoist plugin ls`: one line per plugin, failures as warnings on stderr.
pub(super) fn ls() -> anyhow::Result<()> {
    let plugins = load_plugins(None)?;
    println!(
        "{:<18} {:<8} {:<17} {:<9} {:<19} GRANTS",
        "NAME", "VERSION", "WORLD", "ORIGIN", "DIGEST"
    );
    for p in plugins.plugins() {
        let origin = match p.origin() {
            PluginOrigin::Builtin => "built-in",
            PluginOrigin::File(_) => "file",
        };
        let digest = p.digest().to_string();
        let short = digest.get(..19).unwrap_or(&digest);
        let grants = p.grants();
        println!(
            "{:<18} {:<8} {:<17} {:<9} {:<19} {}",
            p.name(),
            p.manifest().version,
            p.manifest().world,
            origin,
            short,
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

/// `hoist plugin inspect NAME|FILE`.
pub(super) fn inspect(arg: &str) -> anyhow::Result<()> {
    let path = Path::new(arg);
    let value = if path.is_file() {
        let cfg = config()?;
        let host = PluginHost::new(HostOptions::default())?;
        let wasm =
            std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
        let name = hoist_plugin::Manifest::extract(arg, &wasm)?.name;
        let p = host.load(
            &wasm,
            PluginOrigin::File(path.to_path_buf()),
            cfg.plugins.get(&name),
        )?;
        describe(&p)
    } else {
        let plugins = load_plugins(None)?;
        describe(plugins.get(arg)?)
    };
    println!("{}", serde_json::to_string_pretty(&value)?);
    Ok(())
}

/// `hoist plugin test NAME --registry R`: runs the plugin's calls and prints the
/// answers, credentials masked.
pub(super) fn test(
    name: &str,
    registry: &str,
    repository: &str,
    reference: Option<&str>,
) -> anyhow::Result<()> {
    let plugins = load_plugins(None)?;
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
