//! Go readers (umoci: Go's archive/tar + compress/gzip, with diffID checks;
//! skopeo: digest verification) accept produced layers.

mod common;

use std::fs;
use std::path::Path;
use std::process::Command;

use common::{entry, file, symlink};
use hoist_layer::{Compression, EntryKind, LayerOptions, write_layer};
use hoist_oci::{Digest, sha256_of};

fn put_blob(layout: &Path, bytes: &[u8]) -> Digest {
    let d = sha256_of(bytes);
    let dir = layout.join("blobs/sha256");
    fs::create_dir_all(&dir).unwrap();
    fs::write(dir.join(d.digest()), bytes).unwrap();
    d
}

/// Writes a one-layer OCI image layout tagged `latest`.
fn layout(dir: &Path, c: Compression) {
    let mut big = Vec::new();
    for i in 0..300_000u32 {
        big.extend_from_slice(format!("line {i}\n").as_bytes());
    }
    let mut exe = file("app/bin/tool", b"#!/bin/sh\n");
    exe.meta.mode = 0o755;
    let long = format!("app/{}/deep.txt", "x".repeat(120));
    let entries = vec![
        exe,
        file("app/big.txt", &big),
        file(&long, b"deep"),
        symlink("app/tool", "bin/tool"),
        entry(
            "app/tool2",
            EntryKind::Hardlink {
                target: "app/bin/tool".into(),
            },
        ),
    ];
    let opts = LayerOptions {
        compression: c,
        ..LayerOptions::default()
    };
    let (info, blob) = write_layer(entries, &opts, Vec::new()).unwrap();
    fs::create_dir_all(dir).unwrap();
    fs::write(dir.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
    let layer = put_blob(dir, &blob);
    let config = format!(
        r#"{{"architecture":"amd64","os":"linux","config":{{}},"rootfs":{{"type":"layers","diff_ids":["{}"]}}}}"#,
        info.diff_id
    );
    let config_d = put_blob(dir, config.as_bytes());
    let manifest = format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{config_d}","size":{}}},"layers":[{{"mediaType":"{}","digest":"{layer}","size":{}}}]}}"#,
        config.len(),
        info.media_type,
        info.size
    );
    let manifest_d = put_blob(dir, manifest.as_bytes());
    let index = format!(
        r#"{{"schemaVersion":2,"manifests":[{{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"{manifest_d}","size":{},"annotations":{{"org.opencontainers.image.ref.name":"latest"}}}}]}}"#,
        manifest.len()
    );
    fs::write(dir.join("index.json"), index).unwrap();
}

fn run(cmd: &mut Command) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn umoci_unpacks_a_gzip_layer() {
    let tmp = tempfile::tempdir().unwrap();
    let image = tmp.path().join("image");
    layout(&image, Compression::Gzip);
    let bundle = tmp.path().join("bundle");
    run(Command::new("umoci")
        .args(["unpack", "--rootless", "--image"])
        .arg(format!("{}:latest", image.display()))
        .arg(&bundle));
    let rootfs = bundle.join("rootfs");
    assert_eq!(
        fs::read(rootfs.join("app/bin/tool")).unwrap(),
        b"#!/bin/sh\n"
    );
    assert_eq!(
        fs::read_link(rootfs.join("app/tool")).unwrap(),
        Path::new("bin/tool")
    );
    let long = format!("app/{}/deep.txt", "x".repeat(120));
    assert_eq!(fs::read(rootfs.join(long)).unwrap(), b"deep");
    use std::os::unix::fs::MetadataExt;
    assert_eq!(
        fs::metadata(rootfs.join("app/tool2")).unwrap().ino(),
        fs::metadata(rootfs.join("app/bin/tool")).unwrap().ino()
    );
}

#[test]
fn skopeo_copies_and_verifies_gzip_and_zstd_layers() {
    for c in [Compression::Gzip, Compression::Zstd] {
        let tmp = tempfile::tempdir().unwrap();
        let image = tmp.path().join("image");
        layout(&image, c);
        let dest = tmp.path().join("copy");
        run(Command::new("skopeo")
            .args(["copy", "--quiet"])
            .arg(format!("oci:{}:latest", image.display()))
            .arg(format!("oci:{}:latest", dest.display())));
    }
}
