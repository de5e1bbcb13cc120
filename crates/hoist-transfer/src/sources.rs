//! Where blobs came from: the record that turns a later push into a cross-repository
//! mount.
//!
//! Layout: `ROOT/sources/<algorithm>/<hex>`, one file per blob digest, holding one
//! repository name (`domain/repository`) per line. A pull records the repository it
//! downloaded from; a push records the repository it pushed to. Lines are appended with
//! `O_APPEND` in a single `write`, so concurrent hoist processes never interleave
//! partial lines and no lock is needed. The record is only a hint: a stale line (the
//! registry lost the blob, the repository was deleted) makes the registry decline the
//! mount, and the push falls back to an upload. `Store::prune` does not know about
//! this directory; records of pruned blobs are harmless and tiny.

use std::io::Write;
use std::path::{Path, PathBuf};

use hoist_oci::{Digest, Reference};
use hoist_store::Store;

use crate::TransferError;

/// The directory under the store root holding the records.
pub const SOURCES_DIR: &str = "sources";

/// Reads and appends blob source records of one store.
#[derive(Debug, Clone)]
pub struct BlobSources {
    dir: PathBuf,
}

impl BlobSources {
    /// The records of `store`.
    pub fn new(store: &Store) -> Self {
        Self::at(store.root())
    }

    /// The records under a store root.
    pub fn at(root: &Path) -> Self {
        BlobSources {
            dir: root.join(SOURCES_DIR),
        }
    }

    fn path(&self, d: &Digest) -> PathBuf {
        self.dir.join(d.algorithm().as_ref()).join(d.digest())
    }

    /// Repositories (`domain/repository`) known to hold `d`, oldest first.
    pub fn lookup(&self, d: &Digest) -> Result<Vec<Reference>, TransferError> {
        let path = self.path(d);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => {
                return Err(TransferError::Sources {
                    op: "read",
                    path,
                    source,
                });
            }
        };
        let mut out: Vec<Reference> = Vec::new();
        for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
            match Reference::parse_name_only(line) {
                Ok(r) if !out.iter().any(|o| o.name() == r.name()) => out.push(r),
                Ok(_) => {}
                Err(e) => {
                    tracing::debug!(path = %path.display(), line, error = %e, "skipping bad source line")
                }
            }
        }
        Ok(out)
    }

    /// Records that `repo` (its `domain/repository`) holds `d`. A no-op when already known.
    pub fn record(&self, d: &Digest, repo: &Reference) -> Result<(), TransferError> {
        let name = repo.name();
        if self.lookup(d)?.iter().any(|r| r.name() == name) {
            return Ok(());
        }
        let path = self.path(d);
        let err = |op| {
            let path = path.clone();
            move |source| TransferError::Sources { op, path, source }
        };
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(err("create directory for"))?;
        }
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(err("open"))?;
        f.write_all(format!("{name}\n").as_bytes())
            .map_err(err("append to"))?;
        Ok(())
    }

    /// A repository on `dest`'s registry, other than `dest`'s own, known to hold `d`.
    pub fn mount_source(
        &self,
        d: &Digest,
        dest: &Reference,
    ) -> Result<Option<Reference>, TransferError> {
        Ok(self
            .lookup(d)?
            .into_iter()
            .find(|r| r.domain() == dest.domain() && r.repository() != dest.repository()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(s: &str) -> Reference {
        Reference::parse(s).unwrap()
    }

    #[test]
    fn records_are_deduplicated_and_pick_same_registry_other_repo() {
        let dir = tempfile::tempdir().unwrap();
        let s = BlobSources::at(dir.path());
        let d = hoist_oci::sha256_of(b"layer");
        assert!(s.lookup(&d).unwrap().is_empty());
        s.record(&d, &r("127.0.0.1:5000/a/base:1")).unwrap();
        s.record(&d, &r("127.0.0.1:5000/a/base:2")).unwrap();
        s.record(&d, &r("ghcr.io/o/x:1")).unwrap();
        let got: Vec<String> = s.lookup(&d).unwrap().iter().map(|r| r.name()).collect();
        assert_eq!(got, ["127.0.0.1:5000/a/base", "ghcr.io/o/x"]);
        let text =
            std::fs::read_to_string(dir.path().join("sources/sha256").join(d.digest())).unwrap();
        assert_eq!(text.lines().count(), 2, "{text}");

        let m = s.mount_source(&d, &r("127.0.0.1:5000/b/app:1")).unwrap();
        assert_eq!(m.unwrap().name(), "127.0.0.1:5000/a/base");
        // Same repository: nothing to mount from (a HEAD finds the blob instead).
        assert!(
            s.mount_source(&d, &r("127.0.0.1:5000/a/base:9"))
                .unwrap()
                .is_none()
        );
        // Another registry: mounts never cross registries.
        assert!(
            s.mount_source(&d, &r("quay.io/a/base:1"))
                .unwrap()
                .is_none()
        );
    }
}
