//! The parent side: validate the spec, start the init, write its id maps, collect
//! output and reports, and turn them into a [`RunOutcome`] or a [`SandboxError`].

use std::io::{self, PipeReader, PipeWriter, Read, Write};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio as ProcStdio};
use std::time::{Duration, Instant};

use crate::capture::Tail;
use crate::error::SandboxError;
use crate::idmap::IdMapping;
use crate::probe::{gather, namespaces_denied};
use crate::protocol::{CONTROL_FD, GO, INIT_ARG, REPORT_FD, Report, ReportReader, write_request};
use crate::setup::InitRequest;
use crate::spec::{ExitStatus, Isolation, MountSpec, RunOptions, RunOutcome, RunSpec, Stdio};
use crate::sys::Namespaces;

/// Run `spec` with default [`RunOptions`] (re-exec `std::env::current_exe()`).
pub fn run(spec: &RunSpec) -> Result<RunOutcome, SandboxError> {
    run_with(spec, &RunOptions::default())
}

/// Run `spec`: the command's exit status, captured output and the paths created in
/// the rootfs, or why it could not be run.
pub fn run_with(spec: &RunSpec, options: &RunOptions) -> Result<RunOutcome, SandboxError> {
    let spec = validate(spec)?;
    let caps = gather();
    caps.check(spec.isolation)?;
    let mapping = match spec.isolation {
        Isolation::Rootless => Some(IdMapping::choose(&caps, spec.id_map)?),
        Isolation::Chroot => None,
    };
    if let Some(mapping) = &mapping {
        mapping.check_user(&spec.user)?;
    }
    let request = InitRequest {
        setgroups_allowed: mapping.as_ref().is_none_or(IdMapping::setgroups_allowed),
        spec,
    };
    let program = match &options.init_program {
        Some(program) => program.clone(),
        None => std::env::current_exe().map_err(|source| SandboxError::Io {
            what: "find the current executable",
            source,
        })?,
    };
    let started = Instant::now();
    let mut session = Session::start(&program, &request.spec)?;
    tracing::debug!(pid = session.child.id(), rootfs = %request.spec.rootfs.display(), "sandbox init started");
    let result = session.drive(&request, mapping.as_ref(), options.timeout);
    if result.is_err() {
        session.kill();
    }
    let init_status = session.child.wait().map_err(|source| SandboxError::Io {
        what: "wait for the sandbox init",
        source,
    })?;
    tracing::debug!(elapsed = ?started.elapsed(), %init_status, "sandbox finished");
    let collected = result?;
    let tail = session.tail.map(Tail::into_bytes).unwrap_or_default();
    collected.into_outcome(&request.spec, tail, init_status, caps.is_root())
}

fn invalid(field: &'static str, reason: impl Into<String>) -> SandboxError {
    SandboxError::InvalidSpec {
        field,
        reason: reason.into(),
    }
}

/// Check the spec and make `rootfs` canonical; refuses the host's `/` as rootfs.
fn validate(spec: &RunSpec) -> Result<RunSpec, SandboxError> {
    let mut spec = spec.clone();
    if spec.argv.is_empty() {
        return Err(invalid("argv", "empty"));
    }
    spec.rootfs = spec
        .rootfs
        .canonicalize()
        .map_err(|e| invalid("rootfs", format!("{}: {e}", spec.rootfs.display())))?;
    if !spec.rootfs.is_dir() {
        return Err(invalid(
            "rootfs",
            format!("{} is not a directory", spec.rootfs.display()),
        ));
    }
    if spec.rootfs == Path::new("/") {
        return Err(invalid("rootfs", "the host's / cannot be a rootfs"));
    }
    if !spec.cwd.starts_with('/') {
        return Err(invalid("cwd", format!("{:?} is not absolute", spec.cwd)));
    }
    for mount in &spec.mounts {
        if !mount.target().starts_with('/') {
            return Err(invalid(
                "mounts",
                format!("target {:?} is not absolute", mount.target()),
            ));
        }
        if let MountSpec::Bind { source, .. } = mount
            && !source.is_absolute()
        {
            return Err(invalid(
                "mounts",
                format!("source {} is not absolute", source.display()),
            ));
        }
    }
    if spec.overlay.is_some() && spec.isolation == Isolation::Chroot {
        return Err(invalid(
            "overlay",
            "needs rootless isolation (a mount namespace of our own)",
        ));
    }
    if spec.hostname.is_empty() || spec.hostname.len() > 64 {
        return Err(invalid("hostname", "must be 1 to 64 bytes"));
    }
    Ok(spec)
}

/// A started init and the parent's ends of its pipes.
struct Session {
    child: Child,
    control: Option<PipeWriter>,
    reports: PipeReader,
    output: Option<PipeReader>,
    tail: Option<Tail>,
}

/// What the reports said.
#[derive(Default)]
struct Collected {
    created: Vec<PathBuf>,
    failure: Option<Report>,
    exited: Option<ExitStatus>,
}

fn io_err(what: &'static str) -> impl FnOnce(io::Error) -> SandboxError {
    move |source| SandboxError::Io { what, source }
}

impl Session {
    fn start(program: &Path, spec: &RunSpec) -> Result<Self, SandboxError> {
        let (control_r, control_w) = io::pipe().map_err(io_err("create pipe"))?;
        let (reports_r, reports_w) = io::pipe().map_err(io_err("create pipe"))?;
        let mut command = Command::new(program);
        command.arg(INIT_ARG).env_clear();
        let (mut output, mut tail) = (None, None);
        match spec.stdio {
            Stdio::Inherit => {}
            Stdio::Null => {
                command
                    .stdin(ProcStdio::null())
                    .stdout(ProcStdio::null())
                    .stderr(ProcStdio::null());
            }
            Stdio::Capture { tail_bytes } => {
                let (out_r, out_w) = io::pipe().map_err(io_err("create pipe"))?;
                let err_w = out_w.try_clone().map_err(io_err("duplicate pipe"))?;
                command.stdin(ProcStdio::null()).stdout(out_w).stderr(err_w);
                output = Some(out_r);
                tail = Some(Tail::new(tail_bytes));
            }
        }
        let (control_fd, reports_fd) = (control_r.as_raw_fd(), reports_w.as_raw_fd());
        // SAFETY: the closure only calls fcntl/dup2, which are async-signal-safe.
        unsafe {
            command.pre_exec(move || place_fds(control_fd, reports_fd));
        }
        let child = command.spawn().map_err(|source| SandboxError::Spawn {
            program: program.to_path_buf(),
            source,
        })?;
        // Dropping the command and our copies of the child's ends makes EOF work.
        drop(command);
        drop((control_r, reports_w));
        Ok(Self {
            child,
            control: Some(control_w),
            reports: reports_r,
            output,
            tail,
        })
    }

    fn kill(&mut self) {
        // Killing the init takes pid 1 (PDEATHSIG) and with it the whole pid namespace.
        // An error means it already exited, which is what we want.
        if let Err(e) = self.child.kill() {
            tracing::debug!(error = %e, "sandbox init already gone");
        }
    }

    fn drive(
        &mut self,
        request: &InitRequest,
        mapping: Option<&IdMapping>,
        timeout: Option<Duration>,
    ) -> Result<Collected, SandboxError> {
        let control = self
            .control
            .as_mut()
            .ok_or_else(|| SandboxError::Protocol {
                reason: "control pipe already closed".to_owned(),
            })?;
        write_request(control, request).map_err(io_err("send the run spec"))?;
        let deadline = timeout.map(|t| (Instant::now() + t, t));
        let mut collected = Collected::default();
        let mut reader = ReportReader::default();
        let mut buf = vec![0u8; 64 * 1024];
        let mut output_open = self.output.is_some();
        loop {
            let wait_ms = match deadline {
                Some((at, limit)) => {
                    let left = at.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return Err(SandboxError::Timeout { after: limit });
                    }
                    i32::try_from(left.as_millis()).unwrap_or(i32::MAX).max(1)
                }
                None => -1,
            };
            let output_fd = self
                .output
                .as_ref()
                .filter(|_| output_open)
                .map(AsRawFd::as_raw_fd);
            let (reports_ready, output_ready) =
                poll2(self.reports.as_raw_fd(), output_fd, wait_ms)?;
            if output_ready
                && let (Some(out), Some(tail)) = (self.output.as_mut(), self.tail.as_mut())
            {
                let n = out.read(&mut buf).map_err(io_err("read command output"))?;
                if n == 0 {
                    output_open = false;
                }
                tail.push(&buf[..n]);
            }
            if !reports_ready {
                continue;
            }
            let n = self
                .reports
                .read(&mut buf)
                .map_err(io_err("read sandbox reports"))?;
            if n == 0 {
                if reader.has_partial() {
                    return Err(SandboxError::Protocol {
                        reason: "truncated report".to_owned(),
                    });
                }
                break;
            }
            let reports = reader.feed(&buf[..n]).map_err(|e| SandboxError::Protocol {
                reason: format!("bad report: {e}"),
            })?;
            for report in reports {
                match report {
                    Report::Unshared => self.release(mapping)?,
                    Report::Created(paths) => collected.created = paths,
                    Report::Exited(status) => collected.exited = Some(status),
                    failure @ (Report::Failed { .. } | Report::ExecFailed { .. }) => {
                        collected.failure.get_or_insert(failure);
                    }
                }
            }
        }
        if output_open {
            self.drain_output(&mut buf)?;
        }
        Ok(collected)
    }

    /// Write the id maps for the init, then let it continue.
    fn release(&mut self, mapping: Option<&IdMapping>) -> Result<(), SandboxError> {
        if let Some(mapping) = mapping {
            mapping.apply(self.child.id())?;
        }
        let mut control = self.control.take().ok_or_else(|| SandboxError::Protocol {
            reason: "init reported unshared twice".to_owned(),
        })?;
        control
            .write_all(&[GO])
            .map_err(io_err("release the sandbox init"))
    }

    /// Read what is already buffered without waiting for writers that outlive the
    /// init (only possible without a pid namespace).
    fn drain_output(&mut self, buf: &mut [u8]) -> Result<(), SandboxError> {
        let (Some(out), Some(tail)) = (self.output.as_mut(), self.tail.as_mut()) else {
            return Ok(());
        };
        loop {
            let (ready, _) = poll2(out.as_raw_fd(), None, 0)?;
            if !ready {
                return Ok(());
            }
            let n = out.read(buf).map_err(io_err("read command output"))?;
            if n == 0 {
                return Ok(());
            }
            tail.push(&buf[..n]);
        }
    }
}

impl Collected {
    fn into_outcome(
        self,
        spec: &RunSpec,
        output: Vec<u8>,
        init_status: std::process::ExitStatus,
        is_root: bool,
    ) -> Result<RunOutcome, SandboxError> {
        match self.failure {
            Some(Report::Failed {
                step,
                path,
                errno,
                message,
            }) => {
                let source = Report::io_error(errno, &message);
                if step == "unshare" {
                    let ns = Namespaces::from_names(&path.to_string_lossy());
                    return Err(namespaces_denied(spec.isolation, is_root, ns, source));
                }
                return Err(SandboxError::Setup { step, path, source });
            }
            Some(Report::ExecFailed {
                program,
                errno,
                message,
            }) => {
                return Err(SandboxError::Exec {
                    program,
                    source: Report::io_error(errno, &message),
                });
            }
            _ => {}
        }
        let status = self.exited.ok_or_else(|| SandboxError::Protocol {
            reason: format!(
                "init exited ({init_status}) without reporting; is {INIT_ARG} handled by maybe_run_init()?"
            ),
        })?;
        Ok(RunOutcome {
            status,
            output,
            created_paths: self.created,
        })
    }
}

/// Move the child's pipe ends to [`CONTROL_FD`] and [`REPORT_FD`] (without
/// close-on-exec). Runs between fork and exec.
fn place_fds(control: RawFd, reports: RawFd) -> io::Result<()> {
    // First move both above the targets so one dup2 cannot clobber the other.
    // SAFETY: fcntl/dup2 on fds we own; async-signal-safe.
    unsafe {
        let control = libc::fcntl(control, libc::F_DUPFD_CLOEXEC, 10);
        let reports = libc::fcntl(reports, libc::F_DUPFD_CLOEXEC, 10);
        if control < 0
            || reports < 0
            || libc::dup2(control, CONTROL_FD) < 0
            || libc::dup2(reports, REPORT_FD) < 0
        {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// poll(2) on one or two fds; returns which are readable (or hung up).
fn poll2(a: RawFd, b: Option<RawFd>, timeout_ms: i32) -> Result<(bool, bool), SandboxError> {
    let mut fds = [
        libc::pollfd {
            fd: a,
            events: libc::POLLIN,
            revents: 0,
        },
        libc::pollfd {
            fd: b.unwrap_or(-1),
            events: libc::POLLIN,
            revents: 0,
        },
    ];
    loop {
        // SAFETY: fds is a valid array of two pollfd; negative fds are ignored.
        let rc = unsafe { libc::poll(fds.as_mut_ptr(), 2, timeout_ms) };
        if rc >= 0 {
            break;
        }
        let err = io::Error::last_os_error();
        if err.kind() != io::ErrorKind::Interrupted {
            return Err(SandboxError::Io {
                what: "poll sandbox pipes",
                source: err,
            });
        }
    }
    let ready = |p: &libc::pollfd| p.revents & (libc::POLLIN | libc::POLLHUP | libc::POLLERR) != 0;
    Ok((ready(&fds[0]), ready(&fds[1])))
}
