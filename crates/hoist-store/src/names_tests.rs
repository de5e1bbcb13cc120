use std::process::Command;
use std::time::Duration;

use super::*;
use crate::testutil::{make_image, r};

#[test]
fn set_resolve_replace_remove() {
    let dir = tempfile::tempdir().unwrap();
    let s = Store::open(dir.path()).unwrap();
    let a = make_image(&s, &[("a", b"a")]);
    let b = make_image(&s, &[("b", b"b")]);
    s.set_name(&r("demo:1"), &a.manifest).unwrap();
    s.set_name(&r("ghcr.io/o/demo:1"), &a.manifest).unwrap();

    // Stored under the full normalised name.
    let raw: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("index.json")).unwrap()).unwrap();
    assert_eq!(
        raw["manifests"][0]["annotations"][ANNOTATION_REF_NAME],
        "docker.io/library/demo:1"
    );
    assert_eq!(raw["mediaType"], "application/vnd.oci.image.index.v1+json");

    let got = s.resolve(&r("docker.io/library/demo:1")).unwrap().unwrap();
    assert_eq!(got.digest(), a.manifest.digest());
    assert!(got.annotations().is_none(), "naming annotation is internal");
    assert!(s.resolve(&r("demo:2")).unwrap().is_none());

    // Replacing moves the name; the other name keeps the old image.
    s.set_name(&r("demo:1"), &b.manifest).unwrap();
    assert_eq!(
        s.resolve(&r("demo:1")).unwrap().unwrap().digest(),
        b.manifest.digest()
    );
    let names = s.names().unwrap();
    assert_eq!(names.len(), 2);
    assert_eq!(names[0].0.to_string(), "docker.io/library/demo:1");
    assert_eq!(names[1].0.to_string(), "ghcr.io/o/demo:1");
    assert_eq!(names[1].1.digest(), a.manifest.digest());

    // A reference with tag and digest names the tag.
    let pinned = r("demo:3").with_digest(a.manifest.digest().clone());
    s.set_name(&pinned, &a.manifest).unwrap();
    assert!(s.resolve(&r("demo:3")).unwrap().is_some());

    assert!(s.remove_name(&r("demo:1")).unwrap());
    assert!(!s.remove_name(&r("demo:1")).unwrap());
    assert_eq!(s.names().unwrap().len(), 2);
}

#[test]
fn resolve_by_digest() {
    let dir = tempfile::tempdir().unwrap();
    let s = Store::open(dir.path()).unwrap();
    let a = make_image(&s, &[("a", b"a")]);
    // Not named: derived from the blob's mediaType.
    let by_digest = r("anything").with_digest(a.manifest.digest().clone());
    let got = s.resolve(&by_digest).unwrap().unwrap();
    assert_eq!(got.media_type(), &MediaType::ImageManifest);
    assert_eq!(got.size(), a.manifest.size());
    // Named: the index entry.
    s.set_name(&r("demo:1"), &a.manifest).unwrap();
    assert_eq!(s.resolve(&by_digest).unwrap().unwrap(), a.manifest);
    // A layer is not an image.
    let layer = r("x").with_digest(a.layers[0].clone());
    assert!(matches!(
        s.resolve(&layer),
        Err(StoreError::NotAnImage { .. })
    ));
    let absent = r("x").with_digest(hoist_oci::sha256_of(b"absent"));
    assert!(s.resolve(&absent).unwrap().is_none());
    // Without a mediaType field: guessed from the shape.
    let (d, _) = s
        .put_blob(br#"{"schemaVersion":2,"manifests":[]}"#)
        .unwrap();
    let got = s.resolve(&r("x").with_digest(d)).unwrap().unwrap();
    assert_eq!(got.media_type(), &MediaType::ImageIndex);
}

#[test]
fn set_name_needs_tag_and_blob() {
    let dir = tempfile::tempdir().unwrap();
    let s = Store::open(dir.path()).unwrap();
    let d = hoist_oci::sha256_of(b"missing");
    let desc = Descriptor::new(MediaType::ImageManifest, 7, d.clone());
    let e = s.set_name(&r("demo:1"), &desc).unwrap_err();
    assert!(e.to_string().contains(d.as_ref()), "{e}");
    let digest_only = Reference::parse(&format!("demo@{d}")).unwrap();
    assert!(matches!(
        s.set_name(&digest_only, &desc),
        Err(StoreError::NameNeedsTag { .. })
    ));
}

#[test]
fn concurrent_set_name_from_threads_all_land() {
    let dir = tempfile::tempdir().unwrap();
    let s = Store::open(dir.path()).unwrap();
    let img = make_image(&s, &[("a", b"a")]);
    let threads: Vec<_> = (0..6)
        .map(|t| {
            let s = Store::open(dir.path()).unwrap();
            let desc = img.manifest.clone();
            std::thread::spawn(move || {
                for i in 0..15 {
                    s.set_name(&r(&format!("t{t}:v{i}")), &desc).unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(s.names().unwrap().len(), 90);
}

const CHILD_ENV: &str = "HOIST_STORE_TEST_CHILD";

/// Runs only as a child process spawned by the tests below: sets names in a loop.
#[test]
fn child_process_writer() {
    let Ok(spec) = std::env::var(CHILD_ENV) else {
        return;
    };
    let mut parts = spec.splitn(3, '|');
    let (root, prefix, count) = (
        parts.next().unwrap(),
        parts.next().unwrap(),
        parts.next().unwrap().parse::<usize>().unwrap(),
    );
    let s = Store::open(root).unwrap();
    let desc = s.names().unwrap()[0].1.clone();
    for i in 0..count {
        s.set_name(&r(&format!("{prefix}:v{i}")), &desc).unwrap();
    }
}

fn spawn_child(root: &std::path::Path, prefix: &str, count: usize) -> std::process::Child {
    Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "names::tests::child_process_writer", "--quiet"])
        .env(CHILD_ENV, format!("{}|{prefix}|{count}", root.display()))
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap()
}

#[test]
fn concurrent_set_name_from_two_processes_all_land() {
    let dir = tempfile::tempdir().unwrap();
    let s = Store::open(dir.path()).unwrap();
    let img = make_image(&s, &[("a", b"a")]);
    s.set_name(&r("seed:1"), &img.manifest).unwrap();
    let a = spawn_child(dir.path(), "proc-a", 40);
    let b = spawn_child(dir.path(), "proc-b", 40);
    for mut c in [a, b] {
        assert!(c.wait().unwrap().success());
    }
    assert_eq!(s.names().unwrap().len(), 81);
}

#[test]
fn kill_during_updates_leaves_a_readable_store() {
    let dir = tempfile::tempdir().unwrap();
    let s = Store::open(dir.path()).unwrap();
    let img = make_image(&s, &[("a", b"a")]);
    s.set_name(&r("seed:1"), &img.manifest).unwrap();
    for round in 0..3 {
        let mut c = spawn_child(dir.path(), &format!("kill{round}"), 100_000);
        std::thread::sleep(Duration::from_millis(150 + 70 * round));
        c.kill().unwrap(); // SIGKILL
        c.wait().unwrap();
        let names = s.names().unwrap();
        assert!(
            names
                .iter()
                .any(|(n, _)| n.to_string() == "docker.io/library/seed:1")
        );
    }
    // The store still takes updates (the lock died with the process).
    s.set_name(&r("after:1"), &img.manifest).unwrap();
}
