//! Deterministic tar writing: fixed modes, owners and mtimes, streamed file bodies.

use std::fs::File;
use std::io::{BufWriter, Read};
use std::path::{Path, PathBuf};

use tempfile::NamedTempFile;

use crate::StoreError;

/// A tar file being written next to its destination, renamed into place by `finish`.
pub(crate) struct TarOut {
    builder: tar::Builder<BufWriter<NamedTempFile>>,
    dest: PathBuf,
}

impl TarOut {
    pub(crate) fn create(dest: &Path) -> Result<Self, StoreError> {
        let parent = match dest.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let tmp = tempfile::Builder::new()
            .prefix(".hoist-export-")
            .tempfile_in(&parent)
            .map_err(StoreError::io("create temp file in", &parent))?;
        let mut builder = tar::Builder::new(BufWriter::with_capacity(1 << 20, tmp));
        builder.follow_symlinks(false);
        Ok(TarOut {
            builder,
            dest: dest.to_path_buf(),
        })
    }

    fn header(kind: tar::EntryType, mode: u32, size: u64) -> tar::Header {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(kind);
        h.set_mode(mode);
        h.set_uid(0);
        h.set_gid(0);
        h.set_mtime(0);
        h.set_size(size);
        h
    }

    pub(crate) fn dir(&mut self, path: &str) -> Result<(), StoreError> {
        let mut h = Self::header(tar::EntryType::Directory, 0o755, 0);
        self.builder
            .append_data(&mut h, path, std::io::empty())
            .map_err(StoreError::io("write tar entry", &self.dest))
    }

    pub(crate) fn bytes(&mut self, path: &str, data: &[u8]) -> Result<(), StoreError> {
        let mut h = Self::header(tar::EntryType::Regular, 0o644, data.len() as u64);
        self.builder
            .append_data(&mut h, path, data)
            .map_err(StoreError::io("write tar entry", &self.dest))
    }

    /// Streams `size` bytes of `src` (a blob file) into the archive.
    pub(crate) fn file(&mut self, path: &str, src: File, size: u64) -> Result<(), StoreError> {
        let mut h = Self::header(tar::EntryType::Regular, 0o644, size);
        self.builder
            .append_data(&mut h, path, src.take(size))
            .map_err(StoreError::io("write tar entry", &self.dest))
    }

    /// Finishes the archive, fsyncs it and renames it over the destination.
    pub(crate) fn finish(self) -> Result<(), StoreError> {
        let dest = self.dest;
        let buf = self
            .builder
            .into_inner()
            .map_err(StoreError::io("write", &dest))?;
        let tmp = buf.into_inner().map_err(|e| StoreError::Io {
            op: "write",
            path: dest.clone(),
            source: e.into_error(),
        })?;
        tmp.as_file()
            .sync_all()
            .map_err(StoreError::io("fsync", &dest))?;
        crate::fsutil::set_readable(tmp.as_file(), &dest)?;
        tmp.persist(&dest).map_err(|e| StoreError::Io {
            op: "rename into",
            path: dest.clone(),
            source: e.error,
        })?;
        let mut dir = dest.parent().map(Path::to_path_buf).unwrap_or_default();
        if dir.as_os_str().is_empty() {
            dir = PathBuf::from(".");
        }
        crate::fsutil::sync_dir(&dir)
    }
}
