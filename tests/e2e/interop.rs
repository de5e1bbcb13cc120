//! Interop with real tools: skopeo, umoci, docker-archive structure, OCI schemas.

use std::collections::BTreeMap;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

use crate::harness::{Hoist, fixture, read_json, run_tool, sha256_file, tool};

/// What a path in an unpacked rootfs is: kind, mode, uid, gid, and link target or hash.
#[derive(Debug, PartialEq, Eq)]
pub struct Node {
    pub kind: char,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub detail: String,
}

/// `umoci unpack`s `DIR:TAG` and lists the rootfs.
pub fn unpack(layout: &Path, tag: &str) -> BTreeMap<String, Node> {
    let bundle = tempfile::tempdir().unwrap();
    let dest = bundle.path().join("bundle");
    let mut c = tool("umoci");
    c.arg("unpack");
    if !is_root() {
        c.arg("--rootless");
    }
    c.arg("--image")
        .arg(format!("{}:{tag}", layout.display()))
        .arg(&dest);
    run_tool(c);
    let mut out = BTreeMap::new();
    walk(&dest.join("rootfs"), &dest.join("rootfs"), &mut out);
    out
}

fn is_root() -> bool {
    std::fs::metadata("/proc/self")
        .map(|m| m.uid() == 0)
        .unwrap_or(false)
}

fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Node>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for p in entries {
        let m = std::fs::symlink_metadata(&p).unwrap();
        let rel = p.strip_prefix(root).unwrap().to_string_lossy().into_owned();
        let ft = m.file_type();
        let (kind, detail) = if ft.is_symlink() {
            (
                'l',
                std::fs::read_link(&p)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned(),
            )
        } else if ft.is_dir() {
            ('d', String::new())
        } else {
            ('f', sha256_file(&p))
        };
        out.insert(
            rel,
            Node {
                kind,
                mode: m.permissions().mode() & 0o7777,
                uid: m.uid(),
                gid: m.gid(),
                detail,
            },
        );
        if ft.is_dir() {
            walk(root, &p, out);
        }
    }
}

#[test]
fn umoci_unpacks_the_multistage_image_with_the_expected_tree() {
    let h = Hoist::new();
    let layout = h.path("layout");
    h.ok(&[
        "build",
        "-q",
        "-t",
        "demo:1",
        "--output",
        &format!("type=oci,dest={}", layout.display()),
        &fixture("multistage"),
    ]);
    let tree = unpack(&layout, "1");
    let ctx = Path::new(&fixture("multistage")).to_path_buf();
    let file = |p: &str| {
        tree.get(p)
            .unwrap_or_else(|| panic!("{p} missing from {:?}", tree.keys().collect::<Vec<_>>()))
    };
    assert_eq!(file("app").kind, 'd');
    let tool_node = file("app/bin/tool");
    assert_eq!((tool_node.kind, tool_node.mode), ('f', 0o755));
    assert_eq!(tool_node.detail, sha256_file(&ctx.join("tool.sh")));
    let readme = file("app/README.txt");
    if is_root() {
        assert_eq!((readme.uid, readme.gid), (1000, 1000));
    }
    assert_eq!(readme.detail, sha256_file(&ctx.join("README.txt")));
    assert_eq!(file("app/VERSION").detail, {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(b"1.2.3\n"))
    });
    let link = file("app/src/link-outside");
    assert_eq!(
        (link.kind, link.detail.as_str()),
        ('l', "../../../../etc/passwd")
    );
    assert_eq!(
        file("app/src/main.rs").detail,
        sha256_file(&ctx.join("src/main.rs"))
    );
    assert!(
        !tree.contains_key("app/src/secret.key"),
        ".dockerignore'd file leaked"
    );
    assert!(
        !tree.keys().any(|k| k.starts_with("never")),
        "the unused stage was built"
    );
}

#[test]
fn skopeo_reads_saved_archives_and_layouts() {
    let h = Hoist::new();
    h.ok(&["build", "-q", "-t", "demo:1", &fixture("multistage")]);
    let oci = h.path("x.tar");
    h.ok(&[
        "save",
        "demo:1",
        "-o",
        oci.to_str().unwrap(),
        "--format",
        "oci-archive",
    ]);
    let mut c = tool("skopeo");
    c.args(["inspect", &format!("oci-archive:{}", oci.display())]);
    let v: serde_json::Value = serde_json::from_str(&run_tool(c)).unwrap();
    assert_eq!(v["Labels"]["org.opencontainers.image.title"], "hoist demo");
    assert_eq!(v["Layers"].as_array().unwrap().len(), 3);

    let docker = h.path("d.tar");
    h.ok(&["save", "demo:1", "-o", docker.to_str().unwrap()]);
    let mut c = tool("skopeo");
    c.args(["inspect", &format!("docker-archive:{}", docker.display())]);
    let v: serde_json::Value = serde_json::from_str(&run_tool(c)).unwrap();
    assert_eq!(
        v["Architecture"],
        std::env::consts::ARCH
            .replace("x86_64", "amd64")
            .replace("aarch64", "arm64")
    );

    let dir = h.path("layout");
    h.ok(&[
        "build",
        "-q",
        "-t",
        "demo:1",
        "--output",
        &format!("type=oci,dest={}", dir.display()),
        &fixture("multistage"),
    ]);
    let mut c = tool("skopeo");
    c.args(["inspect", &format!("oci:{}:1", dir.display())]);
    let v: serde_json::Value = serde_json::from_str(&run_tool(c)).unwrap();
    assert_eq!(v["Labels"]["org.opencontainers.image.version"], "1.2.3");
}

#[test]
fn docker_archive_has_the_layout_docker_load_reads() {
    let h = Hoist::new();
    h.ok(&["build", "-q", "-t", "demo:1", &fixture("scratch-copy")]);
    let file = h.path("d.tar");
    h.ok(&[
        "save",
        "demo:1",
        "-o",
        file.to_str().unwrap(),
        "--format",
        "docker-archive",
    ]);
    let x = h.path("x");
    std::fs::create_dir(&x).unwrap();
    let mut c = tool("tar");
    c.arg("-xf").arg(&file).arg("-C").arg(&x);
    run_tool(c);
    let manifest = read_json(&x.join("manifest.json"));
    let m = &manifest[0];
    assert_eq!(m["RepoTags"], serde_json::json!(["demo:1"]));
    let config = m["Config"].as_str().unwrap();
    assert!(
        x.join(config).is_file(),
        "Config {config} is in the archive"
    );
    let layers = m["Layers"].as_array().unwrap();
    assert_eq!(layers.len(), 2);
    for l in layers {
        assert!(
            x.join(l.as_str().unwrap()).is_file(),
            "layer {l} is in the archive"
        );
    }
    let repos = read_json(&x.join("repositories"));
    assert!(repos["demo"]["1"].is_string(), "{repos}");
    // The blob names are their digests.
    let cfg_path = x.join(config);
    assert_eq!(
        cfg_path.file_name().unwrap().to_string_lossy(),
        sha256_file(&cfg_path)
    );
}

#[test]
fn everything_hoist_writes_validates_against_the_oci_schemas() {
    let h = Hoist::new();
    let layout = h.path("layout");
    h.ok(&[
        "build",
        "-q",
        "-t",
        "demo:1",
        "--output",
        &format!("type=oci,dest={}", layout.display()),
        &fixture("multistage"),
    ]);
    let schemas = crate::schema::Schemas::load();
    for root in [h.root.path(), layout.as_path()] {
        schemas.check(
            "image-layout-schema.json",
            &read_json(&root.join("oci-layout")),
        );
        let index = read_json(&root.join("index.json"));
        schemas.check("image-index-schema.json", &index);
        for m in index["manifests"].as_array().unwrap() {
            let digest = m["digest"].as_str().unwrap().trim_start_matches("sha256:");
            let manifest = read_json(&root.join("blobs/sha256").join(digest));
            schemas.check("image-manifest-schema.json", &manifest);
            let cfg = manifest["config"]["digest"]
                .as_str()
                .unwrap()
                .trim_start_matches("sha256:");
            schemas.check(
                "config-schema.json",
                &read_json(&root.join("blobs/sha256").join(cfg)),
            );
        }
    }
}
