//! Creating each kind of entry under a [`Root`].

use std::collections::HashSet;
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, BorrowedFd};

use rustix::fs::{AtFlags, Gid, Mode, OFlags, Timespec, Timestamps, Uid, XattrFlags};
use rustix::io::Errno;

use super::ExtractOptions;
use super::root::{Existing, Root, rel_path};
use crate::entry::Timestamp;
use crate::error::LayerError;

/// Metadata read from an archive entry.
#[derive(Debug, Clone)]
pub(crate) struct DirMeta {
    mode: u32,
    uid: u32,
    gid: u32,
    mtime: Timestamp,
    xattrs: Vec<(Vec<u8>, Vec<u8>)>,
}

/// Reads mode, owner, mtime (with PAX sub-second precision) and xattrs.
pub(crate) fn read_meta<R: Read>(entry: &mut tar::Entry<'_, R>) -> io::Result<DirMeta> {
    let h = entry.header();
    let mode = h.mode()? & 0o7777;
    // Empty numeric fields read as 0, as Go's archive/tar does.
    let uid = h.uid().map_or(0, |v| u32::try_from(v).unwrap_or(u32::MAX));
    let gid = h.gid().map_or(0, |v| u32::try_from(v).unwrap_or(u32::MAX));
    let secs = h
        .mtime()
        .map_or(0, |v| i64::try_from(v).unwrap_or(i64::MAX));
    let mut mtime = Timestamp::from_secs(secs);
    let mut xattrs = Vec::new();
    if let Some(pax) = entry.pax_extensions()? {
        for ext in pax {
            let ext = ext?;
            let key = ext.key_bytes();
            if key == b"mtime" {
                if let Some(t) = ext.value().ok().and_then(super::parse_pax_time) {
                    mtime = t;
                }
            } else if let Some(name) = key.strip_prefix(b"SCHILY.xattr.") {
                xattrs.push((name.to_vec(), ext.value_bytes().to_vec()));
            }
        }
    }
    Ok(DirMeta {
        mode,
        uid,
        gid,
        mtime,
        xattrs,
    })
}

impl DirMeta {
    /// The entry's owner and permission bits as the archive says.
    pub(crate) fn owner(&self) -> crate::diff::Owner {
        crate::diff::Owner {
            uid: self.uid,
            gid: self.gid,
            mode: self.mode,
        }
    }
}

/// Writes entries under the root, applying options.
pub(crate) struct Applier<'a> {
    root: &'a Root,
    opts: &'a ExtractOptions,
    is_root: bool,
    chown_warned: bool,
    buf: Vec<u8>,
}

fn timestamps(t: Timestamp) -> Timestamps {
    let ts = Timespec {
        tv_sec: t.secs,
        tv_nsec: i64::from(t.nanos),
    };
    Timestamps {
        last_access: ts,
        last_modification: ts,
    }
}

impl<'a> Applier<'a> {
    pub(crate) fn new(root: &'a Root, opts: &'a ExtractOptions) -> Self {
        Applier {
            root,
            opts,
            is_root: rustix::process::geteuid().is_root(),
            chown_warned: false,
            buf: vec![0; 256 * 1024],
        }
    }

    fn parent(&self, parent: &[Vec<u8>]) -> Result<std::os::fd::OwnedFd, LayerError> {
        self.root
            .open_dir(parent, true)?
            .ok_or_else(|| LayerError::fs("open", rel_path(parent), Errno::NOENT))
    }

    /// Clears the way for a non-directory at `name`.
    fn clear(
        dir: BorrowedFd<'_>,
        name: &[u8],
        path: impl Fn() -> std::path::PathBuf,
    ) -> Result<(), LayerError> {
        Root::remove_all(dir, name).map_err(|e| LayerError::fs("remove", path(), e))
    }

    /// Creates (or keeps) the directory `parent/name`; metadata comes later.
    pub(crate) fn dir(&mut self, parent: &[Vec<u8>], name: &[u8]) -> Result<(), LayerError> {
        let pfd = self.parent(parent)?;
        let path = || rel_path(&[parent, &[name.to_vec()]].concat());
        match Root::existing(pfd.as_fd(), name).map_err(|e| LayerError::fs("stat", path(), e))? {
            Existing::Dir => return Ok(()),
            Existing::Other => Self::clear(pfd.as_fd(), name, path)?,
            Existing::Nothing => {}
        }
        rustix::fs::mkdirat(&pfd, name, Mode::from_raw_mode(0o700))
            .map_err(|e| LayerError::fs("mkdir", path(), e))
    }

    /// Applies a directory's metadata (called once all entries are written).
    pub(crate) fn finish_dir(
        &mut self,
        comps: &[Vec<u8>],
        meta: &DirMeta,
    ) -> Result<(), LayerError> {
        let Some(fd) = self.root.open_dir(comps, false)? else {
            // Removed by a later whiteout or replaced: nothing to apply.
            return Ok(());
        };
        let path = || rel_path(comps);
        self.owner_fd(fd.as_fd(), meta, &path)?;
        rustix::fs::fchmod(&fd, Mode::from_raw_mode(meta.mode))
            .map_err(|e| LayerError::fs("chmod", path(), e))?;
        self.xattrs_fd(fd.as_fd(), meta, &path);
        rustix::fs::futimens(&fd, &timestamps(meta.mtime))
            .map_err(|e| LayerError::fs("set times on", path(), e))
    }

    /// Writes a regular file; returns the bytes written.
    pub(crate) fn file<R: Read>(
        &mut self,
        parent: &[Vec<u8>],
        name: &[u8],
        data: &mut R,
        meta: &DirMeta,
    ) -> Result<u64, LayerError> {
        let pfd = self.parent(parent)?;
        let path = || rel_path(&[parent, &[name.to_vec()]].concat());
        Self::clear(pfd.as_fd(), name, path)?;
        let fd = rustix::fs::openat(
            &pfd,
            name,
            OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::from_raw_mode(0o600),
        )
        .map_err(|e| LayerError::fs("create", path(), e))?;
        let mut file = File::from(fd);
        let mut written = 0u64;
        loop {
            let n = match data.read(&mut self.buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(LayerError::ReadArchive(e)),
            };
            file.write_all(&self.buf[..n])
                .map_err(|e| LayerError::fs("write", path(), e))?;
            written += n as u64;
        }
        self.owner_fd(file.as_fd(), meta, &path)?;
        rustix::fs::fchmod(&file, Mode::from_raw_mode(meta.mode))
            .map_err(|e| LayerError::fs("chmod", path(), e))?;
        self.xattrs_fd(file.as_fd(), meta, &path);
        rustix::fs::futimens(&file, &timestamps(meta.mtime))
            .map_err(|e| LayerError::fs("set times on", path(), e))?;
        Ok(written)
    }

    /// Creates a symlink; its target is stored verbatim and never followed here.
    pub(crate) fn symlink(
        &mut self,
        parent: &[Vec<u8>],
        name: &[u8],
        target: &[u8],
        meta: &DirMeta,
    ) -> Result<(), LayerError> {
        let pfd = self.parent(parent)?;
        let path = || rel_path(&[parent, &[name.to_vec()]].concat());
        Self::clear(pfd.as_fd(), name, path)?;
        rustix::fs::symlinkat(target, &pfd, name)
            .map_err(|e| LayerError::fs("symlink", path(), e))?;
        if self.opts.chown {
            let r = rustix::fs::chownat(
                &pfd,
                name,
                Some(Uid::from_raw(meta.uid)),
                Some(Gid::from_raw(meta.gid)),
                AtFlags::SYMLINK_NOFOLLOW,
            );
            self.owner_result(r, &path)?;
        }
        rustix::fs::utimensat(
            &pfd,
            name,
            &timestamps(meta.mtime),
            AtFlags::SYMLINK_NOFOLLOW,
        )
        .map_err(|e| LayerError::fs("set times on", path(), e))
    }

    /// Links `parent/name` to `target` (cleaned, relative to the root).
    pub(crate) fn hardlink(
        &mut self,
        parent: &[Vec<u8>],
        name: &[u8],
        target: &[Vec<u8>],
    ) -> Result<(), LayerError> {
        let path = || rel_path(&[parent, &[name.to_vec()]].concat());
        let Some((tname, tparent)) = target.split_last() else {
            return Err(LayerError::Escape {
                path: rel_path(target).display().to_string(),
            });
        };
        let tfd = self
            .root
            .open_dir(tparent, false)?
            .ok_or_else(|| LayerError::fs("link to", rel_path(target), Errno::NOENT))?;
        match Root::existing(tfd.as_fd(), tname)
            .map_err(|e| LayerError::fs("stat", rel_path(target), e))?
        {
            Existing::Other => {}
            Existing::Dir => return Err(LayerError::fs("link to", rel_path(target), Errno::ISDIR)),
            Existing::Nothing => {
                return Err(LayerError::fs("link to", rel_path(target), Errno::NOENT));
            }
        }
        let pfd = self.parent(parent)?;
        if parent == tparent && name == tname.as_slice() {
            return Ok(()); // a link to itself: already there
        }
        Self::clear(pfd.as_fd(), name, path)?;
        rustix::fs::linkat(&tfd, tname.as_slice(), &pfd, name, AtFlags::empty())
            .map_err(|e| LayerError::fs("link", path(), e))
    }

    /// Applies `.wh.<name>`: removes `parent/name` if present.
    pub(crate) fn whiteout(&mut self, parent: &[Vec<u8>], name: &[u8]) -> Result<(), LayerError> {
        let Some(pfd) = self.root.open_dir(parent, false)? else {
            return Ok(());
        };
        let path = || rel_path(&[parent, &[name.to_vec()]].concat());
        Self::clear(pfd.as_fd(), name, path)
    }

    /// Records `.wh.<name>` as an overlay whiteout (a 0/0 character device).
    pub(crate) fn overlay_whiteout(
        &mut self,
        parent: &[Vec<u8>],
        name: &[u8],
    ) -> Result<(), LayerError> {
        let pfd = self.parent(parent)?;
        let path = || rel_path(&[parent, &[name.to_vec()]].concat());
        Self::clear(pfd.as_fd(), name, path)?;
        rustix::fs::mknodat(
            &pfd,
            name,
            rustix::fs::FileType::CharacterDevice,
            Mode::empty(),
            0,
        )
        .map_err(|e| LayerError::fs("create whiteout", path(), e))
    }

    /// Records `.wh..wh..opq` as the overlay opaque xattr on `dir`.
    pub(crate) fn overlay_opaque(&mut self, dir: &[Vec<u8>]) -> Result<(), LayerError> {
        let dfd = self.parent(dir)?;
        rustix::fs::fsetxattr(
            &dfd,
            crate::overlay::OPAQUE_XATTR,
            b"y",
            XattrFlags::empty(),
        )
        .map_err(|e| LayerError::fs("mark opaque", rel_path(dir), e))
    }

    /// Applies `.wh..wh..opq`: removes everything in `dir` not unpacked by this archive.
    pub(crate) fn opaque(
        &mut self,
        dir: &[Vec<u8>],
        unpacked: &HashSet<Vec<u8>>,
    ) -> Result<(), LayerError> {
        let dfd = self.parent(dir)?;
        let names =
            Root::list(dfd.as_fd()).map_err(|e| LayerError::fs("list", rel_path(dir), e))?;
        for n in names {
            let full = [dir, std::slice::from_ref(&n)].concat();
            if unpacked.contains(&full.join(&b'/')) {
                continue;
            }
            Self::clear(dfd.as_fd(), &n, || rel_path(&full))?;
        }
        Ok(())
    }

    fn owner_fd(
        &mut self,
        fd: BorrowedFd<'_>,
        meta: &DirMeta,
        path: &dyn Fn() -> std::path::PathBuf,
    ) -> Result<(), LayerError> {
        if !self.opts.chown {
            return Ok(());
        }
        let r = rustix::fs::fchown(
            fd,
            Some(Uid::from_raw(meta.uid)),
            Some(Gid::from_raw(meta.gid)),
        );
        self.owner_result(r, path)
    }

    fn owner_result(
        &mut self,
        r: Result<(), Errno>,
        path: &dyn Fn() -> std::path::PathBuf,
    ) -> Result<(), LayerError> {
        match r {
            Ok(()) => Ok(()),
            Err(Errno::PERM | Errno::INVAL) => {
                if !self.chown_warned {
                    tracing::warn!(path = %path().display(), "cannot change ownership (not permitted); keeping the caller's");
                    self.chown_warned = true;
                }
                Ok(())
            }
            Err(e) => Err(LayerError::fs("chown", path(), e)),
        }
    }

    fn xattrs_fd(&self, fd: BorrowedFd<'_>, meta: &DirMeta, path: &dyn Fn() -> std::path::PathBuf) {
        if !self.opts.xattrs {
            return;
        }
        for (name, value) in &meta.xattrs {
            if !self.is_root && !name.starts_with(b"user.") {
                tracing::debug!(path = %path().display(), name = %String::from_utf8_lossy(name), "skipping privileged xattr");
                continue;
            }
            // Best effort by contract: the filesystem may not support xattrs.
            if let Err(e) = rustix::fs::fsetxattr(fd, name.as_slice(), value, XattrFlags::empty()) {
                tracing::debug!(path = %path().display(), name = %String::from_utf8_lossy(name), error = %e, "cannot set xattr");
            }
        }
    }
}
