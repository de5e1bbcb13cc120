use std::collections::BTreeMap;
use std::path::PathBuf;

use hoist_oci::media::Compression;
use hoist_oci::spec::Descriptor;
use hoist_oci::{Digest, Platform, Reference};

use crate::base::PullPolicy;

/// Where the Dockerfile comes from.
#[derive(Debug, Clone)]
pub enum DockerfileSource {
    /// A file; `None` means `CONTEXT/Dockerfile`.
    Path(Option<PathBuf>),
    /// Text already read (e.g. from stdin), with the name to use in errors.
    Text {
        /// Name shown in errors, e.g. `-`.
        name: String,
        /// The Dockerfile.
        text: String,
    },
}

/// What to build and how. Every field documents its default.
#[derive(Debug, Clone)]
pub struct BuildOptions {
    /// Context directory. Default: `.`.
    pub context: PathBuf,
    /// The Dockerfile. Default: `CONTEXT/Dockerfile`.
    pub dockerfile: DockerfileSource,
    /// Names to give the result in the store. Default: none (only the digest is reported).
    pub tags: Vec<Reference>,
    /// `--build-arg` values. Default: none.
    pub build_args: BTreeMap<String, String>,
    /// Stage to build. Default: the last stage.
    pub target: Option<String>,
    /// Labels added to the final image. Default: none.
    pub labels: BTreeMap<String, String>,
    /// Target platform. Default: the host's.
    pub platform: Option<Platform>,
    /// `SOURCE_DATE_EPOCH` / `--timestamp`: clamps mtimes in new layers and sets `created`.
    /// Default: none (current time, file mtimes kept).
    pub timestamp: Option<i64>,
    /// Layer compression. Default: gzip.
    pub compression: Compression,
    /// Compression level. Default: the layer writer's per-codec default.
    pub compression_level: Option<i32>,
    /// When base images are fetched through the [`crate::ImageFetcher`] given to
    /// [`crate::build_with`]. Default: [`PullPolicy::Missing`].
    pub pull: PullPolicy,
    /// How RUN steps are isolated. Default: `None`, meaning rootless (user
    /// namespaces), or chroot when running as root where user namespaces are denied.
    pub isolation: Option<hoist_sandbox::Isolation>,
    /// Network of RUN steps without `--network`. Default: [`hoist_sandbox::Network::Host`]
    /// (what `--network default` means for hoist: rootless builds cannot set up a bridge).
    pub network: hoist_sandbox::Network,
    /// Build secrets for `RUN --mount=type=secret`, by id. Default: none.
    pub secrets: BTreeMap<String, SecretSource>,
}

/// Where a build secret's bytes come from (`--secret id=x,src=FILE|env=VAR`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretSource {
    /// A file, bind-mounted read-only.
    File(PathBuf),
    /// An environment variable of the build process.
    Env(String),
}

impl Default for BuildOptions {
    fn default() -> Self {
        BuildOptions {
            context: PathBuf::from("."),
            dockerfile: DockerfileSource::Path(None),
            tags: Vec::new(),
            build_args: BTreeMap::new(),
            target: None,
            labels: BTreeMap::new(),
            platform: None,
            timestamp: None,
            compression: Compression::Gzip,
            compression_level: None,
            pull: PullPolicy::Missing,
            isolation: None,
            network: hoist_sandbox::Network::Host,
            secrets: BTreeMap::new(),
        }
    }
}

/// What a build produced.
#[derive(Debug, Clone)]
pub struct BuildOutcome {
    /// Descriptor of the image manifest in the store.
    pub manifest: Descriptor,
    /// The config digest (the image ID, as `--iidfile` reports it).
    pub config_digest: Digest,
    /// Names given to it.
    pub tags: Vec<Reference>,
}
