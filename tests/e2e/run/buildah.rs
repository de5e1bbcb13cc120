//! The same RUN-heavy Dockerfile built by hoist and by `buildah bud --storage-driver
//! vfs --isolation chroot` gives the same final tree: paths, modes, owners, symlink
//! targets, hard-link groups and file contents (timestamps are not compared).
//!
//! Root only (buildah's vfs driver and chroot isolation need it). The base is the
//! busybox image built offline by hoist and handed to buildah as an `oci:` layout.
//!
//! Legitimate differences, handled here:
//! - buildah 1.28 leaves the stubs of the mount points it created in the layer (empty
//!   `/dev`, `/proc`, `/sys`, `/run` directories and empty `/etc/hosts`,
//!   `/etc/resolv.conf`, `/etc/hostname` files). BuildKit removes its mount stubs, and
//!   so does hoist; the comparison drops exactly those paths when they are empty in
//!   buildah's tree and absent from hoist's.
//! - buildah sets `HOSTNAME` in RUN's environment (BuildKit does not), so the step
//!   that records the environment leaves it out.
//! - buildah's chroot isolation also puts the primary group in the supplementary
//!   list (runc and BuildKit list only the `/etc/group` memberships), so the
//!   Dockerfile records group membership, not `id`'s raw output.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::Command;

use super::{is_root, workspace};
use crate::harness::{run_tool, sha256_file, tool};

const DOCKERFILE: &str = "FROM localhost/base:1
RUN mkdir -p /data/keep /data/replace /data/deep/er && echo one > /data/keep/a \\
 && echo old > /data/replace/old && echo gone > /data/gone && echo mod > /data/mod \\
 && echo z > /data/deep/er/z && echo zz > /data/deep/zz
RUN echo changed >> /data/mod && rm /data/gone && rm -rf /data/replace && mkdir /data/replace \\
 && echo new > /data/replace/new && echo u > /data/u1000 && chown 1000:1000 /data/u1000 \\
 && chown -R 65534:50 /data/deep && ln /data/keep/a /data/hard && ln -s keep/a /data/sym \\
 && chmod 0640 /data/keep/a && chmod 4755 /data/mod && ln -s /nonexistent /data/dangling \\
 && mkdir -m 2750 /data/setgid && ln /data/mod /data/keep/mod-link
SHELL [\"/bin/sh\", \"-e\", \"-c\"]
RUN [\"/bin/sh\", \"-c\", \"echo exec-form > /data/exec\"]
WORKDIR /work/dir
RUN echo in-workdir > here && env | grep -v '^HOSTNAME=' | sort > /data/env-root
USER nobody
RUN echo $(id -u):$(id -g) > /tmp/id && (id -G | tr ' ' '\\n' | grep -qx 50 && echo member-of-50) >> /tmp/id \\
 && echo \"$HOME\" > /tmp/home && mkdir /tmp/nob && echo n > /tmp/nob/f
USER root
RUN rm -rf /data/deep/er && echo after > /data/keep/b && rm /data/keep/mod-link
";

/// Buildah's mount stubs (see the module docs).
const BUILDAH_STUBS: &[&str] = &[
    "dev",
    "proc",
    "sys",
    "run",
    "etc/hosts",
    "etc/resolv.conf",
    "etc/hostname",
];

#[derive(Debug, PartialEq, Eq)]
struct Entry {
    kind: char,
    mode: u32,
    uid: u32,
    gid: u32,
    /// Symlink target or content hash.
    detail: String,
}

/// Every path of an unpacked rootfs, and its hard-link groups (sorted path lists).
fn tree(root: &Path) -> (BTreeMap<String, Entry>, BTreeSet<Vec<String>>) {
    let mut entries = BTreeMap::new();
    let mut inodes: BTreeMap<u64, Vec<String>> = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            let m = fs::symlink_metadata(&p).unwrap();
            let rel = p.strip_prefix(root).unwrap().to_string_lossy().into_owned();
            let ft = m.file_type();
            let (kind, detail) = if ft.is_symlink() {
                (
                    'l',
                    fs::read_link(&p).unwrap().to_string_lossy().into_owned(),
                )
            } else if ft.is_dir() {
                stack.push(p.clone());
                ('d', String::new())
            } else if ft.is_file() {
                if m.nlink() > 1 {
                    inodes.entry(m.ino()).or_default().push(rel.clone());
                }
                ('f', format!("{} bytes {}", m.len(), sha256_file(&p)))
            } else {
                ('o', String::new())
            };
            let entry = Entry {
                kind,
                mode: m.permissions().mode() & 0o7777,
                uid: m.uid(),
                gid: m.gid(),
                detail,
            };
            entries.insert(rel, entry);
        }
    }
    let links = inodes
        .into_values()
        .map(|mut v| {
            v.sort();
            v
        })
        .collect();
    (entries, links)
}

fn umoci_unpack(layout: &Path, dest: &Path) -> (BTreeMap<String, Entry>, BTreeSet<Vec<String>>) {
    let mut c = tool("umoci");
    c.arg("unpack")
        .arg("--image")
        .arg(format!("{}:1", layout.display()))
        .arg(dest);
    run_tool(c);
    tree(&dest.join("rootfs"))
}

/// A temp dir with a lowercase path, removed on drop.
struct LowercaseDir(std::path::PathBuf);

impl LowercaseDir {
    fn new() -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let dir = std::env::temp_dir().join(format!("hoist-e2e-{}-{nanos}", std::process::id()));
        fs::create_dir(&dir).unwrap();
        LowercaseDir(dir)
    }
}

impl Drop for LowercaseDir {
    fn drop(&mut self) {
        // Best effort: a leftover temp dir must not fail the test.
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn buildah_on_path() -> bool {
    Command::new("buildah")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn run_tree_matches_buildah_chroot_vfs() {
    if !is_root() {
        println!("skipped: buildah --storage-driver vfs --isolation chroot needs root");
        return;
    }
    if !buildah_on_path() {
        println!("skipped: buildah is not installed (apt-get install -y buildah)");
        return;
    }
    // The busybox base, built by hoist and exported as an OCI layout for buildah.
    let h = workspace("");
    // buildah names an `oci:` image after its path, which must then be lowercase.
    let lower = LowercaseDir::new();
    let base = lower.0.join("base-oci");
    let dest = format!("type=oci,dest={}", base.display());
    h.ok(&[
        "build",
        "-q",
        "-t",
        "localhost/base:1",
        "--output",
        &dest,
        ".",
    ]);
    let ctx = h.path("ctx");
    fs::create_dir(&ctx).unwrap();
    fs::write(ctx.join("Dockerfile"), DOCKERFILE).unwrap();

    let ours = h.path("hoist-oci");
    let dest = format!("type=oci,dest={}", ours.display());
    let ctx_arg = ctx.display().to_string();
    h.ok(&["build", "-q", "-t", "cmp:1", "--output", &dest, &ctx_arg]);

    let theirs = h.path("buildah-oci");
    let storage = tempfile::tempdir().unwrap();
    let buildah = |args: &[&str]| {
        let mut c = tool("buildah");
        c.arg("--root")
            .arg(storage.path().join("root"))
            .arg("--runroot")
            .arg(storage.path().join("run"))
            .args(["--storage-driver", "vfs"])
            .args(args);
        run_tool(c)
    };
    let id = buildah(&["pull", "-q", &format!("oci:{}:1", base.display())]);
    buildah(&["tag", id.trim(), "localhost/base:1"]);
    // Docker format: buildah ignores SHELL in OCI format.
    buildah(&[
        "bud",
        "-q",
        "--format",
        "docker",
        "--isolation",
        "chroot",
        "--layers=false",
        "-t",
        "cmp:1",
        &ctx_arg,
    ]);
    buildah(&[
        "push",
        "-q",
        "cmp:1",
        &format!("oci:{}:1", theirs.display()),
    ]);

    let (ours, our_links) = umoci_unpack(&ours, &h.path("u-hoist"));
    let (mut theirs, their_links) = umoci_unpack(&theirs, &h.path("u-buildah"));
    for stub in BUILDAH_STUBS {
        let Some(e) = theirs.get(*stub) else { continue };
        let empty = match e.kind {
            'd' => !theirs.keys().any(|k| k.starts_with(&format!("{stub}/"))),
            'f' => e.detail.starts_with("0 bytes"),
            _ => false,
        };
        if empty && !ours.contains_key(*stub) {
            theirs.remove(*stub);
        }
    }
    let diff: Vec<String> = ours
        .keys()
        .chain(theirs.keys())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .filter(|k| ours.get(*k) != theirs.get(*k))
        .map(|k| format!("{k}: hoist {:?} / buildah {:?}", ours.get(k), theirs.get(k)))
        .collect();
    assert!(diff.is_empty(), "trees differ:\n{}", diff.join("\n"));
    assert_eq!(our_links, their_links, "hard-link groups differ");
    // The comparison covered what it is meant to.
    assert!(our_links.contains(&vec!["data/hard".to_string(), "data/keep/a".to_string()]));
    assert_eq!(
        (ours["data/u1000"].uid, ours["data/deep/zz"].gid),
        (1000, 50)
    );
    assert_eq!(ours["data/mod"].mode, 0o4755);
    assert_eq!(ours["data/dangling"].detail, "/nonexistent");
    assert!(ours.contains_key("work/dir/here") && !ours.contains_key("data/deep/er"));
    let id = fs::read_to_string(h.path("u-hoist/rootfs/tmp/id")).unwrap();
    assert_eq!(id, "65534:65534\nmember-of-50\n");
    let home = fs::read_to_string(h.path("u-hoist/rootfs/tmp/home")).unwrap();
    assert_eq!(home, "/nonexistent\n");
}
