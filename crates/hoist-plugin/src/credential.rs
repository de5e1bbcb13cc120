//! The credential an auth plugin returns.

use std::time::Duration;

/// A credential from an auth plugin. `Debug` never shows secrets.
#[derive(Clone, PartialEq, Eq)]
pub enum PluginCredential {
    /// No credentials.
    Anonymous,
    /// Username and password.
    Basic {
        /// User name.
        username: String,
        /// Password or token.
        password: String,
    },
    /// A bearer token sent to the registry as is.
    Bearer {
        /// The token.
        token: String,
        /// Its lifetime, when the plugin knows it.
        expires_in: Option<Duration>,
    },
    /// An OAuth2 refresh token exchanged at the registry's token server.
    IdentityToken(String),
}

impl std::fmt::Debug for PluginCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PluginCredential::Anonymous => f.write_str("Anonymous"),
            PluginCredential::Basic { username, .. } => f
                .debug_struct("Basic")
                .field("username", username)
                .field("password", &"<redacted>")
                .finish(),
            PluginCredential::Bearer { expires_in, .. } => f
                .debug_struct("Bearer")
                .field("token", &"<redacted>")
                .field("expires_in", expires_in)
                .finish(),
            PluginCredential::IdentityToken(_) => f.write_str("IdentityToken(<redacted>)"),
        }
    }
}

impl PluginCredential {
    /// A one-line description with secrets masked (first 2 characters kept), for
    /// `hoist plugin test`.
    pub fn masked(&self) -> String {
        fn mask(s: &str) -> String {
            let head: String = s.chars().take(2).collect();
            format!("{head}{}", "*".repeat(8))
        }
        match self {
            PluginCredential::Anonymous => "anonymous".to_string(),
            PluginCredential::Basic { username, password } => {
                format!("basic username={username} password={}", mask(password))
            }
            PluginCredential::Bearer { token, expires_in } => match expires_in {
                Some(d) => format!("bearer token={} expires_in={}s", mask(token), d.as_secs()),
                None => format!("bearer token={}", mask(token)),
            },
            PluginCredential::IdentityToken(t) => format!("identity-token {}", mask(t)),
        }
    }
}

impl From<PluginCredential> for hoist_registry::Credential {
    fn from(c: PluginCredential) -> Self {
        match c {
            PluginCredential::Anonymous => hoist_registry::Credential::Anonymous,
            PluginCredential::Basic { username, password } => {
                hoist_registry::Credential::Basic { username, password }
            }
            PluginCredential::Bearer { token, .. } => {
                hoist_registry::Credential::RegistryToken(token)
            }
            PluginCredential::IdentityToken(t) => hoist_registry::Credential::IdentityToken(t),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_shown() {
        let cases = [
            PluginCredential::Basic {
                username: "u".into(),
                password: "s3cretvalue".into(),
            },
            PluginCredential::Bearer {
                token: "s3cretvalue".into(),
                expires_in: Some(Duration::from_secs(60)),
            },
            PluginCredential::IdentityToken("s3cretvalue".into()),
        ];
        for c in cases {
            assert!(!format!("{c:?}").contains("cretvalue"));
            assert!(!c.masked().contains("cretvalue"), "{}", c.masked());
            assert!(c.masked().contains("s3********"));
        }
    }
}
