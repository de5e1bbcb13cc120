//! hoist registry profile `ibm`: IBM Cloud Container Registry naming rules and limits.
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

struct Ibm;

fn is_ibm(domain: &str) -> bool {
    let one_label = |l: &str| !l.is_empty() && !l.contains('.');
    domain == "icr.io"
        || domain.strip_suffix(".icr.io").is_some_and(one_label)
        || domain
            .strip_prefix("registry.")
            .and_then(|d| d.strip_suffix(".bluemix.net"))
            .is_some_and(one_label)
}

/// Namespaces: 4 to 30 lowercase letters, digits, `-` or `_`, starting with a letter.
fn valid_namespace(ns: &str) -> bool {
    (4..=30).contains(&ns.len())
        && ns.starts_with(|c: char| c.is_ascii_lowercase())
        && ns
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

impl Guest for Ibm {
    fn matches(registry: String) -> bool {
        is_ibm(&registry.to_ascii_lowercase())
    }

    fn normalize(reference: String) -> Result<String, PluginError> {
        let mut p = parts(&reference)?;
        p.domain = p.domain.to_ascii_lowercase();
        if !is_ibm(&p.domain) {
            return Err(PluginError::Invalid(format!(
                "{} is not an IBM Cloud registry",
                p.domain
            )));
        }
        let comps = p.components();
        if comps.len() < 2 {
            return Err(PluginError::Invalid(format!(
                "IBM Cloud Container Registry images are {}/NAMESPACE/REPOSITORY; {:?} has no namespace",
                p.domain, p.repository
            )));
        }
        if !valid_namespace(comps[0]) {
            return Err(PluginError::Invalid(format!(
                "IBM namespace {:?} must be 4 to 30 lowercase letters, digits, '-' or '_', starting with a letter",
                comps[0]
            )));
        }
        Ok(p.join())
    }

    fn limits(_registry: String) -> TransferLimits {
        TransferLimits {
            max_concurrent_push: Some(4),
            max_concurrent_pull: Some(6),
            chunk_size: None,
        }
    }

    fn auth_hint(registry: String) -> Option<String> {
        Some(format!(
            "IBM Cloud: export IBMCLOUD_API_KEY for the ibm plugin, or `hoist login -u iamapikey {registry}` with an API key"
        ))
    }
}

export!(Ibm);
