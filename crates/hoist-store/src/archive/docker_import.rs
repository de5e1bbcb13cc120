//! docker-archive import: `manifest.json` items → OCI manifests over the scanned blobs.

use std::io::{self, BufReader};
use std::path::{Path, PathBuf};

use hoist_oci::media::{self, Compression};
use hoist_oci::spec::Descriptor;
use hoist_oci::{Digest, Hasher, MediaType, Reference, parse_digest};
use serde::Deserialize;

use super::import::{Scan, read_up_to, sniff};
use crate::{Store, StoreError};

/// One entry of docker's `manifest.json`.
#[derive(Deserialize)]
pub(super) struct DockerItem {
    #[serde(rename = "Config")]
    config: String,
    #[serde(rename = "RepoTags", default)]
    repo_tags: Option<Vec<String>>,
    #[serde(rename = "Layers", default)]
    layers: Vec<String>,
}

pub(super) fn import_docker(
    store: &Store,
    file: &Path,
    scan: &Scan,
    items: &[DockerItem],
) -> Result<Vec<Reference>, StoreError> {
    let missing = |p: &str| StoreError::InvalidArchive {
        path: file.to_path_buf(),
        reason: format!("manifest.json names {p:?}, which is not in the archive"),
    };
    let mut names = Vec::new();
    for item in items {
        let (config_digest, config_size) = scan
            .lookup(&item.config)
            .ok_or_else(|| missing(&item.config))?;
        let config = store.read_config(config_digest)?;
        let diff_ids = config.rootfs().diff_ids();
        if diff_ids.len() != item.layers.len() {
            return Err(StoreError::InvalidArchive {
                path: file.to_path_buf(),
                reason: format!(
                    "config {config_digest} lists {} diff_ids but manifest.json {} layers",
                    diff_ids.len(),
                    item.layers.len()
                ),
            });
        }
        let mut layers = Vec::new();
        for (path, want) in item.layers.iter().zip(diff_ids) {
            let (digest, size) = scan.lookup(path).ok_or_else(|| missing(path))?;
            let (compression, diff_id) = layer_diff_id(store, digest)?;
            let want = parse_digest(want).map_err(|e| StoreError::InvalidArchive {
                path: file.to_path_buf(),
                reason: e.to_string(),
            })?;
            if diff_id != want {
                return Err(StoreError::DigestMismatch {
                    expected: want,
                    actual: diff_id,
                });
            }
            layers.push(Descriptor::new(
                media::oci_layer(compression),
                *size,
                digest.clone(),
            ));
        }
        let manifest = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": media::OCI_MANIFEST,
            "config": Descriptor::new(MediaType::ImageConfig, *config_size, config_digest.clone()),
            "layers": layers,
        });
        let (desc, _) = store.put_json(MediaType::ImageManifest, &manifest)?;
        let tags = item.repo_tags.as_deref().unwrap_or_default();
        if tags.is_empty() {
            tracing::warn!(config = %config_digest, "archive image has no RepoTags; imported unnamed");
        }
        for t in tags {
            let r = Reference::parse(t).map_err(|source| StoreError::InvalidName {
                input: t.clone(),
                path: file.to_path_buf(),
                source,
            })?;
            store.set_name(&r, &desc)?;
            names.push(r);
        }
    }
    Ok(names)
}

/// The compression of a stored layer and its diffID (digest of the uncompressed tar).
/// Uncompressed layers are their own diffID; compressed ones are read back once.
fn layer_diff_id(store: &Store, d: &Digest) -> Result<(Compression, Digest), StoreError> {
    let path: PathBuf = store.blob_path(d);
    let mut f = store.open_blob(d)?;
    let mut magic = [0u8; 4];
    let n = read_up_to(&mut f, &mut magic).map_err(StoreError::io("read", &path))?;
    let c = sniff(&magic[..n]);
    if c == Compression::None {
        return Ok((c, d.clone()));
    }
    io::Seek::rewind(&mut f).map_err(StoreError::io("seek", &path))?;
    let f = BufReader::with_capacity(1 << 20, f);
    let mut h = Hasher::new();
    let res = match c {
        Compression::Gzip => io::copy(&mut flate2::read::MultiGzDecoder::new(f), &mut h),
        _ => zstd::stream::read::Decoder::with_buffer(f).and_then(|mut z| io::copy(&mut z, &mut h)),
    };
    res.map_err(StoreError::io("decompress", &path))?;
    Ok((c, h.finish()))
}
