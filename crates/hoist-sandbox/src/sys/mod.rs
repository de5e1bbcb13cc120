//! The kernel calls the sandbox makes, behind a trait so the setup sequence can be
//! tested with a recording fake ([`fake`], test builds only) and run for real with
//! [`linux::LinuxSyscall`].

use std::fmt;
use std::io;
use std::ops::BitOr;
use std::path::{Path, PathBuf};

#[cfg(test)]
pub(crate) mod fake;
pub(crate) mod linux;

/// `mount(2)` flags (`MS_*`), a thin typed wrapper so recorded calls print by name.
#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub struct MountFlags(pub u64);

impl MountFlags {
    /// No flags.
    pub const NONE: Self = Self(0);
    /// `MS_RDONLY`.
    pub const RDONLY: Self = Self(libc::MS_RDONLY);
    /// `MS_NOSUID`.
    pub const NOSUID: Self = Self(libc::MS_NOSUID);
    /// `MS_NODEV`.
    pub const NODEV: Self = Self(libc::MS_NODEV);
    /// `MS_NOEXEC`.
    pub const NOEXEC: Self = Self(libc::MS_NOEXEC);
    /// `MS_REMOUNT`.
    pub const REMOUNT: Self = Self(libc::MS_REMOUNT);
    /// `MS_NOATIME`.
    pub const NOATIME: Self = Self(libc::MS_NOATIME);
    /// `MS_NODIRATIME`.
    pub const NODIRATIME: Self = Self(libc::MS_NODIRATIME);
    /// `MS_RELATIME`.
    pub const RELATIME: Self = Self(libc::MS_RELATIME);
    /// `MS_STRICTATIME`.
    pub const STRICTATIME: Self = Self(libc::MS_STRICTATIME);
    /// `MS_BIND`.
    pub const BIND: Self = Self(libc::MS_BIND);
    /// `MS_REC`.
    pub const REC: Self = Self(libc::MS_REC);
    /// `MS_PRIVATE`.
    pub const PRIVATE: Self = Self(libc::MS_PRIVATE);

    const NAMES: [(Self, &'static str); 13] = [
        (Self::RDONLY, "RDONLY"),
        (Self::NOSUID, "NOSUID"),
        (Self::NODEV, "NODEV"),
        (Self::NOEXEC, "NOEXEC"),
        (Self::REMOUNT, "REMOUNT"),
        (Self::NOATIME, "NOATIME"),
        (Self::NODIRATIME, "NODIRATIME"),
        (Self::RELATIME, "RELATIME"),
        (Self::STRICTATIME, "STRICTATIME"),
        (Self::BIND, "BIND"),
        (Self::REC, "REC"),
        (Self::PRIVATE, "PRIVATE"),
        (Self::NONE, "NONE"),
    ];

    /// True when every bit of `other` is set.
    pub fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }
}

impl BitOr for MountFlags {
    type Output = Self;
    fn bitor(self, rhs: Self) -> Self {
        Self(self.0 | rhs.0)
    }
}

impl fmt::Debug for MountFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 == 0 {
            return f.write_str("NONE");
        }
        let mut rest = self.0;
        let mut first = true;
        for (flag, name) in Self::NAMES {
            if flag.0 != 0 && self.contains(flag) {
                if !first {
                    f.write_str("|")?;
                }
                f.write_str(name)?;
                first = false;
                rest &= !flag.0;
            }
        }
        if rest != 0 {
            if !first {
                f.write_str("|")?;
            }
            write!(f, "{rest:#x}")?;
        }
        Ok(())
    }
}

/// Namespaces to unshare (`CLONE_NEW*` flags).
#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub struct Namespaces(pub i32);

impl Namespaces {
    /// `CLONE_NEWUSER`.
    pub const USER: Self = Self(libc::CLONE_NEWUSER);
    /// `CLONE_NEWNS` (mount).
    pub const MOUNT: Self = Self(libc::CLONE_NEWNS);
    /// `CLONE_NEWPID`.
    pub const PID: Self = Self(libc::CLONE_NEWPID);
    /// `CLONE_NEWUTS`.
    pub const UTS: Self = Self(libc::CLONE_NEWUTS);
    /// `CLONE_NEWIPC`.
    pub const IPC: Self = Self(libc::CLONE_NEWIPC);
    /// `CLONE_NEWNET`.
    pub const NET: Self = Self(libc::CLONE_NEWNET);

    const NAMES: [(Self, &'static str); 6] = [
        (Self::USER, "user"),
        (Self::MOUNT, "mount"),
        (Self::PID, "pid"),
        (Self::UTS, "uts"),
        (Self::IPC, "ipc"),
        (Self::NET, "net"),
    ];

    /// True when every bit of `other` is set.
    pub fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }

    /// Parse the `Display` form (`user+mount+...`); unknown names are ignored.
    pub(crate) fn from_names(text: &str) -> Self {
        text.split('+')
            .filter_map(|name| Self::NAMES.iter().find(|(_, n)| *n == name))
            .fold(Self::default(), |acc, (ns, _)| acc | *ns)
    }

    /// The set without `other`.
    pub fn without(self, other: Self) -> Self {
        Self(self.0 & !other.0)
    }
}

impl BitOr for Namespaces {
    type Output = Self;
    fn bitor(self, rhs: Self) -> Self {
        Self(self.0 | rhs.0)
    }
}

impl fmt::Display for Namespaces {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = Self::NAMES
            .iter()
            .filter(|(ns, _)| self.contains(*ns))
            .map(|(_, name)| *name)
            .collect();
        f.write_str(&names.join("+"))
    }
}

impl fmt::Debug for Namespaces {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// What `lstat` found at a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// A directory.
    Dir,
    /// A regular file.
    File,
    /// A symbolic link (not followed).
    Symlink,
    /// A device, fifo or socket.
    Other,
}

/// The kernel interface used by the sandbox setup. All paths are as seen by the
/// calling process at the time of the call.
pub trait Syscall {
    /// `unshare(2)`.
    fn unshare(&self, namespaces: Namespaces) -> io::Result<()>;
    /// `mount(2)`.
    fn mount(
        &self,
        source: Option<&Path>,
        target: &Path,
        fstype: Option<&str>,
        flags: MountFlags,
        data: Option<&str>,
    ) -> io::Result<()>;
    /// `umount2(target, MNT_DETACH)`.
    fn umount_detach(&self, target: &Path) -> io::Result<()>;
    /// The flags of the mount holding `path` that a read-only bind remount must keep
    /// (`statvfs` `f_flag`: nosuid, nodev, noexec, atime flags).
    fn mount_flags(&self, path: &Path) -> io::Result<MountFlags>;
    /// `pivot_root(2)`.
    fn pivot_root(&self, new_root: &Path, put_old: &Path) -> io::Result<()>;
    /// `chroot(2)`.
    fn chroot(&self, path: &Path) -> io::Result<()>;
    /// `chdir(2)`.
    fn chdir(&self, path: &Path) -> io::Result<()>;
    /// `sethostname(2)`.
    fn sethostname(&self, name: &str) -> io::Result<()>;
    /// Bring the `lo` interface of the current network namespace up.
    fn loopback_up(&self) -> io::Result<()>;
    /// The capabilities in this thread's bounding set (`PR_CAPBSET_READ` over every
    /// capability the kernel knows).
    fn bounding_capabilities(&self) -> io::Result<Vec<u32>>;
    /// `prctl(PR_CAPBSET_DROP, cap)`.
    fn drop_bounding_capability(&self, cap: u32) -> io::Result<()>;
    /// `prctl(PR_SET_NO_NEW_PRIVS, 1)`.
    fn set_no_new_privs(&self) -> io::Result<()>;
    /// `setgroups(2)`.
    fn setgroups(&self, gids: &[u32]) -> io::Result<()>;
    /// `setresgid(gid, gid, gid)`.
    fn setresgid(&self, gid: u32) -> io::Result<()>;
    /// `setresuid(uid, uid, uid)`.
    fn setresuid(&self, uid: u32) -> io::Result<()>;
    /// `lstat(2)`: `None` when nothing is there.
    fn file_kind(&self, path: &Path) -> io::Result<Option<FileKind>>;
    /// `readlink(2)`.
    fn read_link(&self, path: &Path) -> io::Result<PathBuf>;
    /// `mkdir(2)` with exactly `mode` (the umask is not applied).
    fn mkdir(&self, path: &Path, mode: u32) -> io::Result<()>;
    /// Create an empty regular file with exactly `mode`; fails if it exists.
    fn create_file(&self, path: &Path, mode: u32) -> io::Result<()>;
    /// `symlink(2)`: create `link` pointing at `target`.
    fn symlink(&self, target: &Path, link: &Path) -> io::Result<()>;
    /// Is `path` a regular file the caller may execute?
    fn is_executable(&self, path: &Path) -> bool;
    /// `execve(2)`; returns only on failure.
    fn execve(&self, program: &Path, argv: &[String], env: &[String]) -> io::Error;
}
