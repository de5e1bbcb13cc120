//! Authentication vocabulary: challenge interpretation, the token cache, header values
//! and scope strings. The token requests themselves live in `token.rs`.

use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;
use std::time::Instant;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use hoist_oci::{Digest, sha256_of};
use reqwest::header::HeaderValue;

use crate::challenge::Challenge;
use crate::credential::Credential;

/// How a registry wants requests authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthScheme {
    /// No authentication required.
    None,
    /// HTTP Basic with the user's credentials.
    Basic,
    /// Bearer tokens from a token server.
    Bearer {
        /// Token endpoint.
        realm: String,
        /// `service` parameter.
        service: Option<String>,
    },
}

impl AuthScheme {
    /// Picks Bearer over Basic from a 401's challenges.
    pub fn from_challenges(ch: &[Challenge]) -> Self {
        if let Some(b) = ch.iter().find(|c| c.scheme == "bearer")
            && let Some(realm) = b.param("realm")
        {
            return AuthScheme::Bearer {
                realm: realm.to_string(),
                service: b.param("service").map(str::to_string),
            };
        }
        if ch.iter().any(|c| c.scheme == "basic") {
            return AuthScheme::Basic;
        }
        AuthScheme::None
    }
}

/// A token and when to stop using it.
#[derive(Clone)]
pub(crate) struct Token {
    pub token: String,
    pub expires: Instant,
}

/// Tokens keyed by registry and sorted scopes.
#[derive(Default)]
pub(crate) struct TokenCache {
    map: Mutex<HashMap<String, Token>>,
}

impl TokenCache {
    pub(crate) fn key(registry: &str, scopes: &[String]) -> String {
        let sorted: BTreeSet<&str> = scopes.iter().map(String::as_str).collect();
        let mut k = registry.to_string();
        for s in sorted {
            k.push(' ');
            k.push_str(s);
        }
        k
    }

    pub(crate) fn get(&self, key: &str) -> Option<Token> {
        let map = self
            .map
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        map.get(key).filter(|t| t.expires > Instant::now()).cloned()
    }

    pub(crate) fn put(&self, key: String, t: Token) {
        let mut map = self
            .map
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        map.insert(key, t);
    }

    pub(crate) fn invalidate(&self, key: &str) {
        let mut map = self
            .map
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        map.remove(key);
    }
}

/// A Basic `Authorization` value for a Basic credential.
pub(crate) fn basic_header(c: &Credential) -> Option<HeaderValue> {
    match c {
        Credential::Basic { username, password } => {
            let mut v = HeaderValue::from_str(&format!(
                "Basic {}",
                B64.encode(format!("{username}:{password}"))
            ))
            .ok()?;
            v.set_sensitive(true);
            Some(v)
        }
        _ => None,
    }
}

/// A Bearer `Authorization` value, marked sensitive.
/// `None` when the token has bytes a header cannot carry (it could never authenticate).
pub(crate) fn bearer_header(token: &str) -> Option<HeaderValue> {
    let mut v = HeaderValue::from_str(&format!("Bearer {token}")).ok()?;
    v.set_sensitive(true);
    Some(v)
}

/// Identifies a credential without keeping it: a digest of its secret parts.
pub(crate) fn credential_fingerprint(c: &Credential) -> Digest {
    let text = match c {
        Credential::Anonymous => "anonymous".to_string(),
        Credential::Basic { username, password } => format!("basic\0{username}\0{password}"),
        Credential::IdentityToken(t) => format!("identity\0{t}"),
        Credential::RegistryToken(t) => format!("registry\0{t}"),
    };
    sha256_of(text.as_bytes())
}

/// Scope strings: `repository:<repo>:<actions>`.
pub(crate) fn repo_scope(repo: &str, actions: &str) -> String {
    format!("repository:{repo}:{actions}")
}

/// Adds the scopes of an `insufficient_scope` challenge; true when something was added.
pub(crate) fn union_scopes(scopes: &mut Vec<String>, extra: &str) -> bool {
    let mut added = false;
    for s in extra.split(' ').filter(|s| !s.is_empty()) {
        if !scopes.iter().any(|x| x == s) {
            scopes.push(s.to_string());
            added = true;
        }
    }
    added
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::challenge::parse_challenges;

    #[test]
    fn cache_key_ignores_scope_order() {
        let a = TokenCache::key("r", &["b".into(), "a".into()]);
        let b = TokenCache::key("r", &["a".into(), "b".into()]);
        assert_eq!(a, b);
        assert_ne!(a, TokenCache::key("r2", &["a".into(), "b".into()]));
    }

    #[test]
    fn prefers_bearer_and_unions_scopes() {
        let ch =
            parse_challenges([r#"Basic realm="x", Bearer realm="https://t/token",service="reg""#]);
        assert_eq!(
            AuthScheme::from_challenges(&ch),
            AuthScheme::Bearer {
                realm: "https://t/token".into(),
                service: Some("reg".into())
            }
        );
        assert_eq!(AuthScheme::from_challenges(&ch[..1]), AuthScheme::Basic);
        let mut scopes = vec![repo_scope("a", "pull")];
        assert!(union_scopes(
            &mut scopes,
            "repository:a:pull repository:b:pull,push"
        ));
        assert!(!union_scopes(&mut scopes, "repository:b:pull,push"));
        assert_eq!(scopes.len(), 2);
    }

    #[test]
    fn basic_header_is_sensitive() {
        let h = basic_header(&Credential::Basic {
            username: "u".into(),
            password: "p".into(),
        })
        .unwrap();
        assert!(h.is_sensitive());
        assert_eq!(h.to_str().unwrap(), "Basic dTpw");
        assert!(basic_header(&Credential::Anonymous).is_none());
    }
}
