//! `hoist build` on the fixtures: config, history, reproducibility, concurrency.

use crate::harness::{Hoist, fixture};

fn build_demo(h: &Hoist, extra: &[&str]) -> String {
    let ctx = fixture("multistage");
    let mut args = vec!["build", "-t", "demo:1", "--progress", "plain"];
    args.extend_from_slice(extra);
    args.push(&ctx);
    h.ok(&args)
}

fn inspect(h: &Hoist, r: &str) -> serde_json::Value {
    serde_json::from_str(&h.ok(&["inspect", r])).expect("inspect prints JSON")
}

#[test]
fn multistage_build_writes_config_and_history_like_docker() {
    let h = Hoist::new();
    let id = build_demo(
        &h,
        &[
            "--timestamp",
            "1700000000",
            "--build-arg",
            "APP_VERSION=9.9",
        ],
    );
    assert!(
        id.trim().starts_with("sha256:"),
        "stdout is the image id: {id}"
    );
    let v = inspect(&h, "demo:1");
    assert_eq!(v["Name"], "docker.io/library/demo:1");
    let c = &v["Config"]["config"];
    assert_eq!(c["Labels"]["org.opencontainers.image.version"], "9.9");
    assert_eq!(c["Labels"]["org.opencontainers.image.title"], "hoist demo");
    assert_eq!(c["WorkingDir"], "/app");
    assert_eq!(c["User"], "1000:1000");
    assert_eq!(c["Entrypoint"], serde_json::json!(["/app/bin/tool"]));
    assert_eq!(c["Cmd"], serde_json::json!(["serve"]));
    assert_eq!(c["StopSignal"], "SIGTERM");
    assert_eq!(
        c["ExposedPorts"],
        serde_json::json!({"8080/tcp": {}, "9000/udp": {}})
    );
    assert_eq!(c["Volumes"], serde_json::json!({"/data": {}}));
    assert_eq!(
        c["Healthcheck"],
        serde_json::json!({"Test": ["CMD", "/app/bin/tool", "health"], "Interval": 30_000_000_000i64, "Timeout": 3_000_000_000i64})
    );
    let env: Vec<String> = serde_json::from_value(c["Env"].clone()).unwrap();
    assert!(env.contains(&"APP_HOME=/app".to_string()), "{env:?}");
    assert!(
        env.contains(
            &"PATH=/app/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
                .to_string()
        ),
        "{env:?}"
    );
    assert_eq!(v["Config"]["created"], "2023-11-14T22:13:20Z");
    // Final stage: WORKDIR, COPY --from, COPY --chown make three layers.
    let layers = v["Manifest"]["layers"].as_array().unwrap();
    assert_eq!(layers.len(), 3, "{layers:?}");
    let history = v["Config"]["history"].as_array().unwrap();
    let with_layer = history.iter().filter(|h| h["empty_layer"] != true).count();
    assert_eq!(
        with_layer,
        layers.len(),
        "one non-empty history entry per layer: {history:?}"
    );
    assert!(history.iter().any(|h| {
        h["created_by"]
            .as_str()
            .unwrap_or("")
            .starts_with("COPY --from=assets")
    }));
    assert_eq!(
        v["Config"]["rootfs"]["diff_ids"].as_array().unwrap().len(),
        3
    );
}

#[test]
fn same_source_date_epoch_gives_the_same_digest() {
    let a = Hoist::new();
    let b = Hoist::new();
    let mut digests = Vec::new();
    for h in [&a, &b] {
        let f = h.path("digest");
        let mut cmd = h.command(&[
            "build",
            "-q",
            "--digest-file",
            f.to_str().unwrap(),
            &fixture("multistage"),
        ]);
        cmd.env("SOURCE_DATE_EPOCH", "1600000000");
        let out = cmd.output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        digests.push(std::fs::read_to_string(f).unwrap());
    }
    assert!(digests[0].starts_with("sha256:"));
    assert_eq!(digests[0], digests[1]);
}

#[test]
fn dockerignore_and_target_are_honoured() {
    let h = Hoist::new();
    h.ok(&[
        "build",
        "-q",
        "-t",
        "assets",
        "--target",
        "assets",
        "--timestamp",
        "0",
        &fixture("multistage"),
    ]);
    let out = h.path("oci");
    h.ok(&[
        "build",
        "-q",
        "-t",
        "assets",
        "--target",
        "assets",
        "--output",
        &format!("type=oci,dest={}", out.display()),
        &fixture("multistage"),
    ]);
    let listing = crate::interop::unpack(&out, "latest");
    assert!(listing.contains_key("build/src/main.rs"), "{listing:?}");
    assert!(listing.contains_key("build/VERSION"), "{listing:?}");
    assert!(
        !listing.keys().any(|k| k.ends_with(".key")),
        "ignored *.key leaked: {listing:?}"
    );
    let err = h.fail(&["build", "--target", "nope", &fixture("multistage")]);
    assert!(
        err.contains("target stage \"nope\" could not be found"),
        "{err}"
    );
}

#[test]
fn two_builds_at_once_both_land() {
    let h = Hoist::new();
    let ctx = fixture("scratch-copy");
    let mut children = Vec::new();
    for tag in ["one:1", "two:1"] {
        children.push(
            h.command(&["build", "-q", "-t", tag, &ctx])
                .spawn()
                .unwrap(),
        );
    }
    for mut c in children {
        assert!(c.wait().unwrap().success());
    }
    let images: serde_json::Value =
        serde_json::from_str(&h.ok(&["images", "--format", "json"])).unwrap();
    let names: Vec<&str> = images
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"docker.io/library/one:1"), "{names:?}");
    assert!(names.contains(&"docker.io/library/two:1"), "{names:?}");
}

#[test]
fn dockerfile_from_stdin_and_build_args_from_env() {
    let h = Hoist::new();
    std::fs::write(h.path("hello.txt"), "hi\n").unwrap();
    let mut cmd = h.command(&[
        "build",
        "-q",
        "-t",
        "stdin:1",
        "-f",
        "-",
        "--build-arg",
        "WHO",
        ".",
    ]);
    cmd.env("WHO", "world").stdin(std::process::Stdio::piped());
    let mut child = cmd
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"FROM scratch\nARG WHO\nLABEL who=$WHO\nCOPY hello.txt /\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_str(&h.ok(&["inspect", "stdin:1"])).unwrap();
    assert_eq!(v["Config"]["config"]["Labels"]["who"], "world");
}
