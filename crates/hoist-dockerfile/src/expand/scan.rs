//! The scanner behind [`super::Lexer`]: one pass that expands and splits a word.

use std::collections::BTreeSet;

use super::pattern::Pattern;
use super::{Expansion, LexOptions};
use crate::error::ExpandError;

/// Accumulates words while a word is expanded.
#[derive(Default)]
struct Words {
    buf: String,
    words: Vec<String>,
    in_word: bool,
}

impl Words {
    fn add_char(&mut self, c: char) {
        if c.is_whitespace() {
            if self.in_word && !self.buf.is_empty() {
                self.words.push(std::mem::take(&mut self.buf));
                self.in_word = false;
            }
        } else {
            self.add_raw_char(c);
        }
    }

    fn add_raw_char(&mut self, c: char) {
        self.buf.push(c);
        self.in_word = true;
    }

    fn add_str(&mut self, s: &str) {
        s.chars().for_each(|c| self.add_char(c));
    }

    fn add_raw_str(&mut self, s: &str) {
        self.buf.push_str(s);
        self.in_word = true;
    }

    fn finish(mut self) -> Vec<String> {
        if !self.buf.is_empty() {
            self.words.push(self.buf);
        }
        self.words
    }
}

pub(super) struct Scan<'a> {
    chars: Vec<char>,
    pos: usize,
    escape: char,
    options: LexOptions,
    raw_escapes: bool,
    env: &'a dyn Fn(&str) -> Option<String>,
    used: BTreeSet<String>,
    unset: BTreeSet<String>,
}

impl<'a> Scan<'a> {
    pub(super) fn new(
        word: &str,
        escape: char,
        options: LexOptions,
        env: &'a dyn Fn(&str) -> Option<String>,
    ) -> Self {
        Self {
            chars: word.chars().collect(),
            pos: 0,
            escape,
            options,
            raw_escapes: options.keep_escapes,
            env,
            used: BTreeSet::new(),
            unset: BTreeSet::new(),
        }
    }

    /// Expands the whole word.
    pub(super) fn run(mut self) -> Result<Expansion, ExpandError> {
        let (value, words) = self.until(None, self.options.keep_escapes)?;
        Ok(Expansion {
            value,
            words,
            used: self.used,
            unset: self.unset,
        })
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn next(&mut self) -> Option<char> {
        let c = self.peek();
        if c.is_some() {
            self.pos += 1;
        }
        c
    }

    fn lookup(&mut self, name: &str) -> Option<String> {
        let value = (self.env)(name);
        let set = if value.is_some() {
            &mut self.used
        } else {
            &mut self.unset
        };
        set.insert(name.to_owned());
        value
    }

    /// Processes up to `stop` (consumed) or the end of input (only allowed without `stop`).
    fn until(
        &mut self,
        stop: Option<char>,
        raw_escapes: bool,
    ) -> Result<(String, Vec<String>), ExpandError> {
        let saved = std::mem::replace(&mut self.raw_escapes, raw_escapes);
        let result = self.until_inner(stop);
        self.raw_escapes = saved;
        result
    }

    fn until_inner(&mut self, stop: Option<char>) -> Result<(String, Vec<String>), ExpandError> {
        let mut result = String::new();
        let mut words = Words::default();
        let quotes = !self.options.ignore_quotes;
        while let Some(c) = self.peek() {
            if Some(c) == stop {
                self.next();
                return Ok((result, words.finish()));
            }
            match c {
                '$' => {
                    let s = self.dollar()?;
                    words.add_str(&s);
                    result.push_str(&s);
                }
                '<' => {
                    let s = self.possible_heredoc();
                    words.add_raw_str(&s);
                    result.push_str(&s);
                }
                '\'' if quotes => {
                    let s = self.single_quoted()?;
                    words.add_raw_str(&s);
                    result.push_str(&s);
                }
                '"' if quotes => {
                    let s = self.double_quoted()?;
                    words.add_raw_str(&s);
                    result.push_str(&s);
                }
                _ => {
                    self.next();
                    if c == self.escape {
                        if self.raw_escapes {
                            words.add_raw_char(c);
                            result.push(c);
                        }
                        // The escape character escapes anything, except the end of input.
                        let Some(escaped) = self.next() else { break };
                        words.add_raw_char(escaped);
                        result.push(escaped);
                    } else {
                        words.add_char(c);
                        result.push(c);
                    }
                }
            }
        }
        match stop {
            Some(expected) => Err(ExpandError::UnexpectedEnd { expected }),
            None => Ok((result, words.finish())),
        }
    }

    fn single_quoted(&mut self) -> Result<String, ExpandError> {
        let mut out = String::new();
        let keep = self.options.keep_quotes;
        self.next();
        if keep {
            out.push('\'');
        }
        loop {
            match self.next() {
                None => return Err(ExpandError::UnterminatedQuote { quote: '\'' }),
                Some('\'') => {
                    if keep {
                        out.push('\'');
                    }
                    return Ok(out);
                }
                Some(c) => out.push(c),
            }
        }
    }

    fn double_quoted(&mut self) -> Result<String, ExpandError> {
        let mut out = String::new();
        let keep = self.options.keep_quotes;
        self.next();
        if keep {
            out.push('"');
        }
        loop {
            match self.peek() {
                None => return Err(ExpandError::UnterminatedQuote { quote: '"' }),
                Some('"') => {
                    self.next();
                    if keep {
                        out.push('"');
                    }
                    return Ok(out);
                }
                Some('$') => {
                    let s = self.dollar()?;
                    out.push_str(&s);
                }
                Some(mut c) => {
                    self.next();
                    if c == self.escape {
                        if self.raw_escapes {
                            out.push(c);
                        }
                        match self.peek() {
                            // A trailing escape is dropped; the loop then reports the open quote.
                            None => continue,
                            Some(n) if n == '"' || n == '$' || n == self.escape => {
                                self.next();
                                c = n;
                            }
                            // Other escapes stay literal inside double quotes.
                            Some(_) => {}
                        }
                    }
                    out.push(c);
                }
            }
        }
    }

    fn possible_heredoc(&mut self) -> String {
        self.next();
        if self.peek() != Some('<') {
            return "<".to_owned();
        }
        self.next();
        let mut out = "<<".to_owned();
        while let Some(c @ ('\t' | '\r' | ' ')) = self.peek() {
            out.push(c);
            self.next();
        }
        out
    }

    fn name(&mut self) -> String {
        let mut name = String::new();
        while let Some(c) = self.peek() {
            if name.is_empty() && c.is_numeric() {
                while let Some(d) = self.peek().filter(|d| d.is_numeric()) {
                    name.push(d);
                    self.next();
                }
                return name;
            }
            if name.is_empty() && matches!(c, '@' | '*' | '#' | '?' | '-' | '$' | '!' | '0') {
                self.next();
                return c.to_string();
            }
            if !(c.is_alphabetic() || c.is_numeric() || c == '_') {
                break;
            }
            name.push(c);
            self.next();
        }
        name
    }

    fn dollar(&mut self) -> Result<String, ExpandError> {
        self.next();
        if self.peek() != Some('{') {
            let name = self.name();
            if name.is_empty() {
                return Ok("$".to_owned());
            }
            return Ok(match self.lookup(&name) {
                Some(v) => v,
                None if self.options.keep_unset => format!("${name}"),
                None => String::new(),
            });
        }
        self.next();
        match self.peek() {
            None => return Err(ExpandError::MissingBrace),
            Some('{' | '}' | ':') => return Err(ExpandError::BadSubstitution),
            Some(_) => {}
        }
        let name = self.name();
        match self.next() {
            None => Err(ExpandError::MissingBrace),
            Some('}') => Ok(match self.lookup(&name) {
                Some(v) => v,
                None if self.options.keep_unset => format!("${{{name}}}"),
                None => String::new(),
            }),
            Some(':') => {
                let op = self.next();
                let mut modifier = ":".to_owned();
                modifier.extend(op);
                self.modifier(&name, op, &modifier, true)
            }
            Some(op @ ('+' | '-' | '?' | '#' | '%')) => {
                self.modifier(&name, Some(op), &op.to_string(), false)
            }
            Some('/') => self.substitute(&name),
            Some(other) => Err(ExpandError::UnsupportedModifier {
                modifier: other.to_string(),
            }),
        }
    }

    fn operand(&mut self, stop: char, raw_escapes: bool) -> Result<String, ExpandError> {
        match self.until(Some(stop), raw_escapes) {
            Ok((word, _)) => Ok(word),
            Err(_) if self.peek().is_none() && stop == '}' => Err(ExpandError::MissingBrace),
            Err(_) if self.peek().is_none() => Err(ExpandError::MissingSlash),
            Err(e) => Err(e),
        }
    }

    fn modifier(
        &mut self,
        name: &str,
        op: Option<char>,
        modifier: &str,
        null_is_unset: bool,
    ) -> Result<String, ExpandError> {
        let pattern_op = matches!(op, Some('#' | '%'));
        if null_is_unset && pattern_op {
            return Err(ExpandError::UnsupportedModifier {
                modifier: modifier.to_owned(),
            });
        }
        let word = self.operand('}', pattern_op)?;
        let value = self.lookup(name);
        if value.is_none() && self.options.keep_unset {
            return Ok(format!("${{{name}{modifier}{word}}}"));
        }
        let missing = match &value {
            None => true,
            Some(v) => null_is_unset && v.is_empty(),
        };
        match op {
            Some('-') => Ok(if missing {
                word
            } else {
                value.unwrap_or_default()
            }),
            Some('+') => Ok(if missing { String::new() } else { word }),
            Some('?') => {
                if missing {
                    let message = if !word.is_empty() {
                        word
                    } else if value.is_none() {
                        "is not allowed to be unset".to_owned()
                    } else {
                        "is not allowed to be empty".to_owned()
                    };
                    return Err(ExpandError::Required {
                        name: name.to_owned(),
                        message,
                    });
                }
                Ok(value.unwrap_or_default())
            }
            Some(c @ ('#' | '%')) => {
                let (longest, pat) = match word.strip_prefix(c) {
                    Some(rest) => (true, rest),
                    None => (false, word.as_str()),
                };
                let pattern = Pattern::compile(pat)?;
                let value = value.unwrap_or_default();
                Ok(if c == '#' {
                    pattern.trim_prefix(&value, longest)
                } else {
                    pattern.trim_suffix(&value, longest)
                })
            }
            _ => Err(ExpandError::UnsupportedModifier {
                modifier: modifier.to_owned(),
            }),
        }
    }

    fn substitute(&mut self, name: &str) -> Result<String, ExpandError> {
        let all = self.peek() == Some('/');
        if all {
            self.next();
        }
        let pattern = self.operand('/', true)?;
        let replacement = self.operand('}', true)?;
        let value = self.lookup(name);
        if value.is_none() && self.options.keep_unset {
            let slashes = if all { "//" } else { "/" };
            return Ok(format!("${{{name}{slashes}{pattern}/{replacement}}}"));
        }
        let value = value.unwrap_or_default();
        Ok(Pattern::compile(&pattern)?.replace(&value, &replacement, all))
    }
}
