//! Writing a RUN step's layer while the next RUN step runs.
//!
//! A layer costs two sha256 passes (diffID and blob digest) plus compression; the
//! next step's command usually waits on other things (a package manager, a
//! compiler). When a RUN is followed by another RUN, the first step's changed files
//! are copied aside (`copy_file_range`: a kernel copy, a reflink where the
//! filesystem has them, far cheaper than the hashing) so the next step may change
//! the rootfs, and the layer is written from the copies on another thread while
//! the next command runs. Anything that reads the stage's layers (COPY, ADD,
//! WORKDIR, the end of the stage) first calls [`flush`].

use std::fs;
use std::path::Path;

use hoist_layer::{Entry, EntryKind, FileSource};

use super::RunEnv;
use crate::commit::write_layer;
use crate::error::BuildError;
use crate::exec::StageState;
use crate::rootfs::LayerRef;

/// A RUN layer whose entries are known and whose files are safe from the next
/// step, not yet written.
pub(crate) struct PendingLayer {
    /// Entries; regular files point into `stash` or into an overlay upper
    /// directory that no later step writes.
    entries: Vec<Entry>,
    /// Holds the copies until the layer is written.
    stash: Option<tempfile::TempDir>,
    /// The step changed the materialised rootfs in place (not an overlay upper).
    in_place: bool,
}

impl PendingLayer {
    /// A layer read from an overlay upper directory: its files never change again.
    pub(crate) fn from_upper(entries: Vec<Entry>) -> Self {
        PendingLayer {
            entries,
            stash: None,
            in_place: false,
        }
    }

    /// True when the layer's changes are in the stage's materialised rootfs.
    pub(crate) fn in_place(&self) -> bool {
        self.in_place
    }

    /// Copies the content of every regular file of `entries` into a private
    /// directory under `work` and points the entries there.
    pub(crate) fn stash(mut entries: Vec<Entry>, work: &Path) -> Result<Self, BuildError> {
        let stash = tempfile::Builder::new()
            .prefix("layer-")
            .tempdir_in(work)
            .map_err(|source| BuildError::Io {
                what: "create a temp dir in",
                path: work.to_path_buf(),
                source,
            })?;
        for (n, entry) in entries.iter_mut().enumerate() {
            if let EntryKind::File {
                source: source @ FileSource::Path(_),
                ..
            } = &mut entry.kind
            {
                let FileSource::Path(from) = &*source else {
                    continue;
                };
                let to = stash.path().join(n.to_string());
                fs::copy(from, &to).map_err(|e| BuildError::Io {
                    what: "copy a changed file aside for the layer:",
                    path: from.clone(),
                    source: e,
                })?;
                *source = FileSource::Path(to);
            }
        }
        Ok(PendingLayer {
            entries,
            stash: Some(stash),
            in_place: true,
        })
    }

    /// Writes the layer; the stash goes away afterwards.
    fn write(self, env: &RunEnv<'_>) -> Result<LayerRef, BuildError> {
        let layer = write_layer(env.store, self.entries, env.layer_opts, env.reporter);
        drop(self.stash);
        layer
    }
}

/// Takes the stage's pending layer for writing: an in-place layer's entries are
/// recorded in the stage's rootfs bookkeeping now (they are on disk already); the
/// layer itself is appended by [`finish`] once written.
pub(crate) fn take(st: &mut StageState) -> Option<PendingLayer> {
    let p = st.pending.take()?;
    if p.in_place {
        st.fs.layer_in_place(st.layers.len(), &p.entries);
    }
    Some(p)
}

/// Writes `pending` (on the caller's thread; see [`run_step`](super::run_step) for
/// the parallel path).
pub(crate) fn write(pending: PendingLayer, env: &RunEnv<'_>) -> Result<LayerRef, BuildError> {
    pending.write(env)
}

/// [`write`] from a background thread: lowers the thread's priority first (its
/// workers inherit it), so the step running meanwhile, which the build waits
/// for, gets the CPU when both want it.
pub(crate) fn write_in_background(
    pending: PendingLayer,
    env: &RunEnv<'_>,
) -> Result<LayerRef, BuildError> {
    let tid = rustix::thread::gettid();
    if let Err(e) = rustix::process::setpriority_process(Some(tid), 10) {
        tracing::debug!(error = %e, "cannot lower the layer writer's priority");
    }
    pending.write(env)
}

/// Appends a written layer to the stage.
pub(crate) fn finish(st: &mut StageState, layer: LayerRef) {
    st.config.rootfs.diff_ids.push(layer.diff_id.clone());
    st.layers.push(layer);
}

/// Writes the stage's pending layer, if any, so its layers are complete.
pub(crate) fn flush(env: &RunEnv<'_>, st: &mut StageState) -> Result<(), BuildError> {
    if let Some(p) = take(st) {
        let layer = write(p, env)?;
        finish(st, layer);
    }
    Ok(())
}
