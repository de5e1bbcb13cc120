//! Glob patterns: Go `filepath.Match` syntax, plus the `**` forms of moby/patternmatcher.
//!
//! Two dialects share one engine:
//! - [`Dialect::Component`]: `filepath.Match` against one path component (COPY sources).
//! - [`Dialect::Path`]: a .dockerignore / `--exclude` / `--parents` pattern against a
//!   slash-separated relative path, where `**` spans directories.
//!
//! Matching runs a small NFA over the path's chars (no backtracking, so no exponential
//! cases), after cheap fast paths for the common exact, prefix (`dir/**`) and suffix
//! (`**/name`) shapes.

mod nfa;

use crate::error::ContextError;
use nfa::Nfa;

/// Which pattern language a [`Glob`] was compiled from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    /// Go `filepath.Match` for a single path component: `*`, `?`, `[...]`, `\` escapes.
    Component,
    /// moby/patternmatcher: as `Component`, plus `**` matching any number of directories.
    Path,
}

/// One matching step.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    /// This exact char.
    Lit(char),
    /// `?`: one char except `/`.
    Quest,
    /// `[...]`: one char in (or, negated, not in) the ranges.
    Class {
        negated: bool,
        ranges: Vec<(char, char)>,
    },
    /// `*`: any run of chars without `/`.
    Star,
    /// `**` at the end of a pattern: any run of chars.
    AnyRun,
    /// `**/`, or `**` inside a pattern: nothing, or any run of chars ending in `/`.
    DirRun,
}

impl Token {
    /// Whether the token may match the empty string (an epsilon move in the NFA).
    fn skippable(&self) -> bool {
        matches!(self, Token::Star | Token::AnyRun | Token::DirRun)
    }
}

/// How a compiled pattern is evaluated.
#[derive(Debug, Clone)]
enum Shape {
    /// No metacharacters: string equality.
    Exact(String),
    /// `lit**`: the path starts with `lit`.
    Prefix(String),
    /// `**lit`: the path ends with `lit` (and `**/lit` also matches `lit` itself).
    Suffix(String),
    /// Anything else: run the token NFA.
    Nfa,
}

/// A compiled pattern.
#[derive(Debug, Clone)]
pub(crate) struct Glob {
    tokens: Vec<Token>,
    shape: Shape,
    /// Literal chars every match starts with (a cheap pre-check).
    literal_prefix: String,
    /// Literal chars every match ends with (another cheap pre-check).
    literal_suffix: String,
}

impl Glob {
    /// Compiles `pattern`, rejecting what Go's `filepath.Match` rejects (`[`, `a[`, `[]a]`,
    /// `[-x]`, `[a-b-c]`, a trailing `\`) and inverted ranges such as `[z-a]`.
    pub(crate) fn new(pattern: &str, dialect: Dialect) -> Result<Self, ContextError> {
        let bad = |reason: &'static str| ContextError::BadPattern {
            pattern: pattern.to_string(),
            reason,
        };
        let chars: Vec<char> = pattern.chars().collect();
        let mut tokens = Vec::new();
        let mut has_meta = false;
        // patternmatcher's quirk: a leading `**` followed only by literals is a plain
        // suffix test (`**.txt` matches `a/b.txt`), not the regexp `(.*/)?\.txt`.
        let mut leading_double_star = false;
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            match c {
                '*' if dialect == Dialect::Path && chars.get(i + 1) == Some(&'*') => {
                    has_meta = true;
                    if i == 0 {
                        leading_double_star = true;
                    }
                    i += 2;
                    if chars.get(i) == Some(&'/') {
                        i += 1;
                    }
                    tokens.push(if i == chars.len() {
                        Token::AnyRun
                    } else {
                        Token::DirRun
                    });
                    continue;
                }
                '*' => {
                    has_meta = true;
                    tokens.push(Token::Star);
                }
                '?' => {
                    has_meta = true;
                    tokens.push(Token::Quest);
                }
                '[' => {
                    has_meta = true;
                    let (tok, next) = parse_class(&chars, i + 1).map_err(bad)?;
                    tokens.push(tok);
                    i = next;
                    continue;
                }
                '\\' => {
                    let Some(&next) = chars.get(i + 1) else {
                        return Err(bad("trailing backslash"));
                    };
                    has_meta = true;
                    tokens.push(Token::Lit(next));
                    i += 2;
                    continue;
                }
                _ => tokens.push(Token::Lit(c)),
            }
            i += 1;
        }
        let literal_prefix: String = tokens
            .iter()
            .map_while(|t| match t {
                Token::Lit(c) => Some(*c),
                _ => None,
            })
            .collect();
        let mut literal_suffix: Vec<char> = tokens
            .iter()
            .rev()
            .map_while(|t| match t {
                Token::Lit(c) => Some(*c),
                _ => None,
            })
            .collect();
        literal_suffix.truncate(tokens.len() - literal_prefix.chars().count());
        literal_suffix.reverse();
        let literal_suffix: String = literal_suffix.into_iter().collect();
        let only_lits = |ts: &[Token]| ts.iter().all(|t| matches!(t, Token::Lit(_)));
        let shape = if !has_meta {
            Shape::Exact(pattern.to_string())
        } else if leading_double_star && only_lits(&tokens[1..]) {
            // The suffix is the pattern text after `**` (so `**/foo` keeps its `/`).
            Shape::Suffix(chars[2..].iter().collect())
        } else if matches!(tokens.last(), Some(Token::AnyRun))
            && only_lits(&tokens[..tokens.len() - 1])
        {
            Shape::Prefix(literal_prefix.clone())
        } else {
            Shape::Nfa
        };
        Ok(Glob {
            tokens,
            shape,
            literal_prefix,
            literal_suffix,
        })
    }

    /// Whether the whole of `path` matches.
    pub(crate) fn matches(&self, path: &str) -> bool {
        match &self.shape {
            Shape::Exact(s) => path == s,
            Shape::Prefix(p) => path.starts_with(p.as_str()),
            Shape::Suffix(s) => {
                path.ends_with(s.as_str()) || s.strip_prefix('/').is_some_and(|rest| path == rest)
            }
            Shape::Nfa => {
                let (lp, ls) = (self.literal_prefix.as_str(), self.literal_suffix.as_str());
                if path.len() < lp.len() + ls.len() || !path.starts_with(lp) || !path.ends_with(ls)
                {
                    return false;
                }
                // The literal ends are fixed, so only the middle needs the NFA.
                let middle = &path[lp.len()..path.len() - ls.len()];
                let (np, ns) = (lp.chars().count(), ls.chars().count());
                Nfa::new(&self.tokens[np..self.tokens.len() - ns]).run(middle)
            }
        }
    }

    /// Whether some path strictly below directory `dir` (that is, starting with `dir/`)
    /// could match. Conservative: may say yes when no such path exists, never the reverse.
    pub(crate) fn could_match_below(&self, dir: &str) -> bool {
        let dir_slash = format!("{dir}/");
        // Some path `dir/x...` starts with the literal `p`.
        let below = |p: &str| p.starts_with(dir_slash.as_str()) || dir_slash.starts_with(p);
        match &self.shape {
            Shape::Exact(s) => s.len() > dir_slash.len() && s.starts_with(dir_slash.as_str()),
            Shape::Prefix(p) => below(p),
            Shape::Suffix(_) => true,
            Shape::Nfa => {
                let lp = self.literal_prefix.as_str();
                let compatible = below(lp);
                compatible && Nfa::new(&self.tokens).run_dir_prefix(dir)
            }
        }
    }
}

/// Parses the inside of `[...]` starting after the `[`, with Go's `filepath.Match` rules:
/// optional `^`, then at least one `lo` or `lo-hi` item, `\` escaping, `]` closing.
/// Returns the token and the index after the closing `]`.
fn parse_class(chars: &[char], mut i: usize) -> Result<(Token, usize), &'static str> {
    let negated = chars.get(i) == Some(&'^');
    if negated {
        i += 1;
    }
    let mut ranges = Vec::new();
    loop {
        if chars.get(i) == Some(&']') && !ranges.is_empty() {
            return Ok((Token::Class { negated, ranges }, i + 1));
        }
        let (lo, next) = class_char(chars, i)?;
        i = next;
        let mut hi = lo;
        if chars.get(i) == Some(&'-') {
            let (h, next) = class_char(chars, i + 1)?;
            hi = h;
            i = next;
        }
        if lo > hi {
            return Err("inverted character range");
        }
        ranges.push((lo, hi));
    }
}

/// One (possibly escaped) char inside a class; the class must not end right after it.
fn class_char(chars: &[char], mut i: usize) -> Result<(char, usize), &'static str> {
    match chars.get(i) {
        None => return Err("unterminated character class"),
        Some('-') => return Err("unescaped '-' in character class"),
        Some(']') => return Err("empty character class item"),
        Some('\\') => i += 1,
        Some(_) => {}
    }
    let c = *chars.get(i).ok_or("unterminated character class")?;
    if i + 1 >= chars.len() {
        return Err("unterminated character class");
    }
    Ok((c, i + 1))
}

/// Go's `path.Clean` for slash-separated paths.
pub(crate) fn clean(p: &str) -> String {
    if p.is_empty() {
        return ".".to_string();
    }
    let rooted = p.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for comp in p.split('/') {
        match comp {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|l| *l != "..") {
                    parts.pop();
                } else if !rooted {
                    parts.push("..");
                }
            }
            c => parts.push(c),
        }
    }
    let body = parts.join("/");
    if rooted {
        format!("/{body}")
    } else if body.is_empty() {
        ".".to_string()
    } else {
        body
    }
}

/// Whether a COPY source component holds an unescaped wildcard (BuildKit's
/// `containsWildcards`: `*`, `?` or `[`, with `\` escaping the next char).
pub(crate) fn has_wildcards(s: &str) -> bool {
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            '*' | '?' | '[' => return true,
            '\\' => {
                chars.next();
            }
            _ => {}
        }
    }
    false
}

/// Escapes glob metacharacters so `name` matches itself literally.
pub(crate) fn escape(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn component(p: &str, s: &str) -> Result<bool, ContextError> {
        Ok(Glob::new(p, Dialect::Component)?.matches(s))
    }

    /// Go's own `filepath.Match` table (as carried by moby/patternmatcher's tests).
    #[test]
    fn go_filepath_match_table() {
        let ok: &[(&str, &str, bool)] = &[
            ("abc", "abc", true),
            ("*", "abc", true),
            ("*c", "abc", true),
            ("a*", "a", true),
            ("a*", "abc", true),
            ("a*", "ab/c", false),
            ("a*/b", "abc/b", true),
            ("a*/b", "a/c/b", false),
            ("a*b*c*d*e*/f", "axbxcxdxe/f", true),
            ("a*b*c*d*e*/f", "axbxcxdxexxx/f", true),
            ("a*b*c*d*e*/f", "axbxcxdxe/xxx/f", false),
            ("a*b*c*d*e*/f", "axbxcxdxexxx/fff", false),
            ("a*b?c*x", "abxbbxdbxebxczzx", true),
            ("a*b?c*x", "abxbbxdbxebxczzy", false),
            ("ab[c]", "abc", true),
            ("ab[b-d]", "abc", true),
            ("ab[e-g]", "abc", false),
            ("ab[^c]", "abc", false),
            ("ab[^b-d]", "abc", false),
            ("ab[^e-g]", "abc", true),
            ("a\\*b", "a*b", true),
            ("a\\*b", "ab", false),
            ("a?b", "a☺b", true),
            ("a[^a]b", "a☺b", true),
            ("a???b", "a☺b", false),
            ("a[^a][^a][^a]b", "a☺b", false),
            ("[a-ζ]*", "α", true),
            ("*[a-ζ]", "A", false),
            ("a?b", "a/b", false),
            ("a*b", "a/b", false),
            ("[\\]a]", "]", true),
            ("[\\-]", "-", true),
            ("[x\\-]", "x", true),
            ("[x\\-]", "-", true),
            ("[x\\-]", "z", false),
            ("[\\-x]", "x", true),
            ("[\\-x]", "-", true),
            ("[\\-x]", "a", false),
            ("*x", "xxx", true),
        ];
        for (p, s, want) in ok {
            assert_eq!(component(p, s).unwrap(), *want, "pattern {p:?} on {s:?}");
        }
        let bad = [
            "[]a]", "[-]", "[x-]", "[-x]", "\\", "[a-b-c]", "[", "[^", "[^bc", "a[", "[z-a]",
        ];
        for p in bad {
            assert!(
                matches!(component(p, "a"), Err(ContextError::BadPattern { .. })),
                "pattern {p:?} must be rejected"
            );
        }
    }

    #[test]
    fn shapes_follow_patternmatcher() {
        let shape = |p: &str| match Glob::new(p, Dialect::Path).unwrap().shape {
            Shape::Exact(_) => "exact",
            Shape::Prefix(_) => "prefix",
            Shape::Suffix(_) => "suffix",
            Shape::Nfa => "nfa",
        };
        assert_eq!(shape("abc.def"), "exact");
        assert_eq!(shape("a(b)c/def"), "exact");
        assert_eq!(shape("dir/**"), "prefix");
        assert_eq!(shape("**"), "suffix");
        assert_eq!(shape("**/dir"), "suffix");
        assert_eq!(shape("**file"), "suffix");
        assert_eq!(shape("**/foo/bar"), "suffix");
        assert_eq!(shape("**/**"), "nfa");
        assert_eq!(shape("**/dir2/*"), "nfa");
        assert_eq!(shape("a[b-d]e"), "nfa");
    }

    #[test]
    fn below_dir_viability() {
        let g = |p: &str| Glob::new(p, Dialect::Path).unwrap();
        assert!(g("docs/README.md").could_match_below("docs"));
        assert!(!g("docs/README.md").could_match_below("src"));
        assert!(!g("docs").could_match_below("docs"));
        assert!(g("docs/**").could_match_below("docs"));
        assert!(g("d*/x").could_match_below("docs"));
        assert!(!g("d*/x").could_match_below("src"));
        assert!(!g("d*/x").could_match_below("docs/deeper"));
        assert!(g("**/x").could_match_below("anything/at/all"));
        assert!(g("a/**/z").could_match_below("a/b/c"));
        assert!(!g("a/*.txt").could_match_below("a/b"));
        assert!(g("[a-c]/x").could_match_below("b"));
        assert!(!g("[a-c]/x").could_match_below("d"));
    }

    #[test]
    fn clean_like_go() {
        for (i, o) in [
            ("", "."),
            (".", "."),
            ("a/b/../c", "a/c"),
            ("/../a", "/a"),
            ("../a", "../a"),
            ("a/../..", ".."),
            ("//a//b/", "/a/b"),
            ("./a/./b/.", "a/b"),
            ("/", "/"),
        ] {
            assert_eq!(clean(i), o, "clean({i:?})");
        }
    }

    #[test]
    fn wildcard_detection_and_escape() {
        assert!(has_wildcards("*.txt"));
        assert!(has_wildcards("a[0]"));
        assert!(!has_wildcards("a\\*b"));
        assert!(!has_wildcards("plain.txt"));
        let name = "arr[0]*?.txt";
        assert!(
            Glob::new(&escape(name), Dialect::Path)
                .unwrap()
                .matches(name)
        );
        assert!(
            !Glob::new(&escape(name), Dialect::Path)
                .unwrap()
                .matches("arr0.txt")
        );
    }
}
