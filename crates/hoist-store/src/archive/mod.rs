//! Archive import and export.
//!
//! * [`export_oci_dir`]: a standalone OCI image layout directory.
//! * [`export_oci_archive`]: the same layout as a tar file (skopeo `oci-archive:`).
//! * [`export_docker_archive`]: what `docker load` reads (the Docker 25+ `docker save`
//!   format: an OCI layout plus `manifest.json` and `repositories`).
//! * [`import_archive`]: reads oci-archive or docker-archive tar files (plain,
//!   gzip or zstd compressed) into the store.
//!
//! ## Names in exported layouts
//! Each exported image gets two annotations on its `index.json` entry, as
//! `docker save` writes them:
//! `org.opencontainers.image.ref.name` = the **tag only** (`1`), which is what
//! `skopeo … oci:DIR:1` and `umoci --image DIR:1` look up, and
//! `io.containerd.image.name` = the full name (`docker.io/library/demo:1`), so that
//! importing the layout again restores the repository. Because `ref.name` is only the
//! tag, two images with the same tag in different repositories cannot go into one
//! layout ([`crate::StoreError::DuplicateTag`]).

mod docker_import;
mod export;
mod import;
mod tar_out;

pub use export::{export_docker_archive, export_oci_archive, export_oci_dir};
pub use import::{ImportOptions, import_archive, import_archive_with};

/// Annotation containerd and `docker save` use for the full image name.
pub const ANNOTATION_IMAGE_NAME: &str = "io.containerd.image.name";

#[cfg(test)]
mod interop_tests;
#[cfg(test)]
mod tests;
