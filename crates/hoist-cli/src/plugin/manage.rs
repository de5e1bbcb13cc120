//! `hoist plugin add`, `rm` and `push`.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context as _;
use hoist_oci::{Digest, Reference};
use hoist_plugin::{HostOptions, PluginHost, PluginOrigin};
use hoist_registry::NoProgress;

use super::{config, plugin_dir};
use crate::client::{RegistryArgs, registry_client, runtime};

/// `hoist plugin add FILE|oci://REPO@sha256:…`: checks and installs the component;
/// prints `NAME DIGEST` on stdout.
pub(super) fn add(
    source: &str,
    digest: Option<&str>,
    registry_args: &RegistryArgs,
) -> anyhow::Result<()> {
    let cfg = config()?;
    let dir = plugin_dir(&cfg)?;
    let (wasm, expected) = match source.strip_prefix("oci://") {
        Some(r) => {
            let r = Reference::parse(r)?;
            if r.digest().is_none() {
                anyhow::bail!(
                    "plugin artifacts are installed by digest: use oci://{}@sha256:…",
                    r.name()
                );
            }
            let client = registry_client(registry_args, Arc::new(NoProgress))?;
            // The client checks the manifest against the pinned digest and the layer
            // against the manifest, so the bytes are the ones the pin names.
            let wasm = runtime()?
                .block_on(hoist_plugin::fetch_plugin(&client, &r))
                .with_context(|| format!("cannot fetch plugin {r}"))?;
            (wasm, None)
        }
        None => {
            let wasm = std::fs::read(source).with_context(|| format!("cannot read {source}"))?;
            let expected = digest.map(str::parse::<Digest>).transpose()?;
            (wasm, expected)
        }
    };
    let host = PluginHost::new(HostOptions::default())?;
    let p = dir.install(&host, &wasm, expected.as_ref(), source, None)?;
    println!("{} {}", p.name(), p.digest());
    eprintln!(
        "Installed plugin {} ({} {}) in {}",
        p.name(),
        p.manifest().world,
        p.manifest().version,
        dir.file_of(p.name()).display()
    );
    if !p.manifest().http.is_empty()
        || !p.manifest().secrets.is_empty()
        || !p.manifest().files.is_empty()
    {
        let mut wanted: Vec<String> = p
            .manifest()
            .http
            .iter()
            .map(|h| format!("http:{h}"))
            .collect();
        wanted.extend(p.manifest().secrets.iter().map(|s| format!("secret:{s}")));
        wanted.extend(p.manifest().files.iter().map(|f| format!("file:{f}")));
        eprintln!(
            "hint: it has no grants yet; it asks for {}: grant them in config.toml under [plugins.{}] grant = [...]",
            wanted.join(", "),
            p.name()
        );
    }
    Ok(())
}

/// `hoist plugin rm NAME`.
pub(super) fn rm(name: &str) -> anyhow::Result<()> {
    let cfg = config()?;
    if hoist_plugin::builtin(name).is_some() {
        anyhow::bail!(
            "{name} is built in; disable it in config.toml with [plugins.{name}] enabled = false"
        );
    }
    let path = plugin_dir(&cfg)?.remove(name)?;
    eprintln!("Removed plugin {name} ({})", path.display());
    Ok(())
}

/// `hoist plugin push FILE REF`: checks the component, publishes it, prints the digest.
pub(super) fn push(
    file: &Path,
    reference: &str,
    registry_args: &RegistryArgs,
) -> anyhow::Result<()> {
    let r = Reference::parse(reference)?;
    let wasm = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let host = PluginHost::new(HostOptions::default())?;
    let p = host.load(&wasm, PluginOrigin::File(file.to_path_buf()), None)?;
    let client = registry_client(registry_args, Arc::new(NoProgress))?;
    let digest = runtime()?
        .block_on(hoist_plugin::push_plugin(
            &client,
            &r,
            &wasm,
            p.manifest(),
            None,
        ))
        .with_context(|| format!("cannot push plugin {} to {}", p.name(), r.familiar()))?;
    eprintln!(
        "Pushed plugin {} to {}@{digest}; install it with: hoist plugin add oci://{}@{digest}",
        p.name(),
        r.familiar(),
        r.name()
    );
    println!("{digest}");
    Ok(())
}
