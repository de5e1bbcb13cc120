//! Switching into the rootfs, becoming the requested user, and executing the command.

use std::io;
use std::path::{Path, PathBuf};

use super::{StepError, step};
use crate::spec::{DEFAULT_PATH, Isolation, Network, RunSpec};
use crate::sys::Syscall;

/// Make the rootfs `/` (pivot_root, or chroot for [`Isolation::Chroot`]), set the
/// host name, bring up loopback in a new network namespace, drop to the requested
/// user with no new privileges, and change to the working directory.
pub(crate) fn enter_rootfs(
    sys: &dyn Syscall,
    spec: &RunSpec,
    setgroups_allowed: bool,
) -> Result<(), StepError> {
    let root = spec.rootfs.as_path();
    let here = Path::new(".");
    let slash = Path::new("/");
    step(sys.chdir(root), "chdir to rootfs", root)?;
    match spec.isolation {
        Isolation::Rootless => {
            // pivot_root(".", ".") stacks the old root on top of the new one; detaching
            // it leaves only the rootfs, without needing a put_old directory.
            step(sys.pivot_root(here, here), "pivot_root", root)?;
            step(sys.umount_detach(here), "detach old root", root)?;
        }
        Isolation::Chroot => step(sys.chroot(here), "chroot", root)?,
    }
    step(sys.chdir(slash), "chdir to /", slash)?;
    step(
        sys.sethostname(&spec.hostname),
        "sethostname",
        Path::new(""),
    )?;
    if spec.network == Network::None {
        step(sys.loopback_up(), "bring up loopback", Path::new("lo"))?;
    }
    drop_capabilities(sys, spec.isolation)?;
    let user = &spec.user;
    if setgroups_allowed {
        step(
            sys.setgroups(&user.additional_gids),
            "setgroups",
            Path::new(""),
        )?;
    } else if !user.additional_gids.is_empty() {
        return Err(StepError {
            step: "setgroups (denied with a single id mapping)",
            path: PathBuf::new(),
            source: io::Error::from_raw_os_error(libc::EPERM),
        });
    }
    step(sys.setresgid(user.gid), "setgid", Path::new(""))?;
    step(sys.setresuid(user.uid), "setuid", Path::new(""))?;
    step(sys.set_no_new_privs(), "set no_new_privs", Path::new(""))?;
    let cwd = Path::new(&spec.cwd);
    step(sys.chdir(cwd), "chdir to working directory", cwd)
}

/// Docker's default capability set: a root command keeps only these (in its
/// namespace's terms). `CAP_SYS_ADMIN`, `CAP_NET_ADMIN`, `CAP_SYS_PTRACE`, ... go.
pub(crate) const DEFAULT_CAPABILITIES: [u32; 14] = [
    0,  // CHOWN
    1,  // DAC_OVERRIDE
    3,  // FOWNER
    4,  // FSETID
    5,  // KILL
    6,  // SETGID
    7,  // SETUID
    8,  // SETPCAP
    10, // NET_BIND_SERVICE
    13, // NET_RAW
    18, // SYS_CHROOT
    27, // MKNOD
    29, // AUDIT_WRITE
    31, // SETFCAP
];

/// `CAP_SYS_CHROOT`, dropped under [`Isolation::Chroot`]: with it, root could leave
/// a chroot (there is no pivot_root there).
const CAP_SYS_CHROOT: u32 = 18;

/// Shrink the bounding set to [`DEFAULT_CAPABILITIES`] (minus `CAP_SYS_CHROOT` for
/// chroot isolation), so the command cannot regain more through `execve`.
fn drop_capabilities(sys: &dyn Syscall, isolation: Isolation) -> Result<(), StepError> {
    let none = Path::new("");
    let keep = |cap: u32| {
        DEFAULT_CAPABILITIES.contains(&cap)
            && !(isolation == Isolation::Chroot && cap == CAP_SYS_CHROOT)
    };
    for cap in step(sys.bounding_capabilities(), "read capabilities", none)? {
        if !keep(cap) {
            step(sys.drop_bounding_capability(cap), "drop capability", none)?;
        }
    }
    Ok(())
}

/// Look `argv[0]` up in the spec's `PATH` (inside the rootfs) and execute it with
/// exactly the spec's environment. Returns only on failure.
pub(crate) fn exec(sys: &dyn Syscall, spec: &RunSpec) -> io::Error {
    let Some(name) = spec.argv.first() else {
        return io::Error::new(io::ErrorKind::InvalidInput, "empty argv");
    };
    match find_program(sys, name, &spec.env) {
        Ok(program) => sys.execve(&program, &spec.argv, &spec.env),
        Err(e) => e,
    }
}

/// `execvp`-style lookup: a name with a `/` is used as is, otherwise the first
/// executable file in the environment's `PATH` (Docker's default when unset).
pub(crate) fn find_program(sys: &dyn Syscall, name: &str, env: &[String]) -> io::Result<PathBuf> {
    if name.contains('/') {
        return Ok(PathBuf::from(name));
    }
    let path = env
        .iter()
        .rev()
        .find_map(|kv| kv.strip_prefix("PATH="))
        .unwrap_or(DEFAULT_PATH);
    path.split(':')
        .map(|dir| Path::new(if dir.is_empty() { "." } else { dir }).join(name))
        .find(|candidate| sys.is_executable(candidate))
        .ok_or_else(|| {
            // An errno (not a custom message) survives the trip to the parent.
            tracing::debug!(name, path, "command not found in PATH");
            io::Error::from_raw_os_error(libc::ENOENT)
        })
}
