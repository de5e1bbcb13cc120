//! hoist auth plugin `docker-config`: reads the granted docker `config.json` (logical
//! file `docker-config`) and answers from its `auths` entries. Credential helpers are
//! never run; a registry kept by one gives `not-found` naming the helper.
#![no_std]

extern crate alloc;

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use base64::Engine as _;
use serde_json::Value;

wit_bindgen::generate!({ world: "auth", path: "../wit" });
guest_rt::runtime!();

#[used]
#[unsafe(link_section = "hoist-plugin-manifest")]
static MANIFEST: [u8; include_bytes!("../manifest.json").len()] =
    *include_bytes!("../manifest.json");

use exports::hoist::plugin::credentials::{Credential, Guest};
use hoist::plugin::host::{self, LogLevel};
use hoist::plugin::types::PluginError;

struct DockerConfig;

/// `https://index.docker.io/v1/` → `docker.io`, `http://r.io:5000/path` → `r.io:5000`.
fn normalize_key(key: &str) -> String {
    let k = key
        .strip_prefix("https://")
        .or_else(|| key.strip_prefix("http://"))
        .unwrap_or(key);
    let host = k.split('/').next().unwrap_or(k).to_ascii_lowercase();
    match host.as_str() {
        "index.docker.io" | "registry-1.docker.io" => "docker.io".to_string(),
        _ => host,
    }
}

fn field<'a>(entry: &'a Value, name: &str) -> Option<&'a str> {
    entry
        .get(name)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

fn entry_credential(registry: &str, entry: &Value) -> Result<Option<Credential>, PluginError> {
    if let Some(token) = field(entry, "identitytoken") {
        return Ok(Some(Credential::IdentityToken(token.to_string())));
    }
    if let Some(token) = field(entry, "registrytoken") {
        return Ok(Some(Credential::Bearer((token.to_string(), None))));
    }
    if let (Some(u), Some(p)) = (field(entry, "username"), field(entry, "password")) {
        return Ok(Some(Credential::Basic((u.to_string(), p.to_string()))));
    }
    if let Some(auth) = field(entry, "auth") {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(auth.trim())
            .map_err(|_| {
                PluginError::Failed(format!("auths entry for {registry}: auth is not base64"))
            })?;
        let text = String::from_utf8(bytes).map_err(|_| {
            PluginError::Failed(format!("auths entry for {registry}: auth is not UTF-8"))
        })?;
        let (u, p) = text.split_once(':').ok_or_else(|| {
            PluginError::Failed(format!("auths entry for {registry}: auth has no ':'"))
        })?;
        return Ok(Some(Credential::Basic((u.to_string(), p.to_string()))));
    }
    Ok(None)
}

fn lookup(registry: &str, doc: &Value) -> Result<Credential, PluginError> {
    let want = normalize_key(registry);
    let find = |section: &str| {
        doc.get(section).and_then(Value::as_object).and_then(|m| {
            m.iter()
                .find(|(k, _)| normalize_key(k) == want)
                .map(|(_, v)| v)
        })
    };
    if let Some(helper) = find("credHelpers").and_then(Value::as_str) {
        return Err(PluginError::NotFound(format!(
            "credentials for {registry} are kept by credential helper docker-credential-{helper}, which plugins cannot run"
        )));
    }
    if let Some(entry) = find("auths")
        && let Some(c) = entry_credential(registry, entry)?
    {
        return Ok(c);
    }
    Err(PluginError::NotFound(format!(
        "no auths entry for {registry}"
    )))
}

impl Guest for DockerConfig {
    fn get_credential(
        registry: String,
        _repository: String,
        _actions: Vec<String>,
        _challenge: Option<String>,
    ) -> Result<Credential, PluginError> {
        let bytes = host::read_file("docker-config")?;
        let doc: Value = serde_json::from_slice(&bytes)
            .map_err(|e| PluginError::Failed(format!("docker config is not valid JSON: {e}")))?;
        let found = lookup(&registry, &doc);
        if found.is_ok() {
            host::log(
                LogLevel::Debug,
                &format!("credentials for {registry} from docker config"),
            );
        }
        found
    }
}

export!(DockerConfig);
