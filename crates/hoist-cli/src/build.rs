//! `hoist build`.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use hoist_build::{BuildOptions, DockerfileSource};
use hoist_oci::media::Compression;
use hoist_oci::{Platform, Reference};
use hoist_store::Store;

use crate::client::RegistryArgs;
use crate::progress::{ProgressMode, StderrReporter};

/// Arguments of `hoist build`.
#[derive(clap::Args)]
pub struct BuildArgs {
    /// Context directory.
    #[arg(default_value = ".")]
    context: PathBuf,
    /// Name the result (repeatable).
    #[arg(short, long = "tag")]
    tag: Vec<String>,
    /// Dockerfile (default CONTEXT/Dockerfile; `-` reads stdin).
    #[arg(short, long = "file")]
    file: Option<PathBuf>,
    /// Build argument `KEY=VALUE`, or `KEY` to take it from the environment (repeatable).
    #[arg(long = "build-arg", value_name = "KEY[=VALUE]")]
    build_arg: Vec<String>,
    /// Stage to build.
    #[arg(long)]
    target: Option<String>,
    /// Label for the final image, `KEY=VALUE` (repeatable).
    #[arg(long = "label", value_name = "KEY=VALUE")]
    label: Vec<String>,
    /// Target platform, os/arch[/variant].
    #[arg(long)]
    platform: Option<String>,
    /// Clamp timestamps to this Unix time (default: $SOURCE_DATE_EPOCH when set).
    #[arg(long)]
    timestamp: Option<i64>,
    /// Layer compression.
    #[arg(long, value_enum, default_value = "gzip")]
    compression: CompressionArg,
    /// Compression level (gzip 1-9, zstd 1-19).
    #[arg(long)]
    compression_level: Option<i32>,
    /// Also export: type=oci,dest=DIR | type=oci-archive,dest=FILE | type=docker-archive,dest=FILE.
    #[arg(long, short = 'o')]
    output: Vec<String>,
    /// Write the image ID (config digest) to this file.
    #[arg(long)]
    iidfile: Option<PathBuf>,
    /// Write the manifest digest to this file.
    #[arg(long)]
    digest_file: Option<PathBuf>,
    /// Progress output on stderr.
    #[arg(long, value_enum, default_value = "auto")]
    progress: ProgressMode,
    /// Same as --progress=quiet.
    #[arg(short, long)]
    quiet: bool,
    /// When to pull base images from their registries (`--pull` alone: always).
    #[arg(long, value_enum, default_value = "missing", num_args = 0..=1,
        default_missing_value = "always", require_equals = true)]
    pull: PullArg,
    /// Push every -t tag to its registry after the build (--digest-file then gets the
    /// pushed digest).
    #[arg(long)]
    push: bool,
    #[command(flatten)]
    registry_args: RegistryArgs,
    /// Isolation of RUN steps (default: rootless; chroot as root where user
    /// namespaces are denied).
    #[arg(long, value_enum)]
    isolation: Option<IsolationArg>,
    /// Network of RUN steps without --network (default shares the host's).
    #[arg(long, value_enum, default_value = "default")]
    network: NetworkArg,
    /// Secret for RUN --mount=type=secret: id=ID,src=FILE or id=ID,env=VAR (repeatable).
    #[arg(long, value_name = "id=ID,src=FILE|env=VAR")]
    secret: Vec<String>,
}

/// `--isolation` of `hoist build` and `hoist run`.
#[derive(Clone, Copy, clap::ValueEnum)]
pub(crate) enum IsolationArg {
    Rootless,
    Chroot,
}

impl From<IsolationArg> for hoist_sandbox::Isolation {
    fn from(a: IsolationArg) -> Self {
        match a {
            IsolationArg::Rootless => hoist_sandbox::Isolation::Rootless,
            IsolationArg::Chroot => hoist_sandbox::Isolation::Chroot,
        }
    }
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum NetworkArg {
    Default,
    None,
    Host,
}

/// Parses `id=x,src=FILE` / `id=x,env=VAR` (`source`/`type=file|env` accepted too).
fn parse_secret(spec: &str) -> anyhow::Result<(String, hoist_build::SecretSource)> {
    let mut id = None;
    let mut src = None;
    let mut env = None;
    for part in spec.split(',') {
        match part.split_once('=') {
            Some(("id", v)) => id = Some(v.to_string()),
            Some(("src" | "source", v)) => src = Some(PathBuf::from(v)),
            Some(("env", v)) => env = Some(v.to_string()),
            Some(("type", "file" | "env")) => {}
            _ => bail!("invalid --secret {spec:?}: expected id=ID,src=FILE or id=ID,env=VAR"),
        }
    }
    let id = id.with_context(|| format!("--secret {spec:?} needs id=ID"))?;
    let source = match (src, env) {
        (Some(p), None) => {
            let p = std::path::absolute(&p)
                .with_context(|| format!("invalid secret path {}", p.display()))?;
            anyhow::ensure!(p.is_file(), "secret {id}: {} is not a file", p.display());
            hoist_build::SecretSource::File(p)
        }
        (None, Some(v)) => hoist_build::SecretSource::Env(v),
        (None, None) => hoist_build::SecretSource::Env(id.to_uppercase()),
        (Some(_), Some(_)) => bail!("--secret {spec:?}: give src= or env=, not both"),
    };
    Ok((id, source))
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum PullArg {
    Always,
    Missing,
    Never,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum CompressionArg {
    Gzip,
    Zstd,
    None,
}

/// Runs `hoist build`.
pub fn run(root: &Path, args: BuildArgs) -> anyhow::Result<()> {
    let opts = options(&args)?;
    let outputs = args
        .output
        .iter()
        .map(|o| parse_output(o))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let store = Store::open(root)
        .with_context(|| format!("cannot open the store at {}", root.display()))?;
    let mode = if args.quiet {
        ProgressMode::Quiet
    } else {
        args.progress
    };
    let reporter = StderrReporter::new(mode);
    if args.push && opts.tags.is_empty() {
        bail!("--push needs at least one -t NAME to push to");
    }
    let quiet = mode == ProgressMode::Quiet;
    let fetcher = crate::pull::RegistryFetcher::new(&args.registry_args, quiet);
    let outcome = hoist_build::build_with(&store, &opts, &reporter, Some(&fetcher))?;
    let id = outcome.config_digest.to_string();
    let mut digest = outcome.manifest.digest().to_string();
    if args.push {
        let pairs: Vec<_> = outcome
            .tags
            .iter()
            .map(|t| (t.clone(), t.clone()))
            .collect();
        let pushed = crate::push::push_many(&store, &pairs, &args.registry_args, quiet)?;
        if let Some(p) = pushed.first() {
            digest = p.digest.to_string();
        }
    }
    if let Some(f) = &args.iidfile {
        std::fs::write(f, &id).with_context(|| format!("cannot write {}", f.display()))?;
    }
    if let Some(f) = &args.digest_file {
        std::fs::write(f, &digest).with_context(|| format!("cannot write {}", f.display()))?;
    }
    let name = outcome.tags.first().cloned().unwrap_or_else(|| {
        Reference::parse("localhost/hoist-build:latest").expect("static reference")
    });
    for out in outputs {
        let images = [(name.clone(), outcome.manifest.clone())];
        match out {
            Output::Oci(dir) => hoist_store::archive::export_oci_dir(&store, &images, &dir)?,
            Output::OciArchive(f) => hoist_store::archive::export_oci_archive(&store, &images, &f)?,
            Output::DockerArchive(f) => {
                hoist_store::archive::export_docker_archive(&store, &images, &f)?
            }
        }
    }
    for t in &outcome.tags {
        if mode != ProgressMode::Quiet {
            eprintln!("naming to {}", t.familiar());
        }
    }
    println!("{id}");
    Ok(())
}

fn options(args: &BuildArgs) -> anyhow::Result<BuildOptions> {
    let dockerfile = match &args.file {
        Some(p) if p.as_os_str() == "-" => {
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .context("cannot read the Dockerfile from stdin")?;
            DockerfileSource::Text {
                name: "-".into(),
                text,
            }
        }
        other => DockerfileSource::Path(other.clone()),
    };
    let mut build_args = BTreeMap::new();
    for a in &args.build_arg {
        match a.split_once('=') {
            Some((k, v)) => build_args.insert(k.to_string(), v.to_string()),
            None => match std::env::var(a) {
                Ok(v) => build_args.insert(a.clone(), v),
                // Docker skips a bare KEY that is not in the environment.
                Err(_) => None,
            },
        };
    }
    let mut labels = BTreeMap::new();
    for l in &args.label {
        let (k, v) = l.split_once('=').unwrap_or((l.as_str(), ""));
        labels.insert(k.to_string(), v.to_string());
    }
    let timestamp = match args.timestamp {
        Some(t) => Some(t),
        None => match std::env::var("SOURCE_DATE_EPOCH") {
            Ok(v) if !v.is_empty() => Some(
                v.parse()
                    .with_context(|| format!("SOURCE_DATE_EPOCH={v:?} is not a Unix time"))?,
            ),
            _ => None,
        },
    };
    let platform = match &args.platform {
        Some(p) => Some(p.parse::<Platform>()?),
        None => None,
    };
    let tags = args
        .tag
        .iter()
        .map(|t| Reference::parse(t))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(BuildOptions {
        context: args.context.clone(),
        dockerfile,
        tags,
        build_args,
        target: args.target.clone(),
        labels,
        platform,
        timestamp,
        compression: match args.compression {
            CompressionArg::Gzip => Compression::Gzip,
            CompressionArg::Zstd => Compression::Zstd,
            CompressionArg::None => Compression::None,
        },
        compression_level: args.compression_level,
        pull: match args.pull {
            PullArg::Always => hoist_build::PullPolicy::Always,
            PullArg::Missing => hoist_build::PullPolicy::Missing,
            PullArg::Never => hoist_build::PullPolicy::Never,
        },
        isolation: args.isolation.map(Into::into),
        network: match args.network {
            NetworkArg::Default | NetworkArg::Host => hoist_sandbox::Network::Host,
            NetworkArg::None => hoist_sandbox::Network::None,
        },
        secrets: args
            .secret
            .iter()
            .map(|s| parse_secret(s))
            .collect::<anyhow::Result<_>>()?,
    })
}

enum Output {
    Oci(PathBuf),
    OciArchive(PathBuf),
    DockerArchive(PathBuf),
}

fn parse_output(spec: &str) -> anyhow::Result<Output> {
    let mut kind = None;
    let mut dest = None;
    for part in spec.split(',') {
        match part.split_once('=') {
            Some(("type", v)) => kind = Some(v.to_string()),
            Some(("dest", v)) => dest = Some(PathBuf::from(v)),
            _ => bail!("invalid --output {spec:?}: expected type=KIND,dest=PATH"),
        }
    }
    let dest = dest.with_context(|| format!("--output {spec:?} needs dest=PATH"))?;
    Ok(match kind.as_deref() {
        Some("oci") => Output::Oci(dest),
        Some("oci-archive") => Output::OciArchive(dest),
        Some("docker-archive") | Some("docker") => Output::DockerArchive(dest),
        other => bail!("unknown --output type {other:?}: use oci, oci-archive or docker-archive"),
    })
}
