//! BuildKit's AST dump notation (`Node.Dump`), as in its parser test corpus:
//! one S-expression per instruction, e.g. `(copy ["--from=a"] "x" "/y")`.

use crate::ast::{Command, Dockerfile, Flag, Instruction};
use crate::syntax::{Node, SyntaxTree};

/// Dumps a typed Dockerfile in BuildKit's notation (one line per instruction).
pub fn dump(dockerfile: &Dockerfile) -> String {
    let mut out = String::new();
    for inst in &dockerfile.instructions {
        out.push('(');
        dump_instruction(&mut out, inst);
        out.push_str(")\n");
    }
    out
}

/// Dumps a syntax tree in BuildKit's notation (one line per instruction).
pub fn dump_syntax(tree: &SyntaxTree) -> String {
    let mut out = String::new();
    for node in &tree.nodes {
        out.push('(');
        dump_node(&mut out, node);
        out.push_str(")\n");
    }
    out
}

fn dump_instruction(out: &mut String, inst: &Instruction) {
    head(out, &inst.keyword().as_str().to_lowercase(), &inst.flags);
    if let Command::Onbuild(sub) = &inst.command {
        out.push_str(" (");
        dump_instruction(out, sub);
        out.push(')');
    }
    args(out, &inst.raw_args);
}

fn dump_node(out: &mut String, node: &Node) {
    head(out, &node.keyword.to_lowercase(), &node.flags);
    if let Some(sub) = &node.sub {
        out.push_str(" (");
        dump_node(out, sub);
        out.push(')');
    }
    args(out, &node.args);
}

fn head(out: &mut String, keyword: &str, flags: &[Flag]) {
    out.push_str(keyword);
    if !flags.is_empty() {
        out.push_str(" [");
        for (i, flag) in flags.iter().enumerate() {
            if i > 0 {
                out.push(' ');
            }
            go_quote(out, &flag.as_written());
        }
        out.push(']');
    }
}

fn args(out: &mut String, args: &[String]) {
    for arg in args {
        out.push(' ');
        go_quote(out, arg);
    }
}

/// Appends `s` quoted like Go's `strconv.Quote`.
pub(crate) fn go_quote(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if is_go_printable(c) => out.push(c),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c if (c as u32) < 0x10000 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push_str(&format!("\\U{:08x}", c as u32)),
        }
    }
    out.push('"');
}

/// Approximates Go's `unicode.IsPrint`: letters, marks, numbers, punctuation, symbols
/// and the ASCII space. Without Unicode category tables, controls, non-ASCII spaces,
/// common format characters, private-use and noncharacters are treated as unprintable.
fn is_go_printable(c: char) -> bool {
    if c == ' ' {
        return true;
    }
    if c.is_control() || c.is_whitespace() {
        return false;
    }
    let u = c as u32;
    let format = matches!(u, 0xad | 0x600..=0x605 | 0x61c | 0x6dd | 0x70f | 0x180e
        | 0x200b..=0x200f | 0x202a..=0x202e | 0x2060..=0x2064 | 0x2066..=0x206f
        | 0xfeff | 0xfff9..=0xfffb | 0x110bd | 0xe0001 | 0xe0020..=0xe007f);
    let private = matches!(u, 0xe000..=0xf8ff | 0xf0000..=0x10ffff);
    let nonchar = matches!(u, 0xfdd0..=0xfdef) || (u & 0xfffe) == 0xfffe;
    !(format || private || nonchar)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(s: &str) -> String {
        let mut out = String::new();
        go_quote(&mut out, s);
        out
    }

    #[test]
    fn quotes_like_go() {
        assert_eq!(q("a\"b\\c"), r#""a\"b\\c""#);
        assert_eq!(q("\u{0} \u{8} \t\n"), r#""\x00 \b \t\n""#);
        assert_eq!(q("♥ 한국어"), "\"♥ 한국어\"");
        assert_eq!(q("\u{a0}\u{200b}\u{7f}"), r#""\u00a0\u200b\x7f""#);
        assert_eq!(q("\u{f0000}"), r#""\U000f0000""#);
    }
}
