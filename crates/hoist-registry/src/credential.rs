//! Credentials and where they come from.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;

use crate::RegistryError;

/// A boxed, sendable future, used so that [`CredentialProvider`] stays object safe.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// How to authenticate to one registry. `Debug` never shows secrets.
#[derive(Clone, PartialEq, Eq, Default)]
pub enum Credential {
    /// No credentials: anonymous tokens or no auth at all.
    #[default]
    Anonymous,
    /// Username and password (Basic auth, or exchanged at the token server).
    Basic {
        /// User name.
        username: String,
        /// Password or personal access token.
        password: String,
    },
    /// An OAuth2 refresh token (docker's `identitytoken`), exchanged at the token server.
    IdentityToken(String),
    /// A bearer token sent to the registry as is (docker's `registrytoken`).
    RegistryToken(String),
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credential::Anonymous => f.write_str("Anonymous"),
            Credential::Basic { username, .. } => f
                .debug_struct("Basic")
                .field("username", username)
                .field("password", &"<redacted>")
                .finish(),
            Credential::IdentityToken(_) => f.write_str("IdentityToken(<redacted>)"),
            Credential::RegistryToken(_) => f.write_str("RegistryToken(<redacted>)"),
        }
    }
}

/// Supplies credentials per registry host (`host[:port]`, `docker.io` for Docker Hub).
///
/// Implemented by [`crate::DockerConfigCredentials`], [`StaticCredentials`], by a single
/// [`Credential`] (used for every registry), and later by wasm plugins.
pub trait CredentialProvider: Send + Sync {
    /// The credential for `registry`; [`Credential::Anonymous`] when none is known.
    fn credential<'a>(
        &'a self,
        registry: &'a str,
    ) -> BoxFuture<'a, Result<Credential, RegistryError>>;
}

impl CredentialProvider for Credential {
    fn credential<'a>(&'a self, _: &'a str) -> BoxFuture<'a, Result<Credential, RegistryError>> {
        Box::pin(async move { Ok(self.clone()) })
    }
}

/// A fixed map from registry host to credential; anonymous for other hosts.
#[derive(Debug, Clone, Default)]
pub struct StaticCredentials {
    map: HashMap<String, Credential>,
}

impl StaticCredentials {
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces) the credential for `registry`.
    pub fn insert(&mut self, registry: &str, credential: Credential) {
        self.map.insert(registry.to_string(), credential);
    }
}

impl CredentialProvider for StaticCredentials {
    fn credential<'a>(
        &'a self,
        registry: &'a str,
    ) -> BoxFuture<'a, Result<Credential, RegistryError>> {
        Box::pin(async move { Ok(self.map.get(registry).cloned().unwrap_or_default()) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_secrets() {
        let creds = [
            Credential::Basic {
                username: "alice".into(),
                password: "s3cret-pass".into(),
            },
            Credential::IdentityToken("s3cret-pass".into()),
            Credential::RegistryToken("s3cret-pass".into()),
        ];
        for c in creds {
            let d = format!("{c:?}");
            assert!(!d.contains("s3cret"), "{d}");
        }
        let mut m = StaticCredentials::new();
        m.insert(
            "r.io",
            Credential::Basic {
                username: "u".into(),
                password: "s3cret-pass".into(),
            },
        );
        assert!(!format!("{m:?}").contains("s3cret"));
    }
}
