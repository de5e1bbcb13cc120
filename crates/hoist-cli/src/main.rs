//! `hoist`: build, store and move OCI images without a daemon and without root.

mod build;
mod client;
mod copy;
mod images;
mod login;
mod manifest;
mod plugin;
mod progress;
mod pull;
mod push;
mod registry;
mod run;
mod transfer_progress;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Daemonless, rootless container image builder and registry toolkit.
#[derive(Parser)]
#[command(name = "hoist", version, about, propagate_version = true)]
struct Cli {
    /// Local store directory [env: HOIST_ROOT] [default: $XDG_DATA_HOME/hoist]
    #[arg(long, global = true, value_name = "DIR")]
    root: Option<PathBuf>,
    /// Log filter for diagnostics on stderr (e.g. `debug`, `hoist_store=trace`).
    #[arg(long, global = true, env = "HOIST_LOG", default_value = "warn")]
    log: String,
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
// Parsed once per process; boxing the big argument structs would buy nothing.
#[allow(clippy::large_enum_variant)]
enum Cmd {
    /// Build an image from a Dockerfile.
    Build(build::BuildArgs),
    /// List images in the local store.
    Images(images::ImagesArgs),
    /// Give an image in the store another name.
    Tag {
        /// Existing image.
        source: String,
        /// New name.
        target: String,
    },
    /// Remove image names from the store (and blobs nothing else uses).
    Rmi {
        /// Images to remove (default tag `latest`).
        #[arg(required = true)]
        images: Vec<String>,
    },
    /// Print an image's manifest and config as JSON.
    Inspect {
        /// Image in the store.
        image: String,
    },
    /// Write images to an archive file.
    Save(images::SaveArgs),
    /// Load images from an oci-archive or docker-archive file.
    Load {
        /// Archive to read.
        #[arg(short, long)]
        input: PathBuf,
    },
    /// Remove blobs no image references, and stale temporary files.
    Prune,
    /// Save credentials for a registry (verified first).
    Login(login::LoginArgs),
    /// Remove saved credentials for a registry.
    Logout(login::LogoutArgs),
    /// Download an image from a registry into the store.
    Pull(pull::PullArgs),
    /// Upload an image from the store to a registry.
    Push(push::PushArgs),
    /// Run an image from the store in a throwaway sandbox (exit code passed through).
    Run(run::RunArgs),
    /// Copy an image between registries, OCI layouts, archives and the store.
    Copy(copy::CopyArgs),
    /// Tag, list, delete and inspect images in a registry.
    Registry {
        #[command(subcommand)]
        command: registry::RegistryCmd,
    },
    /// Multi-platform indexes in the store.
    Manifest {
        #[command(subcommand)]
        command: manifest::ManifestCmd,
    },
    /// List, inspect and try wasm plugins (auth and registry profiles).
    Plugin {
        #[command(subcommand)]
        command: plugin::PluginCmd,
    },
    /// Developer tools.
    Debug {
        #[command(subcommand)]
        command: DebugCmd,
    },
}

#[derive(Subcommand)]
enum DebugCmd {
    /// Print a Dockerfile's parse in BuildKit's AST dump notation.
    Parse {
        /// Dockerfile (default `Dockerfile`; `-` for stdin).
        file: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    // Returns at once unless this process was started as the RUN sandbox's init.
    hoist_sandbox::maybe_run_init();
    let cli = Cli::parse();
    // Commands that unpack or remove image files run as root of a user namespace
    // over the subordinate ids when the caller has them (HOIST_USERNS=0: never).
    let unpacks = matches!(
        cli.command,
        Cmd::Build(_) | Cmd::Run(_) | Cmd::Rmi { .. } | Cmd::Prune
    );
    if unpacks
        && std::env::var_os("HOIST_USERNS").is_none_or(|v| v != "0")
        && let Some(code) = hoist_sandbox::reexec_in_user_namespace()
    {
        return ExitCode::from(code);
    }
    progress::init_logging(&cli.log);
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // `hoist run` exits with its command's code (its own errors are printed).
            if let Some(run::Exit(code)) = e.downcast_ref::<run::Exit>() {
                return ExitCode::from(*code);
            }
            progress::print_error(&e);
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let root = cli
        .root
        .clone()
        .unwrap_or_else(hoist_store::Store::default_root);
    match cli.command {
        Cmd::Build(args) => build::run(&root, args),
        Cmd::Images(args) => images::list(&root, &args),
        Cmd::Tag { source, target } => images::tag(&root, &source, &target),
        Cmd::Rmi { images } => images::rmi(&root, &images),
        Cmd::Inspect { image } => images::inspect(&root, &image),
        Cmd::Save(args) => images::save(&root, &args),
        Cmd::Load { input } => images::load(&root, &input),
        Cmd::Prune => images::prune(&root),
        Cmd::Login(args) => login::login(args),
        Cmd::Logout(args) => login::logout(args),
        Cmd::Pull(args) => pull::run(&root, args),
        Cmd::Push(args) => push::run(&root, args),
        Cmd::Run(args) => run::run(&root, args),
        Cmd::Copy(args) => copy::run(&root, args),
        Cmd::Registry { command } => registry::run(command),
        Cmd::Manifest { command } => manifest::run(&root, command),
        Cmd::Plugin { command } => plugin::run(command),
        Cmd::Debug {
            command: DebugCmd::Parse { file },
        } => debug_parse(file),
    }
}

fn debug_parse(file: Option<PathBuf>) -> anyhow::Result<()> {
    use std::io::Read;
    let file = file.unwrap_or_else(|| PathBuf::from("Dockerfile"));
    let (name, text) = if file.as_os_str() == "-" {
        let mut s = String::new();
        std::io::stdin().read_to_string(&mut s)?;
        ("-".to_string(), s)
    } else {
        let text = std::fs::read_to_string(&file)
            .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", file.display()))?;
        (file.display().to_string(), text)
    };
    // The parser-level tree, as BuildKit's own dump prints it (flags not yet validated).
    let tree = hoist_dockerfile::syntax::parse_syntax(&name, &text)?;
    print!("{}", hoist_dockerfile::dump_syntax(&tree));
    Ok(())
}
