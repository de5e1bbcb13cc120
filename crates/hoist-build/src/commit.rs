//! Writing layers and image documents into the store.

use hoist_layer::{Entry, LayerOptions};
use hoist_oci::spec::Descriptor;
use hoist_oci::{ImageConfig, MediaType, canonical_json, media};
use hoist_store::Store;

use crate::rootfs::LayerRef;
use crate::{BuildError, Reporter};

/// Writes one layer from `entries` into the store, streaming: tar → compress → blob file.
pub(crate) fn write_layer(
    store: &Store,
    entries: Vec<Entry>,
    opts: &LayerOptions,
    reporter: &dyn Reporter,
) -> Result<LayerRef, BuildError> {
    let written = write_layer_unreported(store, entries, opts)?;
    written.report(reporter);
    Ok(written.layer)
}

/// A layer written into the store, and what to tell the user about it.
pub(crate) struct Written {
    pub(crate) layer: LayerRef,
    entries: u64,
    seconds: f64,
}

impl Written {
    /// Reports the layer.
    pub(crate) fn report(&self, reporter: &dyn Reporter) {
        reporter.layer(
            &self.layer.digest,
            self.layer.size,
            self.entries,
            self.seconds,
        );
    }
}

/// [`write_layer`] without reporting (for background threads).
pub(crate) fn write_layer_unreported(
    store: &Store,
    entries: Vec<Entry>,
    opts: &LayerOptions,
) -> Result<Written, BuildError> {
    let started = std::time::Instant::now();
    let writer = store.blob_writer_hashed_by_producer()?;
    let (info, writer) = hoist_layer::write_layer(entries, opts, writer)?;
    let size = writer.commit_expect(&info.digest)?;
    Ok(Written {
        layer: LayerRef {
            digest: info.digest,
            size,
            media_type: info.media_type,
            diff_id: info.diff_id,
        },
        entries: info.entries,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// Writes the config and manifest of an image; returns the manifest's descriptor
/// (with its platform) and the config's descriptor.
pub(crate) fn write_image(
    store: &Store,
    config: &ImageConfig,
    layers: &[LayerRef],
) -> Result<(Descriptor, Descriptor), BuildError> {
    let json_err = |what| move |source| BuildError::Json { what, source };
    let config_bytes = canonical_json(config).map_err(json_err("config"))?;
    let (config_digest, config_size) = store.put_blob(&config_bytes)?;
    let config_desc = Descriptor::new(MediaType::ImageConfig, config_size, config_digest);
    let layer_descs: Vec<Descriptor> = layers
        .iter()
        .map(|l| Descriptor::new(oci_layer_type(&l.media_type), l.size, l.digest.clone()))
        .collect();
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": media::OCI_MANIFEST,
        "config": config_desc,
        "layers": layer_descs,
    });
    let bytes = canonical_json(&manifest).map_err(json_err("manifest"))?;
    let (digest, size) = store.put_blob(&bytes)?;
    let mut desc = Descriptor::new(MediaType::ImageManifest, size, digest);
    let platform = hoist_oci::spec::PlatformBuilder::default()
        .os(config.os.as_str())
        .architecture(config.architecture.as_str())
        .build()
        .ok();
    desc.set_platform(platform);
    Ok((desc, config_desc))
}

/// Docker's gzip layer type maps to OCI's: the bytes are the same, so is the digest.
fn oci_layer_type(mt: &MediaType) -> MediaType {
    if mt.as_ref() == media::DOCKER_LAYER_GZIP {
        MediaType::ImageLayerGzip
    } else {
        mt.clone()
    }
}
