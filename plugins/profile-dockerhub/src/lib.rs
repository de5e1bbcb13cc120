//! hoist registry profile `dockerhub`: Docker Hub's naming rules and limits.
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

struct DockerHub;

const ALIASES: [&str; 3] = ["docker.io", "index.docker.io", "registry-1.docker.io"];

impl Guest for DockerHub {
    fn matches(registry: String) -> bool {
        ALIASES.iter().any(|a| a.eq_ignore_ascii_case(&registry))
    }

    fn normalize(reference: String) -> Result<String, PluginError> {
        let mut p = parts(&reference)?;
        p.domain = "docker.io".to_string();
        let comps = p.components();
        let (namespace, repo) = match comps.as_slice() {
            [name] => ("library".to_string(), (*name).to_string()),
            [ns, name] => ((*ns).to_string(), (*name).to_string()),
            _ => {
                return Err(PluginError::Invalid(format!(
                    "Docker Hub repositories are NAMESPACE/NAME; {:?} has {} path components",
                    p.repository,
                    comps.len()
                )));
            }
        };
        if !(2..=30).contains(&namespace.len())
            || !namespace
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        {
            return Err(PluginError::Invalid(format!(
                "Docker Hub namespace {namespace:?} must be 2 to 30 lowercase letters or digits"
            )));
        }
        p.repository = format!("{namespace}/{repo}");
        Ok(p.join())
    }

    fn limits(_registry: String) -> TransferLimits {
        TransferLimits {
            max_concurrent_push: Some(3),
            max_concurrent_pull: Some(6),
            chunk_size: None,
        }
    }

    fn auth_hint(_registry: String) -> Option<String> {
        Some(
            "Docker Hub: run `hoist login docker.io -u USER` with a personal access token; anonymous pulls are rate-limited"
                .to_string(),
        )
    }
}

export!(DockerHub);
