//! Test helpers: count files, build a small real image in a store.

use std::io::Write;

use flate2::Compression as GzLevel;
use flate2::write::GzEncoder;
use hoist_oci::spec::{Descriptor, ImageManifest};
use hoist_oci::{Digest, Hasher, MediaType, Platform, Reference};

use crate::Store;

pub(crate) fn blob_count(s: &Store) -> usize {
    std::fs::read_dir(s.root().join("blobs/sha256"))
        .unwrap()
        .count()
}

pub(crate) fn temp_count(s: &Store) -> usize {
    std::fs::read_dir(s.root().join("tmp")).unwrap().count()
}

/// What [`make_image`] stored.
pub(crate) struct TestImage {
    pub manifest: Descriptor,
    pub config: Digest,
    pub layers: Vec<Digest>,
    pub diff_ids: Vec<Digest>,
}

/// A gzip layer holding `files`, streamed into the store; returns (blob digest, diffID, size).
pub(crate) fn put_layer(s: &Store, files: &[(&str, &[u8])]) -> (Digest, Digest, u64) {
    struct Tee<'a> {
        gz: GzEncoder<&'a mut crate::BlobWriter>,
        diff: Hasher,
    }
    impl Write for Tee<'_> {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            let n = self.gz.write(buf)?;
            self.diff.update(&buf[..n]);
            Ok(n)
        }
        fn flush(&mut self) -> std::io::Result<()> {
            self.gz.flush()
        }
    }
    let mut w = s.blob_writer().unwrap();
    let diff = {
        let tee = Tee {
            gz: GzEncoder::new(&mut w, GzLevel::fast()),
            diff: Hasher::new(),
        };
        let mut b = tar::Builder::new(tee);
        for (name, data) in files {
            let mut h = tar::Header::new_ustar();
            h.set_size(data.len() as u64);
            h.set_mode(0o755);
            h.set_mtime(0);
            h.set_entry_type(tar::EntryType::Regular);
            b.append_data(&mut h, name, *data).unwrap();
        }
        let tee = b.into_inner().unwrap();
        tee.gz.finish().unwrap();
        tee.diff.finish()
    };
    let (d, n) = w.commit().unwrap();
    (d, diff, n)
}

/// Stores config + one gzip layer + OCI manifest for the host platform.
pub(crate) fn make_image(s: &Store, files: &[(&str, &[u8])]) -> TestImage {
    let (layer, diff_id, layer_size) = put_layer(s, files);
    let host = Platform::host();
    let config = serde_json::json!({
        "architecture": host.architecture,
        "os": "linux",
        "config": {"Cmd": ["/hello"], "Env": ["PATH=/usr/bin:/bin"]},
        "rootfs": {"type": "layers", "diff_ids": [diff_id.to_string()]},
        "history": [{"created_by": "hoist test"}]
    });
    let (config_desc, _) = s.put_json(MediaType::ImageConfig, &config).unwrap();
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": config_desc,
        "layers": [Descriptor::new(MediaType::ImageLayerGzip, layer_size, layer.clone())],
    });
    let (manifest_desc, bytes) = s.put_json(MediaType::ImageManifest, &manifest).unwrap();
    // The manifest must parse as the oci-spec type.
    let _parsed: ImageManifest = serde_json::from_slice(&bytes).unwrap();
    TestImage {
        manifest: manifest_desc,
        config: config_desc.digest().clone(),
        layers: vec![layer],
        diff_ids: vec![diff_id],
    }
}

pub(crate) fn r(s: &str) -> Reference {
    Reference::parse(s).unwrap()
}
