//! Filesystem operations confined to an extraction root.
//!
//! Every path is walked from the root's directory fd one component at a
//! time with `O_NOFOLLOW`. A symlink met on the way is resolved by hand and
//! scoped to the root (an absolute target restarts at the root, `..` stops at
//! the root), as BuildKit and Docker do: `a -> /etc` then `a/passwd` lands in
//! `<root>/etc/passwd`. The final component is never followed.

use std::collections::VecDeque;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

use rustix::fs::{AtFlags, FileType, Mode, OFlags};
use rustix::io::Errno;

use crate::error::LayerError;

/// Symlinks followed while resolving one path before giving up (Linux's limit).
const MAX_SYMLINKS: usize = 40;
/// Deepest directory nesting that [`Root::remove_all`] descends into.
const MAX_DEPTH: usize = 4096;

/// A lexically cleaned path relative to the root, as raw name components.
pub(crate) type Components = Vec<Vec<u8>>;

/// Cleans an archive path against the root: leading `/` dropped, `.` and empty
/// components skipped, `..` applied; a `..` above the root is an escape.
pub(crate) fn clean(raw: &[u8]) -> Result<Components, LayerError> {
    let mut out: Components = Vec::new();
    for c in raw.split(|&b| b == b'/') {
        match c {
            b"" | b"." => {}
            b".." => {
                if out.pop().is_none() {
                    return Err(LayerError::Escape {
                        path: String::from_utf8_lossy(raw).into_owned(),
                    });
                }
            }
            name => out.push(name.to_vec()),
        }
    }
    Ok(out)
}

/// Displayable relative path of components (for errors and logs).
pub(crate) fn rel_path(c: &[Vec<u8>]) -> PathBuf {
    use std::os::unix::ffi::OsStrExt;
    let joined = c.join(&b'/');
    Path::new(std::ffi::OsStr::from_bytes(&joined)).to_path_buf()
}

/// What sits at a name inside a directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Existing {
    Nothing,
    Dir,
    Other,
}

/// The extraction root, held open as a directory fd.
pub(crate) struct Root {
    fd: OwnedFd,
}

fn dir_flags() -> OFlags {
    OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC
}

impl Root {
    /// Opens (creating if needed) the root directory.
    pub(crate) fn open(path: &Path) -> Result<Self, LayerError> {
        std::fs::create_dir_all(path).map_err(|e| LayerError::fs("create", path, e))?;
        let fd = rustix::fs::open(
            path,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| LayerError::fs("open", path, e))?;
        Ok(Root { fd })
    }

    /// Opens the directory at `path`, following symlinks scoped to the root.
    /// With `create`, missing directories are made (mode 0755, as Docker does).
    /// Returns `None` when something is missing or not a directory and `create` is false.
    pub(crate) fn open_dir(
        &self,
        path: &[Vec<u8>],
        create: bool,
    ) -> Result<Option<OwnedFd>, LayerError> {
        let err = |op, e: Errno| LayerError::fs(op, rel_path(path), e);
        let mut stack: Vec<OwnedFd> = Vec::new();
        let mut queue: VecDeque<Vec<u8>> = path.iter().cloned().collect();
        let mut links = 0;
        while let Some(c) = queue.pop_front() {
            match c.as_slice() {
                b"" | b"." => continue,
                b".." => {
                    stack.pop();
                    continue;
                }
                _ => {}
            }
            let cur = stack.last().map_or(self.fd.as_fd(), |f| f.as_fd());
            match rustix::fs::openat(cur, c.as_slice(), dir_flags(), Mode::empty()) {
                Ok(fd) => {
                    stack.push(fd);
                    continue;
                }
                Err(Errno::NOENT) if create => {
                    match rustix::fs::mkdirat(cur, c.as_slice(), Mode::from_raw_mode(0o755)) {
                        Ok(()) | Err(Errno::EXIST) => {}
                        Err(e) => return Err(err("mkdir", e)),
                    }
                    let fd = rustix::fs::openat(cur, c.as_slice(), dir_flags(), Mode::empty())
                        .map_err(|e| err("open", e))?;
                    stack.push(fd);
                    continue;
                }
                Err(Errno::NOENT) => return Ok(None),
                Err(Errno::LOOP | Errno::NOTDIR) => {}
                Err(e) => return Err(err("open", e)),
            }
            // Not a directory: a symlink to resolve in scope, or a real non-directory.
            let st = rustix::fs::statat(cur, c.as_slice(), AtFlags::SYMLINK_NOFOLLOW)
                .map_err(|e| err("stat", e))?;
            if FileType::from_raw_mode(st.st_mode) != FileType::Symlink {
                if !create {
                    return Ok(None);
                }
                return Err(err("open", Errno::NOTDIR));
            }
            links += 1;
            if links > MAX_SYMLINKS {
                return Err(LayerError::SymlinkLoop {
                    path: rel_path(path).display().to_string(),
                });
            }
            let target = rustix::fs::readlinkat(cur, c.as_slice(), Vec::new())
                .map_err(|e| err("readlink", e))?;
            let target = target.as_bytes();
            if target.starts_with(b"/") {
                stack.clear();
            }
            for part in target.split(|&b| b == b'/').rev() {
                queue.push_front(part.to_vec());
            }
        }
        match stack.pop() {
            Some(fd) => Ok(Some(fd)),
            None => rustix::fs::openat(&self.fd, ".", dir_flags(), Mode::empty())
                .map(Some)
                .map_err(|e| err("open", e)),
        }
    }

    /// What is at `name` in `dir` (never following a symlink).
    pub(crate) fn existing(dir: BorrowedFd<'_>, name: &[u8]) -> io::Result<Existing> {
        match rustix::fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(st) if FileType::from_raw_mode(st.st_mode) == FileType::Directory => {
                Ok(Existing::Dir)
            }
            Ok(_) => Ok(Existing::Other),
            Err(Errno::NOENT) => Ok(Existing::Nothing),
            Err(e) => Err(e.into()),
        }
    }

    /// Removes `name` in `dir` and, for a directory, everything below it,
    /// without following symlinks. Missing is fine.
    pub(crate) fn remove_all(dir: BorrowedFd<'_>, name: &[u8]) -> io::Result<()> {
        remove_all_depth(dir, name, 0)
    }

    /// Names of the entries of `dir` (without `.` and `..`).
    pub(crate) fn list(dir: BorrowedFd<'_>) -> io::Result<Vec<Vec<u8>>> {
        let mut names = Vec::new();
        for entry in rustix::fs::Dir::read_from(dir)? {
            let entry = entry?;
            let n = entry.file_name().to_bytes();
            if n != b"." && n != b".." {
                names.push(n.to_vec());
            }
        }
        Ok(names)
    }
}

fn remove_all_depth(dir: BorrowedFd<'_>, name: &[u8], depth: usize) -> io::Result<()> {
    match Root::existing(dir, name)? {
        Existing::Nothing => Ok(()),
        Existing::Other => match rustix::fs::unlinkat(dir, name, AtFlags::empty()) {
            Ok(()) | Err(Errno::NOENT) => Ok(()),
            Err(e) => Err(e.into()),
        },
        Existing::Dir => {
            if depth >= MAX_DEPTH {
                return Err(io::Error::other("directory tree too deep to remove"));
            }
            let sub = rustix::fs::openat(dir, name, dir_flags(), Mode::empty())?;
            for child in Root::list(sub.as_fd())? {
                remove_all_depth(sub.as_fd(), &child, depth + 1)?;
            }
            match rustix::fs::unlinkat(dir, name, AtFlags::REMOVEDIR) {
                Ok(()) | Err(Errno::NOENT) => Ok(()),
                Err(e) => Err(e.into()),
            }
        }
    }
}
