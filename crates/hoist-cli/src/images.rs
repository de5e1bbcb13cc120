//! Local image commands: images, tag, rmi, inspect, save, load, prune.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use hoist_oci::spec::{Descriptor, ImageManifest};
use hoist_oci::{ImageConfig, Reference, media};
use hoist_store::Store;
use serde::Serialize;

use crate::progress::{human_size, short};

const JSON_MAX: u64 = 4 << 20;

/// Arguments of `hoist images`.
#[derive(clap::Args)]
pub struct ImagesArgs {
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    format: Format,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Format {
    Table,
    Json,
}

/// Arguments of `hoist save`.
#[derive(clap::Args)]
pub struct SaveArgs {
    /// Images to save.
    #[arg(required = true)]
    images: Vec<String>,
    /// File to write.
    #[arg(short, long)]
    output: PathBuf,
    /// Archive format.
    #[arg(long, value_enum, default_value = "docker-archive")]
    format: ArchiveFormat,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum ArchiveFormat {
    DockerArchive,
    OciArchive,
}

#[derive(Serialize)]
struct ImageRow {
    name: String,
    repository: String,
    tag: String,
    digest: String,
    id: String,
    size: u64,
    created: Option<String>,
}

fn open(root: &Path) -> anyhow::Result<Store> {
    Store::open(root).with_context(|| format!("cannot open the store at {}", root.display()))
}

/// Resolves a user's reference to a named descriptor in the store.
fn find(store: &Store, image: &str) -> anyhow::Result<(Reference, Descriptor)> {
    let r = Reference::parse(image)?;
    match store.resolve(&r)? {
        Some(d) => Ok((r, d)),
        None => bail!(
            "image {} is not in the local store (see hoist images)",
            r.familiar()
        ),
    }
}

/// Size (config + layers) and config of a manifest; indexes report their own size only.
fn summary(
    store: &Store,
    desc: &Descriptor,
) -> anyhow::Result<(u64, Option<ImageConfig>, Option<String>)> {
    if !media::is_manifest(desc.media_type()) {
        return Ok((desc.size(), None, None));
    }
    let m: ImageManifest = store.read_manifest(desc.digest())?;
    let size = m.config().size() + m.layers().iter().map(|l| l.size()).sum::<u64>();
    let cfg: ImageConfig = serde_json::from_slice(&store.read_blob(m.config().digest(), JSON_MAX)?)
        .context("invalid image config")?;
    Ok((size, Some(cfg), Some(m.config().digest().to_string())))
}

/// `hoist images`.
pub fn list(root: &Path, args: &ImagesArgs) -> anyhow::Result<()> {
    let store = open(root)?;
    let mut rows = Vec::new();
    for (r, desc) in store.names()? {
        let (size, cfg, id) = summary(&store, &desc)?;
        rows.push(ImageRow {
            name: r.to_string(),
            repository: r
                .familiar()
                .rsplit_once(':')
                .map_or(r.familiar(), |(n, _)| n.to_string()),
            tag: r.tag().unwrap_or("<none>").to_string(),
            digest: desc.digest().to_string(),
            id: id.unwrap_or_else(|| desc.digest().to_string()),
            size,
            created: cfg.and_then(|c| c.created),
        });
    }
    rows.sort_by(|a, b| a.name.cmp(&b.name));
    if args.format == Format::Json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(());
    }
    println!(
        "{:<40} {:<16} {:<19} {:>10}  CREATED",
        "REPOSITORY", "TAG", "DIGEST", "SIZE"
    );
    for row in rows {
        let digest = short(&hoist_oci::parse_digest(&row.digest)?);
        println!(
            "{:<40} {:<16} {:<19} {:>10}  {}",
            row.repository,
            row.tag,
            digest,
            human_size(row.size),
            row.created.unwrap_or_default()
        );
    }
    Ok(())
}

/// `hoist tag SRC DST`.
pub fn tag(root: &Path, source: &str, target: &str) -> anyhow::Result<()> {
    let store = open(root)?;
    let (_, desc) = find(&store, source)?;
    let dst = Reference::parse(target)?;
    store.set_name(&dst, &desc)?;
    Ok(())
}

/// `hoist rmi REF...`: removes names, then blobs no remaining name uses.
pub fn rmi(root: &Path, images: &[String]) -> anyhow::Result<()> {
    let store = open(root)?;
    let mut missing = Vec::new();
    for image in images {
        let r = Reference::parse(image)?;
        if store.remove_name(&r)? {
            println!("Untagged: {}", r.familiar());
        } else {
            missing.push(r.familiar());
        }
    }
    let stats = store.prune()?;
    if stats.blobs_removed > 0 {
        eprintln!(
            "deleted {} blobs, {} freed",
            stats.blobs_removed,
            human_size(stats.bytes_freed)
        );
    }
    if !missing.is_empty() {
        bail!("no such image in the local store: {}", missing.join(", "));
    }
    Ok(())
}

/// `hoist inspect REF`.
pub fn inspect(root: &Path, image: &str) -> anyhow::Result<()> {
    let store = open(root)?;
    let (r, desc) = find(&store, image)?;
    let manifest: serde_json::Value =
        serde_json::from_slice(&store.read_blob(desc.digest(), JSON_MAX)?)
            .context("invalid manifest")?;
    let config = match manifest.pointer("/config/digest").and_then(|d| d.as_str()) {
        Some(d) if media::is_manifest(desc.media_type()) => {
            let d = hoist_oci::parse_digest(d)?;
            Some(serde_json::from_slice::<serde_json::Value>(
                &store.read_blob(&d, JSON_MAX)?,
            )?)
        }
        _ => None,
    };
    let out = serde_json::json!({
        "Name": r.to_string(),
        "Digest": desc.digest().to_string(),
        "MediaType": desc.media_type().to_string(),
        "Manifest": manifest,
        "Config": config,
    });
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(())
}

/// `hoist save`.
pub fn save(root: &Path, args: &SaveArgs) -> anyhow::Result<()> {
    let store = open(root)?;
    let images = args
        .images
        .iter()
        .map(|i| find(&store, i))
        .collect::<anyhow::Result<Vec<_>>>()?;
    match args.format {
        ArchiveFormat::DockerArchive => {
            hoist_store::archive::export_docker_archive(&store, &images, &args.output)?
        }
        ArchiveFormat::OciArchive => {
            hoist_store::archive::export_oci_archive(&store, &images, &args.output)?
        }
    }
    Ok(())
}

/// `hoist load`.
pub fn load(root: &Path, input: &Path) -> anyhow::Result<()> {
    let store = open(root)?;
    let names = hoist_store::archive::import_archive(&store, input)
        .with_context(|| format!("cannot load {}", input.display()))?;
    for n in names {
        println!("Loaded image: {}", n.familiar());
    }
    Ok(())
}

/// `hoist prune`.
pub fn prune(root: &Path) -> anyhow::Result<()> {
    let store = open(root)?;
    let stats = store.prune()?;
    println!(
        "deleted {} blobs, {} freed; removed {} unpacked layers",
        stats.blobs_removed,
        human_size(stats.bytes_freed),
        stats.unpacked_removed
    );
    Ok(())
}
