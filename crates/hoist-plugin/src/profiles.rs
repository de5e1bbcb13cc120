//! [`Profiles`]: registry-profile plugins applied to references and client limits.

use std::sync::Arc;

use hoist_oci::Reference;

use crate::plugin::Plugin;
use crate::{PluginError, World};

/// Transfer limits a registry profile asks for; `None` keeps the client's default.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RegistryLimits {
    /// Concurrent blob uploads.
    pub max_concurrent_push: Option<u32>,
    /// Concurrent blob downloads.
    pub max_concurrent_pull: Option<u32>,
    /// Upload chunk size in bytes.
    pub chunk_size: Option<u64>,
}

/// The registry-profile plugins, most specific first: a profile whose manifest
/// serves only `*` (the generic one) is consulted last.
#[derive(Debug, Clone, Default)]
pub struct Profiles {
    plugins: Vec<Arc<Plugin>>,
}

impl Profiles {
    /// Profiles from `plugins` (other worlds are ignored), keeping their order except
    /// that catch-all profiles go last.
    pub fn new(plugins: Vec<Arc<Plugin>>) -> Self {
        let (catch_all, mut specific): (Vec<_>, Vec<_>) = plugins
            .into_iter()
            .filter(|p| p.manifest().world == World::RegistryProfile)
            .partition(|p| p.manifest().registries.iter().any(|r| r == "*"));
        specific.extend(catch_all);
        Self { plugins: specific }
    }

    /// The profile for `registry`: the first whose manifest serves it and whose
    /// `matches` export agrees.
    pub fn for_registry(&self, registry: &str) -> Result<Option<&Arc<Plugin>>, PluginError> {
        for p in &self.plugins {
            if p.manifest().serves(registry) && p.profile_matches(registry)? {
                return Ok(Some(p));
            }
        }
        Ok(None)
    }

    /// Applies the registry's naming rules; unchanged when no profile matches.
    pub fn normalize(&self, reference: &Reference) -> Result<Reference, PluginError> {
        let Some(p) = self.for_registry(reference.domain())? else {
            return Ok(reference.clone());
        };
        let out = p.profile_normalize(&reference.to_string())?;
        let mut parsed = Reference::parse_name_only(&out).map_err(|e| PluginError::BadAnswer {
            name: p.name().to_string(),
            reason: format!("normalize returned {out:?}: {e}"),
        })?;
        if parsed.tag().is_none()
            && parsed.digest().is_none()
            && let Some(t) = reference.tag()
        {
            parsed = parsed.with_tag(t).map_err(|e| PluginError::BadAnswer {
                name: p.name().to_string(),
                reason: e.to_string(),
            })?;
        }
        Ok(parsed)
    }

    /// The registry's transfer limits (all `None` when no profile matches).
    pub fn limits(&self, registry: &str) -> Result<RegistryLimits, PluginError> {
        match self.for_registry(registry)? {
            Some(p) => p.profile_limits(registry),
            None => Ok(RegistryLimits::default()),
        }
    }

    /// A hint for failed authentication to `registry`.
    pub fn auth_hint(&self, registry: &str) -> Result<Option<String>, PluginError> {
        match self.for_registry(registry)? {
            Some(p) => p.profile_auth_hint(registry),
            None => Ok(None),
        }
    }

    /// Applies `registry`'s limits to client options (they are client-wide, so use
    /// this when a client talks to one registry).
    pub fn apply_limits(
        &self,
        registry: &str,
        opts: &mut hoist_registry::ClientOptions,
    ) -> Result<(), PluginError> {
        let l = self.limits(registry)?;
        if let Some(n) = l.max_concurrent_push {
            opts.max_concurrent_uploads = n.max(1) as usize;
        }
        if let Some(n) = l.max_concurrent_pull {
            opts.max_concurrent_downloads = n.max(1) as usize;
        }
        if let Some(c) = l.chunk_size {
            opts.chunk_size = c.max(64 * 1024);
        }
        Ok(())
    }
}

/// The client asks the matching profile for each registry's limits. The trait cannot
/// fail, so a profile that traps or answers badly is logged and the client's defaults
/// stay in force.
impl hoist_registry::LimitsProvider for Profiles {
    fn limits(&self, registry: &str) -> hoist_registry::TransferLimits {
        match Profiles::limits(self, registry) {
            Ok(l) => hoist_registry::TransferLimits {
                max_concurrent_uploads: l.max_concurrent_push.map(|n| n.max(1) as usize),
                max_concurrent_downloads: l.max_concurrent_pull.map(|n| n.max(1) as usize),
                chunk_size: l.chunk_size.map(|c| c.max(64 * 1024)),
            },
            Err(e) => {
                tracing::warn!(%registry, error = %e, "registry profile failed; default limits");
                hoist_registry::TransferLimits::default()
            }
        }
    }
}
