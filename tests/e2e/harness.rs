//! Runs `hoist` in a scratch directory with its own store.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// A scratch workspace: a private store (`HOIST_ROOT`) and a work directory.
pub struct Hoist {
    pub root: tempfile::TempDir,
    pub work: tempfile::TempDir,
}

impl Hoist {
    pub fn new() -> Self {
        Hoist {
            root: tempfile::tempdir().expect("temp store"),
            work: tempfile::tempdir().expect("temp work dir"),
        }
    }

    /// `hoist ARGS` in the workspace: its own store, none of the machine's
    /// registry credentials (an empty docker config, no podman auth file), and a
    /// stdin that is not a terminal.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_hoist"));
        c.args(args)
            .current_dir(self.work.path())
            .env("HOIST_ROOT", self.root.path())
            .env("NO_COLOR", "1")
            .env("DOCKER_CONFIG", self.path("docker"))
            .env_remove("REGISTRY_AUTH_FILE")
            .env_remove("XDG_RUNTIME_DIR")
            .env_remove("SOURCE_DATE_EPOCH")
            .env_remove("HOIST_LOG")
            .stdin(Stdio::null());
        c
    }

    /// Runs and expects success; returns stdout and stderr.
    pub fn ok_both(&self, args: &[&str]) -> (String, String) {
        succeed(self.command(args), args)
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("run hoist")
    }

    /// Runs and expects success; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "hoist {args:?} failed ({}):\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("utf-8 stdout")
    }

    /// Runs and expects failure; returns stderr.
    pub fn fail(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            !out.status.success(),
            "hoist {args:?} unexpectedly succeeded:\n{}",
            String::from_utf8_lossy(&out.stdout)
        );
        String::from_utf8(out.stderr).expect("utf-8 stderr")
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.work.path().join(name)
    }

    /// The store's index.json.
    pub fn index(&self) -> serde_json::Value {
        read_json(&self.root.path().join("index.json"))
    }
}

pub fn fixture(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures")
        .join(name)
        .canonicalize()
        .expect("fixture exists")
        .display()
        .to_string()
}

pub fn read_json(path: &Path) -> serde_json::Value {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("parse {}: {e}", path.display()))
}

/// A real tool the tests need; CI installs them (`.ci/setup`).
pub fn tool(name: &str) -> Command {
    let found = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join(name).is_file()))
        .unwrap_or(false);
    assert!(
        found,
        "{name} is required for this test: run .ci/setup (apt-get install -y {name})"
    );
    Command::new(name)
}

/// Runs a tool and expects success; returns stdout.
pub fn run_tool(mut c: Command) -> String {
    let out = c.output().expect("run tool");
    assert!(
        out.status.success(),
        "{c:?} failed ({}):\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn sha256_file(path: &Path) -> String {
    use sha2::Digest;
    let bytes = std::fs::read(path).expect("read file");
    hex::encode(sha2::Sha256::digest(&bytes))
}

/// Runs `c` (hoist `args`) and expects success; returns stdout and stderr.
pub fn succeed(mut c: Command, args: &[&str]) -> (String, String) {
    let out = c.output().expect("run hoist");
    let (so, se) = texts(&out);
    assert!(out.status.success(), "hoist {args:?} failed:\n{se}");
    (so, se)
}

/// Runs `c` (hoist `args`) and expects failure; returns stderr.
pub fn flunk(mut c: Command, args: &[&str]) -> String {
    let out = c.output().expect("run hoist");
    let (so, se) = texts(&out);
    assert!(!out.status.success(), "hoist {args:?} succeeded:\n{so}{se}");
    se
}

/// stdout and stderr as text.
pub fn texts(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}
