//! `hoist push`, and the push step of `hoist build --push`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context as _;
use hoist_oci::Reference;
use hoist_store::Store;
use hoist_transfer::Pushed;

use crate::client::{RegistryArgs, registry_client, runtime};
use crate::transfer_progress::BlobLines;

/// Arguments of `hoist push`.
#[derive(clap::Args)]
pub struct PushArgs {
    /// Image in the local store.
    image: String,
    /// Where to push (default: the image's own name).
    destination: Option<String>,
    /// Write the pushed manifest digest to this file.
    #[arg(long)]
    digest_file: Option<PathBuf>,
    /// No progress lines.
    #[arg(short, long)]
    quiet: bool,
    #[command(flatten)]
    registry_args: RegistryArgs,
}

/// Runs `hoist push`: prints the pushed digest on stdout.
pub fn run(root: &Path, args: PushArgs) -> anyhow::Result<()> {
    let src = Reference::parse(&args.image)?;
    let dest = match &args.destination {
        Some(d) => Reference::parse(d)?,
        None => src.clone(),
    };
    let store = Store::open(root)
        .with_context(|| format!("cannot open the store at {}", root.display()))?;
    let pushed = push_many(&store, &[(src, dest)], &args.registry_args, args.quiet)?;
    let digest = pushed[0].digest.to_string();
    if let Some(f) = &args.digest_file {
        std::fs::write(f, &digest).with_context(|| format!("cannot write {}", f.display()))?;
    }
    println!("{digest}");
    Ok(())
}

/// Pushes each `(source in store, destination)` pair in order with one client (so
/// tokens and pings are shared), printing a summary line per image unless `quiet`.
pub fn push_many(
    store: &Store,
    pairs: &[(Reference, Reference)],
    registry_args: &RegistryArgs,
    quiet: bool,
) -> anyhow::Result<Vec<Pushed>> {
    // Registry profiles check (and may rewrite) every destination before any upload.
    let pairs = pairs
        .iter()
        .map(|(src, dest)| Ok((src, crate::client::normalize(registry_args, dest.clone())?)))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let client = registry_client(registry_args, Arc::new(BlobLines::new(quiet)))?;
    let rt = runtime()?;
    let mut out = Vec::new();
    for (src, dest) in &pairs {
        let pushed = rt
            .block_on(hoist_transfer::push(&client, store, src, dest))
            .with_context(|| format!("cannot push {}", dest.familiar()))?;
        if !quiet {
            eprintln!(
                "Pushed {}@{}: {} blobs uploaded, {} mounted, {} already present",
                dest.familiar(),
                pushed.digest,
                pushed.uploaded,
                pushed.mounted,
                pushed.existed
            );
        }
        out.push(pushed);
    }
    Ok(out)
}
