//! An in-process token server for distribution's `auth: token`: ES256 JWTs with the
//! signing certificate in `x5c`, GET (Basic) and OAuth2 POST (password, refresh_token).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use hyper::body::Incoming;
use hyper::{Method, Request, Response};
use ring::rand::SystemRandom;
use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};
use serde_json::json;

use super::http::{Body, body_bytes, respond, serve};

pub const SERVICE: &str = "hoist-test-registry";
pub const ISSUER: &str = "hoist-test-issuer";

/// The running token server and what it saw.
pub struct TokenServer {
    pub addr: SocketAddr,
    /// PEM of the self-signed signing certificate (the registry's rootcertbundle).
    pub cert_pem: String,
    pub gets: Arc<AtomicUsize>,
    pub posts: Arc<AtomicUsize>,
    /// Every scope list requested, in order.
    pub scopes_seen: Arc<Mutex<Vec<Vec<String>>>>,
}

struct State {
    user: String,
    password: String,
    key: EcdsaKeyPair,
    cert_der_b64: String,
    refresh_tokens: Mutex<HashMap<String, String>>,
    gets: Arc<AtomicUsize>,
    posts: Arc<AtomicUsize>,
    scopes_seen: Arc<Mutex<Vec<Vec<String>>>>,
    counter: AtomicUsize,
}

impl TokenServer {
    pub async fn start(user: &str, password: &str) -> TokenServer {
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("keygen");
        let params =
            rcgen::CertificateParams::new(vec!["hoist-token-issuer".to_string()]).expect("params");
        let cert = params.self_signed(&key).expect("self-signed cert");
        let rng = SystemRandom::new();
        let signing =
            EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &key.serialize_der(), &rng)
                .expect("ring key from pkcs8");
        let gets = Arc::new(AtomicUsize::new(0));
        let posts = Arc::new(AtomicUsize::new(0));
        let scopes_seen = Arc::new(Mutex::new(Vec::new()));
        let state = Arc::new(State {
            user: user.to_string(),
            password: password.to_string(),
            key: signing,
            cert_der_b64: STANDARD.encode(cert.der()),
            refresh_tokens: Mutex::new(HashMap::new()),
            gets: gets.clone(),
            posts: posts.clone(),
            scopes_seen: scopes_seen.clone(),
            counter: AtomicUsize::new(0),
        });
        let addr = serve(Arc::new(move |req| {
            let st = state.clone();
            Box::pin(async move { handle(st, req).await })
        }))
        .await;
        TokenServer {
            addr,
            cert_pem: cert.pem(),
            gets,
            posts,
            scopes_seen,
        }
    }

    pub fn realm(&self) -> String {
        format!("http://{}/token", self.addr)
    }
}

fn parse_scope(s: &str) -> Option<serde_json::Value> {
    let (ty, rest) = s.split_once(':')?;
    let (name, actions) = rest.rsplit_once(':')?;
    let actions: Vec<&str> = actions.split(',').filter(|a| !a.is_empty()).collect();
    Some(json!({"type": ty, "name": name, "actions": actions}))
}

impl State {
    fn sign(&self, subject: &str, scopes: &[String]) -> String {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("clock")
            .as_secs();
        let access: Vec<serde_json::Value> = if subject.is_empty() {
            Vec::new() // anonymous users get no access at all
        } else {
            scopes.iter().filter_map(|s| parse_scope(s)).collect()
        };
        let header = json!({"typ": "JWT", "alg": "ES256", "x5c": [self.cert_der_b64]});
        let n = self.counter.fetch_add(1, Ordering::SeqCst);
        let claims = json!({
            "iss": ISSUER, "sub": subject, "aud": SERVICE,
            "exp": now + 300, "nbf": now - 10, "iat": now, "jti": format!("jti-{n}"),
            "access": access,
        });
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let sig = self
            .key
            .sign(&SystemRandom::new(), signing_input.as_bytes())
            .expect("sign");
        format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(sig.as_ref()))
    }

    fn new_refresh(&self, user: &str) -> String {
        let n = self.counter.fetch_add(1, Ordering::SeqCst);
        let rt = format!("refresh-{n}-{user}");
        self.refresh_tokens
            .lock()
            .expect("lock")
            .insert(rt.clone(), user.to_string());
        rt
    }

    fn check_basic(&self, header: Option<&str>) -> Result<Option<String>, ()> {
        let Some(h) = header else { return Ok(None) };
        let b64 = h.strip_prefix("Basic ").ok_or(())?;
        let raw = STANDARD.decode(b64).map_err(|_| ())?;
        let text = String::from_utf8(raw).map_err(|_| ())?;
        let (u, p) = text.split_once(':').ok_or(())?;
        if u == self.user && p == self.password {
            Ok(Some(u.to_string()))
        } else {
            Err(())
        }
    }
}

fn unauthorized() -> Response<Body> {
    respond(
        401,
        &[("content-type", "application/json")],
        r#"{"details":"incorrect username or password"}"#,
    )
}

async fn handle(st: Arc<State>, req: Request<Incoming>) -> Response<Body> {
    let method = req.method().clone();
    let auth = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let query = req.uri().query().unwrap_or("").to_string();
    let (_, body) = body_bytes(req).await;
    if method == Method::GET {
        st.gets.fetch_add(1, Ordering::SeqCst);
        let pairs: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
            .into_owned()
            .collect();
        let get = |k: &str| pairs.iter().find(|(a, _)| a == k).map(|(_, v)| v.clone());
        let scopes: Vec<String> = pairs
            .iter()
            .filter(|(k, _)| k == "scope")
            .map(|(_, v)| v.clone())
            .collect();
        st.scopes_seen.lock().expect("lock").push(scopes.clone());
        if get("service").as_deref() != Some(SERVICE) {
            return respond(400, &[], r#"{"details":"unknown service"}"#);
        }
        let Ok(user) = st.check_basic(auth.as_deref()) else {
            return unauthorized();
        };
        let user = user.unwrap_or_default();
        let token = st.sign(&user, &scopes);
        let mut resp = json!({"token": token, "expires_in": 300});
        if get("offline_token").as_deref() == Some("true") && !user.is_empty() {
            resp["refresh_token"] = json!(st.new_refresh(&user));
        }
        return respond(
            200,
            &[("content-type", "application/json")],
            resp.to_string(),
        );
    }
    if method == Method::POST {
        st.posts.fetch_add(1, Ordering::SeqCst);
        let pairs: Vec<(String, String)> = form_urlencoded::parse(&body).into_owned().collect();
        let get = |k: &str| pairs.iter().find(|(a, _)| a == k).map(|(_, v)| v.clone());
        let scopes: Vec<String> = get("scope")
            .map(|s| {
                s.split(' ')
                    .filter(|x| !x.is_empty())
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
        st.scopes_seen.lock().expect("lock").push(scopes.clone());
        if get("service").as_deref() != Some(SERVICE) || get("client_id").is_none() {
            return respond(400, &[], r#"{"error":"invalid_request"}"#);
        }
        let user = match get("grant_type").as_deref() {
            Some("password") => {
                if get("username").as_deref() == Some(&st.user)
                    && get("password").as_deref() == Some(&st.password)
                {
                    st.user.clone()
                } else {
                    return unauthorized();
                }
            }
            Some("refresh_token") => {
                let rt = get("refresh_token").unwrap_or_default();
                match st.refresh_tokens.lock().expect("lock").get(&rt) {
                    Some(u) => u.clone(),
                    None => return unauthorized(),
                }
            }
            _ => return respond(400, &[], r#"{"error":"unsupported_grant_type"}"#),
        };
        let token = st.sign(&user, &scopes);
        let resp = json!({"access_token": token, "expires_in": 300, "refresh_token": st.new_refresh(&user)});
        return respond(
            200,
            &[("content-type", "application/json")],
            resp.to_string(),
        );
    }
    respond(405, &[], "")
}
