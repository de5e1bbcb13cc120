//! True ownership of paths whose on-disk owner cannot be trusted.

use std::collections::{BTreeMap, HashSet};
use std::io::Read;

use crate::detect::decompressor;
use crate::entry::{Entry, EntryKind};
use crate::error::LayerError;

/// The id a host id outside every mapping shows as inside a user namespace
/// (`/proc/sys/kernel/overflowuid`'s default).
pub const OVERFLOW_ID: u32 = 65534;

/// How on-disk (host) ids of files written inside the sandbox map back to
/// container ids. It must describe the same mapping the sandbox used.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum IdRemap {
    /// Host ids are container ids (root, chroot or identity map). Default.
    #[default]
    Identity,
    /// Only container 0 was mapped, to host `uid`/`gid`: those become 0, any other
    /// host id becomes [`OVERFLOW_ID`].
    Single {
        /// Host uid of container root.
        uid: u32,
        /// Host gid of container root.
        gid: u32,
    },
    /// Container 0 is host `uid`/`gid`; container `1..=count` is host
    /// `start..start+count` (subordinate ranges): host `h` in the range becomes
    /// `h - start + 1`; anything else becomes [`OVERFLOW_ID`].
    Subid {
        /// Host uid of container root.
        uid: u32,
        /// Host gid of container root.
        gid: u32,
        /// First subordinate uid.
        uid_start: u32,
        /// Number of subordinate uids mapped.
        uid_count: u32,
        /// First subordinate gid.
        gid_start: u32,
        /// Number of subordinate gids mapped.
        gid_count: u32,
    },
}

impl IdRemap {
    /// The container uid of a host uid.
    pub fn uid(&self, host: u32) -> u32 {
        match *self {
            IdRemap::Identity => host,
            IdRemap::Single { uid, .. } => single(host, uid),
            IdRemap::Subid {
                uid,
                uid_start,
                uid_count,
                ..
            } => subid(host, uid, uid_start, uid_count),
        }
    }

    /// The container gid of a host gid.
    pub fn gid(&self, host: u32) -> u32 {
        match *self {
            IdRemap::Identity => host,
            IdRemap::Single { gid, .. } => single(host, gid),
            IdRemap::Subid {
                gid,
                gid_start,
                gid_count,
                ..
            } => subid(host, gid, gid_start, gid_count),
        }
    }
}

fn single(host: u32, root: u32) -> u32 {
    if host == root { 0 } else { OVERFLOW_ID }
}

fn subid(host: u32, root: u32, start: u32, count: u32) -> u32 {
    if host == root {
        0
    } else if host >= start && u64::from(host) < u64::from(start) + u64::from(count) {
        host - start + 1
    } else {
        OVERFLOW_ID
    }
}

/// Owner and permission bits of one path as the image says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Owner {
    /// Container uid.
    pub uid: u32,
    /// Container gid.
    pub gid: u32,
    /// Permission bits (`0o7777` mask).
    pub mode: u32,
}

/// The image's owner and mode of every path of a stack of layers, by image path
/// (`usr/bin/env`), kept in the order the layers apply (whiteouts included).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OwnerTable {
    map: BTreeMap<String, Owner>,
}

impl OwnerTable {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// The recorded owner of an image path.
    pub fn get(&self, path: &str) -> Option<Owner> {
        self.map.get(path).copied()
    }

    /// Number of paths recorded.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// True when nothing is recorded.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// The table as text, one `uid gid mode path` line per path (mode in octal,
    /// `\\` and newlines in paths escaped), for [`OwnerTable::from_text`].
    pub fn to_text(&self) -> String {
        let mut out = String::with_capacity(self.map.len() * 32);
        for (path, o) in &self.map {
            let path = path.replace('\\', "\\\\").replace('\n', "\\n");
            out.push_str(&format!("{} {} {:o} {path}\n", o.uid, o.gid, o.mode));
        }
        out
    }

    /// Reads what [`OwnerTable::to_text`] wrote; `None` when it is not that.
    pub fn from_text(text: &str) -> Option<Self> {
        let mut map = BTreeMap::new();
        for line in text.lines() {
            let mut f = line.splitn(4, ' ');
            let uid = f.next()?.parse().ok()?;
            let gid = f.next()?.parse().ok()?;
            let mode = u32::from_str_radix(f.next()?, 8).ok()?;
            let raw = f.next()?;
            let mut path = String::with_capacity(raw.len());
            let mut chars = raw.chars();
            while let Some(c) = chars.next() {
                match (c, c == '\\') {
                    (_, true) => match chars.next()? {
                        'n' => path.push('\n'),
                        '\\' => path.push('\\'),
                        _ => return None,
                    },
                    (c, false) => path.push(c),
                }
            }
            map.insert(path, Owner { uid, gid, mode });
        }
        Some(OwnerTable { map })
    }

    /// Records one path.
    pub fn insert(&mut self, path: &str, owner: Owner) {
        self.map.insert(path.to_string(), owner);
    }

    /// Forgets `path` and everything below it.
    pub fn remove_tree(&mut self, path: &str) {
        self.map.remove(path);
        self.remove_below(path, &HashSet::new());
    }

    /// Forgets everything below `dir` except `keep`.
    fn remove_below(&mut self, dir: &str, keep: &HashSet<String>) {
        let prefix = if dir.is_empty() {
            String::new()
        } else {
            format!("{dir}/")
        };
        let doomed: Vec<String> = self
            .map
            .range(prefix.clone()..)
            .take_while(|(k, _)| k.starts_with(&prefix))
            .filter(|(k, _)| !keep.contains(*k))
            .map(|(k, _)| k.clone())
            .collect();
        for k in doomed {
            self.map.remove(&k);
        }
    }

    /// Applies a layer's entries, as [`crate::write_layer`] would write them.
    pub fn apply_entries(&mut self, entries: &[Entry]) {
        let in_layer: HashSet<String> = entries.iter().map(|e| e.path.clone()).collect();
        for e in entries {
            let owner = Owner {
                uid: e.meta.uid,
                gid: e.meta.gid,
                mode: e.meta.mode & 0o7777,
            };
            match &e.kind {
                EntryKind::Whiteout => self.remove_tree(&e.path),
                EntryKind::OpaqueDir => {
                    self.remove_below(&e.path, &in_layer);
                    self.insert(&e.path, owner);
                }
                EntryKind::Hardlink { target } => {
                    if let Some(t) = self.get(target) {
                        self.insert(&e.path, t);
                    }
                }
                _ => self.insert(&e.path, owner),
            }
        }
    }

    /// Applies a layer blob's tar headers (plain or compressed): whiteouts remove,
    /// opaque markers hide lower paths, hard links share their target's owner.
    pub fn apply_layer<R: Read>(&mut self, reader: R) -> Result<(), LayerError> {
        let (_, stream) = decompressor(reader)?;
        let mut archive = tar::Archive::new(stream);
        let mut in_layer: HashSet<String> = HashSet::new();
        let mut opaque: Vec<String> = Vec::new();
        for entry in archive.entries().map_err(LayerError::ReadArchive)? {
            let entry = entry.map_err(LayerError::ReadArchive)?;
            let header = entry.header();
            let kind = header.entry_type();
            if kind == tar::EntryType::XGlobalHeader {
                continue;
            }
            let raw = entry.path_bytes();
            let path = clean(&String::from_utf8_lossy(&raw));
            if path.is_empty() {
                continue;
            }
            let (parent, base) = match path.rsplit_once('/') {
                Some((p, b)) => (p.to_string(), b.to_string()),
                None => (String::new(), path.clone()),
            };
            if base == ".wh..wh..opq" {
                opaque.push(parent);
                continue;
            }
            if let Some(name) = base.strip_prefix(".wh.") {
                let gone = if parent.is_empty() {
                    name.to_string()
                } else {
                    format!("{parent}/{name}")
                };
                self.remove_tree(&gone);
                continue;
            }
            let id = |v: std::io::Result<u64>| v.map_or(0, |v| u32::try_from(v).unwrap_or(0));
            let mut owner = Owner {
                uid: id(header.uid()),
                gid: id(header.gid()),
                mode: header.mode().map_or(0o644, |m| m & 0o7777),
            };
            if kind == tar::EntryType::Link {
                let target = entry
                    .link_name_bytes()
                    .map(|t| clean(&String::from_utf8_lossy(&t)))
                    .unwrap_or_default();
                if let Some(t) = self.get(&target) {
                    owner = t;
                }
            }
            // A path replaced by a non-directory loses what was below it.
            if kind != tar::EntryType::Directory {
                self.remove_below(&path, &HashSet::new());
            }
            self.insert(&path, owner);
            in_layer.insert(path);
        }
        for dir in opaque {
            self.remove_below(&dir, &in_layer);
        }
        Ok(())
    }
}

/// `./a/b/` → `a/b`.
fn clean(p: &str) -> String {
    p.split('/')
        .filter(|c| !c.is_empty() && *c != ".")
        .collect::<Vec<_>>()
        .join("/")
}
