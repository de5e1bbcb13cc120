//! Media type strings, OCI and Docker schema2, and classification helpers.

pub use oci_spec::image::MediaType;

/// OCI image manifest.
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// OCI image index.
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
/// OCI image config.
pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
/// OCI uncompressed layer.
pub const OCI_LAYER_TAR: &str = "application/vnd.oci.image.layer.v1.tar";
/// OCI gzip layer.
pub const OCI_LAYER_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
/// OCI zstd layer.
pub const OCI_LAYER_ZSTD: &str = "application/vnd.oci.image.layer.v1.tar+zstd";
/// Docker schema2 manifest.
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
/// Docker manifest list.
pub const DOCKER_MANIFEST_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
/// Docker schema1 manifest (unsupported, recognised for error messages).
pub const DOCKER_SCHEMA1: &str = "application/vnd.docker.distribution.manifest.v1+json";
/// Signed Docker schema1 manifest.
pub const DOCKER_SCHEMA1_SIGNED: &str = "application/vnd.docker.distribution.manifest.v1+prettyjws";
/// Docker image config.
pub const DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";
/// Docker gzip layer.
pub const DOCKER_LAYER_GZIP: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";
/// Docker foreign (non-distributable) layer.
pub const DOCKER_FOREIGN_LAYER: &str = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip";

/// How a layer blob is compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Compression {
    /// Plain tar.
    None,
    /// gzip.
    Gzip,
    /// zstd.
    Zstd,
}

/// True for single-image manifests (OCI or Docker schema2).
pub fn is_manifest(mt: &MediaType) -> bool {
    matches!(mt.as_ref(), OCI_MANIFEST | DOCKER_MANIFEST)
}

/// True for indexes / manifest lists.
pub fn is_index(mt: &MediaType) -> bool {
    matches!(mt.as_ref(), OCI_INDEX | DOCKER_MANIFEST_LIST)
}

/// True for Docker schema1 manifests, which hoist does not support.
pub fn is_schema1(mt: &str) -> bool {
    matches!(
        mt,
        DOCKER_SCHEMA1 | DOCKER_SCHEMA1_SIGNED | "application/json"
    )
}

/// The compression of a layer media type, `None` when it is not a layer type.
pub fn layer_compression(mt: &MediaType) -> Option<Compression> {
    let s = mt.as_ref();
    if s == DOCKER_LAYER_GZIP || s == DOCKER_FOREIGN_LAYER || s.ends_with("tar+gzip") {
        Some(Compression::Gzip)
    } else if s.ends_with("tar+zstd") {
        Some(Compression::Zstd)
    } else if s.ends_with(".tar") || s == "application/vnd.docker.image.rootfs.diff.tar" {
        Some(Compression::None)
    } else {
        None
    }
}

/// The OCI layer media type for a compression.
pub fn oci_layer(c: Compression) -> MediaType {
    match c {
        Compression::None => MediaType::ImageLayer,
        Compression::Gzip => MediaType::ImageLayerGzip,
        Compression::Zstd => MediaType::ImageLayerZstd,
    }
}

/// The `Accept` header value for fetching any supported manifest or index.
pub const MANIFEST_ACCEPT: &[&str] = &[
    OCI_INDEX,
    OCI_MANIFEST,
    DOCKER_MANIFEST_LIST,
    DOCKER_MANIFEST,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_layers() {
        assert_eq!(
            layer_compression(&MediaType::from(DOCKER_LAYER_GZIP)),
            Some(Compression::Gzip)
        );
        assert_eq!(
            layer_compression(&MediaType::ImageLayerZstd),
            Some(Compression::Zstd)
        );
        assert_eq!(layer_compression(&MediaType::ImageConfig), None);
        assert!(is_index(&MediaType::from(DOCKER_MANIFEST_LIST)));
        assert!(is_manifest(&MediaType::ImageManifest));
    }
}
