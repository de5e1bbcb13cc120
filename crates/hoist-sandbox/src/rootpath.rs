//! Resolving container paths inside the rootfs without ever leaving it, and
//! creating missing mount points while remembering what was created.

use std::collections::VecDeque;
use std::ffi::OsString;
use std::io;
use std::path::{Component, Path, PathBuf};

use crate::sys::{FileKind, Syscall};

/// Symlinks followed before giving up, as the kernel's `MAXSYMLINKS`.
const MAX_SYMLINKS: usize = 40;

fn push_components(queue: &mut VecDeque<OsString>, path: &Path, front: bool) {
    let parts: Vec<OsString> = path
        .components()
        .filter_map(|c| match c {
            Component::Normal(name) => Some(name.to_os_string()),
            Component::ParentDir => Some(OsString::from("..")),
            Component::RootDir | Component::CurDir | Component::Prefix(_) => None,
        })
        .collect();
    if front {
        for part in parts.into_iter().rev() {
            queue.push_front(part);
        }
    } else {
        queue.extend(parts);
    }
}

/// Resolve `path` (a container path) to a host path under `root`, following
/// symlinks as if `root` were `/`: absolute link targets restart at `root` and `..`
/// never climbs above it. Missing components are kept as they are.
pub(crate) fn resolve_in_root(sys: &dyn Syscall, root: &Path, path: &Path) -> io::Result<PathBuf> {
    let mut pending = VecDeque::new();
    push_components(&mut pending, path, false);
    let mut resolved: Vec<OsString> = Vec::new();
    let mut links = 0;
    while let Some(part) = pending.pop_front() {
        if part == ".." {
            resolved.pop();
            continue;
        }
        let mut candidate = root.to_path_buf();
        candidate.extend(&resolved);
        candidate.push(&part);
        if sys.file_kind(&candidate)? == Some(FileKind::Symlink) {
            links += 1;
            if links > MAX_SYMLINKS {
                return Err(io::Error::from_raw_os_error(libc::ELOOP));
            }
            let target = sys.read_link(&candidate)?;
            if target.is_absolute() {
                resolved.clear();
            }
            push_components(&mut pending, &target, true);
        } else {
            resolved.push(part);
        }
    }
    let mut out = root.to_path_buf();
    out.extend(&resolved);
    Ok(out)
}

/// What a mount point must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PointKind {
    /// A directory (for directory and filesystem mounts).
    Dir,
    /// A file (for binds of files).
    File,
}

/// Creates mount points under a root and records the ones it created, relative to
/// the root, parents first.
pub(crate) struct MountPoints<'a> {
    sys: &'a dyn Syscall,
    root: &'a Path,
    created: Vec<PathBuf>,
}

impl<'a> MountPoints<'a> {
    pub(crate) fn new(sys: &'a dyn Syscall, root: &'a Path) -> Self {
        Self {
            sys,
            root,
            created: Vec::new(),
        }
    }

    /// True when `host` (a resolved path) is the root itself.
    pub(crate) fn is_root(&self, host: &Path) -> bool {
        host == self.root
    }

    /// The relative paths created so far.
    pub(crate) fn into_created(self) -> Vec<PathBuf> {
        self.created
    }

    /// Resolve the container path `path` and make sure a `kind` exists there,
    /// creating missing directories (mode 0755) and files (mode 0644). Returns the
    /// resolved host path.
    pub(crate) fn ensure(&mut self, path: &Path, kind: PointKind) -> io::Result<PathBuf> {
        let host = resolve_in_root(self.sys, self.root, path)?;
        let relative = host
            .strip_prefix(self.root)
            .map_err(|_| io::Error::from_raw_os_error(libc::EXDEV))?
            .to_path_buf();
        let parts: Vec<_> = relative.components().collect();
        let mut current = self.root.to_path_buf();
        for (index, part) in parts.iter().enumerate() {
            current.push(part);
            let last = index + 1 == parts.len();
            let want = if last { kind } else { PointKind::Dir };
            match (self.sys.file_kind(&current)?, want) {
                (None, PointKind::Dir) => self.create(&current, PointKind::Dir)?,
                (None, PointKind::File) => self.create(&current, PointKind::File)?,
                (Some(FileKind::Dir), PointKind::Dir) => {}
                (Some(FileKind::File | FileKind::Other), PointKind::File) => {}
                (Some(FileKind::Dir), PointKind::File) => {
                    return Err(io::Error::from_raw_os_error(libc::EISDIR));
                }
                (Some(FileKind::Symlink), PointKind::File) => {
                    // resolve_in_root followed every link; one here appeared since.
                    return Err(io::Error::from_raw_os_error(libc::ELOOP));
                }
                (Some(_), PointKind::Dir) => {
                    return Err(io::Error::from_raw_os_error(libc::ENOTDIR));
                }
            }
        }
        Ok(host)
    }

    fn create(&mut self, path: &Path, kind: PointKind) -> io::Result<()> {
        match kind {
            PointKind::Dir => self.sys.mkdir(path, 0o755)?,
            PointKind::File => self.sys.create_file(path, 0o644)?,
        }
        if let Ok(rel) = path.strip_prefix(self.root) {
            self.created.push(rel.to_path_buf());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sys::fake::{Call, FakeSyscall};

    #[test]
    fn absolute_symlink_stays_inside_root() {
        let sys = FakeSyscall::new()
            .dir("/r/etc")
            .symlink_at("/r/etc/hosts", "/etc/real-hosts");
        let got = resolve_in_root(&sys, Path::new("/r"), Path::new("/etc/hosts")).unwrap();
        assert_eq!(got, PathBuf::from("/r/etc/real-hosts"));
    }

    #[test]
    fn dotdot_cannot_escape_root() {
        let sys = FakeSyscall::new()
            .dir("/r/a")
            .symlink_at("/r/a/up", "../../../../host");
        let got = resolve_in_root(&sys, Path::new("/r"), Path::new("/a/up/x")).unwrap();
        assert_eq!(got, PathBuf::from("/r/host/x"));
        let got = resolve_in_root(&sys, Path::new("/r"), Path::new("/../../etc")).unwrap();
        assert_eq!(got, PathBuf::from("/r/etc"));
    }

    #[test]
    fn symlink_loop_is_an_error() {
        let sys = FakeSyscall::new()
            .dir("/r")
            .symlink_at("/r/a", "/b")
            .symlink_at("/r/b", "/a");
        let err = resolve_in_root(&sys, Path::new("/r"), Path::new("/a")).unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::ELOOP));
    }

    #[test]
    fn ensure_creates_missing_parents_and_records_them() {
        let sys = FakeSyscall::new().dir("/r");
        let mut points = MountPoints::new(&sys, Path::new("/r"));
        let host = points
            .ensure(Path::new("/etc/hosts"), PointKind::File)
            .unwrap();
        assert_eq!(host, PathBuf::from("/r/etc/hosts"));
        let host = points.ensure(Path::new("/proc"), PointKind::Dir).unwrap();
        assert_eq!(host, PathBuf::from("/r/proc"));
        assert_eq!(
            points.into_created(),
            vec![
                PathBuf::from("etc"),
                PathBuf::from("etc/hosts"),
                PathBuf::from("proc")
            ]
        );
        assert_eq!(
            sys.calls(),
            vec![
                Call::Mkdir("/r/etc".into(), 0o755),
                Call::CreateFile("/r/etc/hosts".into(), 0o644),
                Call::Mkdir("/r/proc".into(), 0o755),
            ]
        );
    }

    #[test]
    fn ensure_creates_nothing_when_present() {
        let sys = FakeSyscall::new()
            .dir("/r/proc")
            .file("/r/etc/hosts", 0o644);
        let mut points = MountPoints::new(&sys, Path::new("/r"));
        points.ensure(Path::new("/proc"), PointKind::Dir).unwrap();
        points
            .ensure(Path::new("/etc/hosts"), PointKind::File)
            .unwrap();
        assert!(points.into_created().is_empty());
        assert!(sys.calls().is_empty());
    }

    #[test]
    fn ensure_rejects_kind_mismatch() {
        let sys = FakeSyscall::new()
            .file("/r/proc", 0o644)
            .dir("/r/etc/hosts");
        let mut points = MountPoints::new(&sys, Path::new("/r"));
        let err = points
            .ensure(Path::new("/proc"), PointKind::Dir)
            .unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::ENOTDIR));
        let err = points
            .ensure(Path::new("/etc/hosts"), PointKind::File)
            .unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::EISDIR));
    }
}
