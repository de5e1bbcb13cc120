//! `hoist run`: an image from the store in a throwaway sandbox, like `docker run --rm`.
//! Run as root and again as `hoisttest` (see `run_steps_again_as_an_unprivileged_user`).

use std::fs;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::process::Stdio;

use super::workspace;
use crate::harness::Hoist;

/// The busybox base plus an image config worth running.
fn image() -> Hoist {
    let h = workspace(
        "ENV GREETING=hello
WORKDIR /srv
RUN echo baked > /srv/baked
CMD [\"sh\", \"-c\", \"echo $GREETING from $(pwd)\"]
",
    );
    h.ok(&["build", "-q", "-t", "app:1", "."]);
    h
}

/// Runs `hoist run ARGS`, returning (exit code, stdout, stderr).
fn run(h: &Hoist, args: &[&str]) -> (i32, String, String) {
    let mut all = vec!["run"];
    all.extend_from_slice(args);
    let out = h.run(&all);
    (
        out.status.code().expect("exited"),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn hoist_run_uses_the_image_config_and_passes_the_exit_code_through() {
    let h = image();
    assert_eq!(run(&h, &["app:1"]).1, "hello from /srv\n");
    let (code, out, _) = run(&h, &["app:1", "--", "sh", "-c", "cat baked; exit 7"]);
    assert_eq!((code, out.as_str()), (7, "baked\n"));
    // stdin is the caller's.
    let mut c = h.command(&["run", "app:1", "cat"]);
    c.stdin(Stdio::piped()).stdout(Stdio::piped());
    let mut child = c.spawn().unwrap();
    child.stdin.take().unwrap().write_all(b"piped\n").unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "piped\n");
    // A signal becomes 128 + N (the inner shell is not the namespace's init).
    let (code, _, _) = run(&h, &["app:1", "sh", "-c", "sh -c 'kill -9 $$'; exit $?"]);
    assert_eq!(code, 137);
    // Docker's codes for the runner's own failures.
    let (code, _, err) = run(&h, &["app:1", "no-such-command"]);
    assert_eq!(code, 127, "{err}");
    assert!(err.contains("cannot execute \"no-such-command\""), "{err}");
    let (code, _, err) = run(&h, &["app:1", "/etc/passwd"]);
    assert_eq!(code, 126, "{err}");
    let (code, _, err) = run(&h, &["absent:1"]);
    assert_eq!(code, 125, "{err}");
    assert!(
        err.contains("error: image docker.io/library/absent:1 is not in the local store"),
        "{err}"
    );
    assert!(err.contains("hint: "), "{err}");
}

#[test]
fn hoist_run_env_user_and_workdir() {
    let h = image();
    let (code, out, err) = run(
        &h,
        &[
            "-e",
            "GREETING=bye",
            "-e",
            "EXTRA=1",
            "app:1",
            "sh",
            "-c",
            "echo $GREETING $EXTRA $HOME; env | grep -c ^PATH=",
        ],
    );
    assert_eq!((code, out.as_str()), (0, "bye 1 /root\n1\n"), "{err}");
    // A bare KEY copies the caller's value.
    let mut c = h.command(&[
        "run",
        "-e",
        "FROM_HOST",
        "app:1",
        "sh",
        "-c",
        "echo $FROM_HOST",
    ]);
    let out = c.env("FROM_HOST", "copied").output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "copied\n");
    // USER by name: passwd ids, /etc/group supplementary groups, passwd home.
    let (_, out, err) = run(
        &h,
        &[
            "-u",
            "nobody",
            "app:1",
            "sh",
            "-c",
            "id -u; id -G; echo $HOME",
        ],
    );
    assert_eq!(out, "65534\n65534 50\n/nonexistent\n", "{err}");
    let (_, out, _) = run(
        &h,
        &["-u", "app:staff", "app:1", "sh", "-c", "id -u; id -g"],
    );
    assert_eq!(out, "1000\n50\n");
    let (code, _, err) = run(&h, &["-u", "ghost", "app:1", "true"]);
    assert_eq!(code, 125);
    assert!(err.contains("unable to find user ghost"), "{err}");
    let (_, out, _) = run(&h, &["-w", "/tmp/new", "app:1", "pwd"]);
    assert_eq!(out, "/tmp/new\n");
    let (_, out, _) = run(&h, &["--entrypoint", "echo", "app:1", "a", "b"]);
    assert_eq!(out, "a b\n");
}

#[test]
fn hoist_run_binds_volumes_and_read_only_ones_cannot_be_written() {
    let h = image();
    let dir = h.path("vol");
    fs::create_dir(&dir).unwrap();
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o777)).unwrap();
    fs::write(dir.join("in"), "from-host\n").unwrap();
    let rw = format!("{}:/data", dir.display());
    let (code, out, err) = run(
        &h,
        &[
            "-v",
            &rw,
            "app:1",
            "sh",
            "-c",
            "cat /data/in && echo back > /data/out",
        ],
    );
    assert_eq!((code, out.as_str()), (0, "from-host\n"), "{err}");
    assert_eq!(fs::read_to_string(dir.join("out")).unwrap(), "back\n");
    let ro = format!("{}:/data:ro", dir.display());
    let (code, out, err) = run(
        &h,
        &[
            "-v",
            &ro,
            "app:1",
            "sh",
            "-c",
            "cat /data/in; echo x > /data/ro-write",
        ],
    );
    assert_ne!(code, 0, "read-only bind was writable: {out}");
    assert!(err.contains("Read-only file system"), "{err}");
    assert!(!dir.join("ro-write").exists());
    // Relative host paths are taken from the current directory, as Docker does.
    let (_, out, _) = run(&h, &["-v", "./vol:/v:ro", "app:1", "cat", "/v/in"]);
    assert_eq!(out, "from-host\n");
}

#[test]
fn hoist_run_leaves_nothing_behind() {
    let h = image();
    let index = h.index();
    let (code, _, err) = run(
        &h,
        &[
            "--rm",
            "app:1",
            "sh",
            "-c",
            "echo x > /srv/written && rm /srv/baked && mkdir /tmp/d && echo y > /tmp/d/f",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let (_, out, _) = run(&h, &["app:1", "sh", "-c", "ls /srv; ls /tmp"]);
    assert_eq!(out, "baked\n", "a previous run's changes are visible");
    assert_eq!(h.index(), index, "the store's names changed");
    for dir in ["work", "tmp"] {
        let left: Vec<_> = fs::read_dir(h.root.path().join(dir))
            .map(|d| d.map(|e| e.unwrap().file_name()).collect())
            .unwrap_or_default();
        assert!(left.is_empty(), "left in the store's {dir}: {left:?}");
    }
    // --network none: only loopback.
    let (_, out, _) = run(&h, &["--network", "none", "app:1", "cat", "/proc/net/dev"]);
    let ifaces: Vec<&str> = out
        .lines()
        .skip(2)
        .filter_map(|l| l.split(':').next())
        .map(str::trim)
        .collect();
    assert_eq!(ifaces, ["lo"], "{out}");
}
