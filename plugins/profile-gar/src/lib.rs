//! hoist registry profile `gar`: Google Artifact Registry and Container Registry naming rules.
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

struct Gar;

/// `LOCATION-docker.pkg.dev`: the location, e.g. `europe-west1`.
fn gar_location(domain: &str) -> Option<&str> {
    domain
        .strip_suffix("-docker.pkg.dev")
        .filter(|l| !l.is_empty() && !l.contains('.'))
}

fn is_gcr(domain: &str) -> bool {
    domain == "gcr.io"
        || domain
            .strip_suffix(".gcr.io")
            .is_some_and(|l| !l.is_empty() && !l.contains('.'))
}

/// Google Cloud project ids: 6-30 lowercase letters, digits or hyphens, starting with a
/// letter and not ending with a hyphen.
fn valid_project(p: &str) -> bool {
    (6..=30).contains(&p.len())
        && p.starts_with(|c: char| c.is_ascii_lowercase())
        && !p.ends_with('-')
        && p.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// Artifact Registry repository ids: up to 63 lowercase letters, digits or hyphens,
/// starting with a letter and ending with a letter or digit.
fn valid_repo_id(r: &str) -> bool {
    (1..=63).contains(&r.len())
        && r.starts_with(|c: char| c.is_ascii_lowercase())
        && !r.ends_with('-')
        && r.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

impl Guest for Gar {
    fn matches(registry: String) -> bool {
        let r = registry.to_ascii_lowercase();
        gar_location(&r).is_some() || is_gcr(&r)
    }

    fn normalize(reference: String) -> Result<String, PluginError> {
        let mut p = parts(&reference)?;
        p.domain = p.domain.to_ascii_lowercase();
        let comps = p.components();
        let project = comps[0];
        if gar_location(&p.domain).is_some() {
            if comps.len() < 3 {
                return Err(PluginError::Invalid(format!(
                    "Artifact Registry images are {}/PROJECT/REPOSITORY/IMAGE; {:?} has {} path component(s)",
                    p.domain,
                    p.repository,
                    comps.len()
                )));
            }
            if !valid_repo_id(comps[1]) {
                return Err(PluginError::Invalid(format!(
                    "Artifact Registry repository {:?} must be 1 to 63 lowercase letters, digits or hyphens, starting with a letter",
                    comps[1]
                )));
            }
        } else if is_gcr(&p.domain) {
            if comps.len() < 2 {
                return Err(PluginError::Invalid(format!(
                    "Container Registry images are {}/PROJECT/IMAGE; {:?} has no project",
                    p.domain, p.repository
                )));
            }
        } else {
            return Err(PluginError::Invalid(format!(
                "{} is not a Google registry",
                p.domain
            )));
        }
        if !valid_project(project) {
            return Err(PluginError::Invalid(format!(
                "Google Cloud project id {project:?} must be 6 to 30 lowercase letters, digits or hyphens, starting with a letter"
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

    fn auth_hint(registry: String) -> Option<String> {
        Some(format!(
            "Google: export GOOGLE_OAUTH_ACCESS_TOKEN=$(gcloud auth print-access-token) for the gar plugin (on GCE/GKE the metadata server is used), or `hoist login -u oauth2accesstoken {registry}` with that token"
        ))
    }
}

export!(Gar);
