//! Hostile guests: the sandbox must stop them, say why, and keep working afterwards.

mod common;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use hoist_plugin::{
    CredentialRequest, GuestErrorKind, LoadPath, Plugin, PluginCredential, PluginError,
    PluginOrigin, PluginSettings,
};

const HOSTILE: &[u8] = include_bytes!(env!("HOIST_GUEST_TEST_HOSTILE"));
const SOCKETS: &[u8] = include_bytes!(env!("HOIST_GUEST_TEST_SOCKETS"));

fn settings(grants: &[&str]) -> PluginSettings {
    PluginSettings {
        grant: Some(grants.iter().map(|g| g.to_string()).collect()),
        ..PluginSettings::default()
    }
}

fn hostile(dir: &std::path::Path, grants: &[&str]) -> Plugin {
    let file = dir.join("hostile-file.txt");
    std::fs::write(&file, "file-content").unwrap();
    let host = common::host_in(
        dir,
        &[("HOSTILE_SECRET", "s3cret"), ("HOME", "/root")],
        &[
            ("hostile-file", file),
            ("docker-config", PathBuf::from("/dev/null")),
        ],
    );
    host.load(
        HOSTILE,
        PluginOrigin::File(dir.join("hostile.wasm")),
        Some(&settings(grants)),
    )
    .unwrap()
}

async fn ask(p: &Plugin, registry: &str, behaviour: &str) -> Result<PluginCredential, PluginError> {
    p.get_credential(&CredentialRequest {
        registry,
        repository: behaviour,
        ..CredentialRequest::default()
    })
    .await
}

fn assert_denied(r: Result<PluginCredential, PluginError>, want: &str) {
    match r {
        Err(PluginError::Guest {
            kind: GuestErrorKind::Denied,
            message,
            ..
        }) => assert!(
            message.contains(want),
            "{message:?} should mention {want:?}"
        ),
        other => panic!("expected a denial mentioning {want:?}, got {other:?}"),
    }
}

#[tokio::test]
async fn infinite_loop_hits_the_deadline_and_the_next_call_works() {
    let dir = tempfile::tempdir().unwrap();
    let p = hostile(dir.path(), &[]);
    let started = Instant::now();
    let err = ask(&p, "r.example", "loop").await.unwrap_err();
    let took = started.elapsed();
    assert!(matches!(err, PluginError::Timeout { .. }), "{err:?}");
    assert!(err.to_string().contains("timed out"), "{err}");
    assert!(took < Duration::from_secs(5), "stopped after {took:?}");
    let ok = ask(&p, "r.example", "ok").await.unwrap();
    assert_eq!(
        ok,
        PluginCredential::Basic {
            username: "user".into(),
            password: "pass-for-r.example".into()
        }
    );
}

#[tokio::test]
async fn memory_bomb_hits_the_memory_limit() {
    let dir = tempfile::tempdir().unwrap();
    let p = hostile(dir.path(), &[]);
    // The manifest asks for 8 MiB, below the host's 32 MiB cap.
    assert_eq!(p.limits().memory, 8 << 20);
    let err = ask(&p, "r.example", "oom").await.unwrap_err();
    match &err {
        PluginError::OutOfMemory { limit_bytes, .. } => assert_eq!(*limit_bytes, 8 << 20),
        other => panic!("expected OutOfMemory, got {other:?}"),
    }
    assert!(err.to_string().contains("ran out of memory"));
    assert!(ask(&p, "r.example", "ok").await.is_ok());
}

#[tokio::test]
async fn panic_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let p = hostile(dir.path(), &[]);
    let err = ask(&p, "r.example", "panic").await.unwrap_err();
    assert!(matches!(err, PluginError::Trap { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.contains("plugin hostile crashed") && msg.contains("panic"),
        "{msg}"
    );
    assert!(ask(&p, "r.example", "ok").await.is_ok());
}

#[tokio::test]
async fn http_to_an_undeclared_host_is_denied() {
    let dir = tempfile::tempdir().unwrap();
    let p = hostile(
        dir.path(),
        &["http:undeclared.example", "http:declared.example"],
    );
    assert_denied(
        ask(&p, "r.example", "http-undeclared").await,
        "not declared",
    );
}

#[tokio::test]
async fn http_declared_but_not_granted_is_denied() {
    let dir = tempfile::tempdir().unwrap();
    let p = hostile(dir.path(), &[]);
    assert_denied(ask(&p, "r.example", "http-declared").await, "not granted");
    // `{registry}` is declared too, but not granted either.
    assert_denied(ask(&p, "127.0.0.1:9", "http-registry").await, "not granted");
}

#[tokio::test]
async fn secrets_need_declaration_and_grant() {
    let dir = tempfile::tempdir().unwrap();
    let p = hostile(dir.path(), &[]);
    assert_denied(ask(&p, "r.example", "secret").await, "not granted");
    let p = hostile(dir.path(), &["secret:HOSTILE_SECRET", "secret:HOME"]);
    assert_eq!(
        ask(&p, "r.example", "secret").await.unwrap(),
        PluginCredential::IdentityToken("s3cret".into())
    );
    assert_denied(
        ask(&p, "r.example", "secret-undeclared").await,
        "not declared",
    );
}

#[tokio::test]
async fn files_need_declaration_and_grant() {
    let dir = tempfile::tempdir().unwrap();
    let p = hostile(dir.path(), &[]);
    assert_denied(ask(&p, "r.example", "file").await, "not granted");
    let p = hostile(dir.path(), &["file:hostile-file", "file:docker-config"]);
    assert_eq!(
        ask(&p, "r.example", "file").await.unwrap(),
        PluginCredential::IdentityToken("file-content".into())
    );
    assert_denied(
        ask(&p, "r.example", "file-undeclared").await,
        "not declared",
    );
}

#[tokio::test]
async fn granted_http_works_within_request_and_size_caps() {
    let server = common::FakeServer::start(|req| {
        if req.line.starts_with("GET /token") {
            (200, b"tok-123".to_vec())
        } else {
            (404, Vec::new())
        }
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let p = hostile(dir.path(), &["http:{registry}"]);
    assert_eq!(
        ask(&p, &server.addr, "http-registry").await.unwrap(),
        PluginCredential::Bearer {
            token: "tok-123".into(),
            expires_in: Some(Duration::from_secs(60))
        }
    );
    // The manifest allows 3 requests per call; the guest tries 10.
    assert_denied(
        ask(&p, &server.addr, "http-flood").await,
        "limit of 3 requests",
    );
    assert_eq!(server.requests().len(), 1 + 3);

    let big = common::FakeServer::start(|_| (200, vec![b'x'; 8192])).await;
    assert_denied(
        ask(&p, &big.addr, "http-registry").await,
        "larger than the limit of 4096",
    );
}

#[tokio::test]
async fn a_component_importing_sockets_is_refused_at_load() {
    let dir = tempfile::tempdir().unwrap();
    let host = common::host_in(dir.path(), &[], &[]);
    let err = host
        .load(SOCKETS, PluginOrigin::File(dir.path().join("s.wasm")), None)
        .unwrap_err();
    match &err {
        PluginError::ForbiddenImport { imports, world, .. } => {
            assert_eq!(world, "auth");
            assert!(
                imports.iter().any(|i| i.starts_with("wasi:sockets/")),
                "{imports:?}"
            );
            assert!(
                !imports.iter().any(|i| i.starts_with("hoist:plugin/")),
                "{imports:?}"
            );
        }
        other => panic!("expected ForbiddenImport, got {other:?}"),
    }
    let msg = err.to_string();
    assert!(
        msg.contains("wasi:sockets") && msg.contains("refusing to load"),
        "{msg}"
    );
}

#[tokio::test]
async fn compiled_components_are_cached_and_tampering_is_detected() {
    let dir = tempfile::tempdir().unwrap();
    let host = common::host_in(dir.path(), &[], &[]);
    let origin = PluginOrigin::File(dir.path().join("h.wasm"));
    let first = host.load(HOSTILE, origin.clone(), None).unwrap();
    assert_eq!(first.load_path(), LoadPath::CompiledAndCached);
    let second = host.load(HOSTILE, origin.clone(), None).unwrap();
    assert_eq!(second.load_path(), LoadPath::Cached);
    assert!(ask(&second, "r.example", "ok").await.is_ok());

    let files: Vec<_> = std::fs::read_dir(dir.path().join("cache"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&files[0]).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    // Flip a byte: the checksum no longer matches, so hoist recompiles.
    let mut bytes = std::fs::read(&files[0]).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&files[0], &bytes).unwrap();
    let third = host.load(HOSTILE, origin, None).unwrap();
    assert_eq!(third.load_path(), LoadPath::CompiledAndCached);
    assert!(ask(&third, "r.example", "ok").await.is_ok());
}
