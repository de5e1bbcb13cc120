//! Running the whole program in a user namespace with the caller's subordinate
//! ids, as `buildah unshare` and rootless podman do.
//!
//! Without it, an unprivileged caller unpacks image layers as itself: every file
//! is owned by container root, so a `USER app` step cannot write to the home
//! directory the image gave `app`, and files a step made private to another user
//! cannot be read back into a layer. Inside the namespace the caller is root over
//! container ids 0..=65536 (host: the caller, then its `/etc/subuid` range):
//! extraction can chown, layers read every file, and cleanup removes everything.
//!
//! [`reexec_in_user_namespace`] re-executes the current program with the same
//! arguments; the child calls [`enter_user_namespace`] (via the same call) first
//! thing, unshares its user namespace and waits while the parent writes its id
//! maps with `newuidmap`/`newgidmap`. Nothing happens for root, inside the
//! namespace already, or without subordinate ranges and helpers.

use std::io::{Read, Write};
use std::os::fd::{AsRawFd, FromRawFd};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::Command;

use crate::idmap::IdMapping;
use crate::probe::gather;
use crate::spec::IdMap;

/// Environment marker: `child` in the re-executed process until it entered the
/// namespace, `inside` afterwards (so nothing re-executes twice).
const MARKER: &str = "_HOIST_USERNS";
/// Where the child finds its ends of the handshake pipes.
const READY_FD: i32 = 5;
const GO_FD: i32 = 6;

/// In the parent: re-executes this program in a user namespace with the
/// subordinate ids mapped and returns its exit code (128 + signal when killed);
/// `None` when not applicable (root, already inside, no ranges or helpers, or the
/// namespace could not be made), and the caller carries on as it is.
///
/// In the re-executed child: enters the namespace and returns `None`.
///
/// Call it before the process starts threads.
pub fn reexec_in_user_namespace() -> Option<u8> {
    match std::env::var_os(MARKER) {
        Some(v) if v == "child" => {
            enter_user_namespace();
            return None;
        }
        Some(_) => return None,
        None => {}
    }
    let caps = gather();
    if caps.is_root() {
        return None;
    }
    let mapping = IdMapping::choose(&caps, IdMap::Subid).ok()?;
    match spawn_mapped(&mapping) {
        Ok(code) => code,
        Err(e) => {
            tracing::debug!(error = %e, "not re-executing in a user namespace");
            None
        }
    }
}

fn spawn_mapped(mapping: &IdMapping) -> std::io::Result<Option<u8>> {
    let exe = std::env::current_exe()?;
    let (ready_r, ready_w) = std::io::pipe()?;
    let (go_r, go_w) = std::io::pipe()?;
    let (ready_fd, go_fd) = (ready_w.as_raw_fd(), go_r.as_raw_fd());
    let mut cmd = Command::new(exe);
    cmd.args(std::env::args_os().skip(1)).env(MARKER, "child");
    // SAFETY: only fcntl/dup2/prctl, which are async-signal-safe.
    unsafe {
        cmd.pre_exec(move || {
            let ready = libc::fcntl(ready_fd, libc::F_DUPFD_CLOEXEC, 10);
            let go = libc::fcntl(go_fd, libc::F_DUPFD_CLOEXEC, 10);
            if ready < 0
                || go < 0
                || libc::dup2(ready, READY_FD) < 0
                || libc::dup2(go, GO_FD) < 0
                || libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0) < 0
            {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = cmd.spawn()?;
    drop(cmd);
    drop((ready_w, go_r));
    let mut ready_r = ready_r;
    let mut go_w = go_w;
    let mut byte = [0u8; 1];
    let entered = ready_r.read(&mut byte).is_ok_and(|n| n == 1) && byte[0] == b'r';
    let mapped = entered
        && match mapping.apply(child.id()) {
            Ok(()) => true,
            Err(e) => {
                tracing::warn!(error = %e, "cannot map subordinate ids; continuing without a user namespace");
                false
            }
        };
    if !mapped {
        // The child cannot work without its maps: stop it, carry on here.
        let _ = child.kill();
        let _ = child.wait();
        return Ok(None);
    }
    go_w.write_all(b"g")?;
    drop(go_w);
    let status = child.wait()?;
    let code = match (status.code(), status.signal()) {
        (Some(c), _) => u8::try_from(c).unwrap_or(1),
        (None, Some(s)) => 128u8.saturating_add(u8::try_from(s).unwrap_or(0)),
        (None, None) => 1,
    };
    Ok(Some(code))
}

/// The child's side: unshare the user namespace, tell the parent, wait for the maps.
fn enter_user_namespace() {
    // SAFETY: fds the parent placed for us; the process is still single-threaded.
    let mut ready = unsafe { std::fs::File::from_raw_fd(READY_FD) };
    let mut go = unsafe { std::fs::File::from_raw_fd(GO_FD) };
    // SAFETY: unshare with a flag; no other thread exists yet.
    if unsafe { libc::unshare(libc::CLONE_NEWUSER) } < 0 {
        // The parent carries on without a namespace.
        let _ = ready.write_all(b"e");
        std::process::exit(125);
    }
    let _ = ready.write_all(b"r");
    drop(ready);
    let mut byte = [0u8; 1];
    if !go.read(&mut byte).is_ok_and(|n| n == 1) || byte[0] != b'g' {
        // The parent gave up (it carries on without us).
        std::process::exit(125);
    }
    // SAFETY: single-threaded at this point, as required by set_var.
    unsafe { std::env::set_var(MARKER, "inside") };
}
