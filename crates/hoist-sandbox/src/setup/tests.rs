//! The setup sequence against the recording fake: order, flags, paths, errors.

use std::path::{Path, PathBuf};

use super::enter::{enter_rootfs, exec, find_program};
use super::mounts::prepare_rootfs;
use crate::spec::{EtcFiles, Isolation, MountSpec, Network, RunSpec, UserSpec};
use crate::sys::MountFlags as F;
use crate::sys::fake::{Call, FakeSyscall};

fn spec() -> RunSpec {
    RunSpec {
        rootfs: "/r".into(),
        argv: vec!["sh".into(), "-c".into(), "true".into()],
        env: vec!["PATH=/usr/bin:/bin".into()],
        ..RunSpec::default()
    }
}

/// A host with /dev/null and /dev/zero only, and a rootfs with /bin and /etc.
fn host() -> FakeSyscall {
    FakeSyscall::new()
        .device("/dev/null")
        .device("/dev/zero")
        .dir("/r/bin")
        .dir("/r/etc")
}

fn mount(
    source: Option<&str>,
    target: &str,
    fstype: Option<&str>,
    flags: F,
    data: Option<&str>,
) -> Call {
    Call::Mount {
        source: source.map(PathBuf::from),
        target: target.into(),
        fstype: fstype.map(str::to_owned),
        flags,
        data: data.map(str::to_owned),
    }
}

fn mounts_of(calls: &[Call]) -> Vec<Call> {
    calls
        .iter()
        .filter(|c| matches!(c, Call::Mount { .. }))
        .cloned()
        .collect()
}

#[test]
fn rootfs_preparation_mounts_in_order_with_exact_flags() {
    let sys = host();
    let created = prepare_rootfs(&sys, &spec()).unwrap();
    assert_eq!(created, ["proc", "dev", "sys"].map(PathBuf::from).to_vec());
    let calls = sys.calls();
    assert_eq!(
        mounts_of(&calls),
        vec![
            mount(None, "/", None, F::REC | F::PRIVATE, None),
            mount(Some("/r"), "/r", None, F::BIND | F::REC, None),
            mount(
                Some("proc"),
                "/r/proc",
                Some("proc"),
                F::NOSUID | F::NODEV | F::NOEXEC,
                None
            ),
            mount(
                Some("tmpfs"),
                "/r/dev",
                Some("tmpfs"),
                F::NOSUID | F::STRICTATIME,
                Some("mode=755,size=65536k")
            ),
            mount(Some("/dev/null"), "/r/dev/null", None, F::BIND, None),
            mount(Some("/dev/zero"), "/r/dev/zero", None, F::BIND, None),
            mount(
                Some("devpts"),
                "/r/dev/pts",
                Some("devpts"),
                F::NOSUID | F::NOEXEC,
                Some("newinstance,ptmxmode=0666,mode=0620")
            ),
            mount(
                Some("shm"),
                "/r/dev/shm",
                Some("tmpfs"),
                F::NOSUID | F::NODEV | F::NOEXEC,
                Some("mode=1777,size=65536k")
            ),
            // Rootless with the host's network: the host's /sys, bound read-only.
            mount(Some("/sys"), "/r/sys", None, F::BIND | F::REC, None),
            mount(None, "/r/sys", None, F::BIND | F::REMOUNT | F::RDONLY, None),
        ]
    );
    // Device nodes are files created in the /dev tmpfs before being bound over.
    let null_file = calls
        .iter()
        .position(|c| *c == Call::CreateFile("/r/dev/null".into(), 0o666))
        .unwrap();
    let null_bind = calls
        .iter()
        .position(|c| matches!(c, Call::Mount { target, .. } if target == Path::new("/r/dev/null")))
        .unwrap();
    assert!(null_file < null_bind);
    assert!(calls.contains(&Call::Symlink("pts/ptmx".into(), "/r/dev/ptmx".into())));
    assert!(calls.contains(&Call::Symlink("/proc/self/fd".into(), "/r/dev/fd".into())));
    assert!(calls.contains(&Call::Mkdir("/r/dev/shm".into(), 0o1777)));
}

#[test]
fn etc_files_and_user_mounts_follow_the_standard_ones() {
    let sys = host()
        .file("/r/etc/hosts", 0o644)
        .dir("/host/cache")
        .locked(F::NOSUID | F::NODEV);
    let mut spec = spec();
    spec.etc_files = EtcFiles {
        hosts: Some("/prep/hosts".into()),
        resolv_conf: Some("/prep/resolv.conf".into()),
        hostname: None,
    };
    spec.mounts = vec![
        MountSpec::Bind {
            source: "/host/cache".into(),
            target: "/var/cache".into(),
            readonly: true,
        },
        MountSpec::Tmpfs {
            target: "/tmp".into(),
            size: Some(1024),
        },
    ];
    spec.cwd = "/work".into();
    let created = prepare_rootfs(&sys, &spec).unwrap();
    assert_eq!(
        created,
        [
            "proc",
            "dev",
            "sys",
            "etc/resolv.conf",
            "var",
            "var/cache",
            "tmp",
            "work"
        ]
        .map(PathBuf::from)
        .to_vec()
    );
    let tail: Vec<Call> = mounts_of(&sys.calls()).split_off(10);
    assert_eq!(
        tail,
        vec![
            mount(Some("/prep/hosts"), "/r/etc/hosts", None, F::BIND, None),
            mount(
                Some("/prep/resolv.conf"),
                "/r/etc/resolv.conf",
                None,
                F::BIND,
                None
            ),
            mount(
                Some("/host/cache"),
                "/r/var/cache",
                None,
                F::BIND | F::REC,
                None
            ),
            // The read-only remount keeps the flags the source mount is locked with.
            mount(
                None,
                "/r/var/cache",
                None,
                F::BIND | F::REMOUNT | F::RDONLY | F::NOSUID | F::NODEV,
                None
            ),
            mount(
                Some("tmpfs"),
                "/r/tmp",
                Some("tmpfs"),
                F::NOSUID | F::NODEV,
                Some("mode=755,size=1024")
            ),
        ]
    );
}

#[test]
fn symlinked_mount_point_is_resolved_inside_the_rootfs() {
    // /etc/resolv.conf -> /run/resolv.conf must not be followed to the host's /run.
    let sys = host()
        .dir("/r/run")
        .symlink_at("/r/etc/resolv.conf", "/run/systemd/resolv.conf");
    let mut spec = spec();
    spec.etc_files.resolv_conf = Some("/prep/resolv.conf".into());
    let created = prepare_rootfs(&sys, &spec).unwrap();
    assert!(created.contains(&PathBuf::from("run/systemd/resolv.conf")));
    assert!(mounts_of(&sys.calls()).contains(&mount(
        Some("/prep/resolv.conf"),
        "/r/run/systemd/resolv.conf",
        None,
        F::BIND,
        None
    )));
}

#[test]
fn missing_bind_source_is_a_clear_error() {
    let sys = host();
    let mut spec = spec();
    spec.mounts = vec![MountSpec::Bind {
        source: "/nope".into(),
        target: "/x".into(),
        readonly: false,
    }];
    let err = prepare_rootfs(&sys, &spec).unwrap_err();
    assert_eq!(err.step, "inspect bind source");
    assert_eq!(err.path, PathBuf::from("/nope"));
    assert_eq!(err.source.raw_os_error(), Some(libc::ENOENT));
}

#[test]
fn a_failing_mount_stops_the_sequence_with_its_step() {
    let sys = host().fail_when(
        |c| matches!(c, Call::Mount { fstype: Some(t), .. } if t == "devpts"),
        libc::EPERM,
    );
    let err = prepare_rootfs(&sys, &spec()).unwrap_err();
    assert_eq!(err.step, "mount devpts");
    assert_eq!(err.path, PathBuf::from("/r/dev/pts"));
    assert!(
        !sys.calls()
            .iter()
            .any(|c| matches!(c, Call::Mkdir(p, _) if p.ends_with("shm")))
    );
}

#[test]
fn rootless_entry_pivots_then_drops_to_the_user() {
    let sys = host();
    let mut spec = spec();
    spec.user = UserSpec {
        uid: 1000,
        gid: 100,
        additional_gids: vec![27],
    };
    spec.cwd = "/work".into();
    spec.hostname = "box".into();
    enter_rootfs(&sys, &spec, true).unwrap();
    assert_eq!(
        sys.calls()[..5],
        [
            Call::Chdir("/r".into()),
            Call::PivotRoot(".".into(), ".".into()),
            Call::UmountDetach(".".into()),
            Call::Chdir("/".into()),
            Call::Sethostname("box".into()),
        ]
    );
    let calls = sys.calls();
    let dropped: Vec<u32> = calls
        .iter()
        .filter_map(|c| match c {
            Call::DropCapability(cap) => Some(*cap),
            _ => None,
        })
        .collect();
    // Everything outside Docker's default set: 2 (DAC_READ_SEARCH), 21 (SYS_ADMIN), ...
    assert_eq!(dropped.len(), 41 - 14);
    assert!(dropped.contains(&21) && dropped.contains(&12) && !dropped.contains(&18));
    assert_eq!(
        calls[5 + dropped.len()..],
        [
            Call::Setgroups(vec![27]),
            Call::Setresgid(100),
            Call::Setresuid(1000),
            Call::NoNewPrivs,
            Call::Chdir("/work".into()),
        ]
    );
}

#[test]
fn chroot_entry_and_no_network_bring_up_loopback() {
    let sys = host();
    let mut spec = spec();
    spec.isolation = Isolation::Chroot;
    spec.network = Network::None;
    enter_rootfs(&sys, &spec, true).unwrap();
    let calls = sys.calls();
    assert_eq!(
        calls[..3],
        [
            Call::Chdir("/r".into()),
            Call::Chroot(".".into()),
            Call::Chdir("/".into())
        ]
    );
    assert!(!calls.iter().any(|c| matches!(c, Call::PivotRoot(..))));
    assert!(calls.contains(&Call::LoopbackUp));
    // No way out of the chroot: CAP_SYS_CHROOT goes too.
    assert!(calls.contains(&Call::DropCapability(18)));
}

#[test]
fn supplementary_groups_need_setgroups() {
    let sys = host();
    let mut spec = spec();
    // Without groups, a denied setgroups is simply skipped.
    enter_rootfs(&sys, &spec, false).unwrap();
    assert!(!sys.calls().iter().any(|c| matches!(c, Call::Setgroups(_))));
    spec.user.additional_gids = vec![5];
    let err = enter_rootfs(&host(), &spec, false).unwrap_err();
    assert_eq!(err.source.raw_os_error(), Some(libc::EPERM));
    assert!(err.step.starts_with("setgroups"));
}

#[test]
fn program_lookup_uses_the_spec_path() {
    let sys = FakeSyscall::new()
        .file("/bin/sh", 0o755)
        .file("/usr/bin/tool", 0o644)
        .file("/opt/bin/tool", 0o755);
    let env = |path: &str| vec![format!("PATH={path}")];
    assert_eq!(
        find_program(&sys, "sh", &env("/usr/bin:/bin")).unwrap(),
        PathBuf::from("/bin/sh")
    );
    // Not executable in /usr/bin, so /opt/bin wins.
    assert_eq!(
        find_program(&sys, "tool", &env("/usr/bin:/opt/bin")).unwrap(),
        PathBuf::from("/opt/bin/tool")
    );
    assert_eq!(
        find_program(&sys, "./x", &env("/bin")).unwrap(),
        PathBuf::from("./x")
    );
    let err = find_program(&sys, "tool", &env("/bin")).unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::ENOENT));
    // Without PATH in the environment, Docker's default applies.
    assert_eq!(
        find_program(&sys, "sh", &[]).unwrap(),
        PathBuf::from("/bin/sh")
    );
}

#[test]
fn exec_passes_exactly_the_spec_argv_and_env() {
    let sys = FakeSyscall::new().file("/bin/sh", 0o755);
    let spec = spec();
    let err = exec(&sys, &spec);
    assert_eq!(err.kind(), std::io::ErrorKind::Other);
    assert_eq!(
        sys.calls(),
        vec![Call::Execve(
            "/bin/sh".into(),
            spec.argv.clone(),
            spec.env.clone()
        )]
    );
}

#[test]
fn mount_point_resolving_to_the_rootfs_itself_is_refused() {
    let sys = host().symlink_at("/r/proc", "/");
    let err = prepare_rootfs(&sys, &spec()).unwrap_err();
    assert_eq!(err.step, "mount point resolves to the rootfs itself");
    assert_eq!(err.path, PathBuf::from("/proc"));
    assert!(
        !mounts_of(&sys.calls())
            .iter()
            .any(|c| matches!(c, Call::Mount { fstype: Some(t), .. } if t == "proc"))
    );
}

#[test]
fn working_directory_at_slash_creates_nothing() {
    let sys = host().dir("/r/proc").dir("/r/dev").dir("/r/sys");
    assert!(prepare_rootfs(&sys, &spec()).unwrap().is_empty());
}

#[test]
fn own_network_or_chroot_gets_a_fresh_read_only_sysfs() {
    for (isolation, network) in [
        (Isolation::Rootless, Network::None),
        (Isolation::Chroot, Network::Host),
    ] {
        let sys = host();
        let spec = RunSpec {
            isolation,
            network,
            ..spec()
        };
        prepare_rootfs(&sys, &spec).unwrap();
        let mounts = mounts_of(&sys.calls());
        assert_eq!(
            mounts[8],
            mount(
                Some("sysfs"),
                "/r/sys",
                Some("sysfs"),
                F::RDONLY | F::NOSUID | F::NODEV | F::NOEXEC,
                None
            )
        );
        assert_eq!(mounts.len(), 9, "{mounts:?}");
    }
}

#[test]
fn an_overlay_rootfs_is_mounted_instead_of_the_bind() {
    let sys = host();
    let mut s = spec();
    s.overlay = Some(crate::spec::Overlay {
        lower: vec!["/l/2".into(), "/l/1".into()],
        upper: "/u".into(),
        work: "/w".into(),
    });
    prepare_rootfs(&sys, &s).unwrap();
    let mounts = mounts_of(&sys.calls());
    assert_eq!(
        mounts[1],
        mount(
            Some("overlay"),
            "/r",
            Some("overlay"),
            F::NONE,
            Some("lowerdir=/l/2:/l/1,upperdir=/u,workdir=/w,userxattr"),
        )
    );
    assert!(
        !mounts.iter().any(|m| matches!(m, Call::Mount { flags, .. } if flags.contains(F::BIND) && matches!(m, Call::Mount { target, .. } if target == Path::new("/r")))),
        "no bind of the rootfs: {mounts:#?}"
    );
}

#[test]
fn overlay_paths_that_cannot_be_expressed_fail_at_the_overlay_step() {
    let sys = host();
    let mut s = spec();
    s.overlay = Some(crate::spec::Overlay {
        lower: vec!["/l/a:b".into()],
        upper: "/u".into(),
        work: "/w".into(),
    });
    let e = prepare_rootfs(&sys, &s).unwrap_err();
    assert_eq!(e.step, super::mounts::OVERLAY_STEP);
    let long = crate::spec::Overlay {
        lower: (0..100)
            .map(|i| PathBuf::from(format!("/a/long/path/{i:060}")))
            .collect(),
        upper: "/u".into(),
        work: "/w".into(),
    };
    assert!(long.mount_data().unwrap_err().contains("100 lower"));
}
