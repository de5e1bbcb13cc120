//! A stage's layers as overlayfs lower directories.
//!
//! Layers from blobs are unpacked once into the store's `ROOT/unpacked/` area
//! (shared by every later build, never written again); RUN steps of this build add
//! their overlay upper directories. A RUN step mounts them all read-only under a
//! fresh upper directory, so nothing is copied or unpacked per build and the
//! step's changes are exactly its upper directory.
//!
//! Ownership: as root, layers are unpacked with their owners and the disk is the
//! truth. Without privileges, files belong to the caller; the image's owners of
//! each unpacked layer are kept next to it (`owners`, an
//! [`OwnerTable`] as text) and read only when a step changes such a file.

use std::cell::OnceCell;
use std::fs;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use hoist_layer::diff::{Owner, OwnerTable};
use hoist_layer::overlay::Stack;
use hoist_layer::{Entry, ExtractOptions};
use hoist_store::Store;

use crate::BuildError;
use crate::rootfs::{LayerRef, is_root};

/// Name of the layer root inside an unpacked entry.
const ROOT: &str = "root";
/// Name of the owners file inside an unpacked entry.
const OWNERS: &str = "owners";

/// One layer directory and where its image owners come from.
#[derive(Clone)]
struct LayerDir {
    root: PathBuf,
    /// `owners` file of an unpacked blob (rootless only).
    owners_file: Option<PathBuf>,
    owners: OnceCell<Option<OwnerTable>>,
    /// A RUN step's upper directory in this build's work area (not yet in the store).
    upper: bool,
}

impl LayerDir {
    fn owner(&self, path: &str) -> Option<Owner> {
        self.owners
            .get_or_init(|| {
                let text = fs::read_to_string(self.owners_file.as_ref()?).ok()?;
                OwnerTable::from_text(&text)
            })
            .as_ref()?
            .get(path)
    }
}

/// The layer directories of a stage, bottom first. May hold one more directory
/// than the stage has layers: the RUN layer still being written.
#[derive(Default, Clone)]
pub(crate) struct LayerDirs {
    dirs: Vec<LayerDir>,
}

impl LayerDirs {
    /// Makes sure every layer of `layers` has a directory (unpacking blobs into the
    /// store when needed) and returns the stack, topmost first.
    pub(crate) fn ensure(
        &mut self,
        store: &Store,
        layers: &[LayerRef],
    ) -> Result<Stack, BuildError> {
        for layer in layers.iter().skip(self.dirs.len()) {
            let entry = match store.unpacked(&layer.digest) {
                Some(e) => e,
                None => unpack(store, layer)?,
            };
            let owners = entry.join(OWNERS);
            self.dirs.push(LayerDir {
                root: entry.join(ROOT),
                owners_file: owners.is_file().then_some(owners),
                owners: OnceCell::new(),
                upper: false,
            });
        }
        Ok(self.stack())
    }

    /// The current stack, topmost first.
    pub(crate) fn stack(&self) -> Stack {
        Stack::new(self.dirs.iter().rev().map(|d| d.root.clone()).collect())
    }

    /// Adds a RUN step's upper directory as the next layer; `entries` are the
    /// layer's entries (their owners are the image's).
    pub(crate) fn push_upper(&mut self, upper: PathBuf, entries: &[Entry]) {
        // Looked up only when the disk does not hold the image's owners.
        let owners = OnceCell::new();
        let _ = owners.set((!is_root()).then(|| {
            let mut table = OwnerTable::new();
            table.apply_entries(entries);
            table
        }));
        self.dirs.push(LayerDir {
            root: upper,
            owners_file: None,
            owners,
            upper: true,
        });
    }

    /// Moves the upper directory of layer `index` (now written as `layer`) into the
    /// store's unpacked area, so later builds on this image find it unpacked.
    /// Only where the disk holds the image's owners (root, or root of the user
    /// namespace): elsewhere the files may belong to ids the caller cannot remove.
    pub(crate) fn publish(&mut self, store: &Store, index: usize, layer: &LayerRef) {
        let Some(dir) = self.dirs.get_mut(index).filter(|d| d.upper) else {
            return;
        };
        if !is_root() {
            return;
        }
        match publish_upper(store, &dir.root, layer) {
            Ok(entry) => {
                dir.root = entry.join(ROOT);
                dir.upper = false;
            }
            Err(e) => tracing::debug!(digest = %layer.digest, error = %e, "upper not kept"),
        }
    }

    /// The image's owner of `path` as found in layer `top_index` of [`Self::stack`].
    pub(crate) fn owner(&self, top_index: usize, path: &str) -> Option<Owner> {
        let i = self.dirs.len().checked_sub(top_index + 1)?;
        self.dirs[i].owner(path)
    }
}

/// Unpacks a layer blob into the store's unpacked area, in overlay form.
fn unpack(store: &Store, layer: &LayerRef) -> Result<PathBuf, BuildError> {
    let started = std::time::Instant::now();
    let tmp = store.unpacking_dir()?;
    let root = tmp.path().join(ROOT);
    let opts = ExtractOptions {
        whiteouts: true,
        overlay: true,
        chown: is_root(),
        record_owners: !is_root(),
        ..ExtractOptions::default()
    };
    let blob = BufReader::new(store.open_blob(&layer.digest)?);
    let stats = hoist_layer::extract(blob, &root, &opts)?;
    if let Some(table) = stats.owners {
        write(&tmp.path().join(OWNERS), table.to_text().as_bytes())?;
    }
    let entry = store.commit_unpacked(&layer.digest, tmp)?;
    tracing::debug!(digest = %layer.digest, elapsed = ?started.elapsed(), "layer unpacked");
    Ok(entry)
}

/// Publishes a RUN step's upper directory as the unpacked entry of its layer,
/// without overlayfs's own bookkeeping xattrs.
fn publish_upper(store: &Store, upper: &Path, layer: &LayerRef) -> Result<PathBuf, BuildError> {
    if let Some(entry) = store.unpacked(&layer.digest) {
        hoist_store::remove_tree(upper);
        return Ok(entry);
    }
    strip_overlay_xattrs(upper);
    let tmp = store.unpacking_dir()?;
    let root = tmp.path().join(ROOT);
    fs::rename(upper, &root).map_err(|source| BuildError::Io {
        what: "move into the store",
        path: upper.to_path_buf(),
        source,
    })?;
    Ok(store.commit_unpacked(&layer.digest, tmp)?)
}

/// Removes `user.overlay.*` xattrs other than the opaque marker (origin, impure:
/// they describe this mount, not the layer), and fifos, sockets and devices other
/// than whiteouts (layers leave them out).
fn strip_overlay_xattrs(dir: &Path) {
    let clean = |p: &Path| {
        let mut names = vec![0u8; 1024];
        let Ok(n) = rustix::fs::llistxattr(p, &mut names) else {
            return;
        };
        for name in names[..n].split(|b| *b == 0).filter(|n| !n.is_empty()) {
            if name.starts_with(b"user.overlay.")
                && name != hoist_layer::overlay::OPAQUE_XATTR.as_bytes()
            {
                let _ = rustix::fs::lremovexattr(p, name);
            }
        }
    };
    clean(dir);
    let Ok(list) = fs::read_dir(dir) else { return };
    for e in list.flatten() {
        let p = e.path();
        let Ok(meta) = fs::symlink_metadata(&p) else {
            continue;
        };
        let t = meta.file_type();
        if !(t.is_dir()
            || t.is_file()
            || t.is_symlink()
            || hoist_layer::overlay::is_whiteout(&meta))
        {
            let _ = fs::remove_file(&p);
            continue;
        }
        clean(&p);
        if t.is_dir() {
            strip_overlay_xattrs(&p);
        }
    }
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), BuildError> {
    fs::write(path, bytes).map_err(|source| BuildError::Io {
        what: "write",
        path: path.to_path_buf(),
        source,
    })
}

/// Whether `dir`'s filesystem takes `user.*` xattrs (overlayfs marks opaque
/// directories with one in the upper directory).
pub(crate) fn user_xattrs(dir: &Path) -> bool {
    use std::sync::OnceLock;
    static OK: OnceLock<bool> = OnceLock::new();
    *OK.get_or_init(|| {
        let probe = |d: &Path| -> std::io::Result<()> {
            let f = tempfile::tempfile_in(d)?;
            rustix::fs::fsetxattr(&f, "user.hoist.probe", b"1", rustix::fs::XattrFlags::empty())?;
            Ok(())
        };
        match probe(dir) {
            Ok(()) => true,
            Err(e) => {
                tracing::warn!(dir = %dir.display(), error = %e, "no user xattrs here: RUN steps use a copied rootfs instead of an overlay");
                false
            }
        }
    })
}

/// Makes `dir` with the `upper`, `work`, `merged` (mount point) and `empty`
/// directories of an overlay rootfs.
pub(crate) fn make_overlay_dirs(dir: &Path) -> Result<(), BuildError> {
    use std::os::unix::fs::PermissionsExt;
    for (name, mode) in [
        ("upper", 0o755),
        ("work", 0o700),
        ("merged", 0o755),
        ("empty", 0o755),
    ] {
        let p = dir.join(name);
        fs::create_dir_all(&p)
            .and_then(|()| fs::set_permissions(&p, fs::Permissions::from_mode(mode)))
            .map_err(|source| BuildError::Io {
                what: "create",
                path: p.clone(),
                source,
            })?;
    }
    Ok(())
}

/// Points `spec` at an overlay of `stack` over the directories made by
/// [`make_overlay_dirs`] in `dir`.
pub(crate) fn overlay_rootfs(spec: &mut hoist_sandbox::RunSpec, stack: &Stack, dir: &Path) {
    spec.rootfs = dir.join("merged");
    spec.overlay = Some(hoist_sandbox::Overlay {
        // An image without layers (FROM scratch) still needs one lower.
        lower: if stack.dirs().is_empty() {
            vec![dir.join("empty")]
        } else {
            stack.dirs().to_vec()
        },
        upper: dir.join("upper"),
        work: dir.join("work"),
    });
}
