//! `Context::open`: which ignore file is used, and what is always kept.

mod common;

use common::write;
use hoist_context::{Context, ContextError, CopyRequest};
use tempfile::TempDir;

fn all_dests(ctx: &Context) -> Vec<String> {
    let sources = [".".to_string()];
    let req = CopyRequest {
        sources: &sources,
        dest: "/c/",
        ..CopyRequest::default()
    };
    ctx.resolve_copy(&req)
        .unwrap()
        .into_iter()
        .map(|i| i.dest)
        .collect()
}

#[test]
fn dockerfile_specific_ignore_file_wins() {
    let t = TempDir::new().unwrap();
    write(
        t.path(),
        &[
            ("a.txt", ""),
            ("b.txt", ""),
            (".dockerignore", "a.txt\n"),
            ("build.Dockerfile", "FROM scratch\n"),
            ("build.Dockerfile.dockerignore", "b.txt\n"),
        ],
    );
    let ctx = Context::open(t.path(), &t.path().join("build.Dockerfile")).unwrap();
    assert_eq!(
        ctx.ignore_file(),
        Some(t.path().join("build.Dockerfile.dockerignore").as_path())
    );
    assert!(ctx.ignore().is_excluded("b.txt"));
    assert!(!ctx.ignore().is_excluded("a.txt"));

    let ctx = Context::open(t.path(), &t.path().join("Dockerfile")).unwrap();
    assert_eq!(
        ctx.ignore_file(),
        Some(ctx.root().join(".dockerignore").as_path())
    );
    assert!(ctx.ignore().is_excluded("a.txt"));
    assert!(!ctx.ignore().is_excluded("b.txt"));
}

#[test]
fn no_ignore_file_means_nothing_excluded() {
    let t = TempDir::new().unwrap();
    write(t.path(), &[("x", "")]);
    let ctx = Context::open(t.path(), &t.path().join("Dockerfile")).unwrap();
    assert!(ctx.ignore().is_empty());
    assert_eq!(ctx.ignore_file(), None);
    assert_eq!(ctx.root(), t.path().canonicalize().unwrap());
    assert_eq!(all_dests(&ctx), ["/c", "/c/x"]);
}

#[test]
fn dockerfile_and_ignore_files_are_always_kept() {
    let t = TempDir::new().unwrap();
    write(
        t.path(),
        &[
            ("app.txt", ""),
            (".dockerignore", "*\n"),
            ("Dockerfile", "FROM scratch\n"),
        ],
    );
    let ctx = Context::open(t.path(), &t.path().join("Dockerfile")).unwrap();
    assert_eq!(all_dests(&ctx), ["/c", "/c/.dockerignore", "/c/Dockerfile"]);

    // A Dockerfile inside an ignored directory, with its own ignore file next to it.
    write(
        t.path(),
        &[
            ("docker/web.Dockerfile", "FROM scratch\n"),
            ("docker/web.Dockerfile.dockerignore", "docker\n"),
            ("docker/other", ""),
        ],
    );
    let ctx = Context::open(t.path(), &t.path().join("docker/web.Dockerfile")).unwrap();
    assert_eq!(
        all_dests(&ctx),
        [
            "/c",
            "/c/.dockerignore",
            "/c/Dockerfile",
            "/c/app.txt",
            "/c/docker",
            "/c/docker/web.Dockerfile",
            "/c/docker/web.Dockerfile.dockerignore",
        ]
    );
}

#[test]
fn bad_ignore_file_names_file_and_line() {
    let t = TempDir::new().unwrap();
    write(t.path(), &[(".dockerignore", "ok\n[oops\n")]);
    let err = Context::open(t.path(), &t.path().join("Dockerfile")).unwrap_err();
    let ContextError::IgnoreFile { path, cause } = &err else {
        panic!("unexpected {err}");
    };
    assert!(path.ends_with(".dockerignore"));
    assert!(
        matches!(**cause, ContextError::IgnoreLine { line: 2, .. }),
        "{cause}"
    );
    let err = Context::open(&t.path().join("missing"), &t.path().join("Dockerfile")).unwrap_err();
    assert!(matches!(err, ContextError::Io { .. }), "{err}");
}
