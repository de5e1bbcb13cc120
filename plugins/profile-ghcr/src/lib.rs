//! hoist registry profile `ghcr`: GitHub Container Registry's naming rules and limits.
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

struct Ghcr;

impl Guest for Ghcr {
    fn matches(registry: String) -> bool {
        registry.eq_ignore_ascii_case("ghcr.io")
    }

    fn normalize(reference: String) -> Result<String, PluginError> {
        let mut p = parts(&reference)?;
        p.domain = p.domain.to_ascii_lowercase();
        let comps = p.components();
        if comps.len() < 2 {
            return Err(PluginError::Invalid(format!(
                "ghcr.io repositories are OWNER/NAME; {:?} has no owner",
                p.repository
            )));
        }
        let owner = comps[0];
        let valid_owner = (1..=39).contains(&owner.len())
            && owner
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !owner.starts_with('-')
            && !owner.ends_with('-')
            && !owner.contains("--");
        if !valid_owner {
            return Err(PluginError::Invalid(format!(
                "ghcr.io owner {owner:?} is not a GitHub user or organisation name (1 to 39 letters, digits or single inner hyphens)"
            )));
        }
        Ok(p.join())
    }

    fn limits(_registry: String) -> TransferLimits {
        TransferLimits {
            max_concurrent_push: Some(4),
            max_concurrent_pull: Some(8),
            chunk_size: None,
        }
    }

    fn auth_hint(_registry: String) -> Option<String> {
        Some(
            "ghcr.io: run `hoist login ghcr.io -u USER` with a GitHub token that has read:packages (and write:packages to push)"
                .to_string(),
        )
    }
}

export!(Ghcr);
