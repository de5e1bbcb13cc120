//! `.dockerignore` semantics (moby/patternmatcher + moby/patternmatcher/ignorefile).

use crate::error::ContextError;
use crate::glob::{Dialect, Glob, clean, escape};

/// One pattern of a matcher.
#[derive(Debug, Clone)]
struct Pattern {
    /// The cleaned pattern text (without the `!`).
    text: String,
    /// `!pattern`: an exception that re-includes what earlier patterns excluded.
    exception: bool,
    glob: Glob,
}

/// A list of `.dockerignore`-style patterns, evaluated with Docker's rules.
///
/// A path is matched by a pattern when the pattern matches the path or any of its parent
/// directories; the last pattern that matches decides, so `!` exceptions re-include what
/// earlier patterns excluded (even children of an excluded directory). Paths are relative
/// to the context root, slash-separated, without a leading `./`.
///
/// The same type serves `COPY --exclude` and the include list of `COPY --parents`.
#[derive(Debug, Clone, Default)]
pub struct IgnoreMatcher {
    patterns: Vec<Pattern>,
}

impl IgnoreMatcher {
    /// Parses the text of a `.dockerignore` file: a UTF-8 BOM is dropped, lines starting
    /// with `#` are comments, blank lines are skipped, each pattern is trimmed and
    /// cleaned like Go's `filepath.Clean`, and a leading `/` is dropped.
    ///
    /// Errors name the 1-based line ([`ContextError::IgnoreLine`]).
    pub fn parse(text: &str) -> Result<Self, ContextError> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut patterns = Vec::new();
        for (idx, line) in text.lines().enumerate() {
            if line.starts_with('#') {
                continue;
            }
            Self::push(&mut patterns, line).map_err(|cause| ContextError::IgnoreLine {
                line: idx + 1,
                cause: Box::new(cause),
            })?;
        }
        Ok(IgnoreMatcher { patterns })
    }

    /// Builds a matcher from individual patterns (e.g. `COPY --exclude` values), with the
    /// same cleaning as [`IgnoreMatcher::parse`] but no comment handling.
    pub fn from_patterns<S: AsRef<str>>(patterns: &[S]) -> Result<Self, ContextError> {
        let mut out = Vec::new();
        for p in patterns {
            Self::push(&mut out, p.as_ref())?;
        }
        Ok(IgnoreMatcher { patterns: out })
    }

    fn push(patterns: &mut Vec<Pattern>, raw: &str) -> Result<(), ContextError> {
        let mut p = raw.trim();
        if p.is_empty() {
            return Ok(());
        }
        let exception = p.starts_with('!');
        if exception {
            p = p[1..].trim();
            if p.is_empty() {
                return Err(ContextError::BadPattern {
                    pattern: "!".to_string(),
                    reason: "an exception needs a pattern after '!'",
                });
            }
        }
        let mut text = clean(p);
        if text.len() > 1 && text.starts_with('/') {
            text.remove(0);
        }
        let glob = Glob::new(&text, Dialect::Path)?;
        patterns.push(Pattern {
            text,
            exception,
            glob,
        });
        Ok(())
    }

    /// Adds an exception for exactly `path`, so it is never excluded (used for the
    /// Dockerfile and the ignore file, which the context always carries).
    pub(crate) fn keep(&mut self, path: &str) -> Result<(), ContextError> {
        let text = escape(path);
        let glob = Glob::new(&text, Dialect::Path)?;
        self.patterns.push(Pattern {
            text,
            exception: true,
            glob,
        });
        Ok(())
    }

    /// Whether there are no patterns (nothing is ever excluded).
    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    /// The cleaned patterns in order, exceptions with their leading `!`.
    pub fn patterns(&self) -> impl Iterator<Item = String> + '_ {
        self.patterns.iter().map(|p| {
            if p.exception {
                format!("!{}", p.text)
            } else {
                p.text.clone()
            }
        })
    }

    /// Whether `path` (slash-separated, relative to the context root; a leading `/` or
    /// `./` is ignored) is excluded. The context root itself never is.
    pub fn is_excluded(&self, path: &str) -> bool {
        let path = clean(path);
        let path = path.trim_start_matches('/');
        if path.is_empty() || path == "." || self.patterns.is_empty() {
            return false;
        }
        let parent = match path.rfind('/') {
            Some(i) => self.bits_for(&path[..i]),
            None => self.root_bits(),
        };
        self.eval(path, &parent, None)
    }

    /// The bits of `path` itself (a clean relative directory path, `""` for the root), for
    /// its children.
    pub(crate) fn bits_for(&self, path: &str) -> Vec<bool> {
        let mut bits = self.root_bits();
        if path.is_empty() || path == "." {
            return bits;
        }
        let mut next = self.root_bits();
        let ends = path
            .match_indices('/')
            .map(|(i, _)| i)
            .chain(std::iter::once(path.len()));
        for end in ends {
            self.eval(&path[..end], &bits, Some(&mut next));
            std::mem::swap(&mut bits, &mut next);
        }
        bits
    }

    /// Per-pattern "matched an ancestor" bits for the context root.
    pub(crate) fn root_bits(&self) -> Vec<bool> {
        vec![false; self.patterns.len()]
    }

    /// Evaluates `path` given its parent's bits. With `child`, also records this path's
    /// bits for its children (every pattern is then evaluated); without it, patterns that
    /// cannot change the outcome are skipped.
    pub(crate) fn eval(
        &self,
        path: &str,
        parent: &[bool],
        mut child: Option<&mut Vec<bool>>,
    ) -> bool {
        let mut excluded = false;
        for (i, p) in self.patterns.iter().enumerate() {
            let relevant = child.is_some() || p.exception == excluded;
            let hit = parent[i] || (relevant && p.glob.matches(path));
            if let Some(bits) = child.as_deref_mut() {
                bits[i] = hit;
            }
            if hit {
                excluded = !p.exception;
            }
        }
        excluded
    }

    /// For an excluded directory: whether an exception could re-include something below
    /// it (if not, the walk skips the directory entirely).
    pub(crate) fn may_reinclude_below(&self, dir: &str) -> bool {
        self.patterns
            .iter()
            .any(|p| p.exception && p.glob.could_match_below(dir))
    }

    /// For a directory no pattern matched: whether a (non-exception) pattern could match
    /// something below it. Used by the `--parents` include list.
    pub(crate) fn may_match_below(&self, dir: &str) -> bool {
        self.patterns
            .iter()
            .any(|p| !p.exception && p.glob.could_match_below(dir))
    }
}
