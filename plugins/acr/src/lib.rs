//! hoist auth plugin `acr`: exchanges an Azure AD access token (secret
//! `AZURE_ACCESS_TOKEN`, optional `AZURE_TENANT_ID`) at `https://{registry}/oauth2/exchange`
//! for an ACR refresh token, used as the password of the fixed user
//! `00000000-0000-0000-0000-000000000000`.
#![no_std]

extern crate alloc;

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec;
use alloc::vec::Vec;

use guest_rt::form_encode;
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

/// The user name ACR expects with a refresh token.
const ACR_USER: &str = "00000000-0000-0000-0000-000000000000";

struct Acr;

fn optional_secret(name: &str) -> Result<Option<String>, PluginError> {
    match host::get_secret(name) {
        Ok(v) if !v.is_empty() => Ok(Some(v)),
        Ok(_) | Err(PluginError::NotFound(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

impl Guest for Acr {
    fn get_credential(
        registry: String,
        _repository: String,
        _actions: Vec<String>,
        _challenge: Option<String>,
    ) -> Result<Credential, PluginError> {
        let Some(aad) = optional_secret("AZURE_ACCESS_TOKEN")? else {
            return Err(PluginError::NotFound(
                "AZURE_ACCESS_TOKEN is not set".to_string(),
            ));
        };
        let mut body = format!(
            "grant_type=access_token&service={}&access_token={}",
            form_encode(&registry),
            form_encode(&aad)
        );
        if let Some(tenant) = optional_secret("AZURE_TENANT_ID")? {
            body.push_str("&tenant=");
            body.push_str(&form_encode(&tenant));
        }
        let scheme = if guest_rt::is_loopback(&registry) {
            "http"
        } else {
            "https"
        };
        let resp = host::http_request(&Request {
            method: "POST".to_string(),
            url: format!("{scheme}://{registry}/oauth2/exchange"),
            headers: vec![(
                "content-type".to_string(),
                "application/x-www-form-urlencoded".to_string(),
            )],
            body: Some(body.into_bytes()),
        })?;
        if resp.status != 200 {
            return Err(PluginError::Failed(format!(
                "ACR token exchange at {registry} answered HTTP {}",
                resp.status
            )));
        }
        let doc: Value = serde_json::from_slice(&resp.body).map_err(|e| {
            PluginError::Failed(format!("ACR token exchange answer is not JSON: {e}"))
        })?;
        let refresh = doc
            .get("refresh_token")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                PluginError::Failed("ACR token exchange answer has no refresh_token".to_string())
            })?;
        host::log(
            LogLevel::Debug,
            &format!("ACR refresh token obtained for {registry}"),
        );
        Ok(Credential::Basic((
            ACR_USER.to_string(),
            refresh.to_string(),
        )))
    }
}

export!(Acr);
