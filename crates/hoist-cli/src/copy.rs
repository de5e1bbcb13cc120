//! `hoist copy SRC DST`: images between registries, OCI layouts, archives and the store.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context as _;
use hoist_oci::Platform;
use hoist_registry::{Client, Credential, CredentialProvider, NoProgress, Progress};
use hoist_store::Store;
use hoist_transfer::{CopyContext, CopyOptions, Endpoint};

use crate::client::{RegistryArgs, credentials, runtime};
use crate::transfer_progress::BlobLines;

/// Arguments of `hoist copy`.
#[derive(clap::Args)]
pub struct CopyArgs {
    /// Source: REGISTRY/REPO[:TAG|@DIGEST], oci:DIR[:NAME], oci-archive:FILE,
    /// docker-archive:FILE or store:REF.
    source: String,
    /// Destination, same forms (a registry destination without tag takes the source's
    /// tag, or is written by digest).
    destination: String,
    /// Copy a multi-platform index whole: every platform, then the index (the default).
    #[arg(long, conflicts_with = "platform")]
    all: bool,
    /// Copy only this platform (os/arch[/variant]) of a multi-platform index; the copy's
    /// digest is then the platform manifest's, not the index's.
    #[arg(long, value_name = "PLATFORM")]
    platform: Option<String>,
    /// USER:PASSWORD for the source registry (default: saved credentials).
    #[arg(long, value_name = "USER:PASS")]
    src_creds: Option<String>,
    /// USER:PASSWORD for the destination registry (default: saved credentials).
    #[arg(long, value_name = "USER:PASS")]
    dest_creds: Option<String>,
    /// Verify the source registry's TLS certificate (`=false` to skip).
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, value_name = "BOOL",
        num_args = 0..=1, default_missing_value = "true", require_equals = true)]
    src_tls_verify: bool,
    /// Verify the destination registry's TLS certificate (`=false` to skip).
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, value_name = "BOOL",
        num_args = 0..=1, default_missing_value = "true", require_equals = true)]
    dest_tls_verify: bool,
    /// Fail rather than change a digest. hoist copies manifests byte for byte and never
    /// converts them, so digests are always preserved; accepted for skopeo
    /// compatibility.
    #[arg(long)]
    preserve_digests: bool,
    /// Most blobs downloaded from the source registry at once [default: 4].
    #[arg(long, value_name = "N")]
    src_jobs: Option<usize>,
    /// Most blobs uploaded to the destination registry at once [default: 4].
    #[arg(long, value_name = "N")]
    dest_jobs: Option<usize>,
    /// No progress lines.
    #[arg(short, long)]
    quiet: bool,
    #[command(flatten)]
    registry_args: RegistryArgs,
}

/// `USER:PASS` as a credential.
fn parse_creds(flag: &str, s: &str) -> anyhow::Result<Credential> {
    let (u, p) = s
        .split_once(':')
        .with_context(|| format!("{flag} takes USER:PASSWORD"))?;
    anyhow::ensure!(!u.is_empty(), "{flag} takes USER:PASSWORD (user is empty)");
    Ok(Credential::Basic {
        username: u.to_string(),
        password: p.to_string(),
    })
}

/// One side's client: its TLS setting, job limit, credentials and progress.
fn side_client(
    args: &RegistryArgs,
    tls_verify: bool,
    jobs: Option<usize>,
    creds: Option<Credential>,
    progress: Arc<dyn Progress>,
) -> anyhow::Result<Client> {
    let mut opts = args.client_options();
    opts.tls_verify = opts.tls_verify && tls_verify;
    if let Some(n) = jobs {
        opts.max_concurrent_downloads = n.max(1);
        opts.max_concurrent_uploads = n.max(1);
    }
    // The source is streamed, so an upload cannot seek back: one streamed PUT per blob
    // instead of buffered chunks.
    opts.chunk_size = u64::MAX;
    // Each side's client talks to that side's registry only, so given credentials are
    // used for it alone.
    let provider: Arc<dyn CredentialProvider> = match creds {
        Some(c) => Arc::new(c),
        None => credentials(args),
    };
    Ok(Client::new(opts)?
        .with_credentials(provider)
        .with_progress(progress))
}

/// A registry endpoint through its registry profile's naming rules (e.g. Docker Hub's
/// `library/`, ACR's lowercase names); other endpoints as they are.
fn profile_rules(args: &RegistryArgs, e: Endpoint) -> anyhow::Result<Endpoint> {
    Ok(match e {
        Endpoint::Registry(r) => Endpoint::Registry(crate::client::normalize(args, r)?),
        other => other,
    })
}

/// Runs `hoist copy`: prints the digest written at the destination on stdout.
pub fn run(root: &Path, args: CopyArgs) -> anyhow::Result<()> {
    let src = profile_rules(&args.registry_args, Endpoint::parse(&args.source)?)?;
    let dest = profile_rules(&args.registry_args, Endpoint::parse(&args.destination)?)?;
    let platform: Option<Platform> = match &args.platform {
        Some(p) => Some(
            p.parse()
                .with_context(|| format!("invalid --platform {p}"))?,
        ),
        None => None,
    };
    let src_creds = match &args.src_creds {
        Some(s) => Some(parse_creds("--src-creds", s)?),
        None => None,
    };
    let dest_creds = match &args.dest_creds {
        Some(s) => Some(parse_creds("--dest-creds", s)?),
        None => None,
    };
    let lines: Arc<dyn Progress> = Arc::new(BlobLines::new(args.quiet));
    // Downloads into a local destination report on the source client; a registry
    // destination reports uploads, mounts and skips on its own client (reporting the
    // streamed download too would count each blob twice).
    let src_progress: Arc<dyn Progress> = match dest {
        Endpoint::Registry(_) => Arc::new(NoProgress),
        _ => lines.clone(),
    };
    let same_side = match (&src, &dest) {
        (Endpoint::Registry(a), Endpoint::Registry(b)) => {
            a.domain() == b.domain()
                && src_creds == dest_creds
                && args.src_tls_verify == args.dest_tls_verify
                && args.src_jobs == args.dest_jobs
        }
        _ => false,
    };
    let dest_client = side_client(
        &args.registry_args,
        args.dest_tls_verify,
        args.dest_jobs,
        dest_creds,
        lines,
    )?;
    // One registry with the same settings on both sides: the source shares the
    // destination's ping, tokens and limits (clones share them), with its own progress.
    let src_client = if same_side {
        dest_client.clone().with_progress(src_progress)
    } else {
        side_client(
            &args.registry_args,
            args.src_tls_verify,
            args.src_jobs,
            src_creds,
            src_progress,
        )?
    };
    let ctx = CopyContext {
        src_client,
        dest_client,
        store: Store::open(root)
            .with_context(|| format!("cannot open the store at {}", root.display()))?,
    };
    let opts = CopyOptions { platform };
    let copied = runtime()?
        .block_on(hoist_transfer::copy(&src, &dest, &ctx, &opts))
        .with_context(|| format!("cannot copy {src} to {dest}"))?;
    if !args.quiet {
        if copied.descriptor.digest() != copied.source.digest() {
            eprintln!(
                "note: copied one platform: its digest {} differs from the index's {}",
                copied.descriptor.digest(),
                copied.source.digest()
            );
        }
        eprintln!(
            "Copied {src} to {dest}: {} manifests, {} blobs copied, {} mounted, {} already present",
            copied.manifests, copied.copied, copied.mounted, copied.existed
        );
    }
    println!("{}", copied.descriptor.digest());
    Ok(())
}
