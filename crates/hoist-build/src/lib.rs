//! `hoist build`: turns a Dockerfile and a context into an OCI image in the local store.
//!
//! [`build`] parses the Dockerfile ([`hoist_dockerfile`]), plans its stages (ARG scoping,
//! `--target` pruning, `--from` dependencies, cycles), then executes the needed stages in
//! dependency order: COPY/ADD become layers ([`hoist_layer`]), other instructions edit the
//! image config. Blobs and names land in the [`hoist_store::Store`]. Progress goes to a
//! [`Reporter`]; the library never prints.

mod commit;
mod copy;
mod error;
mod exec;
mod instr;
mod options;
mod plan;
mod report;
mod rootfs;
mod vars;

pub use error::{BuildError, Location};
pub use exec::build;
pub use options::{BuildOptions, BuildOutcome, DockerfileSource};
pub use report::{Reporter, Silent};
pub use rootfs::LayerRef;
