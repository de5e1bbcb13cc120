use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::Path;

use super::*;
use crate::entry::{Entry, EntryKind, EntryMeta, FileSource, LayerOptions};

fn kinds(entries: &[Entry]) -> BTreeMap<String, String> {
    entries
        .iter()
        .map(|e| {
            let k = match &e.kind {
                EntryKind::Dir => "dir".to_string(),
                EntryKind::File { size, .. } => format!("file:{size}"),
                EntryKind::Symlink { target } => format!("symlink:{target}"),
                EntryKind::Hardlink { target } => format!("hardlink:{target}"),
                EntryKind::Whiteout => "whiteout".to_string(),
                EntryKind::OpaqueDir => "opaque".to_string(),
            };
            (e.path.clone(), k)
        })
        .collect()
}

fn base(root: &Path) {
    for d in ["etc", "usr/bin", "var/cache/apt", "var/lib", "gone/deep"] {
        fs::create_dir_all(root.join(d)).unwrap();
    }
    fs::write(root.join("etc/passwd"), "root:x:0:0::/root:/bin/sh\n").unwrap();
    fs::write(root.join("etc/keep"), "same").unwrap();
    fs::write(root.join("usr/bin/tool"), "v1").unwrap();
    fs::write(root.join("var/cache/apt/old"), "old").unwrap();
    fs::write(root.join("gone/deep/file"), "x").unwrap();
    fs::write(root.join("etc/mode"), "m").unwrap();
}

#[test]
fn reports_adds_changes_deletes_opaque_links() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    base(root);
    let before = snapshot(root, &SnapshotOptions::default()).unwrap();
    assert_eq!(before.len(), 15);

    // Changes of every kind.
    fs::write(root.join("usr/bin/tool"), "version 2").unwrap();
    fs::write(root.join("usr/bin/new"), "new!").unwrap();
    fs::remove_dir_all(root.join("gone")).unwrap();
    fs::remove_dir_all(root.join("var/cache/apt")).unwrap();
    fs::create_dir(root.join("var/cache/apt")).unwrap();
    fs::write(root.join("var/cache/apt/fresh"), "f").unwrap();
    fs::hard_link(root.join("usr/bin/new"), root.join("usr/bin/new2")).unwrap();
    symlink("tool", root.join("usr/bin/alias")).unwrap();
    fs::set_permissions(root.join("etc/mode"), fs::Permissions::from_mode(0o600)).unwrap();

    let entries = diff(&before, &DiffOptions::default()).unwrap();
    let got = kinds(&entries);
    let want: BTreeMap<String, String> = [
        ("etc", "dir"),
        ("etc/mode", "file:1"),
        ("gone", "whiteout"),
        ("usr", "dir"),
        ("usr/bin", "dir"),
        ("usr/bin/alias", "symlink:tool"),
        ("usr/bin/new", "file:4"),
        ("usr/bin/new2", "hardlink:usr/bin/new"),
        ("usr/bin/tool", "file:9"),
        ("var", "dir"),
        ("var/cache", "dir"),
        ("var/cache/apt", "opaque"),
        ("var/cache/apt/fresh", "file:1"),
    ]
    .into_iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    assert_eq!(got, want);
    let mode = entries.iter().find(|e| e.path == "etc/mode").unwrap();
    assert_eq!(mode.meta.mode, 0o600);
    let tool = entries.iter().find(|e| e.path == "usr/bin/tool").unwrap();
    assert_eq!(
        tool.kind,
        EntryKind::File {
            source: FileSource::Path(root.join("usr/bin/tool")),
            size: 9
        }
    );
}

#[test]
fn nothing_changed_gives_no_entries() {
    let dir = tempfile::tempdir().unwrap();
    base(dir.path());
    let before = snapshot(dir.path(), &SnapshotOptions::default()).unwrap();
    assert!(diff(&before, &DiffOptions::default()).unwrap().is_empty());
}

#[test]
fn excluded_paths_never_appear() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    base(root);
    fs::create_dir(root.join("proc")).unwrap();
    fs::write(root.join("proc/old"), "o").unwrap();
    let opts = SnapshotOptions {
        exclude: vec!["/proc".into(), "run/secrets/s".into()],
    };
    let before = snapshot(root, &opts).unwrap();
    assert!(before.get("proc").is_none());
    fs::remove_file(root.join("proc/old")).unwrap();
    fs::write(root.join("proc/new"), "n").unwrap();
    fs::create_dir_all(root.join("run/secrets")).unwrap();
    fs::write(root.join("run/secrets/s"), "secret").unwrap();
    let got = kinds(&diff(&before, &DiffOptions::default()).unwrap());
    assert_eq!(
        got.keys().collect::<Vec<_>>(),
        vec!["run", "run/secrets"],
        "{got:?}"
    );
}

#[test]
fn type_change_replaces_without_whiteouts_below() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    base(root);
    let before = snapshot(root, &SnapshotOptions::default()).unwrap();
    fs::remove_dir_all(root.join("gone")).unwrap();
    fs::write(root.join("gone"), "now a file").unwrap();
    fs::remove_file(root.join("etc/keep")).unwrap();
    fs::create_dir(root.join("etc/keep")).unwrap();
    let got = kinds(&diff(&before, &DiffOptions::default()).unwrap());
    assert_eq!(got.get("gone").map(String::as_str), Some("file:10"));
    assert_eq!(got.get("etc/keep").map(String::as_str), Some("dir"));
    assert!(!got.contains_key("gone/deep"), "{got:?}");
}

#[test]
fn owners_come_from_the_table_or_the_id_map() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    base(root);
    let mut table = OwnerTable::new();
    let me = fs::metadata(root.join("etc/passwd")).unwrap();
    use std::os::unix::fs::MetadataExt;
    table.insert(
        "usr/bin/tool",
        Owner {
            uid: 1000,
            gid: 1000,
            mode: 0o644,
        },
    );
    for p in ["usr", "usr/bin"] {
        table.insert(
            p,
            Owner {
                uid: 0,
                gid: 0,
                mode: 0o755,
            },
        );
    }
    let before = snapshot(root, &SnapshotOptions::default()).unwrap();
    // Edited in place: keeps the image's owner. New file: container root.
    fs::OpenOptions::new()
        .append(true)
        .open(root.join("usr/bin/tool"))
        .and_then(|mut f| std::io::Write::write_all(&mut f, b"more"))
        .unwrap();
    fs::write(root.join("usr/bin/fresh"), "f").unwrap();
    fs::hard_link(root.join("usr/bin/tool"), root.join("usr/bin/tool2")).unwrap();
    let opts = DiffOptions {
        ids: IdRemap::Single {
            uid: me.uid(),
            gid: me.gid(),
        },
        owners: Some(&table),
    };
    let entries = diff(&before, &opts).unwrap();
    let owner = |p: &str| {
        let e = entries.iter().find(|e| e.path == p).unwrap();
        (e.meta.uid, e.meta.gid)
    };
    assert_eq!(owner("usr/bin/tool"), (1000, 1000));
    assert_eq!(owner("usr/bin/tool2"), (1000, 1000));
    assert_eq!(owner("usr/bin/fresh"), (0, 0));
    assert_eq!(owner("usr"), (0, 0));
}

#[test]
fn id_remap_modes() {
    let single = IdRemap::Single { uid: 1000, gid: 50 };
    assert_eq!((single.uid(1000), single.gid(50)), (0, 0));
    assert_eq!(single.uid(7), OVERFLOW_ID);
    let sub = IdRemap::Subid {
        uid: 1000,
        gid: 1000,
        uid_start: 100_000,
        uid_count: 65536,
        gid_start: 200_000,
        gid_count: 65536,
    };
    assert_eq!(sub.uid(1000), 0);
    assert_eq!(sub.uid(100_000), 1);
    assert_eq!(sub.uid(100_999), 1000);
    assert_eq!(sub.gid(200_000 + 65533), 65534);
    assert_eq!(sub.uid(100_000 + 65536), OVERFLOW_ID);
    assert_eq!(IdRemap::Identity.uid(42), 42);
}

fn entry(path: &str, kind: EntryKind, uid: u32) -> Entry {
    Entry {
        path: path.into(),
        kind,
        meta: EntryMeta {
            mode: 0o640,
            uid,
            gid: uid,
            ..EntryMeta::default()
        },
    }
}

fn bytes(data: &str) -> EntryKind {
    EntryKind::File {
        source: FileSource::Bytes(data.as_bytes().to_vec()),
        size: data.len() as u64,
    }
}

#[test]
fn owner_table_follows_layers_with_whiteouts() {
    let lower = vec![
        entry("app", EntryKind::Dir, 1000),
        entry("app/a", bytes("a"), 1000),
        entry("app/sub", EntryKind::Dir, 1000),
        entry("app/sub/b", bytes("b"), 65534),
        entry("opt", EntryKind::Dir, 0),
        entry("opt/x", bytes("x"), 7),
        entry(
            "app/link",
            EntryKind::Hardlink {
                target: "app/a".into(),
            },
            0,
        ),
    ];
    let upper = vec![
        entry("app/sub", EntryKind::Whiteout, 0),
        entry("opt", EntryKind::OpaqueDir, 0),
        entry("opt/y", bytes("y"), 8),
    ];
    let mut table = OwnerTable::new();
    for layer in [lower, upper] {
        let (_, blob) = crate::write_layer(layer, &LayerOptions::default(), Vec::new()).unwrap();
        table.apply_layer(blob.as_slice()).unwrap();
    }
    assert_eq!(
        table.get("app/a").map(|o| (o.uid, o.mode)),
        Some((1000, 0o640))
    );
    assert_eq!(table.get("app/link").map(|o| o.uid), Some(1000));
    assert_eq!(table.get("app/sub"), None);
    assert_eq!(table.get("app/sub/b"), None);
    assert_eq!(table.get("opt/x"), None);
    assert_eq!(table.get("opt/y").map(|o| o.uid), Some(8));

    // The same through entries.
    let mut direct = OwnerTable::new();
    direct.apply_entries(&[
        entry("opt", EntryKind::Dir, 0),
        entry("opt/x", bytes("x"), 7),
    ]);
    direct.apply_entries(&[entry("opt", EntryKind::Whiteout, 0)]);
    assert!(direct.is_empty());
}

#[test]
fn owner_table_text_round_trips() {
    let mut t = OwnerTable::new();
    t.insert(
        "home/app",
        Owner {
            uid: 1000,
            gid: 1001,
            mode: 0o750,
        },
    );
    t.insert(
        "odd name\nwith\\slash",
        Owner {
            uid: 0,
            gid: 0,
            mode: 0o4755,
        },
    );
    let text = t.to_text();
    let back = OwnerTable::from_text(&text).unwrap();
    assert_eq!(back.get("home/app"), t.get("home/app"));
    assert_eq!(
        back.get("odd name\nwith\\slash"),
        Some(Owner {
            uid: 0,
            gid: 0,
            mode: 0o4755
        })
    );
    assert_eq!(back.len(), 2);
    assert!(OwnerTable::from_text("x y z path\n").is_none());
}
