//! Heredoc markers (`<<EOF`, `<<-EOF`, `3<<"EOF"`) and their bodies.

use crate::error::ExpandError;
use crate::expand::{LexOptions, Lexer};

/// A heredoc marker found in an instruction line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Marker {
    pub(crate) name: String,
    pub(crate) chomp: bool,
    pub(crate) expand: bool,
    pub(crate) fd: Option<u32>,
}

/// Parses one word as a heredoc marker: `^(\d*)<<(-?)\s*([^<]*)$` whose delimiter
/// lexes to exactly one word. Returns `None` for words that are not markers.
pub(crate) fn parse_marker(word: &str) -> Result<Option<Marker>, ExpandError> {
    let digits = word.len() - word.trim_start_matches(|c: char| c.is_ascii_digit()).len();
    let Some(rest) = word[digits..].strip_prefix("<<") else {
        return Ok(None);
    };
    let (chomp, rest) = match rest.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, rest),
    };
    let rest = rest.trim_start_matches(['\t', '\n', '\u{c}', '\r', ' ']);
    if rest.is_empty() || rest.contains('<') {
        return Ok(None);
    }
    let none = |_: &str| None;
    let plain = LexOptions {
        keep_unset: true,
        ..LexOptions::default()
    };
    let words = Lexer::with_options('\\', plain).expand_words(rest, &none)?;
    let [name] = words.as_slice() else {
        return Ok(None);
    };
    let raw = LexOptions {
        keep_quotes: true,
        ..plain
    };
    let raw_words = Lexer::with_options('\\', raw).expand_words(rest, &none)?;
    let [raw_name] = raw_words.as_slice() else {
        return Ok(None);
    };
    let quotes = |s: &str| s.chars().filter(|c| matches!(c, '\'' | '"')).count();
    Ok(Some(Marker {
        name: name.clone(),
        chomp,
        expand: quotes(name) == quotes(raw_name),
        fd: (digits > 0).then(|| word[..digits].parse().ok()).flatten(),
    }))
}

/// All heredoc markers of an instruction line, in order.
pub(crate) fn markers_in_line(line: &str) -> Result<Vec<Marker>, ExpandError> {
    let options = LexOptions {
        keep_quotes: true,
        keep_escapes: true,
        keep_unset: true,
        ignore_quotes: false,
    };
    let words = match Lexer::with_options('\\', options).expand_words(line, &|_| None) {
        Ok(words) => words,
        // As BuildKit: a line that does not lex (e.g. an open quote) has no heredocs.
        Err(_) => return Ok(Vec::new()),
    };
    let mut markers = Vec::new();
    for word in words {
        if let Some(m) = parse_marker(&word)? {
            markers.push(m);
        }
    }
    Ok(markers)
}

/// Byte offsets of the heredoc markers in `line` (start of the fd digits or `<<`),
/// best effort: the n-th `<<` for the n-th marker.
pub(crate) fn marker_offsets(line: &str, count: usize) -> Vec<usize> {
    let mut out = Vec::with_capacity(count);
    let mut from = 0;
    while out.len() < count {
        let Some(i) = line[from..].find("<<").map(|i| i + from) else {
            break;
        };
        let digits = line[..i].len()
            - line[..i]
                .trim_end_matches(|c: char| c.is_ascii_digit())
                .len();
        out.push(i - digits);
        from = i + 2;
    }
    out
}

/// Strips leading tabs from every line (for `<<-`).
pub(crate) fn chomp(content: &str) -> String {
    content
        .split_inclusive('\n')
        .map(|l| l.trim_start_matches('\t'))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn marker(word: &str) -> Option<Marker> {
        parse_marker(word).expect("lexes")
    }

    #[test]
    fn markers() {
        let m = marker("<<EOF").expect("marker");
        assert_eq!(
            (m.name.as_str(), m.chomp, m.expand, m.fd),
            ("EOF", false, true, None)
        );
        let m = marker("3<<-'EOF'").expect("marker");
        assert_eq!(
            (m.name.as_str(), m.chomp, m.expand, m.fd),
            ("EOF", true, false, Some(3))
        );
        assert_eq!(marker("<<eo'f'").expect("marker").name, "eof");
        assert!(!marker("<<eo'f'").expect("marker").expand);
        assert_eq!(marker(r"<<eo\'f").expect("marker").name, "eo'f");
        assert!(marker(r"<<eo\'f").expect("marker").expand);
        assert_eq!(marker("<<'one two'").expect("marker").name, "one two");
        assert_eq!(marker("<<$EOF").expect("marker").name, "$EOF");
        assert_eq!(marker("<<  EOF").expect("marker").name, "EOF");
        assert!(marker("\"<<EOF\"").is_none());
        assert!(marker("<<").is_none());
        assert!(marker("a<<EOF").is_none());
    }

    #[test]
    fn markers_of_a_line() {
        let names: Vec<String> = markers_in_line("COPY <<A <<-\"B\" /dest")
            .expect("lexes")
            .into_iter()
            .map(|m| m.name)
            .collect();
        assert_eq!(names, ["A", "B"]);
        assert!(
            markers_in_line("RUN echo \"<<EOF\"")
                .expect("lexes")
                .is_empty()
        );
    }

    #[test]
    fn chomps_tabs() {
        assert_eq!(chomp("\t\ta\n\tb\n c\n"), "a\nb\n c\n");
        assert_eq!(marker_offsets("RUN a 3<<A <<B", 2), [6, 11]);
    }
}
