//! One `lstat` walk of a directory tree: [`snapshot`].

use std::collections::{HashMap, HashSet};
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::entry::Timestamp;
use crate::error::LayerError;

/// What a path is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeKind {
    /// A directory.
    Dir,
    /// A regular file.
    File,
    /// A symbolic link with its target.
    Symlink(String),
    /// A fifo, socket or device node (never put in a layer).
    Other,
}

/// The recorded state of one path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// What it is.
    pub kind: NodeKind,
    /// Permission bits (`0o7777` mask).
    pub mode: u32,
    /// Owner as stored on disk (a host id).
    pub uid: u32,
    /// Group as stored on disk (a host id).
    pub gid: u32,
    /// Size in bytes.
    pub size: u64,
    /// Modification time.
    pub mtime: Timestamp,
    /// Status change time: catches chmod, chown, link count and restored mtimes.
    pub ctime: Timestamp,
    /// Birth time when the filesystem reports it (statx): tells a recreated path
    /// from the old one even when the inode number is reused at once.
    pub btime: Option<Timestamp>,
    /// Inode number.
    pub ino: u64,
    /// Device number.
    pub dev: u64,
    /// Hard link count.
    pub nlink: u64,
}

impl Node {
    fn from_metadata(path: &Path, m: &fs::Metadata) -> Result<Node, LayerError> {
        let ft = m.file_type();
        let kind = if ft.is_dir() {
            NodeKind::Dir
        } else if ft.is_file() {
            NodeKind::File
        } else if ft.is_symlink() {
            let target = fs::read_link(path).map_err(|e| LayerError::fs("readlink", path, e))?;
            NodeKind::Symlink(target.to_string_lossy().into_owned())
        } else {
            NodeKind::Other
        };
        Ok(Node {
            kind,
            mode: m.mode() & 0o7777,
            uid: m.uid(),
            gid: m.gid(),
            size: if ft.is_file() { m.size() } else { 0 },
            mtime: time(m.mtime(), m.mtime_nsec()),
            ctime: time(m.ctime(), m.ctime_nsec()),
            btime: m.created().ok().and_then(|t| {
                let d = t.duration_since(std::time::UNIX_EPOCH).ok()?;
                Some(Timestamp {
                    secs: i64::try_from(d.as_secs()).ok()?,
                    nanos: d.subsec_nanos(),
                })
            }),
            ino: m.ino(),
            dev: m.dev(),
            nlink: m.nlink(),
        })
    }

    /// Same inode and same recorded state (content and metadata unchanged).
    pub fn same_as(&self, other: &Node) -> bool {
        self == other
    }

    /// Same file object: device, inode and (when known) birth time.
    pub fn same_inode(&self, other: &Node) -> bool {
        (self.dev, self.ino, self.btime) == (other.dev, other.ino, other.btime)
    }
}

fn time(secs: i64, nanos: i64) -> Timestamp {
    Timestamp {
        secs,
        nanos: u32::try_from(nanos).unwrap_or(0),
    }
}

/// What [`snapshot`] records.
#[derive(Debug, Clone, Default)]
pub struct SnapshotOptions {
    /// Image paths (relative, `/`-separated, e.g. `proc` or `run/secrets/token`)
    /// left out together with everything below them: mount points and other paths
    /// that must never reach a layer. [`crate::diff::diff`] walks with the same
    /// exclusions. Default: none.
    pub exclude: Vec<String>,
}

/// The state of every path under a root at one moment.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub(crate) root: PathBuf,
    pub(crate) exclude: HashSet<String>,
    pub(crate) nodes: HashMap<String, Node>,
}

impl Snapshot {
    /// The directory that was walked.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Number of paths recorded (the root itself excluded).
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// True when the tree was empty.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// The recorded state of an image path (`usr/bin/env`), if it existed.
    pub fn get(&self, path: &str) -> Option<&Node> {
        self.nodes.get(path)
    }
}

/// Records the state of every path under `root` (which must be a directory) with
/// one `lstat` per path; symlinks are never followed.
pub fn snapshot(root: &Path, opts: &SnapshotOptions) -> Result<Snapshot, LayerError> {
    let exclude: HashSet<String> = opts
        .exclude
        .iter()
        .map(|p| p.trim_matches('/').to_string())
        .filter(|p| !p.is_empty())
        .collect();
    let mut nodes = HashMap::new();
    walk(root, &exclude, &mut |path, node| {
        nodes.insert(path, node);
        Ok(())
    })?;
    tracing::debug!(root = %root.display(), paths = nodes.len(), "snapshot taken");
    Ok(Snapshot {
        root: root.to_path_buf(),
        exclude,
        nodes,
    })
}

/// Calls `visit` for every path under `root`, parents before children, skipping
/// excluded subtrees.
pub(crate) fn walk(
    root: &Path,
    exclude: &HashSet<String>,
    visit: &mut dyn FnMut(String, Node) -> Result<(), LayerError>,
) -> Result<(), LayerError> {
    let mut stack: Vec<(PathBuf, String)> = vec![(root.to_path_buf(), String::new())];
    while let Some((dir, rel)) = stack.pop() {
        let read = fs::read_dir(&dir).map_err(|e| LayerError::fs("read directory", &dir, e))?;
        for entry in read {
            let entry = entry.map_err(|e| LayerError::fs("read directory", &dir, e))?;
            let name = entry.file_name();
            let name = name.to_string_lossy();
            let child_rel = if rel.is_empty() {
                name.into_owned()
            } else {
                format!("{rel}/{name}")
            };
            if exclude.contains(&child_rel) {
                continue;
            }
            let path = entry.path();
            let meta = fs::symlink_metadata(&path).map_err(|e| LayerError::fs("stat", &path, e))?;
            let node = Node::from_metadata(&path, &meta)?;
            let is_dir = node.kind == NodeKind::Dir;
            visit(child_rel.clone(), node)?;
            if is_dir {
                stack.push((path, child_rel));
            }
        }
    }
    Ok(())
}
