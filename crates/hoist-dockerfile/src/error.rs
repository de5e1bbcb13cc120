//! Errors of this crate: [`ParseError`] for Dockerfiles, [`ExpandError`] for shell words.

use crate::ast::Position;

/// A Dockerfile could not be parsed.
///
/// Displays as `{file}:{line}:{column}: {message}`, e.g.
/// `Dockerfile:3:1: unknown instruction: COPPY (did you mean COPY?)`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}:{column}: {message}")]
pub struct ParseError {
    /// Display name of the Dockerfile (as given to [`crate::parse`]).
    pub file: String,
    /// 1-based line of the problem.
    pub line: u32,
    /// 1-based column (in characters) of the problem.
    pub column: u32,
    /// What was wrong or expected, lowercase, without position.
    pub message: String,
    /// The expansion error behind this one, if any (heredoc delimiters are lexed).
    #[source]
    pub source: Option<ExpandError>,
}

impl ParseError {
    pub(crate) fn at(file: &str, at: Position, message: impl Into<String>) -> Self {
        Self {
            file: file.to_owned(),
            line: at.line,
            column: at.column,
            message: message.into(),
            source: None,
        }
    }

    /// The position of the problem.
    pub fn position(&self) -> Position {
        Position {
            line: self.line,
            column: self.column,
        }
    }
}

/// A shell word could not be expanded (see [`crate::expand::Lexer`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExpandError {
    /// `${` without its closing `}`.
    #[error("syntax error: missing '}}'")]
    MissingBrace,
    /// `${x/pattern` without the `/` before the replacement.
    #[error("syntax error: missing '/' in ${{}}")]
    MissingSlash,
    /// `${}`, `${:..}`, `${{..}` and similar.
    #[error("syntax error: bad substitution")]
    BadSubstitution,
    /// An operator after the name that is not supported, e.g. `${x:=y}`.
    #[error("unsupported modifier ({modifier}) in substitution")]
    UnsupportedModifier {
        /// The modifier as written (e.g. `:=`).
        modifier: String,
    },
    /// A quote that is never closed.
    #[error("unexpected end of statement while looking for matching {quote}")]
    UnterminatedQuote {
        /// `'` or `"`.
        quote: char,
    },
    /// End of input inside a `${...}` operand.
    #[error("unexpected end of statement while looking for matching {expected}")]
    UnexpectedEnd {
        /// The character that was expected.
        expected: char,
    },
    /// `${x?msg}` / `${x:?msg}` with `x` unset (or empty).
    #[error("{name}: {message}")]
    Required {
        /// The variable name.
        name: String,
        /// The message from the word, or a default one.
        message: String,
    },
    /// A `#`, `%` or `/` pattern that is not a valid shell pattern.
    #[error("invalid pattern ({pattern}) in substitution: {reason}")]
    InvalidPattern {
        /// The pattern as written.
        pattern: String,
        /// What is wrong with it.
        reason: String,
    },
}
