//! Where a RUN step's command sees the stage's files, and how its changes come back.
//!
//! * [`StepFs::Overlay`] (the default with namespaces): the layers, unpacked once
//!   into the store, are the lower directories of an overlay mounted inside the
//!   sandbox over a fresh upper directory. Nothing is unpacked or copied per
//!   build, and the step's changes are exactly the upper directory, so reading
//!   them costs what changed, not the size of the image.
//! * [`StepFs::Flat`] (chroot isolation, or no overlay support): the stage's
//!   materialised rootfs is changed in place; a stat snapshot before the step and
//!   a walk after it give the changes.

use std::fs;
use std::path::{Path, PathBuf};

use hoist_layer::Entry;
use hoist_layer::diff::{DiffOptions, IdRemap, Snapshot, SnapshotOptions, UpperOptions};
use hoist_layer::overlay::Stack;
use hoist_sandbox::RunSpec;
use hoist_store::remove_tree;

use super::{RunEnv, pending};
use crate::error::BuildError;
use crate::exec::StageState;
use crate::rootfs::{Etc, is_root};

/// The filesystem of one RUN step.
pub(super) enum StepFs {
    /// The materialised rootfs, changed in place.
    Flat { root: PathBuf, before: Snapshot },
    /// Layer directories under an overlay; `dir` holds `upper`, `work`, `merged`.
    Overlay { stack: Stack, dir: PathBuf },
}

fn io(what: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> BuildError {
    let path = path.to_path_buf();
    move |source| BuildError::Io { what, path, source }
}

impl StepFs {
    /// The materialised rootfs and its snapshot (leaving out `exclude`).
    pub(super) fn flat(
        env: &RunEnv<'_>,
        st: &mut StageState,
        exclude: Vec<String>,
    ) -> Result<Self, BuildError> {
        // A layer still pending from an overlay step is not in the rootfs yet.
        if st.pending.iter().any(|p| !p.in_place()) {
            pending::flush(env, st)?;
        }
        let root = st.fs.ensure(env.store, &st.layers)?;
        let started = std::time::Instant::now();
        let before = hoist_layer::diff::snapshot(&root, &SnapshotOptions { exclude })?;
        tracing::debug!(elapsed = ?started.elapsed(), "rootfs snapshot before the step");
        Ok(StepFs::Flat { root, before })
    }

    /// The stage's layer directories (the pending RUN layer's included) and an
    /// empty upper directory; `None` when the work area's filesystem cannot hold
    /// an overlay upper (no `user.*` xattrs, e.g. tmpfs before Linux 6.6).
    pub(super) fn overlay(
        env: &RunEnv<'_>,
        st: &mut StageState,
    ) -> Result<Option<Self>, BuildError> {
        if !crate::layerdirs::user_xattrs(env.work) {
            return Ok(None);
        }
        let stack = if !st.pending.is_empty() {
            // The pending layers' uppers are already on top of the stack.
            st.fs.dirs.stack()
        } else {
            st.fs.dirs.ensure(env.store, &st.layers)?
        };
        let dir = tempfile::Builder::new()
            .prefix("step-")
            .tempdir_in(env.work)
            .map_err(io("create a temp dir in", env.work))?
            .keep();
        crate::layerdirs::make_overlay_dirs(&dir)?;
        Ok(Some(StepFs::Overlay { stack, dir }))
    }

    /// Where `/etc/passwd` and `/etc/group` come from.
    pub(super) fn etc(&self) -> Etc<'_> {
        match self {
            StepFs::Flat { root, .. } => Etc::Dir(root),
            StepFs::Overlay { stack, .. } => Etc::Layers(stack),
        }
    }

    /// Points `spec` at this filesystem.
    pub(super) fn apply(&self, spec: &mut RunSpec) {
        match self {
            StepFs::Flat { root, .. } => spec.rootfs = root.clone(),
            StepFs::Overlay { stack, dir } => {
                crate::layerdirs::overlay_rootfs(spec, stack, dir);
            }
        }
    }

    /// True when `rel` existed before the step.
    fn existed(&self, rel: &str) -> bool {
        match self {
            StepFs::Flat { before, .. } => before.get(rel).is_some(),
            StepFs::Overlay { stack, .. } => stack.locate(rel).is_some(),
        }
    }

    /// Where the step's changes are on disk (the rootfs, or the upper directory).
    fn changed_root(&self) -> PathBuf {
        match self {
            StepFs::Flat { root, .. } => root.clone(),
            StepFs::Overlay { dir, .. } => dir.join("upper"),
        }
    }

    /// The layer entries for what the step changed. `created` are the mount points
    /// the sandbox made (removed again when still empty).
    pub(super) fn changes(
        &self,
        st: &mut StageState,
        env: &RunEnv<'_>,
        created: &[PathBuf],
        cwd: &str,
        ids: IdRemap,
        exclude: Vec<String>,
    ) -> Result<Vec<Entry>, BuildError> {
        if let StepFs::Overlay { dir, .. } = self {
            remove_tree(&dir.join("work"));
        }
        remove_mount_points(&self.changed_root(), created, |r| self.existed(r), cwd);
        let started = std::time::Instant::now();
        let entries = match self {
            StepFs::Flat { before, .. } => {
                let owners = if is_root() {
                    None
                } else {
                    Some(st.fs.owners(env.store, &st.layers)?)
                };
                hoist_layer::diff::diff(before, &DiffOptions { ids, owners })?
            }
            StepFs::Overlay { stack, dir } => {
                let dirs = &st.fs.dirs;
                let lookup = |layer: usize, path: &str| dirs.owner(layer, path);
                let opts = UpperOptions {
                    ids,
                    owners: (!is_root()).then_some(&lookup as _),
                    exclude,
                };
                hoist_layer::diff::upper_diff(&dir.join("upper"), stack, &opts)?
            }
        };
        tracing::debug!(elapsed = ?started.elapsed(), changes = entries.len(), "rootfs diff after the step");
        Ok(entries)
    }

    /// Records the step's layer: written in the background while the build goes
    /// on ([`pending`]), and waited for at once when no RUN follows.
    pub(super) fn record(
        self,
        env: &RunEnv<'_>,
        st: &mut StageState,
        entries: Vec<Entry>,
    ) -> Result<(), BuildError> {
        let in_place = match self {
            StepFs::Flat { .. } => {
                // On disk already: the rootfs bookkeeping counts it now, at the
                // index it will have once the layers before it are written.
                st.fs
                    .layer_in_place(st.layers.len() + st.pending.len(), &entries);
                true
            }
            StepFs::Overlay { dir, .. } => {
                remove_tree(&dir.join("merged"));
                st.fs.dirs.push_upper(dir.join("upper"), &entries);
                false
            }
        };
        pending::start(env, st, entries, in_place)?;
        if !env.overlap_next {
            pending::flush(env, st)?;
        }
        Ok(())
    }

    /// Drops what the step left (it failed, or changed nothing).
    pub(super) fn discard(self) {
        if let StepFs::Overlay { dir, .. } = self {
            remove_tree(&dir);
        }
    }
}

/// Removes the mount points and parents the sandbox created under `root`, when
/// they are still empty, so only the step's own changes remain (the working
/// directory stays).
fn remove_mount_points(
    root: &Path,
    created: &[PathBuf],
    existed: impl Fn(&str) -> bool,
    cwd: &str,
) {
    let cwd = Path::new(cwd.trim_start_matches('/'));
    for rel in created.iter().rev() {
        if cwd.starts_with(rel) || existed(&rel.to_string_lossy()) {
            continue;
        }
        let path = root.join(rel);
        let Ok(meta) = fs::symlink_metadata(&path) else {
            continue;
        };
        let removed = if meta.is_dir() {
            fs::remove_dir(&path)
        } else if meta.is_file() && meta.len() == 0 {
            fs::remove_file(&path)
        } else {
            continue;
        };
        // A non-empty directory means the step wrote into it: it belongs in the layer.
        if let Err(e) = removed {
            tracing::debug!(path = %path.display(), error = %e, "mount point kept");
        }
    }
}
