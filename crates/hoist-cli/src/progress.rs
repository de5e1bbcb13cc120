//! Rendering for people: progress lines, warnings and errors on stderr (stdout is data).

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicUsize, Ordering};

use hoist_oci::Digest;

/// How build progress is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ProgressMode {
    /// Plain lines (a terminal gets the same, with colour unless NO_COLOR).
    Auto,
    /// One line per event.
    Plain,
    /// Errors only.
    Quiet,
}

/// Renders build events to stderr.
pub struct StderrReporter {
    mode: ProgressMode,
    color: bool,
    steps: AtomicUsize,
}

impl StderrReporter {
    /// A reporter in `mode`.
    pub fn new(mode: ProgressMode) -> Self {
        let color = mode == ProgressMode::Auto
            && std::io::stderr().is_terminal()
            && std::env::var_os("NO_COLOR").is_none();
        StderrReporter {
            mode,
            color,
            steps: AtomicUsize::new(0),
        }
    }

    fn line(&self, s: &str) {
        if self.mode != ProgressMode::Quiet {
            // Progress output is best effort: a closed stderr must not fail the build.
            let _ = writeln!(std::io::stderr().lock(), "{s}");
        }
    }
}

impl hoist_build::Reporter for StderrReporter {
    fn step(&self, stage: &str, number: usize, total: usize, text: &str) {
        let n = self.steps.fetch_add(1, Ordering::Relaxed) + 1;
        let text = if self.color {
            format!("\x1b[1m{text}\x1b[0m")
        } else {
            text.to_string()
        };
        self.line(&format!("#{n} [{stage} {number}/{total}] {text}"));
    }

    fn layer(&self, digest: &Digest, size: u64, entries: u64, seconds: f64) {
        self.line(&format!(
            "   layer {} {} in {entries} entries, {seconds:.2}s",
            short(digest),
            human_size(size)
        ));
    }

    fn warn(&self, message: &str) {
        let _ = writeln!(std::io::stderr().lock(), "warning: {message}");
    }
}

/// `sha256:0123456789ab`.
pub fn short(d: &Digest) -> String {
    let s = d.to_string();
    s.chars().take(19).collect()
}

/// 1.5MB style sizes.
pub fn human_size(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "kB", "MB", "GB", "TB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1000.0 && u < UNITS.len() - 1 {
        v /= 1000.0;
        u += 1;
    }
    if u == 0 {
        format!("{n}B")
    } else {
        format!("{v:.1}{}", UNITS[u])
    }
}

/// Sets up `tracing` on stderr.
pub fn init_logging(filter: &str) {
    let filter = tracing_subscriber::EnvFilter::try_new(filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none())
        .init();
}

/// Prints `error: …` with its causes, then any `hint:` lines.
pub fn print_error(e: &anyhow::Error) {
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "error: {e}");
    for cause in e.chain().skip(1) {
        let _ = writeln!(err, "  caused by: {cause}");
    }
    for h in hints(e) {
        let _ = writeln!(err, "hint: {h}");
    }
}

/// `hint:` lines for errors people can act on.
fn hints(e: &anyhow::Error) -> Vec<String> {
    let mut out = Vec::new();
    for cause in e.chain() {
        if let Some(b) = cause.downcast_ref::<hoist_build::BuildError>() {
            match b {
                hoist_build::BuildError::BaseNotFound { reference, .. } => out.push(format!(
                    "pull it (hoist pull {reference}), load it (hoist load -i FILE), or build it with -t {reference}; --pull=never never fetches it"
                )),
                hoist_build::BuildError::UnknownTarget(_) => {
                    out.push("--target takes a stage name from `FROM … AS name`".into())
                }
                _ => {}
            }
        }
        let registry = cause
            .downcast_ref::<hoist_registry::RegistryError>()
            .or_else(|| {
                cause
                    .downcast_ref::<hoist_transfer::TransferError>()
                    .and_then(hoist_transfer::TransferError::registry)
            });
        if let Some(h) = registry.and_then(hoist_registry::RegistryError::hint)
            && !out.contains(&h)
        {
            out.push(h);
        }
        if let Some(hoist_transfer::TransferError::MissingBlob { .. }) =
            cause.downcast_ref::<hoist_transfer::TransferError>()
        {
            out.push("pull every platform first (hoist pull --all-platforms IMAGE)".into());
        }
    }
    out
}
