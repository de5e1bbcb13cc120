//! Measures plugin load and call times for the built-in `docker-config` and `acr`
//! plugins: cold load (compile + write cache), cached load, and warm calls.
//!
//! `cargo run --release -p hoist-plugin --example plugin_bench`

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hoist_plugin::{CredentialRequest, HostOptions, PluginHost, PluginOrigin, builtin};

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("config.json");
    std::fs::write(&config, r#"{"auths":{"ghcr.io":{"auth":"dTpw"}}}"#).expect("write config");
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let secrets: BTreeMap<String, String> = BTreeMap::new();
    let opts = HostOptions {
        cache_dir: Some(dir.path().join("cache")),
        secrets: Arc::new(secrets),
        files: BTreeMap::from([("docker-config".to_string(), config)]),
        ..HostOptions::default()
    };
    let t = Instant::now();
    let host = PluginHost::new(opts).expect("host");
    println!("host setup: {:?}", t.elapsed());
    for name in ["docker-config", "acr"] {
        let wasm = builtin(name).expect("builtin").wasm;
        let t = Instant::now();
        let cold = host
            .load(wasm, PluginOrigin::Builtin, None)
            .expect("cold load");
        let cold_time = t.elapsed();
        let mut cached_times = Vec::new();
        for _ in 0..20 {
            let t = Instant::now();
            let p = host
                .load(wasm, PluginOrigin::Builtin, None)
                .expect("cached load");
            cached_times.push(t.elapsed());
            assert_eq!(p.load_path(), hoist_plugin::LoadPath::Cached);
        }
        drop(cold);
        let p = host.load(wasm, PluginOrigin::Builtin, None).expect("load");
        let mut calls = Vec::new();
        for _ in 0..200 {
            let t = Instant::now();
            let r = rt.block_on(p.get_credential(&CredentialRequest {
                registry: "ghcr.io",
                ..CredentialRequest::default()
            }));
            calls.push(t.elapsed());
            if name == "docker-config" {
                r.expect("docker-config answers");
            }
        }
        println!(
            "{name}: {} bytes; cold load (compile+cache) {:?}; cached load median {:?}; warm call median {:?} (p99 {:?})",
            wasm.len(),
            cold_time,
            median(cached_times),
            median(calls.clone()),
            {
                let mut c = calls;
                c.sort();
                c[c.len() * 99 / 100]
            }
        );
    }
}
