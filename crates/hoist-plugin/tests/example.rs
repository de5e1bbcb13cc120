//! The README's example plugin: the text matches the guest that is built, it is under
//! 50 lines of Rust, and it works as a third-party plugin with the README's grants.

mod common;

use hoist_plugin::{
    CredentialRequest, GuestErrorKind, PluginCredential, PluginError, PluginOrigin, PluginSettings,
};

const WASM: &[u8] = include_bytes!(env!("HOIST_GUEST_EXAMPLE_MYREG"));

fn plugins_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../plugins")
}

#[test]
fn the_readme_shows_the_built_example_in_under_50_lines() {
    let readme = std::fs::read_to_string(plugins_dir().join("README.md")).unwrap();
    let src = std::fs::read_to_string(plugins_dir().join("example-myreg/src/lib.rs")).unwrap();
    let manifest =
        std::fs::read_to_string(plugins_dir().join("example-myreg/manifest.json")).unwrap();
    assert!(
        readme.contains(&format!("```rust\n{src}```")),
        "plugins/README.md does not show example-myreg/src/lib.rs verbatim"
    );
    assert!(readme.contains(&format!("```json\n{manifest}```")));
    let lines = src.lines().count();
    assert!(lines < 50, "the example has {lines} lines");
    assert!(readme.contains(&format!("The whole plugin is {lines} lines of Rust")));
}

#[tokio::test]
async fn the_example_trades_its_api_key_for_a_token() {
    let server = common::FakeServer::start(|req| {
        let key = req.headers.iter().find(|(k, _)| k == "x-api-key");
        if req.line.starts_with("POST /api/token ") && key.is_some_and(|(_, v)| v == "k-1") {
            (200, b"tok-123\n".to_vec())
        } else {
            (403, b"{}".to_vec())
        }
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let host = common::host_in(dir.path(), &[("MYREG_API_KEY", "k-1")], &[]);
    let origin = PluginOrigin::File(dir.path().join("example_myreg.wasm"));
    let ask = |p: hoist_plugin::Plugin| {
        let registry = server.addr.clone();
        async move {
            p.get_credential(&CredentialRequest {
                registry: &registry,
                repository: "a/b",
                actions: &["pull"],
                challenge: None,
            })
            .await
        }
    };

    // A third-party plugin gets nothing until granted: the secret is refused.
    let p = host.load(WASM, origin.clone(), None).unwrap();
    match ask(p).await {
        Err(PluginError::Guest { kind, .. }) => assert_eq!(kind, GuestErrorKind::Denied),
        other => panic!("expected denied, got {other:?}"),
    }

    // With the README's grants it works.
    let settings = PluginSettings {
        grant: Some(vec![
            "http:{registry}".into(),
            "secret:MYREG_API_KEY".into(),
        ]),
        ..PluginSettings::default()
    };
    let p = host.load(WASM, origin, Some(&settings)).unwrap();
    assert_eq!(p.name(), "example-myreg");
    assert_eq!(
        ask(p).await.unwrap(),
        PluginCredential::Bearer {
            token: "tok-123".into(),
            expires_in: None
        }
    );
}
