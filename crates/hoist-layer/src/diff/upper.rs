//! What a step changed, read from the upper directory of an overlay mount:
//! [`upper_diff`].
//!
//! The upper directory holds exactly the changes (overlayfs copies a file up
//! before changing it), so the cost is proportional to what changed, not to the
//! size of the image. Same entry rules as [`diff`](super::diff()):
//!
//! * files, symlinks and new directories become entries; a directory that was
//!   only copied up (same mode and owner as below) is included only as the
//!   ancestor of another entry;
//! * 0/0 character devices become [`EntryKind::Whiteout`]s, directories with the
//!   opaque xattr [`EntryKind::OpaqueDir`]s (everything below them is included);
//! * files sharing an inode become one file plus [`EntryKind::Hardlink`]s;
//! * fifos, sockets and device nodes are skipped with a warning; overlayfs's own
//!   xattrs and all others are not recorded.
//!
//! Ownership: a path whose on-disk uid and gid equal those of the same path in
//! the lower layers keeps the image's owner from [`UpperOptions::owners`]
//! (overlayfs keeps the owner when it copies a file up); other paths map their
//! on-disk ids through [`UpperOptions::ids`].

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

use super::owners::{IdRemap, Owner};
use crate::entry::{Entry, EntryKind, EntryMeta, FileSource, Timestamp};
use crate::error::LayerError;
use crate::overlay::{Stack, is_opaque, is_whiteout};

/// The image's owner of a path of a lower layer: `(layer index in the stack,
/// topmost 0; image path)`.
pub type LowerOwners<'a> = &'a dyn Fn(usize, &str) -> Option<Owner>;

/// How [`upper_diff`] decides owners and what it leaves out.
#[derive(Clone, Default)]
pub struct UpperOptions<'a> {
    /// Maps on-disk (host) ids of paths the step wrote to container ids.
    pub ids: IdRemap,
    /// The image's true owners of paths from lower layers, when the lower layers
    /// were unpacked without privileges (their on-disk owner is the caller).
    pub owners: Option<LowerOwners<'a>>,
    /// Image paths left out with everything below them (mount points).
    pub exclude: Vec<String>,
}

/// The layer entries for the changes in `upper` over `lower`.
pub fn upper_diff(
    upper: &Path,
    lower: &Stack,
    opts: &UpperOptions<'_>,
) -> Result<Vec<Entry>, LayerError> {
    let mut nodes: Vec<(String, fs::Metadata)> = Vec::new();
    walk(upper, String::new(), &opts.exclude, &mut nodes)?;

    let mut forced: HashSet<String> = HashSet::new();
    let mut chosen: BTreeMap<String, Choice> = BTreeMap::new();
    for (path, meta) in &nodes {
        let under_forced = parent(path).is_some_and(|p| forced.contains(p));
        let choice = if is_whiteout(meta) {
            Choice::Whiteout
        } else if meta.is_dir() {
            let full = upper.join(path);
            if is_opaque(&full) {
                forced.insert(path.clone());
                Choice::Opaque
            } else if under_forced {
                forced.insert(path.clone());
                Choice::Add
            } else {
                match lower.locate(path) {
                    Some((_, _, l)) if l.is_dir() && same_owner_and_mode(&l, meta) => continue,
                    _ => Choice::Add,
                }
            }
        } else if meta.is_file() || meta.file_type().is_symlink() {
            Choice::Add
        } else {
            tracing::warn!(
                path,
                "skipping a fifo, socket or device node created by the step"
            );
            continue;
        };
        chosen.insert(path.clone(), choice);
    }
    // Every ancestor of an entry, with its metadata from the upper directory.
    let ancestors: Vec<String> = chosen
        .keys()
        .flat_map(|p| ancestors(p).map(str::to_owned).collect::<Vec<_>>())
        .collect();
    for a in ancestors {
        chosen.entry(a).or_insert(Choice::Add);
    }

    let by_path: HashMap<&str, &fs::Metadata> =
        nodes.iter().map(|(p, m)| (p.as_str(), m)).collect();
    let mut links: HashMap<(u64, u64), String> = HashMap::new();
    let mut entries = Vec::with_capacity(chosen.len());
    for (path, choice) in chosen {
        let Some(meta) = by_path.get(path.as_str()) else {
            continue;
        };
        let full = upper.join(&path);
        let kind = match choice {
            Choice::Whiteout => {
                entries.push(Entry {
                    path,
                    kind: EntryKind::Whiteout,
                    meta: EntryMeta::default(),
                });
                continue;
            }
            Choice::Opaque => EntryKind::OpaqueDir,
            Choice::Add if meta.is_dir() => EntryKind::Dir,
            Choice::Add if meta.file_type().is_symlink() => {
                let target =
                    fs::read_link(&full).map_err(|e| LayerError::fs("readlink", &full, e))?;
                EntryKind::Symlink {
                    target: target.to_string_lossy().into_owned(),
                }
            }
            Choice::Add => {
                let key = (meta.dev(), meta.ino());
                match links.get(&key) {
                    Some(first) if meta.nlink() > 1 => EntryKind::Hardlink {
                        target: first.clone(),
                    },
                    _ => {
                        if meta.nlink() > 1 {
                            links.insert(key, path.clone());
                        }
                        EntryKind::File {
                            source: FileSource::Path(full.clone()),
                            size: meta.size(),
                        }
                    }
                }
            }
        };
        let o = owner(&path, meta, lower, opts);
        entries.push(Entry {
            path,
            kind,
            meta: EntryMeta {
                mode: o.mode,
                uid: o.uid,
                gid: o.gid,
                mtime: Timestamp {
                    secs: meta.mtime(),
                    nanos: u32::try_from(meta.mtime_nsec()).unwrap_or(0),
                },
                xattrs: BTreeMap::new(),
            },
        });
    }
    tracing::debug!(upper = %upper.display(), paths = nodes.len(), entries = entries.len(), "upper diff computed");
    Ok(entries)
}

#[derive(Debug, Clone, Copy)]
enum Choice {
    Add,
    Opaque,
    Whiteout,
}

fn same_owner_and_mode(a: &fs::Metadata, b: &fs::Metadata) -> bool {
    (a.permissions().mode() & 0o7777, a.uid(), a.gid())
        == (b.permissions().mode() & 0o7777, b.uid(), b.gid())
}

fn owner(path: &str, meta: &fs::Metadata, lower: &Stack, opts: &UpperOptions<'_>) -> Owner {
    let mode = meta.permissions().mode() & 0o7777;
    if let Some(owners) = opts.owners
        && let Some((layer, _, l)) = lower.locate(path)
        && (l.uid(), l.gid()) == (meta.uid(), meta.gid())
        && let Some(t) = owners(layer, path)
    {
        let same_mode = l.permissions().mode() & 0o7777 == mode;
        return Owner {
            mode: if same_mode { t.mode } else { mode },
            ..t
        };
    }
    Owner {
        uid: opts.ids.uid(meta.uid()),
        gid: opts.ids.gid(meta.gid()),
        mode,
    }
}

/// Depth-first, parents before children, names in byte order.
fn walk(
    dir: &Path,
    prefix: String,
    exclude: &[String],
    out: &mut Vec<(String, fs::Metadata)>,
) -> Result<(), LayerError> {
    let mut names: Vec<_> = fs::read_dir(dir)
        .map_err(|e| LayerError::fs("list", dir, e))?
        .map(|e| e.map(|e| e.file_name()))
        .collect::<Result<_, _>>()
        .map_err(|e| LayerError::fs("list", dir, e))?;
    names.sort();
    for name in names {
        let path = if prefix.is_empty() {
            name.to_string_lossy().into_owned()
        } else {
            format!("{prefix}/{}", name.to_string_lossy())
        };
        if exclude.iter().any(|x| x == &path) {
            continue;
        }
        let full = dir.join(&name);
        let meta = fs::symlink_metadata(&full).map_err(|e| LayerError::fs("stat", &full, e))?;
        let is_dir = meta.is_dir();
        out.push((path.clone(), meta));
        if is_dir {
            walk(&full, path, exclude, out)?;
        }
    }
    Ok(())
}

fn parent(path: &str) -> Option<&str> {
    path.rsplit_once('/').map(|(p, _)| p)
}

fn ancestors(path: &str) -> impl Iterator<Item = &str> {
    std::iter::successors(parent(path), |p| parent(p))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diff::OwnerTable;
    use crate::overlay::{make_opaque, make_whiteout};

    fn kinds(entries: &[Entry]) -> Vec<(String, &'static str)> {
        entries
            .iter()
            .map(|e| {
                let k = match &e.kind {
                    EntryKind::Dir => "dir",
                    EntryKind::File { .. } => "file",
                    EntryKind::Symlink { .. } => "symlink",
                    EntryKind::Hardlink { .. } => "hardlink",
                    EntryKind::Whiteout => "whiteout",
                    EntryKind::OpaqueDir => "opaque",
                };
                (e.path.clone(), k)
            })
            .collect()
    }

    /// An upper directory as overlayfs leaves it, made by hand.
    #[test]
    fn upper_changes_become_entries() {
        let t = tempfile::tempdir().unwrap();
        let (lower, up) = (t.path().join("lower"), t.path().join("upper"));
        fs::create_dir_all(lower.join("etc")).unwrap();
        fs::create_dir_all(lower.join("var/lib/old")).unwrap();
        fs::create_dir_all(lower.join("unchanged/deep")).unwrap();
        fs::write(lower.join("etc/conf"), "a").unwrap();
        fs::write(lower.join("etc/gone"), "a").unwrap();
        fs::write(lower.join("var/lib/old/x"), "a").unwrap();
        // Upper: /etc copied up for a changed file and a deletion; /var/lib/old
        // replaced by a new directory (opaque); a copied-up dir with nothing
        // below; a new dir with a hard-linked pair and a symlink.
        fs::create_dir_all(up.join("etc")).unwrap();
        fs::write(up.join("etc/conf"), "b").unwrap();
        make_whiteout(&up.join("etc"), "gone").unwrap();
        fs::create_dir_all(up.join("var/lib/old")).unwrap();
        make_opaque(&up.join("var/lib/old")).unwrap();
        fs::create_dir(up.join("var/lib/old/empty")).unwrap();
        fs::create_dir_all(up.join("unchanged")).unwrap();
        fs::create_dir(up.join("new")).unwrap();
        fs::write(up.join("new/a"), "x").unwrap();
        fs::hard_link(up.join("new/a"), up.join("new/b")).unwrap();
        std::os::unix::fs::symlink("a", up.join("new/s")).unwrap();
        fs::create_dir_all(up.join("proc/self")).unwrap();

        let stack = Stack::new(vec![lower.clone()]);
        let opts = UpperOptions {
            exclude: vec!["proc".into()],
            ..UpperOptions::default()
        };
        let entries = upper_diff(&up, &stack, &opts).unwrap();
        let got = kinds(&entries);
        let want: Vec<(String, &str)> = [
            ("etc", "dir"),
            ("etc/conf", "file"),
            ("etc/gone", "whiteout"),
            ("new", "dir"),
            ("new/a", "file"),
            ("new/b", "hardlink"),
            ("new/s", "symlink"),
            ("var", "dir"),
            ("var/lib", "dir"),
            ("var/lib/old", "opaque"),
            ("var/lib/old/empty", "dir"),
        ]
        .iter()
        .map(|(p, k)| (p.to_string(), *k))
        .collect();
        assert_eq!(got, want);
        let file = entries.iter().find(|e| e.path == "etc/conf").unwrap();
        assert!(
            matches!(&file.kind, EntryKind::File { size: 1, source: FileSource::Path(p) } if p == &up.join("etc/conf"))
        );
    }

    #[test]
    fn copied_up_files_keep_the_image_owner() {
        let t = tempfile::tempdir().unwrap();
        let (lower, up) = (t.path().join("lower"), t.path().join("upper"));
        fs::create_dir_all(lower.join("home/app")).unwrap();
        fs::write(lower.join("home/app/rc"), "a").unwrap();
        fs::create_dir_all(up.join("home/app")).unwrap();
        fs::write(up.join("home/app/rc"), "ab").unwrap();
        fs::write(up.join("home/app/new"), "n").unwrap();
        let me = rustix::process::geteuid().as_raw();
        let mut table = OwnerTable::new();
        table.apply_entries(&[Entry {
            path: "home/app/rc".into(),
            kind: EntryKind::File {
                source: FileSource::Bytes(b"a".to_vec()),
                size: 1,
            },
            meta: EntryMeta {
                mode: 0o644,
                uid: 1000,
                gid: 1000,
                ..EntryMeta::default()
            },
        }]);
        let lookup = |layer: usize, p: &str| (layer == 0).then(|| table.get(p)).flatten();
        let opts = UpperOptions {
            ids: IdRemap::Single {
                uid: me,
                gid: rustix::process::getegid().as_raw(),
            },
            owners: Some(&lookup),
            exclude: Vec::new(),
        };
        let entries = upper_diff(&up, &Stack::new(vec![lower]), &opts).unwrap();
        let of = |p: &str| {
            let e = entries.iter().find(|e| e.path == p).unwrap();
            (e.meta.uid, e.meta.gid)
        };
        assert_eq!(of("home/app/rc"), (1000, 1000));
        assert_eq!(of("home/app/new"), (0, 0));
    }
}
