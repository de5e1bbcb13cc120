//! Walking source trees into [`CopyItem`]s.

use std::collections::HashMap;
use std::fs::Metadata;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use super::{CopyItem, ItemKind};
use crate::error::ContextError;
use crate::ignore::IgnoreMatcher;

/// An item plus what is needed to detect hard links once the output is sorted.
struct Entry {
    item: CopyItem,
    /// `(dev, ino)` of a non-directory with more than one link.
    inode: Option<(u64, u64)>,
}

/// The entry being visited, in the four forms the filters and the output need.
struct Cursor {
    /// Host path.
    host: PathBuf,
    /// Physical path relative to the root (for .dockerignore).
    rel: String,
    /// Path relative to the copied directory (for `--exclude` and `--parents`).
    sub: String,
    /// Image path.
    dest: String,
}

impl Cursor {
    fn push(&mut self, name: &str) -> [usize; 3] {
        let marks = [self.rel.len(), self.sub.len(), self.dest.len()];
        self.host.push(name);
        for s in [&mut self.rel, &mut self.sub] {
            if !s.is_empty() {
                s.push('/');
            }
            s.push_str(name);
        }
        if !self.dest.ends_with('/') {
            self.dest.push('/');
        }
        self.dest.push_str(name);
        marks
    }

    fn pop(&mut self, marks: [usize; 3]) {
        self.host.pop();
        self.rel.truncate(marks[0]);
        self.sub.truncate(marks[1]);
        self.dest.truncate(marks[2]);
    }
}

/// Per-pattern "an ancestor matched" bits of a directory, one list per matcher (empty
/// when that matcher is absent).
#[derive(Default)]
struct Bits {
    ignore: Vec<bool>,
    exclude: Vec<bool>,
    include: Vec<bool>,
}

/// Collects items from top-level sources and directory walks.
pub(crate) struct Walker<'a> {
    root: &'a Path,
    ignore: Option<&'a IgnoreMatcher>,
    exclude: Option<&'a IgnoreMatcher>,
    out: Vec<Entry>,
}

impl<'a> Walker<'a> {
    pub(crate) fn new(
        root: &'a Path,
        ignore: Option<&'a IgnoreMatcher>,
        exclude: Option<&'a IgnoreMatcher>,
    ) -> Self {
        Walker {
            root,
            ignore,
            exclude,
            out: Vec::new(),
        }
    }

    /// Emits the single entry at physical path `rel` as `dest`.
    pub(crate) fn emit_one(
        &mut self,
        rel: &str,
        md: &Metadata,
        dest: &str,
    ) -> Result<(), ContextError> {
        self.push_item(&self.root.join(rel), dest, md)
    }

    /// Emits directory `rel` as `dest` and its contents below it. With `hidden` (the
    /// directory itself is excluded by .dockerignore) nothing is emitted unless something
    /// inside is re-included; returns whether anything was. `include` is the `--parents`
    /// pattern list, matched relative to `rel`.
    pub(crate) fn emit_dir(
        &mut self,
        rel: &str,
        md: &Metadata,
        dest: &str,
        hidden: bool,
        include: Option<&IgnoreMatcher>,
    ) -> Result<bool, ContextError> {
        let mark = self.out.len();
        let mut cur = Cursor {
            host: self.root.join(rel),
            rel: rel.to_string(),
            sub: String::new(),
            dest: dest.to_string(),
        };
        // The image root itself is never an item: the builder owns `/`.
        if dest != "/" {
            self.push_item(&cur.host, dest, md)?;
        }
        let bits = Bits {
            ignore: self.ignore.map(|m| m.bits_for(rel)).unwrap_or_default(),
            exclude: self
                .exclude
                .map(IgnoreMatcher::root_bits)
                .unwrap_or_default(),
            include: include.map(IgnoreMatcher::root_bits).unwrap_or_default(),
        };
        let any = self.walk_dir(&mut cur, &bits, include)?;
        if hidden && !any {
            self.out.truncate(mark);
            return Ok(false);
        }
        Ok(true)
    }

    /// Emits the visible contents of `cur` (a directory); returns whether anything was.
    fn walk_dir(
        &mut self,
        cur: &mut Cursor,
        bits: &Bits,
        include: Option<&IgnoreMatcher>,
    ) -> Result<bool, ContextError> {
        let start = self.out.len();
        let dir = std::fs::read_dir(&cur.host).map_err(|e| ContextError::io(&cur.host, e))?;
        for entry in dir {
            let entry = entry.map_err(|e| ContextError::io(&cur.host, e))?;
            let name_os = entry.file_name();
            let Some(name) = name_os.to_str() else {
                return Err(ContextError::NonUtf8 {
                    path: cur.host.join(&name_os),
                });
            };
            // d_type: no extra syscall on Linux.
            let is_dir = entry
                .file_type()
                .map_err(|e| ContextError::io(&cur.host, e))?
                .is_dir();
            let marks = cur.push(name);
            let mut child = is_dir.then(|| Bits {
                ignore: vec![false; bits.ignore.len()],
                exclude: vec![false; bits.exclude.len()],
                include: vec![false; bits.include.len()],
            });
            let ignored = self.ignore.is_some_and(|m| {
                m.eval(
                    &cur.rel,
                    &bits.ignore,
                    child.as_mut().map(|c| &mut c.ignore),
                )
            });
            let excluded = self.exclude.is_some_and(|m| {
                m.eval(
                    &cur.sub,
                    &bits.exclude,
                    child.as_mut().map(|c| &mut c.exclude),
                )
            });
            let included = include.is_none_or(|m| {
                m.eval(
                    &cur.sub,
                    &bits.include,
                    child.as_mut().map(|c| &mut c.include),
                )
            });
            let visible = !ignored && !excluded && included;
            match child {
                None if visible => {
                    let md = entry
                        .metadata()
                        .map_err(|e| ContextError::io(&cur.host, e))?;
                    self.push_item(&cur.host, &cur.dest, &md)?;
                }
                None => {}
                Some(child) => {
                    // A filtered-out directory is walked only when something below it could
                    // be filtered back in, and kept only if something was.
                    let worth = visible
                        || ((!ignored
                            || self.ignore.is_some_and(|m| m.may_reinclude_below(&cur.rel)))
                            && (!excluded
                                || self
                                    .exclude
                                    .is_some_and(|m| m.may_reinclude_below(&cur.sub)))
                            && (included || include.is_some_and(|m| m.may_match_below(&cur.sub))));
                    if worth {
                        let md = entry
                            .metadata()
                            .map_err(|e| ContextError::io(&cur.host, e))?;
                        let mark = self.out.len();
                        self.push_item(&cur.host, &cur.dest, &md)?;
                        let any = self.walk_dir(cur, &child, include)?;
                        if !visible && !any {
                            self.out.truncate(mark);
                        }
                    }
                }
            }
            cur.pop(marks);
        }
        Ok(self.out.len() > start)
    }

    fn push_item(&mut self, host: &Path, dest: &str, md: &Metadata) -> Result<(), ContextError> {
        let ft = md.file_type();
        let kind = if ft.is_dir() {
            ItemKind::Dir
        } else if ft.is_file() {
            ItemKind::File { size: md.len() }
        } else if ft.is_symlink() {
            let target = std::fs::read_link(host).map_err(|e| ContextError::io(host, e))?;
            let target =
                target
                    .into_os_string()
                    .into_string()
                    .map_err(|_| ContextError::NonUtf8 {
                        path: host.to_path_buf(),
                    })?;
            ItemKind::Symlink { target }
        } else {
            tracing::warn!(path = %host.display(), "skipping special file (socket, fifo or device)");
            return Ok(());
        };
        let inode = (!ft.is_dir() && md.nlink() > 1).then(|| (md.dev(), md.ino()));
        self.out.push(Entry {
            item: CopyItem {
                src: host.to_path_buf(),
                dest: dest.to_string(),
                kind,
                mode: md.mode() & 0o7777,
                mtime: (md.mtime(), md.mtime_nsec().clamp(0, 999_999_999) as u32),
                uid: md.uid(),
                gid: md.gid(),
                hardlink_of: None,
            },
            inode,
        });
        Ok(())
    }

    /// Sorts by destination, lets later sources win a shared destination, and links
    /// hard links to the first item (in output order) with the same inode. Works in place:
    /// the output reuses the walk's buffer.
    pub(crate) fn finish(self) -> Result<Vec<CopyItem>, ContextError> {
        let mut all = self.out;
        // Sort indices, not the (large) entries; the index breaks ties so that among equal
        // destinations the later source comes last.
        let mut order: Vec<u32> = (0..all.len() as u32).collect();
        order.sort_unstable_by(|&a, &b| {
            let key = |i: u32| all[i as usize].item.dest.as_str();
            key(a).cmp(key(b)).then(a.cmp(&b))
        });
        permute(&mut all, &mut order);
        // Keep the last of each run of equal destinations.
        let mut kept = 0;
        for r in 0..all.len() {
            if kept > 0 && all[kept - 1].item.dest == all[r].item.dest {
                let dir = |x: &Entry| matches!(x.item.kind, ItemKind::Dir);
                if dir(&all[kept - 1]) != dir(&all[r]) {
                    return Err(ContextError::Conflict {
                        dest: all[r].item.dest.clone(),
                    });
                }
                all.swap(kept - 1, r);
            } else {
                all.swap(kept, r);
                kept += 1;
            }
        }
        all.truncate(kept);
        let mut first: HashMap<(u64, u64), usize> = HashMap::new();
        for i in 0..all.len() {
            if let Some(key) = all[i].inode {
                match first.get(&key) {
                    Some(&j) => all[i].item.hardlink_of = Some(all[j].item.dest.clone()),
                    None => {
                        first.insert(key, i);
                    }
                }
            }
        }
        Ok(all.into_iter().map(|e| e.item).collect())
    }
}

/// Reorders `v` so that position `i` holds the element that was at `order[i]`, by
/// following cycles (each element moves once). `order` is left scrambled.
fn permute<T>(v: &mut [T], order: &mut [u32]) {
    for start in 0..v.len() {
        let mut cur = start;
        // `order[i] == i` marks a settled position.
        while order[cur] as usize != start {
            let next = order[cur] as usize;
            v.swap(cur, next);
            order[cur] = cur as u32;
            cur = next;
        }
        order[cur] = cur as u32;
    }
}

#[cfg(test)]
mod tests {
    use super::permute;

    #[test]
    fn permute_follows_the_order() {
        let mut v = vec!['a', 'b', 'c', 'd', 'e'];
        let mut order = vec![3, 0, 4, 1, 2];
        permute(&mut v, &mut order);
        assert_eq!(v, ['d', 'a', 'e', 'b', 'c']);
        let mut v: Vec<u32> = (0..100).collect();
        let mut order: Vec<u32> = (0..100).map(|i| (i * 37) % 100).collect();
        let want: Vec<u32> = order.clone();
        permute(&mut v, &mut order);
        assert_eq!(v, want);
    }
}
