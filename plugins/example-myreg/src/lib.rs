//! Auth plugin for a registry that trades an API key for a token.
#![no_std]
extern crate alloc;
use alloc::{format, string::String, string::ToString, vec, vec::Vec};

wit_bindgen::generate!({ world: "auth", path: "../wit" });
guest_rt::runtime!(); // allocator, panic handler, cabi_realloc

#[used]
#[unsafe(link_section = "hoist-plugin-manifest")]
static MANIFEST: [u8; include_bytes!("../manifest.json").len()] =
    *include_bytes!("../manifest.json");

use exports::hoist::plugin::credentials::{Credential, Guest};
use hoist::plugin::host::{self, Request};
use hoist::plugin::types::PluginError;

struct MyReg;

impl Guest for MyReg {
    fn get_credential(
        registry: String,
        _repository: String,
        _actions: Vec<String>,
        _challenge: Option<String>,
    ) -> Result<Credential, PluginError> {
        // Not set: "not found", so hoist asks the next plugin.
        let key = host::get_secret("MYREG_API_KEY")?;
        let scheme = ["https", "http"][guest_rt::is_loopback(&registry) as usize];
        let resp = host::http_request(&Request {
            method: "POST".to_string(),
            url: format!("{scheme}://{registry}/api/token"),
            headers: vec![("x-api-key".to_string(), key)],
            body: None,
        })?;
        if resp.status != 200 {
            let why = format!("token endpoint answered HTTP {}", resp.status);
            return Err(PluginError::Failed(why));
        }
        let token = String::from_utf8(resp.body)
            .map_err(|_| PluginError::Failed("token is not UTF-8".to_string()))?;
        Ok(Credential::Bearer((token.trim().to_string(), None)))
    }
}

export!(MyReg);
