//! Image copies from any [`ImageSource`] to a registry or into a store.

use std::collections::HashSet;
use std::sync::Arc;

use bytes::Bytes;
use hoist_oci::spec::{Descriptor, ImageIndex, ImageManifest};
use hoist_oci::{Digest, Platform, Reference, media};
use hoist_registry::{BlobPush, Client};
use hoist_store::Store;
use tokio::task::JoinSet;

use crate::pull::put_exact;
use crate::sink::{SyncSink, commit_blob};
use crate::source::{Document, ImageSource};
use crate::{TransferError, join_all, parse_json};

/// How a copy behaves. Every field documents its default.
#[derive(Debug, Clone, Default)]
pub struct CopyOptions {
    /// Copy only this platform's manifest out of a multi-platform index (the copy's
    /// digest is then the child's, not the index's). Default: `None`, an index is
    /// copied whole: every child manifest with its blobs, then the index, digests
    /// unchanged.
    pub platform: Option<Platform>,
}

/// What a copy did.
#[derive(Debug, Clone)]
pub struct Copied {
    /// The source's top-level manifest or index.
    pub source: Descriptor,
    /// What was written at the destination: the source itself, or with
    /// [`CopyOptions::platform`] the chosen child of an index.
    pub descriptor: Descriptor,
    /// Image manifests copied.
    pub manifests: usize,
    /// Blobs whose bytes were moved.
    pub copied: usize,
    /// Bytes of the blobs moved.
    pub bytes: u64,
    /// Blobs mounted from the source repository (same registry; no bytes moved).
    pub mounted: usize,
    /// Blobs the destination already had.
    pub existed: usize,
}

/// The documents and blobs a copy moves.
struct Plan {
    source: Descriptor,
    /// The document written under the destination's name.
    top: Document,
    /// Child manifests of an index copied whole (written by digest before `top`).
    children: Vec<(Descriptor, Bytes)>,
    /// Distinct config and layer blobs.
    blobs: Vec<Descriptor>,
}

async fn plan(src: &Arc<dyn ImageSource>, opts: &CopyOptions) -> Result<Plan, TransferError> {
    let top = src.top().await?;
    let source = top.descriptor();
    let not_image = |d: &Descriptor| TransferError::NotAnImage {
        digest: d.digest().clone(),
        media_type: d.media_type().to_string(),
    };
    let (top, children) = if media::is_index(&top.media_type) {
        let idx: ImageIndex = parse_json(&top.bytes, "index", &top.digest)?;
        match &opts.platform {
            Some(p) => {
                let chosen = crate::pull::pick_children(&idx, &src.describe(), p, false)?;
                let child = &chosen[0];
                if !media::is_manifest(child.media_type()) {
                    return Err(not_image(child));
                }
                let bytes = src.manifest(child).await?;
                let doc = Document {
                    bytes,
                    media_type: child.media_type().clone(),
                    digest: child.digest().clone(),
                };
                (doc, Vec::new())
            }
            None => {
                let mut tasks = JoinSet::new();
                for (i, child) in idx.manifests().iter().enumerate() {
                    if !media::is_manifest(child.media_type()) {
                        return Err(not_image(child));
                    }
                    let (src, child) = (src.clone(), child.clone());
                    tasks.spawn(async move {
                        let bytes = src.manifest(&child).await?;
                        Ok((i, child, bytes))
                    });
                }
                let mut children = join_all(tasks).await?;
                children.sort_by_key(|(i, _, _)| *i);
                let children = children.into_iter().map(|(_, d, b)| (d, b)).collect();
                (top, children)
            }
        }
    } else if media::is_manifest(&top.media_type) {
        (top, Vec::new())
    } else {
        return Err(not_image(&source));
    };
    let mut seen = HashSet::new();
    let mut blobs = Vec::new();
    let images: Vec<(Digest, &Bytes)> = if children.is_empty() {
        vec![(top.digest.clone(), &top.bytes)]
    } else {
        children
            .iter()
            .map(|(d, b)| (d.digest().clone(), b))
            .collect()
    };
    for (digest, bytes) in images {
        let m: ImageManifest = parse_json(bytes, "manifest", &digest)?;
        for b in std::iter::once(m.config()).chain(m.layers().iter()) {
            if crate::pull::is_foreign(b.media_type()) {
                tracing::debug!(digest = %b.digest(), "skipping non-distributable layer");
                continue;
            }
            if seen.insert(b.digest().clone()) {
                blobs.push(b.clone());
            }
        }
    }
    Ok(Plan {
        source,
        top,
        children,
        blobs,
    })
}

/// What happened to one blob.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Copied(u64),
    Mounted,
    Existed,
}

fn summarize(plan: &Plan, outcomes: &[Outcome]) -> Copied {
    let mut c = Copied {
        source: plan.source.clone(),
        descriptor: plan.top.descriptor(),
        manifests: plan.children.len().max(1),
        copied: 0,
        bytes: 0,
        mounted: 0,
        existed: 0,
    };
    for o in outcomes {
        match o {
            Outcome::Copied(n) => {
                c.copied += 1;
                c.bytes += n;
            }
            Outcome::Mounted => c.mounted += 1,
            Outcome::Existed => c.existed += 1,
        }
    }
    c
}

/// Copies the image `src` reads to `dest` (a tag; a digest, which must match what is
/// written; or neither, to write by digest) with `client`.
///
/// Blobs go concurrently within the client's per-registry upload limit (a registry
/// source has its own client and download limit). A blob in a repository of the same
/// registry is mounted (no bytes move); otherwise a `HEAD` skips blobs the destination
/// has and the rest are streamed from the source, a registry blob straight from one
/// connection to the other without touching the disk. Manifests are written byte for
/// byte after their blobs, children of an index (by digest) before the index, so
/// digests never change. Blob events go to `client`'s progress.
pub async fn copy_to_registry(
    src: Arc<dyn ImageSource>,
    client: &Client,
    dest: &Reference,
    opts: &CopyOptions,
) -> Result<Copied, TransferError> {
    let plan = plan(&src, opts).await?;
    // A destination without tag or digest is written by digest.
    let dest = &if dest.tag().is_none() && dest.digest().is_none() {
        dest.with_digest(plan.top.digest.clone())
    } else {
        dest.clone()
    };
    let mut tasks = JoinSet::new();
    for b in &plan.blobs {
        tasks.spawn(copy_blob(
            src.clone(),
            client.clone(),
            dest.clone(),
            b.clone(),
        ));
    }
    let outcomes = join_all(tasks).await?;
    let mut puts = JoinSet::new();
    for (desc, bytes) in &plan.children {
        let (client, r) = (client.clone(), dest.with_digest(desc.digest().clone()));
        let (mt, bytes) = (desc.media_type().clone(), bytes.clone());
        puts.spawn(async move { Ok(client.put_manifest(&r, &mt, bytes).await?) });
    }
    join_all(puts).await?;
    client
        .put_manifest(dest, &plan.top.media_type, plan.top.bytes.clone())
        .await?;
    let copied = summarize(&plan, &outcomes);
    tracing::info!(src = %src.describe(), dest = %dest, digest = %copied.descriptor.digest(),
        copied = copied.copied, mounted = copied.mounted, existed = copied.existed, "copied");
    Ok(copied)
}

async fn copy_blob(
    src: Arc<dyn ImageSource>,
    client: Client,
    dest: Reference,
    blob: Descriptor,
) -> Result<Outcome, TransferError> {
    let digest = blob.digest();
    if let Some(from) = src.repository()
        && from.domain() == dest.domain()
    {
        if from.repository() == dest.repository() {
            // Same repository: the blob is already there.
            return Ok(Outcome::Existed);
        }
        match client.mount_blob(&dest, digest, from).await {
            Ok(true) => return Ok(Outcome::Mounted),
            Ok(false) => {}
            // A mount is an optimisation: when the registry refuses it (no pull access
            // to the source repository), the streamed copy below still does the job.
            Err(e) => tracing::debug!(%digest, error = %e, "mount failed; copying bytes"),
        }
    }
    let d = blob.clone();
    let res = client
        .push_blob(&dest, digest, blob.size(), move || src.open_blob(&d))
        .await?;
    Ok(match res {
        BlobPush::Exists => Outcome::Existed,
        _ => Outcome::Copied(blob.size()),
    })
}

/// Copies the image `src` reads into `store`, naming it `name` when given.
///
/// Blobs the store has are skipped; the rest stream into the store concurrently, each
/// verified against its digest. An index copied whole keeps its digest.
pub async fn copy_to_store(
    src: Arc<dyn ImageSource>,
    store: &Store,
    name: Option<&Reference>,
    opts: &CopyOptions,
) -> Result<Copied, TransferError> {
    let _lease = store.lock_shared()?;
    let plan = plan(&src, opts).await?;
    let mut tasks = JoinSet::new();
    let mut outcomes = Vec::new();
    for b in &plan.blobs {
        if store.has_blob(b.digest()) {
            outcomes.push(Outcome::Existed);
        } else {
            tasks.spawn(store_blob(src.clone(), store.clone(), b.clone()));
        }
    }
    outcomes.extend(join_all(tasks).await?);
    for (desc, bytes) in &plan.children {
        put_exact(store, desc.digest(), bytes)?;
    }
    put_exact(store, &plan.top.digest, &plan.top.bytes)?;
    if let Some(n) = name {
        store.set_name(n, &plan.top.descriptor())?;
    }
    Ok(summarize(&plan, &outcomes))
}

async fn store_blob(
    src: Arc<dyn ImageSource>,
    store: Store,
    blob: Descriptor,
) -> Result<Outcome, TransferError> {
    let io_err = |source: std::io::Error| TransferError::BlobIo {
        source_name: src.describe(),
        digest: blob.digest().clone(),
        source,
    };
    let mut reader = src.open_blob(&blob).await.map_err(io_err)?;
    let mut w = store.blob_writer()?;
    let n = tokio::io::copy(&mut reader, &mut SyncSink(&mut w))
        .await
        .map_err(io_err)?;
    commit_blob(w, &blob, n, || src.describe()).await?;
    Ok(Outcome::Copied(n))
}
