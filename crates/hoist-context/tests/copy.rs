//! COPY/ADD source resolution on temporary trees.

mod common;

use std::fs;

use common::*;
use hoist_context::{ContextError, ItemKind};
use tempfile::TempDir;

fn tree() -> TempDir {
    let t = TempDir::new().unwrap();
    write(
        t.path(),
        &[
            ("a.txt", "aaa"),
            ("b.txt", "bb"),
            ("notes.md", "n"),
            ("dir/f.txt", "f"),
            ("dir/readme.md", "r"),
            ("dir/sub/g.txt", "g"),
            ("target/app-1.0.jar", "jar"),
        ],
    );
    t
}

#[test]
fn file_to_file() {
    let t = tree();
    let items = copy(t.path(), &["a.txt"], "/x/b.txt").unwrap();
    assert_eq!(dests(&items), ["/x/b.txt"]);
    assert_eq!(items[0].kind, ItemKind::File { size: 3 });
    assert_eq!(items[0].src, t.path().canonicalize().unwrap().join("a.txt"));
    assert_eq!(items[0].hardlink_of, None);
}

#[test]
fn file_to_dir_with_slash_or_dot() {
    let t = tree();
    assert_eq!(
        dests(&copy(t.path(), &["a.txt"], "/x/").unwrap()),
        ["/x/a.txt"]
    );
    assert_eq!(
        dests(&copy(t.path(), &["/a.txt"], "/x/.").unwrap()),
        ["/x/a.txt"]
    );
    assert_eq!(
        dests(&copy(t.path(), &["./a.txt"], "/").unwrap()),
        ["/a.txt"]
    );
}

#[test]
fn dir_contents_go_into_dest_with_dir_metadata() {
    let t = tree();
    chmod(t.path(), "dir", 0o750);
    chmod(t.path(), "dir/f.txt", 0o4755);
    let items = copy(t.path(), &["dir/"], "/app").unwrap();
    assert_eq!(
        dests(&items),
        [
            "/app/",
            "/app/f.txt",
            "/app/readme.md",
            "/app/sub/",
            "/app/sub/g.txt"
        ]
    );
    let root = find(&items, "/app");
    assert_eq!(root.mode, 0o750);
    let md = fs::metadata(t.path().join("dir")).unwrap();
    use std::os::unix::fs::MetadataExt;
    assert_eq!(root.mtime, (md.mtime(), md.mtime_nsec() as u32));
    assert_eq!(root.uid, md.uid());
    assert_eq!(find(&items, "/app/f.txt").mode, 0o4755);
    // The whole context.
    let all = copy(t.path(), &["."], "/ctx/").unwrap();
    assert_eq!(all.len(), 11);
    assert_eq!(all[0].dest, "/ctx");
}

#[test]
fn copy_to_image_root_does_not_emit_root() {
    let t = tree();
    let items = copy(t.path(), &["dir"], "/").unwrap();
    assert_eq!(
        dests(&items),
        ["/f.txt", "/readme.md", "/sub/", "/sub/g.txt"]
    );
}

#[test]
fn wildcards_match_per_component() {
    let t = tree();
    let items = copy(t.path(), &["*.txt"], "/d/").unwrap();
    assert_eq!(dests(&items), ["/d/a.txt", "/d/b.txt"]);
    let items = copy(t.path(), &["*/*.txt"], "/d/").unwrap();
    assert_eq!(dests(&items), ["/d/f.txt"]);
    let items = copy(t.path(), &["d?r"], "/d/").unwrap();
    assert_eq!(dests(&items)[0], "/d/");
    let items = copy(t.path(), &["[ab].txt", "notes.m[a-d]"], "/d/").unwrap();
    assert_eq!(dests(&items), ["/d/a.txt", "/d/b.txt", "/d/notes.md"]);
    // One match to a file path: the Java idiom `COPY target/*.jar /app.jar`.
    let items = copy(t.path(), &["target/*.jar"], "/app.jar").unwrap();
    assert_eq!(dests(&items), ["/app.jar"]);
}

#[test]
fn wildcard_matching_nothing_is_allowed_but_its_parent_must_exist() {
    let t = tree();
    let items = copy(t.path(), &["a.txt", "nomatch*"], "/d/").unwrap();
    assert_eq!(dests(&items), ["/d/a.txt"]);
    assert!(copy(t.path(), &["optional.*"], "/d/").unwrap().is_empty());
    let err = copy(t.path(), &["missing/*.txt"], "/d/").unwrap_err();
    assert!(
        matches!(&err, ContextError::NotFound { src } if src == "missing/*.txt"),
        "{err}"
    );
    let err = copy(t.path(), &["*.txt"], "/d/").and(copy(t.path(), &["bad["], "/d/"));
    assert!(matches!(err, Err(ContextError::BadPattern { .. })));
}

#[test]
fn several_sources_need_a_directory_dest() {
    let t = tree();
    let err = copy(t.path(), &["a.txt", "b.txt"], "/d").unwrap_err();
    assert!(matches!(err, ContextError::DestNotDir { .. }), "{err}");
    assert!(
        err.to_string()
            .contains("must be a directory and end with a /")
    );
    let err = copy(t.path(), &["*.txt"], "/d").unwrap_err();
    assert!(matches!(err, ContextError::DestNotDir { .. }), "{err}");
    assert_eq!(
        dests(&copy(t.path(), &["a.txt", "b.txt"], "/d/").unwrap()),
        ["/d/a.txt", "/d/b.txt"]
    );
}

#[test]
fn sources_escaping_the_root_are_rejected() {
    let t = tree();
    for src in ["../x", "dir/../../x", "..", "/../a.txt"] {
        let err = copy(t.path(), &[src], "/d/").unwrap_err();
        assert!(
            matches!(&err, ContextError::OutsideContext { src: s } if s == src),
            "{src}: {err}"
        );
    }
    assert_eq!(
        dests(&copy(t.path(), &["dir/../a.txt"], "/d/").unwrap()),
        ["/d/a.txt"]
    );
}

#[test]
fn missing_sources_are_errors() {
    let t = tree();
    let err = copy(t.path(), &["a.txt", "missing.txt"], "/d/").unwrap_err();
    assert!(matches!(&err, ContextError::NotFound { src } if src == "missing.txt"));
    assert_eq!(err.to_string(), "\"missing.txt\": not found");
    let err = copy(t.path(), &["a.txt/x"], "/d/").unwrap_err();
    assert!(matches!(err, ContextError::NotFound { .. }), "{err}");
    let err = copy(t.path(), &[], "/d/").unwrap_err();
    assert_eq!(err.to_string(), "no source files were specified");
}

#[test]
fn symlinks_inside_trees_are_copied_as_links() {
    let t = tree();
    symlink(t.path(), "/etc/passwd", "dir/abs");
    symlink(t.path(), "../../../outside", "dir/rel");
    let items = copy(t.path(), &["dir"], "/app/").unwrap();
    assert_eq!(
        find(&items, "/app/abs").kind,
        ItemKind::Symlink {
            target: "/etc/passwd".into()
        }
    );
    assert_eq!(
        find(&items, "/app/rel").kind,
        ItemKind::Symlink {
            target: "../../../outside".into()
        }
    );
    let root = t.path().canonicalize().unwrap();
    assert!(items.iter().all(|i| i.src.starts_with(&root)));
}

#[test]
fn top_level_symlinks_are_followed_inside_the_root() {
    let t = tree();
    symlink(t.path(), "a.txt", "link.txt");
    symlink(t.path(), "/dir/sub", "abslink");
    symlink(t.path(), "../../../../b.txt", "climbing");
    symlink(t.path(), "/etc/hostname", "host");
    symlink(t.path(), "loop2", "loop1");
    symlink(t.path(), "loop1", "loop2");
    let root = t.path().canonicalize().unwrap();

    let items = copy(t.path(), &["link.txt"], "/d/").unwrap();
    assert_eq!(dests(&items), ["/d/link.txt"]);
    assert_eq!(items[0].src, root.join("a.txt"));
    assert_eq!(items[0].kind, ItemKind::File { size: 3 });

    // Absolute targets are relative to the root; a followed directory copies its contents.
    let items = copy(t.path(), &["abslink"], "/s/").unwrap();
    assert_eq!(dests(&items), ["/s/", "/s/g.txt"]);
    assert_eq!(items[1].src, root.join("dir/sub/g.txt"));

    // `..` stops at the root.
    let items = copy(t.path(), &["climbing"], "/c").unwrap();
    assert_eq!(items[0].src, root.join("b.txt"));

    // Never reads outside the root: /etc/hostname means <root>/etc/hostname.
    let err = copy(t.path(), &["host"], "/h").unwrap_err();
    assert!(matches!(err, ContextError::NotFound { .. }), "{err}");
    let err = copy(t.path(), &["loop1"], "/l").unwrap_err();
    assert!(matches!(err, ContextError::SymlinkLoop { .. }), "{err}");

    // Links in intermediate components are followed too.
    symlink(t.path(), "dir", "dirlink");
    let items = copy(t.path(), &["dirlink/f.txt"], "/f").unwrap();
    assert_eq!(items[0].src, root.join("dir/f.txt"));

    // Not following: the link itself.
    let opts = Req {
        no_follow: true,
        ..Req::default()
    };
    let items = copy_with(t.path(), &["host"], "/h", opts).unwrap();
    assert_eq!(dests(&items), ["/h@/etc/hostname"]);
}

#[test]
fn dockerignored_files_do_not_exist() {
    let t = tree();
    write(t.path(), &[("secret.txt", "s"), ("dir/secret.key", "k")]);
    symlink(t.path(), "secret.txt", "innocent");
    let ignore = Some("secret.txt\n**/*.key\n");
    let with_ignore = || Req {
        ignore,
        ..Req::default()
    };

    let items = copy_with(t.path(), &["."], "/app/", with_ignore()).unwrap();
    let names = dests(&items);
    assert!(
        !items.iter().any(|i| i.dest.contains("secret")),
        "{names:?}"
    );
    assert!(names.contains(&"/app/innocent@secret.txt".to_string()));

    let err = copy_with(t.path(), &["secret.txt"], "/x", with_ignore()).unwrap_err();
    assert!(matches!(err, ContextError::NotFound { .. }), "{err}");
    let items = copy_with(t.path(), &["secret*", "a.txt"], "/x/", with_ignore()).unwrap();
    assert_eq!(dests(&items), ["/x/a.txt"]);
    // A link to an ignored file leads nowhere.
    let err = copy_with(t.path(), &["innocent"], "/x", with_ignore()).unwrap_err();
    assert!(matches!(err, ContextError::NotFound { .. }), "{err}");
}

#[test]
fn ignored_dir_with_reincluded_child() {
    let t = tree();
    write(
        t.path(),
        &[
            ("build/keep.txt", "k"),
            ("build/out.o", "o"),
            ("build/deep/x.o", "x"),
        ],
    );
    let ignore = Some("build\n!build/keep.txt\n");
    let req = || Req {
        ignore,
        ..Req::default()
    };
    let items = copy_with(t.path(), &["."], "/app/", req()).unwrap();
    let names = dests(&items);
    assert!(names.contains(&"/app/build/".to_string()), "{names:?}");
    assert!(names.contains(&"/app/build/keep.txt".to_string()));
    assert!(!names.iter().any(|d| d.contains(".o")), "{names:?}");
    let items = copy_with(t.path(), &["build"], "/b/", req()).unwrap();
    assert_eq!(dests(&items), ["/b/", "/b/keep.txt"]);
    let err = copy_with(t.path(), &["build/out.o"], "/b/", req()).unwrap_err();
    assert!(matches!(err, ContextError::NotFound { .. }), "{err}");
    // Without a possible exception the directory is gone entirely.
    let gone = Req {
        ignore: Some("build\n"),
        ..Req::default()
    };
    let err = copy_with(t.path(), &["build"], "/b/", gone).unwrap_err();
    assert!(matches!(err, ContextError::NotFound { .. }), "{err}");
}

#[test]
fn exclude_flag_filters_relative_to_each_copied_dir() {
    let t = tree();
    let ex = |exclude: &'static [&'static str]| Req {
        exclude,
        ..Req::default()
    };
    let items = copy_with(t.path(), &["dir"], "/app/", ex(&["*.md"])).unwrap();
    assert_eq!(
        dests(&items),
        ["/app/", "/app/f.txt", "/app/sub/", "/app/sub/g.txt"]
    );
    let items = copy_with(t.path(), &["dir"], "/app/", ex(&["sub"])).unwrap();
    assert_eq!(dests(&items), ["/app/", "/app/f.txt", "/app/readme.md"]);
    let items = copy_with(t.path(), &["."], "/c/", ex(&["*/*.txt", "*.md", "target"])).unwrap();
    assert_eq!(
        dests(&items),
        [
            "/c/",
            "/c/a.txt",
            "/c/b.txt",
            "/c/dir/",
            "/c/dir/readme.md",
            "/c/dir/sub/",
            "/c/dir/sub/g.txt"
        ]
    );
    // Exceptions re-include below an excluded directory.
    let items = copy_with(
        t.path(),
        &["."],
        "/c/",
        ex(&["dir", "!dir/sub/g.txt", "*.*"]),
    )
    .unwrap();
    assert_eq!(
        dests(&items),
        [
            "/c/",
            "/c/dir/",
            "/c/dir/sub/",
            "/c/dir/sub/g.txt",
            "/c/target/",
            "/c/target/app-1.0.jar"
        ]
    );
    let items = copy_with(t.path(), &["dir"], "/c/", ex(&["*", "!sub/g.txt"])).unwrap();
    assert_eq!(dests(&items), ["/c/", "/c/sub/", "/c/sub/g.txt"]);
    // Wildcard matches are filtered too (`COPY --exclude=*.txt hom* /mydir/`).
    let items = copy_with(t.path(), &["*"], "/w/", ex(&["*.txt", "dir", "target"])).unwrap();
    assert_eq!(dests(&items), ["/w/notes.md"]);
}

#[test]
fn parents_keep_paths_below_root_or_pivot() {
    let t = TempDir::new().unwrap();
    write(
        t.path(),
        &[
            ("x/a.txt", "1"),
            ("y/a.txt", "2"),
            ("x/y/z", "3"),
            ("x/y/w.txt", "4"),
            ("src/a.txt", "a"),
            ("src/x/b.txt", "b"),
            ("src/x/y/c.txt", "c"),
            ("src/x/y/c.md", "m"),
        ],
    );
    let parents = || Req {
        parents: true,
        ..Req::default()
    };
    let items = copy_with(
        t.path(),
        &["./x/a.txt", "./y/a.txt"],
        "/parents/",
        parents(),
    )
    .unwrap();
    assert_eq!(
        dests(&items),
        [
            "/parents/",
            "/parents/x/",
            "/parents/x/a.txt",
            "/parents/y/",
            "/parents/y/a.txt"
        ]
    );
    let items = copy_with(t.path(), &["./x/./y/z"], "/dst/", parents()).unwrap();
    assert_eq!(dests(&items), ["/dst/", "/dst/y/", "/dst/y/z"]);
    let items = copy_with(t.path(), &["./x/./y/*.txt"], "/p/", parents()).unwrap();
    assert_eq!(dests(&items), ["/p/", "/p/y/", "/p/y/w.txt"]);
    let items = copy_with(t.path(), &["./src/**/*.txt"], "/p/", parents()).unwrap();
    assert_eq!(
        dests(&items),
        [
            "/p/",
            "/p/src/",
            "/p/src/a.txt",
            "/p/src/x/",
            "/p/src/x/b.txt",
            "/p/src/x/y/",
            "/p/src/x/y/c.txt"
        ]
    );
    // A directory source keeps its whole subtree.
    let items = copy_with(t.path(), &["src/x/y"], "/p/", parents()).unwrap();
    assert_eq!(
        dests(&items),
        [
            "/p/",
            "/p/src/",
            "/p/src/x/",
            "/p/src/x/y/",
            "/p/src/x/y/c.md",
            "/p/src/x/y/c.txt"
        ]
    );
    let err = copy_with(t.path(), &["./x/nope.txt"], "/p/", parents()).unwrap_err();
    assert!(matches!(err, ContextError::NotFound { .. }), "{err}");
    let err = copy_with(t.path(), &["./x/a.txt/./q"], "/p/", parents()).unwrap_err();
    assert!(matches!(err, ContextError::PivotNotDir { .. }), "{err}");
}

#[test]
fn hardlinks_point_at_the_first_item() {
    let t = tree();
    fs::hard_link(t.path().join("a.txt"), t.path().join("dir/z-link.txt")).unwrap();
    let items = copy(t.path(), &["a.txt", "dir"], "/d/").unwrap();
    assert_eq!(find(&items, "/d/a.txt").hardlink_of, None);
    assert_eq!(
        find(&items, "/d/z-link.txt").hardlink_of.as_deref(),
        Some("/d/a.txt")
    );
    assert_eq!(find(&items, "/d/f.txt").hardlink_of, None);
}

#[test]
fn dest_is_relative_to_workdir() {
    let t = tree();
    let wd = |w: &'static str| Req {
        workdir: Some(w),
        ..Req::default()
    };
    let items = copy_with(t.path(), &["a.txt"], "rel/", wd("/usr/src/app")).unwrap();
    assert_eq!(dests(&items), ["/usr/src/app/rel/a.txt"]);
    let items = copy_with(t.path(), &["a.txt", "b.txt"], ".", wd("/w")).unwrap();
    assert_eq!(dests(&items), ["/w/a.txt", "/w/b.txt"]);
    let items = copy_with(t.path(), &["a.txt"], "x.txt", wd("/w/")).unwrap();
    assert_eq!(dests(&items), ["/w/x.txt"]);
}

#[test]
fn later_sources_win_and_dir_file_clashes_fail() {
    let t = TempDir::new().unwrap();
    write(
        t.path(),
        &[
            ("one/same.txt", "1"),
            ("two/same.txt", "22"),
            ("three/same.txt/inner", "x"),
        ],
    );
    let items = copy(t.path(), &["one", "two"], "/m/").unwrap();
    assert_eq!(find(&items, "/m/same.txt").kind, ItemKind::File { size: 2 });
    let err = copy(t.path(), &["one", "three"], "/m/").unwrap_err();
    assert!(matches!(err, ContextError::Conflict { .. }), "{err}");
}

#[test]
fn output_is_sorted_and_deterministic() {
    let t = tree();
    write(
        t.path(),
        &[("dir/a-b", "1"), ("dir/a/c", "2"), ("dir/a.b", "3")],
    );
    let one = copy(t.path(), &["dir", "*.txt"], "/o/").unwrap();
    let two = copy(t.path(), &["dir", "*.txt"], "/o/").unwrap();
    assert_eq!(one, two);
    let d: Vec<&str> = one.iter().map(|i| i.dest.as_str()).collect();
    let mut sorted = d.clone();
    sorted.sort();
    assert_eq!(d, sorted);
    assert!(
        d.iter().position(|x| *x == "/o/a").unwrap()
            < d.iter().position(|x| *x == "/o/a/c").unwrap()
    );
}
