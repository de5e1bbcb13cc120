//! A fault-injecting HTTP proxy placed in front of the real registry. It forwards every
//! request (keeping the `Host` header so the registry's `Location`s point back at the
//! proxy), records what it saw, and applies one-shot faults.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use hyper::body::Incoming;
use hyper::{Request, Response};

use super::http::{Body, body_bytes, broken, full, respond, serve};

/// What to do to a matching request.
#[derive(Clone, Debug)]
pub enum FaultKind {
    /// Answer with this status and a distribution-style body.
    Status(u16),
    /// 429 with `Retry-After: <secs>`.
    TooMany(u64),
    /// Forward, then send half the body and reset the connection.
    ResetMidBody,
}

/// A one-shot (or `times`-shot) fault for requests matching method and path substring.
#[derive(Clone, Debug)]
pub struct Fault {
    pub method: &'static str,
    pub path_contains: String,
    pub kind: FaultKind,
    pub times: usize,
}

/// One request the proxy saw.
#[derive(Clone, Debug)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub status: u16,
    pub range: Option<String>,
}

pub struct Proxy {
    pub addr: SocketAddr,
    pub seen: Arc<Mutex<Vec<Seen>>>,
    faults: Arc<Mutex<Vec<Fault>>>,
}

impl Proxy {
    pub async fn start(upstream: &str) -> Proxy {
        super::ensure_crypto();
        let upstream = upstream.to_string();
        let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
        let faults: Arc<Mutex<Vec<Fault>>> = Arc::default();
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("proxy client");
        let (s2, f2) = (seen.clone(), faults.clone());
        let addr = serve(Arc::new(move |req| {
            let (up, seen, faults, http) = (upstream.clone(), s2.clone(), f2.clone(), http.clone());
            Box::pin(async move { forward(up, seen, faults, http, req).await })
        }))
        .await;
        Proxy { addr, seen, faults }
    }

    pub fn host(&self) -> String {
        self.addr.to_string()
    }

    pub fn add_fault(&self, f: Fault) {
        self.faults.lock().expect("lock").push(f);
    }

    pub fn count(&self, method: &str, path_contains: &str) -> usize {
        self.seen
            .lock()
            .expect("lock")
            .iter()
            .filter(|s| s.method == method && s.path.contains(path_contains))
            .count()
    }

    pub fn faults_left(&self) -> usize {
        self.faults
            .lock()
            .expect("lock")
            .iter()
            .map(|f| f.times)
            .sum()
    }
}

fn take_fault(faults: &Mutex<Vec<Fault>>, method: &str, path: &str) -> Option<FaultKind> {
    let mut fs = faults.lock().expect("lock");
    let f = fs
        .iter_mut()
        .find(|f| f.times > 0 && f.method == method && path.contains(&f.path_contains))?;
    f.times -= 1;
    Some(f.kind.clone())
}

async fn forward(
    upstream: String,
    seen: Arc<Mutex<Vec<Seen>>>,
    faults: Arc<Mutex<Vec<Fault>>>,
    http: reqwest::Client,
    req: Request<Incoming>,
) -> Response<Body> {
    let method = req.method().to_string();
    let path = req
        .uri()
        .path_and_query()
        .map(|p| p.to_string())
        .unwrap_or_else(|| "/".into());
    let range = req
        .headers()
        .get("range")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let fault = take_fault(&faults, &method, &path);
    let record = |status: u16| {
        seen.lock().expect("lock").push(Seen {
            method: method.clone(),
            path: path.clone(),
            status,
            range: range.clone(),
        });
    };
    match fault {
        Some(FaultKind::Status(s)) => {
            let (_, _) = body_bytes(req).await;
            record(s);
            return respond(
                s,
                &[("content-type", "application/json")],
                r#"{"errors":[{"code":"UNKNOWN","message":"injected"}]}"#,
            );
        }
        Some(FaultKind::TooMany(secs)) => {
            let (_, _) = body_bytes(req).await;
            record(429);
            let ra = secs.to_string();
            return respond(
                429,
                &[("retry-after", &ra), ("content-type", "application/json")],
                r#"{"errors":[{"code":"TOOMANYREQUESTS","message":"slow down"}]}"#,
            );
        }
        _ => {}
    }
    let (parts, body) = body_bytes(req).await;
    let mut rb = http.request(
        reqwest::Method::from_bytes(parts.method.as_str().as_bytes()).expect("method"),
        format!("http://{upstream}{path}"),
    );
    for (k, v) in parts.headers.iter() {
        if k.as_str() == "content-length"
            || k.as_str() == "transfer-encoding"
            || k.as_str() == "connection"
        {
            continue;
        }
        rb = rb.header(k.as_str(), v.as_bytes());
    }
    let resp = match rb.body(body).send().await {
        Ok(r) => r,
        Err(e) => {
            record(502);
            return respond(502, &[], format!("proxy: {e}"));
        }
    };
    let status = resp.status().as_u16();
    record(status);
    let mut b = Response::builder().status(status);
    for (k, v) in resp.headers().iter() {
        if k.as_str() == "transfer-encoding" || k.as_str() == "connection" {
            continue;
        }
        b = b.header(k.as_str(), v.as_bytes());
    }
    let bytes: Bytes = resp.bytes().await.unwrap_or_default();
    let body = match fault {
        Some(FaultKind::ResetMidBody) => broken(bytes.slice(..bytes.len() / 2)),
        _ => full(bytes),
    };
    b.body(body).expect("response")
}
