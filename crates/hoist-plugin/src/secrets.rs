//! Where `get-secret` values come from.

use std::collections::BTreeMap;

/// A source of named secrets. The host checks grants before asking.
pub trait SecretSource: Send + Sync + std::fmt::Debug {
    /// The secret's value, `None` when it is not set.
    fn get(&self, name: &str) -> Option<String>;
}

/// Secrets are the host process's environment variables.
#[derive(Debug, Clone, Copy, Default)]
pub struct EnvSecrets;

impl SecretSource for EnvSecrets {
    fn get(&self, name: &str) -> Option<String> {
        std::env::var(name).ok()
    }
}

/// A fixed map of secrets (tests, or secrets read from elsewhere by the caller).
impl SecretSource for BTreeMap<String, String> {
    fn get(&self, name: &str) -> Option<String> {
        BTreeMap::get(self, name).cloned()
    }
}
