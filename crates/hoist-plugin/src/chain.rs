//! [`PluginCredentials`]: auth plugins asked in order, as a
//! [`hoist_registry::CredentialProvider`].

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use hoist_registry::{BoxFuture, Credential, CredentialProvider, RegistryError};

use crate::plugin::{CredentialRequest, Plugin};
use crate::{PluginCredential, PluginError};

/// Asks auth plugins in order; the first that answers wins. A plugin whose manifest
/// does not serve the registry is skipped, `not-found` moves on to the next, other
/// errors are logged and remembered. After the plugins, the fallback provider (e.g.
/// docker's config.json) is asked. If nothing produced a credential and a plugin
/// failed, the failure is returned instead of going anonymous.
///
/// Bearer tokens with a lifetime are reused until shortly before they expire.
pub struct PluginCredentials {
    plugins: Vec<Arc<Plugin>>,
    fallback: Option<Arc<dyn CredentialProvider>>,
    bearer_cache: Mutex<HashMap<String, (Credential, Instant)>>,
}

impl std::fmt::Debug for PluginCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.plugins.iter().map(|p| p.name()).collect();
        f.debug_struct("PluginCredentials")
            .field("plugins", &names)
            .field("fallback", &self.fallback.is_some())
            .finish()
    }
}

impl PluginCredentials {
    /// A chain of auth plugins (other plugins are ignored), in order.
    pub fn new(plugins: Vec<Arc<Plugin>>) -> Self {
        Self {
            plugins: plugins
                .into_iter()
                .filter(|p| p.manifest().world == crate::World::Auth)
                .collect(),
            fallback: None,
            bearer_cache: Mutex::default(),
        }
    }

    /// Asks `provider` after the plugins (default: none).
    pub fn with_fallback(mut self, provider: Arc<dyn CredentialProvider>) -> Self {
        self.fallback = Some(provider);
        self
    }

    /// The plugins asked, in order.
    pub fn plugins(&self) -> &[Arc<Plugin>] {
        &self.plugins
    }

    /// Asks the plugins only: the first credential and the plugin that gave it, or
    /// `Ok(None)` when every plugin said `not-found` (or none serves the registry).
    /// The first other error is returned if no plugin answered.
    pub async fn from_plugins(
        &self,
        request: &CredentialRequest<'_>,
    ) -> Result<Option<(String, PluginCredential)>, PluginError> {
        let mut first_err = None;
        for p in &self.plugins {
            if !p.manifest().serves(request.registry) {
                continue;
            }
            match p.get_credential(request).await {
                Ok(c) => {
                    tracing::debug!(
                        plugin = p.name(),
                        registry = request.registry,
                        "credential from plugin"
                    );
                    return Ok(Some((p.name().to_string(), c)));
                }
                Err(e) if e.is_not_found() => {
                    tracing::debug!(plugin = p.name(), registry = request.registry, error = %e, "plugin has no credential");
                }
                Err(e) => {
                    tracing::warn!(plugin = p.name(), registry = request.registry, error = %e, "auth plugin failed");
                    first_err.get_or_insert(e);
                }
            }
        }
        match first_err {
            Some(e) => Err(e),
            None => Ok(None),
        }
    }

    fn cached(&self, registry: &str) -> Option<Credential> {
        let map = self
            .bearer_cache
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        map.get(registry)
            .filter(|(_, until)| Instant::now() < *until)
            .map(|(c, _)| c.clone())
    }

    fn remember(&self, registry: &str, c: &PluginCredential) {
        if let PluginCredential::Bearer {
            expires_in: Some(d),
            ..
        } = c
        {
            // Renew a little early so a token does not expire mid-request.
            let margin = (*d / 10).min(std::time::Duration::from_secs(30));
            let until = Instant::now() + (*d - margin);
            self.bearer_cache
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .insert(registry.to_string(), (c.clone().into(), until));
        }
    }
}

impl CredentialProvider for PluginCredentials {
    fn credential<'a>(
        &'a self,
        registry: &'a str,
    ) -> BoxFuture<'a, Result<Credential, RegistryError>> {
        Box::pin(async move {
            if let Some(c) = self.cached(registry) {
                return Ok(c);
            }
            let request = CredentialRequest {
                registry,
                ..CredentialRequest::default()
            };
            let plugin_err = match self.from_plugins(&request).await {
                Ok(Some((_, c))) => {
                    self.remember(registry, &c);
                    return Ok(c.into());
                }
                Ok(None) => None,
                Err(e) => Some(e),
            };
            if let Some(fallback) = &self.fallback {
                let c = fallback.credential(registry).await?;
                if c != Credential::Anonymous || plugin_err.is_none() {
                    return Ok(c);
                }
            }
            match plugin_err {
                // hoist-registry has no plugin error variant; `Setup` carries the message.
                Some(e) => Err(RegistryError::Setup {
                    reason: format!("credentials for {registry}: {e}"),
                }),
                None => Ok(Credential::Anonymous),
            }
        })
    }
}
