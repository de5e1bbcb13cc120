//! The OCI vocabulary shared by every hoist crate.
//!
//! Typed values cross crate boundaries: [`Digest`], [`MediaType`], [`Reference`],
//! [`Platform`]. The image-spec JSON types (manifest, index, config, descriptor) are
//! re-exported from `oci-spec` under [`spec`]. This crate does no I/O.

mod config;
mod digest;
mod error;
pub mod media;
mod platform;
mod reference;

pub use config::{
    ContainerConfig, Empty, HealthConfig, History, ImageConfig, RootFs, canonical_json,
};
pub use digest::{Digest, DigestAlgorithm, Hasher, parse_digest, sha256_of};
pub use error::OciError;
pub use media::MediaType;
pub use platform::Platform;
pub use reference::{DEFAULT_DOMAIN, DEFAULT_TAG, Reference};

/// The OCI image-spec types (re-exported from `oci-spec`).
pub mod spec {
    pub use oci_spec::image::*;
}

/// Annotation key under which the local store records an image's name.
pub const ANNOTATION_REF_NAME: &str = "org.opencontainers.image.ref.name";
