//! Extracting layers and archives: [`extract`].

mod apply;
mod root;

use std::collections::{BTreeMap, HashSet};
use std::io::Read;
use std::path::Path;

use crate::detect::decompressor;
use crate::entry::Timestamp;
use crate::error::LayerError;
use apply::{Applier, DirMeta};
use root::{Root, clean, rel_path};

/// How [`extract`] unpacks an archive.
#[derive(Debug, Clone)]
pub struct ExtractOptions {
    /// Apply OCI whiteouts (`.wh.<name>` deletes, `.wh..wh..opq` hides lower
    /// contents) instead of writing the marker files. Default: `true` (image
    /// layers); use `false` for `ADD` archives.
    pub whiteouts: bool,
    /// Apply the archive's uid/gid. Failures for lack of privilege are logged
    /// once and ignored. Default: `false` (files belong to the caller).
    pub chown: bool,
    /// Apply extended attributes, best effort: `user.*` only unless running as
    /// root. Default: `true`.
    pub xattrs: bool,
    /// With `whiteouts`, write the layer as an overlayfs lower directory of its
    /// own instead of applying it to what is there: `.wh.<name>` becomes a 0/0
    /// character device and `.wh..wh..opq` the `user.overlay.opaque` xattr
    /// (see [`crate::overlay`]). Default: `false`.
    pub overlay: bool,
    /// Record the archive's owner and mode of every path in
    /// [`ExtractStats::owners`] (what [`OwnerTable::apply_layer`] would read, in
    /// the same pass). Default: `false`.
    ///
    /// [`OwnerTable::apply_layer`]: crate::diff::OwnerTable::apply_layer
    pub record_owners: bool,
}

impl Default for ExtractOptions {
    fn default() -> Self {
        ExtractOptions {
            whiteouts: true,
            chown: false,
            xattrs: true,
            overlay: false,
            record_owners: false,
        }
    }
}

/// What [`extract`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExtractStats {
    /// Archive entries read (excluding PAX/GNU metadata entries).
    pub entries: u64,
    /// Regular files written.
    pub files: u64,
    /// Directories created or updated.
    pub dirs: u64,
    /// Symlinks created.
    pub symlinks: u64,
    /// Hard links created.
    pub hardlinks: u64,
    /// Whiteouts applied (including opaque markers).
    pub whiteouts: u64,
    /// Entries skipped (device nodes, fifos, unsupported types).
    pub skipped: u64,
    /// Bytes of regular-file content written.
    pub bytes: u64,
    /// With [`ExtractOptions::record_owners`]: the owners of the archive's paths.
    pub owners: Option<crate::diff::OwnerTable>,
}

/// Unpacks a tar stream (plain, gzip, bzip2, xz or zstd, auto-detected) under
/// `root`, which is created if missing.
///
/// No entry can write outside `root`: paths are cleaned lexically (a leading
/// `/` is dropped, a `..` above the root is rejected), parent symlinks are
/// resolved scoped to `root`, the final component is never followed, and hard
/// link targets must resolve inside `root`. Device nodes and fifos are skipped
/// with a warning. Directory modes and times are applied at the end.
pub fn extract<R: Read>(
    reader: R,
    root: &Path,
    opts: &ExtractOptions,
) -> Result<ExtractStats, LayerError> {
    let (format, stream) = decompressor(reader)?;
    tracing::debug!(?format, root = %root.display(), "extracting");
    let root = Root::open(root)?;
    let mut archive = tar::Archive::new(stream);
    let mut applier = Applier::new(&root, opts);
    let mut unpacked: HashSet<Vec<u8>> = HashSet::new();
    let mut dirs: BTreeMap<Vec<u8>, DirMeta> = BTreeMap::new();
    let mut stats = ExtractStats::default();
    let mut owners = opts.record_owners.then(crate::diff::OwnerTable::new);

    for entry in archive.entries().map_err(LayerError::ReadArchive)? {
        let mut entry = entry.map_err(LayerError::ReadArchive)?;
        let kind = entry.header().entry_type();
        if kind == tar::EntryType::XGlobalHeader {
            continue;
        }
        stats.entries += 1;
        let raw_path = entry.path_bytes().into_owned();
        let comps = clean(&raw_path)?;
        let Some((base, parent)) = comps.split_last() else {
            // The root itself ("./" or "/"): only its metadata could apply; keep the root as is.
            continue;
        };

        if opts.whiteouts && base.starts_with(b".wh.") {
            stats.whiteouts += 1;
            if let Some(t) = owners.as_mut()
                && base.as_slice() != b".wh..wh..opq"
            {
                let gone = [parent, &[base[4..].to_vec()]].concat();
                t.remove_tree(&String::from_utf8_lossy(&gone.join(&b'/')));
            }
            if opts.overlay {
                if base.as_slice() == b".wh..wh..opq" {
                    applier.overlay_opaque(parent)?;
                } else {
                    applier.overlay_whiteout(parent, &base[4..])?;
                }
            } else if base.as_slice() == b".wh..wh..opq" {
                applier.opaque(parent, &unpacked)?;
            } else {
                applier.whiteout(parent, &base[4..])?;
            }
            continue;
        }

        let meta = apply::read_meta(&mut entry).map_err(LayerError::ReadArchive)?;
        if let Some(t) = owners.as_mut() {
            let mut owner = meta.owner();
            if kind == tar::EntryType::Link
                && let Some(target) = entry.link_name_bytes()
                && let Ok(c) = clean(&target)
                && let Some(o) = t.get(&String::from_utf8_lossy(&c.join(&b'/')))
            {
                owner = o;
            }
            t.insert(&String::from_utf8_lossy(&comps.join(&b'/')), owner);
        }
        match kind {
            tar::EntryType::Directory => {
                applier.dir(parent, base)?;
                dirs.insert(comps.join(&b'/'), meta);
                stats.dirs += 1;
            }
            tar::EntryType::Regular | tar::EntryType::Continuous | tar::EntryType::GNUSparse => {
                if kind == tar::EntryType::GNUSparse {
                    return Err(LayerError::BadArchiveEntry {
                        path: rel_path(&comps).display().to_string(),
                        reason: "GNU sparse files are not supported".into(),
                    });
                }
                stats.bytes += applier.file(parent, base, &mut entry, &meta)?;
                stats.files += 1;
            }
            tar::EntryType::Symlink => {
                let target = entry
                    .link_name_bytes()
                    .ok_or_else(|| LayerError::BadArchiveEntry {
                        path: rel_path(&comps).display().to_string(),
                        reason: "symlink without a target".into(),
                    })?
                    .into_owned();
                applier.symlink(parent, base, &target, &meta)?;
                stats.symlinks += 1;
            }
            tar::EntryType::Link => {
                let target = entry
                    .link_name_bytes()
                    .ok_or_else(|| LayerError::BadArchiveEntry {
                        path: rel_path(&comps).display().to_string(),
                        reason: "hard link without a target".into(),
                    })?
                    .into_owned();
                let target = clean(&target)?;
                applier.hardlink(parent, base, &target)?;
                stats.hardlinks += 1;
            }
            other => {
                tracing::warn!(path = %rel_path(&comps).display(), kind = ?other, "skipping unsupported entry type");
                stats.skipped += 1;
                continue;
            }
        }
        if opts.whiteouts {
            unpacked.insert(comps.join(&b'/'));
        }
    }

    // Children before parents, so creating entries no longer bumps a set mtime.
    for (path, meta) in dirs.iter().rev() {
        applier.finish_dir(&clean(path)?, meta)?;
    }
    stats.owners = owners;
    Ok(stats)
}

/// Decodes a PAX `mtime` value (`secs[.fraction]`, possibly negative).
pub(crate) fn parse_pax_time(v: &str) -> Option<Timestamp> {
    let (neg, v) = match v.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, v),
    };
    let (whole, frac) = v.split_once('.').unwrap_or((v, ""));
    let secs: i64 = whole.parse().ok()?;
    let mut digits: String = frac.chars().take(9).collect();
    if !digits.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    while digits.len() < 9 {
        digits.push('0');
    }
    let nanos: u32 = digits.parse().ok()?;
    Some(match (neg, nanos) {
        (false, n) => Timestamp { secs, nanos: n },
        (true, 0) => Timestamp {
            secs: -secs,
            nanos: 0,
        },
        (true, n) => Timestamp {
            secs: -secs - 1,
            nanos: 1_000_000_000 - n,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pax_time_round_trip() {
        assert_eq!(
            parse_pax_time("5.5"),
            Some(Timestamp {
                secs: 5,
                nanos: 500_000_000
            })
        );
        assert_eq!(
            parse_pax_time("-1.5"),
            Some(Timestamp {
                secs: -2,
                nanos: 500_000_000
            })
        );
        assert_eq!(parse_pax_time("12"), Some(Timestamp::from_secs(12)));
        assert_eq!(parse_pax_time("x"), None);
    }
}
