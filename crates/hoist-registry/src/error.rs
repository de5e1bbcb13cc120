//! The crate's error type, the distribution spec's error codes, and `hint:` lines.

use std::path::PathBuf;

use hoist_oci::Digest;

pub use crate::error_code::{ApiErrorEntry, ErrorCode, parse_error_body};

/// What the client was doing when an error happened; used in messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// `/v2/` ping or credential check.
    Login,
    /// Reading manifests or blobs.
    Pull,
    /// Writing manifests or blobs.
    Push,
    /// Cross-repository blob mount.
    Mount,
    /// Deleting a manifest or blob.
    Delete,
    /// Listing tags.
    ListTags,
    /// Listing repositories.
    Catalog,
}

impl Operation {
    /// The phrase that precedes the target in messages, e.g. `push to`.
    pub fn phrase(self) -> &'static str {
        match self {
            Operation::Login => "login to",
            Operation::Pull => "pull from",
            Operation::Push => "push to",
            Operation::Mount => "mount into",
            Operation::Delete => "delete from",
            Operation::ListTags => "listing tags of",
            Operation::Catalog => "listing repositories of",
        }
    }
}

/// Everything that can go wrong talking to a registry.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// The registry answered with an error status.
    #[error("{}", api_message(*.op, .target, *.status, .errors))]
    Api {
        /// What was being done.
        op: Operation,
        /// The reference or repository, e.g. `127.0.0.1:5000/samples/demo`.
        target: String,
        /// The registry host.
        registry: String,
        /// HTTP status.
        status: u16,
        /// Parsed error entries (possibly empty).
        errors: Vec<ApiErrorEntry>,
    },
    /// A request failed before an HTTP response arrived (or while reading it).
    #[error("{} {target} failed: request to {url} failed", .op.phrase())]
    Http {
        /// What was being done.
        op: Operation,
        /// The reference or repository.
        target: String,
        /// The URL (query removed).
        url: String,
        /// The cause.
        #[source]
        source: reqwest::Error,
    },
    /// Downloaded or served content does not hash to the expected digest.
    #[error("{} {target}: digest mismatch: expected {expected}, got {actual}", .op.phrase())]
    DigestMismatch {
        /// What was being done.
        op: Operation,
        /// The reference or repository.
        target: String,
        /// The digest asked for.
        expected: Digest,
        /// The digest of what arrived.
        actual: Digest,
    },
    /// A manifest is larger than the limit.
    #[error("pull from {target}: manifest is larger than {limit} bytes")]
    ManifestTooLarge {
        /// The reference.
        target: String,
        /// The limit in bytes.
        limit: u64,
    },
    /// The registry served something hoist does not support (e.g. schema1).
    #[error("{} {target}: unsupported {what}", .op.phrase())]
    Unsupported {
        /// What was being done.
        op: Operation,
        /// The reference.
        target: String,
        /// What is unsupported.
        what: String,
    },
    /// The registry's answer violates the protocol.
    #[error("{} {target}: invalid response: {reason}", .op.phrase())]
    Protocol {
        /// What was being done.
        op: Operation,
        /// The reference or repository.
        target: String,
        /// What was wrong.
        reason: String,
    },
    /// The token server refused or failed.
    #[error("login to {registry} failed: token server {realm} answered HTTP {status}{}", detail_suffix(.detail))]
    Token {
        /// The registry host.
        registry: String,
        /// The realm URL (query removed).
        realm: String,
        /// HTTP status.
        status: u16,
        /// The server's message, when any.
        detail: Option<String>,
    },
    /// A credential helper is configured but helpers are disabled.
    #[error(
        "credentials for {registry} are kept by credential helper docker-credential-{helper} ({entry} in {}), and credential helpers are disabled",
        .path.display()
    )]
    CredentialHelperDisabled {
        /// The registry host.
        registry: String,
        /// The helper name (suffix of `docker-credential-`).
        helper: String,
        /// The config entry: `credHelpers` or `credsStore`.
        entry: &'static str,
        /// The config file.
        path: PathBuf,
    },
    /// A credential helper the user allowed could not give credentials.
    #[error("credential helper docker-credential-{helper} for {server}: {reason}")]
    CredentialHelper {
        /// The helper name (suffix of `docker-credential-`).
        helper: String,
        /// The server address asked for.
        server: String,
        /// What went wrong (the helper's own message; never a secret).
        reason: String,
    },
    /// A credentials file could not be read or written.
    #[error("credentials file {}: {action} failed", .path.display())]
    ConfigIo {
        /// The file.
        path: PathBuf,
        /// What was attempted.
        action: &'static str,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A credentials file is not valid JSON or has a bad entry.
    #[error("credentials file {}: {reason}", .path.display())]
    ConfigInvalid {
        /// The file.
        path: PathBuf,
        /// What is wrong (never contains secrets).
        reason: String,
    },
    /// Reading the source or writing the sink of a blob failed.
    #[error("{} {target}: local i/o failed for blob {digest}", .op.phrase())]
    LocalIo {
        /// What was being done.
        op: Operation,
        /// The repository.
        target: String,
        /// The blob.
        digest: Digest,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The client could not be built (TLS setup, CA file).
    #[error("registry client setup failed: {reason}")]
    Setup {
        /// What failed.
        reason: String,
    },
}

fn detail_suffix(d: &Option<String>) -> String {
    d.as_ref().map(|d| format!(": {d}")).unwrap_or_default()
}

fn api_message(op: Operation, target: &str, status: u16, errors: &[ApiErrorEntry]) -> String {
    let phrase = op.phrase();
    let Some(first) = errors.first() else {
        return match status {
            401 => format!("{phrase} {target} was not authorized (HTTP 401)"),
            403 => format!("{phrase} {target} was denied (HTTP 403)"),
            404 => format!("{phrase} {target} failed: not found (HTTP 404)"),
            405 => format!("{phrase} {target} failed: operation unsupported (HTTP 405)"),
            _ => format!("{phrase} {target} failed with HTTP {status}"),
        };
    };
    let verb = match first.code {
        ErrorCode::Denied => "was denied",
        ErrorCode::Unauthorized => "was not authorized",
        _ => "failed",
    };
    let mut s = format!("{phrase} {target} {verb} ({})", first.code);
    if !first.message.is_empty() {
        s.push_str(": ");
        s.push_str(&first.message);
    }
    for more in &errors[1..] {
        s.push_str(&format!("; {}", more.code));
        if !more.message.is_empty() {
            s.push_str(&format!(": {}", more.message));
        }
    }
    s
}

impl RegistryError {
    /// The first distribution error code, when the registry sent one.
    pub fn code(&self) -> Option<&ErrorCode> {
        match self {
            RegistryError::Api { errors, .. } => errors.first().map(|e| &e.code),
            _ => None,
        }
    }

    /// The HTTP status, for errors the registry answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            RegistryError::Api { status, .. } => Some(*status),
            RegistryError::Token { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// True when retrying the same request could succeed (408, 429, 5xx, connection failures).
    pub fn is_transient(&self) -> bool {
        match self {
            RegistryError::Api { status, .. } => crate::retry::is_retryable_status(*status),
            RegistryError::Http { source, .. } => crate::retry::is_retryable_transport(source),
            _ => false,
        }
    }

    /// A one-line suggestion for the user (the CLI prints it as `hint: ...`).
    pub fn hint(&self) -> Option<String> {
        match self {
            RegistryError::Api {
                op,
                registry,
                status,
                errors,
                ..
            } => {
                let code = errors.first().map(|e| &e.code);
                match (code, status, op) {
                    (Some(ErrorCode::Unauthorized), _, _) | (None, 401, _) => {
                        Some(format!("run hoist login {registry}"))
                    }
                    (Some(ErrorCode::Denied), _, Operation::Push | Operation::Mount)
                    | (None, 403, Operation::Push | Operation::Mount) => Some(
                        "check that the repository exists and that you may push to it".into(),
                    ),
                    (Some(ErrorCode::Denied), _, _) | (None, 403, _) => Some(format!(
                        "check that you may access it; run hoist login {registry} if it is private"
                    )),
                    (Some(ErrorCode::NameUnknown), _, _) => Some(format!(
                        "check the repository name; run hoist login {registry} if it is private"
                    )),
                    (Some(ErrorCode::ManifestUnknown), _, _) => {
                        Some("check the tag or digest: the registry has no such manifest".into())
                    }
                    (Some(ErrorCode::ManifestBlobUnknown), _, _) => {
                        Some("push the image's blobs before its manifest".into())
                    }
                    (Some(ErrorCode::Unsupported), _, Operation::Delete)
                    | (None, 405, Operation::Delete) => {
                        Some("the registry has deletes disabled".into())
                    }
                    (Some(ErrorCode::TooManyRequests), _, _) | (None, 429, _) => Some(format!(
                        "the registry is rate limiting; wait, or run hoist login {registry} for a higher limit"
                    )),
                    _ => None,
                }
            }
            RegistryError::Token {
                registry,
                status: 401 | 403,
                ..
            } => {
                Some(format!("check the credentials; run hoist login {registry}"))
            }
            RegistryError::DigestMismatch { .. } => Some(
                "the registry or a proxy served corrupted content; retry, and report it if it persists"
                    .into(),
            ),
            RegistryError::Unsupported { .. } => Some(
                "the image uses Docker schema1, which is deprecated; repush it with a current tool"
                    .into(),
            ),
            RegistryError::CredentialHelperDisabled { .. } => Some(
                "pass --allow-credential-helpers to run it, or log in with hoist login".into(),
            ),
            RegistryError::CredentialHelper { server, .. } => Some(format!(
                "check that the helper is installed and unlocked, or log in with hoist login {server}"
            )),
            RegistryError::Http { source, .. } if source.is_connect() => Some(
                "check the registry address; a plain-HTTP registry must be listed as insecure".into(),
            ),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn denied_push_reads_like_a_sentence() {
        let body = br#"{"errors":[{"code":"DENIED","message":"requested access to the resource is denied","detail":null}]}"#;
        let e = RegistryError::Api {
            op: Operation::Push,
            target: "127.0.0.1:5000/samples/demo".into(),
            registry: "127.0.0.1:5000".into(),
            status: 403,
            errors: parse_error_body(body),
        };
        assert_eq!(
            e.to_string(),
            "push to 127.0.0.1:5000/samples/demo was denied (DENIED): requested access to the resource is denied"
        );
        assert_eq!(e.code(), Some(&ErrorCode::Denied));
        assert_eq!(
            e.hint().as_deref(),
            Some("check that the repository exists and that you may push to it")
        );
    }

    #[test]
    fn parses_codes_details_and_garbage() {
        let body = br#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown","detail":{"Tag":"x"}},{"code":"WEIRD"}]}"#;
        let errs = parse_error_body(body);
        assert_eq!(errs.len(), 2);
        assert_eq!(errs[0].code, ErrorCode::ManifestUnknown);
        assert_eq!(errs[0].detail.as_deref(), Some(r#"{"Tag":"x"}"#));
        assert_eq!(errs[1].code, ErrorCode::Other("WEIRD".into()));
        assert!(parse_error_body(b"<html>").is_empty());
        for c in [
            "NAME_UNKNOWN",
            "TOOMANYREQUESTS",
            "UNSUPPORTED",
            "SIZE_INVALID",
        ] {
            assert_eq!(ErrorCode::parse(c).as_str(), c);
        }
    }

    #[test]
    fn delete_unsupported_hint() {
        let e = RegistryError::Api {
            op: Operation::Delete,
            target: "r/x@sha256:1".into(),
            registry: "r".into(),
            status: 405,
            errors: parse_error_body(
                br#"{"errors":[{"code":"UNSUPPORTED","message":"The operation is unsupported."}]}"#,
            ),
        };
        assert_eq!(
            e.hint().as_deref(),
            Some("the registry has deletes disabled")
        );
        assert!(
            e.to_string()
                .starts_with("delete from r/x@sha256:1 failed (UNSUPPORTED)")
        );
    }
}
