//! Reachability walk (index → manifests → config + layers, nested indexes) and prune.

use std::collections::HashSet;
use std::path::Path;
use std::time::{Duration, SystemTime};

use hoist_oci::spec::{Descriptor, ImageIndex, ImageManifest};
use hoist_oci::{Digest, media};

use crate::{MAX_JSON_BYTES, Store, StoreError};

/// How [`Store::prune_with`] treats leftovers of interrupted work.
#[derive(Debug, Clone)]
pub struct PruneOptions {
    /// Temp files in `ROOT/tmp/` and directories in `ROOT/work/` older than this are
    /// removed. Default: one hour (writers that hold a lease are excluded by the lock
    /// anyway; the age only protects writers that do not).
    pub stale_after: Duration,
}

impl Default for PruneOptions {
    fn default() -> Self {
        PruneOptions {
            stale_after: Duration::from_secs(3600),
        }
    }
}

/// What [`Store::prune`] removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PruneStats {
    /// Unreachable blobs deleted.
    pub blobs_removed: u64,
    /// Bytes those blobs used.
    pub bytes_freed: u64,
    /// Stale temp files and work directories deleted.
    pub stale_removed: u64,
    /// Unpacked layers deleted (their blob is gone, or an unpacking was interrupted).
    pub unpacked_removed: u64,
}

/// Every blob reachable from some roots, in walk order (manifest, then its config and
/// layers), without duplicates.
#[derive(Debug, Default)]
pub(crate) struct Walk {
    pub blobs: Vec<Descriptor>,
    /// Absent manifests or indexes (roots or index children).
    pub missing: Vec<Digest>,
    /// Absent configs or layers of present manifests.
    pub missing_content: Vec<Digest>,
}

const MAX_DEPTH: usize = 8;

impl Store {
    /// Walks from `roots` through indexes and manifests. Absent blobs are listed in
    /// `missing` (a partially pulled multi-platform index is normal in a store).
    pub(crate) fn walk(&self, roots: &[Descriptor]) -> Result<Walk, StoreError> {
        let mut walk = Walk::default();
        let mut seen = HashSet::new();
        for d in roots {
            self.walk_one(d, 0, &mut seen, &mut walk)?;
        }
        Ok(walk)
    }

    fn walk_one(
        &self,
        d: &Descriptor,
        depth: usize,
        seen: &mut HashSet<Digest>,
        walk: &mut Walk,
    ) -> Result<(), StoreError> {
        if !seen.insert(d.digest().clone()) {
            return Ok(());
        }
        if !self.has_blob(d.digest()) {
            walk.missing.push(d.digest().clone());
            return Ok(());
        }
        walk.blobs.push(d.clone());
        let mt = d.media_type();
        if depth >= MAX_DEPTH {
            return Ok(());
        }
        if media::is_index(mt) {
            let bytes = self.read_blob(d.digest(), MAX_JSON_BYTES)?;
            let idx: ImageIndex = parse(&bytes, "index", d.digest())?;
            for child in idx.manifests() {
                self.walk_one(child, depth + 1, seen, walk)?;
            }
        } else if media::is_manifest(mt) {
            let bytes = self.read_blob(d.digest(), MAX_JSON_BYTES)?;
            let m: ImageManifest = parse(&bytes, "manifest", d.digest())?;
            for child in std::iter::once(m.config()).chain(m.layers()) {
                if seen.insert(child.digest().clone()) {
                    if self.has_blob(child.digest()) {
                        walk.blobs.push(child.clone());
                    } else {
                        walk.missing_content.push(child.digest().clone());
                    }
                }
            }
        }
        Ok(())
    }

    /// [`Store::prune_with`] with default options.
    pub fn prune(&self) -> Result<PruneStats, StoreError> {
        self.prune_with(&PruneOptions::default())
    }

    /// Removes blobs unreachable from `index.json` and stale temp files / work dirs.
    /// Waits for all [`crate::StoreLease`]s to end, and blocks name updates while it
    /// runs. Fails with [`StoreError::LeaseHeld`] if this handle holds a lease.
    pub fn prune_with(&self, opts: &PruneOptions) -> Result<PruneStats, StoreError> {
        if self.leases_held() > 0 {
            return Err(StoreError::LeaseHeld {
                root: self.root().to_path_buf(),
            });
        }
        let _gc = self.lock_gc()?;
        let _index = self.lock_index()?;
        let idx = self.load_index()?;
        let walk = self.walk(idx.manifests())?;
        let keep: HashSet<&str> = walk.blobs.iter().map(|d| d.digest().digest()).collect();
        let mut stats = PruneStats::default();
        let dir = self.root().join("blobs/sha256");
        for entry in std::fs::read_dir(&dir).map_err(StoreError::io("list", &dir))? {
            let entry = entry.map_err(StoreError::io("list", &dir))?;
            let name = entry.file_name();
            if name.to_str().is_some_and(|n| keep.contains(n)) {
                continue;
            }
            let path = entry.path();
            let len = entry
                .metadata()
                .map_err(StoreError::io("stat", &path))?
                .len();
            std::fs::remove_file(&path).map_err(StoreError::io("remove", &path))?;
            tracing::debug!(blob = %path.display(), "pruned");
            stats.blobs_removed += 1;
            stats.bytes_freed += len;
        }
        stats.stale_removed += remove_stale(&self.tmp_dir(), opts.stale_after)?;
        stats.stale_removed += remove_stale(&self.root().join("work"), opts.stale_after)?;
        stats.unpacked_removed += self.prune_unpacked(&keep, opts.stale_after)?;
        tracing::info!(
            blobs = stats.blobs_removed,
            bytes = stats.bytes_freed,
            stale = stats.stale_removed,
            "prune done"
        );
        Ok(stats)
    }
}

fn parse<T: serde::de::DeserializeOwned>(
    bytes: &[u8],
    what: &'static str,
    d: &Digest,
) -> Result<T, StoreError> {
    serde_json::from_slice(bytes).map_err(|source| StoreError::Json {
        what,
        location: d.to_string(),
        source,
    })
}

/// Removes entries of `dir` last modified more than `age` ago; returns how many.
fn remove_stale(dir: &Path, age: Duration) -> Result<u64, StoreError> {
    let now = SystemTime::now();
    let mut n = 0;
    for entry in std::fs::read_dir(dir).map_err(StoreError::io("list", dir))? {
        let entry = entry.map_err(StoreError::io("list", dir))?;
        let path = entry.path();
        let meta = entry.metadata().map_err(StoreError::io("stat", &path))?;
        let modified = meta.modified().map_err(StoreError::io("stat", &path))?;
        // A clock step backwards makes the entry look fresh: keep it.
        let old = now.duration_since(modified).is_ok_and(|a| a >= age);
        if !old {
            continue;
        }
        let res = if meta.is_dir() {
            std::fs::remove_dir_all(&path)
        } else {
            std::fs::remove_file(&path)
        };
        res.map_err(StoreError::io("remove", &path))?;
        n += 1;
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{blob_count, make_image, r, temp_count};
    use std::io::Write;

    #[test]
    fn prune_keeps_shared_and_named_blobs() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(dir.path()).unwrap();
        let a = make_image(&s, &[("a", b"aaa")]);
        let b = make_image(&s, &[("b", b"bbb")]);
        s.set_name(&r("demo:a"), &a.manifest).unwrap();
        s.set_name(&r("demo:a2"), &a.manifest).unwrap();
        s.set_name(&r("demo:b"), &b.manifest).unwrap();
        let (junk, _) = s.put_blob(b"unreferenced").unwrap();
        assert_eq!(blob_count(&s), 7);

        let st = s.prune().unwrap();
        assert_eq!(st.blobs_removed, 1);
        assert_eq!(st.bytes_freed, b"unreferenced".len() as u64);
        assert!(!s.has_blob(&junk));

        // a is still named by demo:a2 after demo:a goes.
        s.remove_name(&r("demo:a")).unwrap();
        assert_eq!(s.prune().unwrap().blobs_removed, 0);
        assert!(s.has_blob(a.manifest.digest()));

        s.remove_name(&r("demo:a2")).unwrap();
        let st = s.prune().unwrap();
        assert_eq!(st.blobs_removed, 3);
        for d in [a.manifest.digest(), &a.config, &a.layers[0]] {
            assert!(!s.has_blob(d), "{d}");
        }
        for d in [b.manifest.digest(), &b.config, &b.layers[0]] {
            assert!(s.has_blob(d), "{d}");
        }
    }

    #[test]
    fn prune_walks_nested_indexes() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(dir.path()).unwrap();
        let a = make_image(&s, &[("a", b"1")]);
        let mut inner = crate::names::empty_index();
        inner.set_manifests(vec![a.manifest.clone()]);
        let (inner_d, _) = s
            .put_json(hoist_oci::MediaType::ImageIndex, &inner)
            .unwrap();
        let mut outer = crate::names::empty_index();
        // One child is absent (a partially pulled multi-platform image).
        let absent = Descriptor::new(
            hoist_oci::MediaType::ImageManifest,
            3,
            hoist_oci::sha256_of(b"absent"),
        );
        outer.set_manifests(vec![inner_d.clone(), absent]);
        let (outer_d, _) = s
            .put_json(hoist_oci::MediaType::ImageIndex, &outer)
            .unwrap();
        s.set_name(&r("multi:1"), &outer_d).unwrap();
        let walk = s.walk(std::slice::from_ref(&outer_d)).unwrap();
        assert_eq!(walk.blobs.len(), 5);
        assert_eq!(walk.missing, vec![hoist_oci::sha256_of(b"absent")]);
        assert_eq!(s.prune().unwrap().blobs_removed, 0);
        assert_eq!(blob_count(&s), 5);
    }

    #[test]
    fn prune_removes_stale_temp_but_waits_for_leases() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(dir.path()).unwrap();
        // A crashed writer's temp file and work dir.
        std::fs::write(s.root().join("tmp/blob-crashed"), b"x").unwrap();
        std::fs::create_dir(s.root().join("work/build-crashed")).unwrap();
        let fresh = PruneOptions::default();
        assert_eq!(s.prune_with(&fresh).unwrap().stale_removed, 0);
        let now = PruneOptions {
            stale_after: Duration::ZERO,
        };
        assert_eq!(s.prune_with(&now).unwrap().stale_removed, 2);
        assert_eq!(temp_count(&s), 0);

        // An in-flight build: its unnamed blob survives a prune from another handle
        // because prune waits for the lease.
        let lease = s.lock_shared().unwrap();
        assert!(matches!(s.prune(), Err(StoreError::LeaseHeld { .. })));
        let mut w = s.blob_writer().unwrap();
        w.write_all(b"in flight").unwrap();
        let (d, _) = w.commit().unwrap();
        let other = Store::open(dir.path()).unwrap();
        let t = std::thread::spawn(move || other.prune().unwrap());
        std::thread::sleep(Duration::from_millis(200));
        assert!(s.has_blob(&d), "prune must wait for the lease");
        // The build names its result before releasing the lease.
        let layer = Descriptor::new(hoist_oci::MediaType::ImageLayer, 9, d.clone());
        s.set_name(&r("inflight:1"), &layer).unwrap();
        drop(lease);
        let st = t.join().unwrap();
        assert_eq!(st.blobs_removed, 0);
        assert!(s.has_blob(&d));
    }
}
