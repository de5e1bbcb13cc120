//! Naming-rule tables for each built-in registry profile, and golden plugin files of
//! the released WIT version that every later host must keep loading.

mod common;

use std::sync::Arc;

use hoist_oci::Reference;
use hoist_plugin::{
    CredentialRequest, PluginCredential, PluginError, PluginOrigin, Profiles, RegistryLimits,
    World, builtin,
};

fn profiles(dir: &std::path::Path) -> Profiles {
    let host = common::host_in(dir, &[], &[]);
    let plugins = [
        "profile-generic",
        "profile-dockerhub",
        "profile-acr",
        "profile-ghcr",
        "profile-ecr",
        "profile-gar",
        "profile-ibm",
    ]
    .iter()
    .map(|n| {
        Arc::new(
            host.load(builtin(n).unwrap().wasm, PluginOrigin::Builtin, None)
                .unwrap(),
        )
    })
    .collect();
    Profiles::new(plugins)
}

/// (input, Ok(normalised) or Err(part of the message))
type Case = (&'static str, Result<&'static str, &'static str>);

fn run_table(p: &Profiles, cases: &[Case]) {
    for (input, want) in cases {
        let r = Reference::parse_name_only(input).unwrap();
        let got = p.normalize(&r);
        match (want, got) {
            (Ok(w), Ok(g)) => assert_eq!(g.to_string(), *w, "{input}"),
            (Err(w), Err(e)) => {
                assert!(matches!(e, PluginError::Guest { .. }), "{input}: {e:?}");
                assert!(e.to_string().contains(w), "{input}: {e}");
            }
            (w, g) => panic!("{input}: wanted {w:?}, got {g:?}"),
        }
    }
}

#[test]
fn dockerhub_rules() {
    let dir = tempfile::tempdir().unwrap();
    let p = profiles(dir.path());
    assert_eq!(
        p.for_registry("docker.io").unwrap().unwrap().name(),
        "profile-dockerhub"
    );
    run_table(
        &p,
        &[
            ("alpine", Ok("docker.io/library/alpine")),
            (
                "index.docker.io/library/alpine:3",
                Ok("docker.io/library/alpine:3"),
            ),
            ("bitnami/redis:7", Ok("docker.io/bitnami/redis:7")),
            ("docker.io/a/b/c:1", Err("NAMESPACE/NAME")),
            (
                "docker.io/x/app",
                Err("2 to 30 lowercase letters or digits"),
            ),
            ("docker.io/my_org/app", Err("my_org")),
        ],
    );
    let l = p.limits("docker.io").unwrap();
    assert_eq!(l.max_concurrent_push, Some(3));
    assert!(
        p.auth_hint("docker.io")
            .unwrap()
            .unwrap()
            .contains("hoist login docker.io")
    );
}

#[test]
fn ghcr_rules() {
    let dir = tempfile::tempdir().unwrap();
    let p = profiles(dir.path());
    run_table(
        &p,
        &[
            ("ghcr.io/octo-org/app:1", Ok("ghcr.io/octo-org/app:1")),
            ("ghcr.io/octo/tools/lint", Ok("ghcr.io/octo/tools/lint")),
            ("ghcr.io/app", Err("has no owner")),
            ("ghcr.io/a--b/app", Err("not a GitHub user")),
            (
                "ghcr.io/abcdefghijabcdefghijabcdefghijabcdefghij/app",
                Err("not a GitHub user"),
            ),
        ],
    );
    assert!(
        p.auth_hint("ghcr.io")
            .unwrap()
            .unwrap()
            .contains("read:packages")
    );
}

#[test]
fn acr_rules() {
    let dir = tempfile::tempdir().unwrap();
    let p = profiles(dir.path());
    assert_eq!(
        p.for_registry("acme.azurecr.io").unwrap().unwrap().name(),
        "profile-acr"
    );
    run_table(
        &p,
        &[
            (
                "MyRegistry.azurecr.io/samples/nginx:1",
                Ok("myregistry.azurecr.io/samples/nginx:1"),
            ),
            ("acme1.azurecr.cn/app", Ok("acme1.azurecr.cn/app")),
            ("abc.azurecr.io/app", Err("5 to 50 letters or digits")),
            ("my-reg.azurecr.io/app", Err("5 to 50 letters or digits")),
        ],
    );
    let mut opts = hoist_registry::ClientOptions::default();
    p.apply_limits("acme.azurecr.io", &mut opts).unwrap();
    assert_eq!(opts.chunk_size, 16 << 20);
    assert_eq!(opts.max_concurrent_uploads, 6);
}

#[test]
fn ecr_rules() {
    let dir = tempfile::tempdir().unwrap();
    let p = profiles(dir.path());
    let reg = "123456789012.dkr.ecr.eu-west-3.amazonaws.com";
    assert_eq!(p.for_registry(reg).unwrap().unwrap().name(), "profile-ecr");
    assert_eq!(
        p.for_registry("dkr.ecr.amazonaws.com")
            .unwrap()
            .unwrap()
            .name(),
        "profile-generic"
    );
    run_table(
        &p,
        &[
            (
                "123456789012.dkr.ecr.eu-west-3.amazonaws.com/team/app:1",
                Ok("123456789012.dkr.ecr.eu-west-3.amazonaws.com/team/app:1"),
            ),
            (
                "123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/a.b_c-d",
                Ok("123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/a.b_c-d"),
            ),
            (
                "1234.dkr.ecr.us-east-1.amazonaws.com/app",
                Err("account id \"1234\" must be 12 digits"),
            ),
            (
                "123456789012.dkr.ecr.us-east-1.amazonaws.com/a",
                Err("2 to 256 characters"),
            ),
            (
                "123456789012.dkr.ecr.us-east-1.amazonaws.com/a__b",
                Err("lowercase letters and digits, separated by"),
            ),
        ],
    );
    // The registry client asks the profiles per registry.
    let client = hoist_registry::Client::new(hoist_registry::ClientOptions::default())
        .unwrap()
        .with_limits(Arc::new(p.clone()));
    let l = client.limits_for(reg);
    assert_eq!(
        (
            l.chunk_size,
            l.max_concurrent_uploads,
            l.max_concurrent_downloads
        ),
        (20 << 20, 5, 8)
    );
    let defaults = hoist_registry::ClientOptions::default();
    assert_eq!(client.limits_for("quay.io").chunk_size, defaults.chunk_size);
    assert!(
        p.auth_hint(reg)
            .unwrap()
            .unwrap()
            .contains("aws ecr get-login-password --region eu-west-3")
    );
}

#[test]
fn gar_rules() {
    let dir = tempfile::tempdir().unwrap();
    let p = profiles(dir.path());
    for reg in [
        "us-docker.pkg.dev",
        "europe-west1-docker.pkg.dev",
        "gcr.io",
        "eu.gcr.io",
    ] {
        assert_eq!(
            p.for_registry(reg).unwrap().unwrap().name(),
            "profile-gar",
            "{reg}"
        );
    }
    run_table(
        &p,
        &[
            (
                "europe-west1-docker.pkg.dev/my-project/images/app:1",
                Ok("europe-west1-docker.pkg.dev/my-project/images/app:1"),
            ),
            (
                "us-docker.pkg.dev/my-project/images/tools/lint",
                Ok("us-docker.pkg.dev/my-project/images/tools/lint"),
            ),
            ("gcr.io/my-project/app", Ok("gcr.io/my-project/app")),
            (
                "us-docker.pkg.dev/my-project/app",
                Err("PROJECT/REPOSITORY/IMAGE; \"my-project/app\" has 2 path component(s)"),
            ),
            (
                "us-docker.pkg.dev/my-project/9images/app",
                Err("repository \"9images\" must be 1 to 63"),
            ),
            (
                "us-docker.pkg.dev/proj/images/app",
                Err("project id \"proj\" must be 6 to 30"),
            ),
            (
                "gcr.io/app",
                Err("gcr.io/PROJECT/IMAGE; \"app\" has no project"),
            ),
            ("eu.gcr.io/1project/app", Err("project id \"1project\"")),
        ],
    );
    assert_eq!(p.limits("gcr.io").unwrap().max_concurrent_push, Some(4));
}

#[test]
fn ibm_rules() {
    let dir = tempfile::tempdir().unwrap();
    let p = profiles(dir.path());
    for reg in ["icr.io", "us.icr.io", "registry.ng.bluemix.net"] {
        assert_eq!(
            p.for_registry(reg).unwrap().unwrap().name(),
            "profile-ibm",
            "{reg}"
        );
    }
    run_table(
        &p,
        &[
            ("us.icr.io/my_ns-1/app:2", Ok("us.icr.io/my_ns-1/app:2")),
            (
                "registry.eu-de.bluemix.net/team/tools/app",
                Ok("registry.eu-de.bluemix.net/team/tools/app"),
            ),
            (
                "icr.io/app",
                Err("NAMESPACE/REPOSITORY; \"app\" has no namespace"),
            ),
            ("icr.io/abc/app", Err("namespace \"abc\" must be 4 to 30")),
            ("de.icr.io/1team/app", Err("starting with a letter")),
            (
                "icr.io/abcdefghijabcdefghijabcdefghijx/app",
                Err("must be 4 to 30 lowercase letters"),
            ),
        ],
    );
    assert_eq!(p.limits("us.icr.io").unwrap().max_concurrent_pull, Some(6));
}

#[test]
fn generic_is_the_fallback() {
    let dir = tempfile::tempdir().unwrap();
    let p = profiles(dir.path());
    assert_eq!(
        p.for_registry("quay.io").unwrap().unwrap().name(),
        "profile-generic"
    );
    let digest = format!("sha256:{}", "a".repeat(64));
    let with_digest = format!("Registry.Example.com:5000/a/b@{digest}");
    let want = format!("registry.example.com:5000/a/b@{digest}");
    let r = Reference::parse_name_only(&with_digest).unwrap();
    assert_eq!(p.normalize(&r).unwrap().to_string(), want);
    run_table(&p, &[("127.0.0.1:5000/x:1", Ok("127.0.0.1:5000/x:1"))]);
    assert_eq!(p.limits("quay.io").unwrap(), RegistryLimits::default());
    let mut opts = hoist_registry::ClientOptions::default();
    p.apply_limits("quay.io", &mut opts).unwrap();
    assert_eq!(
        opts.chunk_size,
        hoist_registry::ClientOptions::default().chunk_size
    );
}

/// Plugins built against WIT 0.1.0, kept as files: this host must keep loading and
/// calling them.
#[tokio::test]
async fn golden_plugins_of_wit_0_1_0_still_load() {
    let golden =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/plugins/0.1.0");
    let dir = tempfile::tempdir().unwrap();
    let host = common::host_in(dir.path(), &[("HOIST_AUTH_GOLDEN_INVALID_TOKEN", "t")], &[]);
    let mut seen = 0;
    for entry in std::fs::read_dir(&golden).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "wasm") {
            continue;
        }
        seen += 1;
        let p = host.load_file(&path, None).unwrap();
        assert_eq!(
            path.file_stem().unwrap().to_str().unwrap(),
            p.name(),
            "golden file name"
        );
        match p.manifest().world {
            World::RegistryProfile => {
                assert!(p.profile_matches("golden.invalid").is_ok());
                assert!(p.profile_limits("golden.invalid").is_ok());
            }
            World::Auth => {
                let r = p
                    .get_credential(&CredentialRequest {
                        registry: "golden.invalid",
                        repository: "ok",
                        ..CredentialRequest::default()
                    })
                    .await;
                // Third-party origin: nothing granted, so a plugin may be denied, but it
                // must run and answer.
                assert!(
                    matches!(r, Ok(_) | Err(PluginError::Guest { .. })),
                    "{}: {r:?}",
                    p.name()
                );
                if p.name() == "hostile" {
                    assert!(matches!(r, Ok(PluginCredential::Basic { .. })));
                }
            }
        }
    }
    assert!(
        seen >= 7,
        "only {seen} golden plugins in {}",
        golden.display()
    );
}
