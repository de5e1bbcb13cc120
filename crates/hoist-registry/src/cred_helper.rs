//! Docker credential helpers (`docker-credential-<name> get`), run only when the user
//! opts in: a helper is an arbitrary executable with the user's full rights, which is
//! exactly what hoist's wasm auth plugins replace.
//!
//! Protocol (docker-credential-helpers): the server address on stdin, a JSON object
//! `{"ServerURL","Username","Secret"}` on stdout; exit status non-zero with
//! `credentials not found in native keychain` when the helper has nothing. A username
//! of `<token>` means the secret is an identity (refresh) token.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use serde::Deserialize;

use crate::RegistryError;
use crate::credential::Credential;

/// What helpers print when they hold nothing for the server.
const NOT_FOUND: &str = "credentials not found";

#[derive(Deserialize)]
struct HelperReply {
    #[serde(rename = "Username", default)]
    username: String,
    #[serde(rename = "Secret", default)]
    secret: String,
}

/// Asks `docker-credential-<helper>` (found on `PATH`) for `server`'s credentials.
pub(crate) fn get(helper: &str, server: &str) -> Result<Credential, RegistryError> {
    let program = format!("docker-credential-{helper}");
    get_with(Path::new(&program), helper, server)
}

/// [`get`] with an explicit program path.
pub(crate) fn get_with(
    program: &Path,
    helper: &str,
    server: &str,
) -> Result<Credential, RegistryError> {
    let fail = |reason: String| RegistryError::CredentialHelper {
        helper: helper.to_string(),
        server: server.to_string(),
        reason,
    };
    tracing::debug!(helper, server, "asking a docker credential helper");
    let mut child = Command::new(program)
        .arg("get")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| fail(format!("cannot run {}: {e}", program.display())))?;
    if let Some(mut stdin) = child.stdin.take() {
        match stdin.write_all(server.as_bytes()) {
            // A helper may exit without reading its input (e.g. a locked keychain): its
            // exit status and message below say what happened.
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
            Err(e) => return Err(fail(format!("cannot write to the helper: {e}"))),
            Ok(()) => {}
        }
    }
    let out = child
        .wait_with_output()
        .map_err(|e| fail(format!("cannot read the helper's answer: {e}")))?;
    if !out.status.success() {
        // The helper's message goes to stdout (protocol) or stderr; neither holds secrets.
        let msg = [out.stdout.as_slice(), out.stderr.as_slice()]
            .iter()
            .map(|b| String::from_utf8_lossy(b).trim().to_string())
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join("; ");
        if msg.contains(NOT_FOUND) {
            tracing::debug!(helper, server, "helper has no credentials");
            return Ok(Credential::Anonymous);
        }
        return Err(fail(format!("it failed ({}): {msg}", out.status)));
    }
    let reply: HelperReply = serde_json::from_slice(&out.stdout)
        .map_err(|e| fail(format!("its answer is not the expected JSON: {e}")))?;
    Ok(match (reply.username.as_str(), reply.secret) {
        (_, s) if s.is_empty() => Credential::Anonymous,
        ("<token>", s) => Credential::IdentityToken(s),
        (u, s) => Credential::Basic {
            username: u.to_string(),
            password: s,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn helper(dir: &Path, body: &str) -> std::path::PathBuf {
        let p = dir.join("docker-credential-fake");
        std::fs::write(&p, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        p
    }

    #[test]
    fn basic_identity_and_not_found() {
        let d = tempfile::tempdir().unwrap();
        let p = helper(
            d.path(),
            r#"read s; [ "$1" = get ] || exit 9
case "$s" in
  a.example) echo '{"ServerURL":"a.example","Username":"u","Secret":"p"}';;
  b.example) echo '{"ServerURL":"b.example","Username":"<token>","Secret":"rt"}';;
  *) echo "credentials not found in native keychain"; exit 1;;
esac"#,
        );
        let basic = get_with(&p, "fake", "a.example").unwrap();
        assert_eq!(
            basic,
            Credential::Basic {
                username: "u".into(),
                password: "p".into()
            }
        );
        assert_eq!(
            get_with(&p, "fake", "b.example").unwrap(),
            Credential::IdentityToken("rt".into())
        );
        assert_eq!(
            get_with(&p, "fake", "c.example").unwrap(),
            Credential::Anonymous
        );
    }

    #[test]
    fn failures_name_the_helper() {
        let d = tempfile::tempdir().unwrap();
        let p = helper(d.path(), "echo 'keychain locked' >&2; exit 2");
        let e = get_with(&p, "fake", "a.example").unwrap_err().to_string();
        assert!(e.contains("docker-credential-fake"), "{e}");
        assert!(e.contains("keychain locked"), "{e}");
        let e = get_with(&d.path().join("missing"), "fake", "a.example")
            .unwrap_err()
            .to_string();
        assert!(e.contains("cannot run"), "{e}");
        let p = helper(d.path(), "cat >/dev/null; echo not-json");
        let e = get_with(&p, "fake", "a.example").unwrap_err().to_string();
        assert!(e.contains("not the expected JSON"), "{e}");
    }
}
