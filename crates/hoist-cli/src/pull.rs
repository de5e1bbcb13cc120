//! `hoist pull`.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context as _;
use hoist_oci::{Platform, Reference};
use hoist_store::Store;
use hoist_transfer::PullOptions;

use crate::client::{RegistryArgs, registry_client, runtime};
use crate::transfer_progress::BlobLines;

/// Arguments of `hoist pull`.
#[derive(clap::Args)]
pub struct PullArgs {
    /// Image to pull, e.g. `alpine:3` or `127.0.0.1:5000/samples/demo@sha256:…`.
    image: String,
    /// Platform to pull from a multi-platform image, os/arch[/variant] (default: the host's).
    #[arg(long)]
    platform: Option<String>,
    /// Pull every platform of a multi-platform image.
    #[arg(long)]
    all_platforms: bool,
    /// No progress lines.
    #[arg(short, long)]
    quiet: bool,
    #[command(flatten)]
    registry_args: RegistryArgs,
}

/// Runs `hoist pull`: prints the digest of what the name now points at.
pub fn run(root: &Path, args: PullArgs) -> anyhow::Result<()> {
    let r = crate::client::normalize(&args.registry_args, Reference::parse(&args.image)?)?;
    let platform = match &args.platform {
        Some(p) => p.parse::<Platform>()?,
        None => Platform::host(),
    };
    let store = Store::open(root)
        .with_context(|| format!("cannot open the store at {}", root.display()))?;
    let progress = Arc::new(BlobLines::new(args.quiet));
    let client = registry_client(&args.registry_args, progress.clone())?;
    let opts = PullOptions {
        all_platforms: args.all_platforms,
        ..PullOptions::default()
    };
    let pulled = runtime()?
        .block_on(hoist_transfer::pull(
            &client,
            &store,
            &r,
            &platform,
            &opts,
            progress.as_ref(),
        ))
        .with_context(|| format!("cannot pull {}", r.familiar()))?;
    if !args.quiet {
        eprintln!(
            "Pulled {}: {} blobs downloaded ({}), {} already present",
            r.familiar(),
            pulled.blobs_downloaded,
            crate::progress::human_size(pulled.bytes_downloaded),
            pulled.blobs_present
        );
    }
    println!("{}", pulled.descriptor.digest());
    Ok(())
}

/// The runtime, client and progress renderer of a [`RegistryFetcher`], made on first use.
type FetchState = (
    tokio::runtime::Runtime,
    hoist_registry::Client,
    Arc<BlobLines>,
);

/// Fetches missing base images for `hoist build` with the registry client; the client
/// and its runtime are created on the first fetch, so builds from local bases never pay
/// for them.
pub struct RegistryFetcher {
    args: RegistryArgs,
    quiet: bool,
    state: std::sync::Mutex<Option<FetchState>>,
}

impl RegistryFetcher {
    /// A fetcher using `args`' registry settings; `quiet` silences progress lines.
    pub fn new(args: &RegistryArgs, quiet: bool) -> Self {
        RegistryFetcher {
            args: args.clone(),
            quiet,
            state: std::sync::Mutex::new(None),
        }
    }
}

impl hoist_build::ImageFetcher for RegistryFetcher {
    fn fetch(
        &self,
        store: &Store,
        r: &Reference,
        platform: &Platform,
    ) -> Result<(), hoist_build::FetchError> {
        let mut state = self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if state.is_none() {
            let progress = Arc::new(BlobLines::new(self.quiet));
            let client = registry_client(&self.args, progress.clone())?;
            *state = Some((runtime()?, client, progress));
        }
        let Some((rt, client, progress)) = state.as_ref() else {
            return Err("internal: registry client missing".into());
        };
        if !self.quiet {
            eprintln!("Pulling {} ({platform})", r.familiar());
        }
        let pulled = rt.block_on(hoist_transfer::pull(
            client,
            store,
            r,
            platform,
            &PullOptions::default(),
            progress.as_ref(),
        ))?;
        tracing::debug!(reference = %r, digest = %pulled.descriptor.digest(), "base image pulled");
        Ok(())
    }
}
