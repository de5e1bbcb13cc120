//! write_layer: determinism, format details, digests, interop with system tools.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

use common::{decompress, dir, entry, file, list, meta, symlink};
use hoist_layer::{
    Compression, Entry, EntryKind, FileSource, LayerOptions, Timestamp, write_layer,
};
use hoist_oci::media::oci_layer;
use hoist_oci::sha256_of;

fn opts(c: Compression) -> LayerOptions {
    LayerOptions {
        compression: c,
        ..LayerOptions::default()
    }
}

fn layer(entries: Vec<Entry>, o: &LayerOptions) -> (hoist_layer::LayerInfo, Vec<u8>) {
    write_layer(entries, o, Vec::new()).expect("write_layer")
}

/// Pseudo-random bytes (xorshift), incompressible enough to span many chunks.
fn noise(n: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

fn sample() -> Vec<Entry> {
    let mut big = noise(3 << 20, 7);
    big.extend(std::iter::repeat_n(b'a', 2 << 20));
    vec![
        file("app/src/main.rs", b"fn main() {}\n"),
        dir("app"),
        file("app/big.bin", &big),
        symlink("app/link", "src/main.rs"),
        entry(
            "app/hard",
            EntryKind::Hardlink {
                target: "app/src/main.rs".into(),
            },
        ),
        file("etc/hostname", b"hoist\n"),
    ]
}

#[test]
fn same_input_same_digests_in_any_order_and_thread_count() {
    for c in [Compression::Gzip, Compression::Zstd, Compression::None] {
        let (a, blob_a) = layer(sample(), &opts(c));
        let mut reversed = sample();
        reversed.reverse();
        let (b, blob_b) = layer(
            reversed,
            &LayerOptions {
                threads: 1,
                ..opts(c)
            },
        );
        assert_eq!(a, b, "{c:?}");
        assert_eq!(blob_a, blob_b, "{c:?}");
        let (c2, _) = layer(
            sample(),
            &LayerOptions {
                threads: 7,
                ..opts(c)
            },
        );
        assert_eq!(a, c2);
    }
}

#[test]
fn digests_match_independent_recomputation() {
    for c in [Compression::Gzip, Compression::Zstd, Compression::None] {
        let (info, blob) = layer(sample(), &opts(c));
        assert_eq!(info.digest, sha256_of(&blob));
        assert_eq!(info.size, blob.len() as u64);
        let tar = decompress(&blob);
        assert_eq!(info.diff_id, sha256_of(&tar));
        assert_eq!(info.uncompressed_size, tar.len() as u64);
        assert_eq!(info.media_type, oci_layer(c));
        assert_eq!(tar.len() % 512, 0);
        if c == Compression::None {
            assert_eq!(info.digest, info.diff_id);
        }
    }
}

#[test]
fn gzip_is_multi_member_and_readable_by_flate2_and_gzip() {
    let (info, blob) = layer(sample(), &opts(Compression::Gzip));
    // 5 MiB of content in 1 MiB chunks: several members.
    let members = blob.windows(4).filter(|w| w == &[0x1f, 0x8b, 8, 0]).count();
    assert!(members >= 5, "{members} members");
    let mut out = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::MultiGzDecoder::new(&blob[..]), &mut out)
        .unwrap();
    assert_eq!(sha256_of(&out), info.diff_id);
    let cli = pipe("gzip", &["-dc"], &blob);
    assert_eq!(sha256_of(&cli), info.diff_id);
}

#[test]
fn zstd_output_readable_by_zstd_cli() {
    let (info, blob) = layer(sample(), &opts(Compression::Zstd));
    let cli = pipe("zstd", &["-dc"], &blob);
    assert_eq!(sha256_of(&cli), info.diff_id);
}

fn pipe(cmd: &str, args: &[&str], input: &[u8]) -> Vec<u8> {
    let mut child = Command::new(cmd)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{cmd}: {e}"));
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_vec();
    let feeder = std::thread::spawn(move || stdin.write_all(&input));
    let out = child.wait_with_output().unwrap();
    feeder.join().unwrap().unwrap();
    assert!(out.status.success(), "{cmd} failed");
    out.stdout
}

#[test]
fn canonical_order_parents_added_and_types() {
    let (info, blob) = layer(sample(), &opts(Compression::None));
    let l = list(&blob);
    let names: Vec<&str> = l.iter().map(|e| e.0.as_str()).collect();
    assert_eq!(
        names,
        [
            "app/",
            "app/big.bin",
            "app/hard",
            "app/link",
            "app/src/",
            "app/src/main.rs",
            "etc/",
            "etc/hostname"
        ]
    );
    assert_eq!(info.entries, 8);
    // "app/hard" sorts before its target, so it carries the content and the target links to it.
    assert_eq!(l[2].1, b'0');
    assert_eq!(l[5].1, b'1');
    assert_eq!(l[5].4, "app/hard");
    assert_eq!(l[3].1, b'2');
    assert_eq!(l[3].4, "src/main.rs");
    // Added parents: 0755 root.
    assert_eq!(l[4].2, 0o755);
    assert_eq!(l[6].1, b'5');
}

#[test]
fn long_names_links_xattrs_and_nanos_use_pax() {
    let long_dir = "d".repeat(60);
    let long = format!("{long_dir}/{}", "f".repeat(120));
    let mut f = file(&long, b"x");
    f.meta.mtime = Timestamp {
        secs: 1_700_000_000,
        nanos: 123_456_789,
    };
    f.meta.uid = 5_000_000; // > 7 octal digits
    f.meta
        .xattrs
        .insert("user.comment".into(), b"hi\0there".to_vec());
    let l = symlink("ln", &"t/".repeat(80));
    let (_, blob) = layer(vec![f, l], &opts(Compression::None));
    let mut a = tar::Archive::new(&blob[..]);
    let mut seen = 0;
    for e in a.entries().unwrap() {
        let mut e = e.unwrap();
        let path = String::from_utf8(e.path_bytes().into_owned()).unwrap();
        if path == long {
            seen += 1;
            let pax: Vec<(String, Vec<u8>)> = e
                .pax_extensions()
                .unwrap()
                .unwrap()
                .map(|x| {
                    let x = x.unwrap();
                    (x.key().unwrap().to_string(), x.value_bytes().to_vec())
                })
                .collect();
            assert!(pax.contains(&("mtime".into(), b"1700000000.123456789".to_vec())));
            assert!(pax.contains(&("uid".into(), b"5000000".to_vec())));
            assert!(pax.contains(&("SCHILY.xattr.user.comment".into(), b"hi\0there".to_vec())));
        }
        if path == "ln" {
            seen += 1;
            assert_eq!(
                e.link_name_bytes().unwrap().as_ref(),
                "t/".repeat(80).as_bytes()
            );
        }
    }
    assert_eq!(seen, 2);
}

#[test]
fn whole_second_mtimes_need_no_pax_and_clamp_applies() {
    let mut f = file("a", b"1");
    f.meta.mtime = Timestamp {
        secs: 2_000_000_000,
        nanos: 7,
    };
    let o = LayerOptions {
        clamp_mtime: Some(Timestamp::from_secs(1_000)),
        ..opts(Compression::None)
    };
    let (info, blob) = layer(vec![f, file("b", b"2")], &o);
    // Two entries, no PAX header: 2 * (header + data block) + 2 end blocks.
    assert_eq!(info.uncompressed_size, 6 * 512);
    let mut a = tar::Archive::new(&blob[..]);
    for e in a.entries().unwrap() {
        assert_eq!(e.unwrap().header().mtime().unwrap(), 1_000);
    }
}

#[test]
fn whiteouts_and_opaque_dirs_are_written_as_markers() {
    let entries = vec![
        entry("etc/gone", EntryKind::Whiteout),
        Entry {
            path: "var/cache".into(),
            kind: EntryKind::OpaqueDir,
            meta: meta(0o755),
        },
        file("var/cache/new", b"n"),
    ];
    let (_, blob) = layer(entries, &opts(Compression::None));
    let names: Vec<String> = list(&blob).into_iter().map(|e| e.0).collect();
    assert_eq!(
        names,
        [
            "etc/",
            "etc/.wh.gone",
            "var/",
            "var/cache/",
            "var/cache/.wh..wh..opq",
            "var/cache/new"
        ]
    );
}

#[test]
fn files_are_streamed_from_disk_and_shrinking_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("data");
    let content = noise(1_500_000, 3);
    std::fs::write(&p, &content).unwrap();
    let e = |size| {
        entry(
            "data",
            EntryKind::File {
                source: FileSource::Path(p.clone()),
                size,
            },
        )
    };
    let (_, blob) = layer(vec![e(content.len() as u64)], &opts(Compression::Gzip));
    let tar = decompress(&blob);
    let mut a = tar::Archive::new(&tar[..]);
    let mut first = a.entries().unwrap().next().unwrap().unwrap();
    let mut got = Vec::new();
    std::io::Read::read_to_end(&mut first, &mut got).unwrap();
    assert_eq!(got, content);

    let err = write_layer(
        vec![e(content.len() as u64 + 10)],
        &opts(Compression::Gzip),
        Vec::new(),
    )
    .unwrap_err();
    assert!(
        matches!(err, hoist_layer::LayerError::SourceShrank { .. }),
        "{err}"
    );
    let missing = entry(
        "m",
        EntryKind::File {
            source: FileSource::Path(dir.path().join("nope")),
            size: 1,
        },
    );
    let err = write_layer(vec![missing], &opts(Compression::Zstd), Vec::new()).unwrap_err();
    assert!(
        matches!(err, hoist_layer::LayerError::ReadSource { .. }),
        "{err}"
    );
}

#[test]
fn sink_errors_are_reported() {
    #[derive(Debug)]
    struct Broken;
    impl Write for Broken {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            Err(std::io::Error::other("disk full"))
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    for c in [Compression::Gzip, Compression::None] {
        let err = write_layer(sample(), &opts(c), Broken).unwrap_err();
        assert!(matches!(err, hoist_layer::LayerError::Sink(_)), "{err}");
    }
}

#[test]
fn empty_layer_is_valid() {
    for c in [Compression::Gzip, Compression::Zstd, Compression::None] {
        let (info, blob) = layer(vec![], &opts(c));
        assert_eq!(info.uncompressed_size, 1024);
        assert_eq!(decompress(&blob), vec![0u8; 1024]);
        assert_eq!(info.entries, 0);
    }
}

#[test]
fn gnu_tar_lists_names_modes_and_owners() {
    let mut f = file("usr/bin/tool", b"#!/bin/sh\n");
    f.meta.mode = 0o4755;
    f.meta.uid = 1000;
    f.meta.gid = 1001;
    let long = format!("opt/{}", "n".repeat(150));
    let (_, blob) = layer(vec![f, file(&long, b"x")], &opts(Compression::Gzip));
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("layer.tar.gz");
    std::fs::write(&p, &blob).unwrap();
    let out = Command::new("tar")
        .args(["--numeric-owner", "-tvzf"])
        .arg(&p)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let line = text
        .lines()
        .find(|l| l.ends_with("usr/bin/tool"))
        .expect(&text);
    assert!(line.starts_with("-rwsr-xr-x 1000/1001"), "{line}");
    assert!(text.lines().any(|l| l.ends_with(&long)), "{text}");
    assert!(
        text.lines()
            .any(|l| l.starts_with("drwxr-xr-x 0/0") && l.ends_with("usr/bin/")),
        "{text}"
    );
}
