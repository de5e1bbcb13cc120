//! `hoist registry inspect REF [--raw] [--config] [--platform P]`.

use std::io::Write;

use anyhow::Context as _;
use hoist_oci::spec::{ImageConfiguration, ImageIndex, ImageManifest};
use hoist_oci::{Platform, Reference, media};
use hoist_registry::{Client, Manifest};
use serde_json::{Value, json};

use crate::client::{RegistryArgs, runtime};

/// Arguments of `hoist registry inspect`.
#[derive(clap::Args)]
pub struct InspectArgs {
    /// Image: REGISTRY/REPO[:TAG|@DIGEST].
    reference: String,
    /// Print the manifest (or index), or with `--config` the config, byte for byte.
    #[arg(long)]
    raw: bool,
    /// Show the image config (of `--platform`'s image for an index).
    #[arg(long)]
    config: bool,
    /// For an index: inspect this platform's image (os/arch[/variant]).
    #[arg(long, value_name = "PLATFORM")]
    platform: Option<String>,
    #[command(flatten)]
    registry_args: RegistryArgs,
}

/// Runs `hoist registry inspect`: JSON (or the raw bytes) on stdout.
pub fn run(args: InspectArgs) -> anyhow::Result<()> {
    let r = Reference::parse(&args.reference)?;
    let platform: Option<Platform> = match &args.platform {
        Some(p) => Some(
            p.parse()
                .with_context(|| format!("invalid --platform {p}"))?,
        ),
        None => None,
    };
    let client = super::quiet_client(&args.registry_args)?;
    let rt = runtime()?;
    let out = rt
        .block_on(inspect(&client, &r, platform.as_ref(), &args))
        .with_context(|| format!("cannot inspect {r}"))?;
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(&out).context("cannot write to stdout")?;
    Ok(())
}

fn platform_text(os: &str, arch: &str, variant: Option<&str>) -> String {
    match variant {
        Some(v) => format!("{os}/{arch}/{v}"),
        None => format!("{os}/{arch}"),
    }
}

async fn inspect(
    client: &Client,
    r: &Reference,
    platform: Option<&Platform>,
    args: &InspectArgs,
) -> anyhow::Result<Vec<u8>> {
    let top = client.get_manifest(r, &[]).await?;
    let mut index: Option<(Manifest, ImageIndex)> = None;
    let image = if media::is_index(&top.media_type) {
        let idx: ImageIndex = serde_json::from_slice(&top.bytes).context("invalid index")?;
        let wanted = match platform {
            Some(p) => Some(p.clone()),
            None if args.config => Some(Platform::host()),
            None => None,
        };
        let chosen = match &wanted {
            Some(p) => {
                let child = idx
                    .manifests()
                    .iter()
                    .find(|d| {
                        d.platform().as_ref().is_some_and(|dp| {
                            p.matches(
                                &dp.os().to_string(),
                                &dp.architecture().to_string(),
                                dp.variant().as_deref(),
                            )
                        })
                    })
                    .with_context(|| format!("{r} has no image for platform {p}"))?;
                Some(
                    client
                        .get_manifest(&r.with_digest(child.digest().clone()), &[])
                        .await?,
                )
            }
            None => None,
        };
        index = Some((top, idx));
        chosen
    } else {
        Some(top)
    };
    if args.raw && !args.config {
        // The exact bytes: the chosen platform's manifest, or the index itself.
        let chosen = if platform.is_none() {
            index.as_ref().map(|(m, _)| m)
        } else {
            None
        }
        .or(image.as_ref());
        return Ok(chosen.map(|m| m.bytes.to_vec()).unwrap_or_default());
    }
    let mut doc = json!({ "reference": r.to_string() });
    if let Some((m, idx)) = &index {
        let platforms: Vec<Value> = idx
            .manifests()
            .iter()
            .map(|d| {
                json!({
                    "platform": d.platform().as_ref().map(|p| platform_text(
                        &p.os().to_string(), &p.architecture().to_string(), p.variant().as_deref())),
                    "digest": d.digest().to_string(),
                    "mediaType": d.media_type().to_string(),
                    "size": d.size(),
                })
            })
            .collect();
        doc["index"] = json!({
            "digest": m.digest.to_string(),
            "mediaType": m.media_type.to_string(),
            "size": m.bytes.len(),
            "manifests": platforms,
        });
    }
    if let Some(m) = &image {
        let parsed: ImageManifest = serde_json::from_slice(&m.bytes).context("invalid manifest")?;
        let mut buf: Vec<u8> = Vec::new();
        client
            .get_blob(r, parsed.config().digest(), &mut buf)
            .await?;
        if args.config {
            if args.raw {
                return Ok(buf);
            }
            let v: Value = serde_json::from_slice(&buf).context("the config is not JSON")?;
            let mut out = serde_json::to_vec_pretty(&v)?;
            out.push(b'\n');
            return Ok(out);
        }
        let config: ImageConfiguration =
            serde_json::from_slice(&buf).context("the config is not valid JSON")?;
        let layers: Vec<Value> = parsed
            .layers()
            .iter()
            .map(|l| {
                json!({"digest": l.digest().to_string(), "mediaType": l.media_type().to_string(), "size": l.size()})
            })
            .collect();
        let total = parsed.config().size() + parsed.layers().iter().map(|l| l.size()).sum::<u64>();
        doc["manifest"] = json!({
            "digest": m.digest.to_string(),
            "mediaType": m.media_type.to_string(),
            "size": m.bytes.len(),
            "platform": platform_text(&config.os().to_string(), &config.architecture().to_string(), config.variant().as_deref()),
            "created": config.created(),
            "config": {"digest": parsed.config().digest().to_string(), "size": parsed.config().size()},
            "layers": layers,
            "totalSize": total,
        });
    }
    let mut out = serde_json::to_vec_pretty(&doc)?;
    out.push(b'\n');
    Ok(out)
}
