//! extract: round trips, whiteouts, and every escape a hostile archive can try.

mod common;

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

use common::{dir, entry, file, raw, symlink};
use hoist_layer::{
    Compression, EntryKind, ExtractOptions, LayerError, LayerOptions, Timestamp, extract,
    write_layer,
};
use tar::EntryType;

fn tar_of(build: impl FnOnce(&mut tar::Builder<Vec<u8>>)) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    build(&mut b);
    b.into_inner().unwrap()
}

fn unpack(blob: &[u8], root: &Path) -> Result<hoist_layer::ExtractStats, LayerError> {
    extract(blob, root, &ExtractOptions::default())
}

/// A sandbox: `root` to extract into and `outside` that must stay untouched.
struct Sandbox {
    _tmp: tempfile::TempDir,
    root: std::path::PathBuf,
    outside: std::path::PathBuf,
}

fn sandbox() -> Sandbox {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    let outside = tmp.path().join("outside");
    fs::create_dir_all(&root).unwrap();
    fs::create_dir_all(&outside).unwrap();
    fs::write(outside.join("passwd"), "host").unwrap();
    Sandbox {
        _tmp: tmp,
        root,
        outside,
    }
}

fn assert_outside_untouched(s: &Sandbox) {
    let names: Vec<_> = fs::read_dir(&s.outside)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["passwd"]);
    assert_eq!(
        fs::read_to_string(s.outside.join("passwd")).unwrap(),
        "host"
    );
}

#[test]
fn round_trip_of_a_written_layer() {
    let mut exe = file("app/bin/run", b"#!/bin/sh\necho hi\n");
    exe.meta.mode = 0o755;
    exe.meta.mtime = Timestamp {
        secs: 1_600_000_000,
        nanos: 250_000_000,
    };
    let mut ro = dir("app/ro");
    ro.meta.mode = 0o555;
    let entries = vec![
        exe,
        ro,
        file("app/ro/inner", b"inner"),
        symlink("app/latest", "bin/run"),
        entry(
            "app/bin/run2",
            EntryKind::Hardlink {
                target: "app/bin/run".into(),
            },
        ),
    ];
    let (_, blob) = write_layer(
        entries,
        &LayerOptions {
            compression: Compression::Zstd,
            ..LayerOptions::default()
        },
        Vec::new(),
    )
    .unwrap();
    let s = sandbox();
    let stats = unpack(&blob, &s.root).unwrap();
    assert_eq!(stats.files, 2);
    assert_eq!(stats.hardlinks, 1);
    assert_eq!(stats.symlinks, 1);
    assert_eq!(stats.dirs, 3);
    let run = s.root.join("app/bin/run");
    assert_eq!(fs::read(&run).unwrap(), b"#!/bin/sh\necho hi\n");
    let m = fs::metadata(&run).unwrap();
    assert_eq!(m.permissions().mode() & 0o7777, 0o755);
    assert_eq!((m.mtime(), m.mtime_nsec()), (1_600_000_000, 250_000_000));
    assert_eq!(
        m.ino(),
        fs::metadata(s.root.join("app/bin/run2")).unwrap().ino()
    );
    assert_eq!(
        fs::read_link(s.root.join("app/latest")).unwrap(),
        Path::new("bin/run")
    );
    let ro = fs::metadata(s.root.join("app/ro")).unwrap();
    assert_eq!(ro.permissions().mode() & 0o7777, 0o555);
    assert_eq!(ro.mtime(), 1_700_000_000);
    assert_eq!(fs::read(s.root.join("app/ro/inner")).unwrap(), b"inner");
    // Let the tempdir be cleaned up.
    fs::set_permissions(s.root.join("app/ro"), fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn whiteouts_delete_and_opaque_dirs_hide_lower_contents() {
    let s = sandbox();
    let lower = tar_of(|b| {
        raw(b, "etc/", EntryType::Directory, "", b"");
        raw(b, "etc/gone", EntryType::Regular, "", b"x");
        raw(b, "etc/kept", EntryType::Regular, "", b"k");
        raw(b, "var/cache/", EntryType::Directory, "", b"");
        raw(b, "var/cache/old/", EntryType::Directory, "", b"");
        raw(b, "var/cache/old/f", EntryType::Regular, "", b"o");
        raw(b, "var/cache/stale", EntryType::Regular, "", b"s");
    });
    unpack(&lower, &s.root).unwrap();
    let upper = write_layer(
        vec![
            entry("etc/gone", EntryKind::Whiteout),
            entry("etc/never-existed", EntryKind::Whiteout),
            hoist_layer::Entry {
                path: "var/cache".into(),
                kind: EntryKind::OpaqueDir,
                meta: common::meta(0o755),
            },
            file("var/cache/fresh", b"f"),
        ],
        &LayerOptions::default(),
        Vec::new(),
    )
    .unwrap()
    .1;
    let stats = unpack(&upper, &s.root).unwrap();
    assert_eq!(stats.whiteouts, 3);
    assert!(!s.root.join("etc/gone").exists());
    assert!(!s.root.join("etc/.wh.gone").exists());
    assert!(s.root.join("etc/kept").exists());
    let mut cache: Vec<_> = fs::read_dir(s.root.join("var/cache"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    cache.sort();
    assert_eq!(cache, ["fresh"]);
}

#[test]
fn overlay_form_keeps_whiteouts_as_devices_and_opaque_as_xattr() {
    let s = sandbox();
    let layer = write_layer(
        vec![
            entry("etc/gone", EntryKind::Whiteout),
            hoist_layer::Entry {
                path: "var/cache".into(),
                kind: EntryKind::OpaqueDir,
                meta: common::meta(0o755),
            },
            file("var/cache/fresh", b"f"),
        ],
        &LayerOptions::default(),
        Vec::new(),
    )
    .unwrap()
    .1;
    let o = ExtractOptions {
        overlay: true,
        ..ExtractOptions::default()
    };
    extract(&layer[..], &s.root, &o).unwrap();
    let gone = fs::symlink_metadata(s.root.join("etc/gone")).unwrap();
    assert!(hoist_layer::overlay::is_whiteout(&gone));
    assert!(!s.root.join("etc/.wh.gone").exists());
    assert!(hoist_layer::overlay::is_opaque(&s.root.join("var/cache")));
    assert!(!s.root.join("var/cache/.wh..wh..opq").exists());
    assert_eq!(fs::read(s.root.join("var/cache/fresh")).unwrap(), b"f");
    // Read back as a stack over a lower layer: the whiteout and opaque dir hide it.
    let lower = s.root.parent().unwrap().join("lower");
    fs::create_dir_all(lower.join("etc")).unwrap();
    fs::create_dir_all(lower.join("var/cache")).unwrap();
    fs::write(lower.join("etc/gone"), "x").unwrap();
    fs::write(lower.join("etc/kept"), "k").unwrap();
    fs::write(lower.join("var/cache/old"), "o").unwrap();
    let stack = hoist_layer::overlay::Stack::new(vec![s.root.clone(), lower]);
    assert!(stack.locate("etc/gone").is_none());
    assert_eq!(stack.read("etc/kept").as_deref(), Some(&b"k"[..]));
    assert!(stack.locate("var/cache/old").is_none());
}

#[test]
fn owners_recorded_while_extracting_match_the_tar_headers() {
    let s = sandbox();
    let mut owned = file("home/app/rc", b"x");
    owned.meta.uid = 1000;
    owned.meta.gid = 1001;
    owned.meta.mode = 0o600;
    let mut home = dir("home/app");
    home.meta.uid = 1000;
    home.meta.mode = 0o750;
    let blob = write_layer(
        vec![
            dir("home"),
            home,
            owned,
            entry(
                "home/app/link",
                EntryKind::Hardlink {
                    target: "home/app/rc".into(),
                },
            ),
            entry("etc/gone", EntryKind::Whiteout),
            symlink("bin", "usr/bin"),
        ],
        &LayerOptions::default(),
        Vec::new(),
    )
    .unwrap()
    .1;
    let o = ExtractOptions {
        overlay: true,
        record_owners: true,
        ..ExtractOptions::default()
    };
    let stats = extract(&blob[..], &s.root, &o).unwrap();
    let recorded = stats.owners.unwrap();
    let mut read = hoist_layer::diff::OwnerTable::new();
    read.apply_layer(&blob[..]).unwrap();
    assert_eq!(recorded, read);
    let rc = recorded.get("home/app/rc").unwrap();
    assert_eq!((rc.uid, rc.gid, rc.mode), (1000, 1001, 0o600));
    assert_eq!(recorded.get("home/app/link"), Some(rc));
    assert_eq!(recorded.get("home/app").map(|o| o.mode), Some(0o750));
}

#[test]
fn whiteouts_are_plain_files_for_add_archives() {
    let s = sandbox();
    let t = tar_of(|b| raw(b, "d/.wh.x", EntryType::Regular, "", b""));
    let o = ExtractOptions {
        whiteouts: false,
        ..ExtractOptions::default()
    };
    extract(&t[..], &s.root, &o).unwrap();
    assert!(s.root.join("d/.wh.x").is_file());
}

#[test]
fn dotdot_escape_is_rejected() {
    let s = sandbox();
    let t = tar_of(|b| raw(b, "../outside/passwd", EntryType::Regular, "", b"pwned"));
    let err = unpack(&t, &s.root).unwrap_err();
    assert!(matches!(err, LayerError::Escape { .. }), "{err}");
    let t = tar_of(|b| raw(b, "a/../../outside/x", EntryType::Regular, "", b"pwned"));
    assert!(unpack(&t, &s.root).is_err());
    assert_outside_untouched(&s);
}

#[test]
fn absolute_paths_are_clamped_to_the_root() {
    let s = sandbox();
    let abs = format!("{}/passwd", s.outside.display());
    let t = tar_of(|b| raw(b, &abs, EntryType::Regular, "", b"inside"));
    unpack(&t, &s.root).unwrap();
    let landed = s.root.join(abs.trim_start_matches('/'));
    assert_eq!(fs::read_to_string(landed).unwrap(), "inside");
    assert_outside_untouched(&s);
}

#[test]
fn symlinked_parent_is_resolved_inside_the_root() {
    let s = sandbox();
    let t = tar_of(|b| {
        raw(b, "a", EntryType::Symlink, s.outside.to_str().unwrap(), b"");
        raw(b, "a/passwd", EntryType::Regular, "", b"pwned");
        raw(
            b,
            "rel",
            EntryType::Symlink,
            "../../../../../../outside",
            b"",
        );
        raw(b, "rel/passwd", EntryType::Regular, "", b"pwned2");
        raw(b, "b", EntryType::Symlink, "/etc", b"");
        raw(b, "b/passwd", EntryType::Regular, "", b"pwned3");
    });
    unpack(&t, &s.root).unwrap();
    // "a -> <outside>" resolves to <root>/<outside>.
    let scoped = s
        .root
        .join(s.outside.strip_prefix("/").unwrap())
        .join("passwd");
    assert_eq!(fs::read_to_string(scoped).unwrap(), "pwned");
    assert_eq!(
        fs::read_to_string(s.root.join("outside/passwd")).unwrap(),
        "pwned2"
    );
    assert_eq!(
        fs::read_to_string(s.root.join("etc/passwd")).unwrap(),
        "pwned3"
    );
    assert_outside_untouched(&s);
    assert_ne!(fs::read_to_string("/etc/passwd").unwrap(), "pwned3");
    // "etc -> /etc" resolves to itself inside the root: a loop, never the host's /etc.
    let s = sandbox();
    let t = tar_of(|b| {
        raw(b, "etc", EntryType::Symlink, "/etc", b"");
        raw(b, "etc/passwd", EntryType::Regular, "", b"pwned4");
    });
    assert!(matches!(
        unpack(&t, &s.root).unwrap_err(),
        LayerError::SymlinkLoop { .. }
    ));
    assert_ne!(fs::read_to_string("/etc/passwd").unwrap(), "pwned4");
}

#[test]
fn existing_symlink_at_the_final_component_is_replaced_not_followed() {
    let s = sandbox();
    std::os::unix::fs::symlink(s.outside.join("passwd"), s.root.join("victim")).unwrap();
    let t = tar_of(|b| raw(b, "victim", EntryType::Regular, "", b"new"));
    unpack(&t, &s.root).unwrap();
    assert!(
        !fs::symlink_metadata(s.root.join("victim"))
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(fs::read_to_string(s.root.join("victim")).unwrap(), "new");
    assert_outside_untouched(&s);
}

#[test]
fn hardlink_escapes_are_rejected() {
    let s = sandbox();
    let t = tar_of(|b| raw(b, "h", EntryType::Link, "../outside/passwd", b""));
    assert!(matches!(
        unpack(&t, &s.root).unwrap_err(),
        LayerError::Escape { .. }
    ));
    // Absolute targets are clamped to the root, where nothing exists.
    let abs = s.outside.join("passwd");
    let t = tar_of(|b| raw(b, "h", EntryType::Link, abs.to_str().unwrap(), b""));
    assert!(unpack(&t, &s.root).is_err());
    // Through a symlinked directory: resolved inside the root, so still not found.
    let t = tar_of(|b| {
        raw(
            b,
            "out",
            EntryType::Symlink,
            s.outside.to_str().unwrap(),
            b"",
        );
        raw(b, "h", EntryType::Link, "out/passwd", b"");
    });
    assert!(unpack(&t, &s.root).is_err());
    // A link to a symlink links the symlink itself, never its target.
    let t = tar_of(|b| {
        raw(b, "sl", EntryType::Symlink, abs.to_str().unwrap(), b"");
        raw(b, "h2", EntryType::Link, "sl", b"");
        raw(b, "h2", EntryType::Regular, "", b"overwrite");
    });
    unpack(&t, &s.root).unwrap();
    assert_outside_untouched(&s);
}

#[test]
fn symlink_loops_are_reported() {
    let s = sandbox();
    let t = tar_of(|b| {
        raw(b, "x", EntryType::Symlink, "y", b"");
        raw(b, "y", EntryType::Symlink, "x", b"");
        raw(b, "x/f", EntryType::Regular, "", b"");
    });
    assert!(matches!(
        unpack(&t, &s.root).unwrap_err(),
        LayerError::SymlinkLoop { .. }
    ));
}

#[test]
fn devices_and_fifos_are_skipped() {
    let s = sandbox();
    let t = tar_of(|b| {
        raw(b, "dev/null", EntryType::Char, "", b"");
        raw(b, "fifo", EntryType::Fifo, "", b"");
        raw(b, "ok", EntryType::Regular, "", b"1");
    });
    let stats = unpack(&t, &s.root).unwrap();
    assert_eq!(stats.skipped, 2);
    assert_eq!(stats.files, 1);
    assert!(!s.root.join("fifo").exists());
}

#[test]
fn compressed_archives_are_detected() {
    let s = sandbox();
    let t = tar_of(|b| raw(b, "f", EntryType::Regular, "", b"data"));
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut gz, &t).unwrap();
    let gz = gz.finish().unwrap();
    unpack(&gz, &s.root.join("gz")).unwrap();
    assert_eq!(fs::read(s.root.join("gz/f")).unwrap(), b"data");
    assert!(matches!(
        unpack(b"definitely not an archive at all", &s.root).unwrap_err(),
        LayerError::UnknownFormat
    ));
}

#[test]
fn dir_replaces_file_and_file_replaces_dir() {
    let s = sandbox();
    let t = tar_of(|b| {
        raw(b, "p", EntryType::Regular, "", b"file");
        raw(b, "p/", EntryType::Directory, "", b"");
        raw(b, "p/c", EntryType::Regular, "", b"child");
        raw(b, "q/", EntryType::Directory, "", b"");
        raw(b, "q/c", EntryType::Regular, "", b"child");
        raw(b, "q", EntryType::Regular, "", b"now a file");
    });
    unpack(&t, &s.root).unwrap();
    assert_eq!(fs::read(s.root.join("p/c")).unwrap(), b"child");
    assert_eq!(fs::read(s.root.join("q")).unwrap(), b"now a file");
}
