//! `import_archive`: oci-archive or docker-archive tar → store, in one streaming pass.
//!
//! Nothing is extracted to the filesystem: every regular file of the archive
//! (except the small metadata documents) is streamed into the store as a candidate
//! blob and remembered by its path; `blobs/sha256/<hex>` entries are verified
//! against their names while streaming. Once the pass is over, `index.json` (OCI)
//! or `manifest.json` (docker) decides which blobs make up which image. Candidates
//! no image uses are left for [`Store::prune`]. Paths are only map keys, so `..` or
//! absolute names cannot escape anywhere.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::Path;

use hoist_oci::media::Compression;
use hoist_oci::spec::{Descriptor, ImageIndex};
use hoist_oci::{ANNOTATION_REF_NAME, Digest, Reference, parse_digest};

use super::ANNOTATION_IMAGE_NAME;
use crate::{MAX_JSON_BYTES, Store, StoreError, fsutil};

/// Options for [`import_archive_with`].
#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// Repository for OCI entries whose `ref.name` is only a tag and that carry no
    /// `io.containerd.image.name`: such a tag `T` becomes `REPOSITORY:T`.
    /// Default `None`: the tag is taken as a repository name, `localhost/T:latest`
    /// (what podman does for unnamed OCI archives).
    pub repository: Option<Reference>,
}

/// [`import_archive_with`] with default options.
pub fn import_archive(store: &Store, file: &Path) -> Result<Vec<Reference>, StoreError> {
    import_archive_with(store, file, &ImportOptions::default())
}

/// Imports an oci-archive (`index.json` + `oci-layout`, preferred when both kinds of
/// metadata are present, as in Docker 25+ saves) or a docker-archive
/// (`manifest.json`). The file may be a plain, gzip or zstd compressed tar.
/// Returns the names set. Images without a name are imported but left unnamed (and
/// logged), so a later prune removes them.
///
/// OCI names: a `ref.name` holding a full reference (with `/`) is used as is; a
/// tag-only `ref.name` takes its repository from `io.containerd.image.name` when
/// present, else from [`ImportOptions::repository`]. Docker names come from
/// `RepoTags`; docker layers are stored as found (compressed or not) and checked
/// against the config's `diff_ids`.
pub fn import_archive_with(
    store: &Store,
    file: &Path,
    opts: &ImportOptions,
) -> Result<Vec<Reference>, StoreError> {
    let _lease = store.lock_shared()?;
    let scan = scan(store, file)?;
    let invalid = |reason: String| StoreError::InvalidArchive {
        path: file.to_path_buf(),
        reason,
    };
    let names = if let (Some(index), Some(layout)) =
        (scan.doc("index.json"), scan.doc("oci-layout"))
    {
        fsutil::check_layout_bytes(layout, file)?;
        let idx: ImageIndex = serde_json::from_slice(index).map_err(|source| StoreError::Json {
            what: "index",
            location: format!("{}:index.json", file.display()),
            source,
        })?;
        import_oci(store, file, &idx, opts)?
    } else if let Some(manifest) = scan.doc("manifest.json") {
        let items: Vec<super::docker_import::DockerItem> = serde_json::from_slice(manifest)
            .map_err(|source| StoreError::Json {
                what: "manifest.json",
                location: format!("{}:manifest.json", file.display()),
                source,
            })?;
        super::docker_import::import_docker(store, file, &scan, &items)?
    } else {
        return Err(invalid(
            "neither index.json + oci-layout (oci-archive) nor manifest.json (docker-archive)"
                .into(),
        ));
    };
    tracing::info!(file = %file.display(), images = names.len(), "imported archive");
    Ok(names)
}

/// What the single pass over the archive found.
#[derive(Default)]
pub(super) struct Scan {
    /// Small metadata documents by path.
    docs: HashMap<String, Vec<u8>>,
    /// Regular files streamed into the store: path → (digest, size).
    files: HashMap<String, (Digest, u64)>,
    /// Symlinks and hardlinks: path → normalised target path.
    links: HashMap<String, String>,
}

impl Scan {
    fn doc(&self, name: &str) -> Option<&[u8]> {
        self.docs.get(name).map(Vec::as_slice)
    }

    /// The blob stored for `path`, following links.
    pub(super) fn lookup(&self, path: &str) -> Option<&(Digest, u64)> {
        let mut p = normalize(path)?;
        for _ in 0..16 {
            if let Some(f) = self.files.get(&p) {
                return Some(f);
            }
            p = self.links.get(&p)?.clone();
        }
        None
    }
}

const METADATA: &[&str] = &["index.json", "oci-layout", "manifest.json", "repositories"];

fn open_tar(file: &Path) -> Result<Box<dyn Read>, StoreError> {
    let mut f = File::open(file).map_err(StoreError::io("open", file))?;
    let mut magic = [0u8; 4];
    let n = read_up_to(&mut f, &mut magic).map_err(StoreError::io("read", file))?;
    let f = {
        let mut f = f;
        io::Seek::rewind(&mut f).map_err(StoreError::io("seek", file))?;
        BufReader::with_capacity(1 << 20, f)
    };
    Ok(match sniff(&magic[..n]) {
        Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(f)),
        Compression::Zstd => Box::new(
            zstd::stream::read::Decoder::with_buffer(f).map_err(StoreError::io("read", file))?,
        ),
        Compression::None => Box::new(f),
    })
}

pub(super) fn read_up_to(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

pub(super) fn sniff(magic: &[u8]) -> Compression {
    if magic.starts_with(&[0x1f, 0x8b]) {
        Compression::Gzip
    } else if magic.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        Compression::Zstd
    } else {
        Compression::None
    }
}

/// Normalises an archive path: no leading `./` or `/`, no `.`, `..` resolved;
/// `None` when it climbs above the archive root.
fn normalize(p: &str) -> Option<String> {
    let mut parts: Vec<&str> = Vec::new();
    for c in p.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            c => parts.push(c),
        }
    }
    Some(parts.join("/"))
}

/// `blobs/sha256/<hex>` → the digest its name promises.
fn digest_from_path(p: &str) -> Option<Digest> {
    let rest = p.strip_prefix("blobs/")?;
    let (alg, hex) = rest.split_once('/')?;
    if alg != "sha256" || hex.contains('/') {
        return None;
    }
    parse_digest(&format!("{alg}:{hex}")).ok()
}

fn scan(store: &Store, file: &Path) -> Result<Scan, StoreError> {
    let mut archive = tar::Archive::new(open_tar(file)?);
    let bad = |e: io::Error| StoreError::InvalidArchive {
        path: file.to_path_buf(),
        reason: e.to_string(),
    };
    let mut scan = Scan::default();
    for entry in archive.entries().map_err(bad)? {
        let mut entry = entry.map_err(bad)?;
        let raw = entry.path().map_err(bad)?.to_string_lossy().into_owned();
        let Some(path) = normalize(&raw) else {
            tracing::warn!(path = raw, "skipping archive entry outside the root");
            continue;
        };
        match entry.header().entry_type() {
            tar::EntryType::Regular | tar::EntryType::Continuous => {}
            tar::EntryType::Symlink | tar::EntryType::Link => {
                let Some(target) = entry.link_name().map_err(bad)? else {
                    continue;
                };
                let target = target.to_string_lossy();
                let joined = if entry.header().entry_type() == tar::EntryType::Symlink
                    && !target.starts_with('/')
                {
                    let dir = path.rsplit_once('/').map_or("", |(d, _)| d);
                    format!("{dir}/{target}")
                } else {
                    target.into_owned()
                };
                if let Some(t) = normalize(&joined) {
                    scan.links.insert(path, t);
                }
                continue;
            }
            _ => continue,
        }
        if METADATA.contains(&path.as_str()) {
            let loc = format!("{}:{path}", file.display());
            let bytes =
                fsutil::read_bounded_from(&mut entry, "archive entry", &loc, MAX_JSON_BYTES)?;
            scan.docs.insert(path, bytes);
            continue;
        }
        let expected = digest_from_path(&path);
        if let Some(d) = &expected
            && store.has_blob(d)
        {
            scan.files.insert(path, (d.clone(), entry.size()));
            continue;
        }
        let mut w = store.blob_writer()?;
        io::copy(&mut entry, &mut w).map_err(bad)?;
        let (digest, size) = match expected {
            Some(d) => (d.clone(), w.commit_expect(&d)?),
            None => w.commit()?,
        };
        tracing::trace!(path, %digest, size, "archive entry stored");
        scan.files.insert(path, (digest, size));
    }
    Ok(scan)
}

fn import_oci(
    store: &Store,
    file: &Path,
    idx: &ImageIndex,
    opts: &ImportOptions,
) -> Result<Vec<Reference>, StoreError> {
    let walk = store.walk(idx.manifests())?;
    // Index children may be absent (a single-platform save of a multi-platform
    // image); top-level images and the config/layers of present manifests may not.
    let top_missing = idx.manifests().iter().find(|d| !store.has_blob(d.digest()));
    if let Some(d) = top_missing
        .map(|d| d.digest())
        .or(walk.missing_content.first())
    {
        return Err(StoreError::InvalidArchive {
            path: file.to_path_buf(),
            reason: format!("blob {d} is referenced but not in the archive"),
        });
    }
    let mut names = Vec::new();
    for d in idx.manifests() {
        let Some(name) = oci_entry_name(d, file, opts)? else {
            tracing::warn!(digest = %d.digest(), "archive image has no name; imported unnamed");
            continue;
        };
        let mut plain = crate::names::without_ref_name(d);
        if let Some(mut ann) = plain.annotations().clone() {
            ann.remove(ANNOTATION_IMAGE_NAME);
            plain.set_annotations(if ann.is_empty() { None } else { Some(ann) });
        }
        store.set_name(&name, &plain)?;
        names.push(name);
    }
    Ok(names)
}

fn oci_entry_name(
    d: &Descriptor,
    file: &Path,
    opts: &ImportOptions,
) -> Result<Option<Reference>, StoreError> {
    let ann = d.annotations().clone().unwrap_or_default();
    let parse = |s: &str| {
        Reference::parse(s).map_err(|source| StoreError::InvalidName {
            input: s.to_string(),
            path: file.to_path_buf(),
            source,
        })
    };
    let full = ann.get(ANNOTATION_IMAGE_NAME).map(String::as_str);
    match ann.get(ANNOTATION_REF_NAME).map(String::as_str) {
        Some(n) if n.contains('/') => parse(n).map(Some),
        Some(tag) => {
            if let Some(full) = full {
                let r = parse(full)?;
                return r
                    .with_tag(tag)
                    .map(Some)
                    .map_err(|source| StoreError::InvalidName {
                        input: tag.to_string(),
                        path: file.to_path_buf(),
                        source,
                    });
            }
            match &opts.repository {
                Some(repo) => {
                    repo.with_tag(tag)
                        .map(Some)
                        .map_err(|source| StoreError::InvalidName {
                            input: tag.to_string(),
                            path: file.to_path_buf(),
                            source,
                        })
                }
                None => parse(&format!("localhost/{tag}")).map(Some),
            }
        }
        None => full.map(parse).transpose(),
    }
}
