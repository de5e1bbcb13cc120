//! hoist auth plugin `gar`: Google Artifact Registry and Container Registry. The user
//! is `oauth2accesstoken` and the password an OAuth2 access token: the secret
//! `GOOGLE_OAUTH_ACCESS_TOKEN` (or `CLOUDSDK_AUTH_ACCESS_TOKEN`), else the token of
//! the instance's service account from the GCE metadata server. A loopback registry
//! stands in for the metadata server (plain HTTP), so the plugin can be run locally.
#![no_std]

extern crate alloc;

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec;
use alloc::vec::Vec;

use serde_json::Value;

wit_bindgen::generate!({ world: "auth", path: "../wit" });
guest_rt::runtime!();

#[used]
#[unsafe(link_section = "hoist-plugin-manifest")]
static MANIFEST: [u8; include_bytes!("../manifest.json").len()] =
    *include_bytes!("../manifest.json");

use exports::hoist::plugin::credentials::{Credential, Guest};
use hoist::plugin::host::{self, LogLevel, Request};
use hoist::plugin::types::PluginError;

const USER: &str = "oauth2accesstoken";
const TOKEN_PATH: &str = "/computeMetadata/v1/instance/service-accounts/default/token";

fn optional_secret(name: &str) -> Result<Option<String>, PluginError> {
    match host::get_secret(name) {
        Ok(v) if !v.is_empty() => Ok(Some(v)),
        Ok(_) | Err(PluginError::NotFound(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

struct Gar;

impl Guest for Gar {
    fn get_credential(
        registry: String,
        _repository: String,
        _actions: Vec<String>,
        _challenge: Option<String>,
    ) -> Result<Credential, PluginError> {
        for name in ["GOOGLE_OAUTH_ACCESS_TOKEN", "CLOUDSDK_AUTH_ACCESS_TOKEN"] {
            if let Some(token) = optional_secret(name)? {
                return Ok(Credential::Basic((USER.to_string(), token)));
            }
        }
        let server = if guest_rt::is_loopback(&registry) {
            registry.clone()
        } else {
            "metadata.google.internal".to_string()
        };
        let resp = match host::http_request(&Request {
            method: "GET".to_string(),
            url: format!("http://{server}{TOKEN_PATH}"),
            headers: vec![("metadata-flavor".to_string(), "Google".to_string())],
            body: None,
        }) {
            Ok(r) => r,
            // Not on Google Cloud: nothing here, let the next source answer.
            Err(PluginError::Failed(why)) => {
                return Err(PluginError::NotFound(format!(
                    "no GOOGLE_OAUTH_ACCESS_TOKEN and no metadata server ({why})"
                )));
            }
            Err(e) => return Err(e),
        };
        if resp.status != 200 {
            return Err(PluginError::Failed(format!(
                "the metadata server answered HTTP {} for the service account token",
                resp.status
            )));
        }
        let doc: Value = serde_json::from_slice(&resp.body)
            .map_err(|e| PluginError::Failed(format!("metadata token answer is not JSON: {e}")))?;
        let token = doc
            .get("access_token")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                PluginError::Failed("metadata token answer has no access_token".to_string())
            })?;
        host::log(
            LogLevel::Debug,
            &format!("service account token from the metadata server for {registry}"),
        );
        Ok(Credential::Basic((USER.to_string(), token.to_string())))
    }
}

export!(Gar);
