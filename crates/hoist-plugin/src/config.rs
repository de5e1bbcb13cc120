//! The user's plugin settings in `config.toml` and the capabilities they grant.
//!
//! ```toml
//! [auth]
//! plugins = ["env", "acr", "docker-config"]   # order asked; default: all auth plugins
//!
//! [plugins.acr]
//! grant = ["http:{registry}", "secret:AZURE_ACCESS_TOKEN"]   # narrows the defaults
//!
//! [plugins.corp]
//! path = "/opt/hoist/corp-auth.wasm"
//! grant = ["http:login.corp.example", "secret:CORP_TOKEN", "file:docker-config"]
//! files = { docker-config = "/etc/corp/docker.json" }
//! ```
//!
//! A first-party plugin without a `grant` list gets everything its manifest declares;
//! with one, only what both list. Any other plugin gets only what both list.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::PluginError;
use crate::glob::glob_match;
use crate::manifest::{HttpOrigin, Manifest};

/// One `[plugins.NAME]` table.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PluginSettings {
    /// The component file, for plugins that are not built in.
    pub path: Option<PathBuf>,
    /// Grants: `http:HOST[:PORT]`, `http:{registry}`, `secret:NAME` (globs allowed),
    /// `file:LOGICAL-NAME`. `None` means "the defaults" (see the module docs).
    pub grant: Option<Vec<String>>,
    /// Logical file names mapped to paths, overriding the host's defaults.
    #[serde(default)]
    pub files: BTreeMap<String, PathBuf>,
    /// Set to `false` to ignore the plugin. Default: `true`.
    #[serde(default = "yes")]
    pub enabled: bool,
}

fn yes() -> bool {
    true
}

/// The `[auth]` table.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthSettings {
    /// Auth plugins to ask, in order. Default: every enabled auth plugin, built-ins
    /// first (`env`, `acr`, `docker-config`), then configured ones by name.
    pub plugins: Option<Vec<String>>,
}

/// The plugin-related parts of hoist's `config.toml`; other tables are ignored.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct PluginConfig {
    /// `[plugins.NAME]` tables.
    #[serde(default)]
    pub plugins: BTreeMap<String, PluginSettings>,
    /// The `[auth]` table.
    #[serde(default)]
    pub auth: AuthSettings,
    /// Where `hoist plugin add` installs plugins; not read from the file.
    /// [`PluginConfig::load`] sets it to `plugins/` next to the file. Default: `None`.
    #[serde(skip)]
    pub installed_dir: Option<PathBuf>,
}

impl PluginConfig {
    /// `$XDG_CONFIG_HOME/hoist/config.toml`, or `~/.config/hoist/config.toml`.
    pub fn default_path() -> Option<PathBuf> {
        let base = std::env::var_os("XDG_CONFIG_HOME")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))?;
        Some(base.join("hoist").join("config.toml"))
    }

    /// Reads `path`; a missing file is an empty configuration.
    pub fn load(path: &Path) -> Result<Self, PluginError> {
        let installed_dir = path.parent().map(|d| d.join("plugins"));
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(Self {
                    installed_dir,
                    ..Self::default()
                });
            }
            Err(e) => {
                return Err(PluginError::Config {
                    path: path.to_path_buf(),
                    reason: format!("cannot read: {e}"),
                });
            }
        };
        Ok(Self {
            installed_dir,
            ..Self::parse(path, &text)?
        })
    }

    /// Parses TOML text; `path` only names the file in errors.
    pub fn parse(path: &Path, text: &str) -> Result<Self, PluginError> {
        let cfg: Self = toml::from_str(text).map_err(|e| PluginError::Config {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
        for (name, s) in &cfg.plugins {
            for g in s.grant.iter().flatten() {
                Grant::parse(g).map_err(|reason| PluginError::Config {
                    path: path.to_path_buf(),
                    reason: format!("[plugins.{name}] grant: {reason}"),
                })?;
            }
        }
        Ok(cfg)
    }
}

/// One user grant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Grant {
    /// `http:HOST[:PORT]` or `http:{registry}`.
    Http(String),
    /// `secret:NAME`, `*` globs allowed.
    Secret(String),
    /// `file:LOGICAL-NAME`.
    File(String),
}

impl Grant {
    /// Parses `kind:value`.
    pub fn parse(s: &str) -> Result<Self, String> {
        match s.split_once(':') {
            Some(("http", v)) if !v.is_empty() => Ok(Grant::Http(v.to_ascii_lowercase())),
            Some(("secret", v)) if !v.is_empty() => Ok(Grant::Secret(v.to_string())),
            Some(("file", v)) if !v.is_empty() => Ok(Grant::File(v.to_string())),
            _ => Err(format!(
                "{s:?} is not a grant (http:HOST, secret:NAME or file:NAME)"
            )),
        }
    }
}

/// What one plugin may do: its declarations intersected with the user's grants.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Capabilities {
    /// HTTP origins it may reach (`{registry}` not yet substituted).
    pub http: Vec<HttpOrigin>,
    /// Secret name patterns that are both declared and granted.
    secrets_declared: Vec<String>,
    secrets_granted: Vec<String>,
    /// Logical files it may read, with their paths.
    pub files: BTreeMap<String, PathBuf>,
}

impl Capabilities {
    /// Resolves a plugin's capabilities. `first_party` plugins default to everything
    /// they declare; `default_files` maps logical names to host paths.
    pub fn resolve(
        manifest: &Manifest,
        settings: Option<&PluginSettings>,
        first_party: bool,
        default_files: &BTreeMap<String, PathBuf>,
    ) -> Self {
        let grants: Option<Vec<Grant>> = settings
            .and_then(|s| s.grant.as_ref())
            .map(|g| g.iter().filter_map(|s| Grant::parse(s).ok()).collect());
        let grants = match grants {
            Some(g) => g,
            None if first_party => declared_grants(manifest),
            None => Vec::new(),
        };
        let http = manifest
            .http
            .iter()
            .filter_map(|o| HttpOrigin::parse(o).ok())
            .filter(|o| {
                grants
                    .iter()
                    .any(|g| matches!(g, Grant::Http(h) if *h == o.host))
            })
            .collect();
        let secrets_granted = grants
            .iter()
            .filter_map(|g| match g {
                Grant::Secret(s) => Some(s.clone()),
                _ => None,
            })
            .collect();
        let mut files = BTreeMap::new();
        for f in &manifest.files {
            if !grants.iter().any(|g| matches!(g, Grant::File(n) if n == f)) {
                continue;
            }
            let path = settings
                .and_then(|s| s.files.get(f))
                .or_else(|| default_files.get(f));
            if let Some(p) = path {
                files.insert(f.clone(), p.clone());
            }
        }
        Self {
            http,
            secrets_declared: manifest.secrets.clone(),
            secrets_granted,
            files,
        }
    }

    /// Whether the plugin may read secret `name`: `Err` says why not.
    pub fn check_secret(&self, name: &str) -> Result<(), String> {
        if !self.secrets_declared.iter().any(|p| glob_match(p, name)) {
            return Err(format!(
                "secret {name} is not declared in the plugin's manifest"
            ));
        }
        if !self.secrets_granted.iter().any(|p| glob_match(p, name)) {
            return Err(format!(
                "secret {name} is not granted (add \"secret:{name}\" to the plugin's grant list)"
            ));
        }
        Ok(())
    }

    /// The grants in effect, as `kind:value` strings (for `hoist plugin inspect`).
    pub fn describe(&self) -> Vec<String> {
        let mut out: Vec<String> = self.http.iter().map(HttpOrigin::grant_key).collect();
        out.extend(
            self.secrets_granted
                .iter()
                .filter(|g| {
                    self.secrets_declared
                        .iter()
                        .any(|d| d == *g || glob_match(d, g) || glob_match(g, d))
                })
                .map(|s| format!("secret:{s}")),
        );
        out.extend(self.files.keys().map(|f| format!("file:{f}")));
        out
    }
}

/// Everything a manifest declares, as grants.
pub fn declared_grants(m: &Manifest) -> Vec<Grant> {
    let mut g: Vec<Grant> = m
        .http
        .iter()
        .filter_map(|o| HttpOrigin::parse(o).ok())
        .map(|o| Grant::Http(o.host))
        .collect();
    g.extend(m.secrets.iter().cloned().map(Grant::Secret));
    g.extend(m.files.iter().cloned().map(Grant::File));
    g
}

#[cfg(test)]
mod tests {
    use super::*;

    fn acr() -> Manifest {
        Manifest::parse(
            "t",
            br#"{"name":"acr","version":"0.1.0","world":"auth","registries":["*"],
                "http":["https://{registry}","https://login.example.com"],
                "secrets":["AZURE_*"],"files":["docker-config"]}"#,
        )
        .unwrap()
    }

    fn files() -> BTreeMap<String, PathBuf> {
        BTreeMap::from([("docker-config".to_string(), PathBuf::from("/d/config.json"))])
    }

    #[test]
    fn first_party_defaults_to_declared() {
        let c = Capabilities::resolve(&acr(), None, true, &files());
        assert_eq!(c.http.len(), 2);
        assert!(c.check_secret("AZURE_ACCESS_TOKEN").is_ok());
        assert!(c.check_secret("HOME").unwrap_err().contains("not declared"));
        assert_eq!(c.files["docker-config"], PathBuf::from("/d/config.json"));
    }

    #[test]
    fn third_party_gets_nothing_by_default() {
        let c = Capabilities::resolve(&acr(), None, false, &files());
        assert!(c.http.is_empty() && c.files.is_empty());
        assert!(
            c.check_secret("AZURE_ACCESS_TOKEN")
                .unwrap_err()
                .contains("not granted")
        );
    }

    #[test]
    fn user_grants_narrow() {
        let cfg = PluginConfig::parse(
            Path::new("config.toml"),
            r#"
            [plugins.acr]
            grant = ["http:{registry}", "secret:AZURE_ACCESS_TOKEN"]
            files = { docker-config = "/x" }
            "#,
        )
        .unwrap();
        let c = Capabilities::resolve(&acr(), cfg.plugins.get("acr"), true, &files());
        assert_eq!(c.http.len(), 1);
        assert_eq!(c.http[0].host, "{registry}");
        assert!(c.check_secret("AZURE_ACCESS_TOKEN").is_ok());
        assert!(c.check_secret("AZURE_TENANT_ID").is_err());
        assert!(c.files.is_empty(), "file:docker-config was not granted");
        assert_eq!(
            c.describe(),
            vec![
                "http:{registry}".to_string(),
                "secret:AZURE_ACCESS_TOKEN".to_string()
            ]
        );
    }

    #[test]
    fn bad_grants_are_config_errors() {
        let e = PluginConfig::parse(Path::new("c.toml"), "[plugins.x]\ngrant = [\"net:all\"]")
            .unwrap_err()
            .to_string();
        assert!(e.contains("c.toml") && e.contains("net:all"), "{e}");
        assert!(PluginConfig::parse(Path::new("c.toml"), "[plugins.x]\nbogus = 1").is_err());
    }

    #[test]
    fn other_tables_are_ignored() {
        let c = PluginConfig::parse(Path::new("c.toml"), "[registry]\nmirror = \"x\"\n").unwrap();
        assert!(c.plugins.is_empty());
    }
}
