//! `hoist run`: run an image from the local store in the sandbox, like
//! `docker run --rm`, for smoke tests where there is no Docker.
//!
//! The exit code is the command's (128 + N when killed by signal N); hoist's own
//! failures exit 125, a command that cannot be executed 126, one not found 127.

use std::path::PathBuf;

use anyhow::Context as _;
use hoist_build::{ContainerOptions, Volume};
use hoist_oci::{Platform, Reference};
use hoist_store::Store;

use crate::build::IsolationArg;

/// hoist itself failed (Docker's convention).
const EXIT_HOIST: u8 = 125;
/// The command was found but could not be executed.
const EXIT_CANNOT_EXECUTE: u8 = 126;
/// The command was not found.
const EXIT_NOT_FOUND: u8 = 127;

/// Arguments of `hoist run`.
#[derive(clap::Args)]
pub struct RunArgs {
    /// Image in the local store.
    image: String,
    /// Command and arguments, replacing the image's CMD (after `--` when they start
    /// with `-`).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    command: Vec<String>,
    /// Set an environment variable, `KEY=VALUE`, or `KEY` to copy it from the
    /// caller's environment (repeatable).
    #[arg(short, long = "env", value_name = "KEY[=VALUE]")]
    env: Vec<String>,
    /// Bind a host path, `HOST:CONTAINER[:ro]` (repeatable).
    #[arg(short, long = "volume", value_name = "HOST:CTR[:ro]")]
    volume: Vec<String>,
    /// Run as this user, `user[:group]` (names or numbers), instead of the image's USER.
    #[arg(short, long)]
    user: Option<String>,
    /// Working directory instead of the image's WORKDIR.
    #[arg(short, long)]
    workdir: Option<String>,
    /// Replace the image's ENTRYPOINT (an empty string clears it).
    #[arg(long)]
    entrypoint: Option<String>,
    /// Network: `host` shares the host's, `none` has only a loopback interface.
    #[arg(long, value_enum, default_value = "host")]
    network: RunNetwork,
    /// Sandbox isolation (default: rootless; chroot as root where user namespaces
    /// are denied).
    #[arg(long, value_enum)]
    isolation: Option<IsolationArg>,
    /// Platform to run from a multi-platform image, os/arch[/variant] (default: host).
    #[arg(long)]
    platform: Option<String>,
    /// Accepted for Docker compatibility: the container is always removed (its
    /// rootfs is a throwaway copy of the image).
    #[arg(long)]
    rm: bool,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum RunNetwork {
    Host,
    None,
}

/// The process exit code `hoist run` ends with; errors were already printed.
#[derive(Debug)]
pub struct Exit(pub u8);

impl std::fmt::Display for Exit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "exit code {}", self.0)
    }
}

impl std::error::Error for Exit {}

/// Runs the container; `Err(Exit)` carries a non-zero exit code (the command's, or
/// 125-127 after printing hoist's own error).
pub fn run(root: &std::path::Path, args: RunArgs) -> anyhow::Result<()> {
    match container(root, args) {
        Ok(0) => Ok(()),
        Ok(code) => Err(Exit(code).into()),
        Err(e) => {
            crate::progress::print_error(&e);
            if let Some(hoist_build::BuildError::ImageNotFound { reference }) =
                e.downcast_ref::<hoist_build::BuildError>()
            {
                eprintln!(
                    "hint: build it (hoist build -t {reference}), pull it (hoist pull {reference}) or load it (hoist load -i FILE)"
                );
            }
            Err(Exit(exit_code_for(&e)).into())
        }
    }
}

fn container(root: &std::path::Path, args: RunArgs) -> anyhow::Result<u8> {
    // `--rm` is the only behaviour; the flag is accepted so Docker command lines work.
    let _always_removed = args.rm;
    let store = Store::open(root)?;
    let image = Reference::parse(&args.image)
        .with_context(|| format!("invalid image reference {:?}", args.image))?;
    let mut opts = ContainerOptions::new(image);
    if let Some(p) = &args.platform {
        opts.platform = p
            .parse::<Platform>()
            .with_context(|| format!("invalid --platform {p:?}"))?;
    }
    opts.command = args.command;
    opts.entrypoint = args
        .entrypoint
        .map(|e| if e.is_empty() { Vec::new() } else { vec![e] });
    opts.env = args
        .env
        .iter()
        .filter_map(|kv| match kv.split_once('=') {
            Some(_) => Some(kv.clone()),
            // As Docker: a bare KEY copies the caller's value, and is dropped when unset.
            None => std::env::var(kv).ok().map(|v| format!("{kv}={v}")),
        })
        .collect();
    opts.volumes = args
        .volume
        .iter()
        .map(|v| volume(v))
        .collect::<anyhow::Result<_>>()?;
    opts.user = args.user;
    opts.workdir = args.workdir;
    opts.network = match args.network {
        RunNetwork::Host => hoist_sandbox::Network::Host,
        RunNetwork::None => hoist_sandbox::Network::None,
    };
    opts.isolation = args.isolation.map(Into::into);
    let status = hoist_build::run_container(&store, &opts)?;
    Ok(match status {
        hoist_sandbox::ExitStatus::Code(c) => u8::try_from(c & 0xff).unwrap_or(EXIT_HOIST),
        hoist_sandbox::ExitStatus::Signal(s) => u8::try_from(128 + s).unwrap_or(EXIT_HOIST),
    })
}

/// `-v` with a relative host path (`./dir:/x`) made absolute against the cwd.
fn volume(spec: &str) -> anyhow::Result<Volume> {
    let absolute = match spec.split_once(':') {
        Some((host, rest)) if !host.starts_with('/') && !host.is_empty() => {
            let host = std::path::absolute(PathBuf::from(host))
                .with_context(|| format!("invalid volume host path {host:?}"))?;
            format!("{}:{rest}", host.display())
        }
        _ => spec.to_string(),
    };
    let v = Volume::parse(&absolute).map_err(anyhow::Error::msg)?;
    anyhow::ensure!(
        v.host.exists(),
        "volume source {} does not exist",
        v.host.display()
    );
    Ok(v)
}

/// 127 when the command is not found, 126 when it cannot be executed, else 125.
fn exit_code_for(e: &anyhow::Error) -> u8 {
    for cause in e.chain() {
        // The build error boxes the sandbox's, so the chain holds the box.
        let sandbox = cause
            .downcast_ref::<hoist_sandbox::SandboxError>()
            .or_else(|| {
                cause
                    .downcast_ref::<Box<hoist_sandbox::SandboxError>>()
                    .map(|b| &**b)
            });
        if let Some(hoist_sandbox::SandboxError::Exec { source, .. }) = sandbox {
            return if source.kind() == std::io::ErrorKind::NotFound {
                EXIT_NOT_FOUND
            } else {
                EXIT_CANNOT_EXECUTE
            };
        }
    }
    EXIT_HOIST
}
