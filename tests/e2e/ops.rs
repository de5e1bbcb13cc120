//! `hoist copy`, `hoist registry tag|ls|rm|inspect` and `hoist manifest create` against
//! the real CNCF distribution registry, checked with skopeo and through the harness's
//! recording proxy.

use crate::registry::reg_harness::proxy::Proxy;
use crate::registry::reg_harness::{Auth, PASSWORD, Registry, USER};

use crate::harness::{Hoist, fixture, flunk, run_tool, tool};

/// Registries and a proxy, with the runtime their in-process parts run on.
struct Live {
    rt: tokio::runtime::Runtime,
}

impl Live {
    fn new() -> Live {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        Live { rt }
    }

    fn registry(&self, auth: Auth) -> Registry {
        self.rt.block_on(Registry::start(auth))
    }

    fn proxy(&self, upstream: &str) -> Proxy {
        self.rt.block_on(Proxy::start(upstream))
    }
}

fn ok(h: &Hoist, args: &[&str]) -> (String, String) {
    h.ok_both(args)
}

fn fail(h: &Hoist, args: &[&str]) -> String {
    flunk(h.command(args), args)
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

/// skopeo's raw manifest of `image` (a `docker://` reference without the scheme).
fn skopeo_raw(image: &str, creds: Option<&str>) -> String {
    let mut c = tool("skopeo");
    c.args(["inspect", "--tls-verify=false", "--raw"]);
    if let Some(cr) = creds {
        c.args(["--creds", cr]);
    }
    c.arg(format!("docker://{image}"));
    run_tool(c)
}

fn digest_of(raw: &str) -> String {
    format!("sha256:{}", sha256_hex(raw.as_bytes()))
}

/// Progress lines of blobs that ended with `outcome`.
fn blobs(text: &str, outcome: &str) -> usize {
    text.lines()
        .filter(|l| l.starts_with("Copying blob ") && l.contains(outcome))
        .count()
}

/// Builds the scratch-copy fixture for linux/amd64 and linux/arm64, joins them in an
/// index with `hoist manifest create`, pushes it to `dest`; returns the index digest
/// and the children's digests (amd64, arm64).
fn push_two_platform_index(h: &Hoist, dest: &str) -> (String, Vec<String>) {
    let ctx = fixture("scratch-copy");
    for arch in ["amd64", "arm64"] {
        ok(
            h,
            &[
                "build",
                "-q",
                "--platform",
                &format!("linux/{arch}"),
                "-t",
                &format!("localhost/multi:{arch}"),
                &ctx,
            ],
        );
    }
    let (idx, _) = ok(
        h,
        &[
            "manifest",
            "create",
            "localhost/multi:all",
            "localhost/multi:amd64",
            "localhost/multi:arm64",
        ],
    );
    let (pushed, _) = ok(h, &["push", "-q", "localhost/multi:all", dest]);
    assert_eq!(pushed.trim(), idx.trim(), "push kept the index digest");
    let raw = skopeo_raw(dest, None);
    assert_eq!(digest_of(&raw), idx.trim());
    let v: serde_json::Value = serde_json::from_str(&raw).expect("index json");
    let children: Vec<String> = v["manifests"]
        .as_array()
        .expect("manifests")
        .iter()
        .map(|m| m["digest"].as_str().expect("digest").to_string())
        .collect();
    let archs: Vec<&str> = v["manifests"]
        .as_array()
        .expect("manifests")
        .iter()
        .map(|m| m["platform"]["architecture"].as_str().expect("arch"))
        .collect();
    assert_eq!(archs, ["amd64", "arm64"]);
    (idx.trim().to_string(), children)
}

/// Distinct blobs of the two-platform image: two configs and the two COPY layers,
/// which both platforms share.
const BLOBS: usize = 4;

/// Every child of `image`'s index is served under the same digest at `repo`.
fn assert_children(repo: &str, children: &[String], creds: Option<&str>) {
    for c in children {
        let raw = skopeo_raw(&format!("{repo}@{c}"), creds);
        assert_eq!(&digest_of(&raw), c);
    }
}

#[test]
fn copy_all_keeps_every_digest_within_and_across_registries() {
    let live = Live::new();
    let a = live.registry(Auth::Anonymous);
    let b = live.registry(Auth::Htpasswd);
    let proxy = live.proxy(&a.host);
    let pa = proxy.host();
    let h = Hoist::new();
    let src = format!("{pa}/src/app:v1");
    let (idx, children) = push_two_platform_index(&h, &src);
    let before = proxy.seen.lock().expect("lock").len();

    // Same registry: every blob is mounted, no blob bytes are uploaded.
    let dst = format!("{pa}/dst/app:v1");
    let (out, se) = ok(&h, &["copy", "--all", &src, &dst]);
    assert_eq!(out.trim(), idx);
    assert_eq!(blobs(&se, "mounted"), BLOBS, "{se}");
    assert_eq!(blobs(&se, "done ("), 0, "{se}");
    let seen = proxy.seen.lock().expect("lock")[before..].to_vec();
    let uploads = seen
        .iter()
        .filter(|s| {
            (s.method == "PATCH" || s.method == "PUT") && s.path.contains("/blobs/uploads/")
        })
        .count();
    assert_eq!(uploads, 0, "same-registry copy uploaded blob bytes");
    let mounts = seen
        .iter()
        .filter(|s| s.method == "POST" && s.path.contains("mount="))
        .count();
    assert_eq!(mounts, BLOBS);
    let blob_gets = seen
        .iter()
        .filter(|s| s.method == "GET" && s.path.contains("/blobs/"))
        .count();
    assert_eq!(blob_gets, 0, "same-registry copy downloaded blobs");
    assert_eq!(digest_of(&skopeo_raw(&dst, None)), idx);
    assert_children(&format!("{pa}/dst/app"), &children, None);

    // Another registry with basic auth: credentials only by --dest-creds.
    let creds = format!("{USER}:{PASSWORD}");
    let remote = format!("{}/mirror/app:v1", b.host);
    let se = fail(&h, &["copy", &src, &remote]);
    assert!(se.contains("error:"), "{se}");
    assert!(
        se.contains(&format!("hint: run hoist login {}", b.host)),
        "{se}"
    );
    let (out, se) = ok(&h, &["copy", "--dest-creds", &creds, &src, &remote]);
    assert_eq!(out.trim(), idx);
    assert_eq!(blobs(&se, "done ("), BLOBS, "{se}");
    assert_eq!(digest_of(&skopeo_raw(&remote, Some(&creds))), idx);
    assert_children(&format!("{}/mirror/app", b.host), &children, Some(&creds));
    // Again: everything is there already.
    let (_, se) = ok(&h, &["copy", "--dest-creds", &creds, &src, &remote]);
    assert_eq!(blobs(&se, "already exists"), BLOBS, "{se}");

    // Back from the authenticated registry by digest, to a destination without tag.
    let by_digest = format!("{}/mirror/app@{idx}", b.host);
    let back = format!("{}/bydigest/app", a.host);
    let (out, _) = ok(&h, &["copy", "--src-creds", &creds, &by_digest, &back]);
    assert_eq!(out.trim(), idx);
    assert_eq!(digest_of(&skopeo_raw(&format!("{back}@{idx}"), None)), idx);

    // One platform: the arm64 child, under a tag, with a note about the digest.
    let one = format!("{}/one/app:arm", a.host);
    let (out, se) = ok(&h, &["copy", "--platform", "linux/arm64", &src, &one]);
    assert_eq!(out.trim(), children[1]);
    assert!(se.contains("differs from the index"), "{se}");
    assert_eq!(digest_of(&skopeo_raw(&one, None)), children[1]);
    let se = fail(&h, &["copy", "--platform", "linux/s390x", &src, &one]);
    assert!(se.contains("linux/amd64, linux/arm64"), "{se}");
}

#[test]
fn registry_tag_ls_inspect_and_rm() {
    let live = Live::new();
    let a = live.registry(Auth::Anonymous);
    let proxy = live.proxy(&a.host);
    let host = proxy.host();
    let h = Hoist::new();
    let src = format!("{host}/src/app:v1");
    let (idx, children) = push_two_platform_index(&h, &src);

    // Same repository: one manifest GET and PUT, no blob requests.
    let before = proxy.seen.lock().expect("lock").len();
    let (out, _) = ok(&h, &["registry", "tag", &src, "v2"]);
    assert_eq!(out.trim(), idx);
    let seen = proxy.seen.lock().expect("lock")[before..].to_vec();
    assert!(
        seen.iter().all(|s| !s.path.contains("/blobs/")),
        "{:?}",
        seen.len()
    );
    assert_eq!(
        digest_of(&skopeo_raw(&format!("{host}/src/app:v2"), None)),
        idx
    );
    // Another repository: blobs are mounted, then the manifests are put.
    let other = format!("{host}/other/app:v1");
    let (out, se) = ok(&h, &["registry", "tag", &src, &other]);
    assert_eq!(out.trim(), idx);
    assert_eq!(blobs(&se, "mounted"), BLOBS, "{se}");
    assert_eq!(digest_of(&skopeo_raw(&other, None)), idx);

    // Listings, one entry per page.
    let before = proxy.count("GET", "_catalog");
    let (out, _) = ok(
        &h,
        &[
            "registry",
            "ls",
            &host,
            "--page-size",
            "1",
            "--format",
            "json",
        ],
    );
    let repos: Vec<String> = serde_json::from_str(&out).expect("json");
    assert_eq!(repos, ["other/app", "src/app"]);
    assert!(
        proxy.count("GET", "_catalog") - before >= 2,
        "not paginated"
    );
    let before = proxy.count("GET", "tags/list?n=1");
    let (out, _) = ok(
        &h,
        &[
            "registry",
            "ls",
            &format!("{host}/src/app"),
            "--page-size",
            "1",
            "--format",
            "json",
        ],
    );
    let tags: Vec<String> = serde_json::from_str(&out).expect("json");
    assert_eq!(tags, ["v1", "v2"]);
    // distribution 2.8 ignores `n` for tags and answers in one page (Link pagination
    // of tags is covered by hoist-registry's fake-server test); the size is asked for.
    assert!(
        proxy.count("GET", "tags/list?n=1") > before,
        "no page size sent"
    );
    let (out, _) = ok(
        &h,
        &[
            "registry",
            "ls",
            &format!("{host}/src/app"),
            "--digests",
            "--format",
            "json",
        ],
    );
    let infos: serde_json::Value = serde_json::from_str(&out).expect("json");
    for i in infos.as_array().expect("array") {
        assert_eq!(i["digest"], idx.as_str());
        assert_eq!(
            i["platforms"],
            serde_json::json!(["linux/amd64", "linux/arm64"])
        );
        assert!(i["size"].as_u64().expect("size") > 0);
    }
    let (out, _) = ok(
        &h,
        &[
            "registry",
            "ls",
            &format!("{host}/src/app"),
            "--digests",
            "--format",
            "table",
        ],
    );
    assert!(out.starts_with("TAG"), "{out}");
    assert!(out.contains("linux/amd64,linux/arm64"), "{out}");

    // Inspect: raw bytes are digest-stable; a platform's manifest and config.
    let (raw, _) = ok(&h, &["registry", "inspect", "--raw", &src]);
    assert_eq!(digest_of(&raw), idx);
    let (raw, _) = ok(
        &h,
        &[
            "registry",
            "inspect",
            "--raw",
            "--platform",
            "linux/arm64",
            &src,
        ],
    );
    assert_eq!(digest_of(&raw), children[1]);
    let (out, _) = ok(
        &h,
        &["registry", "inspect", "--platform", "linux/arm64", &src],
    );
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(v["index"]["digest"], idx.as_str());
    assert_eq!(v["manifest"]["platform"], "linux/arm64");
    assert!(
        !v["manifest"]["layers"]
            .as_array()
            .expect("layers")
            .is_empty()
    );
    let (out, _) = ok(
        &h,
        &[
            "registry",
            "inspect",
            "--config",
            "--platform",
            "linux/amd64",
            &src,
        ],
    );
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(v["architecture"], "amd64");

    // rm: never prompts without a terminal; warns about the other tag; other repos stay.
    let se = fail(&h, &["registry", "rm", &src]);
    assert!(se.contains("--yes"), "{se}");
    let (out, se) = ok(&h, &["registry", "rm", "--yes", &src]);
    assert!(out.contains(&idx), "{out}");
    assert!(se.contains("also removes tags v2"), "{se}");
    let (out, _) = ok(
        &h,
        &[
            "registry",
            "ls",
            &format!("{host}/src/app"),
            "--format",
            "json",
        ],
    );
    let tags: Vec<String> = serde_json::from_str(&out).expect("json");
    assert!(tags.is_empty(), "{tags:?}");
    assert_eq!(digest_of(&skopeo_raw(&other, None)), idx);
    let se = fail(
        &h,
        &["registry", "rm", "--yes", &format!("{host}/other/app:nope")],
    );
    assert!(
        se.contains("MANIFEST_UNKNOWN") || se.contains("manifest unknown"),
        "{se}"
    );
    assert!(se.contains("hint:"), "{se}");
    // --all-tags empties a repository.
    ok(&h, &["registry", "tag", &other, "v9"]);
    ok(
        &h,
        &[
            "registry",
            "rm",
            "--yes",
            "--all-tags",
            &format!("{host}/other/app"),
        ],
    );
    let (out, _) = ok(
        &h,
        &[
            "registry",
            "ls",
            &format!("{host}/other/app"),
            "--format",
            "json",
        ],
    );
    let tags: Vec<String> = serde_json::from_str(&out).expect("json");
    assert!(tags.is_empty(), "{tags:?}");
}

#[test]
fn registry_rm_with_deletes_disabled_says_so() {
    let live = Live::new();
    let a = live
        .rt
        .block_on(Registry::start_without_delete(Auth::Anonymous));
    let h = Hoist::new();
    ok(
        &h,
        &[
            "build",
            "-q",
            "-t",
            "localhost/one:1",
            &fixture("scratch-copy"),
        ],
    );
    let dest = format!("{}/keep/one:1", a.host);
    ok(&h, &["push", "-q", "localhost/one:1", &dest]);
    let se = fail(&h, &["registry", "rm", "--yes", &dest]);
    assert!(
        se.contains("UNSUPPORTED") || se.contains("unsupported"),
        "{se}"
    );
    assert!(
        se.contains("hint: the registry has deletes disabled"),
        "{se}"
    );
    skopeo_raw(&dest, None);
}

#[test]
fn copy_from_a_skopeo_oci_layout_and_to_docker_archive() {
    let live = Live::new();
    let a = live.registry(Auth::Anonymous);
    let h = Hoist::new();
    ok(
        &h,
        &[
            "build",
            "-q",
            "-t",
            "localhost/one:1",
            &fixture("scratch-copy"),
        ],
    );
    let pushed = format!("{}/one/app:1", a.host);
    ok(&h, &["push", "-q", "localhost/one:1", &pushed]);
    let layout = h.path("layout");
    let mut c = tool("skopeo");
    c.args(["copy", "--src-tls-verify=false", "--preserve-digests"])
        .arg(format!("docker://{pushed}"))
        .arg(format!("oci:{}:1", layout.display()));
    run_tool(c);

    let dest = format!("{}/fromoci/app:1", a.host);
    let (out, _) = ok(&h, &["copy", &format!("oci:{}:1", layout.display()), &dest]);
    assert_eq!(out.trim(), digest_of(&skopeo_raw(&pushed, None)));
    assert_eq!(digest_of(&skopeo_raw(&dest, None)), out.trim());

    // To a docker-archive, read back by skopeo; and into the store.
    let archive = h.path("one.tar");
    ok(
        &h,
        &[
            "copy",
            &dest,
            &format!("docker-archive:{}", archive.display()),
        ],
    );
    let mut c = tool("skopeo");
    c.arg("inspect")
        .arg(format!("docker-archive:{}", archive.display()));
    let v: serde_json::Value = serde_json::from_str(&run_tool(c)).expect("json");
    assert_eq!(v["Os"], "linux");
    let (out, _) = ok(&h, &["copy", &dest, "store:localhost/copied:1"]);
    assert_eq!(out.trim(), digest_of(&skopeo_raw(&dest, None)));
    ok(&h, &["inspect", "localhost/copied:1"]);
}

#[test]
fn copy_streams_through_a_broken_source_connection_and_fails_cleanly() {
    use crate::registry::reg_harness::proxy::{Fault, FaultKind};
    let live = Live::new();
    let a = live.registry(Auth::Anonymous);
    let b = live.registry(Auth::Anonymous);
    let proxy = live.proxy(&a.host);
    let h = Hoist::new();
    let src = format!("{}/src/app:v1", proxy.host());
    let (idx, _) = push_two_platform_index(&h, &src);

    // A connection reset half way through a blob: the download resumes with Range and
    // the upload on the other side never notices.
    proxy.add_fault(Fault {
        method: "GET",
        path_contains: "/blobs/sha256:".into(),
        kind: FaultKind::ResetMidBody,
        times: 1,
    });
    let dst = format!("{}/dst/app:v1", b.host);
    let (out, _) = ok(&h, &["copy", "-q", &src, &dst]);
    assert_eq!(out.trim(), idx);
    assert_eq!(proxy.faults_left(), 0);
    assert!(
        proxy
            .seen
            .lock()
            .expect("lock")
            .iter()
            .any(|s| s.range.is_some()),
        "the broken download was not resumed"
    );
    assert_eq!(digest_of(&skopeo_raw(&dst, None)), idx);

    // A source that keeps failing: a clear error, and no manifest at the destination.
    proxy.add_fault(Fault {
        method: "GET",
        path_contains: "/blobs/sha256:".into(),
        kind: FaultKind::Status(500),
        times: 100,
    });
    let broken = format!("{}/broken/app:v1", b.host);
    let se = fail(&h, &["copy", "-q", "--retry", "1", &src, &broken]);
    assert!(se.starts_with("error: cannot copy"), "{se}");
    let mut c = tool("skopeo");
    c.args(["inspect", "--tls-verify=false", "--raw"])
        .arg(format!("docker://{broken}"));
    assert!(!c.output().expect("skopeo").status.success());
}
