//! hoist registry profile `ecr`: Amazon Elastic Container Registry naming rules and limits.
#![no_std]

extern crate alloc;

use alloc::format;
use alloc::string::{String, ToString};

use guest_rt::RefParts;

wit_bindgen::generate!({ world: "registry-profile", path: "../wit" });
guest_rt::runtime!();

#[used]
#[unsafe(link_section = "hoist-plugin-manifest")]
static MANIFEST: [u8; include_bytes!("../manifest.json").len()] =
    *include_bytes!("../manifest.json");

use exports::hoist::plugin::profile::{Guest, TransferLimits};
use hoist::plugin::types::PluginError;

fn parts(reference: &str) -> Result<RefParts, PluginError> {
    RefParts::split(reference)
        .ok_or_else(|| PluginError::Invalid(format!("{reference:?} is not a normalised reference")))
}

struct Ecr;

/// Splits `ACCOUNT.dkr.ecr.REGION.amazonaws.com[.cn]` into account and region.
fn account_region(domain: &str) -> Option<(&str, &str)> {
    let rest = domain
        .strip_suffix(".amazonaws.com")
        .or_else(|| domain.strip_suffix(".amazonaws.com.cn"))?;
    let (account, rest) = rest.split_once(".dkr.ecr.")?;
    (!rest.is_empty() && !rest.contains('.')).then_some((account, rest))
}

/// ECR's repository grammar: `(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*`.
fn valid_repository(repo: &str) -> bool {
    repo.split('/').all(|c| {
        !c.is_empty()
            && c.split(['.', '_', '-']).all(|run| {
                !run.is_empty()
                    && run
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
            })
    })
}

impl Guest for Ecr {
    fn matches(registry: String) -> bool {
        account_region(&registry.to_ascii_lowercase()).is_some()
    }

    fn normalize(reference: String) -> Result<String, PluginError> {
        let mut p = parts(&reference)?;
        p.domain = p.domain.to_ascii_lowercase();
        let Some((account, _region)) = account_region(&p.domain) else {
            return Err(PluginError::Invalid(format!(
                "{} is not an ECR registry (ACCOUNT.dkr.ecr.REGION.amazonaws.com)",
                p.domain
            )));
        };
        if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
            return Err(PluginError::Invalid(format!(
                "ECR account id {account:?} must be 12 digits"
            )));
        }
        if !(2..=256).contains(&p.repository.len()) {
            return Err(PluginError::Invalid(format!(
                "ECR repository names are 2 to 256 characters; {:?} has {}",
                p.repository,
                p.repository.len()
            )));
        }
        if !valid_repository(&p.repository) {
            return Err(PluginError::Invalid(format!(
                "ECR repository {:?} must be lowercase letters and digits, separated by '.', '_', '-' or '/'",
                p.repository
            )));
        }
        if p.tag.as_ref().is_some_and(|t| t.len() > 300) {
            return Err(PluginError::Invalid(
                "ECR tags are at most 300 characters".to_string(),
            ));
        }
        Ok(p.join())
    }

    fn limits(_registry: String) -> TransferLimits {
        // ECR's layer-part upload needs parts of at least 5 MiB (except the last).
        TransferLimits {
            max_concurrent_push: Some(5),
            max_concurrent_pull: Some(8),
            chunk_size: Some(20 * 1024 * 1024),
        }
    }

    fn auth_hint(registry: String) -> Option<String> {
        let lower = registry.to_ascii_lowercase();
        let region = account_region(&lower).map_or("REGION", |(_, r)| r);
        Some(format!(
            "ECR: export AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN) and AWS_REGION={region} for the ecr plugin, or run `aws ecr get-login-password --region {region} | hoist login -u AWS --password-stdin {registry}`"
        ))
    }
}

export!(Ecr);
