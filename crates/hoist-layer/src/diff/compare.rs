//! Comparing a tree with an earlier [`Snapshot`]: [`diff`].

use std::collections::{BTreeMap, HashMap, HashSet};

use super::owners::{IdRemap, Owner, OwnerTable};
use super::snapshot::{Node, NodeKind, Snapshot, walk};
use crate::entry::{Entry, EntryKind, EntryMeta, FileSource};
use crate::error::LayerError;

/// How [`diff`] decides the owner of changed paths.
#[derive(Debug, Clone, Copy, Default)]
pub struct DiffOptions<'a> {
    /// Maps the on-disk (host) ids of paths written by the sandbox to container ids.
    /// Default: [`IdRemap::Identity`] (on-disk ids are the truth, as for root).
    pub ids: IdRemap,
    /// The image's true owners of the paths that came from layers. A path whose
    /// on-disk uid and gid did not change since the snapshot (e.g. its content was
    /// edited in place) keeps the owner recorded here; so does a new hard link to
    /// such a file. Other paths get their on-disk ids through [`Self::ids`].
    /// Default: `None` (every path goes through [`Self::ids`]).
    pub owners: Option<&'a OwnerTable>,
}

/// Walks `before.root()` again (with the snapshot's exclusions) and returns the
/// layer entries that turn the snapshotted tree into the current one (see the
/// [module docs](crate::diff)). Regular files are referenced by path and read when
/// the layer is written, so the tree must not change in between.
pub fn diff(before: &Snapshot, opts: &DiffOptions<'_>) -> Result<Vec<Entry>, LayerError> {
    let mut order: Vec<String> = Vec::new();
    let mut after: HashMap<String, Node> = HashMap::new();
    walk(&before.root, &before.exclude, &mut |path, node| {
        order.push(path.clone());
        after.insert(path, node);
        Ok(())
    })?;

    // What changed, parents before children.
    let mut opaque: HashSet<&str> = HashSet::new();
    let mut forced: HashSet<&str> = HashSet::new();
    let mut changed: BTreeMap<&str, Change> = BTreeMap::new();
    for path in &order {
        let node = &after[path];
        let parent_forced = parent(path).is_some_and(|p| opaque.contains(p) || forced.contains(p));
        let change = if parent_forced {
            forced.insert(path);
            Some(Change::Add)
        } else {
            match before.nodes.get(path) {
                None => Some(Change::Add),
                Some(b) if b.kind == NodeKind::Dir && node.kind == NodeKind::Dir => {
                    if !b.same_inode(node) {
                        opaque.insert(path);
                        Some(Change::Opaque)
                    } else if (b.mode, b.uid, b.gid) != (node.mode, node.uid, node.gid) {
                        // Only mode or owner count for a directory: its times change
                        // with every entry added or removed (even mount points the
                        // sandbox created and removed); changed children bring it
                        // in as an ancestor anyway.
                        Some(Change::Add)
                    } else {
                        None
                    }
                }
                Some(b) if !b.same_as(node) => Some(Change::Add),
                Some(_) => None,
            }
        };
        if let Some(c) = change {
            if node.kind == NodeKind::Other {
                tracing::warn!(
                    path,
                    "skipping a fifo, socket or device node created by the step"
                );
                continue;
            }
            changed.insert(path, c);
        }
    }

    // Deletions: only the topmost path of a removed tree, nothing hidden by an opaque dir.
    let mut removed: Vec<&str> = Vec::new();
    for path in before.nodes.keys() {
        if after.contains_key(path) {
            continue;
        }
        let parent_is_dir = match parent(path) {
            None => true,
            Some(p) => after.get(p).is_some_and(|n| n.kind == NodeKind::Dir),
        };
        if !parent_is_dir || ancestors(path).any(|a| opaque.contains(a)) {
            continue;
        }
        removed.push(path);
    }

    // Every ancestor of a change, with its real metadata.
    let mut ancestors_needed: HashSet<&str> = HashSet::new();
    for path in changed.keys().copied().chain(removed.iter().copied()) {
        for a in ancestors(path) {
            if changed.contains_key(a) || !ancestors_needed.insert(a) {
                break;
            }
        }
    }
    for a in ancestors_needed {
        changed.insert(a, Change::Add);
    }

    let owners = Owners::new(before, &after, opts);
    let mut entries = Vec::with_capacity(changed.len() + removed.len());
    let mut links: HashMap<(u64, u64), String> = HashMap::new();
    for (path, change) in changed {
        let node = &after[path];
        let o = owners.of(path, node);
        let meta = EntryMeta {
            mode: o.mode,
            uid: o.uid,
            gid: o.gid,
            mtime: node.mtime,
            xattrs: BTreeMap::new(),
        };
        let kind = match (&node.kind, change) {
            (NodeKind::Dir, Change::Opaque) => EntryKind::OpaqueDir,
            (NodeKind::Dir, _) => EntryKind::Dir,
            (NodeKind::Symlink(t), _) => EntryKind::Symlink { target: t.clone() },
            (NodeKind::File, _) if node.nlink > 1 => match links.get(&(node.dev, node.ino)) {
                // `changed` is sorted, so the first path of a group carries the content.
                Some(first) => EntryKind::Hardlink {
                    target: first.clone(),
                },
                None => {
                    links.insert((node.dev, node.ino), path.to_string());
                    file(before, path, node)
                }
            },
            (NodeKind::File, _) => file(before, path, node),
            (NodeKind::Other, _) => continue,
        };
        entries.push(Entry {
            path: path.to_string(),
            kind,
            meta,
        });
    }
    for path in removed {
        entries.push(Entry {
            path: path.to_string(),
            kind: EntryKind::Whiteout,
            meta: EntryMeta::default(),
        });
    }
    tracing::debug!(
        root = %before.root.display(),
        paths = after.len(),
        entries = entries.len(),
        "diff computed"
    );
    Ok(entries)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Change {
    Add,
    Opaque,
}

fn file(before: &Snapshot, path: &str, node: &Node) -> EntryKind {
    EntryKind::File {
        source: FileSource::Path(before.root.join(path)),
        size: node.size,
    }
}

fn parent(path: &str) -> Option<&str> {
    path.rsplit_once('/').map(|(p, _)| p)
}

/// Proper ancestors, nearest first: `a/b/c` → `a/b`, `a`.
fn ancestors(path: &str) -> impl Iterator<Item = &str> {
    std::iter::successors(parent(path), |p| parent(p))
}

/// Decides the image owner of changed paths.
struct Owners<'a> {
    before: &'a Snapshot,
    after: &'a HashMap<String, Node>,
    opts: &'a DiffOptions<'a>,
    /// Paths of regular files from the snapshot, by inode (for new hard links).
    inodes: HashMap<(u64, u64), Vec<&'a str>>,
}

impl<'a> Owners<'a> {
    fn new(
        before: &'a Snapshot,
        after: &'a HashMap<String, Node>,
        opts: &'a DiffOptions<'a>,
    ) -> Self {
        let mut inodes: HashMap<(u64, u64), Vec<&str>> = HashMap::new();
        if opts.owners.is_some() {
            for (p, n) in &before.nodes {
                if n.kind == NodeKind::File {
                    inodes.entry((n.dev, n.ino)).or_default().push(p);
                }
            }
        }
        Owners {
            before,
            after,
            opts,
            inodes,
        }
    }

    fn of(&self, path: &str, node: &Node) -> Owner {
        if let Some(known) = self.known(path, node) {
            return known;
        }
        Owner {
            uid: self.opts.ids.uid(node.uid),
            gid: self.opts.ids.gid(node.gid),
            mode: node.mode,
        }
    }

    /// The table's owner when the on-disk ids did not change since the snapshot.
    fn known(&self, path: &str, node: &Node) -> Option<Owner> {
        let table = self.opts.owners?;
        let same_ids = |b: &Node| b.uid == node.uid && b.gid == node.gid;
        if let Some(b) = self.before.nodes.get(path) {
            // Same inode: edited in place (a replaced file was written by the sandbox).
            if same_ids(b) && b.same_inode(node) {
                let t = table.get(path)?;
                let mode = if b.mode == node.mode {
                    t.mode
                } else {
                    node.mode
                };
                return Some(Owner { mode, ..t });
            }
            return None;
        }
        // A new hard link to a file that is still in place under its old path.
        if node.kind != NodeKind::File || node.nlink < 2 {
            return None;
        }
        let others = self.inodes.get(&(node.dev, node.ino))?;
        others.iter().find_map(|other| {
            let b = &self.before.nodes[*other];
            let now = self.after.get(*other)?;
            if !now.same_inode(b) || !same_ids(b) {
                return None;
            }
            let t = table.get(other)?;
            let mode = if b.mode == node.mode {
                t.mode
            } else {
                node.mode
            };
            Some(Owner { mode, ..t })
        })
    }
}
