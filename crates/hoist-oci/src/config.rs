//! The image configuration document, Docker-compatible.
//!
//! oci-spec's `ImageConfiguration` cannot carry Docker's `Healthcheck`, `OnBuild`,
//! `Shell` or `ArgsEscaped` (a base image's would be lost on rebuild), and keeps labels
//! in a `HashMap` (non-deterministic order). This type keeps every field, sorts maps, and
//! preserves unknown fields so a base config round-trips.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::Digest;

/// An image config (`application/vnd.oci.image.config.v1+json`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ImageConfig {
    /// Creation time, RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    /// Author (MAINTAINER).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    /// CPU architecture, e.g. `amd64`.
    #[serde(default)]
    pub architecture: String,
    /// Operating system, e.g. `linux`.
    #[serde(default)]
    pub os: String,
    /// Architecture variant, e.g. `v7`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    /// Runtime defaults.
    #[serde(default)]
    pub config: ContainerConfig,
    /// Layer diffIDs, bottom first.
    #[serde(default)]
    pub rootfs: RootFs,
    /// One entry per instruction, layer-producing or not.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<History>,
    /// Fields hoist does not model, kept verbatim.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// `rootfs` of an image config.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RootFs {
    /// Always `layers`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Uncompressed layer digests, bottom first.
    pub diff_ids: Vec<Digest>,
}

impl Default for RootFs {
    fn default() -> Self {
        RootFs {
            kind: "layers".into(),
            diff_ids: Vec::new(),
        }
    }
}

/// One history entry.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct History {
    /// When the step ran, RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    /// The instruction, as Docker/BuildKit write it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
    /// Author.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    /// Free-form comment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// True when the step added no layer.
    #[serde(default, skip_serializing_if = "is_false")]
    pub empty_layer: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// The `config` object: what a container gets by default.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ContainerConfig {
    /// USER.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// EXPOSE, as `port/proto` keys.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub exposed_ports: BTreeMap<String, Empty>,
    /// ENV, as `K=V`.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "null_vec"
    )]
    pub env: Vec<String>,
    /// ENTRYPOINT.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entrypoint: Option<Vec<String>>,
    /// CMD.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cmd: Option<Vec<String>>,
    /// VOLUME.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub volumes: BTreeMap<String, Empty>,
    /// WORKDIR.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub working_dir: Option<String>,
    /// LABEL.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// STOPSIGNAL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_signal: Option<String>,
    /// Windows-only quirk kept for round trips.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub args_escaped: Option<bool>,
    /// HEALTHCHECK.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub healthcheck: Option<HealthConfig>,
    /// ONBUILD triggers, as instruction source text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_build: Option<Vec<String>>,
    /// SHELL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shell: Option<Vec<String>>,
    /// Fields hoist does not model, kept verbatim.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// An empty JSON object, as used by `ExposedPorts` and `Volumes` values.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Empty {}

/// HEALTHCHECK settings; durations in nanoseconds as Docker stores them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct HealthConfig {
    /// `["NONE"]`, `["CMD", ...]` or `["CMD-SHELL", cmd]`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub test: Vec<String>,
    /// Interval between checks, ns.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub interval: i64,
    /// Timeout of one check, ns.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub timeout: i64,
    /// Start period, ns.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub start_period: i64,
    /// Interval during the start period, ns.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub start_interval: i64,
    /// Consecutive failures before unhealthy.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub retries: i64,
}

fn is_zero(v: &i64) -> bool {
    *v == 0
}

fn null_vec<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    Ok(Option::<Vec<String>>::deserialize(d)?.unwrap_or_default())
}

/// Serialises to canonical JSON: compact, object keys sorted at every depth.
/// Used for every document hoist writes, so equal content gives equal digests.
pub fn canonical_json<T: Serialize>(value: &T) -> Result<Vec<u8>, serde_json::Error> {
    // serde_json's Map is a BTreeMap (the `preserve_order` feature is off; a test
    // guards that), so going through Value sorts keys, including HashMap ones.
    let v = serde_json::to_value(value)?;
    serde_json::to_vec(&v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_json_sorts_keys() {
        let mut m = std::collections::HashMap::new();
        for k in ["z", "a", "m", "b", "y"] {
            m.insert(k.to_string(), 1);
        }
        assert_eq!(
            canonical_json(&m).unwrap(),
            br#"{"a":1,"b":1,"m":1,"y":1,"z":1}"#
        );
    }

    #[test]
    fn docker_config_round_trips_unknown_and_docker_fields() {
        let src = r#"{"architecture":"amd64","os":"linux","config":{"Env":null,"Cmd":["sh"],
            "Healthcheck":{"Test":["CMD-SHELL","true"],"Interval":1000000000},
            "OnBuild":["RUN x"],"Shell":["/bin/bash","-c"],"Image":"sha256:00"},
            "rootfs":{"type":"layers","diff_ids":[]},"container":"abc",
            "history":[{"created_by":"x","empty_layer":true}]}"#;
        let c: ImageConfig = serde_json::from_str(src).unwrap();
        assert_eq!(
            c.config.on_build.as_deref(),
            Some(&["RUN x".to_string()][..])
        );
        assert_eq!(
            c.config.healthcheck.as_ref().unwrap().interval,
            1_000_000_000
        );
        assert!(c.history[0].empty_layer);
        let out = String::from_utf8(canonical_json(&c).unwrap()).unwrap();
        assert!(out.contains(r#""container":"abc""#), "{out}");
        assert!(out.contains(r#""Image":"sha256:00""#), "{out}");
        assert!(out.contains(r#""Shell":["/bin/bash","-c"]"#), "{out}");
    }
}
