//! Shell-word expansion with BuildKit semantics.
//!
//! Supports `$x`, `${x}`, `${x:-w}`, `${x-w}`, `${x:+w}`, `${x+w}`, `${x:?msg}`,
//! `${x?msg}`, `${x#p}`, `${x##p}`, `${x%p}`, `${x%%p}`, `${x/p/r}`, `${x//p/r}`,
//! single and double quotes, and escapes with the active escape character. Positional
//! (`$1`) and special (`$@`, `$#`, ...) parameters are looked up like any name and are
//! normally unset. Nothing is executed: `$(...)` and backquotes are plain text.
//!
//! ```
//! use hoist_dockerfile::expand::Lexer;
//! let env = |name: &str| (name == "V").then(|| "1.2 beta".to_owned());
//! let lexer = Lexer::new('\\');
//! assert_eq!(lexer.expand_word("v${V%% *}-'$V'", &env).unwrap(), "v1.2-$V");
//! assert_eq!(lexer.expand_words("a $V \"$V\"", &env).unwrap(), ["a", "1.2", "beta", "1.2 beta"]);
//! ```

mod pattern;
mod scan;

use std::collections::BTreeSet;

use scan::Scan;

use crate::error::ExpandError;

/// Options of a [`Lexer`]. The defaults are what a Dockerfile instruction needs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LexOptions {
    /// Keep quote characters in the result (BuildKit `RawQuotes`). Default: `false`.
    pub keep_quotes: bool,
    /// Keep escape characters in the result (BuildKit `RawEscapes`). Default: `false`.
    pub keep_escapes: bool,
    /// Leave references to unset variables as written, e.g. `${x:-y}` stays
    /// `${x:-y}` (BuildKit `SkipUnsetEnv`). Default: `false` (unset expands to "").
    pub keep_unset: bool,
    /// Treat quotes as ordinary characters (BuildKit `SkipProcessQuotes`). Default: `false`.
    pub ignore_quotes: bool,
}

/// The full result of one expansion.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Expansion {
    /// The expanded word, quotes removed, whitespace kept.
    pub value: String,
    /// The expanded word split into words (unquoted whitespace separates words).
    pub words: Vec<String>,
    /// Names that were referenced and set.
    pub used: BTreeSet<String>,
    /// Names that were referenced but unset.
    pub unset: BTreeSet<String>,
}

/// Expands shell words. Create one per escape character (`\` or `` ` ``).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lexer {
    escape: char,
    options: LexOptions,
}

impl Default for Lexer {
    /// A lexer with the default escape character `\` and default options.
    fn default() -> Self {
        Self::new('\\')
    }
}

impl Lexer {
    /// A lexer for `escape` with default [`LexOptions`].
    pub fn new(escape: char) -> Self {
        Self::with_options(escape, LexOptions::default())
    }

    /// A lexer for `escape` with `options`.
    pub fn with_options(escape: char, options: LexOptions) -> Self {
        Self { escape, options }
    }

    /// The escape character.
    pub fn escape(&self) -> char {
        self.escape
    }

    /// Expands `word` (quotes removed, no splitting).
    pub fn expand_word(
        &self,
        word: &str,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<String, ExpandError> {
        Ok(self.expand(word, env)?.value)
    }

    /// Expands `word` and splits the result into words: whitespace produced by
    /// expansion or written unquoted separates words, quoted whitespace does not.
    pub fn expand_words(
        &self,
        word: &str,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Vec<String>, ExpandError> {
        Ok(self.expand(word, env)?.words)
    }

    /// Expands `word`, returning the value, the words and which variables were used.
    pub fn expand(
        &self,
        word: &str,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Expansion, ExpandError> {
        Scan::new(word, self.escape, self.options, env).run()
    }
}

#[cfg(test)]
mod tests;
