//! Plugin timings for `bench/plugins.sh`: cold load (compile), cached load (compiled
//! code from the disk cache, in a fresh host) and warm auth calls (fresh `Store` per
//! call on a pre-instantiated component), for `docker-config` and for `acr` against a
//! loopback stand-in of ACR's token exchange.
//!
//! `cargo run --release -p hoist-plugin --example plugin_bench [-- ROUNDS CALLS]`

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hoist_plugin::{CredentialRequest, HostOptions, LoadPath, PluginHost, PluginOrigin, builtin};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn host(
    cache: &std::path::Path,
    secrets: &[(&str, &str)],
    files: &[(&str, std::path::PathBuf)],
) -> PluginHost {
    let secrets: BTreeMap<String, String> = secrets
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    PluginHost::new(HostOptions {
        cache_dir: Some(cache.to_path_buf()),
        secrets: Arc::new(secrets),
        files: files
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect(),
        ..HostOptions::default()
    })
    .expect("plugin host")
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn stats(mut v: Vec<Duration>) -> String {
    v.sort();
    let med = v[v.len() / 2];
    let p90 = v[(v.len() * 9 / 10).min(v.len() - 1)];
    format!(
        "median {:.3} ms  p90 {:.3} ms  min {:.3} ms  max {:.3} ms  (n={})",
        ms(med),
        ms(p90),
        ms(v[0]),
        ms(v[v.len() - 1]),
        v.len()
    )
}

/// A loopback HTTP/1.1 server answering ACR's `/oauth2/exchange` with a refresh token.
async fn fake_acr() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr").to_string();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = vec![0u8; 16384];
                let mut have = Vec::new();
                loop {
                    let Ok(n) = sock.read(&mut buf).await else {
                        return;
                    };
                    if n == 0 {
                        return;
                    }
                    have.extend_from_slice(&buf[..n]);
                    let Some(end) = have.windows(4).position(|w| w == b"\r\n\r\n") else {
                        continue;
                    };
                    let head = String::from_utf8_lossy(&have[..end]).to_ascii_lowercase();
                    let len: usize = head
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:"))
                        .and_then(|v| v.trim().parse().ok())
                        .unwrap_or(0);
                    if have.len() < end + 4 + len {
                        continue;
                    }
                    have.drain(..end + 4 + len);
                    let body = br#"{"refresh_token":"bench-refresh"}"#;
                    // One write: head and body in separate segments would meet
                    // Nagle plus the client's delayed ACK (~40 ms per call).
                    let mut resp = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
                        body.len()
                    )
                    .into_bytes();
                    resp.extend_from_slice(body);
                    if sock.write_all(&resp).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    addr
}

#[tokio::main]
async fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let rounds = args.first().copied().unwrap_or(5);
    let calls = args.get(1).copied().unwrap_or(200);
    let scratch = tempfile::tempdir().expect("scratch dir");
    let docker_config = scratch.path().join("config.json");
    std::fs::write(
        &docker_config,
        r#"{"auths":{"ghcr.io":{"auth":"dXNlcjpwYXNz"}}}"#,
    )
    .expect("write docker config");
    let acr_addr = fake_acr().await;

    for (name, registry) in [
        ("docker-config", "ghcr.io".to_string()),
        ("acr", acr_addr.clone()),
    ] {
        let wasm = builtin(name).expect("built-in").wasm;
        let secrets = [("AZURE_ACCESS_TOKEN", "aad-token")];
        let files = [("docker-config", docker_config.clone())];
        let (mut cold, mut cached) = (Vec::new(), Vec::new());
        for round in 0..rounds {
            let cache = scratch.path().join(format!("cache-{name}-{round}"));
            let t = Instant::now();
            let p = host(&cache, &secrets, &files)
                .load(wasm, PluginOrigin::Builtin, None)
                .expect("cold load");
            cold.push(t.elapsed());
            assert_eq!(p.load_path(), LoadPath::CompiledAndCached);
            let t = Instant::now();
            let p = host(&cache, &secrets, &files)
                .load(wasm, PluginOrigin::Builtin, None)
                .expect("cached load");
            cached.push(t.elapsed());
            assert_eq!(p.load_path(), LoadPath::Cached);
        }
        let p = host(&scratch.path().join("cache-warm"), &secrets, &files)
            .load(wasm, PluginOrigin::Builtin, None)
            .expect("load");
        let req = CredentialRequest {
            registry: &registry,
            repository: "team/app",
            actions: &["pull"],
            challenge: None,
        };
        p.get_credential(&req).await.expect("first call");
        let mut warm = Vec::with_capacity(calls);
        for _ in 0..calls {
            let t = Instant::now();
            let c = p.get_credential(&req).await.expect("call");
            warm.push(t.elapsed());
            std::hint::black_box(c);
        }
        println!("{name} ({} bytes of wasm)", wasm.len());
        println!(
            "  cold load (compile + cache write, new host): {}",
            stats(cold)
        );
        println!(
            "  cached load (new host, disk cache):          {}",
            stats(cached)
        );
        println!(
            "  warm auth call (fresh store per call):       {}",
            stats(warm)
        );
    }
}
