//! hoist's Dockerfile parser and shell-word expansion, compatible with BuildKit.
//!
//! Parsing has two layers, like BuildKit's:
//!
//! 1. [`syntax::parse_syntax`] reads lines, parser directives (`# syntax=`,
//!    `# escape=`, `# check=`), continuations, comments, heredocs, builder flags and
//!    splits each instruction's arguments ([`syntax::Node`]). [`dump_syntax`] prints it in
//!    BuildKit's test notation; it reproduces BuildKit's parser corpus byte for byte.
//! 2. [`parse`] turns the nodes into typed [`Instruction`]s ([`Command`]): flags are
//!    validated per instruction, argument counts checked, durations parsed.
//!
//! Values stay **unexpanded**: `ENV`, `LABEL` and `ARG` values keep their quotes and
//! escapes exactly as written (as BuildKit), and the builder expands them with
//! [`expand::Lexer`], which removes the quotes. Nothing is executed here.
//!
//! Every instruction knows its [`Span`] (1-based line and column of the keyword, and
//! its last line) and every [`Flag`] its [`Position`]; errors are
//! `file:line:column: message` ([`ParseError`]).
//!
//! ```
//! use hoist_dockerfile::{parse, CmdLine, Command};
//!
//! let df = parse("Dockerfile", "FROM alpine AS base\nRUN --mount=type=cache,target=/c \\\n  echo hi\n").unwrap();
//! let run = &df.instructions[1];
//! assert_eq!(run.span.line, 2);
//! assert_eq!(run.span.end_line, 3);
//! assert_eq!(run.flag_value("mount"), Some("type=cache,target=/c"));
//! assert_eq!(run.command, Command::Run(CmdLine::Shell("echo hi".into())));
//!
//! let err = parse("Dockerfile", "FROM a\nCOPPY . /\n").unwrap_err();
//! assert_eq!(err.to_string(), "Dockerfile:2:1: unknown instruction: COPPY (did you mean COPY?)");
//! ```
#![deny(missing_docs)]

mod ast;
mod dump;
mod duration;
mod error;
pub mod expand;
mod flags;
mod suggest;
pub mod syntax;
mod typed;

pub use ast::{
    ArgDecl, CmdLine, Command, CopyArgs, Directives, Dockerfile, Flag, Healthcheck, HealthcheckCmd,
    Heredoc, Instruction, KeyValue, Keyword, Position, Span,
};
pub use dump::{dump, dump_syntax};
pub use error::{ExpandError, ParseError};
pub use flags::allowed_flags;

/// Parses a Dockerfile into typed instructions. `file` names the source in errors.
pub fn parse(file: &str, source: &str) -> Result<Dockerfile, ParseError> {
    let tree = syntax::parse_syntax(file, source)?;
    let instructions = tree
        .nodes
        .into_iter()
        .map(|node| typed::instruction(file, node))
        .collect::<Result<Vec<_>, _>>()?;
    tracing::debug!(file, instructions = instructions.len(), "parsed dockerfile");
    Ok(Dockerfile {
        directives: tree.directives,
        instructions,
    })
}
