//! Names: descriptors in `index.json` annotated with the full normalised reference.

use std::collections::HashMap;

use hoist_oci::spec::{Descriptor, ImageIndex};
use hoist_oci::{ANNOTATION_REF_NAME, Digest, MediaType, Reference, media};

use crate::{INDEX_FILE, MAX_JSON_BYTES, Store, StoreError, fsutil};

/// An empty OCI index (`schemaVersion` 2, index media type, no manifests).
pub(crate) fn empty_index() -> ImageIndex {
    let mut idx = ImageIndex::default();
    idx.set_media_type(Some(MediaType::ImageIndex));
    idx
}

/// The `ref.name` a reference is stored under: the full normalised `domain/repo:tag`.
pub(crate) fn name_key(r: &Reference) -> Result<String, StoreError> {
    match r.tag() {
        Some(tag) => Ok(format!("{}:{tag}", r.name())),
        None => Err(StoreError::NameNeedsTag {
            reference: r.to_string(),
        }),
    }
}

pub(crate) fn ref_name(d: &Descriptor) -> Option<&str> {
    d.annotations()
        .as_ref()
        .and_then(|a| a.get(ANNOTATION_REF_NAME))
        .map(String::as_str)
}

/// The descriptor as callers see it: without the store's naming annotation.
pub(crate) fn without_ref_name(d: &Descriptor) -> Descriptor {
    let mut d = d.clone();
    if let Some(mut a) = d.annotations().clone() {
        a.remove(ANNOTATION_REF_NAME);
        d.set_annotations(if a.is_empty() { None } else { Some(a) });
    }
    d
}

/// Parses a `ref.name` written by hoist (full form, always containing a `/`).
fn parse_stored_name(s: &str) -> Option<Reference> {
    if !s.contains('/') {
        return None;
    }
    Reference::parse(s).ok().filter(|r| r.to_string() == s)
}

impl Store {
    /// Reads `index.json`. Safe without a lock: it is only ever replaced by rename.
    pub(crate) fn load_index(&self) -> Result<ImageIndex, StoreError> {
        let path = self.root().join(INDEX_FILE);
        let bytes = fsutil::read_bounded(&path, "index.json", MAX_JSON_BYTES)?;
        serde_json::from_slice(&bytes).map_err(|source| StoreError::Json {
            what: "index",
            location: path.display().to_string(),
            source,
        })
    }

    /// Read-modify-write of `index.json` under the exclusive index lock.
    fn update_index<R>(
        &self,
        f: impl FnOnce(&mut ImageIndex) -> Result<R, StoreError>,
    ) -> Result<R, StoreError> {
        let _guard = self.lock_index()?;
        let mut idx = self.load_index()?;
        let out = f(&mut idx)?;
        let path = self.root().join(INDEX_FILE);
        let bytes = fsutil::canonical_json(&idx).map_err(|source| StoreError::Json {
            what: "index",
            location: path.display().to_string(),
            source,
        })?;
        fsutil::write_atomic(&self.tmp_dir(), &path, &bytes)?;
        Ok(out)
    }

    /// Every name in the store with its descriptor (naming annotation removed),
    /// in `index.json` order. Entries not written by hoist (no full `ref.name`) are skipped.
    pub fn names(&self) -> Result<Vec<(Reference, Descriptor)>, StoreError> {
        let idx = self.load_index()?;
        Ok(idx
            .manifests()
            .iter()
            .filter_map(|d| {
                let name = ref_name(d)?;
                let r = parse_stored_name(name);
                if r.is_none() {
                    tracing::debug!(name, "skipping index entry with a foreign ref.name");
                }
                Some((r?, without_ref_name(d)))
            })
            .collect())
    }

    /// Finds what a reference points at. By digest when `r` has one (an index entry
    /// with that digest, else a present blob whose media type is read from the
    /// blob); otherwise by name. `None` when absent.
    pub fn resolve(&self, r: &Reference) -> Result<Option<Descriptor>, StoreError> {
        if let Some(d) = r.digest() {
            return self.resolve_digest(d);
        }
        let key = name_key(r)?;
        let idx = self.load_index()?;
        Ok(idx
            .manifests()
            .iter()
            .find(|d| ref_name(d) == Some(key.as_str()))
            .map(without_ref_name))
    }

    fn resolve_digest(&self, digest: &Digest) -> Result<Option<Descriptor>, StoreError> {
        let idx = self.load_index()?;
        if let Some(d) = idx.manifests().iter().find(|d| d.digest() == digest) {
            return Ok(Some(without_ref_name(d)));
        }
        if !self.has_blob(digest) {
            return Ok(None);
        }
        let bytes = self.read_blob(digest, MAX_JSON_BYTES)?;
        let media_type = sniff_media_type(&bytes).ok_or_else(|| StoreError::NotAnImage {
            digest: digest.clone(),
            media_type: String::new(),
        })?;
        if !media::is_manifest(&media_type) && !media::is_index(&media_type) {
            return Err(StoreError::NotAnImage {
                digest: digest.clone(),
                media_type: media_type.to_string(),
            });
        }
        Ok(Some(Descriptor::new(
            media_type,
            bytes.len() as u64,
            digest.clone(),
        )))
    }

    /// Points `r` (its tag; a digest in `r` is ignored) at `desc`, replacing what the
    /// name pointed at before. The descriptor's blob must already be present.
    pub fn set_name(&self, r: &Reference, desc: &Descriptor) -> Result<(), StoreError> {
        let key = name_key(r)?;
        if !self.has_blob(desc.digest()) {
            return Err(StoreError::BlobNotFound {
                digest: desc.digest().clone(),
                root: self.root().to_path_buf(),
            });
        }
        let mut entry = desc.clone();
        let mut ann: HashMap<String, String> = entry.annotations().clone().unwrap_or_default();
        ann.insert(ANNOTATION_REF_NAME.to_string(), key.clone());
        entry.set_annotations(Some(ann));
        self.update_index(|idx| {
            let mut list = idx.manifests().clone();
            match list.iter().position(|d| ref_name(d) == Some(key.as_str())) {
                Some(i) => {
                    list[i] = entry;
                    // A name points at one descriptor: drop duplicates another
                    // tool may have left behind.
                    dedup_name(&mut list, &key);
                }
                None => list.push(entry),
            }
            idx.set_manifests(list);
            Ok(())
        })?;
        tracing::debug!(name = %key, digest = %desc.digest(), "name set");
        Ok(())
    }

    /// Removes a name; `true` when it existed. Blobs stay until [`Store::prune`].
    pub fn remove_name(&self, r: &Reference) -> Result<bool, StoreError> {
        let key = name_key(r)?;
        self.update_index(|idx| {
            let mut list = idx.manifests().clone();
            let before = list.len();
            list.retain(|d| ref_name(d) != Some(key.as_str()));
            let removed = list.len() != before;
            idx.set_manifests(list);
            Ok(removed)
        })
    }
}

/// Keeps only the first entry named `key`.
fn dedup_name(list: &mut Vec<Descriptor>, key: &str) {
    let mut seen = false;
    list.retain(|d| {
        if ref_name(d) != Some(key) {
            return true;
        }
        let keep = !seen;
        seen = true;
        keep
    });
}

/// The media type of a manifest or index blob: its `mediaType` field, else guessed
/// from its shape (`manifests` → index, `config` → manifest).
pub(crate) fn sniff_media_type(bytes: &[u8]) -> Option<MediaType> {
    let v: serde_json::Value = serde_json::from_slice(bytes).ok()?;
    if let Some(mt) = v.get("mediaType").and_then(|m| m.as_str()) {
        return Some(MediaType::from(mt));
    }
    if v.get("manifests").is_some_and(|m| m.is_array()) {
        Some(MediaType::ImageIndex)
    } else if v.get("config").is_some_and(|c| c.is_object()) {
        Some(MediaType::ImageManifest)
    } else {
        None
    }
}

#[cfg(test)]
#[path = "names_tests.rs"]
mod tests;
