//! Run a command inside a rootfs directory, isolated with Linux namespaces.
//!
//! [`Isolation::Rootless`] uses a user namespace (so no root is needed) plus mount,
//! pid, uts and ipc namespaces (and a network namespace for [`Network::None`]);
//! [`Isolation::Chroot`] is for root in locked-down CI containers without user
//! namespaces. The host's `/` is never written: only the rootfs directory and the
//! explicit bind sources are touched.
//!
//! The process that creates the namespaces must be single-threaded, so [`run`]
//! re-executes an executable (by default the current one) that calls
//! [`maybe_run_init`] first thing in `main`:
//!
//! ```no_run
//! use hoist_sandbox::{RunSpec, Stdio, run};
//!
//! // First thing in `main`: returns at once unless started as the sandbox init.
//! hoist_sandbox::maybe_run_init();
//!
//! let outcome = run(&RunSpec {
//!     rootfs: "/var/tmp/rootfs".into(),
//!     argv: vec!["sh".into(), "-c".into(), "echo hi".into()],
//!     env: vec!["PATH=/bin:/usr/bin".into()],
//!     stdio: Stdio::Capture { tail_bytes: 64 * 1024 },
//!     ..RunSpec::default()
//! })?;
//! assert!(outcome.status.success());
//! # Ok::<(), hoist_sandbox::SandboxError>(())
//! ```
//!
//! The kernel calls of the setup sequence go through [`Syscall`], so the order,
//! flags and paths are unit-tested with a recording fake.

mod capture;
mod error;
mod idmap;
mod init;
mod probe;
mod protocol;
mod rootpath;
mod run;
mod setup;
mod spec;
mod sys;
mod userns;

pub use error::SandboxError;
pub use idmap::{SUBID_COUNT, SubidRange, parse_subid};
pub use init::maybe_run_init;
pub use probe::{Capabilities, UserNamespaces, probe};
pub use run::{run, run_with};
pub use spec::{
    DEFAULT_PATH, EtcFiles, ExitStatus, IdMap, Isolation, MountSpec, Network, Overlay, RunOptions,
    RunOutcome, RunSpec, Stdio, UserSpec,
};
pub use sys::{FileKind, MountFlags, Namespaces, Syscall};
pub use userns::reexec_in_user_namespace;
