//! `hoist build`: turns a Dockerfile and a context into an OCI image in the local store.
//!
//! [`build`] parses the Dockerfile ([`hoist_dockerfile`]), plans its stages (ARG scoping,
//! `--target` pruning, `--from` dependencies, cycles), then executes the needed stages in
//! dependency order: COPY/ADD become layers ([`hoist_layer`]), other instructions edit the
//! image config. Blobs and names land in the [`hoist_store::Store`]. Progress goes to a
//! [`Reporter`]; the library never prints.

mod base;
mod commit;
mod container;
mod copy;
mod error;
mod exec;
mod instr;
mod layerdirs;
mod options;
mod parents;
mod plan;
mod report;
mod rootfs;
mod run;
mod vars;

pub use base::{FetchError, ImageFetcher, PullPolicy};
pub use container::{ContainerOptions, Volume, run_container};
pub use error::{BuildError, Location};
pub use exec::{build, build_with};
pub use options::{BuildOptions, BuildOutcome, DockerfileSource, SecretSource};
pub use report::{Reporter, Silent};
pub use rootfs::LayerRef;
