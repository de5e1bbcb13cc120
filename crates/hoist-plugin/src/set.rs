//! [`Plugins`]: the built-in plugins plus those configured in `config.toml`.

use std::sync::Arc;

use crate::builtin::BUILTINS;
use crate::chain::PluginCredentials;
use crate::config::{PluginConfig, PluginSettings};
use crate::installed::PluginDir;
use crate::plugin::{Plugin, PluginOrigin};
use crate::profiles::Profiles;
use crate::{PluginError, PluginHost, World};

/// Every plugin hoist knows about, loaded.
#[derive(Debug)]
pub struct Plugins {
    host: PluginHost,
    config: PluginConfig,
    loaded: Vec<Arc<Plugin>>,
    failed: Vec<(String, PluginError)>,
}

impl Plugins {
    /// Loads the enabled built-ins and every `[plugins.NAME]` with a `path`. A plugin
    /// that fails to load is left out and reported by [`Plugins::failures`].
    pub fn load(host: PluginHost, config: PluginConfig) -> Self {
        let mut loaded = Vec::new();
        let mut failed = Vec::new();
        for b in BUILTINS {
            let settings = config.plugins.get(b.name);
            if settings.is_some_and(|s| !s.enabled) {
                continue;
            }
            match host.load(b.wasm, PluginOrigin::Builtin, settings) {
                Ok(p) => loaded.push(Arc::new(p)),
                Err(e) => failed.push((b.name.to_string(), e)),
            }
        }
        // Installed plugins (`hoist plugin add`); a `[plugins.NAME] path` wins.
        let installed = match config.installed_dir.as_ref().map(PluginDir::new) {
            Some(dir) => dir.list().unwrap_or_else(|e| {
                failed.push((dir.path().display().to_string(), e));
                Vec::new()
            }),
            None => Vec::new(),
        };
        for (name, path) in installed {
            let settings = config.plugins.get(&name);
            if settings.is_some_and(|s| !s.enabled || s.path.is_some()) {
                continue;
            }
            match load_named(&host, &name, &path, settings) {
                Ok(p) => {
                    loaded.retain(|q: &Arc<Plugin>| q.name() != name);
                    loaded.push(Arc::new(p));
                }
                Err(e) => failed.push((name, e)),
            }
        }
        for (name, s) in &config.plugins {
            let Some(path) = &s.path else { continue };
            if !s.enabled {
                continue;
            }
            match load_named(&host, name, path, Some(s)) {
                Ok(p) => {
                    loaded.retain(|q: &Arc<Plugin>| q.name() != name);
                    loaded.push(Arc::new(p));
                }
                Err(e) => failed.push((name.clone(), e)),
            }
        }
        for (name, e) in &failed {
            tracing::warn!(plugin = %name, error = %e, "plugin not loaded");
        }
        Self {
            host,
            config,
            loaded,
            failed,
        }
    }

    /// The host the plugins run on.
    pub fn host(&self) -> &PluginHost {
        &self.host
    }

    /// The loaded plugins.
    pub fn plugins(&self) -> &[Arc<Plugin>] {
        &self.loaded
    }

    /// Plugins that failed to load, with why.
    pub fn failures(&self) -> &[(String, PluginError)] {
        &self.failed
    }

    /// The loaded plugin called `name`.
    pub fn get(&self, name: &str) -> Result<&Arc<Plugin>, PluginError> {
        if let Some(p) = self.loaded.iter().find(|p| p.name() == name) {
            return Ok(p);
        }
        if let Some((_, e)) = self.failed.iter().find(|(n, _)| n == name) {
            return Err(PluginError::Setup {
                reason: format!("plugin {name} did not load: {e}"),
            });
        }
        Err(PluginError::UnknownPlugin {
            name: name.to_string(),
        })
    }

    /// The auth chain: `[auth] plugins` in that order, or every auth plugin in load
    /// order. Unknown names are reported.
    pub fn credentials(&self) -> Result<PluginCredentials, PluginError> {
        let chain = match &self.config.auth.plugins {
            Some(names) => names
                .iter()
                .map(|n| {
                    let p = self.get(n)?;
                    if p.manifest().world != World::Auth {
                        return Err(PluginError::WrongWorld {
                            name: n.clone(),
                            expected: World::Auth.to_string(),
                            actual: p.manifest().world.to_string(),
                        });
                    }
                    Ok(p.clone())
                })
                .collect::<Result<Vec<_>, _>>()?,
            None => self
                .loaded
                .iter()
                .filter(|p| p.manifest().world == World::Auth)
                .cloned()
                .collect(),
        };
        Ok(PluginCredentials::new(chain))
    }

    /// The registry profiles.
    pub fn profiles(&self) -> Profiles {
        Profiles::new(self.loaded.clone())
    }
}

/// Loads the component at `path`, which must call itself `name` (its table or file name).
fn load_named(
    host: &PluginHost,
    name: &str,
    path: &std::path::Path,
    settings: Option<&PluginSettings>,
) -> Result<Plugin, PluginError> {
    let p = host.load_file(path, settings)?;
    if p.name() == name {
        Ok(p)
    } else {
        Err(PluginError::InvalidManifest {
            origin: path.display().to_string(),
            reason: format!("manifest name {:?} differs from {name:?}", p.name()),
        })
    }
}
