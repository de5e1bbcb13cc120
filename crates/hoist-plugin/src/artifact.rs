//! Plugins as OCI artifacts (the CNCF wasm OCI artifact layout): an image manifest
//! whose config has media type [`WASM_CONFIG`] and whose single layer, of media type
//! [`WASM_LAYER`], is the component itself.

use hoist_oci::spec::{Descriptor, ImageManifest};
use hoist_oci::{Digest, MediaType, Reference, canonical_json, media, sha256_of};
use hoist_registry::Client;

use crate::PluginError;

/// Media type of the artifact's config.
pub const WASM_CONFIG: &str = "application/vnd.wasm.config.v0+json";
/// Media type of the component layer.
pub const WASM_LAYER: &str = "application/wasm";
/// Largest component accepted from a registry (64 MiB).
pub const MAX_COMPONENT_SIZE: u64 = 64 << 20;

fn registry_err(r: &Reference) -> impl FnOnce(hoist_registry::RegistryError) -> PluginError {
    let reference = r.to_string();
    move |source| PluginError::Registry {
        reference,
        source: Box::new(source),
    }
}

fn artifact_err(r: &Reference, reason: impl Into<String>) -> PluginError {
    PluginError::Artifact {
        reference: r.to_string(),
        reason: reason.into(),
    }
}

async fn push_bytes(client: &Client, r: &Reference, bytes: Vec<u8>) -> Result<Digest, PluginError> {
    let digest = sha256_of(&bytes);
    let size = bytes.len() as u64;
    client
        .push_blob(r, &digest, size, || {
            let b = bytes.clone();
            async move { Ok(std::io::Cursor::new(b)) }
        })
        .await
        .map_err(registry_err(r))?;
    Ok(digest)
}

/// Publishes `wasm` (a plugin component, checked by the caller) to `r` and returns the
/// manifest's digest. `created` goes in the config (RFC 3339; omitted when `None`, for
/// reproducible digests).
pub async fn push_plugin(
    client: &Client,
    r: &Reference,
    wasm: &[u8],
    manifest: &crate::Manifest,
    created: Option<&str>,
) -> Result<Digest, PluginError> {
    let layer_digest = sha256_of(wasm);
    let mut config = serde_json::json!({
        "architecture": "wasm",
        "os": "wasip2",
        "layerDigests": [layer_digest.to_string()],
        "component": { "world": format!("hoist:plugin/{}", manifest.world) },
    });
    if let Some(c) = created {
        config["created"] = c.into();
    }
    let config_bytes = canonical_json(&config).map_err(|e| artifact_err(r, e.to_string()))?;
    let config_size = config_bytes.len() as u64;
    let config_digest = push_bytes(client, r, config_bytes).await?;
    push_bytes(client, r, wasm.to_vec()).await?;
    let title = format!("{}.wasm", manifest.name);
    let mut layer = Descriptor::new(MediaType::from(WASM_LAYER), wasm.len() as u64, layer_digest);
    layer.set_annotations(Some(
        [("org.opencontainers.image.title".to_string(), title)].into(),
    ));
    let doc = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": media::OCI_MANIFEST,
        "artifactType": WASM_CONFIG,
        "config": Descriptor::new(MediaType::from(WASM_CONFIG), config_size, config_digest),
        "layers": [layer],
        "annotations": {
            "org.opencontainers.image.title": manifest.name,
            "org.opencontainers.image.version": manifest.version,
        },
    });
    let bytes = canonical_json(&doc).map_err(|e| artifact_err(r, e.to_string()))?;
    client
        .put_manifest(r, &MediaType::ImageManifest, bytes.into())
        .await
        .map_err(registry_err(r))
}

/// Fetches the component of the plugin artifact `r`, which must be pinned by digest
/// (`…@sha256:…`): the manifest is checked against that digest by the client, the
/// layer against the manifest's layer digest.
pub async fn fetch_plugin(client: &Client, r: &Reference) -> Result<Vec<u8>, PluginError> {
    if r.digest().is_none() {
        return Err(artifact_err(
            r,
            "plugins are installed by digest: use oci://REPO@sha256:…",
        ));
    }
    let m = client
        .get_manifest(r, &[media::OCI_MANIFEST])
        .await
        .map_err(registry_err(r))?;
    let doc: ImageManifest = serde_json::from_slice(&m.bytes)
        .map_err(|e| artifact_err(r, format!("not an OCI image manifest: {e}")))?;
    if doc.config().media_type().as_ref() != WASM_CONFIG {
        return Err(artifact_err(
            r,
            format!(
                "config media type is {}, not {WASM_CONFIG} (not a wasm plugin)",
                doc.config().media_type()
            ),
        ));
    }
    let [layer] = doc.layers().as_slice() else {
        return Err(artifact_err(
            r,
            format!(
                "has {} layers; a plugin has exactly one",
                doc.layers().len()
            ),
        ));
    };
    if layer.media_type().as_ref() != WASM_LAYER {
        return Err(artifact_err(
            r,
            format!(
                "layer media type is {}, not {WASM_LAYER}",
                layer.media_type()
            ),
        ));
    }
    if layer.size() > MAX_COMPONENT_SIZE {
        return Err(artifact_err(
            r,
            format!(
                "component is {} bytes, over the {MAX_COMPONENT_SIZE} byte limit",
                layer.size()
            ),
        ));
    }
    let digest: Digest = layer.digest().clone();
    let mut wasm = Vec::with_capacity(layer.size() as usize);
    client
        .get_blob(r, &digest, &mut wasm)
        .await
        .map_err(registry_err(r))?;
    Ok(wasm)
}
