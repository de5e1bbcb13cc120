//! Shared helpers for the end-to-end tests: a busybox rootfs and a bounded `run`.

#![allow(dead_code)]

use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use hoist_sandbox::{
    Isolation, RunOptions, RunOutcome, RunSpec, SandboxError, Stdio, UserNamespaces, probe,
    run_with,
};

/// Set in the re-run of this test binary as the unprivileged user.
pub const CHILD_ENV: &str = "HOIST_SANDBOX_E2E_CHILD";

/// A temporary rootfs with busybox and one symlink per applet in /bin.
pub struct Rootfs {
    pub dir: tempfile::TempDir,
}

impl Rootfs {
    pub fn new() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("hoist-sandbox-rootfs")
            .tempdir()
            .expect("create temp rootfs");
        let bin = dir.path().join("bin");
        fs::create_dir(&bin).expect("mkdir bin");
        fs::copy("/bin/busybox", bin.join("busybox")).expect("copy busybox");
        let list = Command::new("/bin/busybox")
            .arg("--list")
            .output()
            .expect("busybox --list");
        for applet in String::from_utf8_lossy(&list.stdout).lines() {
            if applet != "busybox" && !applet.contains('/') {
                symlink("busybox", bin.join(applet)).expect("symlink applet");
            }
        }
        Self { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// A spec running `sh -c script`, output captured, `PATH=/bin`.
    pub fn sh(&self, script: &str) -> RunSpec {
        RunSpec {
            rootfs: self.path().to_path_buf(),
            argv: vec!["sh".into(), "-c".into(), script.into()],
            env: vec!["PATH=/bin".into()],
            stdio: Stdio::Capture {
                tail_bytes: 64 * 1024,
            },
            ..RunSpec::default()
        }
    }
}

pub fn options() -> RunOptions {
    RunOptions {
        init_program: Some(PathBuf::from(env!("CARGO_BIN_EXE_hoist-sandbox-init"))),
        timeout: Some(Duration::from_secs(30)),
    }
}

pub fn try_run(spec: &RunSpec) -> Result<RunOutcome, SandboxError> {
    run_with(spec, &options())
}

/// Run and expect success of the sandbox itself (not necessarily of the command).
pub fn run_ok(spec: &RunSpec) -> RunOutcome {
    match try_run(spec) {
        Ok(outcome) => outcome,
        Err(e) => panic!("sandbox failed: {}", chain(&e)),
    }
}

pub fn stdout(outcome: &RunOutcome) -> String {
    String::from_utf8_lossy(&outcome.output).into_owned()
}

pub fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// False (with the reason printed) when rootless sandboxes cannot work here.
pub fn rootless_available() -> bool {
    let caps = probe();
    match caps.check(Isolation::Rootless) {
        Ok(()) => true,
        Err(e) => {
            assert!(
                matches!(caps.user_namespaces, UserNamespaces::Denied { .. }),
                "unexpected probe refusal: {e}"
            );
            eprintln!("skipping: {e}");
            false
        }
    }
}

pub fn is_root() -> bool {
    // SAFETY: geteuid cannot fail.
    unsafe { libc::geteuid() == 0 }
}
