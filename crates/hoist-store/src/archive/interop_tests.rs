//! Exports checked by real peers: skopeo and umoci (Debian packages). A test whose
//! tool is not installed says so on stderr and passes.

use std::path::Path;
use std::process::Command;

use super::*;
use crate::Store;
use crate::testutil::{TestImage, make_image, r};

fn tool(name: &str) -> bool {
    let found = Command::new(name).arg("--version").output().is_ok();
    if !found {
        eprintln!("{name} is not installed; skipping");
    }
    found
}

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn skopeo_inspect(transport: &str) -> serde_json::Value {
    let out = run(Command::new("skopeo").args(["--insecure-policy", "inspect", transport]));
    serde_json::from_str(&out).unwrap()
}

fn skopeo_raw(transport: &str) -> String {
    run(Command::new("skopeo").args(["--insecure-policy", "inspect", "--raw", transport]))
}

fn setup() -> (tempfile::TempDir, Store, TestImage) {
    let dir = tempfile::tempdir().unwrap();
    let s = Store::open(dir.path().join("store")).unwrap();
    let img = make_image(
        &s,
        &[("hello", b"#!/bin/sh\necho hi\n"), ("etc/motd", b"hi\n")],
    );
    s.set_name(&r("demo:1"), &img.manifest).unwrap();
    (dir, s, img)
}

fn check_inspect(v: &serde_json::Value, img: &TestImage) {
    assert_eq!(v["Os"], "linux");
    assert_eq!(v["Layers"][0], img.layers[0].to_string());
}

#[test]
fn skopeo_reads_oci_dir_and_store_itself() {
    if !tool("skopeo") {
        return;
    }
    let (dir, s, img) = setup();
    let out = dir.path().join("layout");
    export_oci_dir(&s, &s.names().unwrap(), &out).unwrap();
    let v = skopeo_inspect(&format!("oci:{}:1", out.display()));
    check_inspect(&v, &img);
    assert_eq!(v["Digest"], img.manifest.digest().to_string());
    // The store root is itself a layout, looked up by the full name.
    let raw = skopeo_raw(&format!(
        "oci:{}:docker.io/library/demo:1",
        s.root().display()
    ));
    assert_eq!(hoist_oci::sha256_of(raw.as_bytes()), *img.manifest.digest());
}

#[test]
fn skopeo_reads_oci_archive() {
    if !tool("skopeo") {
        return;
    }
    let (dir, s, img) = setup();
    let f = dir.path().join("img.tar");
    export_oci_archive(&s, &s.names().unwrap(), &f).unwrap();
    let v = skopeo_inspect(&format!("oci-archive:{}:1", f.display()));
    check_inspect(&v, &img);
    assert_eq!(v["Digest"], img.manifest.digest().to_string());
}

#[test]
fn skopeo_reads_docker_archive_and_its_copy_imports() {
    if !tool("skopeo") {
        return;
    }
    let (dir, s, img) = setup();
    let f = dir.path().join("docker.tar");
    export_docker_archive(&s, &s.names().unwrap(), &f).unwrap();
    let v = skopeo_inspect(&format!("docker-archive:{}", f.display()));
    assert_eq!(v["Os"], "linux");
    assert_eq!(v["RepoTags"], serde_json::json!([]), "{v}");
    let v = skopeo_inspect(&format!("docker-archive:{}:demo:1", f.display()));
    assert_eq!(v["Layers"].as_array().unwrap().len(), 1);

    // skopeo writes a docker-archive of its own (uncompressed layers, legacy layout):
    // importing it gives back an image with the same config.
    let theirs = dir.path().join("skopeo.tar");
    run(Command::new("skopeo").args([
        "--insecure-policy",
        "copy",
        &format!("oci-archive:{}:1", {
            let oa = dir.path().join("oa.tar");
            export_oci_archive(&s, &s.names().unwrap(), &oa).unwrap();
            oa.display().to_string()
        }),
        &format!("docker-archive:{}:other/app:7", theirs.display()),
    ]));
    let fresh = Store::open(dir.path().join("fresh")).unwrap();
    assert_eq!(
        import_archive(&fresh, &theirs).unwrap(),
        vec![r("other/app:7")]
    );
    let got = fresh
        .resolve_image(&r("other/app:7"), &hoist_oci::Platform::host())
        .unwrap()
        .unwrap();
    assert_eq!(got.manifest.config().digest(), &img.config);
    assert_eq!(
        got.config.rootfs().diff_ids(),
        &vec![img.diff_ids[0].to_string()]
    );
}

#[test]
fn import_of_skopeo_oci_archive_keeps_digests() {
    if !tool("skopeo") {
        return;
    }
    let (dir, s, img) = setup();
    let layout = dir.path().join("layout");
    export_oci_dir(&s, &s.names().unwrap(), &layout).unwrap();
    let theirs = dir.path().join("theirs.tar");
    run(Command::new("skopeo").args([
        "--insecure-policy",
        "copy",
        "--preserve-digests",
        &format!("oci:{}:1", layout.display()),
        &format!("oci-archive:{}:v9", theirs.display()),
    ]));
    let fresh = Store::open(dir.path().join("fresh")).unwrap();
    // skopeo writes a tag-only ref.name and no containerd name.
    assert_eq!(
        import_archive(&fresh, &theirs).unwrap(),
        vec![r("localhost/v9:latest")]
    );
    assert_eq!(
        fresh.resolve(&r("localhost/v9")).unwrap().unwrap().digest(),
        img.manifest.digest()
    );
}

#[test]
fn umoci_unpacks_exported_layout() {
    if !tool("umoci") {
        return;
    }
    let (dir, s, _img) = setup();
    let out = dir.path().join("layout");
    export_oci_dir(&s, &s.names().unwrap(), &out).unwrap();
    let bundle = dir.path().join("bundle");
    run(Command::new("umoci").args([
        "unpack",
        "--rootless",
        "--image",
        &format!("{}:1", out.display()),
        &bundle.display().to_string(),
    ]));
    let rootfs = bundle.join("rootfs");
    assert_eq!(
        std::fs::read(rootfs.join("hello")).unwrap(),
        b"#!/bin/sh\necho hi\n"
    );
    assert_eq!(std::fs::read(rootfs.join("etc/motd")).unwrap(), b"hi\n");
    assert!(Path::new(&bundle.join("config.json")).is_file());
}
