//! Shell patterns for `${x#p}`, `${x%p}` and `${x/p/r}`: `*`, `?` and `\`-escapes
//! (no bracket expressions), matched like BuildKit (wildcards do not match a newline).

use crate::error::ExpandError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tok {
    Lit(char),
    Any,
    Star,
}

/// A compiled pattern.
#[derive(Debug, Clone)]
pub(crate) struct Pattern {
    toks: Vec<Tok>,
}

impl Pattern {
    /// Compiles `pattern`. `\*`, `\?`, `\\` are literals; `\}` and `\/` drop the
    /// backslash (they were escaped only to stay inside `${...}`); any other escape
    /// is an error.
    pub(crate) fn compile(pattern: &str) -> Result<Self, ExpandError> {
        let mut toks = Vec::new();
        let mut chars = pattern.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '*' => toks.push(Tok::Star),
                '?' => toks.push(Tok::Any),
                '\\' => match chars.peek().copied() {
                    Some('}' | '/') => {}
                    Some(n @ ('*' | '?' | '\\')) => {
                        chars.next();
                        toks.push(Tok::Lit(n));
                    }
                    other => {
                        let shown = other.map(String::from).unwrap_or_default();
                        return Err(ExpandError::InvalidPattern {
                            pattern: pattern.to_owned(),
                            reason: format!("invalid escape '\\{shown}'"),
                        });
                    }
                },
                c => toks.push(Tok::Lit(c)),
            }
        }
        Ok(Self { toks })
    }

    fn reversed(&self) -> Self {
        let mut toks = self.toks.clone();
        toks.reverse();
        Self { toks }
    }

    /// For every `j` in `0..=s.len()`: does the pattern match `s[..j]` exactly?
    fn prefix_matches(&self, s: &[char]) -> Vec<bool> {
        // row[j] == pattern[..i] matches s[..j], rolled over i.
        let mut row = vec![false; s.len() + 1];
        row[0] = true;
        for tok in &self.toks {
            let mut next = vec![false; s.len() + 1];
            match tok {
                Tok::Star => {
                    next[0] = row[0];
                    for j in 1..=s.len() {
                        next[j] = row[j] || (next[j - 1] && s[j - 1] != '\n');
                    }
                }
                Tok::Any => {
                    for j in 1..=s.len() {
                        next[j] = row[j - 1] && s[j - 1] != '\n';
                    }
                }
                Tok::Lit(c) => {
                    for j in 1..=s.len() {
                        next[j] = row[j - 1] && s[j - 1] == *c;
                    }
                }
            }
            row = next;
        }
        row
    }

    /// `${x#p}` (shortest) / `${x##p}` (longest): removes the matching prefix.
    pub(crate) fn trim_prefix(&self, value: &str, longest: bool) -> String {
        let s: Vec<char> = value.chars().collect();
        let ok = self.prefix_matches(&s);
        match pick(&ok, longest) {
            Some(len) => s[len..].iter().collect(),
            None => value.to_owned(),
        }
    }

    /// `${x%p}` (shortest) / `${x%%p}` (longest): removes the matching suffix.
    pub(crate) fn trim_suffix(&self, value: &str, longest: bool) -> String {
        let mut s: Vec<char> = value.chars().collect();
        s.reverse();
        let ok = self.reversed().prefix_matches(&s);
        match pick(&ok, longest) {
            Some(len) => {
                let mut kept: Vec<char> = s[len..].to_vec();
                kept.reverse();
                kept.into_iter().collect()
            }
            None => value.to_owned(),
        }
    }

    /// `${x/p/r}` (first match) and `${x//p/r}` (all): leftmost, longest matches.
    pub(crate) fn replace(&self, value: &str, replacement: &str, all: bool) -> String {
        let s: Vec<char> = value.chars().collect();
        let mut out = String::new();
        let mut pos = 0;
        let mut prev_end: Option<usize> = None;
        let mut replaced = false;
        while pos <= s.len() {
            if replaced && !all {
                break;
            }
            let found = (pos..=s.len()).find_map(|start| {
                pick(&self.prefix_matches(&s[start..]), true).map(|len| (start, len))
            });
            let Some((start, len)) = found else { break };
            out.extend(&s[pos..start]);
            if len == 0 && prev_end == Some(start) {
                // An empty match right after a match is ignored (as Go's ReplaceAll).
                if start < s.len() {
                    out.push(s[start]);
                }
                pos = start + 1;
                continue;
            }
            out.push_str(replacement);
            replaced = true;
            if len == 0 {
                if start < s.len() {
                    out.push(s[start]);
                }
                pos = start + 1;
            } else {
                pos = start + len;
                prev_end = Some(pos);
            }
        }
        if pos <= s.len() {
            out.extend(&s[pos..]);
        }
        out
    }
}

fn pick(ok: &[bool], longest: bool) -> Option<usize> {
    if longest {
        ok.iter().rposition(|&b| b)
    } else {
        ok.iter().position(|&b| b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Pattern {
        Pattern::compile(s).expect("valid pattern")
    }

    #[test]
    fn trims_prefix_shortest_and_longest() {
        assert_eq!(p("*/").trim_prefix("a/b/c", false), "b/c");
        assert_eq!(p("*/").trim_prefix("a/b/c", true), "c");
        assert_eq!(p("x*").trim_prefix("abc", true), "abc");
        assert_eq!(p("?").trim_prefix("abc", false), "bc");
    }

    #[test]
    fn trims_suffix_shortest_and_longest() {
        assert_eq!(p("/*").trim_suffix("linux/arm/v7", false), "linux/arm");
        assert_eq!(p("/*").trim_suffix("linux/arm/v7", true), "linux");
        assert_eq!(p(".tar.gz").trim_suffix("a.tar.gz", false), "a");
    }

    #[test]
    fn replaces_first_or_all() {
        assert_eq!(p("o").replace("foo boo", "0", false), "f0o boo");
        assert_eq!(p("o").replace("foo boo", "0", true), "f00 b00");
        assert_eq!(p("b*").replace("abcb", "X", false), "aX");
        assert_eq!(p("").replace("ab", "-", true), "-a-b-");
    }

    #[test]
    fn escapes() {
        assert_eq!(p("\\*").trim_prefix("*x", false), "x");
        assert!(Pattern::compile("\\x").is_err());
        assert!(Pattern::compile("\\").is_err());
        assert!(Pattern::compile("\\\\\\").is_err());
        assert_eq!(p("a\\}").trim_prefix("a}b", false), "b");
    }

    #[test]
    fn wildcards_do_not_cross_newlines() {
        assert_eq!(p("*b").trim_prefix("a\nb", false), "a\nb");
    }
}
