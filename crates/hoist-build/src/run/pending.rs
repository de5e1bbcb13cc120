//! Writing RUN layers in the background while the next RUN steps run.
//!
//! A layer costs two sha256 passes (diffID and blob digest) plus compression;
//! the next step's command usually waits on other things (a package manager, a
//! compiler). So a RUN layer is written on a background thread, at a lower CPU
//! priority than the steps the build waits for, while the build goes on. Its
//! files must not change meanwhile: an overlay upper directory never does; on a
//! copied rootfs, which the next step changes in place, the changed files are
//! copied aside first (`copy_file_range`: a kernel copy, a reflink where the
//! filesystem has them, far cheaper than the hashing).
//!
//! Layers join the stage in order: the oldest writer is waited for when too many
//! are in flight, and all of them ([`flush`]) before anything reads the stage's
//! layers (COPY, ADD, WORKDIR, the end of the stage).

use std::collections::VecDeque;
use std::fs;
use std::path::Path;
use std::thread::JoinHandle;

use hoist_layer::{Entry, EntryKind, FileSource};

use super::RunEnv;
use crate::commit::{Written, write_layer_unreported};
use crate::error::BuildError;
use crate::exec::StageState;
use crate::rootfs::LayerRef;

/// Layer writers running at once, at most.
const IN_FLIGHT: usize = 2;

/// A RUN layer being written.
pub(crate) struct PendingLayer {
    handle: JoinHandle<Result<Written, BuildError>>,
    /// The step changed the materialised rootfs in place (not an overlay upper).
    in_place: bool,
}

/// The stage's layers being written, oldest first.
pub(crate) type Pending = VecDeque<PendingLayer>;

impl PendingLayer {
    /// True when the layer's changes are in the stage's materialised rootfs.
    pub(crate) fn in_place(&self) -> bool {
        self.in_place
    }
}

/// Starts writing a RUN layer and queues it on the stage. `in_place`: its files
/// are in the materialised rootfs, which later steps change, so they are copied
/// aside first.
pub(crate) fn start(
    env: &RunEnv<'_>,
    st: &mut StageState,
    entries: Vec<Entry>,
    in_place: bool,
) -> Result<(), BuildError> {
    let (entries, stash) = if in_place {
        let (e, s) = stash(entries, env.work)?;
        (e, Some(s))
    } else {
        (entries, None)
    };
    let store = env.store.clone();
    let opts = env.layer_opts.clone();
    let handle = std::thread::Builder::new()
        .name("layer-writer".into())
        .spawn(move || {
            let tid = rustix::thread::gettid();
            // Its pipeline threads inherit the priority.
            if let Err(e) = rustix::process::setpriority_process(Some(tid), 10) {
                tracing::debug!(error = %e, "cannot lower the layer writer's priority");
            }
            let written = write_layer_unreported(&store, entries, &opts);
            drop(stash);
            written
        })
        .map_err(|source| BuildError::Io {
            what: "start a layer writer thread in",
            path: env.work.to_path_buf(),
            source,
        })?;
    st.pending.push_back(PendingLayer { handle, in_place });
    while st.pending.len() > IN_FLIGHT {
        finish_oldest(env, st)?;
    }
    Ok(())
}

/// Copies the content of every regular file of `entries` into a private
/// directory under `work` and points the entries there.
fn stash(
    mut entries: Vec<Entry>,
    work: &Path,
) -> Result<(Vec<Entry>, tempfile::TempDir), BuildError> {
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
    Ok((entries, stash))
}

/// Waits for the oldest writer and appends its layer to the stage.
fn finish_oldest(env: &RunEnv<'_>, st: &mut StageState) -> Result<(), BuildError> {
    let Some(p) = st.pending.pop_front() else {
        return Ok(());
    };
    let written = p
        .handle
        .join()
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))?;
    written.report(env.reporter);
    if !p.in_place {
        let index = st.layers.len();
        st.fs.dirs.publish(env.store, index, &written.layer);
    }
    finish(st, written.layer);
    Ok(())
}

/// Appends a written layer to the stage.
pub(crate) fn finish(st: &mut StageState, layer: LayerRef) {
    st.config.rootfs.diff_ids.push(layer.diff_id.clone());
    st.layers.push(layer);
}

/// Waits for every layer being written, so the stage's layers are complete.
pub(crate) fn flush(env: &RunEnv<'_>, st: &mut StageState) -> Result<(), BuildError> {
    while !st.pending.is_empty() {
        finish_oldest(env, st)?;
    }
    Ok(())
}
