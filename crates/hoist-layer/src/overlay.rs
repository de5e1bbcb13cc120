//! Layers as overlayfs directories: one directory per layer, deletions marked as
//! 0/0 character devices and opaque directories with the `user.overlay.opaque`
//! xattr (the `userxattr` form, the only one a user namespace may mount).
//!
//! [`extract`](crate::extract()) writes this form with
//! [`ExtractOptions::overlay`](crate::ExtractOptions::overlay); a kernel overlay
//! mount writes it into its upper directory; [`Stack`] reads a file through a
//! stack of such directories the way the mount would show it.

use std::fs;
use std::io;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

/// The xattr marking an opaque directory (with the `userxattr` mount option).
pub const OPAQUE_XATTR: &str = "user.overlay.opaque";

/// True for an overlay whiteout: a character device with device number 0/0.
pub fn is_whiteout(meta: &fs::Metadata) -> bool {
    meta.file_type().is_char_device() && meta.rdev() == 0
}

/// True when `dir` carries the opaque marker.
pub fn is_opaque(dir: &Path) -> bool {
    matches!(rustix::fs::lgetxattr(dir, OPAQUE_XATTR, &mut [0u8; 4]), Ok(n) if n >= 1)
}

/// Creates a whiteout for `name` in the directory `parent`.
pub fn make_whiteout(parent: &Path, name: &str) -> io::Result<()> {
    let path = parent.join(name);
    rustix::fs::mknodat(
        rustix::fs::CWD,
        &path,
        rustix::fs::FileType::CharacterDevice,
        rustix::fs::Mode::empty(),
        0,
    )
    .map_err(io::Error::from)
}

/// Marks `dir` opaque.
pub fn make_opaque(dir: &Path) -> io::Result<()> {
    rustix::fs::lsetxattr(dir, OPAQUE_XATTR, b"y", rustix::fs::XattrFlags::empty())
        .map_err(io::Error::from)
}

/// Layer directories seen as one tree, topmost first.
#[derive(Debug, Clone, Default)]
pub struct Stack {
    dirs: Vec<PathBuf>,
}

impl Stack {
    /// A stack of layer directories, topmost first.
    pub fn new(dirs: Vec<PathBuf>) -> Self {
        Stack { dirs }
    }

    /// The layer directories, topmost first.
    pub fn dirs(&self) -> &[PathBuf] {
        &self.dirs
    }

    /// Where `path` (image path, relative, `/`-separated) lives in the merged
    /// tree: the index of the layer directory (topmost is 0), the file and its
    /// metadata; `None` when it does not exist there. Intermediate components are
    /// never followed as symlinks: this looks up the literal path.
    pub fn locate(&self, path: &str) -> Option<(usize, PathBuf, fs::Metadata)> {
        let comps: Vec<&str> = path.split('/').filter(|c| !c.is_empty()).collect();
        'layers: for (layer, dir) in self.dirs.iter().enumerate() {
            let mut here = dir.clone();
            for (i, c) in comps.iter().enumerate() {
                here.push(c);
                let Ok(meta) = fs::symlink_metadata(&here) else {
                    continue 'layers;
                };
                if is_whiteout(&meta) {
                    return None;
                }
                let last = i + 1 == comps.len();
                if last {
                    return Some((layer, here, meta));
                }
                if !meta.is_dir() {
                    // A file over a directory of a lower layer hides it.
                    return None;
                }
                if is_opaque(&here) {
                    // Nothing below this directory in lower layers: finish here.
                    let rest: PathBuf = comps[i + 1..].iter().collect();
                    let full = here.join(rest);
                    return fs::symlink_metadata(&full)
                        .ok()
                        .filter(|m| !is_whiteout(m))
                        .map(|m| (layer, full, m));
                }
            }
            // The root itself.
            return fs::symlink_metadata(&here).ok().map(|m| (layer, here, m));
        }
        None
    }

    /// The content of a regular file in the merged tree (not following a symlink
    /// at `path` itself).
    pub fn read(&self, path: &str) -> Option<Vec<u8>> {
        let (_, p, meta) = self.locate(path)?;
        meta.is_file().then(|| fs::read(p).ok()).flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookups_honour_whiteouts_and_opaque_directories() {
        let t = tempfile::tempdir().unwrap();
        let (l1, l2, l3) = (t.path().join("1"), t.path().join("2"), t.path().join("3"));
        for d in [&l1, &l2, &l3] {
            fs::create_dir_all(d.join("etc")).unwrap();
        }
        fs::write(l1.join("etc/passwd"), "one").unwrap();
        fs::write(l1.join("etc/group"), "g").unwrap();
        fs::create_dir_all(l1.join("opt/a")).unwrap();
        fs::write(l1.join("opt/a/x"), "x").unwrap();
        fs::write(l2.join("etc/passwd"), "two").unwrap();
        make_whiteout(&l3.join("etc"), "group").unwrap();
        fs::create_dir_all(l3.join("opt")).unwrap();
        make_opaque(&l3.join("opt")).unwrap();
        let s = Stack::new(vec![l3.clone(), l2, l1]);
        assert_eq!(s.read("etc/passwd").as_deref(), Some(&b"two"[..]));
        assert_eq!(s.read("etc/group"), None);
        assert!(
            s.locate("opt")
                .is_some_and(|(l, _, m)| l == 0 && m.is_dir())
        );
        assert_eq!(s.locate("etc/passwd").map(|f| f.0), Some(1));
        assert!(s.locate("opt/a/x").is_none(), "hidden by the opaque dir");
        assert!(s.locate("missing").is_none());
        assert!(s.locate("").is_some());
        fs::write(l3.join("opt/new"), "n").unwrap();
        assert_eq!(s.read("opt/new").as_deref(), Some(&b"n"[..]));
    }
}
