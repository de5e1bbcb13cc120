//! hoist-transfer: image-level operations between the local store and registries.
//!
//! [`pull`] brings an image (an index and the platform's manifest, or every platform)
//! from a registry into a [`hoist_store::Store`]; [`push`] sends a stored image (a
//! manifest, or an index with its children) to a registry. Both stream blobs, never
//! holding a layer in memory, run blob transfers concurrently within the
//! [`hoist_registry::Client`]'s per-registry limits, and skip what the other side has.
//!
//! [`BlobSources`] remembers which repositories hold which blobs, so a push to the same
//! registry mounts instead of uploading. A registry-to-registry copy builds on the same
//! pieces: [`copy`] moves an image between any two [`Endpoint`]s (registries, OCI
//! layouts, archives, the store), streaming registry blobs from one connection to the
//! other and mounting within one registry.
#![deny(missing_docs)]

mod copy;
mod endpoint;
mod error;
mod pipe;
mod pull;
mod push;
mod sink;
mod source;
mod sources;

pub use copy::{Copied, CopyOptions, copy_to_registry, copy_to_store};
pub use endpoint::{CopyContext, Endpoint, copy};
pub use error::TransferError;
pub use pull::{PullOptions, Pulled, pull};
pub use push::{Pushed, push};
pub use source::{BlobReader, Document, ImageSource, LayoutSource, RegistrySource};
pub use sources::{BlobSources, SOURCES_DIR};

use hoist_oci::Digest;
use tokio::task::JoinSet;

/// Parses a JSON document from a blob.
pub(crate) fn parse_json<T: serde::de::DeserializeOwned>(
    bytes: &[u8],
    what: &'static str,
    digest: &Digest,
) -> Result<T, TransferError> {
    serde_json::from_slice(bytes).map_err(|source| TransferError::Json {
        what,
        digest: digest.clone(),
        source,
    })
}

/// Waits for every task; the first error aborts the rest (dropping the set cancels them).
pub(crate) async fn join_all<T: 'static>(
    mut tasks: JoinSet<Result<T, TransferError>>,
) -> Result<Vec<T>, TransferError> {
    let mut out = Vec::with_capacity(tasks.len());
    while let Some(res) = tasks.join_next().await {
        out.push(res.map_err(|e| TransferError::Task(e.to_string()))??);
    }
    Ok(out)
}
