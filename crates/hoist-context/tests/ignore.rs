//! .dockerignore behaviour, checked against the cases of moby/patternmatcher's tests and
//! the Docker documentation.

use hoist_context::{ContextError, IgnoreMatcher};

fn excluded(patterns: &[&str], path: &str) -> bool {
    IgnoreMatcher::from_patterns(patterns)
        .unwrap_or_else(|e| panic!("patterns {patterns:?}: {e}"))
        .is_excluded(path)
}

/// moby/patternmatcher `TestMatches` (single pattern, parent directories count).
#[test]
fn patternmatcher_single_pattern_table() {
    let cases: &[(&str, &str, bool)] = &[
        ("**", "file", true),
        ("**", "file/", true),
        ("**/", "file", true),
        ("**/", "file/", true),
        ("**", "dir/file", true),
        ("**/", "dir/file", true),
        ("**", "dir/file/", true),
        ("**/", "dir/file/", true),
        ("**/**", "dir/file", true),
        ("**/**", "dir/file/", true),
        ("dir/**", "dir/file", true),
        ("dir/**", "dir/file/", true),
        ("dir/**", "dir/dir2/file", true),
        ("dir/**", "dir/dir2/file/", true),
        ("**/dir", "dir", true),
        ("**/dir", "dir/file", true),
        ("**/dir2/*", "dir/dir2/file", true),
        ("**/dir2/*", "dir/dir2/file/", true),
        ("**/dir2/**", "dir/dir2/dir3/file", true),
        ("**/dir2/**", "dir/dir2/dir3/file/", true),
        ("**file", "file", true),
        ("**file", "dir/file", true),
        ("**/file", "dir/file", true),
        ("**file", "dir/dir/file", true),
        ("**/file", "dir/dir/file", true),
        ("**/file*", "dir/dir/file", true),
        ("**/file*", "dir/dir/file.txt", true),
        ("**/file*txt", "dir/dir/file.txt", true),
        ("**/file*.txt", "dir/dir/file.txt", true),
        ("**/file*.txt*", "dir/dir/file.txt", true),
        ("**/**/*.txt", "dir/dir/file.txt", true),
        ("**/**/*.txt2", "dir/dir/file.txt", false),
        ("**/*.txt", "file.txt", true),
        ("**/**/*.txt", "file.txt", true),
        ("a**/*.txt", "a/file.txt", true),
        ("a**/*.txt", "a/dir/file.txt", true),
        ("a**/*.txt", "a/dir/dir/file.txt", true),
        ("a/*.txt", "a/dir/file.txt", false),
        ("a/*.txt", "a/file.txt", true),
        ("a/*.txt**", "a/file.txt", true),
        ("a[b-d]e", "ae", false),
        ("a[b-d]e", "ace", true),
        ("a[b-d]e", "aae", false),
        ("a[^b-d]e", "aze", true),
        (".*", ".foo", true),
        (".*", "foo", false),
        ("abc.def", "abcdef", false),
        ("abc.def", "abc.def", true),
        ("abc.def", "abcZdef", false),
        ("abc?def", "abcZdef", true),
        ("abc?def", "abcdef", false),
        ("a\\\\", "a\\", true),
        ("**/foo/bar", "foo/bar", true),
        ("**/foo/bar", "dir/foo/bar", true),
        ("**/foo/bar", "dir/dir2/foo/bar", true),
        ("abc/**", "abc", false),
        ("abc/**", "abc/def", true),
        ("abc/**", "abc/def/ghi", true),
        ("**/.foo", ".foo", true),
        ("**/.foo", "bar.foo", false),
        ("a(b)c/def", "a(b)c/def", true),
        ("a(b)c/def", "a(b)c/xyz", false),
        ("a.|)$(}+{bc", "a.|)$(}+{bc", true),
        (
            "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl",
            "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl",
            true,
        ),
        (
            "dist/*.whl",
            "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl",
            true,
        ),
        ("a\\*b", "a*b", true),
        // patternmatcher quirk: `**` followed by literals is a plain suffix test.
        ("**.txt", "deep/dir/notes.txt", true),
        ("**file", "dir/myfile", true),
    ];
    for (pattern, path, want) in cases {
        assert_eq!(
            excluded(&[pattern], path),
            *want,
            "pattern {pattern:?} on {path:?}"
        );
    }
}

/// moby/patternmatcher multi-pattern cases: the last matching pattern wins.
#[test]
fn patternmatcher_multi_pattern_table() {
    let whl = "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl";
    let cases: &[(&[&str], &str, bool)] = &[
        (&["**", "!util/docker/web"], "util/docker/web/foo", false),
        (
            &["**", "!util/docker/web", "util/docker/web/foo"],
            "util/docker/web/foo",
            true,
        ),
        (
            &[
                "**",
                "!dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl",
            ],
            whl,
            false,
        ),
        (&["**", "!dist/*.whl"], whl, false),
        (&["!fileutils.go", "*.go"], "fileutils.go", true),
        (&["*.go", "!fileutils.go"], "fileutils.go", false),
        (&["docs", "!docs/README.md"], "docs/README.md", false),
        (&["docs/", "!docs/README.md"], "docs/README.md", false),
        (&["docs/*", "!docs/README.md"], "docs/README.md", false),
        (&["docs", "!docs/README.md"], "docs/other.md", true),
        (&["*"], "fileutils.go", true),
        (&["*.go"], "fileutils.go", true),
        (&["*.go"], ".", false),
        (&[], "/any/path/there", false),
    ];
    for (patterns, path, want) in cases {
        assert_eq!(
            excluded(patterns, path),
            *want,
            "patterns {patterns:?} on {path:?}"
        );
    }
}

/// Go's `filepath.Match` table as used through patternmatcher's (parent-aware) matching.
#[test]
fn filepath_match_table_through_matcher() {
    let cases: &[(&str, &str, bool)] = &[
        ("abc", "abc", true),
        ("*", "abc", true),
        ("*c", "abc", true),
        ("a*", "a", true),
        ("a*", "abc", true),
        ("a*", "ab/c", true),
        ("a*/b", "abc/b", true),
        ("a*/b", "a/c/b", false),
        ("a*b*c*d*e*/f", "axbxcxdxe/f", true),
        ("a*b*c*d*e*/f", "axbxcxdxexxx/f", true),
        ("a*b*c*d*e*/f", "axbxcxdxe/xxx/f", false),
        ("a*b*c*d*e*/f", "axbxcxdxexxx/fff", false),
        ("a*b?c*x", "abxbbxdbxebxczzx", true),
        ("a*b?c*x", "abxbbxdbxebxczzy", false),
        ("ab[c]", "abc", true),
        ("ab[b-d]", "abc", true),
        ("ab[e-g]", "abc", false),
        ("ab[^c]", "abc", false),
        ("ab[^b-d]", "abc", false),
        ("ab[^e-g]", "abc", true),
        ("a\\*b", "a*b", true),
        ("a\\*b", "ab", false),
        ("a?b", "a☺b", true),
        ("a[^a]b", "a☺b", true),
        ("a???b", "a☺b", false),
        ("a[^a][^a][^a]b", "a☺b", false),
        ("[a-ζ]*", "α", true),
        ("*[a-ζ]", "A", false),
        ("a?b", "a/b", false),
        ("a*b", "a/b", false),
        ("[\\]a]", "]", true),
        ("[\\-]", "-", true),
        ("[x\\-]", "x", true),
        ("[x\\-]", "-", true),
        ("[x\\-]", "z", false),
        ("[\\-x]", "x", true),
        ("[\\-x]", "-", true),
        ("[\\-x]", "a", false),
        ("*x", "xxx", true),
    ];
    for (pattern, path, want) in cases {
        assert_eq!(
            excluded(&[pattern], path),
            *want,
            "pattern {pattern:?} on {path:?}"
        );
    }
    for bad in [
        "[]a]",
        "[-]",
        "[x-]",
        "[-x]",
        "\\",
        "[a-b-c]",
        "[",
        "[^",
        "[^bc",
        "a[",
        "!",
        "[Local-Only]/",
    ] {
        let err = IgnoreMatcher::from_patterns(&[bad]).expect_err(bad);
        assert!(
            matches!(err, ContextError::BadPattern { .. }),
            "{bad:?}: {err}"
        );
    }
}

#[test]
fn ignore_file_syntax() {
    let text =
        "\u{feff}# comment\n\n  node_modules  \n/build/\n  #kept\n!/build/keep.txt\r\n./a/../b\n";
    let m = IgnoreMatcher::parse(text).unwrap();
    let patterns: Vec<String> = m.patterns().collect();
    assert_eq!(
        patterns,
        ["node_modules", "build", "#kept", "!build/keep.txt", "b"]
    );
    assert!(m.is_excluded("node_modules/x/y.js"));
    assert!(m.is_excluded("build/out.o"));
    assert!(!m.is_excluded("build/keep.txt"));
    assert!(m.is_excluded("#kept"));
    assert!(m.is_excluded("b"));
    assert!(!m.is_excluded("a"));
    assert!(!m.is_excluded("."));
    assert!(!m.is_excluded(""));
    assert!(!m.is_excluded("/"));
    assert!(m.is_excluded("/node_modules/x"));
    assert!(m.is_excluded("./build/out.o"));
}

#[test]
fn ignore_file_errors_name_the_line() {
    let err = IgnoreMatcher::parse("ok\n# fine\nbad[\n").unwrap_err();
    match &err {
        ContextError::IgnoreLine { line, cause } => {
            assert_eq!(*line, 3);
            assert!(
                matches!(**cause, ContextError::BadPattern { .. }),
                "{cause}"
            );
        }
        other => panic!("unexpected error {other}"),
    }
    assert!(matches!(
        IgnoreMatcher::parse("!\n"),
        Err(ContextError::IgnoreLine { line: 1, .. })
    ));
}

/// The examples of the Docker documentation's .dockerignore section.
#[test]
fn docker_docs_examples() {
    let m = IgnoreMatcher::parse("# comment\n*/temp*\n*/*/temp*\ntemp?\n").unwrap();
    assert!(m.is_excluded("somedir/temporary.txt"));
    assert!(m.is_excluded("somedir/temp"));
    assert!(m.is_excluded("somedir/subdir/temporary.txt"));
    assert!(m.is_excluded("tempa"));
    assert!(m.is_excluded("tempb"));
    assert!(!m.is_excluded("temp"));
    assert!(!m.is_excluded("temporary.txt"));
    assert!(!m.is_excluded("a/b/c/temp"));

    let m = IgnoreMatcher::parse("**/*.go\n").unwrap();
    assert!(m.is_excluded("main.go"));
    assert!(m.is_excluded("cmd/tool/main.go"));
    assert!(!m.is_excluded("cmd/tool/main.rs"));

    let m = IgnoreMatcher::parse("*.md\n!README*.md\nREADME-secret.md\n").unwrap();
    assert!(m.is_excluded("CHANGES.md"));
    assert!(!m.is_excluded("README.md"));
    assert!(!m.is_excluded("README-public.md"));
    assert!(m.is_excluded("README-secret.md"));

    let m = IgnoreMatcher::parse("*.md\nREADME-secret.md\n!README*.md\n").unwrap();
    assert!(!m.is_excluded("README-secret.md"));
    assert!(m.is_excluded("CHANGES.md"));
}

#[test]
fn exceptions_reinclude_children_of_excluded_dirs() {
    let m = IgnoreMatcher::parse("vendor\n!vendor/keep/**\n!vendor/*.lock\n").unwrap();
    assert!(m.is_excluded("vendor"));
    assert!(m.is_excluded("vendor/lib/a.go"));
    assert!(!m.is_excluded("vendor/keep/a/b.go"));
    assert!(!m.is_excluded("vendor/deps.lock"));
    assert!(m.is_excluded("vendor/keep"));
    // Last match wins: a later pattern excludes again.
    let m = IgnoreMatcher::parse("vendor\n!vendor/keep\nvendor/keep/tmp\n").unwrap();
    assert!(!m.is_excluded("vendor/keep/src.go"));
    assert!(m.is_excluded("vendor/keep/tmp/x"));
}

#[test]
fn leading_slash_and_cleaning() {
    for p in [
        "/secret",
        "secret/",
        "./secret",
        "a/../secret",
        "//secret//",
    ] {
        let m = IgnoreMatcher::parse(p).unwrap();
        assert!(m.is_excluded("secret/key.pem"), "{p:?}");
        assert!(!m.is_excluded("other/secret"), "{p:?}");
    }
}

#[test]
fn escapes_match_literal_metacharacters() {
    let m = IgnoreMatcher::parse("arr\\[0\\].txt\nstar\\*\nq\\?\n").unwrap();
    assert!(m.is_excluded("arr[0].txt"));
    assert!(!m.is_excluded("arr0.txt"));
    assert!(m.is_excluded("star*"));
    assert!(!m.is_excluded("starry"));
    assert!(m.is_excluded("q?"));
    assert!(!m.is_excluded("qx"));
    let m = IgnoreMatcher::parse("arr[[]0].txt").unwrap();
    assert!(m.is_excluded("arr[0].txt"));
}
