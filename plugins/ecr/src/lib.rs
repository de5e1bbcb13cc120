//! hoist auth plugin `ecr`: calls ECR's `GetAuthorizationToken`, signed with AWS
//! Signature Version 4 from the secrets `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`
//! and optional `AWS_SESSION_TOKEN`. The answer's token is base64 `AWS:password`.
//!
//! The region comes from the registry host (`ACCOUNT.dkr.ecr.REGION.amazonaws.com`),
//! else `AWS_REGION` / `AWS_DEFAULT_REGION`. A loopback registry is its own API
//! endpoint (plain HTTP), so the plugin can be run against a local stand-in.
#![no_std]

extern crate alloc;

mod sigv4;

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
use hoist::plugin::host::{self, LogLevel, Request};
use hoist::plugin::types::PluginError;

/// The JSON-RPC target of the call.
const TARGET: &str = "AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken";

fn optional_secret(name: &str) -> Result<Option<String>, PluginError> {
    match host::get_secret(name) {
        Ok(v) if !v.is_empty() => Ok(Some(v)),
        Ok(_) | Err(PluginError::NotFound(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

/// `(region, endpoint host)` for an ECR registry host.
fn region_of(registry: &str) -> Option<(String, String)> {
    let lower = registry.to_ascii_lowercase();
    let (rest, suffix) = match lower.strip_suffix(".amazonaws.com.cn") {
        Some(r) => (r, "amazonaws.com.cn"),
        None => (lower.strip_suffix(".amazonaws.com")?, "amazonaws.com"),
    };
    let (_, region) = rest.split_once(".dkr.ecr.")?;
    Some((region.to_string(), format!("api.ecr.{region}.{suffix}")))
}

struct Ecr;

impl Guest for Ecr {
    fn get_credential(
        registry: String,
        _repository: String,
        _actions: Vec<String>,
        _challenge: Option<String>,
    ) -> Result<Credential, PluginError> {
        let (Some(key_id), Some(secret)) = (
            optional_secret("AWS_ACCESS_KEY_ID")?,
            optional_secret("AWS_SECRET_ACCESS_KEY")?,
        ) else {
            return Err(PluginError::NotFound(
                "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set".to_string(),
            ));
        };
        let session = optional_secret("AWS_SESSION_TOKEN")?;
        let (scheme, region, endpoint) = if guest_rt::is_loopback(&registry) {
            let region = match optional_secret("AWS_REGION")? {
                Some(r) => r,
                None => optional_secret("AWS_DEFAULT_REGION")?
                    .ok_or_else(|| PluginError::Failed("AWS_REGION is not set".to_string()))?,
            };
            ("http", region, registry.to_ascii_lowercase())
        } else {
            let (region, endpoint) = region_of(&registry).ok_or_else(|| {
                PluginError::NotFound(format!("{registry} is not an ECR registry"))
            })?;
            ("https", region, endpoint)
        };
        let body = b"{}";
        let signed = sigv4::sign(&sigv4::Input {
            key_id: &key_id,
            secret: &secret,
            session_token: session.as_deref(),
            region: &region,
            service: "ecr",
            host: &endpoint,
            target: TARGET,
            content_type: "application/x-amz-json-1.1",
            body,
            now: host::now(),
        });
        let resp = host::http_request(&Request {
            method: "POST".to_string(),
            url: format!("{scheme}://{endpoint}/"),
            headers: signed,
            body: Some(body.to_vec()),
        })?;
        if resp.status != 200 {
            let detail = serde_json::from_slice::<Value>(&resp.body)
                .ok()
                .and_then(|v| v.get("__type").and_then(Value::as_str).map(String::from))
                .unwrap_or_default();
            return Err(PluginError::Failed(format!(
                "ECR GetAuthorizationToken in {region} answered HTTP {} {detail}",
                resp.status
            )));
        }
        let doc: Value = serde_json::from_slice(&resp.body)
            .map_err(|e| PluginError::Failed(format!("ECR answer is not JSON: {e}")))?;
        let token = doc
            .get("authorizationData")
            .and_then(|d| d.get(0))
            .and_then(|d| d.get("authorizationToken"))
            .and_then(Value::as_str)
            .ok_or_else(|| {
                PluginError::Failed("ECR answer has no authorizationToken".to_string())
            })?;
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(token)
            .map_err(|_| PluginError::Failed("ECR authorizationToken is not base64".to_string()))?;
        let text = String::from_utf8(decoded)
            .map_err(|_| PluginError::Failed("ECR authorizationToken is not UTF-8".to_string()))?;
        let (user, password) = text.split_once(':').ok_or_else(|| {
            PluginError::Failed("ECR authorizationToken is not USER:PASSWORD".to_string())
        })?;
        host::log(
            LogLevel::Debug,
            &format!("ECR authorization token obtained for {registry} ({region})"),
        );
        Ok(Credential::Basic((user.to_string(), password.to_string())))
    }
}

export!(Ecr);
