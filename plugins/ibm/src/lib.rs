//! hoist auth plugin `ibm`: IBM Cloud Container Registry with the API key in the
//! secret `IBMCLOUD_API_KEY`. The key is exchanged at IAM
//! (`https://iam.cloud.ibm.com/identity/token`) for an access token, used as the
//! password of user `iambearer`; when the IAM origin is not granted the key itself is
//! used, as the password of user `iamapikey`. A loopback registry stands in for IAM.
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

const GRANT_TYPE: &str = "urn:ibm:params:oauth:grant-type:apikey";

struct Ibm;

impl Guest for Ibm {
    fn get_credential(
        registry: String,
        _repository: String,
        _actions: Vec<String>,
        _challenge: Option<String>,
    ) -> Result<Credential, PluginError> {
        let key = match host::get_secret("IBMCLOUD_API_KEY") {
            Ok(k) if !k.is_empty() => k,
            Ok(_) | Err(PluginError::NotFound(_)) => {
                return Err(PluginError::NotFound(
                    "IBMCLOUD_API_KEY is not set".to_string(),
                ));
            }
            Err(e) => return Err(e),
        };
        let url = if guest_rt::is_loopback(&registry) {
            format!("http://{registry}/identity/token")
        } else {
            "https://iam.cloud.ibm.com/identity/token".to_string()
        };
        let resp = match host::http_request(&Request {
            method: "POST".to_string(),
            url,
            headers: vec![
                (
                    "content-type".to_string(),
                    "application/x-www-form-urlencoded".to_string(),
                ),
                ("accept".to_string(), "application/json".to_string()),
            ],
            body: Some(
                format!(
                    "grant_type={}&apikey={}",
                    form_encode(GRANT_TYPE),
                    form_encode(&key)
                )
                .into_bytes(),
            ),
        }) {
            Ok(r) => r,
            Err(PluginError::Denied(why)) => {
                host::log(
                    LogLevel::Debug,
                    &format!("IAM not reachable ({why}); logging in with the API key"),
                );
                return Ok(Credential::Basic(("iamapikey".to_string(), key)));
            }
            Err(e) => return Err(e),
        };
        if resp.status != 200 {
            return Err(PluginError::Failed(format!(
                "IBM Cloud IAM answered HTTP {} to the API key exchange",
                resp.status
            )));
        }
        let doc: Value = serde_json::from_slice(&resp.body)
            .map_err(|e| PluginError::Failed(format!("IAM answer is not JSON: {e}")))?;
        let token = doc
            .get("access_token")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| PluginError::Failed("IAM answer has no access_token".to_string()))?;
        Ok(Credential::Basic((
            "iambearer".to_string(),
            token.to_string(),
        )))
    }
}

export!(Ibm);
