//! Registry → store.

use std::collections::HashSet;

use hoist_oci::spec::{Descriptor, ImageIndex, ImageManifest};
use hoist_oci::{Digest, MediaType, Platform, Reference, media};
use hoist_registry::{BlobAction, Client, Progress};
use hoist_store::Store;
use tokio::task::JoinSet;

use crate::sink::{SyncSink, commit_blob};
use crate::sources::BlobSources;
use crate::{TransferError, join_all, parse_json};

/// How [`pull`] behaves. Every field documents its default.
#[derive(Debug, Clone, Default)]
pub struct PullOptions {
    /// Name given to the image in the store. Default: `None`, the pulled reference
    /// itself (its tag; a reference with only a digest is stored without a name and can
    /// be used by digest until the next prune).
    pub name: Option<Reference>,
    /// Download every platform of an index instead of only the requested one.
    /// Default: `false`.
    pub all_platforms: bool,
}

/// What [`pull`] stored.
#[derive(Debug, Clone)]
pub struct Pulled {
    /// The name given in the store, when one was.
    pub name: Option<Reference>,
    /// What the name points at, exactly as the registry serves it: the index for a
    /// multi-platform image (so its digest matches the registry's), else the manifest.
    pub descriptor: Descriptor,
    /// The image manifest for the requested platform.
    pub image: Descriptor,
    /// Blobs downloaded.
    pub blobs_downloaded: usize,
    /// Blobs skipped because the store already had them.
    pub blobs_present: usize,
    /// Bytes downloaded (blobs only).
    pub bytes_downloaded: u64,
}

/// Pulls `r` into `store` and names it.
///
/// An index is stored as served (its digest stays the registry's), together with the
/// manifest for `platform` (or every child with [`PullOptions::all_platforms`]); the
/// store treats the other children as absent, which it allows. Config and layers are
/// downloaded concurrently (the client's per-registry limit applies), streamed into the
/// store with their digests and sizes verified; blobs already present are skipped.
/// Each blob's repository is recorded in [`BlobSources`] so that a later push to the
/// same registry mounts it instead of uploading. Manifests are written after their
/// blobs and the name last, so a reader never sees a name whose content is missing.
///
/// `progress` hears about blobs skipped because they are present
/// ([`BlobAction::Exists`]); downloads report through the client's own progress.
pub async fn pull(
    client: &Client,
    store: &Store,
    r: &Reference,
    platform: &Platform,
    opts: &PullOptions,
    progress: &dyn Progress,
) -> Result<Pulled, TransferError> {
    let _lease = store.lock_shared()?;
    let top = client.get_manifest(r, &[]).await?;
    let top_desc = Descriptor::new(
        top.media_type.clone(),
        top.bytes.len() as u64,
        top.digest.clone(),
    );
    // (descriptor, bytes) of each image manifest to store, and of the index, if any.
    let mut images: Vec<(Descriptor, bytes::Bytes)> = Vec::new();
    let mut index_bytes = None;
    let chosen;
    if media::is_index(&top.media_type) {
        let idx: ImageIndex = parse_json(&top.bytes, "index", &top.digest)?;
        let children = pick_children(&idx, r, platform, opts.all_platforms)?;
        chosen = children[0].clone();
        for child in children {
            if !media::is_manifest(child.media_type()) {
                return Err(TransferError::NotAnImage {
                    digest: child.digest().clone(),
                    media_type: child.media_type().to_string(),
                });
            }
            let m = client
                .get_manifest(&r.with_digest(child.digest().clone()), &[])
                .await?;
            images.push((child, m.bytes));
        }
        index_bytes = Some(top.bytes.clone());
    } else if media::is_manifest(&top.media_type) {
        chosen = top_desc.clone();
        images.push((top_desc.clone(), top.bytes.clone()));
    } else {
        return Err(TransferError::NotAnImage {
            digest: top.digest.clone(),
            media_type: top.media_type.to_string(),
        });
    }

    let sources = BlobSources::new(store);
    let mut seen = HashSet::new();
    let mut wanted = Vec::new();
    let mut present = 0;
    for (desc, bytes) in &images {
        let m: ImageManifest = parse_json(bytes, "manifest", desc.digest())?;
        for blob in std::iter::once(m.config()).chain(m.layers().iter()) {
            if !seen.insert(blob.digest().clone()) {
                continue;
            }
            if is_foreign(blob.media_type()) {
                tracing::debug!(digest = %blob.digest(), "skipping non-distributable layer");
                continue;
            }
            if store.has_blob(blob.digest()) {
                progress.blob_started(blob.digest(), Some(blob.size()), BlobAction::Exists);
                progress.blob_done(blob.digest());
                present += 1;
                sources.record(blob.digest(), r)?;
            } else {
                wanted.push(blob.clone());
            }
        }
    }
    let mut tasks = JoinSet::new();
    for blob in wanted {
        tasks.spawn(download(
            client.clone(),
            store.clone(),
            r.clone(),
            blob,
            sources.clone(),
        ));
    }
    let sizes = join_all(tasks).await?;
    for (desc, bytes) in &images {
        put_exact(store, desc.digest(), bytes)?;
    }
    if let Some(b) = &index_bytes {
        put_exact(store, top_desc.digest(), b)?;
    }
    let name = match &opts.name {
        Some(n) => Some(n.clone()),
        None if r.tag().is_some() => Some(r.clone()),
        None => None,
    };
    if let Some(n) = &name {
        store.set_name(n, &top_desc)?;
    }
    tracing::info!(reference = %r, digest = %top_desc.digest(), downloaded = sizes.len(), present, "pulled");
    Ok(Pulled {
        name,
        descriptor: top_desc,
        image: chosen,
        blobs_downloaded: sizes.len(),
        blobs_present: present,
        bytes_downloaded: sizes.iter().sum(),
    })
}

pub(crate) fn pick_children(
    idx: &ImageIndex,
    r: &dyn std::fmt::Display,
    platform: &Platform,
    all: bool,
) -> Result<Vec<Descriptor>, TransferError> {
    let matches = |d: &&Descriptor| {
        d.platform().as_ref().is_some_and(|p| {
            platform.matches(
                &p.os().to_string(),
                &p.architecture().to_string(),
                p.variant().as_deref(),
            )
        })
    };
    let first = idx.manifests().iter().find(matches).cloned();
    let Some(first) = first else {
        let available: Vec<String> = idx
            .manifests()
            .iter()
            .filter_map(|d| d.platform().as_ref())
            .map(|p| match p.variant() {
                Some(v) => format!("{}/{}/{v}", p.os(), p.architecture()),
                None => format!("{}/{}", p.os(), p.architecture()),
            })
            .collect();
        return Err(TransferError::NoMatchingPlatform {
            reference: r.to_string(),
            platform: platform.to_string(),
            available: if available.is_empty() {
                "none".into()
            } else {
                available.join(", ")
            },
        });
    };
    let mut out = vec![first.clone()];
    if all {
        out.extend(
            idx.manifests()
                .iter()
                .filter(|d| d.digest() != first.digest() && media::is_manifest(d.media_type()))
                .cloned(),
        );
    }
    Ok(out)
}

/// Layers registries do not serve (Windows foreign layers, non-distributable OCI layers).
pub(crate) fn is_foreign(mt: &MediaType) -> bool {
    let s = mt.to_string();
    s == media::DOCKER_FOREIGN_LAYER || s.contains("nondistributable")
}

/// Stores `bytes` and checks they hash to `expected` (they were verified on receipt;
/// this guards the store against a mix-up of documents).
pub(crate) fn put_exact(
    store: &Store,
    expected: &Digest,
    bytes: &[u8],
) -> Result<(), TransferError> {
    let (d, _) = store.put_blob(bytes)?;
    if &d != expected {
        return Err(hoist_store::StoreError::DigestMismatch {
            expected: expected.clone(),
            actual: d,
        }
        .into());
    }
    Ok(())
}

async fn download(
    client: Client,
    store: Store,
    repo: Reference,
    blob: Descriptor,
    sources: BlobSources,
) -> Result<u64, TransferError> {
    // `get_blob` hashes exactly the bytes it writes and fails on a mismatch, so the
    // store need not hash them a second time (halves the CPU of a pull without SHA-NI).
    let mut w = store.blob_writer_hashed_by_producer()?;
    let n = client
        .get_blob(&repo, blob.digest(), &mut SyncSink(&mut w))
        .await?;
    commit_blob(w, &blob, n, || repo.to_string()).await?;
    sources.record(blob.digest(), &repo)?;
    Ok(n)
}
