//! Where a copy reads an image from: a registry repository, or an OCI image layout on
//! disk (an `oci:` directory, or the local store, which is one).

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use hoist_oci::spec::{Descriptor, ImageIndex};
use hoist_oci::{ANNOTATION_REF_NAME, Digest, MediaType, Reference, media, sha256_of};
use hoist_registry::{BoxFuture, Client};
use tokio::io::AsyncRead;

use crate::TransferError;
use crate::pipe::BlobPipe;

/// A blob's bytes, read once from start to end.
pub type BlobReader = Box<dyn AsyncRead + Send + Unpin>;

/// A manifest or index with its exact bytes.
#[derive(Debug, Clone)]
pub struct Document {
    /// The bytes, exactly as stored or served (digest-stable).
    pub bytes: Bytes,
    /// Its media type.
    pub media_type: MediaType,
    /// The sha256 digest of `bytes`.
    pub digest: Digest,
}

impl Document {
    /// A descriptor of this document.
    pub fn descriptor(&self) -> Descriptor {
        Descriptor::new(
            self.media_type.clone(),
            self.bytes.len() as u64,
            self.digest.clone(),
        )
    }
}

/// Something a copy can read an image from.
pub trait ImageSource: Send + Sync {
    /// A human-readable name (for errors and logs).
    fn describe(&self) -> String;
    /// The top-level manifest or index.
    fn top(&self) -> BoxFuture<'_, Result<Document, TransferError>>;
    /// A child manifest of the top-level index, verified against `desc`.
    fn manifest<'a>(&'a self, desc: &'a Descriptor) -> BoxFuture<'a, Result<Bytes, TransferError>>;
    /// Opens a blob for streaming; called again when an upload restarts.
    fn open_blob(&self, desc: &Descriptor) -> BoxFuture<'static, io::Result<BlobReader>>;
    /// The registry repository the blobs live in, when they live in one (for mounts).
    fn repository(&self) -> Option<&Reference> {
        None
    }
}

/// An image in a registry repository. Blobs stream straight from the registry: a
/// reader is a pipe fed by a download task (see [`Client::get_blob`], which verifies
/// the digest and whose failure surfaces as a read error).
#[derive(Debug, Clone)]
pub struct RegistrySource {
    client: Client,
    reference: Reference,
}

impl RegistrySource {
    /// Reads `reference` (tag or digest) with `client`.
    pub fn new(client: Client, reference: Reference) -> Self {
        Self { client, reference }
    }
}

impl ImageSource for RegistrySource {
    fn describe(&self) -> String {
        self.reference.to_string()
    }

    fn top(&self) -> BoxFuture<'_, Result<Document, TransferError>> {
        Box::pin(async move {
            let m = self.client.get_manifest(&self.reference, &[]).await?;
            Ok(Document {
                bytes: m.bytes,
                media_type: m.media_type,
                digest: m.digest,
            })
        })
    }

    fn manifest<'a>(&'a self, desc: &'a Descriptor) -> BoxFuture<'a, Result<Bytes, TransferError>> {
        Box::pin(async move {
            let r = self.reference.with_digest(desc.digest().clone());
            Ok(self.client.get_manifest(&r, &[]).await?.bytes)
        })
    }

    fn open_blob(&self, desc: &Descriptor) -> BoxFuture<'static, io::Result<BlobReader>> {
        let pipe = BlobPipe::spawn(
            self.client.clone(),
            self.reference.clone(),
            desc.digest().clone(),
        );
        Box::pin(async move { Ok(Box::new(pipe) as BlobReader) })
    }

    fn repository(&self) -> Option<&Reference> {
        Some(&self.reference)
    }
}

/// An image in an OCI image layout directory (`index.json` + `blobs/sha256/…`): an
/// `oci:` directory or the local store.
#[derive(Debug, Clone)]
pub struct LayoutSource {
    root: PathBuf,
    top: Descriptor,
    name: String,
    /// Keeps a temporary layout (an imported archive) alive as long as the source.
    _keep: Option<Arc<tempfile::TempDir>>,
}

impl LayoutSource {
    /// The image `top` of the layout at `root`.
    pub fn new(root: &Path, top: Descriptor, name: String) -> Self {
        Self {
            root: root.to_path_buf(),
            top,
            name,
            _keep: None,
        }
    }

    /// Like [`LayoutSource::new`], keeping `dir` until the source is dropped.
    pub fn in_temp_dir(dir: Arc<tempfile::TempDir>, top: Descriptor, name: String) -> Self {
        Self {
            root: dir.path().to_path_buf(),
            top,
            name,
            _keep: Some(dir),
        }
    }

    /// The image of an `oci:` directory: the `index.json` entry whose
    /// `org.opencontainers.image.ref.name` is `name`, or the only entry when `name` is
    /// `None`.
    pub fn open_dir(root: &Path, name: Option<&str>) -> Result<Self, TransferError> {
        let bad = |reason: String| TransferError::Layout {
            path: root.to_path_buf(),
            reason,
        };
        let path = root.join("index.json");
        let bytes =
            std::fs::read(&path).map_err(|e| bad(format!("cannot read index.json: {e}")))?;
        let idx: ImageIndex = serde_json::from_slice(&bytes)
            .map_err(|e| bad(format!("index.json is not an OCI index: {e}")))?;
        let ref_name = |d: &Descriptor| {
            d.annotations()
                .as_ref()
                .and_then(|a| a.get(ANNOTATION_REF_NAME).cloned())
        };
        let found: Vec<&Descriptor> = match name {
            Some(n) => idx
                .manifests()
                .iter()
                .filter(|d| ref_name(d).as_deref() == Some(n))
                .collect(),
            None => idx.manifests().iter().collect(),
        };
        match found.as_slice() {
            [one] => Ok(Self::new(
                root,
                (*one).clone(),
                format!("oci:{}", root.display()),
            )),
            [] => Err(bad(match name {
                Some(n) => format!("no image named {n:?}"),
                None => "no image in the layout".into(),
            })),
            _ => Err(bad(format!(
                "{} images in the layout; name one as oci:DIR:NAME",
                found.len()
            ))),
        }
    }

    fn blob_path(&self, d: &Digest) -> PathBuf {
        self.root
            .join("blobs")
            .join(d.algorithm().as_ref())
            .join(d.digest())
    }

    fn read_document(&self, desc: &Descriptor) -> Result<Bytes, TransferError> {
        let path = self.blob_path(desc.digest());
        let bad = |reason: String| TransferError::Layout {
            path: path.clone(),
            reason,
        };
        if desc.size() > hoist_store::MAX_JSON_BYTES {
            return Err(bad(format!(
                "manifest of {} bytes is too large",
                desc.size()
            )));
        }
        let bytes = std::fs::read(&path).map_err(|e| bad(format!("cannot read: {e}")))?;
        let actual = sha256_of(&bytes);
        if &actual != desc.digest() {
            return Err(bad(format!(
                "content is {actual}, expected {}",
                desc.digest()
            )));
        }
        Ok(Bytes::from(bytes))
    }
}

impl ImageSource for LayoutSource {
    fn describe(&self) -> String {
        self.name.clone()
    }

    fn top(&self) -> BoxFuture<'_, Result<Document, TransferError>> {
        Box::pin(async move {
            let bytes = self.read_document(&self.top)?;
            Ok(Document {
                bytes,
                media_type: self.top.media_type().clone(),
                digest: self.top.digest().clone(),
            })
        })
    }

    fn manifest<'a>(&'a self, desc: &'a Descriptor) -> BoxFuture<'a, Result<Bytes, TransferError>> {
        Box::pin(async move {
            if !media::is_manifest(desc.media_type()) && !media::is_index(desc.media_type()) {
                return Err(TransferError::NotAnImage {
                    digest: desc.digest().clone(),
                    media_type: desc.media_type().to_string(),
                });
            }
            self.read_document(desc)
        })
    }

    fn open_blob(&self, desc: &Descriptor) -> BoxFuture<'static, io::Result<BlobReader>> {
        let path = self.blob_path(desc.digest());
        Box::pin(async move {
            let f = tokio::fs::File::open(path).await?;
            Ok(Box::new(f) as BlobReader)
        })
    }
}
