//! hoist registry profile `acr`: Azure Container Registry's naming rules and limits.
#![no_std]

extern crate alloc;

use alloc::format;
use alloc::string::String;

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

struct Acr;

const SUFFIXES: [&str; 3] = [".azurecr.io", ".azurecr.cn", ".azurecr.us"];

fn registry_name(domain: &str) -> Option<&str> {
    let lower = domain.to_ascii_lowercase();
    SUFFIXES
        .iter()
        .find(|s| lower.ends_with(*s))
        .map(|s| &domain[..domain.len() - s.len()])
}

impl Guest for Acr {
    fn matches(registry: String) -> bool {
        registry_name(&registry).is_some_and(|n| !n.is_empty() && !n.contains('.'))
    }

    fn normalize(reference: String) -> Result<String, PluginError> {
        let mut p = parts(&reference)?;
        p.domain = p.domain.to_ascii_lowercase();
        let name = registry_name(&p.domain)
            .ok_or_else(|| PluginError::Invalid(format!("{} is not an ACR registry", p.domain)))?;
        if !(5..=50).contains(&name.len()) || !name.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(PluginError::Invalid(format!(
                "ACR registry name {name:?} must be 5 to 50 letters or digits"
            )));
        }
        Ok(p.join())
    }

    fn limits(_registry: String) -> TransferLimits {
        TransferLimits {
            max_concurrent_push: Some(6),
            max_concurrent_pull: Some(8),
            chunk_size: Some(16 * 1024 * 1024),
        }
    }

    fn auth_hint(registry: String) -> Option<String> {
        Some(format!(
            "ACR: export AZURE_ACCESS_TOKEN=$(az account get-access-token --query accessToken -o tsv) for the acr plugin, or run `az acr login -n {registry} --expose-token` and `hoist login {registry}`"
        ))
    }
}

export!(Acr);
