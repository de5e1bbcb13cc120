//! `hoist login/logout/pull/push`, `build --push` and `FROM <registry image>` against the
//! real CNCF distribution registry (Debian's `docker-registry`), checked with skopeo.

#[path = "../../crates/hoist-registry/tests/harness/mod.rs"]
#[allow(unused_imports)]
pub(crate) mod reg_harness;

use std::os::unix::fs::PermissionsExt;
use std::process::{Output, Stdio};

use reg_harness::{Auth, PASSWORD, Registry, USER};

use crate::harness::{Hoist, fixture, flunk, read_json, run_tool, texts, tool};

/// A registry plus the runtime its in-process helpers (token server) run on; the hoist
/// binary is driven from the test thread meanwhile.
struct Live {
    reg: Registry,
    _rt: tokio::runtime::Runtime,
}

fn start(auth: Auth) -> Live {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let reg = rt.block_on(Registry::start(auth));
    Live { reg, _rt: rt }
}

/// A hoist workspace whose docker config lives in its own directory.
fn hoist() -> Hoist {
    Hoist::new()
}

fn config_path(h: &Hoist) -> std::path::PathBuf {
    h.path("docker/config.json")
}

/// Runs hoist in the workspace, feeding `stdin`.
fn run_in(h: &Hoist, args: &[&str], stdin: &str) -> Output {
    use std::io::Write;
    let mut c = h.command(args);
    c.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = c.spawn().expect("spawn hoist");
    let mut input = child.stdin.take().expect("stdin");
    input.write_all(stdin.as_bytes()).expect("write stdin");
    drop(input);
    child.wait_with_output().expect("hoist output")
}

fn ok_in(h: &Hoist, args: &[&str]) -> (String, String) {
    h.ok_both(args)
}

fn fail_in(h: &Hoist, args: &[&str]) -> String {
    flunk(h.command(args), args)
}

fn login(h: &Hoist, host: &str) {
    let out = run_in(
        h,
        &["login", host, "-u", USER, "--password-stdin"],
        &format!("{PASSWORD}\n"),
    );
    let (_, se) = texts(&out);
    assert!(out.status.success(), "login failed:\n{se}");
}

/// The digest skopeo reports for an image in the registry.
fn skopeo_digest(image: &str, creds: Option<&str>) -> String {
    let mut c = tool("skopeo");
    c.args(["inspect", "--tls-verify=false", "--raw"]);
    if let Some(cr) = creds {
        c.args(["--creds", cr]);
    }
    c.arg(format!("docker://{image}"));
    let raw = run_tool(c);
    format!("sha256:{}", sha256_hex(raw.as_bytes()))
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

/// Progress lines of blobs that ended with `outcome` (`done (`, `mounted`, ...).
fn blobs(text: &str, outcome: &str) -> usize {
    text.lines()
        .filter(|l| l.starts_with("Copying blob ") && l.contains(outcome))
        .count()
}

#[test]
fn login_checks_credentials_writes_0600_and_logout_removes_them() {
    let live = start(Auth::Htpasswd);
    let host = live.reg.host.as_str();
    let h = hoist();

    let out = run_in(
        &h,
        &["login", host, "-u", USER, "--password-stdin"],
        "wrong-password\n",
    );
    let (_, se) = texts(&out);
    assert!(!out.status.success(), "bad password accepted:\n{se}");
    assert!(se.contains("error: login to"), "{se}");
    assert!(
        se.contains(&format!("hint: run hoist login {host}")),
        "{se}"
    );
    assert!(!config_path(&h).exists(), "a failed login wrote the config");

    login(&h, host);
    let cfg = read_json(&config_path(&h));
    let auth = cfg["auths"][host]["auth"].as_str().expect("auth entry");
    assert!(!auth.is_empty());
    let mode = std::fs::metadata(config_path(&h))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);

    // -p works but warns; missing password without a terminal fails clearly.
    let (_, se) = ok_in(&h, &["login", host, "-u", USER, "-p", PASSWORD]);
    assert!(se.contains("--password-stdin"), "{se}");
    let se = fail_in(&h, &["login", host, "-u", USER]);
    assert!(se.contains("--password-stdin"), "{se}");

    let (_, se) = ok_in(&h, &["logout", host]);
    assert!(se.contains(host), "{se}");
    let cfg = read_json(&config_path(&h));
    assert!(cfg["auths"].get(host).is_none(), "{cfg}");
    let se = fail_in(&h, &["logout", host]);
    assert!(se.contains("not logged in"), "{se}");
}

#[test]
fn login_against_a_token_server() {
    let live = start(Auth::Token);
    let host = live.reg.host.as_str();
    let h = hoist();
    let out = run_in(
        &h,
        &["login", host, "-u", USER, "--password-stdin"],
        "nope\n",
    );
    assert!(!out.status.success(), "{}", texts(&out).1);
    login(&h, host);
    assert!(read_json(&config_path(&h))["auths"][host]["auth"].is_string());
}

#[test]
fn build_push_is_seen_by_skopeo_and_a_second_push_uploads_nothing() {
    let live = start(Auth::Htpasswd);
    let host = live.reg.host.clone();
    let h = hoist();
    let image = format!("{host}/samples/demo:1");
    let ctx = fixture("multistage");

    // Without credentials the push is refused, with a hint.
    let se = fail_in(&h, &["build", "-q", "-t", &image, "--push", &ctx]);
    assert!(se.contains("error:"), "{se}");
    assert!(
        se.contains(&format!("hint: run hoist login {host}")),
        "{se}"
    );

    login(&h, &host);
    let df = h.path("digest");
    let (_, se) = ok_in(
        &h,
        &[
            "build",
            "-t",
            &image,
            "--push",
            "--digest-file",
            df.to_str().unwrap(),
            &ctx,
        ],
    );
    let digest = std::fs::read_to_string(&df).unwrap();
    assert!(digest.starts_with("sha256:"), "{digest}");
    assert!(blobs(&se, "") >= 2, "{se}");
    let creds = format!("{USER}:{PASSWORD}");
    assert_eq!(skopeo_digest(&image, Some(&creds)), digest);

    // Same image again, under another tag of the same repository: every blob exists.
    let again = format!("{host}/samples/demo:again");
    let (so, se) = ok_in(&h, &["push", &image, &again]);
    assert_eq!(so.trim(), digest);
    assert_eq!(blobs(&se, " done ("), 0, "second push uploaded:\n{se}");
    assert!(blobs(&se, "skipped: already exists") >= 2, "{se}");
    assert!(se.contains("0 blobs uploaded"), "{se}");
    assert_eq!(skopeo_digest(&again, Some(&creds)), digest);

    // -q: only the digest.
    let (so, se) = ok_in(&h, &["push", "-q", &image]);
    assert_eq!(so.trim(), digest);
    assert_eq!(se.trim(), "", "{se}");
}

#[test]
fn pull_of_a_skopeo_copied_image_keeps_its_digest() {
    let live = start(Auth::Anonymous);
    let host = live.reg.host.clone();
    let builder = hoist();
    let layout = builder.path("layout");
    builder.ok(&[
        "build",
        "-q",
        "-t",
        "demo:1",
        "--output",
        &format!("type=oci,dest={}", layout.display()),
        &fixture("multistage"),
    ]);
    let image = format!("{host}/copied/demo:7");
    let mut c = tool("skopeo");
    c.args(["copy", "--dest-tls-verify=false"])
        .arg(format!("oci:{}", layout.display()))
        .arg(format!("docker://{image}"));
    run_tool(c);
    let remote = skopeo_digest(&image, None);

    let h = hoist();
    let (so, se) = ok_in(&h, &["pull", &image]);
    assert_eq!(so.trim(), remote, "{se}");
    assert!(blobs(&se, " done (") >= 2, "{se}");
    let inspect: serde_json::Value = serde_json::from_str(&h.ok(&["inspect", &image])).unwrap();
    assert_eq!(inspect["Digest"], remote.as_str());
    assert!(
        inspect["Config"]["config"]["Entrypoint"].is_array(),
        "{inspect}"
    );

    // Pulling again downloads nothing.
    let (so, se) = ok_in(&h, &["pull", &image]);
    assert_eq!(so.trim(), remote);
    assert_eq!(blobs(&se, " done ("), 0, "{se}");
    assert!(se.contains("0 blobs downloaded"), "{se}");

    // The pulled image is complete: it exports, and skopeo can read the export.
    let out = h.path("again.tar");
    h.ok(&["save", "-o", out.to_str().unwrap(), &image]);
    let mut c = tool("skopeo");
    c.args(["inspect", "--raw"])
        .arg(format!("oci-archive:{}", out.display()));
    assert_eq!(
        format!("sha256:{}", sha256_hex(run_tool(c).as_bytes())),
        remote
    );
}

#[test]
fn from_a_registry_base_pulls_it_and_pushing_elsewhere_mounts_its_layers() {
    let live = start(Auth::Anonymous);
    let host = live.reg.host.clone();
    let base = format!("{host}/base/demo:1");
    let publisher = hoist();
    ok_in(
        &publisher,
        &["build", "-q", "-t", &base, "--push", &fixture("multistage")],
    );
    let base_manifest: serde_json::Value = {
        let mut c = tool("skopeo");
        c.args(["inspect", "--tls-verify=false", "--raw"])
            .arg(format!("docker://{base}"));
        serde_json::from_str(&run_tool(c)).unwrap()
    };
    let base_layers = base_manifest["layers"].as_array().unwrap().len();
    assert!(base_layers >= 2);

    let h = hoist();
    std::fs::write(
        h.path("Dockerfile"),
        format!("FROM {base}\nLABEL stage=app\n"),
    )
    .unwrap();
    // --pull=never does not fetch.
    let se = fail_in(&h, &["build", "-q", "--pull=never", "-t", "app:1", "."]);
    assert!(se.contains("is not in the local store"), "{se}");
    assert!(se.contains("hint: pull it"), "{se}");

    let app = format!("{host}/app/demo:1");
    let (_, se) = ok_in(&h, &["build", "-t", &app, "--push", "."]);
    assert!(se.contains(&format!("Pulling {base}")), "{se}");
    assert_eq!(blobs(&se, "mounted"), base_layers, "{se}");
    // Only the new config is uploaded: no layer moves.
    assert!(se.contains("1 blobs uploaded"), "{se}");
    assert!(se.contains(&format!("{base_layers} mounted")), "{se}");
    let app_manifest: serde_json::Value = {
        let mut c = tool("skopeo");
        c.args(["inspect", "--tls-verify=false", "--raw"])
            .arg(format!("docker://{app}"));
        serde_json::from_str(&run_tool(c)).unwrap()
    };
    assert_eq!(app_manifest["layers"], base_manifest["layers"]);

    // The base is now local: a second build does not pull again (policy missing).
    let (_, se) = ok_in(&h, &["build", "-t", "app:2", "."]);
    assert!(!se.contains("Pulling"), "{se}");
}

#[test]
fn credential_helpers_run_only_when_allowed() {
    let live = start(Auth::Htpasswd);
    let host = live.reg.host.clone();
    let h = hoist();
    // A docker credential helper that answers for this registry only.
    let bin = h.path("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let helper = bin.join("docker-credential-hoisttest");
    std::fs::write(
        &helper,
        format!(
            "#!/bin/sh\n[ \"$1\" = get ] || exit 3\nread server\n\
             [ \"$server\" = \"{host}\" ] || {{ echo 'credentials not found in native keychain'; exit 1; }}\n\
             echo '{{\"ServerURL\":\"{host}\",\"Username\":\"{USER}\",\"Secret\":\"{PASSWORD}\"}}'\n"
        ),
    )
    .unwrap();
    std::fs::set_permissions(&helper, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::create_dir_all(h.path("docker")).unwrap();
    std::fs::write(
        config_path(&h),
        format!(r#"{{"credHelpers":{{"{host}":"hoisttest"}}}}"#),
    )
    .unwrap();
    let image = format!("{host}/helpers/demo:1");
    let ctx = fixture("scratch-copy");
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let df = h.path("digest");
    let df = df.to_str().unwrap();
    let push = |extra: &[&str]| {
        let mut args = vec!["build", "-q", "-t", &image, "--push", "--digest-file", df];
        args.extend_from_slice(extra);
        args.push(ctx.as_str());
        let mut c = h.command(&args);
        c.env("PATH", &path);
        c.output().expect("run hoist")
    };

    // Not allowed: the helper is not run, the message names the entry and the flag.
    let out = push(&[]);
    let (_, se) = texts(&out);
    assert!(!out.status.success(), "{se}");
    assert!(se.contains("docker-credential-hoisttest"), "{se}");
    assert!(se.contains("credHelpers"), "{se}");
    assert!(se.contains("--allow-credential-helpers"), "{se}");

    // Allowed: the helper's credentials push the image.
    let out = push(&["--allow-credential-helpers"]);
    let (_, se) = texts(&out);
    assert!(out.status.success(), "{se}");
    let creds = format!("{USER}:{PASSWORD}");
    let digest = std::fs::read_to_string(df).unwrap();
    assert_eq!(skopeo_digest(&image, Some(&creds)), digest);
}
