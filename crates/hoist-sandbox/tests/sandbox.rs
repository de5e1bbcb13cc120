//! End-to-end: real namespaces, a busybox rootfs, the real init binary.
//!
//! As root, `runs_again_as_an_unprivileged_user` re-runs this whole binary as the
//! user `hoisttest` (created with subordinate id ranges) through `runuser`.

mod support;

use std::fs;
use std::io::{ErrorKind, Read};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use hoist_sandbox::{
    EtcFiles, ExitStatus, IdMap, Isolation, MountSpec, Network, RunOptions, SandboxError, Stdio,
    UserSpec, run_with,
};
use support::{CHILD_ENV, Rootfs, is_root, rootless_available, run_ok, stdout, try_run};

#[path = "support/test_user.rs"]
mod test_user;
use test_user::ensure_test_user;

#[test]
fn echo_output_is_captured() {
    if !rootless_available() {
        return;
    }
    let rootfs = Rootfs::new();
    let outcome = run_ok(&rootfs.sh("echo hi; echo err >&2"));
    assert_eq!(outcome.status, ExitStatus::Code(0));
    assert_eq!(stdout(&outcome), "hi\nerr\n");
}

#[test]
fn exit_code_passes_through() {
    if !rootless_available() {
        return;
    }
    let rootfs = Rootfs::new();
    let outcome = run_ok(&rootfs.sh("exit 7"));
    assert_eq!(outcome.status, ExitStatus::Code(7));
    assert!(!outcome.status.success());
}

#[test]
fn file_written_inside_lands_in_the_rootfs() {
    if !rootless_available() {
        return;
    }
    let rootfs = Rootfs::new();
    let outcome = run_ok(&rootfs.sh("mkdir -p /opt/app && printf 'built\\n' > /opt/app/out.txt"));
    assert!(outcome.status.success(), "{}", stdout(&outcome));
    let written = fs::read_to_string(rootfs.path().join("opt/app/out.txt")).unwrap();
    assert_eq!(written, "built\n");
}

#[test]
fn runs_as_root_by_default_and_as_the_requested_user() {
    if !rootless_available() {
        return;
    }
    let rootfs = Rootfs::new();
    assert_eq!(stdout(&run_ok(&rootfs.sh("id -u; id -g"))), "0\n0\n");
    let mut spec = rootfs.sh("id -u; id -g; id -G");
    spec.user = UserSpec {
        uid: 1000,
        gid: 1000,
        additional_gids: vec![1000, 27],
    };
    let out = stdout(&run_ok(&spec));
    assert_eq!(out, "1000\n1000\n1000 27\n");
}

#[test]
fn command_is_pid_1_with_a_fresh_proc() {
    if !rootless_available() {
        return;
    }
    let rootfs = Rootfs::new();
    let outcome =
        run_ok(&rootfs.sh("test -e /proc/self/status && echo $$ && ls /proc | grep -c '^[0-9]'"));
    // Only the shell and `ls` (a pipeline runs grep too) exist in the pid namespace.
    let out = stdout(&outcome);
    let mut lines = out.lines();
    assert_eq!(lines.next(), Some("1"));
    let count: u32 = lines.next().unwrap().parse().unwrap();
    assert!(count <= 3, "too many processes visible: {count}");
}

/// Docker's default bounding set: CHOWN, DAC_OVERRIDE, FOWNER, FSETID, KILL, SETGID,
/// SETUID, SETPCAP, NET_BIND_SERVICE, NET_RAW, SYS_CHROOT, MKNOD, AUDIT_WRITE, SETFCAP.
const DOCKER_CAPS: &str = "00000000a80425fb";

#[test]
fn capabilities_are_limited_to_the_docker_default_set() {
    if !rootless_available() {
        return;
    }
    let rootfs = Rootfs::new();
    let outcome =
        run_ok(&rootfs.sh("grep CapBnd /proc/self/status; mount -t tmpfs t /tmp || echo denied"));
    let out = stdout(&outcome);
    assert!(
        out.starts_with(&format!("CapBnd:\t{DOCKER_CAPS}\n")),
        "{out}"
    );
    assert!(out.ends_with("denied\n"), "{out}");
}

#[test]
fn sys_is_read_only() {
    if !rootless_available() {
        return;
    }
    let rootfs = Rootfs::new();
    let mut spec = rootfs.sh("test -d /sys/class && echo class; echo 1 > /sys/kernel/x");
    let expected = "class\nsh: can't create /sys/kernel/x: Read-only file system\n";
    assert_eq!(stdout(&run_ok(&spec)), expected);
    spec.network = Network::None;
    assert_eq!(stdout(&run_ok(&spec)), expected);
}

#[test]
fn hostname_is_set() {
    if !rootless_available() {
        return;
    }
    let rootfs = Rootfs::new();
    let mut spec = rootfs.sh("hostname");
    assert_eq!(stdout(&run_ok(&spec)), "hoist\n");
    spec.hostname = "builder-7".into();
    assert_eq!(stdout(&run_ok(&spec)), "builder-7\n");
}

fn connect_script(port: u16) -> String {
    format!("echo ping | nc 127.0.0.1 {port} && echo connected")
}

#[test]
fn host_network_reaches_a_local_listener() {
    if !rootless_available() {
        return;
    }
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let mut got = String::new();
        stream.read_to_string(&mut got).unwrap();
        got
    });
    let rootfs = Rootfs::new();
    let outcome = run_ok(&rootfs.sh(&connect_script(port)));
    assert_eq!(stdout(&outcome), "connected\n");
    assert_eq!(server.join().unwrap(), "ping\n");
}

#[test]
fn no_network_cannot_reach_a_local_listener() {
    if !rootless_available() {
        return;
    }
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let rootfs = Rootfs::new();
    let mut spec = rootfs.sh(&format!(
        "{}; ip -o link show lo | grep -c UP",
        connect_script(port)
    ));
    spec.network = Network::None;
    let outcome = run_ok(&spec);
    let out = stdout(&outcome);
    assert!(!out.contains("connected"), "{out}");
    assert!(out.ends_with("1\n"), "loopback should be up: {out}");
    listener.set_nonblocking(true).unwrap();
    let accepted = listener.accept();
    assert_eq!(
        accepted.err().map(|e| e.kind()),
        Some(ErrorKind::WouldBlock)
    );
}

#[test]
fn readonly_bind_cannot_be_written_and_rw_bind_can() {
    if !rootless_available() {
        return;
    }
    let rootfs = Rootfs::new();
    let source = tempfile::tempdir().unwrap();
    fs::write(source.path().join("input"), "data\n").unwrap();
    let cache = tempfile::tempdir().unwrap();
    let mut spec = rootfs.sh(
        "cat /src/input; echo x > /src/new && echo wrote-ro; echo y > /cache/new && echo wrote-rw",
    );
    spec.mounts = vec![
        MountSpec::Bind {
            source: source.path().to_path_buf(),
            target: "/src".into(),
            readonly: true,
        },
        MountSpec::Bind {
            source: cache.path().to_path_buf(),
            target: "/cache".into(),
            readonly: false,
        },
    ];
    let outcome = run_ok(&spec);
    let out = stdout(&outcome);
    assert!(out.starts_with("data\n"), "{out}");
    assert!(out.contains("Read-only file system"), "{out}");
    assert!(!out.contains("wrote-ro"), "{out}");
    assert!(out.ends_with("wrote-rw\n"), "{out}");
    assert!(!source.path().join("new").exists());
    assert_eq!(fs::read_to_string(cache.path().join("new")).unwrap(), "y\n");
    // The mount points were created in the rootfs and are reported.
    assert!(outcome.created_paths.contains(&PathBuf::from("src")));
    assert!(outcome.created_paths.contains(&PathBuf::from("cache")));
}

#[test]
fn tmpfs_mount_contents_do_not_land_in_the_rootfs() {
    if !rootless_available() {
        return;
    }
    let rootfs = Rootfs::new();
    let mut spec = rootfs.sh("echo t > /scratch/file && cat /scratch/file");
    spec.mounts = vec![MountSpec::Tmpfs {
        target: "/scratch".into(),
        size: Some(1 << 20),
    }];
    assert_eq!(stdout(&run_ok(&spec)), "t\n");
    assert!(rootfs.path().join("scratch").is_dir());
    assert!(!rootfs.path().join("scratch/file").exists());
}

#[test]
fn slash_is_the_rootfs_and_nothing_escapes() {
    if !rootless_available() {
        return;
    }
    let marker = tempfile::Builder::new()
        .prefix("hoist-host-marker")
        .tempfile()
        .unwrap();
    let marker_path = marker.path().to_string_lossy().into_owned();
    let rootfs = Rootfs::new();
    let script = format!(
        "ls / | tr '\\n' ' '; echo; test -e {marker_path} && echo host-visible; \
         echo escaped > /../../../escape; cd /..; pwd"
    );
    let outcome = run_ok(&rootfs.sh(&script));
    let out = stdout(&outcome);
    assert_eq!(out, "bin dev proc sys \n/\n");
    assert_eq!(
        fs::read_to_string(rootfs.path().join("escape")).unwrap(),
        "escaped\n"
    );
    assert!(!PathBuf::from("/escape").exists());
}

#[test]
fn etc_files_are_bound_and_host_etc_is_untouched() {
    if !rootless_available() {
        return;
    }
    let before: Vec<Option<Vec<u8>>> = ["/etc/hosts", "/etc/resolv.conf", "/etc/hostname"]
        .iter()
        .map(|p| fs::read(p).ok())
        .collect();
    let prepared = tempfile::tempdir().unwrap();
    let hosts = prepared.path().join("hosts");
    let resolv = prepared.path().join("resolv.conf");
    fs::write(&hosts, "127.0.0.1 localhost sandbox\n").unwrap();
    fs::write(&resolv, "nameserver 192.0.2.53\n").unwrap();
    let rootfs = Rootfs::new();
    let mut spec =
        rootfs.sh("cat /etc/hosts /etc/resolv.conf; echo '10.0.0.1 extra' >> /etc/hosts");
    spec.etc_files = EtcFiles {
        hosts: Some(hosts.clone()),
        resolv_conf: Some(resolv),
        hostname: None,
    };
    let outcome = run_ok(&spec);
    assert_eq!(
        stdout(&outcome),
        "127.0.0.1 localhost sandbox\nnameserver 192.0.2.53\n"
    );
    // The rootfs only holds empty mount points, which are reported as created.
    assert_eq!(fs::read(rootfs.path().join("etc/hosts")).unwrap(), b"");
    assert_eq!(
        fs::read(rootfs.path().join("etc/resolv.conf")).unwrap(),
        b""
    );
    for created in ["etc", "etc/hosts", "etc/resolv.conf", "proc", "dev"] {
        assert!(
            outcome.created_paths.contains(&PathBuf::from(created)),
            "{created} not in {:?}",
            outcome.created_paths
        );
    }
    assert_eq!(
        fs::read_to_string(&hosts).unwrap(),
        "127.0.0.1 localhost sandbox\n10.0.0.1 extra\n"
    );
    let after: Vec<Option<Vec<u8>>> = ["/etc/hosts", "/etc/resolv.conf", "/etc/hostname"]
        .iter()
        .map(|p| fs::read(p).ok())
        .collect();
    assert_eq!(before, after);
}

#[test]
fn absolute_symlinked_etc_file_is_resolved_inside_the_rootfs() {
    if !rootless_available() {
        return;
    }
    // As in Ubuntu images: /etc/resolv.conf -> /run/systemd/resolve/stub-resolv.conf.
    let target = "/run/hoist-sandbox-test/stub-resolv.conf";
    let rootfs = Rootfs::new();
    fs::create_dir(rootfs.path().join("etc")).unwrap();
    std::os::unix::fs::symlink(target, rootfs.path().join("etc/resolv.conf")).unwrap();
    let prepared = tempfile::tempdir().unwrap();
    let resolv = prepared.path().join("resolv.conf");
    fs::write(&resolv, "nameserver 192.0.2.1\n").unwrap();
    let mut spec = rootfs.sh("cat /etc/resolv.conf");
    spec.etc_files.resolv_conf = Some(resolv);
    let outcome = run_ok(&spec);
    assert_eq!(stdout(&outcome), "nameserver 192.0.2.1\n");
    assert!(!PathBuf::from(target).exists(), "created on the host");
    assert!(rootfs.path().join(&target[1..]).is_file());
    assert!(
        outcome.created_paths.contains(&PathBuf::from(&target[1..])),
        "{:?}",
        outcome.created_paths
    );
}

#[test]
fn existing_mount_points_are_not_reported_as_created() {
    if !rootless_available() {
        return;
    }
    let rootfs = Rootfs::new();
    fs::create_dir(rootfs.path().join("proc")).unwrap();
    fs::create_dir(rootfs.path().join("dev")).unwrap();
    fs::create_dir(rootfs.path().join("sys")).unwrap();
    let outcome = run_ok(&rootfs.sh("true"));
    assert!(
        outcome.created_paths.is_empty(),
        "{:?}",
        outcome.created_paths
    );
}

#[test]
fn working_directory_is_created_and_environment_is_exact() {
    if !rootless_available() {
        return;
    }
    let rootfs = Rootfs::new();
    let mut spec = rootfs.sh("unused");
    spec.argv = vec!["env".into()];
    spec.env = vec!["PATH=/bin".into(), "GREETING=hello world".into()];
    spec.cwd = "/work/src".into();
    let outcome = run_ok(&spec);
    assert_eq!(stdout(&outcome), "PATH=/bin\nGREETING=hello world\n");
    assert!(rootfs.path().join("work/src").is_dir());
    assert!(
        outcome
            .created_paths
            .ends_with(&[PathBuf::from("work"), PathBuf::from("work/src")])
    );
    spec.argv = vec!["pwd".into()];
    assert_eq!(stdout(&run_ok(&spec)), "/work/src\n");
}

#[test]
fn missing_command_is_an_exec_error() {
    if !rootless_available() {
        return;
    }
    let rootfs = Rootfs::new();
    let mut spec = rootfs.sh("unused");
    spec.argv = vec!["no-such-tool".into()];
    match try_run(&spec) {
        Err(SandboxError::Exec { program, source }) => {
            assert_eq!(program, "no-such-tool");
            assert_eq!(source.kind(), ErrorKind::NotFound);
        }
        other => panic!("expected an exec error, got {other:?}"),
    }
}

#[test]
fn missing_bind_source_is_a_setup_error() {
    if !rootless_available() {
        return;
    }
    let rootfs = Rootfs::new();
    let mut spec = rootfs.sh("true");
    spec.mounts = vec![MountSpec::Bind {
        source: "/nonexistent-hoist-bind-source".into(),
        target: "/mnt".into(),
        readonly: true,
    }];
    match try_run(&spec) {
        Err(SandboxError::Setup { step, path, source }) => {
            assert_eq!(step, "inspect bind source");
            assert_eq!(path, PathBuf::from("/nonexistent-hoist-bind-source"));
            assert_eq!(source.kind(), ErrorKind::NotFound);
        }
        other => panic!("expected a setup error, got {other:?}"),
    }
}

#[test]
fn null_stdio_captures_nothing() {
    if !rootless_available() {
        return;
    }
    let rootfs = Rootfs::new();
    let mut spec = rootfs.sh("echo hidden; read line; exit 3");
    spec.stdio = Stdio::Null;
    let outcome = run_ok(&spec);
    assert_eq!(outcome.status, ExitStatus::Code(3));
    assert!(outcome.output.is_empty());
}

#[test]
fn capture_keeps_only_the_tail() {
    if !rootless_available() {
        return;
    }
    let rootfs = Rootfs::new();
    let mut spec = rootfs.sh("seq 1 100000");
    spec.stdio = Stdio::Capture { tail_bytes: 12 };
    let outcome = run_ok(&spec);
    // 588,895 bytes of output went through the pipe; only the last 12 are kept.
    assert_eq!(stdout(&outcome), "9999\n100000\n");
}

#[test]
fn timeout_kills_the_whole_sandbox() {
    if !rootless_available() {
        return;
    }
    let rootfs = Rootfs::new();
    let spec = rootfs.sh("sleep 60 & sleep 60");
    let started = Instant::now();
    let options = RunOptions {
        timeout: Some(Duration::from_millis(500)),
        ..support::options()
    };
    let result = run_with(&spec, &options);
    assert!(
        matches!(result, Err(SandboxError::Timeout { .. })),
        "{result:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[test]
fn single_mapping_maps_only_root() {
    if !rootless_available() {
        return;
    }
    let rootfs = Rootfs::new();
    let mut spec = rootfs.sh("id -u; echo ok > /single");
    spec.id_map = IdMap::Single;
    let outcome = run_ok(&spec);
    assert_eq!(stdout(&outcome), "0\n");
    assert_eq!(
        fs::read_to_string(rootfs.path().join("single")).unwrap(),
        "ok\n"
    );
    spec.user.uid = 1000;
    match try_run(&spec) {
        Err(SandboxError::IdNotMapped { kind, id, .. }) => assert_eq!((kind, id), ("uid", 1000)),
        other => panic!("expected IdNotMapped, got {other:?}"),
    }
}

#[test]
fn chroot_isolation_needs_root_and_works_as_root() {
    let rootfs = Rootfs::new();
    let mut spec =
        rootfs.sh("id -u; echo $$; hostname; echo c > /chrooted; grep CapBnd /proc/self/status");
    spec.isolation = Isolation::Chroot;
    if !is_root() {
        let err = try_run(&spec).unwrap_err();
        assert!(
            matches!(err, SandboxError::ChrootNeedsRoot { .. }),
            "{err:?}"
        );
        assert!(err.to_string().contains("--isolation chroot needs root"));
        return;
    }
    let outcome = run_ok(&spec);
    // The default set without SYS_CHROOT (bit 18), so root cannot leave the chroot.
    assert_eq!(stdout(&outcome), "0\n1\nhoist\nCapBnd:\t00000000a80025fb\n");
    assert_eq!(
        fs::read_to_string(rootfs.path().join("chrooted")).unwrap(),
        "c\n"
    );
}

/// As root, run every test above again as an unprivileged user with subordinate ids.
#[test]
fn runs_again_as_an_unprivileged_user() {
    if !is_root() || std::env::var_os(CHILD_ENV).is_some() {
        return;
    }
    ensure_test_user();
    let exe = std::env::current_exe().unwrap();
    let output = Command::new("runuser")
        .args(["-u", "hoisttest", "--", "env", "TMPDIR=/tmp"])
        .arg(format!("{CHILD_ENV}=1"))
        .arg(&exe)
        .args([
            "--test-threads",
            "4",
            "--skip",
            "runs_again_as_an_unprivileged_user",
        ])
        .current_dir("/tmp")
        .output()
        .unwrap();
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "unprivileged run failed:\n{text}");
    assert!(text.contains("test result: ok"), "{text}");
    assert!(
        !text.contains("skipping:"),
        "user namespaces should work here:\n{text}"
    );
}
