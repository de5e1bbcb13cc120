//! The mount namespace contents: private propagation, the rootfs bind, `/proc`,
//! a minimal `/dev`, the etc files and the caller's mounts.

use std::path::{Path, PathBuf};

use super::{StepError, step};
use crate::rootpath::{MountPoints, PointKind};
use crate::spec::{Isolation, MountSpec, Network, RunSpec};
use crate::sys::{FileKind, MountFlags, Syscall};

/// The setup step that mounts [`RunSpec::overlay`]; a failure there happens before
/// anything ran, so the caller may retry without an overlay.
pub const OVERLAY_STEP: &str = "mount overlay rootfs";

/// Host device nodes bound into the container's `/dev` when they exist.
pub(crate) const DEVICES: [&str; 6] = ["null", "zero", "full", "random", "urandom", "tty"];

/// Symlinks created in the container's `/dev` (name, target).
const DEV_LINKS: [(&str, &str); 5] = [
    ("ptmx", "pts/ptmx"),
    ("fd", "/proc/self/fd"),
    ("stdin", "/proc/self/fd/0"),
    ("stdout", "/proc/self/fd/1"),
    ("stderr", "/proc/self/fd/2"),
];

/// Set up every mount under `spec.rootfs` (still seen from the host's root) and
/// return the paths created in the rootfs, relative to it.
pub(crate) fn prepare_rootfs(sys: &dyn Syscall, spec: &RunSpec) -> Result<Vec<PathBuf>, StepError> {
    let root = spec.rootfs.as_path();
    let slash = Path::new("/");
    step(
        sys.mount(
            None,
            slash,
            None,
            MountFlags::REC | MountFlags::PRIVATE,
            None,
        ),
        "make mounts private",
        slash,
    )?;
    match &spec.overlay {
        None => step(
            sys.mount(
                Some(root),
                root,
                None,
                MountFlags::BIND | MountFlags::REC,
                None,
            ),
            "bind rootfs",
            root,
        )?,
        Some(overlay) => {
            let data = overlay.mount_data().map_err(|reason| StepError {
                step: OVERLAY_STEP,
                path: root.to_path_buf(),
                source: std::io::Error::new(std::io::ErrorKind::InvalidInput, reason),
            })?;
            step(
                sys.mount(
                    Some(Path::new("overlay")),
                    root,
                    Some("overlay"),
                    MountFlags::NONE,
                    Some(&data),
                ),
                OVERLAY_STEP,
                root,
            )?;
        }
    }
    let mut points = MountPoints::new(sys, root);
    mount_proc(sys, &mut points)?;
    mount_dev(sys, &mut points)?;
    mount_sys(sys, &mut points, spec)?;
    for (target, source) in spec.etc_files.entries() {
        let point = ensure(&mut points, target, PointKind::File)?;
        step(
            sys.mount(Some(source), &point, None, MountFlags::BIND, None),
            "bind etc file",
            &point,
        )?;
    }
    for mount in &spec.mounts {
        apply_mount(sys, &mut points, mount)?;
    }
    let cwd = Path::new(&spec.cwd);
    step(
        points.ensure(cwd, PointKind::Dir),
        "create working directory",
        cwd,
    )?;
    Ok(points.into_created())
}

/// Resolve and create a mount point; one that resolves to the rootfs itself (e.g.
/// `/proc -> /`) is refused, since mounting there would hide the whole rootfs.
fn ensure(
    points: &mut MountPoints<'_>,
    target: &str,
    kind: PointKind,
) -> Result<PathBuf, StepError> {
    let target = Path::new(target);
    let point = step(points.ensure(target, kind), "create mount point", target)?;
    if points.is_root(&point) {
        return Err(StepError {
            step: "mount point resolves to the rootfs itself",
            path: target.to_path_buf(),
            source: std::io::Error::from_raw_os_error(libc::EINVAL),
        });
    }
    Ok(point)
}

fn mount_proc(sys: &dyn Syscall, points: &mut MountPoints<'_>) -> Result<(), StepError> {
    let proc = ensure(points, "/proc", PointKind::Dir)?;
    let flags = MountFlags::NOSUID | MountFlags::NODEV | MountFlags::NOEXEC;
    step(
        sys.mount(Some(Path::new("proc")), &proc, Some("proc"), flags, None),
        "mount proc",
        &proc,
    )
}

/// A read-only `/sys`. A fresh sysfs needs a network namespace owned by our user
/// namespace (or real root), so rootless with the host's network binds the host's
/// `/sys` instead, then makes it read-only.
fn mount_sys(
    sys: &dyn Syscall,
    points: &mut MountPoints<'_>,
    spec: &RunSpec,
) -> Result<(), StepError> {
    let point = ensure(points, "/sys", PointKind::Dir)?;
    let locked = MountFlags::NOSUID | MountFlags::NODEV | MountFlags::NOEXEC;
    if spec.isolation == Isolation::Chroot || spec.network == Network::None {
        return step(
            sys.mount(
                Some(Path::new("sysfs")),
                &point,
                Some("sysfs"),
                MountFlags::RDONLY | locked,
                None,
            ),
            "mount sysfs",
            &point,
        );
    }
    let host = Path::new("/sys");
    step(
        sys.mount(
            Some(host),
            &point,
            None,
            MountFlags::BIND | MountFlags::REC,
            None,
        ),
        "bind /sys",
        &point,
    )?;
    read_only(sys, &point)
}

/// Remount a bind mount read-only. In a user namespace the remount must keep the
/// flags the source mount is locked with, or the kernel says EPERM.
fn read_only(sys: &dyn Syscall, point: &Path) -> Result<(), StepError> {
    let locked = step(sys.mount_flags(point), "read mount flags", point)?;
    let flags = MountFlags::BIND | MountFlags::REMOUNT | MountFlags::RDONLY | locked;
    step(
        sys.mount(None, point, None, flags, None),
        "remount read-only",
        point,
    )
}

fn mount_dev(sys: &dyn Syscall, points: &mut MountPoints<'_>) -> Result<(), StepError> {
    let dev = ensure(points, "/dev", PointKind::Dir)?;
    step(
        sys.mount(
            Some(Path::new("tmpfs")),
            &dev,
            Some("tmpfs"),
            MountFlags::NOSUID | MountFlags::STRICTATIME,
            Some("mode=755,size=65536k"),
        ),
        "mount /dev tmpfs",
        &dev,
    )?;
    for name in DEVICES {
        let host = Path::new("/dev").join(name);
        if step(sys.file_kind(&host), "inspect host device", &host)?.is_none() {
            tracing::debug!(device = %host.display(), "host device missing, not bound");
            continue;
        }
        let node = dev.join(name);
        step(sys.create_file(&node, 0o666), "create device node", &node)?;
        step(
            sys.mount(Some(&host), &node, None, MountFlags::BIND, None),
            "bind device",
            &node,
        )?;
    }
    let pts = dev.join("pts");
    step(sys.mkdir(&pts, 0o755), "create /dev/pts", &pts)?;
    step(
        sys.mount(
            Some(Path::new("devpts")),
            &pts,
            Some("devpts"),
            MountFlags::NOSUID | MountFlags::NOEXEC,
            Some("newinstance,ptmxmode=0666,mode=0620"),
        ),
        "mount devpts",
        &pts,
    )?;
    let shm = dev.join("shm");
    step(sys.mkdir(&shm, 0o1777), "create /dev/shm", &shm)?;
    step(
        sys.mount(
            Some(Path::new("shm")),
            &shm,
            Some("tmpfs"),
            MountFlags::NOSUID | MountFlags::NODEV | MountFlags::NOEXEC,
            Some("mode=1777,size=65536k"),
        ),
        "mount /dev/shm",
        &shm,
    )?;
    for (name, target) in DEV_LINKS {
        let link = dev.join(name);
        step(
            sys.symlink(Path::new(target), &link),
            "create /dev link",
            &link,
        )?;
    }
    Ok(())
}

fn apply_mount(
    sys: &dyn Syscall,
    points: &mut MountPoints<'_>,
    mount: &MountSpec,
) -> Result<(), StepError> {
    match mount {
        MountSpec::Bind {
            source,
            target,
            readonly,
        } => {
            let kind = match step(sys.file_kind(source), "inspect bind source", source)? {
                Some(FileKind::Dir) => PointKind::Dir,
                Some(_) => PointKind::File,
                None => {
                    return Err(StepError {
                        step: "inspect bind source",
                        path: source.clone(),
                        source: std::io::Error::from_raw_os_error(libc::ENOENT),
                    });
                }
            };
            let point = ensure(points, target, kind)?;
            step(
                sys.mount(
                    Some(source),
                    &point,
                    None,
                    MountFlags::BIND | MountFlags::REC,
                    None,
                ),
                "bind mount",
                &point,
            )?;
            if *readonly {
                read_only(sys, &point)?;
            }
        }
        MountSpec::Tmpfs { target, size } => {
            let point = ensure(points, target, PointKind::Dir)?;
            let data = match size {
                Some(bytes) => format!("mode=755,size={bytes}"),
                None => "mode=755".to_owned(),
            };
            step(
                sys.mount(
                    Some(Path::new("tmpfs")),
                    &point,
                    Some("tmpfs"),
                    MountFlags::NOSUID | MountFlags::NODEV,
                    Some(&data),
                ),
                "mount tmpfs",
                &point,
            )?;
        }
    }
    Ok(())
}
