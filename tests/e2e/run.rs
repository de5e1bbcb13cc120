//! RUN steps: a busybox base built offline, then steps that add, change, delete,
//! replace directories, chown, link; failures; cache and secret mounts; networking.
//!
//! As root, `run_steps_again_as_an_unprivileged_user` re-runs these tests as the user
//! `hoisttest` (subordinate ids) through `runuser`.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::harness::{Hoist, run_tool, tool};
use crate::interop::unpack;

mod buildah;
mod container;
mod layers;
#[path = "../../crates/hoist-sandbox/tests/support/test_user.rs"]
mod test_user;
use test_user::ensure_test_user;

const CHILD_ENV: &str = "HOIST_E2E_RUN_CHILD";
const BASE: &str = "FROM scratch
COPY busybox /bin/busybox
RUN [\"/bin/busybox\", \"--install\", \"-s\", \"/bin\"]
COPY passwd group /etc/
RUN mkdir -m 1777 /tmp
";

fn is_root() -> bool {
    fs::metadata("/proc/self")
        .map(|m| m.uid() == 0)
        .unwrap_or(false)
}

/// A scratch workspace whose context holds busybox and /etc/passwd, /etc/group.
fn workspace(dockerfile_tail: &str) -> Hoist {
    let h = Hoist::new();
    let ctx = h.work.path();
    fs::set_permissions(ctx, fs::Permissions::from_mode(0o755)).unwrap();
    fs::copy("/bin/busybox", ctx.join("busybox")).expect("busybox-static is installed");
    fs::write(
        ctx.join("passwd"),
        "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n",
    )
    .unwrap();
    fs::write(
        ctx.join("group"),
        "root:x:0:\napp:x:1000:\nstaff:x:50:nobody\nnogroup:x:65534:\n",
    )
    .unwrap();
    fs::write(ctx.join("Dockerfile"), format!("{BASE}{dockerfile_tail}")).unwrap();
    h
}

fn build(h: &Hoist, extra: &[&str]) -> PathBuf {
    let out = h.path("oci");
    if out.exists() {
        fs::remove_dir_all(&out).unwrap();
    }
    let dest = format!("type=oci,dest={}", out.display());
    let mut args = vec!["build", "-q", "-t", "run:1", "--output", &dest];
    args.extend_from_slice(extra);
    args.push(".");
    h.ok(&args);
    out
}

/// `(mode string, uid, gid, path, link target)` of every entry of every layer.
fn layer_entries(layout: &Path) -> Vec<Vec<(String, u32, u32, String)>> {
    let index = crate::harness::read_json(&layout.join("index.json"));
    let digest = index["manifests"][0]["digest"]
        .as_str()
        .unwrap()
        .to_string();
    let blob = |d: &str| {
        layout
            .join("blobs/sha256")
            .join(d.trim_start_matches("sha256:"))
    };
    let manifest = crate::harness::read_json(&blob(&digest));
    manifest["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            let mut c = tool("tar");
            c.args(["--numeric-owner", "-tvf"])
                .arg(blob(l["digest"].as_str().unwrap()));
            run_tool(c)
                .lines()
                .map(|line| {
                    let f: Vec<&str> = line.split_whitespace().collect();
                    let (uid, gid) = f[1].split_once('/').unwrap();
                    (
                        f[0].to_string(),
                        uid.parse().unwrap(),
                        gid.parse().unwrap(),
                        f[5..].join(" "),
                    )
                })
                .collect()
        })
        .collect()
}

fn history(h: &Hoist, layout: &Path) -> Vec<(String, bool)> {
    let _ = h;
    let index = crate::harness::read_json(&layout.join("index.json"));
    let blob = |d: &str| {
        layout
            .join("blobs/sha256")
            .join(d.trim_start_matches("sha256:"))
    };
    let manifest =
        crate::harness::read_json(&blob(index["manifests"][0]["digest"].as_str().unwrap()));
    let config = crate::harness::read_json(&blob(manifest["config"]["digest"].as_str().unwrap()));
    config["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["created_by"].as_str().unwrap_or_default().to_string(),
                e["empty_layer"].as_bool().unwrap_or(false),
            )
        })
        .collect()
}

fn content(tree: &BTreeMap<String, crate::interop::Node>, path: &str, text: &str) {
    let node = tree
        .get(path)
        .unwrap_or_else(|| panic!("{path} missing: {:?}", tree.keys()));
    let want = {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(text.as_bytes()))
    };
    assert_eq!(node.detail, want, "content of {path}");
}

#[test]
fn run_steps_add_change_delete_chown_and_link() {
    let h = workspace(
        "RUN mkdir -p /data/keep /data/replace && echo one > /data/keep/a && echo old > /data/replace/old \\
 && echo gone > /data/gone && echo mod > /data/mod
RUN echo changed >> /data/mod && rm /data/gone && rm -rf /data/replace && mkdir /data/replace \\
 && echo new > /data/replace/new && echo u > /data/u1000 && chown 1000:1000 /data/u1000 \\
 && echo n > /data/nobody && chown 65534:65534 /data/nobody && ln /data/keep/a /data/hard \\
 && ln -s keep/a /data/sym && chmod 0640 /data/keep/a
RUN true
USER nobody
RUN id -u > /tmp/uid && id -G > /tmp/groups
RUN <<EOF
echo from-heredoc > /tmp/heredoc
EOF
",
    );
    let out = build(&h, &[]);
    let tree = unpack(&out, "1");
    content(&tree, "data/mod", "mod\nchanged\n");
    content(&tree, "data/replace/new", "new\n");
    content(&tree, "data/hard", "one\n");
    content(&tree, "tmp/uid", "65534\n");
    content(&tree, "tmp/groups", "65534 50\n");
    content(&tree, "tmp/heredoc", "from-heredoc\n");
    assert!(!tree.contains_key("data/gone"));
    assert!(!tree.contains_key("data/replace/old"));
    assert!(!tree.contains_key("proc") && !tree.contains_key("dev") && !tree.contains_key("sys"));
    assert!(!tree.contains_key("etc/hosts") && !tree.contains_key("etc/resolv.conf"));
    assert_eq!(tree["data/sym"].kind, 'l');
    assert_eq!(tree["data/sym"].detail, "keep/a");
    assert_eq!(tree["data/keep/a"].mode, 0o640);
    assert_eq!(tree["bin/sh"].detail, "/bin/busybox");

    let layers = layer_entries(&out);
    // busybox, install, COPY etc, mkdir /tmp, step 1, step 2, (true: none), id, heredoc
    assert_eq!(layers.len(), 8, "{layers:#?}");
    let step2 = &layers[5];
    let find = |p: &str| {
        step2
            .iter()
            .find(|e| e.3 == p || e.3.starts_with(&format!("{p} ")))
            .unwrap_or_else(|| panic!("{p} not in {step2:#?}"))
    };
    assert_eq!((find("data/u1000").1, find("data/u1000").2), (1000, 1000));
    assert_eq!(
        (find("data/nobody").1, find("data/nobody").2),
        (65534, 65534)
    );
    assert_eq!(find("data/mod").1, 0);
    assert!(find("data/.wh.gone").0.starts_with('-'));
    assert!(find("data/replace/.wh..wh..opq").0.starts_with('-'));
    let link = find("data/hard");
    assert!(
        link.0.starts_with('h') || find("data/keep/a").0.starts_with('h'),
        "hard link kept as a link: {step2:#?}"
    );
    assert!(find("data/sym").3.contains("-> keep/a"));
    assert!(!step2.iter().any(|e| e.3.starts_with("data/replace/old")));

    let hist = history(&h, &out);
    assert!(
        hist.contains(&("RUN /bin/sh -c true # buildkit".to_string(), true)),
        "{hist:#?}"
    );
    assert!(hist.contains(&(
        "RUN /bin/busybox --install -s /bin # buildkit".to_string(),
        false
    )));
    if is_root() {
        assert_eq!(tree["data/u1000"].uid, 1000);
        assert_eq!(tree["data/nobody"].gid, 65534);
    }
}

#[test]
fn failing_run_names_the_step_and_shows_its_output() {
    // SHELL applies: with `-e` the failing subshell ends the step.
    let h = workspace(
        "SHELL [\"/bin/sh\", \"-e\", \"-c\"]
RUN echo first-line && echo boom-output >&2; (exit 3); echo not-reached
",
    );
    let err = h.fail(&["build", "-q", "."]);
    assert!(err.contains("Dockerfile:7:1"), "{err}");
    assert!(err.contains("exit code: 3"), "{err}");
    assert!(
        err.contains("first-line") && err.contains("boom-output"),
        "{err}"
    );
    assert!(!err.lines().any(|l| l.trim() == "not-reached"), "{err}");
    assert!(err.contains("/bin/sh -e -c echo first-line"), "{err}");
}

#[test]
fn cache_mount_persists_between_builds_and_stays_out_of_layers() {
    let h = workspace(
        "RUN --mount=type=cache,target=/var/cache/thing echo x >> /var/cache/thing/log \\
 && wc -l < /var/cache/thing/log > /count
",
    );
    build(&h, &[]);
    let out = build(&h, &[]);
    let tree = unpack(&out, "1");
    content(&tree, "count", "2\n");
    assert!(
        !tree.contains_key("var/cache/thing/log"),
        "{:?}",
        tree.keys()
    );
    for layer in layer_entries(&out) {
        assert!(!layer.iter().any(|e| e.3.contains("thing")), "{layer:#?}");
    }
}

#[test]
fn secrets_are_readable_and_in_no_blob() {
    let secret = "s3cr3t-Value-6a1f0e";
    let h = workspace(
        "RUN --mount=type=secret,id=tok sha256sum /run/secrets/tok | cut -d' ' -f1 > /file-sum
RUN --mount=type=secret,id=tok,env=TOKEN,required printf %s \"$TOKEN\" | sha256sum | cut -d' ' -f1 > /env-sum
",
    );
    let file = h.path("secret.txt");
    fs::write(&file, secret).unwrap();
    let spec = format!("id=tok,src={}", file.display());
    let out = build(&h, &["--secret", &spec]);
    let tree = unpack(&out, "1");
    let sum = {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(secret.as_bytes()))
    };
    content(&tree, "file-sum", &format!("{sum}\n"));
    content(&tree, "env-sum", &format!("{sum}\n"));
    assert!(!tree.contains_key("run/secrets/tok"));
    // No blob, decompressed, contains the secret; the store's neither.
    for dir in [out.join("blobs/sha256"), h.root.path().join("blobs/sha256")] {
        for blob in fs::read_dir(&dir).unwrap() {
            let path = blob.unwrap().path();
            let mut c = Command::new("sh");
            c.arg("-c")
                .arg("(gzip -dc \"$1\" 2>/dev/null || cat \"$1\") | grep -c \"$2\" || true")
                .arg("sh")
                .arg(&path)
                .arg(secret);
            let n = run_tool(c);
            assert_eq!(n.trim(), "0", "secret found in {}", path.display());
        }
    }
    // A required secret that is missing fails clearly.
    let err = h.fail(&["build", "-q", "."]);
    assert!(err.contains("secret tok is required"), "{err}");
}

#[test]
fn network_none_cannot_reach_a_loopback_listener() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for s in listener.incoming() {
            drop(s);
        }
    });
    let h = workspace(&format!(
        "RUN if nc -w 2 127.0.0.1 {port} </dev/null; then echo reached > /net; else echo unreachable > /net; fi\n"
    ));
    let tree = unpack(&build(&h, &["--network", "none"]), "1");
    content(&tree, "net", "unreachable\n");
    let tree = unpack(&build(&h, &[]), "1");
    content(&tree, "net", "reached\n");
}

/// As root, run the tests above again as an unprivileged user with subordinate
/// ids: hoist re-executes itself in a user namespace over them.
#[test]
fn run_steps_again_as_an_unprivileged_user() {
    rerun_as_test_user(&[]);
}

/// Again as the unprivileged user with `HOIST_USERNS=0`: each RUN maps the
/// subordinate ids itself and the image's owners are kept aside.
#[test]
fn run_steps_again_as_an_unprivileged_user_without_a_namespace() {
    rerun_as_test_user(&["HOIST_USERNS=0"]);
}

fn rerun_as_test_user(env: &[&str]) {
    if !is_root() || std::env::var_os(CHILD_ENV).is_some() {
        return;
    }
    ensure_test_user();
    let mut c = Command::new("runuser");
    c.args(["-u", "hoisttest", "--", "env", "TMPDIR=/tmp"])
        .args(env)
        .arg(format!("{CHILD_ENV}=1"))
        .arg(std::env::current_exe().unwrap())
        .current_dir("/tmp");
    rerun(c, "unprivileged");
}

/// Runs the RUN tests (not these re-runs) with `c` (this test binary, or a
/// wrapper that starts it) and checks that every one of them ran and passed.
fn rerun(mut c: Command, what: &str) {
    let output = c
        .args(["run::", "--skip", "run_steps_again"])
        .output()
        .unwrap();
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "{what} run failed:\n{text}");
    // Every test ran (none of them returned early).
    let passed = text
        .split("test result: ok. ")
        .nth(1)
        .and_then(|r| r.split(' ').next())
        .and_then(|n| n.parse::<usize>().ok());
    assert_eq!(passed, Some(17), "{text}");
}

/// The tests above again with `HOIST_OVERLAY=0`: RUN on a copied rootfs with
/// stat snapshots, the path used with chroot isolation and where overlayfs is
/// unavailable.
#[test]
fn run_steps_again_on_a_copied_rootfs() {
    if std::env::var_os(CHILD_ENV).is_some() {
        return;
    }
    let mut c = Command::new(std::env::current_exe().unwrap());
    c.env(CHILD_ENV, "1").env("HOIST_OVERLAY", "0");
    rerun(c, "copied-rootfs");
}
