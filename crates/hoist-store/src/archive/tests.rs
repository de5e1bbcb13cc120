use std::io::{Read, Write};
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use hoist_oci::spec::Descriptor;
use hoist_oci::{ANNOTATION_REF_NAME, Reference, sha256_of};

use super::*;
use crate::testutil::{TestImage, make_image, r};
use crate::{Store, StoreError};

fn store_with_image() -> (tempfile::TempDir, Store, TestImage) {
    let dir = tempfile::tempdir().unwrap();
    let s = Store::open(dir.path().join("store")).unwrap();
    let img = make_image(
        &s,
        &[("hello", b"#!/bin/sh\necho hi\n"), ("etc/motd", b"hi\n")],
    );
    s.set_name(&r("demo:1"), &img.manifest).unwrap();
    (dir, s, img)
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// (path, mtime, uid, size) of every entry, in order.
fn tar_listing(file: &Path) -> Vec<(String, u64, u64, u64)> {
    let mut a = tar::Archive::new(std::fs::File::open(file).unwrap());
    a.entries()
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            let h = e.header();
            (
                e.path().unwrap().to_string_lossy().into_owned(),
                h.mtime().unwrap(),
                h.uid().unwrap(),
                h.size().unwrap(),
            )
        })
        .collect()
}

fn tar_file(file: &Path, name: &str) -> Vec<u8> {
    let mut a = tar::Archive::new(std::fs::File::open(file).unwrap());
    for e in a.entries().unwrap() {
        let mut e = e.unwrap();
        if e.path().unwrap().to_str() == Some(name) {
            let mut v = Vec::new();
            e.read_to_end(&mut v).unwrap();
            return v;
        }
    }
    panic!("{name} not in {}", file.display());
}

fn images(s: &Store) -> Vec<(Reference, Descriptor)> {
    s.names().unwrap()
}

#[test]
fn oci_dir_export_names_by_tag_and_hardlinks() {
    let (dir, s, img) = store_with_image();
    let dest = dir.path().join("out");
    export_oci_dir(&s, &images(&s), &dest).unwrap();
    let idx = json(&dest.join("index.json"));
    let entry = &idx["manifests"][0];
    assert_eq!(entry["annotations"][ANNOTATION_REF_NAME], "1");
    assert_eq!(
        entry["annotations"][ANNOTATION_IMAGE_NAME],
        "docker.io/library/demo:1"
    );
    assert_eq!(entry["digest"], img.manifest.digest().to_string());
    assert_eq!(
        json(&dest.join("oci-layout"))["imageLayoutVersion"],
        "1.0.0"
    );
    for d in [img.manifest.digest(), &img.config, &img.layers[0]] {
        let p = dest.join("blobs/sha256").join(d.digest());
        assert_eq!(
            std::fs::metadata(&p).unwrap().ino(),
            std::fs::metadata(s.blob_path(d)).unwrap().ino(),
            "hardlinked"
        );
    }
    assert_eq!(
        std::fs::read_dir(dest.join("blobs/sha256"))
            .unwrap()
            .count(),
        3
    );

    // Exporting into the existing layout adds a second tag and replaces the first.
    let other = make_image(&s, &[("x", b"x")]);
    s.set_name(&r("demo:2"), &other.manifest).unwrap();
    s.set_name(&r("demo:1"), &other.manifest).unwrap();
    export_oci_dir(&s, &images(&s), &dest).unwrap();
    let idx = json(&dest.join("index.json"));
    let m = idx["manifests"].as_array().unwrap();
    assert_eq!(m.len(), 2);
    assert!(
        m.iter()
            .all(|e| e["digest"] == other.manifest.digest().to_string())
    );

    // A directory with other content is refused.
    let junk = dir.path().join("junk");
    std::fs::create_dir(&junk).unwrap();
    std::fs::write(junk.join("file"), b"x").unwrap();
    assert!(matches!(
        export_oci_dir(&s, &images(&s), &junk),
        Err(StoreError::DestinationExists { .. })
    ));
}

#[test]
fn duplicate_tags_across_repositories_are_refused() {
    let (dir, s, img) = store_with_image();
    s.set_name(&r("ghcr.io/o/other:1"), &img.manifest).unwrap();
    let e = export_oci_archive(&s, &images(&s), &dir.path().join("x.tar")).unwrap_err();
    assert!(
        matches!(e, StoreError::DuplicateTag { ref tag, .. } if tag == "1"),
        "{e}"
    );
    assert!(!dir.path().join("x.tar").exists());
}

#[test]
fn export_fails_on_missing_blob() {
    let (dir, s, img) = store_with_image();
    std::fs::remove_file(s.blob_path(&img.layers[0])).unwrap();
    let e = export_oci_archive(&s, &images(&s), &dir.path().join("x.tar")).unwrap_err();
    assert!(e.to_string().contains(img.layers[0].digest()), "{e}");
}

#[test]
fn oci_archive_is_deterministic_and_round_trips() {
    let (dir, s, img) = store_with_image();
    let a = dir.path().join("a.tar");
    let b = dir.path().join("b.tar");
    export_oci_archive(&s, &images(&s), &a).unwrap();
    export_oci_archive(&s, &images(&s), &b).unwrap();
    assert!(
        std::fs::read(&a).unwrap() == std::fs::read(&b).unwrap(),
        "two exports differ"
    );
    let listing = tar_listing(&a);
    let paths: Vec<&str> = listing.iter().map(|e| e.0.as_str()).collect();
    let mut hexes: Vec<String> = [img.manifest.digest(), &img.config, &img.layers[0]]
        .iter()
        .map(|d| format!("blobs/sha256/{}", d.digest()))
        .collect();
    hexes.sort();
    let mut want = vec!["blobs/", "blobs/sha256/"];
    want.extend(hexes.iter().map(String::as_str));
    want.extend(["index.json", "oci-layout"]);
    assert_eq!(paths, want);
    assert!(listing.iter().all(|e| e.1 == 0 && e.2 == 0));

    let other = Store::open(dir.path().join("other")).unwrap();
    let names = import_archive(&other, &a).unwrap();
    assert_eq!(names, vec![r("demo:1")]);
    assert_eq!(
        other.resolve(&r("demo:1")).unwrap().unwrap(),
        s.resolve(&r("demo:1")).unwrap().unwrap()
    );
    for d in [img.manifest.digest(), &img.config, &img.layers[0]] {
        assert_eq!(
            std::fs::read(other.blob_path(d)).unwrap(),
            std::fs::read(s.blob_path(d)).unwrap()
        );
    }
    // Importing again is idempotent.
    assert_eq!(import_archive(&other, &a).unwrap(), vec![r("demo:1")]);
    assert_eq!(other.names().unwrap().len(), 1);
}

#[test]
fn docker_archive_layout() {
    let (dir, s, img) = store_with_image();
    s.set_name(&r("demo:latest"), &img.manifest).unwrap();
    let f = dir.path().join("d.tar");
    export_docker_archive(&s, &images(&s), &f).unwrap();
    let manifest: serde_json::Value =
        serde_json::from_slice(&tar_file(&f, "manifest.json")).unwrap();
    assert_eq!(
        manifest,
        serde_json::json!([{
            "Config": format!("blobs/sha256/{}", img.config.digest()),
            "RepoTags": ["demo:1", "demo:latest"],
            "Layers": [format!("blobs/sha256/{}", img.layers[0].digest())],
        }])
    );
    let repos: serde_json::Value = serde_json::from_slice(&tar_file(&f, "repositories")).unwrap();
    assert_eq!(
        repos,
        serde_json::json!({"demo": {"1": img.diff_ids[0].digest(), "latest": img.diff_ids[0].digest()}})
    );
    let paths: Vec<String> = tar_listing(&f).into_iter().map(|e| e.0).collect();
    assert_eq!(
        &paths[paths.len() - 4..],
        ["index.json", "manifest.json", "oci-layout", "repositories"]
    );
    // Re-import prefers the OCI metadata and keeps the manifest digest.
    let other = Store::open(dir.path().join("other")).unwrap();
    let mut names = import_archive(&other, &f).unwrap();
    names.sort_by_key(|r| r.to_string());
    assert_eq!(names, vec![r("demo:1"), r("demo:latest")]);
    assert_eq!(
        other.resolve(&r("demo:1")).unwrap().unwrap().digest(),
        img.manifest.digest()
    );
}

#[test]
fn docker_archive_refuses_index() {
    let (dir, s, img) = store_with_image();
    let mut idx = crate::names::empty_index();
    idx.set_manifests(vec![img.manifest.clone()]);
    let (d, _) = s.put_json(hoist_oci::MediaType::ImageIndex, &idx).unwrap();
    let e = export_docker_archive(&s, &[(r("multi:1"), d)], &dir.path().join("d.tar"));
    assert!(matches!(e, Err(StoreError::NeedsManifest { .. })));
}

/// Builds a tar from (path, content) pairs; `None` content means a symlink to the
/// string in the next tuple element.
fn write_tar(path: &Path, entries: &[(&str, Option<&[u8]>, &str)]) {
    let mut b = tar::Builder::new(std::fs::File::create(path).unwrap());
    for (name, data, link) in entries {
        let mut h = tar::Header::new_gnu();
        h.set_mode(0o644);
        match data {
            Some(d) => {
                h.set_size(d.len() as u64);
                h.set_entry_type(tar::EntryType::Regular);
                b.append_data(&mut h, name, *d).unwrap();
            }
            None => {
                h.set_size(0);
                h.set_entry_type(tar::EntryType::Symlink);
                b.append_link(&mut h, name, link).unwrap();
            }
        }
    }
    b.finish().unwrap();
}

fn plain_layer(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (n, d) in files {
        let mut h = tar::Header::new_ustar();
        h.set_size(d.len() as u64);
        h.set_mode(0o644);
        h.set_entry_type(tar::EntryType::Regular);
        b.append_data(&mut h, n, *d).unwrap();
    }
    b.into_inner().unwrap()
}

fn config_for(diff_ids: &[&hoist_oci::Digest]) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "architecture": "amd64", "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": diff_ids.iter().map(|d| d.to_string()).collect::<Vec<_>>()},
    }))
    .unwrap()
}

#[test]
fn imports_legacy_docker_save_with_symlinked_layer() {
    let dir = tempfile::tempdir().unwrap();
    let s = Store::open(dir.path().join("store")).unwrap();
    let l1 = plain_layer(&[("a", b"1")]);
    let l2 = plain_layer(&[("b", b"2")]);
    let (d1, d2) = (sha256_of(&l1), sha256_of(&l2));
    let cfg1 = config_for(&[&d1, &d2]);
    let cfg2 = config_for(&[&d1]);
    let manifest = serde_json::to_vec(&serde_json::json!([
        {"Config": format!("{}.json", sha256_of(&cfg1).digest()), "RepoTags": ["demo:1", "ghcr.io/o/demo:2"], "Layers": ["aaa/layer.tar", "bbb/layer.tar"]},
        {"Config": format!("{}.json", sha256_of(&cfg2).digest()), "RepoTags": ["base:1"], "Layers": ["ccc/layer.tar"]},
    ]))
    .unwrap();
    let f = dir.path().join("legacy.tar");
    let c1 = format!("{}.json", sha256_of(&cfg1).digest());
    let c2 = format!("{}.json", sha256_of(&cfg2).digest());
    write_tar(
        &f,
        &[
            ("aaa/layer.tar", Some(&l1), ""),
            ("aaa/VERSION", Some(b"1.0"), ""),
            ("bbb/layer.tar", Some(&l2), ""),
            ("ccc/layer.tar", None, "../aaa/layer.tar"),
            (&c1, Some(&cfg1), ""),
            (&c2, Some(&cfg2), ""),
            ("repositories", Some(b"{}"), ""),
            ("manifest.json", Some(&manifest), ""),
        ],
    );
    let names = import_archive(&s, &f).unwrap();
    assert_eq!(names, vec![r("demo:1"), r("ghcr.io/o/demo:2"), r("base:1")]);
    let img = s
        .resolve_image(&r("demo:1"), &hoist_oci::Platform::host())
        .unwrap()
        .unwrap();
    let layers: Vec<_> = img
        .manifest
        .layers()
        .iter()
        .map(|l| l.digest().clone())
        .collect();
    assert_eq!(layers, vec![d1.clone(), d2]);
    assert_eq!(
        img.manifest.layers()[0].media_type(),
        &hoist_oci::MediaType::ImageLayer
    );
    assert_eq!(img.config_bytes, cfg1);
    let base = s
        .resolve_image(&r("base:1"), &hoist_oci::Platform::host())
        .unwrap()
        .unwrap();
    assert_eq!(base.manifest.layers()[0].digest(), &d1);
    // Junk candidates (VERSION) go away with a prune; the images stay.
    assert_eq!(s.prune().unwrap().blobs_removed, 1);
    assert!(s.has_blob(&d1));
}

#[test]
fn imports_gzip_docker_archive_checking_diff_ids() {
    let (dir, s, img) = store_with_image();
    let layer = std::fs::read(s.blob_path(&img.layers[0])).unwrap();
    let config = std::fs::read(s.blob_path(&img.config)).unwrap();
    let manifest = r#"[{"Config":"config.json","RepoTags":["gz:1"],"Layers":["l/layer.tar.gz"]}]"#;
    let f = dir.path().join("gz.tar");
    write_tar(
        &f,
        &[
            ("manifest.json", Some(manifest.as_bytes()), ""),
            ("config.json", Some(&config), ""),
            ("l/layer.tar.gz", Some(&layer), ""),
        ],
    );
    // The whole archive gzip-compressed, as `docker save | gzip` makes it.
    let gz = dir.path().join("gz.tar.gz");
    let mut enc = flate2::write::GzEncoder::new(
        std::fs::File::create(&gz).unwrap(),
        flate2::Compression::fast(),
    );
    enc.write_all(&std::fs::read(&f).unwrap()).unwrap();
    enc.finish().unwrap();

    let other = Store::open(dir.path().join("other")).unwrap();
    assert_eq!(import_archive(&other, &gz).unwrap(), vec![r("gz:1")]);
    let got = other
        .resolve_image(&r("gz:1"), &hoist_oci::Platform::host())
        .unwrap()
        .unwrap();
    assert_eq!(got.manifest.layers()[0].digest(), &img.layers[0]);
    assert_eq!(
        got.manifest.layers()[0].media_type(),
        &hoist_oci::MediaType::ImageLayerGzip
    );

    // A config whose diff_id does not match the layer is rejected, naming both.
    let bad_cfg = config_for(&[&sha256_of(b"wrong")]);
    let bad = dir.path().join("bad.tar");
    write_tar(
        &bad,
        &[
            ("manifest.json", Some(manifest.as_bytes()), ""),
            ("config.json", Some(&bad_cfg), ""),
            ("l/layer.tar.gz", Some(&layer), ""),
        ],
    );
    let e = import_archive(&other, &bad).unwrap_err();
    assert!(
        matches!(&e, StoreError::DigestMismatch { actual, .. } if *actual == img.diff_ids[0]),
        "{e}"
    );
}

#[test]
fn oci_import_names_and_verification() {
    let (dir, s, img) = store_with_image();
    let layout = |ann: serde_json::Value, blobs: &[(&hoist_oci::Digest, Vec<u8>)]| {
        let f = dir.path().join(format!(
            "{}.tar",
            sha256_of(ann.to_string().as_bytes()).digest()
        ));
        let mut entry = serde_json::to_value(&img.manifest).unwrap();
        entry["annotations"] = ann;
        let index =
            serde_json::to_vec(&serde_json::json!({"schemaVersion": 2, "manifests": [entry]}))
                .unwrap();
        let names: Vec<String> = blobs
            .iter()
            .map(|(d, _)| format!("blobs/sha256/{}", d.digest()))
            .collect();
        let mut entries: Vec<(&str, Option<&[u8]>, &str)> = vec![
            ("oci-layout", Some(br#"{"imageLayoutVersion":"1.0.0"}"#), ""),
            ("index.json", Some(&index), ""),
        ];
        for (n, (_, b)) in names.iter().zip(blobs) {
            entries.push((n, Some(b), ""));
        }
        write_tar(&f, &entries);
        f
    };
    let all: Vec<(&hoist_oci::Digest, Vec<u8>)> =
        [img.manifest.digest(), &img.config, &img.layers[0]]
            .into_iter()
            .map(|d| (d, std::fs::read(s.blob_path(d)).unwrap()))
            .collect();
    let other = Store::open(dir.path().join("other")).unwrap();

    // Tag only, no containerd name: localhost/<tag>, or the given repository.
    let f = layout(serde_json::json!({ANNOTATION_REF_NAME: "app"}), &all);
    assert_eq!(
        import_archive(&other, &f).unwrap(),
        vec![r("localhost/app:latest")]
    );
    let opts = ImportOptions {
        repository: Some(r("registry.example/team/app")),
    };
    assert_eq!(
        import_archive_with(&other, &f, &opts).unwrap(),
        vec![r("registry.example/team/app:app")]
    );
    // A full reference in ref.name (what the store itself writes).
    let f = layout(
        serde_json::json!({ANNOTATION_REF_NAME: "ghcr.io/o/x:3"}),
        &all,
    );
    assert_eq!(
        import_archive(&other, &f).unwrap(),
        vec![r("ghcr.io/o/x:3")]
    );
    // No name at all: imported but unnamed.
    let f = layout(serde_json::json!({}), &all);
    assert!(import_archive(&other, &f).unwrap().is_empty());

    // A blob whose content does not match its name.
    let fresh = Store::open(dir.path().join("fresh")).unwrap();
    let mut corrupt = all.clone();
    corrupt[2].1[10] ^= 0xff;
    let f = layout(serde_json::json!({ANNOTATION_REF_NAME: "c"}), &corrupt);
    assert!(matches!(
        import_archive(&fresh, &f),
        Err(StoreError::DigestMismatch { .. })
    ));
    assert!(fresh.names().unwrap().is_empty());
    // A missing layer.
    let f = layout(serde_json::json!({ANNOTATION_REF_NAME: "m"}), &all[..2]);
    let e = import_archive(&fresh, &f).unwrap_err();
    assert!(e.to_string().contains(img.layers[0].digest()), "{e}");
    assert!(fresh.names().unwrap().is_empty());
}

#[test]
fn rejects_unknown_archives_and_escaping_paths() {
    let dir = tempfile::tempdir().unwrap();
    let s = Store::open(dir.path().join("store")).unwrap();
    let f = dir.path().join("x.tar");
    write_tar(&f, &[("hello.txt", Some(b"hi"), "")]);
    assert!(matches!(
        import_archive(&s, &f),
        Err(StoreError::InvalidArchive { .. })
    ));
    let f = dir.path().join("y.tar");
    std::fs::write(&f, b"definitely not a tar archive, just some bytes here").unwrap();
    assert!(import_archive(&s, &f).is_err());
    // `..` paths are map keys only: nothing is written outside the store.
    let l = plain_layer(&[("a", b"1")]);
    let cfg = config_for(&[&sha256_of(&l)]);
    let manifest =
        br#"[{"Config":"c.json","RepoTags":["esc:1"],"Layers":["../../evil/layer.tar"]}]"#;
    let f = dir.path().join("esc.tar");
    let mut b = tar::Builder::new(std::fs::File::create(&f).unwrap());
    for (name, data) in [("manifest.json", &manifest[..]), ("c.json", &cfg)] {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        b.append_data(&mut h, name, data).unwrap();
    }
    // The tar crate refuses to write `..` through append_data; set the raw name.
    let mut h = tar::Header::new_gnu();
    h.set_size(l.len() as u64);
    h.set_mode(0o644);
    h.as_gnu_mut().unwrap().name[..20].copy_from_slice(b"../../evil/layer.tar");
    h.set_cksum();
    b.append(&h, &l[..]).unwrap();
    b.finish().unwrap();
    drop(b);
    let e = import_archive(&s, &f).unwrap_err();
    assert!(e.to_string().contains("evil"), "{e}");
    assert!(!dir.path().join("evil").exists());
}
