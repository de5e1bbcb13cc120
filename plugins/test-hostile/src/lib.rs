//! A hostile test guest for hoist-plugin's sandbox tests. `get-credential`'s
//! `repository` argument picks the behaviour:
//! `ok`, `loop`, `oom`, `panic`, `http-undeclared`, `http-declared`, `http-registry`,
//! `http-flood`, `secret`, `secret-undeclared`, `file`, `file-undeclared`.
#![no_std]

extern crate alloc;

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec;
use alloc::vec::Vec;

wit_bindgen::generate!({ world: "auth", path: "../wit" });
guest_rt::runtime!();

#[used]
#[unsafe(link_section = "hoist-plugin-manifest")]
static MANIFEST: [u8; include_bytes!("../manifest.json").len()] =
    *include_bytes!("../manifest.json");

use exports::hoist::plugin::credentials::{Credential, Guest};
use hoist::plugin::host::{self, Request, Response};
use hoist::plugin::types::PluginError;

struct Hostile;

fn get(url: &str) -> Result<Response, PluginError> {
    host::http_request(&Request {
        method: "GET".to_string(),
        url: url.to_string(),
        headers: vec![],
        body: None,
    })
}

fn body_text(r: &Response) -> String {
    String::from_utf8_lossy(&r.body).into_owned()
}

impl Guest for Hostile {
    fn get_credential(
        registry: String,
        repository: String,
        _actions: Vec<String>,
        _challenge: Option<String>,
    ) -> Result<Credential, PluginError> {
        match repository.as_str() {
            "ok" => Ok(Credential::Basic((
                "user".to_string(),
                format!("pass-for-{registry}"),
            ))),
            "loop" => {
                let mut n: u64 = 0;
                loop {
                    // Volatile so the loop is not optimised into something else.
                    n = unsafe { core::ptr::read_volatile(&n) }.wrapping_add(1);
                }
            }
            "oom" => {
                let mut hoard: Vec<Vec<u8>> = Vec::new();
                loop {
                    hoard.push(vec![0xAB; 256 * 1024]);
                }
            }
            "panic" => panic!("hostile guest panics on purpose"),
            "http-undeclared" => {
                get("https://undeclared.example/").map(|r| Credential::IdentityToken(body_text(&r)))
            }
            "http-declared" => {
                get("https://declared.example/").map(|r| Credential::IdentityToken(body_text(&r)))
            }
            "http-registry" => {
                let r = get(&format!("http://{registry}/token"))?;
                Ok(Credential::Bearer((body_text(&r), Some(60))))
            }
            "http-flood" => {
                for _ in 0..10 {
                    get(&format!("http://{registry}/token"))?;
                }
                Ok(Credential::Anonymous)
            }
            "secret" => host::get_secret("HOSTILE_SECRET").map(Credential::IdentityToken),
            "secret-undeclared" => host::get_secret("HOME").map(Credential::IdentityToken),
            "file" => host::read_file("hostile-file")
                .map(|b| Credential::IdentityToken(String::from_utf8_lossy(&b).into_owned())),
            "file-undeclared" => host::read_file("docker-config")
                .map(|b| Credential::IdentityToken(String::from_utf8_lossy(&b).into_owned())),
            other => Err(PluginError::Invalid(format!("unknown behaviour {other:?}"))),
        }
    }
}

export!(Hostile);
