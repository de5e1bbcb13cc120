//! `hoist manifest create NAME IMAGE...`: a multi-platform index from images in the store.

use std::path::Path;

use anyhow::Context as _;
use hoist_oci::spec::{DescriptorBuilder, ImageIndexBuilder, PlatformBuilder};
use hoist_oci::{MediaType, Reference, media};
use hoist_store::Store;

/// `hoist manifest` subcommands.
#[derive(clap::Subcommand)]
pub enum ManifestCmd {
    /// Name an OCI index of single-platform images in the store; each entry's platform
    /// comes from its image's config. Prints the index digest.
    Create {
        /// Name for the index.
        name: String,
        /// Single-platform images in the store.
        #[arg(required = true)]
        images: Vec<String>,
    },
}

/// Runs a `hoist manifest` subcommand.
pub fn run(root: &Path, cmd: ManifestCmd) -> anyhow::Result<()> {
    let ManifestCmd::Create { name, images } = cmd;
    let store = Store::open(root)
        .with_context(|| format!("cannot open the store at {}", root.display()))?;
    let _lease = store.lock_shared()?;
    let mut entries = Vec::new();
    for image in &images {
        let r = Reference::parse(image)?;
        let desc = store
            .resolve(&r)?
            .with_context(|| format!("image {image} is not in the local store"))?;
        anyhow::ensure!(
            media::is_manifest(desc.media_type()),
            "{image} is not a single-platform image (media type {})",
            desc.media_type()
        );
        let m = store.read_manifest(desc.digest())?;
        let config = store.read_config(m.config().digest())?;
        let mut platform = PlatformBuilder::default()
            .os(config.os().clone())
            .architecture(config.architecture().clone());
        if let Some(v) = config.variant() {
            platform = platform.variant(v.clone());
        }
        entries.push(
            DescriptorBuilder::default()
                .media_type(desc.media_type().clone())
                .digest(desc.digest().clone())
                .size(desc.size())
                .platform(platform.build()?)
                .build()?,
        );
    }
    let index = ImageIndexBuilder::default()
        .schema_version(2u32)
        .media_type(MediaType::ImageIndex)
        .manifests(entries)
        .build()?;
    let (desc, _) = store.put_json(MediaType::ImageIndex, &index)?;
    let name_ref = Reference::parse(&name)?;
    store.set_name(&name_ref, &desc)?;
    eprintln!(
        "Created {} with {} platforms",
        name_ref.familiar(),
        images.len()
    );
    println!("{}", desc.digest());
    Ok(())
}
