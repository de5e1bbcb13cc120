//! `hoist registry rm REF... [--all-tags] [--yes]`: delete manifests from a registry.

use std::collections::BTreeMap;
use std::io::{BufRead, IsTerminal, Write};

use anyhow::Context as _;
use hoist_oci::{Digest, Reference};
use hoist_registry::{ApiErrorEntry, Client, ErrorCode, Operation, RegistryError};

use crate::client::{RegistryArgs, runtime};

/// Arguments of `hoist registry rm`.
#[derive(clap::Args)]
pub struct RmArgs {
    /// Images to delete: REGISTRY/REPO[:TAG|@DIGEST] (default tag `latest`); with
    /// `--all-tags`, repositories REGISTRY/REPO.
    #[arg(required = true)]
    references: Vec<String>,
    /// Delete every tag of each repository given.
    #[arg(long)]
    all_tags: bool,
    /// Do not ask for confirmation (required when stdin is not a terminal).
    #[arg(short = 'y', long)]
    yes: bool,
    #[command(flatten)]
    registry_args: RegistryArgs,
}

/// One manifest to delete, and the names that point at it.
struct Doomed {
    target: Reference,
    /// Tags given on the command line (or all of them, with `--all-tags`).
    named: Vec<String>,
    /// Other tags of the repository that point at the same manifest and go too.
    also: Vec<String>,
}

/// Runs `hoist registry rm`: prints each deleted `REPO@DIGEST` on stdout.
pub fn run(args: RmArgs) -> anyhow::Result<()> {
    let client = super::quiet_client(&args.registry_args)?;
    let rt = runtime()?;
    let doomed = rt.block_on(plan(&client, &args))?;
    for d in &doomed {
        if !d.also.is_empty() {
            eprintln!(
                "warning: deleting {} also removes tags {} (they point at the same manifest)",
                d.target,
                d.also.join(", ")
            );
        }
    }
    if !args.yes {
        anyhow::ensure!(
            std::io::stdin().is_terminal(),
            "refusing to delete without confirmation: stdin is not a terminal; pass --yes"
        );
        eprint!("Delete {} manifest(s)? [y/N] ", doomed.len());
        std::io::stderr()
            .flush()
            .context("cannot write the prompt")?;
        let mut answer = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut answer)
            .context("cannot read the answer")?;
        if !matches!(answer.trim(), "y" | "Y" | "yes") {
            anyhow::bail!("nothing deleted");
        }
    }
    for d in &doomed {
        rt.block_on(client.delete_manifest(&d.target))
            .with_context(|| format!("cannot delete {}", d.target))?;
        let tags = d.named.iter().chain(&d.also).cloned().collect::<Vec<_>>();
        eprintln!(
            "Deleted {}{}",
            d.target,
            if tags.is_empty() {
                String::new()
            } else {
                format!(" (tags: {})", tags.join(", "))
            }
        );
        println!("{}", d.target);
    }
    Ok(())
}

fn manifest_unknown(r: &Reference) -> RegistryError {
    RegistryError::Api {
        op: Operation::Delete,
        target: r.to_string(),
        registry: r.domain().to_string(),
        status: 404,
        errors: vec![ApiErrorEntry {
            code: ErrorCode::ManifestUnknown,
            message: "manifest unknown".into(),
            detail: None,
        }],
    }
}

/// Manifest digests with the tags pointing at each, in the order first seen.
type Tagged = Vec<(Digest, Vec<String>)>;

/// The tags recorded for `digest` (an empty list is added when there is none).
fn slot(list: &mut Tagged, digest: Digest) -> &mut Vec<String> {
    let i = match list.iter().position(|(d, _)| *d == digest) {
        Some(i) => i,
        None => {
            list.push((digest, Vec::new()));
            list.len() - 1
        }
    };
    &mut list[i].1
}

/// Resolves every reference to a digest and finds the other tags that go with it.
async fn plan(client: &Client, args: &RmArgs) -> anyhow::Result<Vec<Doomed>> {
    // repo name -> (repo, digest -> tags named for deletion; digests named directly).
    let mut by_repo: BTreeMap<String, (Reference, Tagged)> = BTreeMap::new();
    for input in &args.references {
        let r = if args.all_tags {
            let r = Reference::parse_name_only(input)?;
            anyhow::ensure!(
                r.tag().is_none() && r.digest().is_none(),
                "--all-tags takes repositories (REGISTRY/REPO), not {input}"
            );
            r
        } else {
            Reference::parse(input)?
        };
        let repo = Reference::parse_name_only(&r.name())?;
        let entry = by_repo
            .entry(r.name())
            .or_insert_with(|| (repo, Vec::new()));
        if args.all_tags {
            let tags = client
                .list_tags(&r, None)
                .await
                .with_context(|| format!("cannot list the tags of {}", r.name()))?;
            anyhow::ensure!(!tags.is_empty(), "{} has no tags", r.name());
            for t in tags {
                let tr = r.with_tag(&t)?;
                let head = client
                    .head_manifest(&tr)
                    .await?
                    .ok_or_else(|| manifest_unknown(&tr))?;
                slot(&mut entry.1, head.digest).push(t);
            }
        } else if let Some(d) = r.digest() {
            slot(&mut entry.1, d.clone());
        } else {
            let head = client
                .head_manifest(&r)
                .await
                .with_context(|| format!("cannot resolve {r}"))?
                .ok_or_else(|| manifest_unknown(&r))
                .with_context(|| format!("cannot delete {r}"))?;
            let tag = r.tag().unwrap_or(hoist_oci::DEFAULT_TAG).to_string();
            slot(&mut entry.1, head.digest).push(tag);
        }
    }
    let mut out = Vec::new();
    for (_, (repo, digests)) in by_repo {
        // Which other tags share each digest: one HEAD per tag of the repository.
        let mut others: Tagged = Vec::new();
        if !args.all_tags {
            let tags = client.list_tags(&repo, None).await.unwrap_or_else(|e| {
                tracing::warn!(repo = %repo.name(), error = %e, "cannot list tags; other tags of the same manifest are not reported");
                Vec::new()
            });
            for t in tags {
                let tr = repo.with_tag(&t)?;
                if let Some(h) = client.head_manifest(&tr).await? {
                    slot(&mut others, h.digest).push(t);
                }
            }
        }
        for (digest, named) in digests {
            let also = slot(&mut others, digest.clone())
                .drain(..)
                .filter(|t| !named.contains(t))
                .collect();
            out.push(Doomed {
                target: repo.with_digest(digest),
                named,
                also,
            });
        }
    }
    Ok(out)
}
