//! `hoist plugin push/add/ls/rm` against the real registry, and registry profiles
//! applied by `hoist pull` (naming rules and per-registry limits).

// registry.rs keeps its copy of the harness private, so this file loads its own.
#[path = "../../crates/hoist-registry/tests/harness/mod.rs"]
#[allow(unused_imports, clippy::duplicate_mod)]
mod reg_harness;

use std::process::{Command, Output};

use reg_harness::{Auth, Registry};

use crate::harness::{Hoist, flunk, run_tool, succeed, texts, tool};

/// The README's example plugin, built against WIT 0.1.1.
fn example_wasm() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/plugins/0.1.1/example-myreg.wasm")
}

/// hoist with its config and caches inside the workspace.
fn cmd(h: &Hoist, args: &[&str]) -> Command {
    let mut c = h.command(args);
    c.env("XDG_CONFIG_HOME", h.path("config"))
        .env("XDG_CACHE_HOME", h.path("cache"));
    c
}

fn run(h: &Hoist, args: &[&str]) -> Output {
    cmd(h, args).output().expect("run hoist")
}

fn ok(h: &Hoist, args: &[&str]) -> (String, String) {
    succeed(cmd(h, args), args)
}

fn fail(h: &Hoist, args: &[&str]) -> String {
    flunk(cmd(h, args), args)
}

fn sha256_file(p: &std::path::Path) -> String {
    use sha2::Digest;
    format!(
        "sha256:{}",
        hex::encode(sha2::Sha256::digest(std::fs::read(p).expect("read")))
    )
}

#[test]
fn plugin_push_then_add_by_digest_ls_and_rm() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let reg = rt.block_on(Registry::start(Auth::Anonymous));
    let h = Hoist::new();
    let wasm = example_wasm();
    let wasm_arg = wasm.to_str().expect("utf-8 path");
    let repo = format!("{}/plugins/myreg", reg.host);

    let (digest, _) = ok(&h, &["plugin", "push", wasm_arg, &format!("{repo}:0.1.0")]);
    let digest = digest.trim().to_string();
    assert!(digest.starts_with("sha256:"), "{digest}");

    // skopeo sees a wasm OCI artifact.
    let mut c = tool("skopeo");
    c.args(["inspect", "--tls-verify=false", "--raw"])
        .arg(format!("docker://{repo}@{digest}"));
    let manifest: serde_json::Value = serde_json::from_str(&run_tool(c)).expect("json");
    assert_eq!(
        manifest["config"]["mediaType"],
        "application/vnd.wasm.config.v0+json"
    );
    assert_eq!(manifest["layers"][0]["mediaType"], "application/wasm");
    assert_eq!(manifest["layers"][0]["digest"], sha256_file(&wasm).as_str());

    // A tag is not a pin; a wrong digest is refused.
    let se = fail(&h, &["plugin", "add", &format!("oci://{repo}:0.1.0")]);
    assert!(se.contains("installed by digest"), "{se}");
    let mut tampered = digest.clone();
    let last = if tampered.ends_with('0') { "1" } else { "0" };
    tampered.replace_range(tampered.len() - 1.., last);
    let se = fail(&h, &["plugin", "add", &format!("oci://{repo}@{tampered}")]);
    assert!(se.contains("cannot fetch plugin"), "{se}");
    let se = fail(&h, &["plugin", "add", wasm_arg, "--digest", &tampered]);
    assert!(se.contains("refusing it"), "{se}");
    assert!(!h.path("config/hoist/plugins/example-myreg.wasm").exists());

    let (out, se) = ok(&h, &["plugin", "add", &format!("oci://{repo}@{digest}")]);
    assert_eq!(out.trim(), format!("example-myreg {}", sha256_file(&wasm)));
    assert!(se.contains("no grants yet"), "{se}");
    let installed = h.path("config/hoist/plugins/example-myreg.wasm");
    assert_eq!(sha256_file(&installed), sha256_file(&wasm));

    let (ls, _) = ok(&h, &["plugin", "ls"]);
    let line = ls
        .lines()
        .find(|l| l.starts_with("example-myreg "))
        .unwrap_or_else(|| panic!("not listed:\n{ls}"));
    let cols: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(cols[1..4], ["0.1.0", "auth", "file"], "{line}");
    assert!(sha256_file(&wasm).starts_with(cols[4]), "{line}");
    assert_eq!(
        cols[5], "-",
        "no grants until config.toml gives some: {line}"
    );

    // With no grants, trying it is refused by the host, and the key never shows.
    let out = run(
        &h,
        &["plugin", "test", "example-myreg", "--registry", &reg.host],
    );
    let (_, se) = texts(&out);
    assert!(!out.status.success() && se.contains("denied"), "{se}");

    ok(&h, &["plugin", "rm", "example-myreg"]);
    let (ls, _) = ok(&h, &["plugin", "ls"]);
    assert!(!ls.contains("example-myreg"), "{ls}");
    assert!(!installed.exists());
    let se = fail(&h, &["plugin", "rm", "example-myreg"]);
    assert!(se.contains("no plugin named"), "{se}");
}

#[test]
fn pull_applies_the_registry_profiles_rules_and_limits() {
    let h = Hoist::new();
    // Naming rules fail before any network traffic.
    let se = fail(&h, &["pull", "docker.io/a/b/c"]);
    assert!(se.contains("NAMESPACE/NAME"), "{se}");
    let se = fail(&h, &["pull", "abc.azurecr.io/samples/app"]);
    assert!(
        se.contains("breaks its registry's naming rules")
            && se.contains("ACR registry name \"abc\" must be 5 to 50 letters or digits"),
        "{se}"
    );
    let se = fail(&h, &["pull", "icr.io/ab/app"]);
    assert!(se.contains("IBM namespace \"ab\" must be 4 to 30"), "{se}");
    // `copy` checks both of its registry sides the same way.
    let se = fail(&h, &["copy", "icr.io/ab/app:1", "oci:/nonexistent/layout"]);
    assert!(se.contains("IBM namespace \"ab\" must be 4 to 30"), "{se}");
    let se = fail(
        &h,
        &[
            "copy",
            "oci:/nonexistent/layout",
            "abc.azurecr.io/samples/app:1",
        ],
    );
    assert!(se.contains("ACR registry name \"abc\""), "{se}");

    // A valid reference is normalised, and the client takes the profile's limits
    // for that registry (the pull itself then fails: there is no network).
    let se = fail(
        &h,
        &[
            "--log",
            "debug",
            "pull",
            "--retry",
            "0",
            "index.docker.io/library/alpine:3",
        ],
    );
    assert!(se.contains("normalized=docker.io/library/alpine:3"), "{se}");
    assert!(
        se.contains("registry transfer limits") && se.contains("uploads=3"),
        "{se}"
    );
    let ecr = "123456789012.dkr.ecr.eu-west-3.amazonaws.com/team/app:1";
    let se = fail(&h, &["--log", "debug", "pull", "--retry", "0", ecr]);
    let limits = se
        .lines()
        .find(|l| l.contains("registry transfer limits"))
        .unwrap_or_else(|| panic!("no limits line:\n{se}"));
    for want in ["uploads=5", "downloads=8", "chunk_size=20971520"] {
        assert!(limits.contains(want), "{limits}");
    }
}
