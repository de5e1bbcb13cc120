//! The one place the CLI builds its [`hoist_registry::Client`]: flags shared by every
//! registry command, TLS and retry settings, credentials and progress.
//!
//! Credential plugins hook in here: [`credentials`] decides which
//! [`CredentialProvider`] a command uses.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context as _;
use hoist_oci::Reference;
use hoist_registry::{
    Client, ClientOptions, CredentialProvider, DockerConfigCredentials, Progress,
};

/// Flags shared by the commands that talk to registries (`login`, `pull`, `push`,
/// `build` when it pulls or pushes).
#[derive(clap::Args, Debug, Clone, Default)]
pub struct RegistryArgs {
    /// Verify registries' TLS certificates (`--tls-verify=false` to skip; loopback and
    /// `--insecure-registry` hosts are never verified).
    #[arg(
        long,
        default_value_t = true,
        action = clap::ArgAction::Set,
        value_name = "BOOL",
        num_args = 0..=1,
        default_missing_value = "true",
        require_equals = true
    )]
    pub tls_verify: bool,
    /// Registry (`host[:port]`) reachable over plain HTTP or with an unverified
    /// certificate (repeatable).
    #[arg(long = "insecure-registry", value_name = "HOST")]
    pub insecure_registry: Vec<String>,
    /// Retries of a failed request (408, 429, 5xx, connection errors) [default: 5].
    #[arg(long, value_name = "N")]
    pub retry: Option<u32>,
    /// Extra PEM CA bundle to trust for registries (default: $SSL_CERT_FILE when set).
    #[arg(long = "tls-ca", value_name = "FILE")]
    pub tls_ca: Option<PathBuf>,
    /// Auth file to read credentials from (and that `login`/`logout` write) instead of
    /// the docker/podman search path [env: REGISTRY_AUTH_FILE].
    #[arg(long, value_name = "FILE")]
    pub authfile: Option<PathBuf>,
    /// Run docker credential helpers (`credHelpers`/`credsStore` executables). Off by
    /// default: a helper runs with your full rights; prefer hoist's wasm auth plugins.
    #[arg(long)]
    pub allow_credential_helpers: bool,
}

impl RegistryArgs {
    /// The client options these flags ask for.
    pub fn client_options(&self) -> ClientOptions {
        let mut opts = ClientOptions {
            insecure_registries: self.insecure_registry.clone(),
            tls_verify: self.tls_verify,
            ca_file: self.tls_ca.clone(),
            ..ClientOptions::default()
        };
        if let Some(n) = self.retry {
            opts.retries = n;
        }
        opts
    }

    /// The auth file `login`/`logout` write: `--authfile`, else `$DOCKER_CONFIG/config.json`
    /// or `~/.docker/config.json`.
    pub fn login_file(&self) -> anyhow::Result<PathBuf> {
        match &self.authfile {
            Some(p) => Ok(p.clone()),
            None => hoist_registry::default_config_path()
                .context("cannot find the docker config: set HOME, DOCKER_CONFIG or --authfile"),
        }
    }
}

/// Where credentials come from for this invocation: the `--authfile` alone when given,
/// else the docker/podman search path ([`DockerConfigCredentials::from_env`]).
///
/// Auth plugins ([`crate::plugin::credential_chain`]) are consulted first, the auth
/// files last.
pub fn credentials(args: &RegistryArgs) -> Arc<dyn CredentialProvider> {
    let files = match &args.authfile {
        Some(p) => DockerConfigCredentials::with_paths(vec![p.clone()]),
        None => DockerConfigCredentials::from_env(),
    };
    let files: Arc<dyn CredentialProvider> =
        Arc::new(files.allow_credential_helpers(args.allow_credential_helpers));
    // Auth plugins (hoist-plugin) are asked in order first, the auth files last.
    crate::plugin::credential_chain(args.authfile.as_deref(), files)
}

/// Builds the registry client for a command: options from `args`, credentials from
/// [`credentials`], blob events to `progress`.
pub fn registry_client(args: &RegistryArgs, progress: Arc<dyn Progress>) -> anyhow::Result<Client> {
    let mut client = Client::new(args.client_options())?
        .with_credentials(credentials(args))
        .with_progress(progress);
    // Registry profiles (hoist-plugin) set per-registry concurrency and chunk size.
    if let Some(profiles) = crate::plugin::profiles(args.authfile.as_deref()) {
        client = client.with_limits(Arc::new(profiles));
    }
    Ok(client)
}

/// Applies the naming rules of `r`'s registry profile (e.g. Docker Hub's `library/`,
/// ACR's lowercase registry names); a broken rule is an error naming it. Without a
/// plugin host, `r` is returned as is.
pub fn normalize(args: &RegistryArgs, r: Reference) -> anyhow::Result<Reference> {
    let Some(profiles) = crate::plugin::profiles(args.authfile.as_deref()) else {
        return Ok(r);
    };
    let out = profiles
        .normalize(&r)
        .with_context(|| format!("{} breaks its registry's naming rules", r.familiar()))?;
    tracing::debug!(reference = %r, normalized = %out, "registry profile applied");
    Ok(out)
}

/// A multi-threaded tokio runtime for one command's registry work.
pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}
