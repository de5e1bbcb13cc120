//! What to run and how: the typed inputs and outputs of [`crate::run`].

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The `PATH` used for the command lookup when the spec's environment has none
/// (Docker's default).
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Everything needed to run one command in a rootfs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunSpec {
    /// A directory prepared by the caller (an extracted image). Default: empty (must be set).
    pub rootfs: PathBuf,
    /// The command, exec'd inside; `argv[0]` without a `/` is looked up in the
    /// environment's `PATH` inside the rootfs. Default: empty (must be set).
    pub argv: Vec<String>,
    /// Exactly this environment, as `K=V`. Default: empty.
    pub env: Vec<String>,
    /// Working directory inside the rootfs, created if missing (as Docker does for
    /// `WORKDIR`). Default: `/`.
    pub cwd: String,
    /// Who the command runs as, inside the namespace. Default: root (0:0, no groups).
    pub user: UserSpec,
    /// The host name seen inside. Default: `hoist`.
    pub hostname: String,
    /// Network namespace choice. Default: [`Network::Host`].
    pub network: Network,
    /// Extra mounts, applied in order after `/proc`, `/dev` and the etc files.
    /// Default: none.
    pub mounts: Vec<MountSpec>,
    /// Rootless (user namespace) or chroot (root only). Default: [`Isolation::Rootless`].
    pub isolation: Isolation,
    /// How container ids map to host ids in rootless mode. Default: [`IdMap::Auto`].
    pub id_map: IdMap,
    /// Host files bound over `/etc/hosts`, `/etc/resolv.conf`, `/etc/hostname`.
    /// Default: none of them.
    pub etc_files: EtcFiles,
    /// Where the command's stdin/stdout/stderr go. Default: [`Stdio::Inherit`].
    pub stdio: Stdio,
    /// Mount an overlay of layer directories at `rootfs` (an empty directory then)
    /// instead of using `rootfs` itself, so the command's changes land in
    /// [`Overlay::upper`]. [`Isolation::Rootless`] only. Default: none.
    pub overlay: Option<Overlay>,
}

/// An overlayfs for the rootfs: read-only layer directories plus a writable upper.
///
/// Mounted with `userxattr` (the only form a user namespace may mount), so lower
/// directories mark deletions as 0/0 character devices and opaque directories
/// with the `user.overlay.opaque` xattr, and the upper gets them the same way.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Overlay {
    /// Lower directories, topmost first. At least one.
    pub lower: Vec<PathBuf>,
    /// The writable upper directory (empty before the first run).
    pub upper: PathBuf,
    /// overlayfs's work directory: empty, on the same filesystem as `upper`.
    pub work: PathBuf,
}

impl Overlay {
    /// The mount data (`lowerdir=…,upperdir=…,workdir=…,userxattr`), or why the
    /// paths cannot be expressed in it (`:` `,` `\\` in a path, or longer than a page).
    pub fn mount_data(&self) -> Result<String, String> {
        let mut all = self.lower.iter().chain([&self.upper, &self.work]);
        if let Some(bad) = all.find(|p| {
            let s = p.to_string_lossy();
            !p.is_absolute() || s.contains([':', ',', '\\'])
        }) {
            return Err(format!(
                "{} is not an absolute path usable in overlay options",
                bad.display()
            ));
        }
        if self.lower.is_empty() {
            return Err("no lower directory".into());
        }
        let lower: Vec<String> = self
            .lower
            .iter()
            .map(|p| p.to_string_lossy().into_owned())
            .collect();
        let data = format!(
            "lowerdir={},upperdir={},workdir={},userxattr",
            lower.join(":"),
            self.upper.display(),
            self.work.display()
        );
        // The kernel copies at most one page of mount data.
        if data.len() >= 4000 {
            return Err(format!(
                "{} lower directories make {} bytes of overlay options",
                self.lower.len(),
                data.len()
            ));
        }
        Ok(data)
    }
}

impl Default for RunSpec {
    fn default() -> Self {
        Self {
            rootfs: PathBuf::new(),
            argv: Vec::new(),
            env: Vec::new(),
            cwd: "/".to_owned(),
            user: UserSpec::default(),
            hostname: "hoist".to_owned(),
            network: Network::default(),
            mounts: Vec::new(),
            isolation: Isolation::default(),
            id_map: IdMap::default(),
            etc_files: EtcFiles::default(),
            stdio: Stdio::default(),
            overlay: None,
        }
    }
}

/// A resolved user: numeric ids only (the caller reads the image's /etc/passwd).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserSpec {
    /// User id inside the namespace. Default: 0.
    pub uid: u32,
    /// Group id inside the namespace. Default: 0.
    pub gid: u32,
    /// Supplementary group ids. Default: none.
    pub additional_gids: Vec<u32>,
}

/// The network the command sees.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Network {
    /// Share the host's network namespace (default).
    #[default]
    Host,
    /// A new, empty network namespace: only a loopback interface, nothing reachable.
    None,
}

/// An extra mount inside the container.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum MountSpec {
    /// Bind a host file or directory at `target` (absolute, inside the rootfs).
    Bind {
        /// Host path.
        source: PathBuf,
        /// Path inside the container.
        target: String,
        /// Mount read-only.
        readonly: bool,
    },
    /// A fresh tmpfs at `target`.
    Tmpfs {
        /// Path inside the container.
        target: String,
        /// Size limit in bytes; `None` uses the kernel default (half of RAM).
        size: Option<u64>,
    },
}

impl MountSpec {
    /// The path inside the container.
    pub fn target(&self) -> &str {
        match self {
            Self::Bind { target, .. } | Self::Tmpfs { target, .. } => target,
        }
    }
}

/// How the command is isolated.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Isolation {
    /// User, mount, pid, uts and ipc namespaces; works without root (default).
    #[default]
    Rootless,
    /// Root only, no user namespace: mount namespace + chroot (and a pid namespace
    /// when allowed). For locked-down CI containers where user namespaces are denied.
    Chroot,
}

/// How ids inside the user namespace map to host ids.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum IdMap {
    /// Subordinate ranges when `newuidmap`/`newgidmap` and ranges in /etc/subuid and
    /// /etc/subgid exist for the current user, a single mapping otherwise (default).
    /// As root: the identity map of all ids.
    #[default]
    Auto,
    /// Only container 0 maps to the current uid/gid.
    Single,
    /// Container 0 maps to the current user, 1..=65536 to the subordinate range;
    /// an error when the ranges or helpers are missing.
    Subid,
}

/// Host files bound over well-known files in `/etc`. They are mounted, so they are
/// not part of the rootfs contents afterwards.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EtcFiles {
    /// Bound over `/etc/hosts`. Default: none.
    pub hosts: Option<PathBuf>,
    /// Bound over `/etc/resolv.conf`. Default: none.
    pub resolv_conf: Option<PathBuf>,
    /// Bound over `/etc/hostname`. Default: none.
    pub hostname: Option<PathBuf>,
}

impl EtcFiles {
    /// The (container path, host source) pairs that are set.
    pub fn entries(&self) -> Vec<(&'static str, &PathBuf)> {
        [
            ("/etc/hosts", &self.hosts),
            ("/etc/resolv.conf", &self.resolv_conf),
            ("/etc/hostname", &self.hostname),
        ]
        .into_iter()
        .filter_map(|(target, source)| source.as_ref().map(|s| (target, s)))
        .collect()
    }
}

/// Where the command's standard streams go.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Stdio {
    /// Inherit the caller's stdin, stdout and stderr (default).
    #[default]
    Inherit,
    /// stdin is /dev/null; stdout and stderr are combined and the last
    /// `tail_bytes` bytes are returned in [`RunOutcome::output`].
    Capture {
        /// How many trailing bytes to keep.
        tail_bytes: usize,
    },
    /// All three streams are /dev/null.
    Null,
}

/// Runtime wiring for [`crate::run_with`], separate from what is run.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// The executable re-exec'd as the sandbox init; it must call
    /// [`crate::maybe_run_init`] first thing in `main`. Default: `None`, meaning
    /// `std::env::current_exe()`.
    pub init_program: Option<PathBuf>,
    /// Kill the sandbox after this long and fail with [`crate::SandboxError::Timeout`].
    /// Default: `None` (no limit).
    pub timeout: Option<Duration>,
}

/// How the command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ExitStatus {
    /// It exited with this code.
    Code(i32),
    /// It was killed by this signal number.
    Signal(i32),
}

impl ExitStatus {
    /// True for `Code(0)`.
    pub fn success(self) -> bool {
        self == Self::Code(0)
    }
}

/// The result of a run that got as far as executing the command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunOutcome {
    /// Exit code or signal of the command.
    pub status: ExitStatus,
    /// The last bytes of combined stdout/stderr with [`Stdio::Capture`], else empty.
    pub output: Vec<u8>,
    /// Paths the sandbox created in the rootfs as mount points or for the working
    /// directory, relative to the rootfs, parents before children. The caller should
    /// leave them out of layers (except an intended `WORKDIR`).
    pub created_paths: Vec<PathBuf>,
}
