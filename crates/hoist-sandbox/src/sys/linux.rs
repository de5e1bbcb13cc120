//! The real [`Syscall`] implementation on top of `libc`.

use std::ffi::{CString, OsStr};
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use super::{FileKind, MountFlags, Namespaces, Syscall};

/// Calls straight into the kernel.
#[derive(Debug, Clone, Copy, Default)]
pub struct LinuxSyscall;

fn cstr(bytes: &[u8]) -> io::Result<CString> {
    CString::new(bytes).map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "nul byte"))
}

fn cpath(path: &Path) -> io::Result<CString> {
    cstr(path.as_os_str().as_bytes())
}

fn check(ret: libc::c_int) -> io::Result<()> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

impl Syscall for LinuxSyscall {
    fn unshare(&self, namespaces: Namespaces) -> io::Result<()> {
        // SAFETY: unshare takes a plain flag word.
        check(unsafe { libc::unshare(namespaces.0) })
    }

    fn mount(
        &self,
        source: Option<&Path>,
        target: &Path,
        fstype: Option<&str>,
        flags: MountFlags,
        data: Option<&str>,
    ) -> io::Result<()> {
        let source = source.map(cpath).transpose()?;
        let target = cpath(target)?;
        let fstype = fstype.map(|s| cstr(s.as_bytes())).transpose()?;
        let data = data.map(|s| cstr(s.as_bytes())).transpose()?;
        let ptr = |c: &Option<CString>| c.as_ref().map_or(std::ptr::null(), |c| c.as_ptr());
        // SAFETY: all pointers are null or valid NUL-terminated strings that outlive the call.
        check(unsafe {
            libc::mount(
                ptr(&source),
                target.as_ptr(),
                ptr(&fstype),
                flags.0 as libc::c_ulong,
                ptr(&data).cast(),
            )
        })
    }

    fn umount_detach(&self, target: &Path) -> io::Result<()> {
        let target = cpath(target)?;
        // SAFETY: valid C string.
        check(unsafe { libc::umount2(target.as_ptr(), libc::MNT_DETACH) })
    }

    fn mount_flags(&self, path: &Path) -> io::Result<MountFlags> {
        let c = cpath(path)?;
        // SAFETY: statvfs is plain old data; zeroed is a valid value.
        let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
        // SAFETY: valid C string and a valid out pointer.
        check(unsafe { libc::statvfs(c.as_ptr(), &mut st) })?;
        let keep = [
            (libc::ST_NOSUID, MountFlags::NOSUID),
            (libc::ST_NODEV, MountFlags::NODEV),
            (libc::ST_NOEXEC, MountFlags::NOEXEC),
            (libc::ST_NOATIME, MountFlags::NOATIME),
            (libc::ST_NODIRATIME, MountFlags::NODIRATIME),
            (libc::ST_RELATIME, MountFlags::RELATIME),
        ];
        Ok(keep
            .into_iter()
            .filter(|(st_flag, _)| st.f_flag & *st_flag != 0)
            .fold(MountFlags::NONE, |acc, (_, flag)| acc | flag))
    }

    fn pivot_root(&self, new_root: &Path, put_old: &Path) -> io::Result<()> {
        let new_root = cpath(new_root)?;
        let put_old = cpath(put_old)?;
        // SAFETY: pivot_root takes two valid C strings.
        let ret =
            unsafe { libc::syscall(libc::SYS_pivot_root, new_root.as_ptr(), put_old.as_ptr()) };
        if ret < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(())
        }
    }

    fn chroot(&self, path: &Path) -> io::Result<()> {
        let c = cpath(path)?;
        // SAFETY: valid C string.
        check(unsafe { libc::chroot(c.as_ptr()) })
    }

    fn chdir(&self, path: &Path) -> io::Result<()> {
        let c = cpath(path)?;
        // SAFETY: valid C string.
        check(unsafe { libc::chdir(c.as_ptr()) })
    }

    fn sethostname(&self, name: &str) -> io::Result<()> {
        // SAFETY: pointer and length describe `name`.
        check(unsafe { libc::sethostname(name.as_ptr().cast(), name.len()) })
    }

    fn loopback_up(&self) -> io::Result<()> {
        // SAFETY: creating a socket has no memory-safety preconditions.
        let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: ifreq is plain old data; zeroed is a valid value.
        let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
        for (dst, src) in req.ifr_name.iter_mut().zip(b"lo\0") {
            *dst = *src as libc::c_char;
        }
        // SAFETY: fd is an open socket, req a valid ifreq for these ioctls.
        let result = unsafe {
            if libc::ioctl(fd, libc::SIOCGIFFLAGS, &mut req) < 0 {
                Err(io::Error::last_os_error())
            } else {
                req.ifr_ifru.ifru_flags |= (libc::IFF_UP | libc::IFF_RUNNING) as libc::c_short;
                if libc::ioctl(fd, libc::SIOCSIFFLAGS, &req) < 0 {
                    Err(io::Error::last_os_error())
                } else {
                    Ok(())
                }
            }
        };
        // SAFETY: fd is ours and closed once; a close error on a socket we only used
        // for ioctls loses nothing.
        unsafe { libc::close(fd) };
        result
    }

    fn bounding_capabilities(&self) -> io::Result<Vec<u32>> {
        let mut caps = Vec::new();
        for cap in 0..64u32 {
            // SAFETY: prctl with integer arguments.
            match unsafe { libc::prctl(libc::PR_CAPBSET_READ, cap as libc::c_ulong, 0, 0, 0) } {
                1 => caps.push(cap),
                0 => {}
                _ => {
                    let err = io::Error::last_os_error();
                    // EINVAL: past the last capability this kernel knows.
                    if err.raw_os_error() == Some(libc::EINVAL) {
                        break;
                    }
                    return Err(err);
                }
            }
        }
        Ok(caps)
    }

    fn drop_bounding_capability(&self, cap: u32) -> io::Result<()> {
        // SAFETY: prctl with integer arguments.
        check(unsafe { libc::prctl(libc::PR_CAPBSET_DROP, cap as libc::c_ulong, 0, 0, 0) })
    }

    fn set_no_new_privs(&self) -> io::Result<()> {
        // SAFETY: prctl with integer arguments.
        check(unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) })
    }

    fn setgroups(&self, gids: &[u32]) -> io::Result<()> {
        // SAFETY: pointer and length describe `gids` (gid_t is u32 on Linux).
        check(unsafe { libc::setgroups(gids.len(), gids.as_ptr()) })
    }

    fn setresgid(&self, gid: u32) -> io::Result<()> {
        // SAFETY: plain integers.
        check(unsafe { libc::setresgid(gid, gid, gid) })
    }

    fn setresuid(&self, uid: u32) -> io::Result<()> {
        // SAFETY: plain integers.
        check(unsafe { libc::setresuid(uid, uid, uid) })
    }

    fn file_kind(&self, path: &Path) -> io::Result<Option<FileKind>> {
        match std::fs::symlink_metadata(path) {
            Ok(meta) => {
                let ft = meta.file_type();
                Ok(Some(if ft.is_symlink() {
                    FileKind::Symlink
                } else if ft.is_dir() {
                    FileKind::Dir
                } else if ft.is_file() {
                    FileKind::File
                } else {
                    FileKind::Other
                }))
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn read_link(&self, path: &Path) -> io::Result<PathBuf> {
        std::fs::read_link(path)
    }

    fn mkdir(&self, path: &Path, mode: u32) -> io::Result<()> {
        let c = cpath(path)?;
        // SAFETY: valid C string.
        check(unsafe { libc::mkdir(c.as_ptr(), mode) })?;
        // SAFETY: valid C string; chmod applies the exact mode regardless of umask.
        check(unsafe { libc::chmod(c.as_ptr(), mode) })
    }

    fn create_file(&self, path: &Path, mode: u32) -> io::Result<()> {
        let c = cpath(path)?;
        let flags =
            libc::O_CREAT | libc::O_EXCL | libc::O_WRONLY | libc::O_CLOEXEC | libc::O_NOFOLLOW;
        // SAFETY: valid C string.
        let fd = unsafe { libc::open(c.as_ptr(), flags, mode) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: fd was just opened by us.
        let chmod = check(unsafe { libc::fchmod(fd, mode) });
        // SAFETY: fd is ours and closed exactly once.
        check(unsafe { libc::close(fd) })?;
        chmod
    }

    fn symlink(&self, target: &Path, link: &Path) -> io::Result<()> {
        std::os::unix::fs::symlink(target, link)
    }

    fn is_executable(&self, path: &Path) -> bool {
        let Ok(c) = cpath(path) else { return false };
        let is_file = std::fs::metadata(path).is_ok_and(|m| m.is_file());
        // SAFETY: valid C string.
        is_file && unsafe { libc::access(c.as_ptr(), libc::X_OK) } == 0
    }

    fn execve(&self, program: &Path, argv: &[String], env: &[String]) -> io::Error {
        let to_c = |items: &[String]| -> io::Result<Vec<CString>> {
            items
                .iter()
                .map(|s| cstr(OsStr::new(s).as_bytes()))
                .collect()
        };
        let (program, argv, env) = match (cpath(program), to_c(argv), to_c(env)) {
            (Ok(p), Ok(a), Ok(e)) => (p, a, e),
            (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => return e,
        };
        let mut argv_ptrs: Vec<*const libc::c_char> = argv.iter().map(|c| c.as_ptr()).collect();
        argv_ptrs.push(std::ptr::null());
        let mut env_ptrs: Vec<*const libc::c_char> = env.iter().map(|c| c.as_ptr()).collect();
        env_ptrs.push(std::ptr::null());
        // SAFETY: NULL-terminated arrays of valid C strings that outlive the call.
        unsafe { libc::execve(program.as_ptr(), argv_ptrs.as_ptr(), env_ptrs.as_ptr()) };
        io::Error::last_os_error()
    }
}
