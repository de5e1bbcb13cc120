//! Typed reads of manifests, indexes and configs, and platform resolution.

use hoist_oci::spec::{Descriptor, ImageConfiguration, ImageIndex, ImageManifest};
use hoist_oci::{Digest, Platform, Reference, media};
use serde::de::DeserializeOwned;

use crate::{MAX_JSON_BYTES, Store, StoreError};

/// A single-platform image found by [`Store::resolve_image`].
#[derive(Debug, Clone)]
pub struct ResolvedImage {
    /// The descriptor of the image manifest (a child of the index when the name
    /// points at an index).
    pub descriptor: Descriptor,
    /// The parsed manifest.
    pub manifest: ImageManifest,
    /// The config blob exactly as stored (its digest is the image ID).
    pub config_bytes: Vec<u8>,
    /// The parsed config.
    pub config: ImageConfiguration,
}

impl Store {
    fn read_json<T: DeserializeOwned>(
        &self,
        d: &Digest,
        what: &'static str,
    ) -> Result<T, StoreError> {
        let bytes = self.read_blob(d, MAX_JSON_BYTES)?;
        serde_json::from_slice(&bytes).map_err(|source| StoreError::Json {
            what,
            location: d.to_string(),
            source,
        })
    }

    /// Reads and parses an image manifest blob (OCI or Docker schema2).
    pub fn read_manifest(&self, d: &Digest) -> Result<ImageManifest, StoreError> {
        self.read_json(d, "manifest")
    }

    /// Reads and parses an index blob (OCI index or Docker manifest list).
    pub fn read_index(&self, d: &Digest) -> Result<ImageIndex, StoreError> {
        self.read_json(d, "index")
    }

    /// Reads and parses an image config blob.
    pub fn read_config(&self, d: &Digest) -> Result<ImageConfiguration, StoreError> {
        self.read_json(d, "config")
    }

    /// Resolves `r` and follows indexes to the manifest for `platform` (the first
    /// matching entry; a request without variant matches any variant). A name that
    /// points directly at a manifest is returned as is, whatever its platform.
    /// `None` when the name or digest is absent.
    pub fn resolve_image(
        &self,
        r: &Reference,
        platform: &Platform,
    ) -> Result<Option<ResolvedImage>, StoreError> {
        let Some(mut desc) = self.resolve(r)? else {
            return Ok(None);
        };
        for _ in 0..8 {
            let mt = desc.media_type().clone();
            if media::is_manifest(&mt) {
                let manifest = self.read_manifest(desc.digest())?;
                let config_bytes = self.read_blob(manifest.config().digest(), MAX_JSON_BYTES)?;
                let config: ImageConfiguration =
                    serde_json::from_slice(&config_bytes).map_err(|source| StoreError::Json {
                        what: "config",
                        location: manifest.config().digest().to_string(),
                        source,
                    })?;
                return Ok(Some(ResolvedImage {
                    descriptor: desc,
                    manifest,
                    config_bytes,
                    config,
                }));
            }
            if !media::is_index(&mt) {
                return Err(StoreError::NotAnImage {
                    digest: desc.digest().clone(),
                    media_type: mt.to_string(),
                });
            }
            let idx = self.read_index(desc.digest())?;
            desc = pick_platform(&idx, platform).ok_or_else(|| StoreError::NoMatchingPlatform {
                reference: r.to_string(),
                platform: platform.to_string(),
                available: available(&idx),
            })?;
        }
        Err(StoreError::NotAnImage {
            digest: desc.digest().clone(),
            media_type: "index nested too deeply".into(),
        })
    }
}

fn pick_platform(idx: &ImageIndex, want: &Platform) -> Option<Descriptor> {
    idx.manifests()
        .iter()
        .find(|d| {
            d.platform().as_ref().is_some_and(|p| {
                want.matches(
                    &p.os().to_string(),
                    &p.architecture().to_string(),
                    p.variant().as_deref(),
                )
            })
        })
        .cloned()
}

fn available(idx: &ImageIndex) -> String {
    let list: Vec<String> = idx
        .manifests()
        .iter()
        .filter_map(|d| d.platform().as_ref())
        .map(|p| {
            let mut s = format!("{}/{}", p.os(), p.architecture());
            if let Some(v) = p.variant() {
                s.push('/');
                s.push_str(v);
            }
            s
        })
        .collect();
    if list.is_empty() {
        "none".into()
    } else {
        list.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{make_image, r};
    use hoist_oci::MediaType;
    use hoist_oci::spec::PlatformBuilder;

    #[test]
    fn resolves_manifest_and_index_by_platform() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(dir.path()).unwrap();
        let amd = make_image(&s, &[("amd", b"1")]);
        let arm = make_image(&s, &[("arm", b"2")]);
        let with_platform = |d: &Descriptor, arch: &str, variant: Option<&str>| {
            let mut d = d.clone();
            let mut p = PlatformBuilder::default().os("linux").architecture(arch);
            if let Some(v) = variant {
                p = p.variant(v);
            }
            d.set_platform(Some(p.build().unwrap()));
            d
        };
        let mut idx = crate::names::empty_index();
        idx.set_manifests(vec![
            with_platform(&amd.manifest, "amd64", None),
            with_platform(&arm.manifest, "arm", Some("v7")),
        ]);
        let (idx_d, _) = s.put_json(MediaType::ImageIndex, &idx).unwrap();
        s.set_name(&r("multi:1"), &idx_d).unwrap();
        s.set_name(&r("single:1"), &amd.manifest).unwrap();

        let got = s
            .resolve_image(&r("multi:1"), &"linux/arm/v7".parse().unwrap())
            .unwrap()
            .unwrap();
        assert_eq!(got.descriptor.digest(), arm.manifest.digest());
        assert_eq!(got.manifest.layers()[0].digest(), &arm.layers[0]);
        assert_eq!(hoist_oci::sha256_of(&got.config_bytes), arm.config);
        assert_eq!(
            got.config.rootfs().diff_ids(),
            &vec![arm.diff_ids[0].to_string()]
        );

        let got = s
            .resolve_image(&r("multi:1"), &"linux/amd64".parse().unwrap())
            .unwrap()
            .unwrap();
        assert_eq!(got.descriptor.digest(), amd.manifest.digest());

        let e = s
            .resolve_image(&r("multi:1"), &"linux/s390x".parse().unwrap())
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("linux/s390x") && e.contains("linux/arm/v7"),
            "{e}"
        );

        let got = s
            .resolve_image(&r("single:1"), &"linux/s390x".parse().unwrap())
            .unwrap()
            .unwrap();
        assert_eq!(got.descriptor.digest(), amd.manifest.digest());
        assert!(
            s.resolve_image(&r("absent:1"), &Platform::host())
                .unwrap()
                .is_none()
        );
        // By digest of a child manifest that is not itself named.
        let by_digest = r("whatever").with_digest(arm.manifest.digest().clone());
        let got = s
            .resolve_image(&by_digest, &Platform::host())
            .unwrap()
            .unwrap();
        assert_eq!(got.descriptor.digest(), arm.manifest.digest());
        assert_eq!(
            s.read_config(&arm.config)
                .unwrap()
                .rootfs()
                .diff_ids()
                .len(),
            1
        );
        assert_eq!(s.read_index(idx_d.digest()).unwrap().manifests().len(), 2);
    }
}
