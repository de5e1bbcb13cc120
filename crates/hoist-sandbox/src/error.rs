use std::io;
use std::path::PathBuf;
use std::time::Duration;

use thiserror::Error;

/// Errors from preparing or running a sandbox.
#[derive(Debug, Error)]
pub enum SandboxError {
    /// The [`crate::RunSpec`] is unusable as given.
    #[error("invalid run spec: {field}: {reason}")]
    InvalidSpec {
        /// Which field.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// The kernel refused to create the namespaces the isolation needs.
    #[error("cannot create {namespaces} namespaces; {hint}")]
    NamespacesDenied {
        /// Which namespaces were requested, e.g. `user+mount+pid`.
        namespaces: String,
        /// What to do about it (which isolation to use instead).
        hint: String,
        /// The kernel's error.
        #[source]
        source: io::Error,
    },
    /// `Isolation::Chroot` was requested by a non-root user.
    #[error("--isolation chroot needs root (running as uid {uid}); use --isolation rootless")]
    ChrootNeedsRoot {
        /// The effective uid of this process.
        uid: u32,
    },
    /// `IdMap::Subid` was requested but cannot be honoured.
    #[error("subordinate id mapping unavailable for uid {uid}: {reason}")]
    SubidUnavailable {
        /// The current uid.
        uid: u32,
        /// What is missing.
        reason: String,
    },
    /// The requested user is not mapped in the user namespace.
    #[error(
        "{kind} {id} is not mapped in the user namespace ({mapping}); configure /etc/subuid and /etc/subgid and install newuidmap/newgidmap"
    )]
    IdNotMapped {
        /// `uid` or `gid`.
        kind: &'static str,
        /// The requested id.
        id: u32,
        /// A description of the mapping in use.
        mapping: String,
    },
    /// Writing the id maps of the sandbox process failed.
    #[error("cannot write {what} for pid {pid}")]
    IdMapWrite {
        /// The map file or helper involved.
        what: String,
        /// The sandbox init's pid.
        pid: u32,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// `newuidmap`/`newgidmap` exited unsuccessfully.
    #[error("{program} failed ({status}): {stderr}")]
    IdMapHelper {
        /// The helper's path.
        program: PathBuf,
        /// Its exit status.
        status: String,
        /// What it printed on stderr.
        stderr: String,
    },
    /// A setup step inside the sandbox failed.
    #[error("sandbox setup failed: {step} {path:?}")]
    Setup {
        /// What was being done (`mount proc`, `pivot_root`, `setuid`, ...).
        step: String,
        /// The path involved (inside or outside the rootfs), possibly empty.
        path: PathBuf,
        /// The kernel's error.
        #[source]
        source: io::Error,
    },
    /// The command could not be executed.
    #[error("cannot execute {program:?} in the sandbox")]
    Exec {
        /// `argv[0]` as given.
        program: String,
        /// Why (e.g. not found in `PATH`).
        #[source]
        source: io::Error,
    },
    /// Starting the sandbox init process failed.
    #[error("cannot start sandbox init {program:?}")]
    Spawn {
        /// The init executable.
        program: PathBuf,
        /// The spawn error.
        #[source]
        source: io::Error,
    },
    /// The sandbox init broke the parent/child protocol (crashed, or is not a
    /// program that calls `maybe_run_init`).
    #[error("sandbox init protocol error: {reason}")]
    Protocol {
        /// What went wrong.
        reason: String,
    },
    /// I/O with the sandbox init failed.
    #[error("sandbox i/o failed: {what}")]
    Io {
        /// What was being done.
        what: &'static str,
        /// The error.
        #[source]
        source: io::Error,
    },
    /// The run exceeded [`crate::RunOptions::timeout`] and was killed.
    #[error("sandbox run timed out after {after:?}")]
    Timeout {
        /// The limit.
        after: Duration,
    },
}

impl SandboxError {
    /// True when mounting [`crate::RunSpec::overlay`] failed (the filesystem or kernel
    /// cannot do it): nothing ran, the step may be retried on a plain rootfs.
    pub fn is_overlay_unsupported(&self) -> bool {
        matches!(self, SandboxError::Setup { step, .. } if step == crate::setup::mounts::OVERLAY_STEP)
    }
}
