//! The sandbox init: the re-exec'd process that unshares the namespaces, waits for
//! its id maps, forks the container's pid 1, and reports how it ended.

use std::ffi::OsStr;
use std::fs::File;
use std::io::{self, Read};
use std::os::fd::FromRawFd;

use crate::protocol::{CONTROL_FD, GO, INIT_ARG, REPORT_FD, Report, read_request};
use crate::setup::enter::{enter_rootfs, exec};
use crate::setup::mounts::prepare_rootfs;
use crate::setup::{InitRequest, StepError};
use crate::spec::{ExitStatus, Isolation, Network, RunSpec};
use crate::sys::linux::LinuxSyscall;
use crate::sys::{Namespaces, Syscall};

/// Exit code of the init or pid 1 when setup failed (the report says why).
const SETUP_FAILED: i32 = 125;
/// Exit code of pid 1 when the command could not be executed.
const EXEC_FAILED: i32 = 127;

/// If this process was started as the sandbox init (`argv[1]` is the init marker),
/// run the sandbox and exit; otherwise return at once.
///
/// Call it first thing in `main`, before any thread is started: `unshare` of a user
/// namespace needs a single-threaded process.
pub fn maybe_run_init() {
    if std::env::args_os().nth(1).as_deref() != Some(OsStr::new(INIT_ARG)) {
        return;
    }
    std::process::exit(init_main(&LinuxSyscall));
}

/// The namespaces the init unshares for `spec`.
pub(crate) fn namespaces_for(spec: &RunSpec) -> Namespaces {
    let mut ns = Namespaces::MOUNT | Namespaces::PID | Namespaces::UTS | Namespaces::IPC;
    if spec.isolation == Isolation::Rootless {
        ns = ns | Namespaces::USER;
    }
    if spec.network == Network::None {
        ns = ns | Namespaces::NET;
    }
    ns
}

/// Unshare; in chroot mode a refused pid namespace is tolerated (then `/proc`
/// shows the host's pid namespace, which root may see anyway).
pub(crate) fn unshare(sys: &dyn Syscall, spec: &RunSpec) -> Result<Namespaces, StepError> {
    let wanted = namespaces_for(spec);
    match sys.unshare(wanted) {
        Ok(()) => Ok(wanted),
        Err(e)
            if spec.isolation == Isolation::Chroot
                && matches!(e.raw_os_error(), Some(libc::EPERM | libc::EINVAL)) =>
        {
            let fallback = wanted.without(Namespaces::PID);
            tracing::debug!(error = %e, "pid namespace refused; continuing without one");
            sys.unshare(fallback)
                .map(|()| fallback)
                .map_err(|source| unshare_error(fallback, source))
        }
        Err(source) => Err(unshare_error(wanted, source)),
    }
}

fn unshare_error(ns: Namespaces, source: io::Error) -> StepError {
    StepError {
        step: "unshare",
        path: ns.to_string().into(),
        source,
    }
}

fn set_cloexec(fd: i32) -> io::Result<()> {
    // SAFETY: fcntl on an fd number; failure is reported.
    if unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

fn failed(report: &mut File, err: &StepError) {
    let message = Report::Failed {
        step: err.step.to_owned(),
        path: err.path.clone(),
        errno: err.source.raw_os_error(),
        message: err.source.to_string(),
    };
    // If the parent is gone there is nobody left to tell; the exit code remains.
    if let Err(e) = message.send(report) {
        tracing::debug!(error = %e, "cannot send failure report");
    }
}

fn init_main(sys: &dyn Syscall) -> i32 {
    for fd in [CONTROL_FD, REPORT_FD] {
        if set_cloexec(fd).is_err() {
            eprintln!(
                "{INIT_ARG}: fd {fd} is not open; this process must be started by hoist_sandbox::run"
            );
            return SETUP_FAILED;
        }
    }
    // SAFETY: the parent placed these fds for us (checked above); nothing else owns them.
    let (mut control, mut report) =
        unsafe { (File::from_raw_fd(CONTROL_FD), File::from_raw_fd(REPORT_FD)) };
    let request = match read_request(&mut control) {
        Ok(request) => request,
        Err(source) => {
            failed(
                &mut report,
                &StepError {
                    step: "read request",
                    path: Default::default(),
                    source,
                },
            );
            return SETUP_FAILED;
        }
    };
    if let Err(e) = unshare(sys, &request.spec) {
        failed(&mut report, &e);
        return SETUP_FAILED;
    }
    let mut go = [0u8; 1];
    let proceed = Report::Unshared
        .send(&mut report)
        .and_then(|()| control.read_exact(&mut go));
    if proceed.is_err() || go[0] != GO {
        // The parent failed to write the id maps and closed the pipe; it reports why.
        return SETUP_FAILED;
    }
    drop(control);
    // SAFETY: this process is single-threaded (the init is started fresh and calls
    // maybe_run_init before any thread), so the child may use the allocator.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        failed(
            &mut report,
            &StepError {
                step: "fork",
                path: Default::default(),
                source: io::Error::last_os_error(),
            },
        );
        return SETUP_FAILED;
    }
    if pid == 0 {
        let code = container_main(sys, &request, &mut report);
        // SAFETY: leaving the forked child without running the parent's atexit state.
        unsafe { libc::_exit(code) };
    }
    let status = match wait_for(pid) {
        Ok(status) => status,
        Err(source) => {
            failed(
                &mut report,
                &StepError {
                    step: "wait",
                    path: Default::default(),
                    source,
                },
            );
            return SETUP_FAILED;
        }
    };
    match Report::Exited(status).send(&mut report) {
        Ok(()) => 0,
        Err(_) => SETUP_FAILED,
    }
}

/// The container's pid 1 until it execs the command.
fn container_main(sys: &dyn Syscall, request: &InitRequest, report: &mut File) -> i32 {
    // If the init dies (the parent kills it on timeout), so do we, and with us every
    // process of the pid namespace. (The init cannot die between fork and here
    // unless killed, and pid 1's getppid() is 0, so there is no race check.)
    // SAFETY: prctl with integer arguments.
    if unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0) } < 0 {
        let source = io::Error::last_os_error();
        failed(
            report,
            &StepError {
                step: "set parent death signal",
                path: Default::default(),
                source,
            },
        );
        return SETUP_FAILED;
    }
    let spec = &request.spec;
    let created = match prepare_rootfs(sys, spec) {
        Ok(created) => created,
        Err(e) => {
            failed(report, &e);
            return SETUP_FAILED;
        }
    };
    if Report::Created(created).send(report).is_err() {
        return SETUP_FAILED;
    }
    if let Err(e) = enter_rootfs(sys, spec, request.setgroups_allowed) {
        failed(report, &e);
        return SETUP_FAILED;
    }
    let err = exec(sys, spec);
    let message = Report::ExecFailed {
        program: spec.argv.first().cloned().unwrap_or_default(),
        errno: err.raw_os_error(),
        message: err.to_string(),
    };
    if let Err(e) = message.send(report) {
        tracing::debug!(error = %e, "cannot send exec failure report");
    }
    EXEC_FAILED
}

fn wait_for(pid: libc::pid_t) -> io::Result<ExitStatus> {
    let mut status = 0;
    loop {
        // SAFETY: waiting for our own child with a valid status pointer.
        if unsafe { libc::waitpid(pid, &mut status, 0) } == pid {
            break;
        }
        let err = io::Error::last_os_error();
        if err.kind() != io::ErrorKind::Interrupted {
            return Err(err);
        }
    }
    if libc::WIFSIGNALED(status) {
        Ok(ExitStatus::Signal(libc::WTERMSIG(status)))
    } else {
        Ok(ExitStatus::Code(libc::WEXITSTATUS(status)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sys::fake::{Call, FakeSyscall};

    #[test]
    fn rootless_unshares_user_and_the_rest_and_net_only_without_network() {
        let mut spec = RunSpec::default();
        assert_eq!(namespaces_for(&spec).to_string(), "user+mount+pid+uts+ipc");
        spec.network = Network::None;
        assert_eq!(
            namespaces_for(&spec).to_string(),
            "user+mount+pid+uts+ipc+net"
        );
        spec.isolation = Isolation::Chroot;
        assert_eq!(namespaces_for(&spec).to_string(), "mount+pid+uts+ipc+net");
    }

    #[test]
    fn chroot_falls_back_without_a_pid_namespace() {
        let spec = RunSpec {
            isolation: Isolation::Chroot,
            ..RunSpec::default()
        };
        let sys = FakeSyscall::new().fail_when(
            |c| matches!(c, Call::Unshare(ns) if ns.contains(Namespaces::PID)),
            libc::EPERM,
        );
        let got = unshare(&sys, &spec).unwrap();
        assert_eq!(got.to_string(), "mount+uts+ipc");
        assert_eq!(sys.calls().len(), 2);
    }

    #[test]
    fn rootless_refusal_is_reported_with_the_namespaces() {
        let spec = RunSpec::default();
        let sys = FakeSyscall::new().fail_when(|c| matches!(c, Call::Unshare(_)), libc::EPERM);
        let err = unshare(&sys, &spec).unwrap_err();
        assert_eq!(err.step, "unshare");
        assert_eq!(err.path.to_string_lossy(), "user+mount+pid+uts+ipc");
        assert_eq!(
            Namespaces::from_names("user+mount+pid+uts+ipc"),
            namespaces_for(&spec)
        );
        assert_eq!(sys.calls().len(), 1, "no fallback in rootless mode");
    }
}
