//! `ROOT/unpacked/`: layer blobs kept unpacked, so builds on an image do not
//! unpack its layers again.
//!
//! Each entry is a directory named after the layer blob's digest (its first 32 hex
//! digits: the path goes into a size-limited overlay mount option) holding `root/`,
//! the layer's files in overlayfs form, and whatever the unpacker records next to
//! it (e.g. the image's owners of the files). An entry appears by an atomic rename
//! once complete, so readers never see a half-unpacked layer; [`Store::prune`]
//! removes entries whose blob is gone.

use std::path::{Path, PathBuf};

use hoist_oci::Digest;

use crate::{Store, StoreError};

/// Hex digits of the digest used in entry names.
const NAME_LEN: usize = 32;
/// Prefix of entries being written.
pub(crate) const TMP_PREFIX: &str = ".tmp-";

impl Store {
    pub(crate) fn unpacked_root(&self) -> PathBuf {
        self.root().join("unpacked")
    }

    /// The complete unpacked entry of layer blob `d`, if there is one.
    pub fn unpacked(&self, d: &Digest) -> Option<PathBuf> {
        let dir = self.unpacked_root().join(entry_name(d));
        dir.is_dir().then_some(dir)
    }

    /// A fresh directory to unpack a layer into, on the filesystem of the entries.
    /// Publish it with [`Store::commit_unpacked`].
    pub fn unpacking_dir(&self) -> Result<tempfile::TempDir, StoreError> {
        let dir = self.unpacked_root();
        std::fs::create_dir_all(&dir).map_err(StoreError::io("create", &dir))?;
        tempfile::Builder::new()
            .prefix(TMP_PREFIX)
            .tempdir_in(&dir)
            .map_err(StoreError::io("create a directory in", dir))
    }

    /// Publishes `dir` (from [`Store::unpacking_dir`]) as the entry of `d` and
    /// returns the entry's path. When another process published it first, theirs
    /// is kept and `dir` removed.
    pub fn commit_unpacked(
        &self,
        d: &Digest,
        dir: tempfile::TempDir,
    ) -> Result<PathBuf, StoreError> {
        let dest = self.unpacked_root().join(entry_name(d));
        let tmp = dir.keep();
        match std::fs::rename(&tmp, &dest) {
            Ok(()) => {
                crate::fsutil::sync_dir(&self.unpacked_root())?;
                Ok(dest)
            }
            Err(_) if dest.is_dir() => {
                remove_tree(&tmp);
                Ok(dest)
            }
            Err(e) => {
                remove_tree(&tmp);
                Err(StoreError::Io {
                    op: "rename into",
                    path: dest,
                    source: e,
                })
            }
        }
    }

    /// Removes entries whose blob is not in `keep` (hex digests); returns how many.
    /// Interrupted unpackings older than `stale` go too.
    pub(crate) fn prune_unpacked(
        &self,
        keep: &std::collections::HashSet<&str>,
        stale: std::time::Duration,
    ) -> Result<u64, StoreError> {
        let root = self.unpacked_root();
        let Ok(list) = std::fs::read_dir(&root) else {
            return Ok(0);
        };
        let kept: std::collections::HashSet<&str> =
            keep.iter().map(|h| &h[..NAME_LEN.min(h.len())]).collect();
        let mut n = 0;
        for entry in list {
            let entry = entry.map_err(StoreError::io("list", &root))?;
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            let old = || {
                entry
                    .metadata()
                    .and_then(|m| m.modified())
                    .ok()
                    .and_then(|t| t.elapsed().ok())
                    .is_some_and(|age| age >= stale)
            };
            if kept.contains(name) || (name.starts_with(TMP_PREFIX) && !old()) {
                continue;
            }
            remove_tree(&entry.path());
            n += 1;
        }
        Ok(n)
    }
}

fn entry_name(d: &Digest) -> String {
    let hex = d.digest();
    hex[..NAME_LEN.min(hex.len())].to_string()
}

/// Removes a tree best effort, making directories writable first when the first
/// attempt is refused (layers may hold read-only directories; overlayfs leaves a
/// mode 000 `work/work`).
pub fn remove_tree(path: &Path) {
    if std::fs::remove_dir_all(path).is_ok() || !path.exists() {
        return;
    }
    open_up(path);
    if let Err(e) = std::fs::remove_dir_all(path) {
        tracing::warn!(path = %path.display(), error = %e, "cannot remove");
    }
}

fn open_up(dir: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700));
    if let Ok(list) = std::fs::read_dir(dir) {
        for e in list.flatten() {
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                open_up(&e.path());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{make_image, r};

    #[test]
    fn entries_appear_whole_and_go_with_their_blob() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(dir.path()).unwrap();
        let d: Digest = format!("sha256:{}", "ab".repeat(32)).parse().unwrap();
        assert!(s.unpacked(&d).is_none());
        let tmp = s.unpacking_dir().unwrap();
        std::fs::create_dir_all(tmp.path().join("root/ro")).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(
            tmp.path().join("root/ro"),
            std::fs::Permissions::from_mode(0o555),
        )
        .unwrap();
        let path = s.commit_unpacked(&d, tmp).unwrap();
        assert_eq!(s.unpacked(&d), Some(path.clone()));
        assert!(path.join("root/ro").is_dir());
        // A second unpacker losing the race keeps the first entry.
        let tmp = s.unpacking_dir().unwrap();
        assert_eq!(s.commit_unpacked(&d, tmp).unwrap(), path);
        // An image's layer survives prune; an entry without a blob does not.
        let img = make_image(&s, &[("f", b"x")]);
        s.set_name(&r("docker.io/library/a:1"), &img.manifest)
            .unwrap();
        let layer = img.layers[0].clone();
        let tmp = s.unpacking_dir().unwrap();
        let kept = s.commit_unpacked(&layer, tmp).unwrap();
        s.prune().unwrap();
        assert!(s.unpacked(&d).is_none());
        assert_eq!(s.unpacked(&layer), Some(kept));
    }
}
