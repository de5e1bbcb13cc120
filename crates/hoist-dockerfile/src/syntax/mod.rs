//! The syntax layer: BuildKit's parser level. Lines, continuations, comments, parser
//! directives, heredocs, flags and per-instruction argument splitting, without
//! validating flags or argument counts. [`crate::parse`] builds the typed AST on it.

mod directives;
mod heredoc;
mod lines;
mod node;
mod words;

use crate::ast::{Directives, Heredoc, Position, Span};
use crate::error::ParseError;

pub use node::Node;

use directives::DirectiveParser;
use lines::{LineReader, Logical, is_comment, trim_continuation, trim_newline};

/// The untyped parse of a Dockerfile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxTree {
    /// Parser directives.
    pub directives: Directives,
    /// One node per instruction, in order.
    pub nodes: Vec<Node>,
}

/// The delimiter name of a heredoc marker word such as `<<EOF` or `<<-"EOF"`.
pub(crate) fn heredoc_marker(word: &str) -> Option<String> {
    // A word that does not lex is simply not a marker.
    heredoc::parse_marker(word).ok().flatten().map(|m| m.name)
}

/// Parses `source` into BuildKit-level nodes. `file` names the source in errors.
///
/// Unknown instructions are errors; unknown flags and wrong argument counts are not
/// (see [`crate::parse`] for those).
pub fn parse_syntax(file: &str, source: &str) -> Result<SyntaxTree, ParseError> {
    let source = source.strip_prefix('\u{feff}').unwrap_or(source);
    let mut reader = LineReader::new(source);
    let mut directive_parser = DirectiveParser::default();
    let mut directives = Directives::default();
    let mut nodes = Vec::new();

    while let Some(raw) = reader.next_line() {
        let line_no = reader.line;
        let line = trim_newline(raw);
        let content = line.trim_start();
        let lead = line[..line.len() - content.len()].chars().count();
        let lead = u32::try_from(lead).unwrap_or(u32::MAX - 1);
        directive_parser
            .line(content, &mut directives)
            .map_err(|message| {
                ParseError::at(
                    file,
                    Position {
                        line: line_no,
                        column: 1,
                    },
                    message,
                )
            })?;
        let content = if is_comment(content) { "" } else { content };
        let (content, mut done) = trim_continuation(content, directives.escape);
        if done && content.is_empty() {
            continue;
        }
        let mut logical = Logical::default();
        logical.push(content, line_no, lead + 1);
        while !done {
            let Some(raw) = reader.next_line() else { break };
            let line = trim_newline(raw);
            if is_comment(line) || line.trim_start().is_empty() {
                // Comments and empty lines inside a continuation are skipped.
                continue;
            }
            let (part, end) = trim_continuation(line, directives.escape);
            logical.push(part, reader.line, 1);
            done = end;
        }

        let mut node = node::build(file, &logical, 0, &logical.text, directives.escape)?;
        if node.can_contain_heredoc() && logical.text.contains("<<") {
            node.heredocs = read_heredocs(file, &logical, &mut reader)?;
            if let Some(sub) = node.sub.as_mut() {
                sub.heredocs = node.heredocs.clone();
            }
        }
        node.span.end_line = reader.line;
        nodes.push(node);
    }

    if nodes.is_empty() {
        let at = Position {
            line: reader.line.max(1),
            column: 1,
        };
        return Err(ParseError::at(file, at, "file with no instructions"));
    }
    Ok(SyntaxTree { directives, nodes })
}

fn read_heredocs(
    file: &str,
    logical: &Logical,
    reader: &mut LineReader<'_>,
) -> Result<Vec<Heredoc>, ParseError> {
    let markers = heredoc::markers_in_line(&logical.text).map_err(|e| ParseError {
        source: Some(e.clone()),
        ..ParseError::at(file, logical.position(0), format!("invalid heredoc: {e}"))
    })?;
    let offsets = heredoc::marker_offsets(&logical.text, markers.len());
    let mut heredocs = Vec::with_capacity(markers.len());
    for (i, marker) in markers.into_iter().enumerate() {
        let position = logical.position(offsets.get(i).copied().unwrap_or(0));
        let mut content = String::new();
        let mut terminated = false;
        while let Some(raw) = reader.next_line() {
            let mut candidate = trim_newline(raw);
            if marker.chomp {
                candidate = candidate.trim_start_matches('\t');
            }
            if candidate == marker.name {
                terminated = true;
                break;
            }
            content.push_str(raw);
        }
        if !terminated {
            let message = format!(
                "unterminated heredoc: expected a line {:?} before end of file",
                marker.name
            );
            return Err(ParseError::at(file, position, message));
        }
        if marker.chomp {
            content = heredoc::chomp(&content);
        }
        heredocs.push(Heredoc {
            name: marker.name,
            content,
            chomp: marker.chomp,
            expand: marker.expand,
            fd: marker.fd,
            position,
        });
    }
    Ok(heredocs)
}

/// The span of a node starting at `at` (end line filled in by the caller).
fn span_at(at: Position) -> Span {
    Span {
        line: at.line,
        column: at.column,
        end_line: at.line,
    }
}
