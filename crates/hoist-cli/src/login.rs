//! `hoist login` and `hoist logout`.

use std::io::{IsTerminal, Read, Write};

use anyhow::{Context as _, bail};
use hoist_registry::{Credential, normalize_registry_key};

use crate::client::{RegistryArgs, registry_client, runtime};

/// Arguments of `hoist login`.
#[derive(clap::Args)]
pub struct LoginArgs {
    /// Registry host, e.g. `ghcr.io` or `127.0.0.1:5000`.
    registry: String,
    /// User name (prompted for when missing and stdin is a terminal).
    #[arg(short, long)]
    username: Option<String>,
    /// Password or token (insecure: visible to other users; prefer --password-stdin).
    #[arg(short, long, conflicts_with = "password_stdin")]
    password: Option<String>,
    /// Read the password or token from stdin.
    #[arg(long)]
    password_stdin: bool,
    #[command(flatten)]
    registry_args: RegistryArgs,
}

/// Arguments of `hoist logout`.
#[derive(clap::Args)]
pub struct LogoutArgs {
    /// Registry host.
    registry: String,
    #[command(flatten)]
    registry_args: RegistryArgs,
}

/// Runs `hoist login`: verifies the credentials against the registry, then stores them.
pub fn login(args: LoginArgs) -> anyhow::Result<()> {
    let registry = normalize_registry_key(&args.registry);
    let file = args.registry_args.login_file()?;
    if args.password.is_some() {
        eprintln!(
            "warning: --password on the command line is visible to other users; use --password-stdin"
        );
    }
    let stdin_tty = std::io::stdin().is_terminal();
    let username = match args.username {
        Some(u) => u,
        None if stdin_tty && !args.password_stdin => prompt(&format!("Username for {registry}: "))?,
        None => bail!("--username is required when stdin is not a terminal"),
    };
    let password = if args.password_stdin {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .context("cannot read the password from stdin")?;
        s.trim_end_matches(['\n', '\r']).to_string()
    } else if let Some(p) = args.password {
        p
    } else if stdin_tty {
        rpassword::prompt_password(format!("Password for {username}@{registry}: "))
            .context("cannot read the password")?
    } else {
        bail!("no password: use --password-stdin (or run in a terminal to be prompted)");
    };
    if username.is_empty() || password.is_empty() {
        bail!("user name and password must not be empty");
    }
    let credential = Credential::Basic {
        username: username.clone(),
        password: password.clone(),
    };
    let client = registry_client(
        &args.registry_args,
        std::sync::Arc::new(hoist_registry::NoProgress),
    )?;
    runtime()?
        .block_on(client.check_login(&registry, &credential))
        .with_context(|| format!("login to {registry} failed"))?;
    hoist_registry::save_login(&file, &registry, &username, &password)
        .with_context(|| format!("cannot save the login in {}", file.display()))?;
    eprintln!("Login Succeeded (saved in {})", file.display());
    Ok(())
}

/// Runs `hoist logout`: removes the registry's entry from the auth file.
pub fn logout(args: LogoutArgs) -> anyhow::Result<()> {
    let registry = normalize_registry_key(&args.registry);
    let file = args.registry_args.login_file()?;
    let removed = hoist_registry::remove_login(&file, &registry)
        .with_context(|| format!("cannot update {}", file.display()))?;
    if !removed {
        bail!(
            "not logged in to {registry} (no entry in {})",
            file.display()
        );
    }
    eprintln!("Removed login credentials for {registry}");
    Ok(())
}

fn prompt(text: &str) -> anyhow::Result<String> {
    let mut err = std::io::stderr().lock();
    write!(err, "{text}")?;
    err.flush()?;
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .context("cannot read from stdin")?;
    Ok(line.trim().to_string())
}
