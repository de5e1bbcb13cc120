//! Generates small images and pushes/pulls them with the client under test.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use hoist_oci::spec::{
    ConfigBuilder, DescriptorBuilder, ImageConfigurationBuilder, ImageManifestBuilder,
    RootFsBuilder,
};
use hoist_oci::{Digest, MediaType, Reference, sha256_of};
use hoist_registry::{BlobAction, Client, Progress, RegistryError};

/// A generated image: blobs plus the manifest bytes.
pub struct TestImage {
    pub config: Bytes,
    pub layers: Vec<Bytes>,
    pub manifest: Bytes,
    pub manifest_digest: Digest,
}

impl TestImage {
    /// Config + layers from `seed`, with deterministic contents.
    pub fn new(seed: &str, layer_sizes: &[usize]) -> TestImage {
        let layers: Vec<Bytes> = layer_sizes
            .iter()
            .enumerate()
            .map(|(i, n)| {
                let mut v = Vec::with_capacity(*n);
                let mut x: u32 = 0x9e37_79b9 ^ (i as u32 + 1) ^ seed.len() as u32;
                for b in seed.bytes() {
                    x = x.wrapping_mul(31).wrapping_add(b as u32);
                }
                while v.len() < *n {
                    x ^= x << 13;
                    x ^= x >> 17;
                    x ^= x << 5;
                    v.extend_from_slice(&x.to_le_bytes());
                }
                v.truncate(*n);
                Bytes::from(v)
            })
            .collect();
        let diff_ids: Vec<String> = layers.iter().map(|l| sha256_of(l).to_string()).collect();
        let config = ImageConfigurationBuilder::default()
            .architecture("amd64")
            .os("linux")
            .config(
                ConfigBuilder::default()
                    .cmd(vec![format!("/bin/{seed}")])
                    .build()
                    .expect("config"),
            )
            .rootfs(
                RootFsBuilder::default()
                    .typ("layers")
                    .diff_ids(diff_ids)
                    .build()
                    .expect("rootfs"),
            )
            .build()
            .expect("image config");
        let config = Bytes::from(serde_json::to_vec(&config).expect("json"));
        let desc = |mt: MediaType, b: &Bytes| {
            DescriptorBuilder::default()
                .media_type(mt)
                .digest(sha256_of(b))
                .size(b.len() as u64)
                .build()
                .expect("descriptor")
        };
        let manifest = ImageManifestBuilder::default()
            .schema_version(2u32)
            .media_type(MediaType::ImageManifest)
            .config(desc(MediaType::ImageConfig, &config))
            .layers(
                layers
                    .iter()
                    .map(|l| desc(MediaType::ImageLayer, l))
                    .collect::<Vec<_>>(),
            )
            .build()
            .expect("manifest");
        let manifest = Bytes::from(serde_json::to_vec(&manifest).expect("json"));
        let manifest_digest = sha256_of(&manifest);
        TestImage {
            config,
            layers,
            manifest,
            manifest_digest,
        }
    }

    pub fn blobs(&self) -> Vec<Bytes> {
        let mut v = vec![self.config.clone()];
        v.extend(self.layers.iter().cloned());
        v
    }

    /// Pushes blobs then the manifest under `r`'s tag.
    pub async fn push(&self, client: &Client, r: &Reference) -> Result<Digest, RegistryError> {
        for b in self.blobs() {
            let d = sha256_of(&b);
            let src = b.clone();
            client
                .push_blob(r, &d, b.len() as u64, move || {
                    let src = src.clone();
                    async move { Ok(std::io::Cursor::new(src)) }
                })
                .await?;
        }
        client
            .put_manifest(r, &MediaType::ImageManifest, self.manifest.clone())
            .await
    }

    /// Pulls `r` back and checks every blob's digest against this image.
    pub async fn pull_and_compare(
        &self,
        client: &Client,
        r: &Reference,
    ) -> Result<(), RegistryError> {
        let m = client.get_manifest(r, &[]).await?;
        assert_eq!(m.digest, self.manifest_digest);
        assert_eq!(m.bytes, self.manifest);
        assert_eq!(m.media_type, MediaType::ImageManifest);
        for b in self.blobs() {
            let d = sha256_of(&b);
            let mut out: Vec<u8> = Vec::new();
            let n = client.get_blob(r, &d, &mut out).await?;
            assert_eq!(n, b.len() as u64);
            assert_eq!(sha256_of(&out), d);
        }
        Ok(())
    }
}

/// Counts progress events per action.
#[derive(Default)]
pub struct Counting {
    pub uploads: AtomicUsize,
    pub downloads: AtomicUsize,
    pub mounts: AtomicUsize,
    pub exists: AtomicUsize,
    pub bytes: AtomicUsize,
    pub done: Mutex<Vec<Digest>>,
}

impl Progress for Counting {
    fn blob_started(&self, _: &Digest, _: Option<u64>, action: BlobAction) {
        let c = match action {
            BlobAction::Upload => &self.uploads,
            BlobAction::Download => &self.downloads,
            BlobAction::Mount => &self.mounts,
            BlobAction::Exists => &self.exists,
        };
        c.fetch_add(1, Ordering::SeqCst);
    }
    fn blob_progress(&self, _: &Digest, bytes: u64) {
        self.bytes.fetch_add(bytes as usize, Ordering::SeqCst);
    }
    fn blob_done(&self, d: &Digest) {
        self.done.lock().expect("lock").push(d.clone());
    }
}
