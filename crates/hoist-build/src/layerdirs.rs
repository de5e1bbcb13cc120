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
        let mut table = OwnerTable::new();
        table.apply_entries(entries);
        let owners = OnceCell::new();
        let _ = owners.set(Some(table));
        self.dirs.push(LayerDir {
            root: upper,
            owners_file: None,
            owners,
        });
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
