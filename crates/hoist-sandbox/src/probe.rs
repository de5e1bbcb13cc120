//! What this host allows: facts used to pick an isolation and to explain refusals.

use std::ffi::CStr;
use std::io;
use std::path::{Path, PathBuf};

use crate::error::SandboxError;
use crate::idmap::{SubidRange, read_subid_file};
use crate::spec::Isolation;
use crate::sys::Namespaces;

/// Whether this process may create user namespaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserNamespaces {
    /// A test child created a user + mount namespace.
    Available,
    /// The kernel refused with this errno.
    Denied {
        /// `EPERM`, `EINVAL`, `ENOSPC`, ...
        errno: i32,
    },
    /// Not tested (the cheap fact gathering done by every run).
    NotProbed,
}

/// Facts about the host relevant to sandboxing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Capabilities {
    /// Effective uid of this process.
    pub euid: u32,
    /// Effective gid of this process.
    pub egid: u32,
    /// The user name for `euid`, when the passwd database has one.
    pub user_name: Option<String>,
    /// Can we create user namespaces?
    pub user_namespaces: UserNamespaces,
    /// Path of the `newuidmap` helper, if found.
    pub newuidmap: Option<PathBuf>,
    /// Path of the `newgidmap` helper, if found.
    pub newgidmap: Option<PathBuf>,
    /// This user's range in /etc/subuid.
    pub subuid: Option<SubidRange>,
    /// This user's range in /etc/subgid.
    pub subgid: Option<SubidRange>,
}

impl Capabilities {
    /// True when running as root.
    pub fn is_root(&self) -> bool {
        self.euid == 0
    }

    /// The isolation to use: rootless when user namespaces work (or were not probed),
    /// chroot when they are denied but we are root, `None` when neither works.
    pub fn recommended_isolation(&self) -> Option<Isolation> {
        match self.user_namespaces {
            UserNamespaces::Available | UserNamespaces::NotProbed => Some(Isolation::Rootless),
            UserNamespaces::Denied { .. } if self.is_root() => Some(Isolation::Chroot),
            UserNamespaces::Denied { .. } => None,
        }
    }

    /// Can `isolation` work here? The error says what to use instead.
    pub fn check(&self, isolation: Isolation) -> Result<(), SandboxError> {
        match (isolation, self.user_namespaces) {
            (Isolation::Chroot, _) if !self.is_root() => {
                Err(SandboxError::ChrootNeedsRoot { uid: self.euid })
            }
            (Isolation::Rootless, UserNamespaces::Denied { errno }) => Err(namespaces_denied(
                isolation,
                self.is_root(),
                Namespaces::USER | Namespaces::MOUNT,
                io::Error::from_raw_os_error(errno),
            )),
            _ => Ok(()),
        }
    }
}

/// The error for a refused `unshare`, with the hint that fits the situation.
pub(crate) fn namespaces_denied(
    isolation: Isolation,
    is_root: bool,
    namespaces: Namespaces,
    source: io::Error,
) -> SandboxError {
    let hint = match (isolation, is_root) {
        (Isolation::Rootless, true) => {
            "user namespaces are not available here; use --isolation chroot (needs root, which this process has)"
        }
        (Isolation::Rootless, false) => {
            "user namespaces are not available here and --isolation chroot needs root; \
             enable unprivileged user namespaces (sysctl user.max_user_namespaces, \
             kernel.unprivileged_userns_clone, kernel.apparmor_restrict_unprivileged_userns) \
             or run as root with --isolation chroot"
        }
        (Isolation::Chroot, _) => {
            "mount namespaces are denied even to root (a container without CAP_SYS_ADMIN \
             or with a seccomp filter?); run it with --cap-add SYS_ADMIN or --privileged"
        }
    };
    SandboxError::NamespacesDenied {
        namespaces: namespaces.to_string(),
        hint: hint.to_owned(),
        source,
    }
}

/// Probe the host, including a test child that creates a user namespace.
pub fn probe() -> Capabilities {
    let mut caps = gather();
    caps.user_namespaces = try_user_namespace();
    caps
}

/// The cheap facts (no test child): ids, helpers, subordinate ranges.
pub(crate) fn gather() -> Capabilities {
    // SAFETY: geteuid/getegid cannot fail.
    let (euid, egid) = unsafe { (libc::geteuid(), libc::getegid()) };
    let user_name = user_name(euid);
    let subid = |path: &str, id: u32| {
        read_subid_file(path, user_name.as_deref(), id).unwrap_or_else(|e| {
            tracing::warn!(path, error = %e, "cannot read subordinate id file; treating it as empty");
            None
        })
    };
    Capabilities {
        euid,
        egid,
        subuid: subid("/etc/subuid", euid),
        subgid: subid("/etc/subgid", euid),
        user_name: user_name.clone(),
        user_namespaces: UserNamespaces::NotProbed,
        newuidmap: find_helper("newuidmap"),
        newgidmap: find_helper("newgidmap"),
    }
}

fn find_helper(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/bin", "/usr/sbin", "/bin", "/sbin"].map(PathBuf::from))
        .map(|dir| dir.join(name))
        .find(|candidate| is_file(candidate))
}

fn is_file(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| m.is_file())
}

fn user_name(uid: u32) -> Option<String> {
    // SAFETY: passwd is plain old data; zeroed is a valid value.
    let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
    let mut buf = vec![0 as libc::c_char; 16 * 1024];
    let mut result: *mut libc::passwd = std::ptr::null_mut();
    // SAFETY: all pointers are valid for the call; buf outlives the use of pwd.
    let rc = unsafe { libc::getpwuid_r(uid, &mut pwd, buf.as_mut_ptr(), buf.len(), &mut result) };
    if rc != 0 || result.is_null() || pwd.pw_name.is_null() {
        return None;
    }
    // SAFETY: pw_name points into buf and is NUL-terminated.
    let name = unsafe { CStr::from_ptr(pwd.pw_name) };
    Some(name.to_string_lossy().into_owned())
}

/// Fork a child that tries `unshare(CLONE_NEWUSER | CLONE_NEWNS)` and reports the
/// result in its exit code. Only async-signal-safe calls run in the child.
fn try_user_namespace() -> UserNamespaces {
    // SAFETY: the child only calls unshare and _exit, which are async-signal-safe,
    // so forking a possibly multi-threaded process is sound.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        let errno = io::Error::last_os_error()
            .raw_os_error()
            .unwrap_or(libc::EAGAIN);
        return UserNamespaces::Denied { errno };
    }
    if pid == 0 {
        // SAFETY: see above.
        unsafe {
            let code = if libc::unshare(libc::CLONE_NEWUSER | libc::CLONE_NEWNS) == 0 {
                0
            } else {
                *libc::__errno_location()
            };
            libc::_exit(code & 0xff);
        }
    }
    let mut status = 0;
    loop {
        // SAFETY: waiting for our own child with a valid status pointer.
        let rc = unsafe { libc::waitpid(pid, &mut status, 0) };
        if rc == pid {
            break;
        }
        if io::Error::last_os_error().kind() != io::ErrorKind::Interrupted {
            return UserNamespaces::Denied {
                errno: libc::ECHILD,
            };
        }
    }
    match (libc::WIFEXITED(status), libc::WEXITSTATUS(status)) {
        (true, 0) => UserNamespaces::Available,
        (true, errno) => UserNamespaces::Denied { errno },
        (false, _) => UserNamespaces::Denied { errno: libc::EINTR },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fake(euid: u32, userns: UserNamespaces) -> Capabilities {
        Capabilities {
            euid,
            egid: euid,
            user_name: None,
            user_namespaces: userns,
            newuidmap: None,
            newgidmap: None,
            subuid: None,
            subgid: None,
        }
    }

    #[test]
    fn denied_user_namespaces_as_root_points_to_chroot() {
        let caps = fake(0, UserNamespaces::Denied { errno: libc::EPERM });
        assert_eq!(caps.recommended_isolation(), Some(Isolation::Chroot));
        let message = caps.check(Isolation::Rootless).unwrap_err().to_string();
        assert_eq!(
            message,
            "cannot create user+mount namespaces; user namespaces are not available here; \
             use --isolation chroot (needs root, which this process has)"
        );
        assert!(caps.check(Isolation::Chroot).is_ok());
    }

    #[test]
    fn denied_user_namespaces_as_user_explains_both_ways_out() {
        let caps = fake(
            1000,
            UserNamespaces::Denied {
                errno: libc::ENOSPC,
            },
        );
        assert_eq!(caps.recommended_isolation(), None);
        let message = caps.check(Isolation::Rootless).unwrap_err().to_string();
        assert!(
            message.contains("--isolation chroot needs root"),
            "{message}"
        );
        assert!(message.contains("user.max_user_namespaces"), "{message}");
        let chroot = caps.check(Isolation::Chroot).unwrap_err().to_string();
        assert_eq!(
            chroot,
            "--isolation chroot needs root (running as uid 1000); use --isolation rootless"
        );
    }

    #[test]
    fn available_user_namespaces_recommend_rootless() {
        let caps = fake(1000, UserNamespaces::Available);
        assert_eq!(caps.recommended_isolation(), Some(Isolation::Rootless));
        assert!(caps.check(Isolation::Rootless).is_ok());
    }

    #[test]
    fn denied_mount_namespace_for_root_suggests_capabilities() {
        let err = namespaces_denied(
            Isolation::Chroot,
            true,
            Namespaces::MOUNT | Namespaces::UTS,
            io::Error::from_raw_os_error(libc::EPERM),
        );
        let message = err.to_string();
        assert!(
            message.starts_with("cannot create mount+uts namespaces;"),
            "{message}"
        );
        assert!(message.contains("SYS_ADMIN"), "{message}");
    }

    #[test]
    fn probe_on_this_host_reports_real_ids() {
        let caps = probe();
        // SAFETY: geteuid cannot fail.
        assert_eq!(caps.euid, unsafe { libc::geteuid() });
        assert_ne!(caps.user_namespaces, UserNamespaces::NotProbed);
    }
}
