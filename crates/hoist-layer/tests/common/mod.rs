//! Helpers shared by the integration tests.
#![allow(dead_code, missing_docs)]

use std::collections::BTreeMap;
use std::io::Read;

use hoist_layer::{Entry, EntryKind, EntryMeta, FileSource, Timestamp};

pub fn meta(mode: u32) -> EntryMeta {
    EntryMeta {
        mode,
        uid: 0,
        gid: 0,
        mtime: Timestamp::from_secs(1_700_000_000),
        xattrs: BTreeMap::new(),
    }
}

pub fn file(path: &str, data: &[u8]) -> Entry {
    Entry {
        path: path.into(),
        kind: EntryKind::File {
            source: FileSource::Bytes(data.to_vec()),
            size: data.len() as u64,
        },
        meta: meta(0o644),
    }
}

pub fn dir(path: &str) -> Entry {
    Entry {
        path: path.into(),
        kind: EntryKind::Dir,
        meta: meta(0o755),
    }
}

pub fn symlink(path: &str, target: &str) -> Entry {
    Entry {
        path: path.into(),
        kind: EntryKind::Symlink {
            target: target.into(),
        },
        meta: meta(0o777),
    }
}

pub fn entry(path: &str, kind: EntryKind) -> Entry {
    Entry {
        path: path.into(),
        kind,
        meta: meta(0o644),
    }
}

/// Decompresses any supported blob fully.
pub fn decompress(blob: &[u8]) -> Vec<u8> {
    let (_, mut r) = hoist_layer::decompressor(blob).expect("known format");
    let mut out = Vec::new();
    r.read_to_end(&mut out).expect("decompress");
    out
}

/// (path, type byte, mode, uid, link) of every entry of a tar, via the `tar` crate.
pub fn list(tar_bytes: &[u8]) -> Vec<(String, u8, u32, u64, String)> {
    let mut a = tar::Archive::new(tar_bytes);
    a.entries()
        .expect("entries")
        .map(|e| {
            let e = e.expect("entry");
            let h = e.header();
            (
                String::from_utf8(e.path_bytes().into_owned()).expect("utf8"),
                h.entry_type().as_byte(),
                h.mode().expect("mode"),
                h.uid().expect("uid"),
                e.link_name_bytes()
                    .map(|l| String::from_utf8_lossy(&l).into_owned())
                    .unwrap_or_default(),
            )
        })
        .collect()
}

/// A raw tar entry whose name/linkname are written byte for byte (no sanitising),
/// for building malicious archives.
pub fn raw(
    builder: &mut tar::Builder<Vec<u8>>,
    name: &str,
    kind: tar::EntryType,
    link: &str,
    data: &[u8],
) {
    let mut h = tar::Header::new_ustar();
    {
        let old = h.as_old_mut();
        old.name[..name.len()].copy_from_slice(name.as_bytes());
        old.linkname[..link.len()].copy_from_slice(link.as_bytes());
    }
    h.set_entry_type(kind);
    h.set_size(data.len() as u64);
    h.set_mode(if kind == tar::EntryType::Directory {
        0o755
    } else {
        0o644
    });
    h.set_mtime(1_600_000_000);
    h.set_cksum();
    builder.append(&h, data).expect("append");
}
