//! [`PluginDir`]: plugins installed by `hoist plugin add`, one `<name>.wasm` file each
//! in `$XDG_CONFIG_HOME/hoist/plugins/`. They are loaded like `[plugins.NAME] path =`
//! entries: with no grants unless `config.toml` gives some.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use hoist_oci::Digest;

use crate::builtin::builtin;
use crate::plugin::{Plugin, PluginOrigin};
use crate::{PluginError, PluginHost, PluginSettings};

/// A directory of installed plugin components.
#[derive(Debug, Clone)]
pub struct PluginDir {
    dir: PathBuf,
}

/// True for names that are safe as file names: 1-64 of `a-z 0-9 - _`, starting with a
/// letter or digit.
fn valid_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
}

impl PluginDir {
    /// The directory `dir` (created on the first install).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// `plugins/` next to `config.toml` ([`crate::PluginConfig::default_path`]).
    pub fn default_dir() -> Option<Self> {
        let config = crate::PluginConfig::default_path()?;
        Some(Self::new(config.parent()?.join("plugins")))
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// Where plugin `name` is (or would be) installed.
    pub fn file_of(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}.wasm"))
    }

    /// The installed files, by name (a missing directory is empty).
    pub fn list(&self) -> Result<Vec<(String, PathBuf)>, PluginError> {
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => {
                return Err(PluginError::Install {
                    path: self.dir.clone(),
                    action: "listing",
                    source,
                });
            }
        };
        let mut out = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|source| PluginError::Install {
                path: self.dir.clone(),
                action: "listing",
                source,
            })?;
            let path = entry.path();
            let Some(name) = path
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.strip_suffix(".wasm"))
            else {
                continue;
            };
            if valid_name(name) {
                out.push((name.to_string(), path.clone()));
            }
        }
        out.sort();
        Ok(out)
    }

    /// Checks `wasm` (its digest against `expected` when given, then a full load on
    /// `host`: manifest, imports, compilation) and installs it as `<name>.wasm`,
    /// atomically (a temporary file renamed into place). Built-in names are refused.
    pub fn install(
        &self,
        host: &PluginHost,
        wasm: &[u8],
        expected: Option<&Digest>,
        origin: &str,
        settings: Option<&PluginSettings>,
    ) -> Result<Plugin, PluginError> {
        let actual = hoist_oci::sha256_of(wasm);
        if let Some(want) = expected
            && *want != actual
        {
            return Err(PluginError::DigestMismatch {
                origin: origin.to_string(),
                expected: want.clone(),
                actual,
            });
        }
        let name = crate::Manifest::extract(origin, wasm)?.name;
        if !valid_name(&name) {
            return Err(PluginError::BadInstall {
                name,
                reason: "names are 1 to 64 lowercase letters, digits, '-' or '_'".into(),
            });
        }
        if builtin(&name).is_some() {
            return Err(PluginError::BadInstall {
                name,
                reason: "a built-in plugin has that name (disable it in config.toml with enabled = false and use another name)".into(),
            });
        }
        let dest = self.file_of(&name);
        let plugin = host.load(wasm, PluginOrigin::File(dest.clone()), settings)?;
        let io = |action: &'static str, path: &Path| {
            let path = path.to_path_buf();
            move |source| PluginError::Install {
                path,
                action,
                source,
            }
        };
        std::fs::create_dir_all(&self.dir).map_err(io("creating", &self.dir))?;
        let mut tmp =
            tempfile::NamedTempFile::new_in(&self.dir).map_err(io("creating", &self.dir))?;
        tmp.write_all(wasm).map_err(io("writing", tmp.path()))?;
        tmp.as_file()
            .sync_all()
            .map_err(io("syncing", tmp.path()))?;
        tmp.persist(&dest).map_err(|e| PluginError::Install {
            path: dest.clone(),
            action: "renaming into place",
            source: e.error,
        })?;
        tracing::debug!(plugin = %name, path = %dest.display(), digest = %actual, "plugin installed");
        Ok(plugin)
    }

    /// Removes plugin `name`; its path, or [`PluginError::UnknownPlugin`].
    pub fn remove(&self, name: &str) -> Result<PathBuf, PluginError> {
        let path = self.file_of(name);
        if !valid_name(name) {
            return Err(PluginError::UnknownPlugin { name: name.into() });
        }
        match std::fs::remove_file(&path) {
            Ok(()) => Ok(path),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                Err(PluginError::UnknownPlugin { name: name.into() })
            }
            Err(source) => Err(PluginError::Install {
                path,
                action: "removing",
                source,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::valid_name;

    #[test]
    fn names() {
        assert!(valid_name("corp-auth_2"));
        assert!(!valid_name("../evil"));
        assert!(!valid_name("Corp"));
        assert!(!valid_name("-x"));
        assert!(!valid_name(""));
    }
}
