//! Splitting an instruction's text the way BuildKit's parser does: keyword, builder
//! flags, then arguments per instruction kind. Every piece keeps its byte offset.

use super::lines::is_split_space;

/// A piece of text and the byte offset where it starts.
pub(crate) type Piece = (String, usize);

/// Builder flags at the start of `text`: `--name[=value]` words (quotes and escapes
/// removed), stopping at the first word not starting with `--` or after a lone `--`.
/// Returns the flags and the offset where the arguments start.
pub(crate) fn extract_flags(text: &str, escape: char) -> (Vec<Piece>, usize) {
    let mut flags = Vec::new();
    let mut chars = text.char_indices().peekable();
    loop {
        // Skip spaces, then look for `--`.
        while chars.next_if(|(_, c)| c.is_whitespace()).is_some() {}
        let Some(&(start, _)) = chars.peek() else {
            return (flags, text.len());
        };
        if !text[start..].starts_with("--") {
            return (flags, start);
        }
        let mut word = String::new();
        let mut quote: Option<char> = None;
        let mut end = text.len();
        while let Some((i, c)) = chars.next() {
            match quote {
                None if c.is_whitespace() => {
                    end = i;
                    break;
                }
                None if c == '\'' || c == '"' => quote = Some(c),
                Some(q) if c == q => quote = None,
                _ if c == escape => match chars.next() {
                    Some((_, n)) => word.push(n),
                    // A trailing escape is dropped (and closes an open quote).
                    None => quote = None,
                },
                _ => word.push(c),
            }
        }
        if word == "--" {
            return (flags, end);
        }
        flags.push((word, start));
    }
}

/// Splits on runs of `[\t\v\f\r ]` (the text is already trimmed).
pub(crate) fn split_whitespace(text: &str) -> Vec<Piece> {
    if text.is_empty() {
        return Vec::new();
    }
    let mut out = Vec::new();
    let mut start: Option<usize> = Some(0);
    for (i, c) in text.char_indices() {
        if is_split_space(c) {
            if let Some(s) = start.take() {
                out.push((text[s..i].to_owned(), s));
            }
        } else if start.is_none() {
            start = Some(i);
        }
    }
    if let Some(s) = start {
        out.push((text[s..].to_owned(), s));
    }
    out
}

/// Splits into words on whitespace, keeping quotes and escapes in the words (they are
/// removed later by expansion). Used by `ARG`, `ENV` and `LABEL`.
pub(crate) fn split_words(text: &str, escape: char) -> Vec<Piece> {
    let mut out = Vec::new();
    let mut chars = text.char_indices().peekable();
    loop {
        while chars.next_if(|(_, c)| c.is_whitespace()).is_some() {}
        let Some(&(start, _)) = chars.peek() else {
            return out;
        };
        let mut word = String::new();
        let mut quote: Option<char> = None;
        let mut quoted = false;
        while let Some((_, c)) = chars.next() {
            match quote {
                None if c.is_whitespace() => break,
                None => {
                    if c == '\'' || c == '"' {
                        quote = Some(c);
                        quoted = true;
                    }
                    if c == escape {
                        // An escape at the end of the line is dropped.
                        if let Some((_, n)) = chars.next() {
                            word.push(c);
                            word.push(n);
                        }
                        continue;
                    }
                    word.push(c);
                }
                Some(q) => {
                    if c == q {
                        quote = None;
                    }
                    if c == escape && q != '\'' {
                        match chars.next() {
                            Some((_, n)) => {
                                word.push(c);
                                word.push(n);
                            }
                            None => quote = None,
                        }
                        continue;
                    }
                    word.push(c);
                }
            }
        }
        if quoted || !word.is_empty() {
            out.push((word, start));
        }
    }
}

/// Why a JSON-looking argument was not used as JSON.
pub(crate) enum JsonError {
    /// Not JSON (or not an array): fall back to the shell form.
    NotJson,
    /// A JSON array with a non-string element: an error.
    NotStrings,
}

/// Parses `text` as a JSON array of strings.
pub(crate) fn parse_json(text: &str) -> Result<Vec<String>, JsonError> {
    let text = text.trim_start();
    if !text.starts_with('[') {
        return Err(JsonError::NotJson);
    }
    let value: serde_json::Value = serde_json::from_str(text).map_err(|_| JsonError::NotJson)?;
    let serde_json::Value::Array(items) = value else {
        return Err(JsonError::NotJson);
    };
    items
        .into_iter()
        .map(|v| match v {
            serde_json::Value::String(s) => Ok(s),
            _ => Err(JsonError::NotStrings),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(pieces: Vec<Piece>) -> Vec<String> {
        pieces.into_iter().map(|(w, _)| w).collect()
    }

    #[test]
    fn flags_stop_at_first_non_flag_and_at_double_dash() {
        let (f, at) = extract_flags("--from=a --link x y", '\\');
        assert_eq!(words(f), ["--from=a", "--link"]);
        assert_eq!(at, 16);
        let (f, at) = extract_flags("--a -- --b", '\\');
        assert_eq!(words(f), ["--a"]);
        assert_eq!(&"--a -- --b"[at..], " --b");
        let (f, _) = extract_flags("--mount=type=secret,id=\"a b\" cmd", '\\');
        assert_eq!(words(f), ["--mount=type=secret,id=a b"]);
    }

    #[test]
    fn words_keep_quotes() {
        assert_eq!(
            words(split_words(r#"a="1 2" b c\ d"#, '\\')),
            [r#"a="1 2""#, "b", r"c\ d"]
        );
        assert_eq!(words(split_words("x '' y", '\\')), ["x", "''", "y"]);
    }

    #[test]
    fn json_forms() {
        assert!(matches!(parse_json(r#"["a", "b"]"#), Ok(v) if v == ["a", "b"]));
        assert!(matches!(parse_json("[1]"), Err(JsonError::NotStrings)));
        assert!(matches!(parse_json("['a']"), Err(JsonError::NotJson)));
        assert!(matches!(parse_json("a"), Err(JsonError::NotJson)));
    }
}
