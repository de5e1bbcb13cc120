//! Test harness: runs the CNCF distribution registry (`/usr/bin/docker-registry`) on a
//! free loopback port with its own data directory, in three auth setups, plus in-process
//! fakes (token server, fault-injecting proxy, tiny HTTP servers).
#![allow(dead_code)]

pub mod http;
pub mod image;
pub mod proxy;
pub mod token;

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hoist_registry::{Client, ClientOptions, Credential};

pub use token::TokenServer;

pub const USER: &str = "hoister";
pub const PASSWORD: &str = "s3cret-Pa55word";

/// Which auth the registry runs with.
pub enum Auth {
    Anonymous,
    Htpasswd,
    Token,
}

/// A running registry; killed (and its data removed) on drop.
pub struct Registry {
    pub host: String,
    child: Child,
    dir: tempfile::TempDir,
    pub token: Option<TokenServer>,
}

/// reqwest is built without a default rustls provider; the client under test installs
/// ring, and test-side reqwest clients need the same.
pub fn ensure_crypto() {
    // Err only means a provider is already installed.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

fn htpasswd_line(user: &str, pass: &str) -> String {
    let out = Command::new("htpasswd")
        .args(["-Bbn", user, pass])
        .output()
        .expect("htpasswd (apache2-utils) runs");
    assert!(out.status.success(), "htpasswd failed");
    String::from_utf8(out.stdout)
        .expect("utf8")
        .trim()
        .to_string()
}

impl Registry {
    pub async fn start(auth: Auth) -> Registry {
        Self::start_with(auth, false, true).await
    }

    /// A registry with deletes disabled (its storage `delete.enabled: false`).
    pub async fn start_without_delete(auth: Auth) -> Registry {
        Self::start_with(auth, false, false).await
    }

    /// An anonymous registry serving HTTPS with a fresh self-signed certificate.
    pub async fn start_tls() -> Registry {
        Self::start_with(Auth::Anonymous, true, true).await
    }

    async fn start_with(auth: Auth, tls: bool, delete: bool) -> Registry {
        ensure_crypto();
        let dir = tempfile::tempdir().expect("tempdir");
        let port = free_port();
        let mut token = None;
        let auth_yaml = match auth {
            Auth::Anonymous => String::new(),
            Auth::Htpasswd => {
                let p = dir.path().join("htpasswd");
                std::fs::write(&p, htpasswd_line(USER, PASSWORD) + "\n").expect("write htpasswd");
                format!(
                    "auth:\n  htpasswd:\n    realm: hoist-test\n    path: {}\n",
                    p.display()
                )
            }
            Auth::Token => {
                let ts = TokenServer::start(USER, PASSWORD).await;
                let p = dir.path().join("root.pem");
                std::fs::write(&p, &ts.cert_pem).expect("write cert");
                let y = format!(
                    "auth:\n  token:\n    realm: {}\n    service: {}\n    issuer: {}\n    rootcertbundle: {}\n",
                    ts.realm(),
                    token::SERVICE,
                    token::ISSUER,
                    p.display()
                );
                token = Some(ts);
                y
            }
        };
        let tls_yaml = if tls {
            let key = rcgen::KeyPair::generate().expect("keygen");
            let params =
                rcgen::CertificateParams::new(vec!["127.0.0.1".into(), "localhost".into()])
                    .expect("params");
            let cert = params.self_signed(&key).expect("cert");
            let (c, k) = (dir.path().join("tls.crt"), dir.path().join("tls.key"));
            std::fs::write(&c, cert.pem()).expect("write cert");
            std::fs::write(&k, key.serialize_pem()).expect("write key");
            format!(
                "  tls:\n    certificate: {}\n    key: {}\n",
                c.display(),
                k.display()
            )
        } else {
            String::new()
        };
        let config = format!(
            "version: 0.1\nlog:\n  level: warn\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: {delete}\n  maintenance:\n    uploadpurging:\n      enabled: false\nhttp:\n  addr: 127.0.0.1:{port}\n  secret: hoist-test-secret\n{tls_yaml}{auth_yaml}",
            dir.path().join("data").display()
        );
        let cfg = dir.path().join("config.yml");
        std::fs::write(&cfg, config).expect("write config");
        let log = std::fs::File::create(dir.path().join("registry.log")).expect("log file");
        let child = Command::new("/usr/bin/docker-registry")
            .arg("serve")
            .arg(&cfg)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("dup log"))
            .stderr(log)
            .spawn()
            .expect("docker-registry starts (Debian package docker-registry)");
        let reg = Registry {
            host: format!("127.0.0.1:{port}"),
            child,
            dir,
            token,
        };
        reg.wait_ready(tls).await;
        reg
    }

    async fn wait_ready(&self, tls: bool) {
        let http = reqwest::Client::builder()
            .tls_danger_accept_invalid_certs(true)
            .build()
            .expect("client");
        let scheme = if tls { "https" } else { "http" };
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Ok(r) = http
                .get(format!("{scheme}://{}/v2/", self.host))
                .send()
                .await
                && matches!(r.status().as_u16(), 200 | 401)
            {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "registry did not start: {}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("registry.log")).unwrap_or_default()
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// `host/repo:tag` parsed.
    pub fn reference(&self, repo_tag: &str) -> hoist_oci::Reference {
        hoist_oci::Reference::parse(&format!("{}/{repo_tag}", self.host)).expect("reference")
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        // The process may already be gone; nothing else to clean up then.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Fast retries so fault tests stay quick.
pub fn fast_options() -> ClientOptions {
    ClientOptions {
        retry_base_delay: Duration::from_millis(20),
        retry_max_delay: Duration::from_secs(2),
        ..ClientOptions::default()
    }
}

pub fn client_with(cred: Credential) -> Client {
    Client::new(fast_options())
        .expect("client")
        .with_credentials(Arc::new(cred))
}

pub fn user_cred() -> Credential {
    Credential::Basic {
        username: USER.into(),
        password: PASSWORD.into(),
    }
}

/// Runs a test body with a hard time limit.
pub async fn bounded<F: std::future::Future<Output = T>, T>(secs: u64, f: F) -> T {
    tokio::time::timeout(Duration::from_secs(secs), f)
        .await
        .expect("test exceeded its time limit")
}
