//! End-to-end tests against the real CNCF distribution registry (docker-registry 2.8).

mod harness;

use std::sync::Arc;
use std::sync::atomic::Ordering;

use hoist_oci::{MediaType, sha256_of};
use hoist_registry::{BlobPush, Client, ClientOptions, Credential, ErrorCode, RegistryError};

use harness::image::{Counting, TestImage};
use harness::proxy::{Fault, FaultKind, Proxy};
use harness::{Auth, PASSWORD, Registry, USER, bounded, client_with, fast_options, user_cred};

fn wrong_cred() -> Credential {
    Credential::Basic {
        username: USER.into(),
        password: "wrong-Pa55word".into(),
    }
}

fn assert_no_secret(e: &RegistryError) {
    let shown = format!("{e} {e:?} {}", e.hint().unwrap_or_default());
    assert!(!shown.contains(PASSWORD), "secret leaked: {shown}");
    assert!(!shown.contains("wrong-Pa55word"), "secret leaked: {shown}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_per_setup() {
    bounded(60, async {
        // Anonymous registry: any credential passes, there is nothing to check.
        let reg = Registry::start(Auth::Anonymous).await;
        let c = client_with(Credential::Anonymous);
        c.check_login(&reg.host, &Credential::Anonymous)
            .await
            .unwrap();

        // htpasswd: the right password passes, a wrong one is UNAUTHORIZED with a hint.
        let reg = Registry::start(Auth::Htpasswd).await;
        let c = client_with(Credential::Anonymous);
        c.check_login(&reg.host, &user_cred()).await.unwrap();
        let e = c.check_login(&reg.host, &wrong_cred()).await.unwrap_err();
        assert_eq!(e.status(), Some(401), "{e}");
        assert_eq!(e.code(), Some(&ErrorCode::Unauthorized), "{e}");
        assert_eq!(e.hint(), Some(format!("run hoist login {}", reg.host)));
        assert_no_secret(&e);

        // Token auth: the token server checks the password.
        let reg = Registry::start(Auth::Token).await;
        let c = client_with(Credential::Anonymous);
        c.check_login(&reg.host, &user_cred()).await.unwrap();
        let e = c.check_login(&reg.host, &wrong_cred()).await.unwrap_err();
        assert!(
            matches!(e, RegistryError::Token { status: 401, .. }),
            "{e:?}"
        );
        assert!(
            e.to_string().contains("incorrect username or password"),
            "{e}"
        );
        assert!(e.hint().unwrap().contains("hoist login"));
        assert_no_secret(&e);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn push_inspect_pull_and_repush_anonymous() {
    bounded(90, async {
        let reg = Registry::start(Auth::Anonymous).await;
        let progress = Arc::new(Counting::default());
        let c = client_with(Credential::Anonymous).with_progress(progress.clone());
        let img = TestImage::new("demo", &[1500, 70_000]);
        let r = reg.reference("samples/demo:v1");
        let d = img.push(&c, &r).await.unwrap();
        assert_eq!(d, img.manifest_digest);
        assert_eq!(progress.uploads.load(Ordering::SeqCst), 3);

        // skopeo (a real peer) sees the image.
        let out = tokio::process::Command::new("skopeo")
            .args(["inspect", "--tls-verify=false", "--raw"])
            .arg(format!("docker://{}/samples/demo:v1", reg.host))
            .output()
            .await
            .expect("skopeo runs");
        assert!(
            out.status.success(),
            "skopeo: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(sha256_of(&out.stdout), img.manifest_digest);
        let out = tokio::process::Command::new("skopeo")
            .args(["inspect", "--tls-verify=false"])
            .arg(format!("docker://{}/samples/demo:v1", reg.host))
            .output()
            .await
            .expect("skopeo runs");
        assert!(
            out.status.success(),
            "skopeo: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v["Digest"], img.manifest_digest.to_string());
        assert_eq!(v["Layers"].as_array().unwrap().len(), 2);

        img.pull_and_compare(&c, &r).await.unwrap();
        let head = c.head_manifest(&r).await.unwrap().unwrap();
        assert_eq!(head.digest, img.manifest_digest);
        assert_eq!(head.size, img.manifest.len() as u64);

        // Second push: every blob exists, none is uploaded.
        let before = progress.uploads.load(Ordering::SeqCst);
        for b in img.blobs() {
            let src = b.clone();
            let res = c
                .push_blob(&r, &sha256_of(&b), b.len() as u64, move || {
                    let src = src.clone();
                    async move { Ok(std::io::Cursor::new(src)) }
                })
                .await
                .unwrap();
            assert_eq!(res, BlobPush::Exists);
        }
        assert_eq!(progress.uploads.load(Ordering::SeqCst), before);
        assert_eq!(progress.exists.load(Ordering::SeqCst), 3);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_auth_push_pull_mount_and_refresh() {
    bounded(90, async {
        let reg = Registry::start(Auth::Token).await;
        let ts = reg.token.as_ref().unwrap();
        let progress = Arc::new(Counting::default());
        let c = client_with(user_cred()).with_progress(progress.clone());
        let img = TestImage::new("tok", &[900, 4000]);
        let r = reg.reference("team/app:1");
        img.push(&c, &r).await.unwrap();
        img.pull_and_compare(&c, &r).await.unwrap();
        assert!(ts.gets.load(Ordering::SeqCst) >= 1);
        // Tokens are cached: far fewer token requests than registry requests.
        let token_requests = ts.gets.load(Ordering::SeqCst) + ts.posts.load(Ordering::SeqCst);
        assert!(token_requests <= 4, "{token_requests} token requests");

        // Cross-repository mount on the same registry.
        let other = reg.reference("team/other:1");
        for b in img.blobs() {
            assert!(c.mount_blob(&other, &sha256_of(&b), &r).await.unwrap());
        }
        assert_eq!(progress.mounts.load(Ordering::SeqCst), 3);
        c.put_manifest(&other, &MediaType::ImageManifest, img.manifest.clone())
            .await
            .unwrap();
        img.pull_and_compare(&c, &other).await.unwrap();
        // A blob the source does not have is not mounted.
        let missing = sha256_of(b"not there");
        assert!(!c.mount_blob(&other, &missing, &r).await.unwrap());
        // The mount asked for pull on the source and push on the target in one token.
        let seen = ts.scopes_seen.lock().unwrap().clone();
        assert!(
            seen.iter()
                .any(|s| s.contains(&"repository:team/app:pull".to_string())
                    && s.contains(&"repository:team/other:pull,push".to_string())),
            "{seen:?}"
        );

        // A client holding a refresh token (docker's identitytoken) uses the OAuth2 POST
        // refresh_token grant.
        let posts_before = ts.posts.load(Ordering::SeqCst);
        let refresh = {
            // Obtain a refresh token the test can see, with the password grant.
            let http = reqwest::Client::new();
            let v: serde_json::Value = http
                .post(ts.realm())
                .header("content-type", "application/x-www-form-urlencoded")
                .body(
                    form_urlencoded::Serializer::new(String::new())
                        .extend_pairs([
                            ("grant_type", "password"),
                            ("username", USER),
                            ("password", PASSWORD),
                            ("service", harness::token::SERVICE),
                            ("client_id", "test"),
                        ])
                        .finish(),
                )
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            v["refresh_token"].as_str().unwrap().to_string()
        };
        let c2 = client_with(Credential::IdentityToken(refresh));
        img.pull_and_compare(&c2, &r).await.unwrap();
        assert!(ts.posts.load(Ordering::SeqCst) > posts_before);

        // The OAuth2 password grant, when enabled.
        let c3 = Client::new(ClientOptions {
            oauth2_password_grant: true,
            ..fast_options()
        })
        .unwrap()
        .with_credentials(Arc::new(user_cred()));
        let posts_before = ts.posts.load(Ordering::SeqCst);
        assert_eq!(c3.list_tags(&r, None).await.unwrap(), vec!["1".to_string()]);
        assert!(ts.posts.load(Ordering::SeqCst) > posts_before);

        // Anonymous users get no access: UNAUTHORIZED with a login hint.
        let anon = client_with(Credential::Anonymous);
        let e = anon.get_manifest(&r, &[]).await.unwrap_err();
        assert_eq!(e.code(), Some(&ErrorCode::Unauthorized), "{e}");
        assert_eq!(e.hint(), Some(format!("run hoist login {}", reg.host)));
        // A registry token credential is sent as is.
        let bad = client_with(Credential::RegistryToken("not-a-jwt".into()));
        let e = bad.get_manifest(&r, &[]).await.unwrap_err();
        assert_eq!(e.status(), Some(401), "{e}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn htpasswd_push_and_errors() {
    bounded(60, async {
        let reg = Registry::start(Auth::Htpasswd).await;
        let c = client_with(user_cred());
        let img = TestImage::new("basic", &[300, 600]);
        let r = reg.reference("b/app:x");
        img.push(&c, &r).await.unwrap();
        img.pull_and_compare(&c, &r).await.unwrap();
        let anon = client_with(Credential::Anonymous);
        let e = img
            .push(&anon, &reg.reference("b/app:y"))
            .await
            .unwrap_err();
        assert_eq!(e.status(), Some(401), "{e}");
        assert!(
            e.to_string()
                .starts_with(&format!("push to {}/b/app was not authorized", reg.host)),
            "{e}"
        );
        assert_eq!(e.hint(), Some(format!("run hoist login {}", reg.host)));
        let wrong = client_with(wrong_cred());
        let e = wrong.get_manifest(&r, &[]).await.unwrap_err();
        assert_eq!(e.hint(), Some(format!("run hoist login {}", reg.host)));
        assert_no_secret(&e);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_blob_goes_through_chunks() {
    bounded(120, async {
        let reg = Registry::start(Auth::Anonymous).await;
        let proxy = Proxy::start(&reg.host).await;
        let c = Client::new(ClientOptions {
            chunk_size: 4 * 1024 * 1024,
            ..fast_options()
        })
        .unwrap();
        let img = TestImage::new("big", &[20 * 1024 * 1024 + 123]);
        let r = hoist_oci::Reference::parse(&format!("{}/big/blob:1", proxy.host())).unwrap();
        let t0 = std::time::Instant::now();
        img.push(&c, &r).await.unwrap();
        eprintln!("pushed 20 MiB through the proxy in {:?}", t0.elapsed());
        // 20 MiB + 123 bytes in 4 MiB chunks: 6 PATCHes, then the closing PUT.
        assert_eq!(proxy.count("PATCH", "/v2/big/blob/blobs/uploads/"), 6);
        let t0 = std::time::Instant::now();
        img.pull_and_compare(&c, &r).await.unwrap();
        eprintln!("pulled 20 MiB through the proxy in {:?}", t0.elapsed());
        // Direct to the registry, no proxy.
        let direct = reg.reference("big/direct:1");
        let t0 = std::time::Instant::now();
        img.push(&c, &direct).await.unwrap();
        eprintln!("pushed 20 MiB directly in {:?}", t0.elapsed());
        let t0 = std::time::Instant::now();
        img.pull_and_compare(&c, &direct).await.unwrap();
        eprintln!("pulled 20 MiB directly in {:?}", t0.elapsed());
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_through_faults_end_with_a_correct_image() {
    bounded(90, async {
        let reg = Registry::start(Auth::Anonymous).await;
        let proxy = Proxy::start(&reg.host).await;
        let c = client_with(Credential::Anonymous);
        let img = TestImage::new("faulty", &[200_000, 3000]);
        let r = hoist_oci::Reference::parse(&format!("{}/f/app:1", proxy.host())).unwrap();
        let big = sha256_of(&img.layers[0]);
        proxy.add_fault(Fault {
            method: "HEAD",
            path_contains: "/blobs/".into(),
            kind: FaultKind::TooMany(1),
            times: 1,
        });
        proxy.add_fault(Fault {
            method: "POST",
            path_contains: "/blobs/uploads/".into(),
            kind: FaultKind::Status(500),
            times: 1,
        });
        proxy.add_fault(Fault {
            method: "PUT",
            path_contains: "/manifests/".into(),
            kind: FaultKind::Status(503),
            times: 1,
        });
        proxy.add_fault(Fault {
            method: "GET",
            path_contains: format!("/blobs/{big}"),
            kind: FaultKind::ResetMidBody,
            times: 1,
        });
        let t0 = std::time::Instant::now();
        img.push(&c, &r).await.unwrap();
        // Retry-After: 1 was honoured.
        assert!(t0.elapsed() >= std::time::Duration::from_secs(1));
        img.pull_and_compare(&c, &r).await.unwrap();
        assert_eq!(proxy.faults_left(), 0);

        // An upload whose PUT fails restarts with a new session from a re-opened source.
        proxy.add_fault(Fault {
            method: "PUT",
            path_contains: "/blobs/uploads/".into(),
            kind: FaultKind::Status(500),
            times: 1,
        });
        let extra = bytes::Bytes::from(vec![7u8; 5000]);
        let opens = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let (o2, e2) = (opens.clone(), extra.clone());
        let pushed = c
            .push_blob(&r, &sha256_of(&extra), extra.len() as u64, move || {
                o2.fetch_add(1, Ordering::SeqCst);
                let e2 = e2.clone();
                async move { Ok(std::io::Cursor::new(e2)) }
            })
            .await
            .unwrap();
        assert_eq!(pushed, BlobPush::Uploaded);
        assert_eq!(opens.load(Ordering::SeqCst), 2);
        assert_eq!(
            c.blob_exists(&r, &sha256_of(&extra)).await.unwrap(),
            Some(5000)
        );
        // The broken download resumed with a Range request.
        let seen = proxy.seen.lock().unwrap().clone();
        assert!(
            seen.iter().any(|s| s.method == "GET"
                && s.path.contains(&big.to_string())
                && s.range.is_some()
                && s.status == 206),
            "{seen:?}"
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tags_pagination_delete_and_error_codes() {
    bounded(60, async {
        let reg = Registry::start(Auth::Anonymous).await;
        let c = client_with(Credential::Anonymous);
        let img = TestImage::new("tags", &[100]);
        for t in ["a", "b", "c"] {
            img.push(&c, &reg.reference(&format!("t/app:{t}")))
                .await
                .unwrap();
        }
        let other = TestImage::new("other", &[100]);
        other.push(&c, &reg.reference("t/app:d")).await.unwrap();
        let repo = reg.reference("t/app:a");
        let mut tags = c.list_tags(&repo, Some(1)).await.unwrap();
        tags.sort();
        assert_eq!(tags, ["a", "b", "c", "d"]);
        img.push(&c, &reg.reference("t/second:1")).await.unwrap();
        img.push(&c, &reg.reference("t/third:1")).await.unwrap();
        // Through a counting proxy: the catalog comes one repository per page.
        let proxy = Proxy::start(&reg.host).await;
        let mut cat = c.catalog(&proxy.host(), Some(1)).await.unwrap();
        cat.sort();
        assert_eq!(cat, ["t/app", "t/second", "t/third"]);
        assert!(
            proxy.count("GET", "/v2/_catalog") >= 3,
            "{:?}",
            proxy.seen.lock().unwrap()
        );

        // Delete by tag: resolves the digest and removes the manifest.
        c.delete_manifest(&reg.reference("t/app:d")).await.unwrap();
        let e = c
            .get_manifest(&reg.reference("t/app:d"), &[])
            .await
            .unwrap_err();
        assert_eq!(e.code(), Some(&ErrorCode::ManifestUnknown), "{e}");
        assert!(e.hint().unwrap().contains("tag or digest"));
        let by_digest = reg
            .reference("t/app:a")
            .with_digest(other.manifest_digest.clone());
        assert!(c.head_manifest(&by_digest).await.unwrap().is_none());

        // Unknown repository.
        let e = c
            .list_tags(&reg.reference("nope/nothing:x"), None)
            .await
            .unwrap_err();
        assert_eq!(e.code(), Some(&ErrorCode::NameUnknown), "{e}");
        assert!(e.to_string().contains("NAME_UNKNOWN"), "{e}");
        assert!(e.hint().is_some());
        // Unknown blob.
        let mut sink = Vec::new();
        let e = c
            .get_blob(&repo, &sha256_of(b"absent"), &mut sink)
            .await
            .unwrap_err();
        assert_eq!(e.code(), Some(&ErrorCode::BlobUnknown), "{e}");
        assert_eq!(
            c.blob_exists(&repo, &sha256_of(b"absent")).await.unwrap(),
            None
        );
        assert_eq!(
            c.blob_exists(&repo, &sha256_of(&img.layers[0]))
                .await
                .unwrap(),
            Some(100)
        );
        // A manifest naming a missing blob.
        let bad = TestImage::new("unpushed", &[10]);
        let e = c
            .put_manifest(
                &reg.reference("t/app:bad"),
                &MediaType::ImageManifest,
                bad.manifest.clone(),
            )
            .await
            .unwrap_err();
        assert_eq!(e.code(), Some(&ErrorCode::ManifestBlobUnknown), "{e}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_registry_on_loopback() {
    bounded(60, async {
        let reg = Registry::start_tls().await;
        let c = client_with(Credential::Anonymous);
        let img = TestImage::new("tls", &[2000]);
        let r = reg.reference("secure/app:1");
        img.push(&c, &r).await.unwrap();
        img.pull_and_compare(&c, &r).await.unwrap();
        // The registry only speaks TLS, so the client must have used https.
        let plain = reqwest::get(format!("http://{}/v2/", reg.host))
            .await
            .unwrap();
        assert_eq!(plain.status().as_u16(), 400);
    })
    .await;
}
