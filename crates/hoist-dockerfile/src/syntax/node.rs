//! One instruction at the syntax level, and how its text is split into arguments.

use super::lines::{Logical, is_split_space};
use super::span_at;
use super::words::{self, JsonError, Piece};
use crate::ast::{Flag, Heredoc, Keyword, Position, Span};
use crate::error::ParseError;
use crate::suggest::closest;

/// One instruction as BuildKit's parser sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// The keyword as written (any case).
    pub keyword: String,
    /// Where the instruction is.
    pub span: Span,
    /// The logical line (continuations joined).
    pub original: String,
    /// Builder flags, not validated.
    pub flags: Vec<Flag>,
    /// Arguments: for `ENV`/`LABEL` triples of key, value and separator (`=` or `""`
    /// for the legacy form); for `HEALTHCHECK` the type then the command.
    pub args: Vec<String>,
    /// The arguments came from a JSON array.
    pub json: bool,
    /// The instruction of an `ONBUILD`.
    pub sub: Option<Box<Node>>,
    /// Heredoc bodies (for `RUN`, `COPY`, `ADD`, and `ONBUILD` of those).
    pub heredocs: Vec<Heredoc>,
    /// Where each argument starts (parallel to `args`).
    pub(crate) arg_positions: Vec<Position>,
    /// Where the arguments start, or the end of the line when there are none.
    pub(crate) args_start: Position,
    /// Position of the last character of the instruction text.
    pub(crate) last_char: Position,
}

impl Node {
    /// The keyword, when known (always, for nodes from [`super::parse_syntax`]).
    pub fn known_keyword(&self) -> Option<Keyword> {
        Keyword::parse(&self.keyword)
    }

    pub(crate) fn can_contain_heredoc(&self) -> bool {
        let node = match (self.known_keyword(), &self.sub) {
            (Some(Keyword::Onbuild), Some(sub)) => sub,
            _ => self,
        };
        matches!(
            node.known_keyword(),
            Some(Keyword::Run | Keyword::Copy | Keyword::Add)
        ) && !node.json
    }
}

/// Builds the node for `text`, which is `logical.text[base..]`.
pub(crate) fn build(
    file: &str,
    logical: &Logical,
    base: usize,
    text: &str,
    escape: char,
) -> Result<Node, ParseError> {
    let pos = |offset: usize| logical.position(base + offset);
    let start = text.len() - text.trim_start().len();
    let end = text.trim_end().len();
    let body = &text[start..end];
    let keyword_len = body.find(is_split_space).unwrap_or(body.len());
    let keyword = &body[..keyword_len];
    let keyword_at = pos(start);
    let Some(kw) = Keyword::parse(keyword) else {
        let names = crate::ast::Keyword::ALL.map(|k| k.as_str());
        let hint = closest(&keyword.to_ascii_uppercase(), names)
            .map(|k| format!(" (did you mean {k}?)"))
            .unwrap_or_default();
        return Err(ParseError::at(
            file,
            keyword_at,
            format!("unknown instruction: {keyword}{hint}"),
        ));
    };
    let after = start + keyword_len;
    let rest_start = after
        + (text[after..end].len() - text[after..end].trim_start_matches(is_split_space).len());
    let rest = &text[rest_start..end];
    let (flag_words, args_off) = words::extract_flags(rest, escape);
    let flags = flag_words
        .into_iter()
        .map(|(word, off)| {
            let word = word.strip_prefix("--").unwrap_or(&word);
            let (name, value) = match word.split_once('=') {
                Some((n, v)) => (n.to_owned(), Some(v.to_owned())),
                None => (word.to_owned(), None),
            };
            Flag {
                name,
                value,
                position: pos(rest_start + off),
            }
        })
        .collect();
    let args_raw = &rest[args_off..];
    let args_base = rest_start + args_off + (args_raw.len() - args_raw.trim_start().len());
    let args_text = args_raw.trim();
    let last_char = pos(body.char_indices().last().map_or(start, |(i, _)| start + i));

    let mut node = Node {
        keyword: keyword.to_owned(),
        span: span_at(keyword_at),
        original: text.to_owned(),
        flags,
        args: Vec::new(),
        json: false,
        sub: None,
        heredocs: Vec::new(),
        arg_positions: Vec::new(),
        args_start: pos(args_base),
        last_char,
    };
    let at_args = |pieces: Vec<Piece>| -> (Vec<String>, Vec<Position>) {
        pieces
            .into_iter()
            .map(|(w, off)| (w, pos(args_base + off)))
            .unzip()
    };
    let json_error = |file: &str| {
        ParseError::at(
            file,
            pos(args_base),
            "when using JSON array syntax, arrays must be comprised of strings only",
        )
    };
    let maybe_json = |node: &mut Node, text: &str, off: usize| -> Result<(), ParseError> {
        if text.is_empty() {
            return Ok(());
        }
        match words::parse_json(text) {
            Ok(items) => {
                node.arg_positions
                    .extend(items.iter().map(|_| pos(args_base + off)));
                node.args.extend(items);
                node.json = true;
            }
            Err(JsonError::NotStrings) => return Err(json_error(file)),
            Err(JsonError::NotJson) => {
                node.args.push(text.to_owned());
                node.arg_positions.push(pos(args_base + off));
            }
        }
        Ok(())
    };

    match kw {
        Keyword::Add | Keyword::Copy | Keyword::Volume => match words::parse_json(args_text) {
            Ok(items) => {
                node.arg_positions = items.iter().map(|_| pos(args_base)).collect();
                node.args = items;
                node.json = true;
            }
            Err(JsonError::NotStrings) => return Err(json_error(file)),
            Err(JsonError::NotJson) => {
                (node.args, node.arg_positions) = at_args(words::split_whitespace(args_text));
            }
        },
        Keyword::Expose | Keyword::From => {
            (node.args, node.arg_positions) = at_args(words::split_whitespace(args_text));
        }
        Keyword::Arg => {
            (node.args, node.arg_positions) = at_args(words::split_words(args_text, escape));
        }
        Keyword::Cmd | Keyword::Entrypoint | Keyword::Run | Keyword::Shell => {
            maybe_json(&mut node, args_text, 0)?;
        }
        Keyword::Maintainer | Keyword::StopSignal | Keyword::User | Keyword::Workdir => {
            if !args_text.is_empty() {
                node.args.push(args_text.to_owned());
                node.arg_positions.push(pos(args_base));
            }
        }
        Keyword::Env | Keyword::Label => {
            name_values(file, &mut node, kw, args_text, &pos, args_base, escape)?
        }
        Keyword::Healthcheck => {
            let typ_len = args_text
                .find(char::is_whitespace)
                .unwrap_or(args_text.len());
            if typ_len > 0 {
                node.args.push(args_text[..typ_len].to_owned());
                node.arg_positions.push(pos(args_base));
                let cmd = args_text[typ_len..].trim_start();
                let cmd_off = args_text.len() - cmd.len();
                maybe_json(&mut node, cmd, cmd_off)?;
            }
        }
        Keyword::Onbuild => {
            if !args_text.is_empty() {
                let sub = build(file, logical, base + args_base, args_text, escape)?;
                node.sub = Some(Box::new(sub));
            }
        }
    }
    Ok(node)
}

/// `ENV`/`LABEL`: `k=v k2=v2` or the legacy `k v w` (value = rest of the line).
fn name_values(
    file: &str,
    node: &mut Node,
    kw: Keyword,
    text: &str,
    pos: &dyn Fn(usize) -> Position,
    base: usize,
    escape: char,
) -> Result<(), ParseError> {
    let pieces = words::split_words(text, escape);
    let Some((first, _)) = pieces.first() else {
        return Ok(());
    };
    if !first.contains('=') {
        let mut parts = words::split_whitespace(text).into_iter();
        let key = parts.next();
        let Some((_, value_off)) = parts.next() else {
            return Err(ParseError::at(
                file,
                pos(base),
                format!("{kw} must have two arguments"),
            ));
        };
        let (key, key_off) = key.unwrap_or_default();
        node.args = vec![key, text[value_off..].to_owned(), String::new()];
        node.arg_positions = vec![
            pos(base + key_off),
            pos(base + value_off),
            pos(base + value_off),
        ];
        return Ok(());
    }
    for (word, off) in pieces {
        let Some((key, value)) = word.split_once('=') else {
            return Err(ParseError::at(
                file,
                pos(base + off),
                format!("syntax error - can't find = in {word:?}. Must be of the form: name=value"),
            ));
        };
        node.args
            .extend([key.to_owned(), value.to_owned(), "=".to_owned()]);
        node.arg_positions.extend([pos(base + off); 3]);
    }
    Ok(())
}
