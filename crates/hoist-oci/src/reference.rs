//! Image references, parsed and normalised with the distribution grammar
//! (`github.com/distribution/reference`), written from the grammar itself.

use std::fmt;
use std::str::FromStr;

use crate::OciError;
use crate::digest::{Digest, parse_digest};

/// The registry assumed when a reference names none.
pub const DEFAULT_DOMAIN: &str = "docker.io";
/// The tag assumed when a reference has neither tag nor digest.
pub const DEFAULT_TAG: &str = "latest";
const NAME_MAX: usize = 255;

/// A normalised image reference: `domain/repository[:tag][@digest]`.
///
/// `alpine` parses to `docker.io/library/alpine:latest`; a reference with only a digest
/// keeps no tag.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Reference {
    domain: String,
    repository: String,
    tag: Option<String>,
    digest: Option<Digest>,
}

impl Reference {
    /// Parses and normalises, adding the default tag when neither tag nor digest is given.
    pub fn parse(input: &str) -> Result<Self, OciError> {
        let mut r = Self::parse_name_only(input)?;
        if r.tag.is_none() && r.digest.is_none() {
            r.tag = Some(DEFAULT_TAG.to_string());
        }
        Ok(r)
    }

    /// Parses and normalises without adding a default tag.
    pub fn parse_name_only(input: &str) -> Result<Self, OciError> {
        let bad = |reason: String| OciError::InvalidReference {
            input: input.to_string(),
            reason,
        };
        if input.is_empty() {
            return Err(bad("empty reference".into()));
        }
        let (rest, digest) = match input.split_once('@') {
            Some((n, d)) => (n, Some(parse_digest(d).map_err(|e| bad(e.to_string()))?)),
            None => (input, None),
        };
        // A tag follows the last ':' that comes after the last '/'.
        let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
        let (name, tag) = match rest[last_slash..].rfind(':') {
            Some(i) => (&rest[..last_slash + i], Some(&rest[last_slash + i + 1..])),
            None => (rest, None),
        };
        if let Some(t) = tag {
            check_tag(t).map_err(bad)?;
        }
        if name.len() > NAME_MAX {
            return Err(bad(format!("name is longer than {NAME_MAX} characters")));
        }
        let (domain, path) = split_domain(name);
        if let Some(d) = &domain {
            check_domain(d).map_err(bad)?;
        }
        check_path(path).map_err(bad)?;
        let mut domain = domain.unwrap_or_else(|| DEFAULT_DOMAIN.to_string());
        if domain == "index.docker.io" || domain == "registry-1.docker.io" {
            domain = DEFAULT_DOMAIN.to_string();
        }
        let repository = if domain == DEFAULT_DOMAIN && !path.contains('/') {
            format!("library/{path}")
        } else {
            path.to_string()
        };
        if domain.len() + 1 + repository.len() > NAME_MAX {
            return Err(bad(format!("name is longer than {NAME_MAX} characters")));
        }
        Ok(Reference {
            domain,
            repository,
            tag: tag.map(str::to_string),
            digest,
        })
    }

    /// Builds a reference from parts already validated elsewhere (e.g. a registry listing).
    pub fn from_parts(
        domain: &str,
        repository: &str,
        tag: Option<&str>,
        digest: Option<Digest>,
    ) -> Result<Self, OciError> {
        let mut s = format!("{domain}/{repository}");
        if let Some(t) = tag {
            s.push(':');
            s.push_str(t);
        }
        let mut r = Self::parse_name_only(&s)?;
        r.digest = digest;
        Ok(r)
    }

    /// Registry host (and port), e.g. `docker.io`, `127.0.0.1:5000`.
    pub fn domain(&self) -> &str {
        &self.domain
    }

    /// Repository path within the registry, e.g. `library/alpine`.
    pub fn repository(&self) -> &str {
        &self.repository
    }

    /// The tag, if any.
    pub fn tag(&self) -> Option<&str> {
        self.tag.as_deref()
    }

    /// The digest, if any.
    pub fn digest(&self) -> Option<&Digest> {
        self.digest.as_ref()
    }

    /// The same repository with another tag (and no digest).
    pub fn with_tag(&self, tag: &str) -> Result<Self, OciError> {
        check_tag(tag).map_err(|reason| OciError::InvalidReference {
            input: tag.to_string(),
            reason,
        })?;
        Ok(Reference {
            tag: Some(tag.to_string()),
            digest: None,
            ..self.clone()
        })
    }

    /// The same repository pinned to a digest (the tag is kept for display).
    pub fn with_digest(&self, digest: Digest) -> Self {
        Reference {
            digest: Some(digest),
            ..self.clone()
        }
    }

    /// `domain/repository`, without tag or digest.
    pub fn name(&self) -> String {
        format!("{}/{}", self.domain, self.repository)
    }

    /// What a registry request names: the digest when present, else the tag.
    pub fn tag_or_digest(&self) -> String {
        match (&self.digest, &self.tag) {
            (Some(d), _) => d.to_string(),
            (None, Some(t)) => t.clone(),
            (None, None) => DEFAULT_TAG.to_string(),
        }
    }

    /// The short form people type: `alpine:3`, `ghcr.io/o/r:1`.
    pub fn familiar(&self) -> String {
        let mut name = if self.domain == DEFAULT_DOMAIN {
            self.repository
                .strip_prefix("library/")
                .unwrap_or(&self.repository)
                .to_string()
        } else {
            self.name()
        };
        if let Some(t) = &self.tag {
            name.push(':');
            name.push_str(t);
        }
        if let Some(d) = &self.digest {
            name.push('@');
            name.push_str(d.as_ref());
        }
        name
    }

    /// True when the domain is a loopback host, where plain HTTP is allowed.
    pub fn is_loopback(&self) -> bool {
        let host = host_of(&self.domain);
        host == "localhost" || host.starts_with("127.") || host == "[::1]" || host == "::1"
    }
}

/// The host part of `host[:port]`, brackets kept for IPv6.
fn host_of(domain: &str) -> &str {
    if domain.starts_with('[') {
        return domain.find(']').map_or(domain, |i| &domain[..=i]);
    }
    domain.rsplit_once(':').map_or(domain, |(h, _)| h)
}

fn split_domain(name: &str) -> (Option<String>, &str) {
    match name.split_once('/') {
        Some((first, rest))
            if first.contains(['.', ':'])
                || first == "localhost"
                || first.chars().any(|c| c.is_ascii_uppercase()) =>
        {
            (Some(first.to_string()), rest)
        }
        _ => (None, name),
    }
}

fn check_domain(domain: &str) -> Result<(), String> {
    let (host, port) = if let Some(stripped) = domain.strip_prefix('[') {
        let end = stripped
            .find(']')
            .ok_or_else(|| format!("unterminated IPv6 address in registry {domain:?}"))?;
        let rest = &stripped[end + 1..];
        (&domain[..end + 2], rest.strip_prefix(':'))
    } else {
        match domain.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (domain, None),
        }
    };
    if let Some(p) = port
        && (p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(format!("invalid port {p:?} in registry {domain:?}"));
    }
    if host.starts_with('[') {
        return Ok(());
    }
    for comp in host.split('.') {
        let ok = !comp.is_empty()
            && comp.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !comp.starts_with('-')
            && !comp.ends_with('-');
        if !ok {
            return Err(format!("invalid registry host {host:?}"));
        }
    }
    Ok(())
}

fn check_path(path: &str) -> Result<(), String> {
    if path.is_empty() {
        return Err("repository name is empty".into());
    }
    for comp in path.split('/') {
        if comp.is_empty() {
            return Err("repository name has an empty path component".into());
        }
        if let Some(c) = comp.chars().find(|c| c.is_ascii_uppercase()) {
            return Err(format!(
                "repository name must be lowercase (found {c:?} in {comp:?})"
            ));
        }
        if let Some(c) = comp.chars().find(|c| {
            !(c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-'))
        }) {
            return Err(format!(
                "invalid character {c:?} in repository name {path:?}"
            ));
        }
        check_separators(comp)?;
    }
    Ok(())
}

/// path-component := alnum+ (separator alnum+)*, separator := [_.] | __ | -+
fn check_separators(comp: &str) -> Result<(), String> {
    let b = comp.as_bytes();
    let alnum = |c: u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    if !alnum(b[0]) || !alnum(b[b.len() - 1]) {
        return Err(format!(
            "repository path component {comp:?} must start and end with a letter or digit"
        ));
    }
    let mut i = 0;
    while i < b.len() {
        if alnum(b[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && !alnum(b[i]) {
            i += 1;
        }
        let sep = &comp[start..i];
        let ok = matches!(sep, "." | "_" | "__") || sep.bytes().all(|c| c == b'-');
        if !ok {
            return Err(format!(
                "invalid separator {sep:?} in repository path component {comp:?}"
            ));
        }
    }
    Ok(())
}

fn check_tag(tag: &str) -> Result<(), String> {
    let mut chars = tag.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
    if !first_ok
        || tag.len() > 128
        || !tag
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
    {
        return Err(format!(
            "invalid tag {tag:?}: up to 128 of [A-Za-z0-9_.-], not starting with '.' or '-'"
        ));
    }
    Ok(())
}

impl FromStr for Reference {
    type Err = OciError;

    fn from_str(s: &str) -> Result<Self, OciError> {
        Reference::parse(s)
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.domain, self.repository)?;
        if let Some(t) = &self.tag {
            write!(f, ":{t}")?;
        }
        if let Some(d) = &self.digest {
            write!(f, "@{d}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(s: &str) -> String {
        Reference::parse(s).unwrap().to_string()
    }

    #[test]
    fn normalises_docker_hub_names() {
        assert_eq!(norm("alpine"), "docker.io/library/alpine:latest");
        assert_eq!(norm("alpine:3.20"), "docker.io/library/alpine:3.20");
        assert_eq!(norm("user/app"), "docker.io/user/app:latest");
        assert_eq!(norm("index.docker.io/user/app:1"), "docker.io/user/app:1");
        assert_eq!(norm("docker.io/alpine"), "docker.io/library/alpine:latest");
    }

    #[test]
    fn keeps_registries_ports_and_digests() {
        assert_eq!(norm("localhost:5000/a/b:c"), "localhost:5000/a/b:c");
        assert_eq!(norm("localhost/a"), "localhost/a:latest");
        assert_eq!(norm("127.0.0.1:5000/a"), "127.0.0.1:5000/a:latest");
        assert_eq!(norm("[::1]:5000/a:t"), "[::1]:5000/a:t");
        let d = format!("sha256:{}", "a".repeat(64));
        let r = Reference::parse(&format!("ghcr.io/o/r@{d}")).unwrap();
        assert_eq!(r.tag(), None);
        assert_eq!(r.digest().unwrap().to_string(), d);
        assert_eq!(r.tag_or_digest(), d);
        let r = Reference::parse(&format!("ghcr.io/o/r:v1@{d}")).unwrap();
        assert_eq!(r.tag(), Some("v1"));
        assert!(!r.is_loopback());
        assert!(Reference::parse("127.0.0.1:1/x").unwrap().is_loopback());
    }

    #[test]
    fn familiar_form() {
        assert_eq!(
            Reference::parse("alpine").unwrap().familiar(),
            "alpine:latest"
        );
        assert_eq!(
            Reference::parse("a.io/x/y:2").unwrap().familiar(),
            "a.io/x/y:2"
        );
    }

    #[test]
    fn rejects_with_clear_reasons() {
        let e = Reference::parse("Alpine").unwrap_err().to_string();
        assert!(e.contains("must be lowercase") && e.contains("'A'"), "{e}");
        let e = Reference::parse("myreg.io/Foo/bar")
            .unwrap_err()
            .to_string();
        assert!(e.contains("'F'"), "{e}");
        assert!(Reference::parse("a//b").is_err());
        assert!(Reference::parse("a:").is_err());
        assert!(Reference::parse("a:.x").is_err());
        assert!(Reference::parse("a--b.c/x_y").is_ok());
        assert!(Reference::parse("x/a..b").is_err());
        assert!(Reference::parse("x/a___b").is_err());
        assert!(Reference::parse("x/-a").is_err());
        assert!(Reference::parse("a@sha256:abc").is_err());
        assert!(Reference::parse(&"a".repeat(256)).is_err());
        assert!(Reference::parse("host:port/x").is_err());
        assert!(Reference::parse("a/b c").is_err());
    }
}
