//! Exports: OCI layout directory, oci-archive, docker-archive.

use std::collections::{BTreeMap, HashMap};
use std::io;
use std::path::Path;

use hoist_oci::spec::{Descriptor, ImageIndex};
use hoist_oci::{ANNOTATION_REF_NAME, Digest, Reference, media};
use serde::Serialize;

use super::ANNOTATION_IMAGE_NAME;
use super::tar_out::TarOut;
use crate::names::{empty_index, name_key, without_ref_name};
use crate::{INDEX_FILE, LAYOUT_VERSION, OCI_LAYOUT_FILE, Store, StoreError, fsutil};

/// What goes into an exported layout: its `index.json` entries and every blob.
struct Plan {
    entries: Vec<Descriptor>,
    /// Blobs sorted by digest (deterministic archive order), without duplicates.
    blobs: Vec<Descriptor>,
}

fn layout_bytes() -> Vec<u8> {
    format!("{{\"imageLayoutVersion\":\"{LAYOUT_VERSION}\"}}").into_bytes()
}

/// The `index.json` entry for an exported image: tag-only `ref.name` plus the full
/// name in `io.containerd.image.name` (see the module docs).
fn export_entry(r: &Reference, desc: &Descriptor) -> Descriptor {
    let mut d = without_ref_name(desc);
    let mut ann = d.annotations().clone().unwrap_or_default();
    if let Some(tag) = r.tag() {
        ann.insert(ANNOTATION_REF_NAME.to_string(), tag.to_string());
        ann.insert(
            ANNOTATION_IMAGE_NAME.to_string(),
            format!("{}:{tag}", r.name()),
        );
    }
    d.set_annotations(if ann.is_empty() { None } else { Some(ann) });
    d
}

fn plan(store: &Store, images: &[(Reference, Descriptor)]) -> Result<Plan, StoreError> {
    let mut tags: HashMap<String, String> = HashMap::new();
    let mut entries: Vec<Descriptor> = Vec::new();
    for (r, desc) in images {
        if let Some(tag) = r.tag() {
            let full = name_key(r)?;
            match tags.get(tag) {
                Some(prev) if *prev == full => continue,
                Some(prev) => {
                    return Err(StoreError::DuplicateTag {
                        tag: tag.to_string(),
                        first: prev.clone(),
                        second: full,
                    });
                }
                None => {
                    tags.insert(tag.to_string(), full);
                }
            }
        }
        entries.push(export_entry(r, desc));
    }
    let roots: Vec<Descriptor> = images.iter().map(|(_, d)| d.clone()).collect();
    let walk = store.walk(&roots)?;
    if let Some(d) = walk.missing.iter().chain(&walk.missing_content).next() {
        return Err(StoreError::BlobNotFound {
            digest: d.clone(),
            root: store.root().to_path_buf(),
        });
    }
    let mut blobs = walk.blobs;
    blobs.sort_by_key(|a| a.digest().to_string());
    Ok(Plan { entries, blobs })
}

fn index_bytes(entries: Vec<Descriptor>) -> Result<Vec<u8>, StoreError> {
    let mut idx = empty_index();
    idx.set_manifests(entries);
    fsutil::canonical_json(&idx).map_err(|source| StoreError::Json {
        what: "index",
        location: INDEX_FILE.into(),
        source,
    })
}

fn blob_entry_path(d: &Digest) -> String {
    format!("blobs/{}/{}", d.algorithm(), d.digest())
}

/// Writes the images and every blob they reach into the OCI layout `dest`
/// (created when missing or empty; an existing layout is extended, replacing
/// entries with the same tag). Blobs are hardlinked from the store when possible,
/// copied otherwise.
pub fn export_oci_dir(
    store: &Store,
    images: &[(Reference, Descriptor)],
    dest: &Path,
) -> Result<(), StoreError> {
    let plan = plan(store, images)?;
    let layout = dest.join(OCI_LAYOUT_FILE);
    let mut entries: Vec<Descriptor> = Vec::new();
    if layout.exists() {
        fsutil::check_layout_file(&layout)?;
        let path = dest.join(INDEX_FILE);
        let bytes = fsutil::read_bounded(&path, "index.json", crate::MAX_JSON_BYTES)?;
        let old: ImageIndex =
            serde_json::from_slice(&bytes).map_err(|source| StoreError::Json {
                what: "index",
                location: path.display().to_string(),
                source,
            })?;
        let new_tags: Vec<&str> = plan
            .entries
            .iter()
            .filter_map(crate::names::ref_name)
            .collect();
        entries.extend(
            old.manifests()
                .iter()
                .filter(|d| crate::names::ref_name(d).is_none_or(|t| !new_tags.contains(&t)))
                .cloned(),
        );
    } else {
        match std::fs::read_dir(dest) {
            Ok(mut it) => {
                if it.next().is_some() {
                    return Err(StoreError::DestinationExists {
                        path: dest.to_path_buf(),
                    });
                }
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(StoreError::io("list", dest)(e)),
        }
    }
    entries.extend(plan.entries);
    let blob_dir = dest.join("blobs/sha256");
    std::fs::create_dir_all(&blob_dir).map_err(StoreError::io("create directory", &blob_dir))?;
    for b in &plan.blobs {
        link_or_copy(
            &store.blob_path(b.digest()),
            &dest.join(blob_entry_path(b.digest())),
            &blob_dir,
        )?;
    }
    fsutil::sync_dir(&blob_dir)?;
    // Blobs first, then the files that reference them.
    if !layout.exists() {
        fsutil::write_atomic(dest, &layout, &layout_bytes())?;
    }
    fsutil::write_atomic(dest, &dest.join(INDEX_FILE), &index_bytes(entries)?)?;
    tracing::info!(dest = %dest.display(), blobs = plan.blobs.len(), "exported OCI layout");
    Ok(())
}

fn link_or_copy(src: &Path, dst: &Path, tmp_dir: &Path) -> Result<(), StoreError> {
    if dst.exists() {
        return Ok(());
    }
    match std::fs::hard_link(src, dst) {
        Ok(()) => return Ok(()),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => return Ok(()),
        Err(e) => tracing::debug!(error = %e, src = %src.display(), "hardlink failed, copying"),
    }
    let mut tmp = tempfile::Builder::new()
        .prefix(".copy-")
        .tempfile_in(tmp_dir)
        .map_err(StoreError::io("create temp file in", tmp_dir))?;
    let mut f = std::fs::File::open(src).map_err(StoreError::io("open", src))?;
    io::copy(&mut f, &mut tmp).map_err(StoreError::io("copy", src))?;
    tmp.as_file()
        .sync_all()
        .map_err(StoreError::io("fsync", tmp.path()))?;
    fsutil::set_readable(tmp.as_file(), dst)?;
    tmp.persist(dst).map_err(|e| StoreError::Io {
        op: "rename into",
        path: dst.to_path_buf(),
        source: e.error,
    })?;
    Ok(())
}

/// Appends the OCI layout part (directories, blobs, `index.json`, `oci-layout`) in
/// lexical path order, plus `extra` files (sorted by the caller) after `index.json`.
fn write_layout_tar(
    store: &Store,
    out: &mut TarOut,
    plan: Plan,
    extra: &[(&str, Vec<u8>)],
) -> Result<(), StoreError> {
    out.dir("blobs/")?;
    out.dir("blobs/sha256/")?;
    for b in &plan.blobs {
        let f = store.open_blob(b.digest())?;
        out.file(&blob_entry_path(b.digest()), f, b.size())?;
    }
    let mut files: Vec<(&str, Vec<u8>)> = vec![
        (INDEX_FILE, index_bytes(plan.entries)?),
        (OCI_LAYOUT_FILE, layout_bytes()),
    ];
    files.extend(extra.iter().map(|(p, b)| (*p, b.clone())));
    files.sort_by(|a, b| a.0.cmp(b.0));
    for (path, bytes) in files {
        out.bytes(path, &bytes)?;
    }
    Ok(())
}

/// Writes the images as an oci-archive tar at `file` (via a temp file next to it).
/// Entries are in lexical order with zero mtimes and owners, so the same images give
/// the same bytes. Blobs are streamed from the store.
pub fn export_oci_archive(
    store: &Store,
    images: &[(Reference, Descriptor)],
    file: &Path,
) -> Result<(), StoreError> {
    let plan = plan(store, images)?;
    let mut out = TarOut::create(file)?;
    write_layout_tar(store, &mut out, plan, &[])?;
    out.finish()?;
    tracing::info!(file = %file.display(), "exported oci-archive");
    Ok(())
}

/// One entry of docker's `manifest.json`.
#[derive(Serialize)]
struct DockerManifestItem {
    #[serde(rename = "Config")]
    config: String,
    #[serde(rename = "RepoTags")]
    repo_tags: Option<Vec<String>>,
    #[serde(rename = "Layers")]
    layers: Vec<String>,
}

/// Writes a docker-archive `docker load` reads (the Docker 25+ `docker save` format):
/// the OCI layout of [`export_oci_archive`] plus `manifest.json`
/// (`Config`/`RepoTags`/`Layers` as `blobs/sha256/<hex>` paths, tags in the familiar
/// short form) and `repositories` (`{"demo":{"1":"<top layer diffID hex>"}}`, as
/// moby writes it). Layers keep their stored compression; `docker load`
/// decompresses them. Every image must be a single-platform manifest.
pub fn export_docker_archive(
    store: &Store,
    images: &[(Reference, Descriptor)],
    file: &Path,
) -> Result<(), StoreError> {
    let mut items: Vec<(Digest, DockerManifestItem)> = Vec::new();
    let mut repositories: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for (r, desc) in images {
        if !media::is_manifest(desc.media_type()) {
            return Err(StoreError::NeedsManifest {
                reference: r.to_string(),
                digest: desc.digest().clone(),
            });
        }
        let m = store.read_manifest(desc.digest())?;
        let config = store.read_config(m.config().digest())?;
        let idx = match items.iter().position(|(d, _)| d == desc.digest()) {
            Some(i) => i,
            None => {
                items.push((
                    desc.digest().clone(),
                    DockerManifestItem {
                        config: blob_entry_path(m.config().digest()),
                        repo_tags: None,
                        layers: m
                            .layers()
                            .iter()
                            .map(|l| blob_entry_path(l.digest()))
                            .collect(),
                    },
                ));
                items.len() - 1
            }
        };
        if let Some(tag) = r.tag() {
            // `familiar()` without the digest a pinned reference may carry.
            let familiar = r
                .with_tag(tag)
                .map_err(|source| StoreError::InvalidName {
                    input: r.to_string(),
                    path: file.to_path_buf(),
                    source,
                })?
                .familiar();
            let tags = items[idx].1.repo_tags.get_or_insert_with(Vec::new);
            if !tags.contains(&familiar) {
                tags.push(familiar.clone());
            }
            if let Some(top) = config.rootfs().diff_ids().last() {
                let repo = familiar
                    .rsplit_once(':')
                    .map_or(familiar.as_str(), |(n, _)| n)
                    .to_string();
                let hex = top.rsplit_once(':').map_or(top.as_str(), |(_, h)| h);
                repositories
                    .entry(repo)
                    .or_default()
                    .insert(tag.to_string(), hex.to_string());
            }
        }
    }
    let plan = plan(store, images)?;
    let items: Vec<DockerManifestItem> = items.into_iter().map(|(_, i)| i).collect();
    let mut extra = vec![("manifest.json", docker_json("manifest.json", &items, file)?)];
    if !repositories.is_empty() {
        extra.push((
            "repositories",
            docker_json("repositories", &repositories, file)?,
        ));
    }
    let mut out = TarOut::create(file)?;
    write_layout_tar(store, &mut out, plan, &extra)?;
    out.finish()?;
    tracing::info!(file = %file.display(), "exported docker-archive");
    Ok(())
}

/// Compact JSON plus the newline Go's `json.Encoder` adds, as `docker save` writes.
fn docker_json<T: Serialize>(
    what: &'static str,
    v: &T,
    file: &Path,
) -> Result<Vec<u8>, StoreError> {
    let mut b = serde_json::to_vec(v).map_err(|source| StoreError::Json {
        what,
        location: file.display().to_string(),
        source,
    })?;
    b.push(b'\n');
    Ok(b)
}
