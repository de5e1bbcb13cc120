//! Tests against tiny in-process fakes: corrupted content, redirects to storage hosts.

mod harness;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use hoist_oci::{Reference, sha256_of};
use hoist_registry::{BlobPush, Client, ClientOptions, Credential, RegistryError};

use harness::http::{respond, serve};
use harness::{PASSWORD, bounded, client_with, user_cred};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corrupted_blob_and_manifest_are_rejected() {
    bounded(30, async {
        let good = Bytes::from_static(b"the real content");
        let expected = sha256_of(&good);
        let addr = serve(Arc::new(move |req| {
            Box::pin(async move {
                let p = req.uri().path().to_string();
                if p == "/v2/" {
                    respond(200, &[], "")
                } else if p.contains("/blobs/") {
                    respond(
                        200,
                        &[("content-type", "application/octet-stream")],
                        "tampered content!",
                    )
                } else if p.contains("/manifests/") {
                    respond(
                        200,
                        &[("content-type", "application/vnd.oci.image.manifest.v1+json")],
                        r#"{"schemaVersion":2}"#,
                    )
                } else {
                    respond(404, &[], "")
                }
            })
        }))
        .await;
        let c = client_with(Credential::Anonymous);
        let repo = Reference::parse(&format!("{addr}/x/y:1")).unwrap();
        let mut sink = Vec::new();
        let e = c.get_blob(&repo, &expected, &mut sink).await.unwrap_err();
        match &e {
            RegistryError::DigestMismatch {
                expected: want,
                actual,
                ..
            } => {
                assert_eq!(*want, expected);
                assert_eq!(*actual, sha256_of(b"tampered content!"));
            }
            other => panic!("{other:?}"),
        }
        let msg = e.to_string();
        assert!(
            msg.contains(&expected.to_string())
                && msg.contains(&sha256_of(b"tampered content!").to_string()),
            "{msg}"
        );
        assert!(e.hint().is_some());
        let pinned = repo.with_digest(sha256_of(b"{}"));
        let e = c.get_manifest(&pinned, &[]).await.unwrap_err();
        assert!(matches!(e, RegistryError::DigestMismatch { .. }), "{e:?}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schema1_is_unsupported() {
    bounded(30, async {
        let addr = serve(Arc::new(|req| {
            Box::pin(async move {
                if req.uri().path() == "/v2/" {
                    respond(200, &[], "")
                } else {
                    respond(
                        200,
                        &[(
                            "content-type",
                            "application/vnd.docker.distribution.manifest.v1+prettyjws",
                        )],
                        r#"{"schemaVersion":1}"#,
                    )
                }
            })
        }))
        .await;
        let c = client_with(Credential::Anonymous);
        let e = c
            .get_manifest(
                &Reference::parse(&format!("{addr}/old/image:1")).unwrap(),
                &[],
            )
            .await
            .unwrap_err();
        assert!(matches!(e, RegistryError::Unsupported { .. }), "{e:?}");
        assert!(e.to_string().contains("schema1"), "{e}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirect_to_storage_host_gets_no_authorization() {
    bounded(30, async {
        let blob = Bytes::from_static(b"layer bytes served by storage");
        let digest = sha256_of(&blob);
        // "Storage": another port, records any Authorization it receives.
        let storage_auth: Arc<Mutex<Vec<Option<String>>>> = Arc::default();
        let sa = storage_auth.clone();
        let b2 = blob.clone();
        let storage = serve(Arc::new(move |req| {
            let (sa, b2) = (sa.clone(), b2.clone());
            Box::pin(async move {
                let a = req.headers().get("authorization").map(|v| v.to_str().unwrap_or("?").to_string());
                sa.lock().unwrap().push(a);
                respond(200, &[("content-type", "application/octet-stream")], b2)
            })
        }))
        .await;
        // The registry: Basic auth, redirects blob GETs to storage with a signed URL.
        let registry_authed = Arc::new(AtomicUsize::new(0));
        let ra = registry_authed.clone();
        let registry = serve(Arc::new(move |req| {
            let ra = ra.clone();
            Box::pin(async move {
                let authed = req.headers().get("authorization").is_some();
                if !authed {
                    return respond(401, &[("www-authenticate", r#"Basic realm="fake""#)], r#"{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}"#);
                }
                ra.fetch_add(1, Ordering::SeqCst);
                if req.uri().path().contains("/blobs/") {
                    let loc = format!("http://localhost:{}/bucket/blob?X-Signature=abc", storage.port());
                    respond(307, &[("location", &loc)], "")
                } else {
                    respond(200, &[], "")
                }
            })
        }))
        .await;
        let c = client_with(user_cred());
        let repo = Reference::parse(&format!("{registry}/r/app:1")).unwrap();
        let mut sink = Vec::new();
        let n = c.get_blob(&repo, &digest, &mut sink).await.unwrap();
        assert_eq!(n, blob.len() as u64);
        assert_eq!(sink, blob);
        assert!(registry_authed.load(Ordering::SeqCst) >= 1, "the registry itself got credentials");
        let seen = storage_auth.lock().unwrap().clone();
        assert_eq!(seen, vec![None], "storage must not see Authorization");
        assert!(!format!("{c:?}").contains(PASSWORD));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tag_list_follows_link_pages() {
    bounded(30, async {
        let pages = Arc::new(AtomicUsize::new(0));
        let p2 = pages.clone();
        let addr = serve(Arc::new(move |req| {
            let p2 = p2.clone();
            Box::pin(async move {
                let q = req.uri().query().unwrap_or("").to_string();
                if req.uri().path() == "/v2/" {
                    return respond(200, &[], "");
                }
                p2.fetch_add(1, Ordering::SeqCst);
                match q.as_str() {
                    "n=2" => respond(
                        200,
                        &[("link", r#"</v2/a/b/tags/list?n=2&last=t2>; rel="next""#)],
                        r#"{"name":"a/b","tags":["t1","t2"]}"#,
                    ),
                    "n=2&last=t2" => respond(
                        200,
                        &[("link", r#"</v2/a/b/tags/list?n=2&last=t3>; rel="next""#)],
                        r#"{"name":"a/b","tags":["t3"]}"#,
                    ),
                    _ => respond(200, &[], r#"{"name":"a/b","tags":null}"#),
                }
            })
        }))
        .await;
        let c = client_with(Credential::Anonymous);
        let tags = c
            .list_tags(&Reference::parse(&format!("{addr}/a/b")).unwrap(), Some(2))
            .await
            .unwrap();
        assert_eq!(tags, ["t1", "t2", "t3"]);
        assert_eq!(pages.load(Ordering::SeqCst), 3);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rejected_chunks_fall_back_to_one_streamed_put() {
    bounded(30, async {
        let log: Arc<Mutex<Vec<String>>> = Arc::default();
        let l2 = log.clone();
        let addr = serve(Arc::new(move |req| {
            let l2 = l2.clone();
            Box::pin(async move {
                let method = req.method().to_string();
                let path = req.uri().path().to_string();
                let query = req.uri().query().unwrap_or("").to_string();
                let has_range = req.headers().contains_key("content-range");
                let (_, body) = harness::http::body_bytes(req).await;
                l2.lock().unwrap().push(format!("{method} {path} {}", body.len()));
                match (method.as_str(), path.as_str()) {
                    (_, "/v2/") => respond(200, &[], ""),
                    ("HEAD", _) => respond(404, &[], ""),
                    ("POST", _) => respond(202, &[("location", "/upload/1")], ""),
                    ("PATCH", _) if has_range => respond(416, &[], ""),
                    ("DELETE", _) => respond(204, &[], ""),
                    ("PUT", "/upload/1") => {
                        let want = query.strip_prefix("digest=").unwrap_or("").replace("%3A", ":");
                        if sha256_of(&body).to_string() == want {
                            respond(201, &[("docker-content-digest", &want)], "")
                        } else {
                            respond(400, &[], r#"{"errors":[{"code":"DIGEST_INVALID","message":"digest did not match"}]}"#)
                        }
                    }
                    _ => respond(404, &[], ""),
                }
            })
        }))
        .await;
        let c = Client::new(ClientOptions {
            chunk_size: 1024,
            ..harness::fast_options()
        })
        .unwrap();
        let blob = Bytes::from(vec![42u8; 5000]);
        let opens = Arc::new(AtomicUsize::new(0));
        let (o2, b2) = (opens.clone(), blob.clone());
        let repo = Reference::parse(&format!("{addr}/x/y")).unwrap();
        let res = c
            .push_blob(&repo, &sha256_of(&blob), blob.len() as u64, move || {
                o2.fetch_add(1, Ordering::SeqCst);
                let b2 = b2.clone();
                async move { Ok(std::io::Cursor::new(b2)) }
            })
            .await
            .unwrap();
        assert_eq!(res, BlobPush::Uploaded);
        assert_eq!(opens.load(Ordering::SeqCst), 2, "source re-opened for the single PUT");
        let log = log.lock().unwrap().clone();
        assert_eq!(log.iter().filter(|l| l.starts_with("PATCH")).count(), 1, "{log:?}");
        assert!(log.contains(&"DELETE /upload/1 0".to_string()), "{log:?}");
        assert!(log.contains(&"PUT /upload/1 5000".to_string()), "{log:?}");

        // A source whose bytes do not match the digest is refused by the registry.
        let wrong = sha256_of(b"something else");
        let b3 = blob.clone();
        let e = c
            .push_blob(&repo, &wrong, blob.len() as u64, move || {
                let b3 = b3.clone();
                async move { Ok(std::io::Cursor::new(b3)) }
            })
            .await
            .unwrap_err();
        assert_eq!(e.code(), Some(&hoist_registry::ErrorCode::DigestInvalid), "{e}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn downloads_per_registry_are_limited() {
    bounded(30, async {
        let blob = Bytes::from_static(b"limited");
        let digest = sha256_of(&blob);
        let in_flight = Arc::new(AtomicUsize::new(0));
        let max_seen = Arc::new(AtomicUsize::new(0));
        let (f2, m2) = (in_flight.clone(), max_seen.clone());
        let addr = serve(Arc::new(move |req| {
            let (f2, m2) = (f2.clone(), m2.clone());
            Box::pin(async move {
                if req.uri().path() == "/v2/" {
                    return respond(200, &[], "");
                }
                let now = f2.fetch_add(1, Ordering::SeqCst) + 1;
                m2.fetch_max(now, Ordering::SeqCst);
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                f2.fetch_sub(1, Ordering::SeqCst);
                respond(200, &[], "limited")
            })
        }))
        .await;
        let c = Client::new(ClientOptions {
            max_concurrent_downloads: 2,
            ..harness::fast_options()
        })
        .unwrap();
        let repo = Reference::parse(&format!("{addr}/x/y")).unwrap();
        let mut tasks = Vec::new();
        for _ in 0..6 {
            let (c, repo, digest) = (c.clone(), repo.clone(), digest.clone());
            tasks.push(tokio::spawn(async move {
                let mut sink = Vec::new();
                c.get_blob(&repo, &digest, &mut sink).await.map(|_| sink)
            }));
        }
        for t in tasks {
            assert_eq!(t.await.unwrap().unwrap(), b"limited");
        }
        assert_eq!(max_seen.load(Ordering::SeqCst), 2);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn insufficient_scope_requests_the_union_of_scopes() {
    bounded(30, async {
        // Token server: the token is the space-joined scopes it was asked for.
        let asked: Arc<Mutex<Vec<Vec<String>>>> = Arc::default();
        let a2 = asked.clone();
        let tokens = serve(Arc::new(move |req| {
            let a2 = a2.clone();
            Box::pin(async move {
                let scopes: Vec<String> = form_urlencoded::parse(req.uri().query().unwrap_or("").as_bytes())
                    .filter(|(k, _)| k == "scope")
                    .map(|(_, v)| v.into_owned())
                    .collect();
                a2.lock().unwrap().push(scopes.clone());
                let body = serde_json::json!({"token": scopes.join("|"), "expires_in": 120});
                respond(200, &[("content-type", "application/json")], body.to_string())
            })
        }))
        .await;
        let realm = format!("http://{tokens}/token");
        let registry = serve(Arc::new(move |req| {
            let realm = realm.clone();
            Box::pin(async move {
                let auth = req.headers().get("authorization").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
                let challenge = |scope: &str, err: bool| {
                    let mut c = format!(r#"Bearer realm="{realm}",service="fake",scope="{scope}""#);
                    if err {
                        c.push_str(r#",error="insufficient_scope""#);
                    }
                    c
                };
                if req.uri().path() == "/v2/" {
                    return respond(401, &[("www-authenticate", &challenge("", false))], "");
                }
                // This manifest needs pull on a/b and on x/y (say, a referrer check).
                if auth.contains("repository:a/b:pull") && auth.contains("repository:x/y:pull") {
                    respond(200, &[("content-type", "application/vnd.oci.image.manifest.v1+json")], r#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json"}"#)
                } else {
                    let ch = challenge("repository:x/y:pull", true);
                    respond(401, &[("www-authenticate", &ch)], r#"{"errors":[{"code":"DENIED","message":"insufficient scope"}]}"#)
                }
            })
        }))
        .await;
        let c = client_with(Credential::Anonymous);
        let r = Reference::parse(&format!("{registry}/a/b:1")).unwrap();
        let m = c.get_manifest(&r, &[]).await.unwrap();
        assert_eq!(m.media_type, hoist_oci::MediaType::ImageManifest);
        let asked = asked.lock().unwrap().clone();
        assert_eq!(asked.len(), 2, "{asked:?}");
        assert_eq!(asked[0], ["repository:a/b:pull"]);
        assert_eq!(asked[1], ["repository:a/b:pull", "repository:x/y:pull"]);
    })
    .await;
}
