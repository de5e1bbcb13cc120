//! The unprivileged user the rootless tests run as: `hoisttest`, with a 65536-id
//! subuid/subgid range for newuidmap. Shared by hoist-sandbox's tests and the e2e suite.

use std::fs;
use std::process::Command;

/// Creates `hoisttest` and its subordinate id ranges unless they exist (needs root).
pub(crate) fn ensure_test_user() {
    let exists = Command::new("id")
        .arg("hoisttest")
        .output()
        .unwrap()
        .status
        .success();
    if !exists {
        let status = Command::new("useradd")
            .args([
                "--no-create-home",
                "--shell",
                "/usr/sbin/nologin",
                "hoisttest",
            ])
            .status()
            .unwrap();
        assert!(status.success(), "useradd failed");
    }
    for (file, flag) in [
        ("/etc/subuid", "--add-subuids"),
        ("/etc/subgid", "--add-subgids"),
    ] {
        let has_range = fs::read_to_string(file)
            .unwrap_or_default()
            .lines()
            .any(|l| l.starts_with("hoisttest:"));
        if !has_range {
            let status = Command::new("usermod")
                .args([flag, "300000-365535", "hoisttest"])
                .status()
                .unwrap();
            assert!(status.success(), "usermod {flag} failed");
        }
    }
}
