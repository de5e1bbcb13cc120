//! hoist auth plugin `env`: credentials from the secrets `HOIST_AUTH_<HOST>_USER` and
//! `HOIST_AUTH_<HOST>_PASS` (Basic), or `HOIST_AUTH_<HOST>_TOKEN` (a registry bearer
//! token). `<HOST>` is the registry upper-cased with every other character as `_`:
//! `ghcr.io` → `GHCR_IO`, `127.0.0.1:5000` → `127_0_0_1_5000`.
#![no_std]

extern crate alloc;

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

wit_bindgen::generate!({ world: "auth", path: "../wit" });
guest_rt::runtime!();

#[used]
#[unsafe(link_section = "hoist-plugin-manifest")]
static MANIFEST: [u8; include_bytes!("../manifest.json").len()] =
    *include_bytes!("../manifest.json");

use exports::hoist::plugin::credentials::{Credential, Guest};
use hoist::plugin::host::{self, LogLevel};
use hoist::plugin::types::PluginError;

struct Env;

fn host_key(registry: &str) -> String {
    registry
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect()
}

/// A secret's value; `None` when it is unset or not granted (both mean "not here").
fn secret(name: &str) -> Result<Option<String>, PluginError> {
    match host::get_secret(name) {
        Ok(v) if !v.is_empty() => Ok(Some(v)),
        Ok(_) => Ok(None),
        Err(PluginError::NotFound(_)) => Ok(None),
        Err(PluginError::Denied(why)) => {
            host::log(LogLevel::Debug, &why);
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

impl Guest for Env {
    fn get_credential(
        registry: String,
        _repository: String,
        _actions: Vec<String>,
        _challenge: Option<String>,
    ) -> Result<Credential, PluginError> {
        let key = host_key(&registry);
        if let Some(token) = secret(&format!("HOIST_AUTH_{key}_TOKEN"))? {
            return Ok(Credential::Bearer((token, None)));
        }
        let user = secret(&format!("HOIST_AUTH_{key}_USER"))?;
        let pass = secret(&format!("HOIST_AUTH_{key}_PASS"))?;
        match (user, pass) {
            (Some(u), Some(p)) => Ok(Credential::Basic((u, p))),
            (Some(_), None) => Err(PluginError::Failed(format!(
                "HOIST_AUTH_{key}_USER is set but HOIST_AUTH_{key}_PASS is not"
            ))),
            _ => Err(PluginError::NotFound(format!(
                "no HOIST_AUTH_{key}_* variables"
            ))),
        }
    }
}

export!(Env);
