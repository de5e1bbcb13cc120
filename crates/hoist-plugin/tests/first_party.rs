//! The built-in plugins against local fakes of what they read or call.

mod common;

use common::{basic, kind, load};

use std::path::PathBuf;
use std::sync::Arc;

use hoist_plugin::{
    CredentialRequest, GuestErrorKind, Plugin, PluginCredential, PluginCredentials, PluginError,
};
use hoist_registry::{Credential, CredentialProvider, StaticCredentials};

async fn ask(p: &Plugin, registry: &str) -> Result<PluginCredential, PluginError> {
    p.get_credential(&CredentialRequest {
        registry,
        repository: "team/app",
        actions: &["pull", "push"],
        challenge: None,
    })
    .await
}

#[tokio::test]
async fn docker_config_reads_auths_entries() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.json");
    std::fs::write(
        &config,
        r#"{
          "auths": {
            "https://index.docker.io/v1/": {"auth": "aHViLXVzZXI6aHViLXBhc3M="},
            "ghcr.io": {"username": "gh", "password": "ghp_x"},
            "http://127.0.0.1:5000/v2/": {"identitytoken": "refresh-1"},
            "quay.io": {"registrytoken": "bearer-1"},
            "broken.io": {"auth": "!!!"}
          },
          "credHelpers": {"123.dkr.ecr.us-east-1.amazonaws.com": "ecr-login"}
        }"#,
    )
    .unwrap();
    let host = common::host_in(dir.path(), &[], &[("docker-config", config.clone())]);
    let p = load(&host, "docker-config", None);
    assert_eq!(
        ask(&p, "docker.io").await.unwrap(),
        basic("hub-user", "hub-pass")
    );
    assert_eq!(ask(&p, "ghcr.io").await.unwrap(), basic("gh", "ghp_x"));
    assert_eq!(
        ask(&p, "127.0.0.1:5000").await.unwrap(),
        PluginCredential::IdentityToken("refresh-1".into())
    );
    assert_eq!(
        ask(&p, "quay.io").await.unwrap(),
        PluginCredential::Bearer {
            token: "bearer-1".into(),
            expires_in: None
        }
    );
    assert_eq!(kind(ask(&p, "broken.io").await), GuestErrorKind::Failed);
    let helper = ask(&p, "123.dkr.ecr.us-east-1.amazonaws.com")
        .await
        .unwrap_err();
    assert!(helper.is_not_found() && helper.to_string().contains("docker-credential-ecr-login"));
    assert_eq!(kind(ask(&p, "other.io").await), GuestErrorKind::NotFound);

    // Narrowed to nothing: the file is no longer readable.
    let narrowed = load(&host, "docker-config", Some(&[]));
    assert_eq!(
        kind(ask(&narrowed, "docker.io").await),
        GuestErrorKind::Denied
    );

    // A missing file is "not found", so the chain moves on.
    let host = common::host_in(
        dir.path(),
        &[],
        &[("docker-config", dir.path().join("nope.json"))],
    );
    let p = load(&host, "docker-config", None);
    assert_eq!(kind(ask(&p, "docker.io").await), GuestErrorKind::NotFound);
}

#[tokio::test]
async fn env_reads_per_registry_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let host = common::host_in(
        dir.path(),
        &[
            ("HOIST_AUTH_GHCR_IO_USER", "octo"),
            ("HOIST_AUTH_GHCR_IO_PASS", "ghp_secret"),
            ("HOIST_AUTH_127_0_0_1_5000_TOKEN", "tok"),
            ("HOIST_AUTH_HALF_IO_USER", "only-user"),
        ],
        &[],
    );
    let p = load(&host, "env", None);
    assert_eq!(
        ask(&p, "ghcr.io").await.unwrap(),
        basic("octo", "ghp_secret")
    );
    assert_eq!(
        ask(&p, "127.0.0.1:5000").await.unwrap(),
        PluginCredential::Bearer {
            token: "tok".into(),
            expires_in: None
        }
    );
    assert_eq!(kind(ask(&p, "quay.io").await), GuestErrorKind::NotFound);
    assert_eq!(kind(ask(&p, "half.io").await), GuestErrorKind::Failed);

    // Narrowed to ghcr.io's variables: other registries see nothing.
    let narrowed = load(&host, "env", Some(&["secret:HOIST_AUTH_GHCR_IO_*"]));
    assert_eq!(
        ask(&narrowed, "ghcr.io").await.unwrap(),
        basic("octo", "ghp_secret")
    );
    assert_eq!(
        kind(ask(&narrowed, "127.0.0.1:5000").await),
        GuestErrorKind::NotFound
    );
}

#[tokio::test]
async fn acr_exchanges_the_aad_token_for_a_refresh_token() {
    let server = common::FakeServer::start(|req| {
        let body = String::from_utf8_lossy(&req.body);
        if req.line.starts_with("POST /oauth2/exchange")
            && body.contains("grant_type=access_token")
            && body.contains("access_token=aad%2Btoken")
            && body.contains("tenant=t1")
        {
            (200, br#"{"refresh_token":"acr-refresh"}"#.to_vec())
        } else {
            (401, br#"{"errors":[{"code":"UNAUTHORIZED"}]}"#.to_vec())
        }
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let host = common::host_in(
        dir.path(),
        &[
            ("AZURE_ACCESS_TOKEN", "aad+token"),
            ("AZURE_TENANT_ID", "t1"),
        ],
        &[],
    );
    let p = load(&host, "acr", None);
    assert!(p.manifest().serves("acme.azurecr.io") && !p.manifest().serves(&server.addr));
    assert_eq!(
        ask(&p, &server.addr).await.unwrap(),
        basic("00000000-0000-0000-0000-000000000000", "acr-refresh")
    );
    let seen = server.requests();
    assert_eq!(seen.len(), 1);
    let body = String::from_utf8_lossy(&seen[0].body);
    assert!(
        body.contains(&format!("service={}", server.addr.replace(':', "%3A"))),
        "{body}"
    );
    assert!(
        seen[0]
            .headers
            .iter()
            .any(|(k, v)| k == "content-type" && v == "application/x-www-form-urlencoded")
    );

    // A refused exchange is a failure, not "not found".
    let host = common::host_in(dir.path(), &[("AZURE_ACCESS_TOKEN", "wrong")], &[]);
    let p = load(&host, "acr", None);
    let err = ask(&p, &server.addr).await.unwrap_err();
    assert!(err.to_string().contains("HTTP 401"), "{err}");

    // No AAD token: nothing to offer.
    let host = common::host_in(dir.path(), &[], &[]);
    let p = load(&host, "acr", None);
    assert_eq!(kind(ask(&p, &server.addr).await), GuestErrorKind::NotFound);

    // Without the http grant the exchange is refused by the host.
    let host = common::host_in(dir.path(), &[("AZURE_ACCESS_TOKEN", "aad+token")], &[]);
    let p = load(&host, "acr", Some(&["secret:AZURE_ACCESS_TOKEN"]));
    assert_eq!(kind(ask(&p, &server.addr).await), GuestErrorKind::Denied);
}

#[tokio::test]
async fn the_chain_asks_plugins_in_order_then_the_fallback() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.json");
    std::fs::write(
        &config,
        r#"{"auths":{"quay.io":{"username":"q","password":"qp"}}}"#,
    )
    .unwrap();
    let host = common::host_in(
        dir.path(),
        &[
            ("HOIST_AUTH_GHCR_IO_USER", "from-env"),
            ("HOIST_AUTH_GHCR_IO_PASS", "p"),
        ],
        &[("docker-config", config)],
    );
    let env = Arc::new(load(&host, "env", None));
    let docker = Arc::new(load(&host, "docker-config", None));
    let mut fallback = StaticCredentials::new();
    fallback.insert(
        "fallback.io",
        Credential::Basic {
            username: "fb".into(),
            password: "x".into(),
        },
    );
    let chain = PluginCredentials::new(vec![env, docker]).with_fallback(Arc::new(fallback));
    let user = |c: Credential| match c {
        Credential::Basic { username, .. } => username,
        other => format!("{other:?}"),
    };
    assert_eq!(user(chain.credential("ghcr.io").await.unwrap()), "from-env");
    assert_eq!(user(chain.credential("quay.io").await.unwrap()), "q");
    assert_eq!(user(chain.credential("fallback.io").await.unwrap()), "fb");
    assert_eq!(
        chain.credential("nobody.io").await.unwrap(),
        Credential::Anonymous
    );
}

#[tokio::test]
async fn a_failing_plugin_is_reported_when_nothing_else_answers() {
    let dir = tempfile::tempdir().unwrap();
    let config: PathBuf = dir.path().join("config.json");
    std::fs::write(&config, "not json").unwrap();
    let host = common::host_in(dir.path(), &[], &[("docker-config", config)]);
    let chain = PluginCredentials::new(vec![Arc::new(load(&host, "docker-config", None))]);
    let err = chain.credential("quay.io").await.unwrap_err().to_string();
    assert!(
        err.contains("docker-config") && err.contains("not valid JSON"),
        "{err}"
    );
}
