//! hoist registry profile `generic`: any registry; the distribution grammar only.
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

struct Generic;

impl Guest for Generic {
    fn matches(_registry: String) -> bool {
        true
    }

    fn normalize(reference: String) -> Result<String, PluginError> {
        let mut p = parts(&reference)?;
        p.domain = p.domain.to_ascii_lowercase();
        Ok(p.join())
    }

    fn limits(_registry: String) -> TransferLimits {
        TransferLimits {
            max_concurrent_push: None,
            max_concurrent_pull: None,
            chunk_size: None,
        }
    }

    fn auth_hint(registry: String) -> Option<String> {
        Some(format!("run `hoist login {registry}`"))
    }
}

export!(Generic);
