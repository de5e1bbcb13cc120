//! `hoist registry ls REGISTRY` (repositories) and `hoist registry ls REGISTRY/REPO`
//! (tags, optionally with what each points at).

use std::io::IsTerminal;
use std::sync::Arc;

use anyhow::Context as _;
use hoist_oci::spec::{ImageConfiguration, ImageIndex, ImageManifest};
use hoist_oci::{Reference, media};
use hoist_registry::{Client, ErrorCode, RegistryError};
use serde::Serialize;
use tokio::task::JoinSet;

use crate::client::{RegistryArgs, runtime};
use crate::progress::{human_size, short};

/// Output format of `hoist registry ls`.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Aligned columns with a header.
    Table,
    /// One name per line (tab-separated fields with `--digests`).
    Plain,
    /// A JSON array.
    Json,
}

/// Arguments of `hoist registry ls`.
#[derive(clap::Args)]
pub struct LsArgs {
    /// REGISTRY for its repositories, REGISTRY/REPO for the repository's tags.
    target: String,
    /// With tags: each tag's digest, media type, platforms, size and creation time.
    #[arg(long)]
    digests: bool,
    /// Output format [default: table on a terminal, plain otherwise].
    #[arg(long, value_enum)]
    format: Option<Format>,
    /// Entries per page asked of the registry (`?n=`); pages are followed to the end.
    #[arg(long, value_name = "N")]
    page_size: Option<u32>,
    #[command(flatten)]
    registry_args: RegistryArgs,
}

/// What a tag points at.
#[derive(Serialize, Debug)]
struct TagInfo {
    tag: String,
    digest: String,
    #[serde(rename = "mediaType")]
    media_type: String,
    platforms: Vec<String>,
    /// Config plus layers, summed over platforms for an index.
    size: u64,
    created: Option<String>,
}

/// Runs `hoist registry ls`.
pub fn run(args: LsArgs) -> anyhow::Result<()> {
    let format = args.format.unwrap_or(if std::io::stdout().is_terminal() {
        Format::Table
    } else {
        Format::Plain
    });
    let client = super::quiet_client(&args.registry_args)?;
    let rt = runtime()?;
    let target = args.target.trim_end_matches('/');
    if !target.contains('/') {
        let repos = rt
            .block_on(client.catalog(target, args.page_size))
            .map_err(|e| catalog_error(target, e))?;
        return print_names("REPOSITORY", &repos, format);
    }
    let repo = Reference::parse_name_only(target)?;
    anyhow::ensure!(
        repo.tag().is_none() && repo.digest().is_none(),
        "hoist registry ls takes REGISTRY or REGISTRY/REPO, not a tag or digest ({target})"
    );
    let tags = rt
        .block_on(client.list_tags(&repo, args.page_size))
        .with_context(|| format!("cannot list the tags of {target}"))?;
    if !args.digests {
        return print_names("TAG", &tags, format);
    }
    let infos = rt.block_on(describe_tags(&client, &repo, tags))?;
    print_infos(&infos, format)
}

/// A catalog error, with what to do when the registry does not offer one.
fn catalog_error(registry: &str, e: RegistryError) -> anyhow::Error {
    let disabled = matches!(e.code(), Some(ErrorCode::Unsupported | ErrorCode::Denied))
        || matches!(e.status(), Some(404 | 405));
    if disabled {
        anyhow::anyhow!(
            "registry {registry} does not list its repositories (its /v2/_catalog is disabled or restricted)\nhint: list one repository's tags instead: hoist registry ls {registry}/REPO"
        )
    } else {
        anyhow::Error::new(e).context(format!("cannot list the repositories of {registry}"))
    }
}

fn print_names(header: &str, names: &[String], format: Format) -> anyhow::Result<()> {
    match format {
        Format::Json => println!("{}", serde_json::to_string_pretty(names)?),
        Format::Plain => names.iter().for_each(|n| println!("{n}")),
        Format::Table => {
            println!("{header}");
            names.iter().for_each(|n| println!("{n}"));
        }
    }
    Ok(())
}

fn print_infos(infos: &[TagInfo], format: Format) -> anyhow::Result<()> {
    match format {
        Format::Json => println!("{}", serde_json::to_string_pretty(infos)?),
        Format::Plain => {
            for i in infos {
                println!(
                    "{}\t{}\t{}\t{}\t{}\t{}",
                    i.tag,
                    i.digest,
                    i.media_type,
                    i.platforms.join(","),
                    i.size,
                    i.created.as_deref().unwrap_or("-")
                );
            }
        }
        Format::Table => {
            let rows: Vec<[String; 5]> = infos
                .iter()
                .map(|i| {
                    [
                        i.tag.clone(),
                        i.digest
                            .parse()
                            .map_or_else(|_| i.digest.clone(), |d| short(&d)),
                        i.platforms.join(","),
                        human_size(i.size),
                        i.created.clone().unwrap_or_else(|| "-".into()),
                    ]
                })
                .collect();
            let header = ["TAG", "DIGEST", "PLATFORMS", "SIZE", "CREATED"];
            let mut width = header.map(str::len);
            for r in &rows {
                for (w, c) in width.iter_mut().zip(r) {
                    *w = (*w).max(c.len());
                }
            }
            let line = |cells: [&str; 5]| {
                let parts: Vec<String> = cells
                    .iter()
                    .zip(width)
                    .map(|(c, w)| format!("{c:<w$}"))
                    .collect();
                println!("{}", parts.join("  ").trim_end());
            };
            line(header);
            for r in &rows {
                line([&r[0], &r[1], &r[2], &r[3], &r[4]]);
            }
        }
    }
    Ok(())
}

/// Describes every tag, a few at a time.
async fn describe_tags(
    client: &Client,
    repo: &Reference,
    tags: Vec<String>,
) -> anyhow::Result<Vec<TagInfo>> {
    let limit = Arc::new(tokio::sync::Semaphore::new(8));
    let mut tasks = JoinSet::new();
    for (i, tag) in tags.into_iter().enumerate() {
        let (client, repo, limit) = (client.clone(), repo.clone(), limit.clone());
        tasks.spawn(async move {
            let _permit = limit.acquire_owned().await?;
            let r = repo.with_tag(&tag)?;
            let info = describe(&client, &r, tag)
                .await
                .with_context(|| format!("cannot inspect {r}"))?;
            Ok::<_, anyhow::Error>((i, info))
        });
    }
    let mut out = Vec::new();
    while let Some(res) = tasks.join_next().await {
        out.push(res??);
    }
    out.sort_by_key(|(i, _)| *i);
    Ok(out.into_iter().map(|(_, info)| info).collect())
}

/// One manifest's platform, size and creation time.
async fn image_facts(
    client: &Client,
    r: &Reference,
    m: &ImageManifest,
) -> anyhow::Result<(String, u64, Option<String>)> {
    let size = m.config().size() + m.layers().iter().map(|l| l.size()).sum::<u64>();
    let mut buf: Vec<u8> = Vec::new();
    client.get_blob(r, m.config().digest(), &mut buf).await?;
    let config: ImageConfiguration =
        serde_json::from_slice(&buf).context("the image config is not valid JSON")?;
    let platform = match config.variant() {
        Some(v) => format!("{}/{}/{v}", config.os(), config.architecture()),
        None => format!("{}/{}", config.os(), config.architecture()),
    };
    Ok((platform, size, config.created().clone()))
}

async fn describe(client: &Client, r: &Reference, tag: String) -> anyhow::Result<TagInfo> {
    let top = client.get_manifest(r, &[]).await?;
    let mut info = TagInfo {
        tag,
        digest: top.digest.to_string(),
        media_type: top.media_type.to_string(),
        platforms: Vec::new(),
        size: 0,
        created: None,
    };
    if media::is_index(&top.media_type) {
        let idx: ImageIndex = serde_json::from_slice(&top.bytes).context("invalid index")?;
        for child in idx.manifests() {
            if !media::is_manifest(child.media_type()) {
                continue;
            }
            let m = client
                .get_manifest(&r.with_digest(child.digest().clone()), &[])
                .await?;
            let parsed: ImageManifest =
                serde_json::from_slice(&m.bytes).context("invalid manifest")?;
            let (platform, size, created) = image_facts(client, r, &parsed).await?;
            info.platforms.push(platform);
            info.size += size;
            info.created = info.created.max(created);
        }
    } else if media::is_manifest(&top.media_type) {
        let parsed: ImageManifest =
            serde_json::from_slice(&top.bytes).context("invalid manifest")?;
        let (platform, size, created) = image_facts(client, r, &parsed).await?;
        info.platforms.push(platform);
        info.size = size;
        info.created = created;
    }
    Ok(info)
}
