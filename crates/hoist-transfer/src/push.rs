//! Store → registry.

use std::collections::HashSet;

use hoist_oci::spec::{Descriptor, ImageManifest};
use hoist_oci::{Digest, MediaType, Reference, media};
use hoist_registry::{BlobPush, Client};
use hoist_store::{MAX_JSON_BYTES, Store};
use tokio::task::JoinSet;

use crate::sources::BlobSources;
use crate::{TransferError, join_all, parse_json};

/// What [`push`] did.
#[derive(Debug, Clone)]
pub struct Pushed {
    /// Digest of the top-level manifest or index, as the registry now serves it.
    pub digest: Digest,
    /// Its media type.
    pub media_type: MediaType,
    /// Its size in bytes.
    pub size: u64,
    /// Blobs uploaded.
    pub uploaded: usize,
    /// Blobs mounted from another repository of the same registry.
    pub mounted: usize,
    /// Blobs the repository already had.
    pub existed: usize,
}

impl Pushed {
    /// A descriptor of what was pushed.
    pub fn descriptor(&self) -> Descriptor {
        Descriptor::new(self.media_type.clone(), self.size, self.digest.clone())
    }
}

/// What happened to one blob.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BlobOutcome {
    Uploaded,
    Mounted,
    Existed,
}

/// Pushes the image `src` names in `store` to `dest` (tag, or digest which must match).
///
/// An index is pushed with its children first (each by digest); every child must be in
/// the store ([`TransferError::MissingBlob`] names the first that is not, e.g. a
/// platform that was never pulled). Blobs go concurrently within the client's
/// per-registry upload limit: a blob another repository of the same registry is known
/// to hold ([`BlobSources`]) is mounted; otherwise a `HEAD` skips blobs the repository
/// has, and the rest are streamed from their store files (re-opened when an upload
/// restarts). Manifests are uploaded byte for byte as stored, so digests never change;
/// each after all of its blobs. Blob events go to the client's progress.
pub async fn push(
    client: &Client,
    store: &Store,
    src: &Reference,
    dest: &Reference,
) -> Result<Pushed, TransferError> {
    let _lease = store.lock_shared()?;
    let top = store
        .resolve(src)?
        .ok_or_else(|| TransferError::NotInStore {
            reference: src.to_string(),
        })?;
    let missing = |d: &Digest| TransferError::MissingBlob {
        reference: src.to_string(),
        digest: d.clone(),
    };
    let mut manifests: Vec<Descriptor> = Vec::new();
    if media::is_index(top.media_type()) {
        let idx = store.read_index(top.digest())?;
        for child in idx.manifests() {
            if !media::is_manifest(child.media_type()) {
                return Err(TransferError::NotAnImage {
                    digest: child.digest().clone(),
                    media_type: child.media_type().to_string(),
                });
            }
            if !store.has_blob(child.digest()) {
                return Err(missing(child.digest()));
            }
            manifests.push(child.clone());
        }
    } else if media::is_manifest(top.media_type()) {
        manifests.push(top.clone());
    } else {
        return Err(TransferError::NotAnImage {
            digest: top.digest().clone(),
            media_type: top.media_type().to_string(),
        });
    }

    let sources = BlobSources::new(store);
    let mut seen = HashSet::new();
    let mut blobs = Vec::new();
    for m in &manifests {
        let bytes = store.read_blob(m.digest(), MAX_JSON_BYTES)?;
        let parsed: ImageManifest = parse_json(&bytes, "manifest", m.digest())?;
        for b in std::iter::once(parsed.config()).chain(parsed.layers().iter()) {
            if !seen.insert(b.digest().clone()) {
                continue;
            }
            if !store.has_blob(b.digest()) {
                return Err(missing(b.digest()));
            }
            blobs.push(b.clone());
        }
    }
    let mut tasks = JoinSet::new();
    for b in &blobs {
        let from = sources.mount_source(b.digest(), dest)?;
        tasks.spawn(push_one(
            client.clone(),
            store.clone(),
            dest.clone(),
            b.clone(),
            from,
        ));
    }
    let outcomes = join_all(tasks).await?;
    for b in &blobs {
        sources.record(b.digest(), dest)?;
    }
    if media::is_index(top.media_type()) {
        for m in &manifests {
            put_stored(client, store, &dest.with_digest(m.digest().clone()), m).await?;
        }
    }
    let digest = put_stored(client, store, dest, &top).await?;
    let count = |o| outcomes.iter().filter(|x| **x == o).count();
    let pushed = Pushed {
        digest,
        media_type: top.media_type().clone(),
        size: top.size(),
        uploaded: count(BlobOutcome::Uploaded),
        mounted: count(BlobOutcome::Mounted),
        existed: count(BlobOutcome::Existed),
    };
    tracing::info!(src = %src, dest = %dest, digest = %pushed.digest,
        uploaded = pushed.uploaded, mounted = pushed.mounted, existed = pushed.existed, "pushed");
    Ok(pushed)
}

/// PUTs a stored manifest or index, byte for byte, under `r`'s digest or tag.
async fn put_stored(
    client: &Client,
    store: &Store,
    r: &Reference,
    desc: &Descriptor,
) -> Result<Digest, TransferError> {
    let bytes = store.read_blob(desc.digest(), MAX_JSON_BYTES)?;
    let d = client
        .put_manifest(r, desc.media_type(), bytes::Bytes::from(bytes))
        .await?;
    Ok(d)
}

async fn push_one(
    client: Client,
    store: Store,
    dest: Reference,
    blob: Descriptor,
    mount_from: Option<Reference>,
) -> Result<BlobOutcome, TransferError> {
    let digest = blob.digest();
    if let Some(from) = &mount_from {
        match client.mount_blob(&dest, digest, from).await {
            Ok(true) => return Ok(BlobOutcome::Mounted),
            Ok(false) => {}
            // The mount is an optimisation: when the registry refuses it (e.g. no pull
            // access to the source repository), the upload below still does the job.
            Err(e) => {
                tracing::debug!(%digest, from = %from.name(), error = %e, "mount failed; uploading")
            }
        }
    }
    let path = store.blob_path(digest);
    let res = client
        .push_blob(&dest, digest, blob.size(), move || {
            let path = path.clone();
            async move { tokio::fs::File::open(path).await }
        })
        .await?;
    Ok(match res {
        BlobPush::Exists => BlobOutcome::Existed,
        _ => BlobOutcome::Uploaded,
    })
}
