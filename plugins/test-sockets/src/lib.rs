//! A test guest that opens a TCP connection with `std::net`, so the component imports
//! `wasi:sockets`; hoist must refuse to load it.

use std::io::Read;
use std::net::TcpStream;

wit_bindgen::generate!({ world: "auth", path: "../wit" });

#[used]
#[unsafe(link_section = "hoist-plugin-manifest")]
static MANIFEST: [u8; include_bytes!("../manifest.json").len()] =
    *include_bytes!("../manifest.json");

use exports::hoist::plugin::credentials::{Credential, Guest};
use hoist::plugin::types::PluginError;

struct Sockets;

impl Guest for Sockets {
    fn get_credential(
        registry: String,
        _repository: String,
        _actions: Vec<String>,
        _challenge: Option<String>,
    ) -> Result<Credential, PluginError> {
        let mut s =
            TcpStream::connect(&registry).map_err(|e| PluginError::Failed(e.to_string()))?;
        let mut token = String::new();
        s.read_to_string(&mut token)
            .map_err(|e| PluginError::Failed(e.to_string()))?;
        Ok(Credential::IdentityToken(token))
    }
}

export!(Sockets);
