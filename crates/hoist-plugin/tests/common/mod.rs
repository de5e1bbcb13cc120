//! Shared test helpers: a plugin host in a scratch directory and a tiny loopback
//! HTTP server that answers from a closure and records requests.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hoist_plugin::{
    GuestErrorKind, HostOptions, Plugin, PluginCredential, PluginError, PluginHost, PluginOrigin,
    PluginSettings, builtin,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// A host with its cache in `dir`, the given secrets and logical files, and short
/// deadlines so hostile tests finish quickly.
pub fn host_in(dir: &Path, secrets: &[(&str, &str)], files: &[(&str, PathBuf)]) -> PluginHost {
    let secrets: BTreeMap<String, String> = secrets
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    PluginHost::new(HostOptions {
        cache_dir: Some(dir.join("cache")),
        max_call_time: Duration::from_millis(1500),
        secrets: Arc::new(secrets),
        files: files
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect(),
        ..HostOptions::default()
    })
    .expect("plugin host")
}

/// One request the fake server saw.
#[derive(Debug, Clone)]
pub struct Seen {
    /// `POST /oauth2/exchange`
    pub line: String,
    /// Lower-cased header lines.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

/// A loopback HTTP/1.1 server; `respond(request) -> (status, body)`.
pub struct FakeServer {
    /// `127.0.0.1:PORT`
    pub addr: String,
    /// Requests in arrival order.
    pub seen: Arc<Mutex<Vec<Seen>>>,
}

impl FakeServer {
    pub async fn start(respond: impl Fn(&Seen) -> (u16, Vec<u8>) + Send + Sync + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        let respond = Arc::new(respond);
        tokio::spawn(async move {
            loop {
                let Ok((mut sock, _)) = listener.accept().await else {
                    return;
                };
                let log = log.clone();
                let respond = respond.clone();
                tokio::spawn(async move {
                    loop {
                        let Some(req) = read_request(&mut sock).await else {
                            return;
                        };
                        let (status, body) = respond(&req);
                        log.lock().unwrap().push(req);
                        let head = format!(
                            "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
                            body.len()
                        );
                        if sock.write_all(head.as_bytes()).await.is_err()
                            || sock.write_all(&body).await.is_err()
                        {
                            return;
                        }
                    }
                });
            }
        });
        Self { addr, seen }
    }

    pub fn requests(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

async fn read_request(sock: &mut tokio::net::TcpStream) -> Option<Seen> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        let n = sock.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let line = lines.next()?.to_string();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let len: usize = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = buf[head_end + 4..].to_vec();
    while body.len() < len {
        let n = sock.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    Some(Seen {
        line,
        headers,
        body,
    })
}

/// Loads the built-in plugin `name`, with `grants` replacing its default grants when given.
pub fn load(host: &PluginHost, name: &str, grants: Option<&[&str]>) -> Plugin {
    let settings = grants.map(|g| PluginSettings {
        grant: Some(g.iter().map(|s| s.to_string()).collect()),
        ..PluginSettings::default()
    });
    host.load(
        builtin(name).unwrap().wasm,
        PluginOrigin::Builtin,
        settings.as_ref(),
    )
    .unwrap()
}

/// The kind of the guest error `r` must be.
pub fn kind(r: Result<PluginCredential, PluginError>) -> GuestErrorKind {
    match r {
        Err(PluginError::Guest { kind, .. }) => kind,
        other => panic!("expected a plugin error, got {other:?}"),
    }
}

/// A basic credential.
pub fn basic(u: &str, p: &str) -> PluginCredential {
    PluginCredential::Basic {
        username: u.into(),
        password: p.into(),
    }
}
