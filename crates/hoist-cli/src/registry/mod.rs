//! `hoist registry tag|ls|rm|inspect`: operations on images that stay in a registry.

mod inspect;
mod ls;
mod rm;

use std::sync::Arc;

use anyhow::Context as _;
use hoist_oci::Reference;
use hoist_registry::{Client, NoProgress};
use hoist_transfer::{CopyOptions, RegistrySource};

use crate::client::{RegistryArgs, registry_client, runtime};
use crate::transfer_progress::BlobLines;

/// `hoist registry` subcommands.
#[derive(clap::Subcommand)]
pub enum RegistryCmd {
    /// Give an image in a registry another tag (same registry; no bytes are moved).
    Tag(TagArgs),
    /// List a registry's repositories, or a repository's tags.
    Ls(ls::LsArgs),
    /// Delete images (manifests) from a registry.
    Rm(rm::RmArgs),
    /// Show an image's manifest or index, config, layers and platforms.
    Inspect(inspect::InspectArgs),
}

/// Arguments of `hoist registry tag`.
#[derive(clap::Args)]
pub struct TagArgs {
    /// Existing image: REGISTRY/REPO[:TAG|@DIGEST].
    source: String,
    /// New name: REGISTRY/REPO:TAG on the same registry, or only a TAG for the source's
    /// repository.
    target: String,
    /// No progress lines.
    #[arg(short, long)]
    quiet: bool,
    #[command(flatten)]
    registry_args: RegistryArgs,
}

/// Runs a `hoist registry` subcommand.
pub fn run(cmd: RegistryCmd) -> anyhow::Result<()> {
    match cmd {
        RegistryCmd::Tag(args) => tag(args),
        RegistryCmd::Ls(args) => ls::run(args),
        RegistryCmd::Rm(args) => rm::run(args),
        RegistryCmd::Inspect(args) => inspect::run(args),
    }
}

/// A client without progress output (listing and inspection move no blobs).
fn quiet_client(args: &RegistryArgs) -> anyhow::Result<Client> {
    registry_client(args, Arc::new(NoProgress))
}

/// The new name for `tag`: a bare tag means the source's repository.
fn tag_target(src: &Reference, target: &str) -> anyhow::Result<Reference> {
    if !target.contains('/') && !target.contains('@') && !target.contains(':') {
        return Ok(src.with_tag(target)?);
    }
    let t = Reference::parse(target)?;
    anyhow::ensure!(
        t.tag().is_some(),
        "the new name {target} needs a tag (REGISTRY/REPO:TAG)"
    );
    Ok(t)
}

/// Runs `hoist registry tag`: prints the (unchanged) digest on stdout.
fn tag(args: TagArgs) -> anyhow::Result<()> {
    let src = Reference::parse(&args.source)?;
    let dest = tag_target(&src, &args.target)?;
    anyhow::ensure!(
        src.domain() == dest.domain(),
        "{} and {} are on different registries; use hoist copy {} {}",
        src,
        dest,
        src,
        dest
    );
    let client = registry_client(&args.registry_args, Arc::new(BlobLines::new(args.quiet)))?;
    let rt = runtime()?;
    let digest = rt
        .block_on(async {
            if src.repository() == dest.repository() {
                // Same repository: the manifest and its blobs are all there already.
                let m = client.get_manifest(&src, &[]).await?;
                let d = client.put_manifest(&dest, &m.media_type, m.bytes).await?;
                Ok::<_, anyhow::Error>(d)
            } else {
                let source = Arc::new(RegistrySource::new(client.clone(), src.clone()));
                let copied = hoist_transfer::copy_to_registry(
                    source,
                    &client,
                    &dest,
                    &CopyOptions::default(),
                )
                .await?;
                Ok(copied.descriptor.digest().clone())
            }
        })
        .with_context(|| format!("cannot tag {src} as {dest}"))?;
    if !args.quiet {
        eprintln!("Tagged {} as {}", src, dest);
    }
    println!("{digest}");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bare_tag_stays_in_the_source_repository() {
        let src = Reference::parse("localhost:5000/a/b:1").unwrap();
        assert_eq!(
            tag_target(&src, "2").unwrap().to_string(),
            "localhost:5000/a/b:2"
        );
        assert_eq!(
            tag_target(&src, "localhost:5000/c:3").unwrap().to_string(),
            "localhost:5000/c:3"
        );
        assert!(tag_target(&src, "localhost:5000/c@sha256:0000000000000000000000000000000000000000000000000000000000000000").is_err());
    }
}
