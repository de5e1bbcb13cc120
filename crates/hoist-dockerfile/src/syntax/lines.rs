//! Physical lines, continuation handling and the offset → position map of a logical line.

use crate::ast::Position;

/// Iterates the physical lines of a source, each with its line ending, counting lines.
pub(crate) struct LineReader<'a> {
    rest: &'a str,
    /// 1-based number of the line returned last (0 before the first).
    pub(crate) line: u32,
}

impl<'a> LineReader<'a> {
    pub(crate) fn new(source: &'a str) -> Self {
        Self {
            rest: source,
            line: 0,
        }
    }

    /// Reads the next line, line ending included.
    pub(crate) fn next_line(&mut self) -> Option<&'a str> {
        if self.rest.is_empty() {
            return None;
        }
        let end = self.rest.find('\n').map_or(self.rest.len(), |i| i + 1);
        let (line, rest) = self.rest.split_at(end);
        self.rest = rest;
        self.line += 1;
        Some(line)
    }
}

/// Removes trailing `\r` and `\n` characters.
pub(crate) fn trim_newline(line: &str) -> &str {
    line.trim_end_matches(['\r', '\n'])
}

/// A line whose first non-blank character is `#`.
pub(crate) fn is_comment(line: &str) -> bool {
    line.trim_start().starts_with('#')
}

/// Splits a trailing line-continuation escape off `line`. Returns the line without it
/// and `true` when the line ends the instruction (no continuation).
///
/// As BuildKit: the escape must be the last non-blank (space/tab) character and must not
/// itself be escaped, unless it is alone on the line.
pub(crate) fn trim_continuation(line: &str, escape: char) -> (&str, bool) {
    let trimmed = line.trim_end_matches([' ', '\t']);
    if let Some(before) = trimmed.strip_suffix(escape)
        && (before.is_empty() || !before.ends_with(escape))
    {
        return (before, false);
    }
    (line, true)
}

/// Whitespace as BuildKit's `[\t\v\f\r ]` class (used to split keywords and words).
pub(crate) fn is_split_space(c: char) -> bool {
    matches!(c, '\t' | '\u{b}' | '\u{c}' | '\r' | ' ')
}

#[derive(Debug, Clone, Copy)]
struct Segment {
    offset: usize,
    line: u32,
    column: u32,
}

/// An instruction's text with continuation lines joined, remembering where each byte
/// came from.
#[derive(Debug, Default)]
pub(crate) struct Logical {
    pub(crate) text: String,
    segments: Vec<Segment>,
}

impl Logical {
    /// Appends `part`, which starts at `line`:`column` in the source.
    pub(crate) fn push(&mut self, part: &str, line: u32, column: u32) {
        self.segments.push(Segment {
            offset: self.text.len(),
            line,
            column,
        });
        self.text.push_str(part);
    }

    /// The source position of byte `offset` of [`Logical::text`].
    pub(crate) fn position(&self, offset: usize) -> Position {
        let i = self
            .segments
            .partition_point(|s| s.offset <= offset)
            .saturating_sub(1);
        let Some(seg) = self.segments.get(i) else {
            return Position { line: 1, column: 1 };
        };
        let end = offset.min(self.text.len());
        let chars = self
            .text
            .get(seg.offset..end)
            .map_or(0, |s| s.chars().count());
        Position {
            line: seg.line,
            column: seg.column + u32::try_from(chars).unwrap_or(u32::MAX - seg.column),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn continuation_rules() {
        assert_eq!(trim_continuation("a \\", '\\'), ("a ", false));
        assert_eq!(trim_continuation("a \\  \t", '\\'), ("a ", false));
        assert_eq!(trim_continuation("\\", '\\'), ("", false));
        assert_eq!(trim_continuation("a\\\\", '\\'), ("a\\\\", true));
        assert_eq!(trim_continuation("a `", '`'), ("a ", false));
        assert_eq!(trim_continuation("a \\", '`'), ("a \\", true));
    }

    #[test]
    fn positions_follow_segments() {
        let mut l = Logical::default();
        l.push("RUN a ", 3, 5);
        l.push("  b", 4, 1);
        assert_eq!(l.position(0), Position { line: 3, column: 5 });
        assert_eq!(l.position(4), Position { line: 3, column: 9 });
        assert_eq!(l.position(8), Position { line: 4, column: 3 });
        assert_eq!(l.position(9), Position { line: 4, column: 4 });
    }
}
