//! The sequence run inside the new namespaces, before the command is executed:
//! [`mounts::prepare_rootfs`], then [`enter::enter_rootfs`], then [`enter::exec`].
//! Everything goes through [`Syscall`](crate::sys::Syscall), so the order, flags and
//! paths are unit-tested with the recording fake.

pub(crate) mod enter;
pub(crate) mod mounts;
#[cfg(test)]
mod tests;

use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::spec::RunSpec;

/// What the parent sends the sandbox init: the spec plus facts the parent decided.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct InitRequest {
    /// The run spec, with `rootfs` made absolute and canonical.
    pub spec: RunSpec,
    /// Whether `setgroups(2)` is allowed in the user namespace (false with a single
    /// unprivileged mapping, where /proc/PID/setgroups is `deny`).
    pub setgroups_allowed: bool,
}

/// A failed setup step: what, where, and the kernel's answer.
#[derive(Debug)]
pub(crate) struct StepError {
    pub step: &'static str,
    pub path: PathBuf,
    pub source: io::Error,
}

/// Attach the step name and path to a failed call.
pub(crate) fn step<T>(
    result: io::Result<T>,
    step: &'static str,
    path: &Path,
) -> Result<T, StepError> {
    result.map_err(|source| StepError {
        step,
        path: path.to_path_buf(),
        source,
    })
}
