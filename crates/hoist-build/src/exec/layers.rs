//! The instructions that add files: WORKDIR (its directory), COPY and ADD.

use std::path::PathBuf;

use super::{Run, StageState, history_text, push_history};
use crate::commit::write_layer;
use crate::copy::{SourceRoot, copy_entries};
use crate::error::{BuildError, Location};
use crate::parents;
use crate::plan::{self, FromSource, expand};
use crate::rootfs::Etc;
use hoist_dockerfile::Instruction;

impl Run<'_> {
    /// WORKDIR creates its directory when it does not exist yet (a layer with that entry).
    pub(super) fn workdir_layer(
        &mut self,
        st: &mut StageState,
        dir: &str,
    ) -> Result<(), BuildError> {
        let rel = dir.trim_start_matches('/');
        if rel.is_empty() {
            return Ok(());
        }
        let exists = if st.layers.is_empty() {
            false
        } else if self.overlay.load(std::sync::atomic::Ordering::Relaxed) {
            // Anything there (a directory, or a symlink to one) is kept as it is.
            let stack = st.fs.dirs.ensure(self.store, &st.layers)?;
            stack.locate(rel).is_some()
        } else {
            let root = st.fs.ensure(self.store, &st.layers)?;
            root.join(rel).is_dir()
        };
        if exists {
            return Ok(());
        }
        let mut entries = vec![hoist_layer::Entry {
            path: rel.to_string(),
            kind: hoist_layer::EntryKind::Dir,
            meta: self.layer_opts.parent_meta.clone(),
        }];
        if !st.layers.is_empty() {
            self.keep_parents(st, &mut entries)?;
        }
        self.add_layer(st, entries, format!("WORKDIR {dir}"))
    }

    pub(super) fn copy(
        &mut self,
        st: &mut StageState,
        ins: &Instruction,
        at: &Location,
        names: &[Option<String>],
        done: &mut [Option<StageState>],
    ) -> Result<(), BuildError> {
        // --chown=name needs the destination's /etc/passwd.
        let needs_fs = ins
            .flag("chown")
            .and_then(|f| f.value.as_deref())
            .is_some_and(|v| v.split(':').any(|p| p.parse::<u32>().is_err()));
        let (fs_root, stack) = if !needs_fs || st.layers.is_empty() {
            (None, None)
        } else if self.overlay.load(std::sync::atomic::Ordering::Relaxed) {
            (None, Some(st.fs.dirs.ensure(self.store, &st.layers)?))
        } else {
            (Some(st.fs.ensure(self.store, &st.layers)?), None)
        };
        let from = match ins.flag("from").and_then(|f| f.value.as_deref()) {
            Some(v) => {
                let v = expand(&st.lexer, at, v, |n| st.scope.get(n))?;
                Some(plan::from_source(&v, names, at)?)
            }
            None => None,
        };
        let src_root: PathBuf = match &from {
            None => self.context.root().to_path_buf(),
            Some(FromSource::Stage(i)) => {
                let other = done[*i]
                    .as_mut()
                    .ok_or_else(|| BuildError::at(at, "internal: --from stage not built"))?;
                let layers = other.layers.clone();
                other.fs.ensure(self.store, &layers)?
            }
            Some(FromSource::Image(r)) => self.image_root(r, at)?,
        };
        let src = SourceRoot {
            root: &src_root,
            ignore: if from.is_none() {
                Some(self.context.ignore())
            } else {
                None
            },
        };
        let etc = match (&fs_root, &stack) {
            (Some(root), _) => Etc::Dir(root),
            (None, Some(stack)) => Etc::Layers(stack),
            (None, None) => Etc::None,
        };
        let mut entries = copy_entries(st, ins, at, &src, &etc, self.work.path())?;
        if !st.layers.is_empty() {
            self.keep_parents(st, &mut entries)?;
        }
        let text = history_text(ins);
        self.add_layer(st, entries, text)
    }

    /// Parents of a COPY layer's entries keep the metadata the image gives them.
    fn keep_parents(
        &mut self,
        st: &mut StageState,
        entries: &mut Vec<hoist_layer::Entry>,
    ) -> Result<(), BuildError> {
        let disk_owners = crate::rootfs::is_root();
        if self.overlay.load(std::sync::atomic::Ordering::Relaxed) {
            let stack = st.fs.dirs.ensure(self.store, &st.layers)?;
            let dirs = &st.fs.dirs;
            parents::keep_existing_parents(entries, |p| {
                parents::in_stack(&stack, dirs, p, disk_owners)
            });
        } else {
            let root = st.fs.ensure(self.store, &st.layers)?;
            let owners = if disk_owners {
                None
            } else {
                Some(st.fs.owners(self.store, &st.layers)?)
            };
            parents::keep_existing_parents(entries, |p| parents::in_rootfs(&root, owners, p));
        }
        Ok(())
    }

    /// Writes a layer, records it, and applies it to the stage's rootfs if there is one.
    fn add_layer(
        &mut self,
        st: &mut StageState,
        entries: Vec<hoist_layer::Entry>,
        created_by: String,
    ) -> Result<(), BuildError> {
        let layer = write_layer(self.store, entries, &self.layer_opts, self.reporter)?;
        st.config.rootfs.diff_ids.push(layer.diff_id.clone());
        st.layers.push(layer);
        if st.fs.is_materialized() {
            st.fs.ensure(self.store, &st.layers)?;
        }
        push_history(st, created_by, false);
        Ok(())
    }
}
