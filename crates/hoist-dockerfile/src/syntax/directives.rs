//! Parser directives: `# syntax=`, `# escape=`, `# check=` before anything else.

use crate::ast::Directives;

/// Recognises directives until the first line that is not one.
#[derive(Debug, Default)]
pub(crate) struct DirectiveParser {
    done: bool,
    seen: Vec<String>,
}

impl DirectiveParser {
    /// Looks at one line (newline and leading blanks removed). Records a directive in
    /// `directives`; returns an error message for a repeated directive or a bad escape.
    pub(crate) fn line(&mut self, line: &str, directives: &mut Directives) -> Result<(), String> {
        if self.done {
            return Ok(());
        }
        let Some((key, value)) = split_directive(line) else {
            self.done = true;
            return Ok(());
        };
        let key = key.to_ascii_lowercase();
        if !matches!(key.as_str(), "syntax" | "escape" | "check") {
            self.done = true;
            return Ok(());
        }
        if self.seen.contains(&key) {
            return Err(format!("only one {key} parser directive can be used"));
        }
        self.seen.push(key.clone());
        match key.as_str() {
            "escape" => {
                directives.escape = match value {
                    "\\" => '\\',
                    "`" => '`',
                    other => {
                        return Err(format!(
                            "invalid escape token '{other}' does not match ` or \\"
                        ));
                    }
                }
            }
            "syntax" => directives.syntax = Some(value.to_owned()),
            _ => directives.check = Some(value.to_owned()),
        }
        Ok(())
    }
}

/// `#\s*name\s*=\s*value\s*` with an ASCII name (letter first) and a non-empty value.
fn split_directive(line: &str) -> Option<(&str, &str)> {
    const SPACE: [char; 5] = ['\t', '\n', '\u{c}', '\r', ' '];
    let rest = line.strip_prefix('#')?.trim_start();
    let name_len = rest
        .char_indices()
        .find(|&(i, c)| !(c.is_ascii_alphabetic() || (i > 0 && c.is_ascii_digit())))
        .map_or(rest.len(), |(i, _)| i);
    if name_len == 0 {
        return None;
    }
    let (name, rest) = rest.split_at(name_len);
    let value = rest
        .trim_start_matches(SPACE)
        .strip_prefix('=')?
        .trim_start_matches(SPACE)
        .trim_end_matches(SPACE);
    (!value.is_empty()).then_some((name, value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_directives() {
        assert_eq!(split_directive("# escape = `"), Some(("escape", "`")));
        assert_eq!(
            split_directive("#syntax=docker/dockerfile:1 "),
            Some(("syntax", "docker/dockerfile:1"))
        );
        assert_eq!(
            split_directive("# check=skip=A;error=true"),
            Some(("check", "skip=A;error=true"))
        );
        assert_eq!(split_directive("# escape ="), None);
        assert_eq!(split_directive("# 1x=y"), None);
        assert_eq!(split_directive("FROM x"), None);
    }

    #[test]
    fn stops_at_first_non_directive() {
        let mut p = DirectiveParser::default();
        let mut d = Directives::default();
        p.line("# Escape=`", &mut d).expect("valid");
        assert_eq!(d.escape, '`');
        assert!(p.line("# escape=\\", &mut d).is_err());
        p.line("# comment", &mut d).expect("comment");
        p.line("# syntax=x", &mut d).expect("ignored");
        assert_eq!(d.syntax, None);
        assert!(
            DirectiveParser::default()
                .line("# escape=x", &mut d)
                .is_err()
        );
    }
}
