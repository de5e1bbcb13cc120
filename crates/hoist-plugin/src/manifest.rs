//! The plugin manifest: a JSON document in the component's `hoist-plugin-manifest`
//! custom section, saying what the plugin is and which capabilities it wants.

use serde::{Deserialize, Serialize};

use crate::PluginError;
use crate::glob::glob_match;

/// Name of the custom section that carries the manifest.
pub const MANIFEST_SECTION: &str = "hoist-plugin-manifest";

/// Which WIT world a plugin implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum World {
    /// `hoist:plugin/auth`: a credential source.
    Auth,
    /// `hoist:plugin/registry-profile`: naming rules and limits.
    RegistryProfile,
}

impl World {
    /// The world's WIT name.
    pub fn as_str(self) -> &'static str {
        match self {
            World::Auth => "auth",
            World::RegistryProfile => "registry-profile",
        }
    }
}

impl std::fmt::Display for World {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Limits a plugin asks for; the host clamps each to its own maximum.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManifestLimits {
    /// Linear memory, in MiB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_mib: Option<u64>,
    /// Time for instantiation plus one call, in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u64>,
    /// HTTP requests per call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_requests: Option<u32>,
    /// Largest HTTP response body, in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_response_bytes: Option<u64>,
}

/// What a plugin declares about itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Plugin name: lowercase letters, digits and `-`.
    pub name: String,
    /// The plugin's own version.
    pub version: String,
    /// The world it implements.
    pub world: World,
    /// One line for `hoist plugin ls`.
    #[serde(default)]
    pub description: String,
    /// Registries it serves, as globs (`*.azurecr.io`, `*`).
    #[serde(default)]
    pub registries: Vec<String>,
    /// HTTP origins it may call: `https://host[:port]`, where `{registry}` stands for
    /// the registry being asked about.
    #[serde(default)]
    pub http: Vec<String>,
    /// Secrets (host environment variables) it may read; `*` globs allowed.
    #[serde(default)]
    pub secrets: Vec<String>,
    /// Logical file names it may read (e.g. `docker-config`).
    #[serde(default)]
    pub files: Vec<String>,
    /// Limits it asks for.
    #[serde(default)]
    pub limits: ManifestLimits,
}

impl Manifest {
    /// Parses and validates a manifest; `origin` names the plugin in errors.
    pub fn parse(origin: &str, json: &[u8]) -> Result<Self, PluginError> {
        let bad = |reason: String| PluginError::InvalidManifest {
            origin: origin.to_string(),
            reason,
        };
        let m: Manifest = serde_json::from_slice(json).map_err(|e| bad(e.to_string()))?;
        let name_ok = !m.name.is_empty()
            && m.name.len() <= 64
            && m.name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !name_ok {
            return Err(bad(format!(
                "name {:?} must be 1 to 64 lowercase letters, digits or '-'",
                m.name
            )));
        }
        if m.world == World::RegistryProfile
            && !(m.http.is_empty() && m.secrets.is_empty() && m.files.is_empty())
        {
            return Err(bad(
                "a registry-profile plugin is pure: it may not declare http, secrets or files"
                    .into(),
            ));
        }
        for origin_url in &m.http {
            HttpOrigin::parse(origin_url).map_err(bad)?;
        }
        Ok(m)
    }

    /// Finds the manifest section in a component (also inside nested core modules).
    pub fn extract(origin: &str, wasm: &[u8]) -> Result<Self, PluginError> {
        for payload in wasmparser::Parser::new(0).parse_all(wasm) {
            let payload = payload.map_err(|e| PluginError::Compile {
                name: origin.to_string(),
                reason: e.to_string(),
            })?;
            if let wasmparser::Payload::CustomSection(s) = payload
                && s.name() == MANIFEST_SECTION
            {
                return Self::parse(origin, s.data());
            }
        }
        Err(PluginError::MissingManifest {
            origin: origin.to_string(),
        })
    }

    /// True when one of the `registries` globs matches `registry`.
    pub fn serves(&self, registry: &str) -> bool {
        self.registries.iter().any(|g| glob_match(g, registry))
    }
}

/// A declared HTTP origin: `https://host[:port]` or `https://{registry}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpOrigin {
    /// `https` (or `http`, which the host only honours for loopback hosts).
    pub scheme: String,
    /// Host, or `{registry}`, possibly with `:port`.
    pub host: String,
}

impl HttpOrigin {
    /// Parses `scheme://host[:port]` (no path).
    pub fn parse(s: &str) -> Result<Self, String> {
        let (scheme, host) = s
            .split_once("://")
            .ok_or_else(|| format!("http origin {s:?} must look like https://host[:port]"))?;
        if scheme != "https" && scheme != "http" {
            return Err(format!("http origin {s:?}: scheme must be https"));
        }
        let host = host.strip_suffix('/').unwrap_or(host);
        if host.is_empty() || host.contains(['/', '?', '#', '@']) {
            return Err(format!("http origin {s:?} must not have a path or user"));
        }
        Ok(Self {
            scheme: scheme.to_string(),
            host: host.to_ascii_lowercase(),
        })
    }

    /// The grant that unlocks this origin: `http:<host>`.
    pub fn grant_key(&self) -> String {
        format!("http:{}", self.host)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest(json: &str) -> Result<Manifest, PluginError> {
        Manifest::parse("test", json.as_bytes())
    }

    #[test]
    fn parses_full_manifest() {
        let m = manifest(
            r#"{"name":"acr","version":"0.1.0","world":"auth","registries":["*.azurecr.io"],
                "http":["https://{registry}"],"secrets":["AZURE_*"],"files":[],
                "limits":{"memory_mib":16}}"#,
        )
        .unwrap();
        assert_eq!(m.world, World::Auth);
        assert!(m.serves("acme.azurecr.io"));
        assert!(!m.serves("ghcr.io"));
        assert_eq!(
            HttpOrigin::parse(&m.http[0]).unwrap().grant_key(),
            "http:{registry}"
        );
    }

    #[test]
    fn rejects_bad_manifests() {
        let cases = [
            (
                r#"{"name":"Bad","version":"1","world":"auth"}"#,
                "lowercase",
            ),
            (
                r#"{"name":"p","version":"1","world":"nope"}"#,
                "unknown variant",
            ),
            (
                r#"{"name":"p","version":"1","world":"auth","extra":1}"#,
                "unknown field",
            ),
            (
                r#"{"name":"p","version":"1","world":"registry-profile","secrets":["X"]}"#,
                "pure",
            ),
            (
                r#"{"name":"p","version":"1","world":"auth","http":["ftp://x"]}"#,
                "scheme",
            ),
            (
                r#"{"name":"p","version":"1","world":"auth","http":["https://x/path"]}"#,
                "path",
            ),
        ];
        for (json, want) in cases {
            let e = manifest(json).unwrap_err().to_string();
            assert!(e.contains(want), "{json}: {e}");
        }
    }
}
