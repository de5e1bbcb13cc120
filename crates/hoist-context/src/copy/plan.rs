//! Turning source strings into top-level sources: lexical checks, wildcard expansion,
//! symlink resolution and visibility under .dockerignore.

use std::fs::Metadata;
use std::path::Path;

use super::scoped::{Found, is_absent, resolve_in_root};
use crate::error::ContextError;
use crate::glob::{Dialect, Glob, has_wildcards};
use crate::ignore::IgnoreMatcher;

/// A resolved top-level source.
pub(super) struct Top {
    /// Physical path relative to the root (`""` is the root).
    pub(super) rel: String,
    /// Its lstat (of the link target when a top-level link was followed).
    pub(super) md: Metadata,
    /// Name used when it lands inside a destination directory.
    pub(super) name: String,
    /// The source as written, for errors.
    pub(super) src: String,
    /// A directory excluded by .dockerignore: it exists only if something inside is
    /// re-included.
    pub(super) hidden: bool,
    /// An explicit source: producing nothing is an error.
    pub(super) required: bool,
    /// `--parents` include pattern, relative to `rel` (the pivot).
    pub(super) include: Option<IgnoreMatcher>,
}

/// Shared inputs of source planning.
pub(super) struct Planner<'a> {
    pub(super) root: &'a Path,
    pub(super) ignore: Option<&'a IgnoreMatcher>,
    pub(super) exclude: Option<&'a IgnoreMatcher>,
    pub(super) follow: bool,
}

/// How .dockerignore sees a resolved path.
enum Visibility {
    Visible,
    /// An excluded directory below which something may be re-included.
    HiddenDir,
    Gone,
}

impl Planner<'_> {
    /// A source without `--parents`.
    pub(super) fn plain(&self, src: &str, out: &mut Vec<Top>) -> Result<(), ContextError> {
        let comps = lexical(src, src)?;
        let Some(w) = comps.iter().position(|c| has_wildcards(c)) else {
            let found = resolve_in_root(self.root, &comps, self.follow, self.ignore, src)?
                .ok_or_else(|| not_found(src))?;
            let name = comps.last().cloned().unwrap_or_default();
            return match self.visibility(&found) {
                Visibility::Gone => Err(not_found(src)),
                v => {
                    out.push(self.top(found, name, src, &v, true, None));
                    Ok(())
                }
            };
        };
        let (base, matches) = self.expand(src, &comps, w)?;
        if matches.is_empty() {
            tracing::debug!(src, "wildcard matched nothing");
        }
        for rel in matches {
            let below_base = rel[base.len()..].trim_start_matches('/');
            if self.exclude.is_some_and(|m| m.is_excluded(below_base)) {
                continue;
            }
            let name = rel.rsplit('/').next().unwrap_or_default().to_string();
            let parts: Vec<&str> = rel.split('/').collect();
            let found = resolve_in_root(self.root, &parts, self.follow, self.ignore, src)?
                .ok_or_else(|| not_found(&rel))?;
            match self.visibility(&found) {
                Visibility::Gone => {}
                v => out.push(self.top(found, name, src, &v, false, None)),
            }
        }
        Ok(())
    }

    /// A `--parents` source: `pivot/./pattern`, or `pattern` below the root.
    pub(super) fn parents(&self, src: &str, out: &mut Vec<Top>) -> Result<(), ContextError> {
        let (pivot, pattern) = src.split_once("/./").unwrap_or(("", src));
        let pivot_comps = lexical(pivot, src)?;
        let pattern_comps = lexical(pattern, src)?;
        let mut pattern_text = pattern_comps.join("/");
        if pattern_text.starts_with('!') {
            pattern_text.insert(0, '\\');
        }
        let include = if pattern_text.is_empty() {
            None
        } else {
            Some(IgnoreMatcher::from_patterns(&[pattern_text.as_str()])?)
        };
        let wild = pivot_comps
            .iter()
            .chain(&pattern_comps)
            .any(|c| has_wildcards(c));
        let pivots: Vec<Found> = match pivot_comps.iter().position(|c| has_wildcards(c)) {
            None => {
                let found = resolve_in_root(self.root, &pivot_comps, true, self.ignore, src)?
                    .ok_or_else(|| not_found(src))?;
                vec![found]
            }
            Some(w) => {
                let mut found = Vec::new();
                for rel in self.expand(src, &pivot_comps, w)?.1 {
                    let parts: Vec<&str> = rel.split('/').collect();
                    found.extend(resolve_in_root(self.root, &parts, true, self.ignore, src)?);
                }
                found
            }
        };
        for pivot in pivots {
            if !pivot.md.is_dir() {
                return Err(ContextError::PivotNotDir {
                    src: src.to_string(),
                    pivot: pivot.rel,
                });
            }
            if !wild {
                self.require(&pivot.rel, &pattern_comps, src)?;
            }
            let v = match self.visibility(&pivot) {
                Visibility::Gone => continue,
                v => v,
            };
            out.push(self.top(pivot, String::new(), src, &v, !wild, include.clone()));
        }
        Ok(())
    }

    /// For `--parents` without wildcards: `pivot/pattern` must exist and be visible.
    fn require(&self, pivot: &str, pattern: &[String], src: &str) -> Result<(), ContextError> {
        let mut parts: Vec<&str> = pivot.split('/').filter(|p| !p.is_empty()).collect();
        parts.extend(pattern.iter().map(String::as_str));
        let found = resolve_in_root(self.root, &parts, false, self.ignore, src)?
            .ok_or_else(|| not_found(src))?;
        match self.visibility(&found) {
            Visibility::Gone => Err(not_found(src)),
            _ => Ok(()),
        }
    }

    /// Expands the wildcard components of `comps` from index `w` on. Returns the physical
    /// base (the resolved fixed part) and the sorted physical paths of the matches.
    fn expand(
        &self,
        src: &str,
        comps: &[String],
        w: usize,
    ) -> Result<(String, Vec<String>), ContextError> {
        let base = resolve_in_root(self.root, &comps[..w], true, self.ignore, src)?
            .ok_or_else(|| not_found(src))?;
        let mut matches = Vec::new();
        if base.md.is_dir() {
            let globs = comps[w..]
                .iter()
                .map(|c| Glob::new(c, Dialect::Component))
                .collect::<Result<Vec<_>, _>>()?;
            self.match_level(&base.rel, &globs, &mut matches)?;
        }
        matches.sort();
        Ok((base.rel, matches))
    }

    fn match_level(
        &self,
        dir: &str,
        globs: &[Glob],
        out: &mut Vec<String>,
    ) -> Result<(), ContextError> {
        let Some((glob, rest)) = globs.split_first() else {
            return Ok(());
        };
        let host = self.root.join(dir);
        let entries = match std::fs::read_dir(&host) {
            Ok(e) => e,
            Err(e) if is_absent(&e) => return Ok(()),
            Err(e) => return Err(ContextError::io(host, e)),
        };
        for entry in entries {
            let entry = entry.map_err(|e| ContextError::io(&host, e))?;
            let name_os = entry.file_name();
            let name = name_os.to_str().ok_or_else(|| ContextError::NonUtf8 {
                path: host.join(&name_os),
            })?;
            if !glob.matches(name) {
                continue;
            }
            let child = if dir.is_empty() {
                name.to_string()
            } else {
                format!("{dir}/{name}")
            };
            if rest.is_empty() {
                out.push(child);
                continue;
            }
            let is_dir = entry
                .file_type()
                .map_err(|e| ContextError::io(&host, e))?
                .is_dir();
            let pruned = self
                .ignore
                .is_some_and(|m| m.is_excluded(&child) && !m.may_reinclude_below(&child));
            if is_dir && !pruned {
                self.match_level(&child, rest, out)?;
            }
        }
        Ok(())
    }

    fn visibility(&self, found: &Found) -> Visibility {
        match self.ignore {
            Some(m) if m.is_excluded(&found.rel) => {
                if found.md.is_dir() && m.may_reinclude_below(&found.rel) {
                    Visibility::HiddenDir
                } else {
                    Visibility::Gone
                }
            }
            _ => Visibility::Visible,
        }
    }

    fn top(
        &self,
        found: Found,
        name: String,
        src: &str,
        v: &Visibility,
        required: bool,
        include: Option<IgnoreMatcher>,
    ) -> Top {
        Top {
            rel: found.rel,
            md: found.md,
            name,
            src: src.to_string(),
            hidden: matches!(v, Visibility::HiddenDir),
            required,
            include,
        }
    }
}

/// Splits a source into clean components; `..` above the root is an error.
fn lexical(s: &str, src: &str) -> Result<Vec<String>, ContextError> {
    let mut out: Vec<String> = Vec::new();
    for c in s.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                if out.pop().is_none() {
                    return Err(ContextError::OutsideContext {
                        src: src.to_string(),
                    });
                }
            }
            c => out.push(c.to_string()),
        }
    }
    Ok(out)
}

fn not_found(src: &str) -> ContextError {
    ContextError::NotFound {
        src: src.to_string(),
    }
}
