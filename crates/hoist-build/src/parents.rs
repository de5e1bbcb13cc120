//! The parent directories of a COPY/ADD layer keep the image's metadata.
//!
//! A layer must contain the parents of its entries. Where the image already has a
//! parent (`/tmp`, `/home/app`), the layer carries that directory's owner, mode
//! and time, as an overlay snapshotter's diff does; made-up metadata (root, 0755)
//! would take `/tmp`'s sticky bit away or hand `/home/app` back to root. Parents
//! the image lacks are added by the layer writer as before.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use hoist_layer::diff::OwnerTable;
use hoist_layer::overlay::Stack;
use hoist_layer::{Entry, EntryKind, EntryMeta, Timestamp};

use crate::layerdirs::LayerDirs;

/// Adds a directory entry, with the image's metadata from `lookup`, for every
/// parent of `entries` that is not an entry itself and that the image has.
pub(crate) fn keep_existing_parents(
    entries: &mut Vec<Entry>,
    lookup: impl Fn(&str) -> Option<EntryMeta>,
) {
    let have: HashSet<&str> = entries.iter().map(|e| e.path.as_str()).collect();
    let mut missing: BTreeSet<String> = BTreeSet::new();
    for e in entries.iter() {
        let mut p = e.path.as_str();
        while let Some((parent, _)) = p.rsplit_once('/') {
            if have.contains(parent) || !missing.insert(parent.to_string()) {
                break;
            }
            p = parent;
        }
    }
    for path in missing {
        if let Some(meta) = lookup(&path) {
            entries.push(Entry {
                path,
                kind: EntryKind::Dir,
                meta,
            });
        }
    }
}

fn meta_of(m: &fs::Metadata) -> EntryMeta {
    EntryMeta {
        mode: m.mode() & 0o7777,
        uid: m.uid(),
        gid: m.gid(),
        mtime: Timestamp {
            secs: m.mtime(),
            nanos: u32::try_from(m.mtime_nsec()).unwrap_or(0),
        },
        xattrs: BTreeMap::new(),
    }
}

/// A directory's metadata through the layer directories (image owners from
/// `dirs` when the disk does not have them).
pub(crate) fn in_stack(
    stack: &Stack,
    dirs: &LayerDirs,
    path: &str,
    disk_owners: bool,
) -> Option<EntryMeta> {
    let (layer, _, m) = stack.locate(path)?;
    if !m.is_dir() {
        return None;
    }
    let mut meta = meta_of(&m);
    if !disk_owners && let Some(o) = dirs.owner(layer, path) {
        (meta.uid, meta.gid, meta.mode) = (o.uid, o.gid, o.mode);
    }
    Some(meta)
}

/// A directory's metadata in a materialised rootfs (image owners from `owners`
/// when the disk does not have them).
pub(crate) fn in_rootfs(root: &Path, owners: Option<&OwnerTable>, path: &str) -> Option<EntryMeta> {
    let m = fs::symlink_metadata(root.join(path)).ok()?;
    if !m.is_dir() {
        return None;
    }
    let mut meta = meta_of(&m);
    if let Some(o) = owners.and_then(|t| t.get(path)) {
        (meta.uid, meta.gid, meta.mode) = (o.uid, o.gid, o.mode);
    }
    Some(meta)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_parents_the_image_has_are_added_with_its_metadata() {
        let mut entries = vec![Entry {
            path: "home/app/notes/a".into(),
            kind: EntryKind::Dir,
            meta: EntryMeta::default(),
        }];
        let lookup = |p: &str| match p {
            "home" => Some(EntryMeta::default()),
            "home/app" => Some(EntryMeta {
                uid: 1000,
                gid: 1000,
                mode: 0o750,
                ..EntryMeta::default()
            }),
            _ => None,
        };
        keep_existing_parents(&mut entries, lookup);
        let got: Vec<(&str, u32)> = entries
            .iter()
            .map(|e| (e.path.as_str(), e.meta.uid))
            .collect();
        assert_eq!(
            got,
            [("home/app/notes/a", 0), ("home", 0), ("home/app", 1000)]
        );
    }
}
