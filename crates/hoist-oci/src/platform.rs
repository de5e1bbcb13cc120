use std::fmt;
use std::str::FromStr;

use crate::OciError;

/// An `os/arch[/variant]` platform, normalised the way containerd does
/// (`x86_64` → `amd64`, `aarch64` → `arm64`, `arm64/v8` → `arm64`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Platform {
    /// Operating system, e.g. `linux`.
    pub os: String,
    /// CPU architecture, e.g. `amd64`.
    pub architecture: String,
    /// Optional variant, e.g. `v7`.
    pub variant: Option<String>,
}

impl Platform {
    /// The platform of the machine hoist runs on.
    pub fn host() -> Self {
        let arch = normalize_arch(std::env::consts::ARCH);
        Platform {
            os: std::env::consts::OS.to_string(),
            architecture: arch.0,
            variant: arch.1,
        }
    }

    /// True when `other` (from an index entry) satisfies this platform request.
    /// A request without a variant matches any variant.
    pub fn matches(&self, os: &str, arch: &str, variant: Option<&str>) -> bool {
        let (arch, default_variant) = normalize_arch(arch);
        let variant = variant.map(str::to_string).or(default_variant);
        self.os == os
            && self.architecture == arch
            && (self.variant.is_none() || self.variant == variant)
    }
}

fn normalize_arch(arch: &str) -> (String, Option<String>) {
    match arch {
        "x86_64" | "x86-64" | "amd64" => ("amd64".into(), None),
        "aarch64" | "arm64" => ("arm64".into(), None),
        "armhf" => ("arm".into(), Some("v7".into())),
        "armel" => ("arm".into(), Some("v6".into())),
        "i386" | "i686" | "x86" => ("386".into(), None),
        other => (other.to_string(), None),
    }
}

impl FromStr for Platform {
    type Err = OciError;

    fn from_str(s: &str) -> Result<Self, OciError> {
        let err = || OciError::InvalidPlatform { input: s.into() };
        let parts: Vec<&str> = s.split('/').collect();
        if parts.len() < 2 || parts.len() > 3 || parts.iter().any(|p| p.is_empty()) {
            return Err(err());
        }
        let (architecture, default_variant) = normalize_arch(&parts[1].to_ascii_lowercase());
        let mut variant = parts
            .get(2)
            .map(|v| v.to_ascii_lowercase())
            .or(default_variant);
        if architecture == "arm64" && variant.as_deref() == Some("v8") {
            variant = None;
        }
        Ok(Platform {
            os: parts[0].to_ascii_lowercase(),
            architecture,
            variant,
        })
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(v) = &self.variant {
            write!(f, "/{v}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_normalises() {
        let p: Platform = "linux/x86_64".parse().unwrap();
        assert_eq!(p.to_string(), "linux/amd64");
        let p: Platform = "linux/arm64/v8".parse().unwrap();
        assert_eq!(p.to_string(), "linux/arm64");
        let p: Platform = "linux/arm/v7".parse().unwrap();
        assert!(p.matches("linux", "arm", Some("v7")));
        assert!(!p.matches("linux", "arm", Some("v6")));
        assert!("linux".parse::<Platform>().is_err());
        assert!("linux//".parse::<Platform>().is_err());
    }
}
