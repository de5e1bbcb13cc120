//! Small filesystem helpers: atomic file replacement and directory fsync.

use std::fs::File;
use std::io::{Read, Write};
use std::path::Path;

use crate::{LAYOUT_VERSION, StoreError};

/// Writes `bytes` to a temp file in `tmp_dir`, fsyncs it, renames it over `dest`
/// and fsyncs `dest`'s directory. Readers see the old or the new file, never a mix.
pub(crate) fn write_atomic(tmp_dir: &Path, dest: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    let mut tmp = tempfile::Builder::new()
        .prefix(".write-")
        .tempfile_in(tmp_dir)
        .map_err(StoreError::io("create temp file in", tmp_dir))?;
    tmp.write_all(bytes)
        .map_err(StoreError::io("write", tmp.path()))?;
    tmp.as_file()
        .sync_all()
        .map_err(StoreError::io("fsync", tmp.path()))?;
    set_readable(tmp.as_file(), tmp.path())?;
    tmp.persist(dest).map_err(|e| StoreError::Io {
        op: "rename into",
        path: dest.to_path_buf(),
        source: e.error,
    })?;
    if let Some(parent) = dest.parent() {
        sync_dir(parent)?;
    }
    Ok(())
}

/// Temp files are created 0600; published files are 0644 (minus nothing: the store
/// holds public image content and exports hardlink these files).
pub(crate) fn set_readable(file: &File, path: &Path) -> Result<(), StoreError> {
    use std::os::unix::fs::PermissionsExt;
    file.set_permissions(std::fs::Permissions::from_mode(0o644))
        .map_err(StoreError::io("chmod", path))
}

/// fsyncs a directory so a rename inside it survives a power loss.
pub(crate) fn sync_dir(dir: &Path) -> Result<(), StoreError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(StoreError::io("fsync directory", dir))
}

/// Reads a whole file of at most `max` bytes.
pub(crate) fn read_bounded(
    path: &Path,
    what: &'static str,
    max: u64,
) -> Result<Vec<u8>, StoreError> {
    let f = File::open(path).map_err(StoreError::io("open", path))?;
    read_bounded_from(f, what, &path.display().to_string(), max)
}

/// Reads at most `max` bytes from `r`, failing with [`StoreError::TooLarge`] beyond.
pub(crate) fn read_bounded_from(
    r: impl Read,
    what: &'static str,
    location: &str,
    max: u64,
) -> Result<Vec<u8>, StoreError> {
    let mut buf = Vec::new();
    r.take(max + 1)
        .read_to_end(&mut buf)
        .map_err(StoreError::io("read", location))?;
    if buf.len() as u64 > max {
        return Err(StoreError::TooLarge {
            what,
            location: location.to_string(),
            max,
        });
    }
    Ok(buf)
}

/// Checks that an `oci-layout` file declares the version hoist understands.
pub(crate) fn check_layout_file(path: &Path) -> Result<(), StoreError> {
    let bytes = read_bounded(path, "oci-layout", 4096)?;
    check_layout_bytes(&bytes, path)
}

/// Checks the bytes of an `oci-layout` file found at `path`.
pub(crate) fn check_layout_bytes(bytes: &[u8], path: &Path) -> Result<(), StoreError> {
    let v: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| StoreError::NotALayout {
            path: path.to_path_buf(),
            reason: format!("oci-layout is not JSON ({e})"),
        })?;
    match v.get("imageLayoutVersion").and_then(|v| v.as_str()) {
        Some(LAYOUT_VERSION) => Ok(()),
        Some(other) => Err(StoreError::NotALayout {
            path: path.to_path_buf(),
            reason: format!("unsupported imageLayoutVersion {other:?} in oci-layout"),
        }),
        None => Err(StoreError::NotALayout {
            path: path.to_path_buf(),
            reason: "oci-layout has no imageLayoutVersion".into(),
        }),
    }
}

/// Compact JSON with object keys sorted at every level, so documents built from
/// `HashMap`s (annotations) serialise to the same bytes every time.
pub(crate) fn canonical_json<T: serde::Serialize>(value: &T) -> Result<Vec<u8>, serde_json::Error> {
    fn sort(v: &mut serde_json::Value) {
        match v {
            serde_json::Value::Object(m) => {
                m.sort_keys();
                m.values_mut().for_each(sort);
            }
            serde_json::Value::Array(a) => a.iter_mut().for_each(sort),
            _ => {}
        }
    }
    let mut v = serde_json::to_value(value)?;
    sort(&mut v);
    serde_json::to_vec(&v)
}
