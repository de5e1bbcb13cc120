//! `WWW-Authenticate` parsing (RFC 7235): several challenges per header, quoted params.

/// One authentication challenge, e.g. `Bearer realm="...",service="..."`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    /// The scheme, lowercased (`basic`, `bearer`).
    pub scheme: String,
    /// Parameters in order; names lowercased, values unescaped.
    pub params: Vec<(String, String)>,
}

impl Challenge {
    /// The value of a parameter (name compared case-insensitively).
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Parses every challenge in the given header values.
pub fn parse_challenges<'a>(headers: impl IntoIterator<Item = &'a str>) -> Vec<Challenge> {
    let mut out = Vec::new();
    for h in headers {
        parse_one_header(h, &mut out);
    }
    out
}

fn is_tchar(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c)
}

struct Scanner<'a> {
    s: &'a str,
    i: usize,
}

impl Scanner<'_> {
    fn skip_ws(&mut self) {
        while let Some(c) = self.peek() {
            if c == ' ' || c == '\t' {
                self.i += 1;
            } else {
                break;
            }
        }
    }
    fn skip_ws_commas(&mut self) {
        while let Some(c) = self.peek() {
            if c == ' ' || c == '\t' || c == ',' {
                self.i += 1;
            } else {
                break;
            }
        }
    }
    fn peek(&self) -> Option<char> {
        self.s[self.i..].chars().next()
    }
    fn token(&mut self) -> &str {
        let start = self.i;
        while let Some(c) = self.peek() {
            if is_tchar(c) || c == '/' {
                self.i += c.len_utf8();
            } else {
                break;
            }
        }
        &self.s[start..self.i]
    }
    fn quoted(&mut self) -> String {
        // at '"'
        self.i += 1;
        let mut v = String::new();
        while let Some(c) = self.peek() {
            self.i += c.len_utf8();
            match c {
                '"' => return v,
                '\\' => {
                    if let Some(n) = self.peek() {
                        self.i += n.len_utf8();
                        v.push(n);
                    }
                }
                _ => v.push(c),
            }
        }
        v
    }
}

fn parse_one_header(h: &str, out: &mut Vec<Challenge>) {
    let mut sc = Scanner { s: h, i: 0 };
    let mut current: Option<Challenge> = None;
    loop {
        sc.skip_ws_commas();
        if sc.peek().is_none() {
            break;
        }
        let before = sc.i;
        let tok = sc.token().to_string();
        if tok.is_empty() {
            // Unexpected character: skip it to make progress.
            sc.i = before + sc.peek().map_or(1, char::len_utf8);
            continue;
        }
        sc.skip_ws();
        if sc.peek() == Some('=') {
            sc.i += 1;
            sc.skip_ws();
            let value = if sc.peek() == Some('"') {
                sc.quoted()
            } else {
                // Unquoted: up to the next comma or blank (lenient, accepts URLs).
                let start = sc.i;
                while let Some(c) = sc.peek() {
                    if c == ',' || c == ' ' || c == '\t' {
                        break;
                    }
                    sc.i += c.len_utf8();
                }
                sc.s[start..sc.i].to_string()
            };
            match current.as_mut() {
                Some(ch) => ch.params.push((tok.to_ascii_lowercase(), value)),
                None => continue, // a parameter before any scheme: ignore it
            }
        } else {
            // A new scheme begins.
            if let Some(ch) = current.take() {
                out.push(ch);
            }
            current = Some(Challenge {
                scheme: tok.to_ascii_lowercase(),
                params: Vec::new(),
            });
        }
    }
    if let Some(ch) = current {
        out.push(ch);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_with_quoted_params() {
        let c = parse_challenges([
            r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/alpine:pull,push""#,
        ]);
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].scheme, "bearer");
        assert_eq!(c[0].param("realm"), Some("https://auth.docker.io/token"));
        assert_eq!(c[0].param("SERVICE"), Some("registry.docker.io"));
        assert_eq!(
            c[0].param("scope"),
            Some("repository:library/alpine:pull,push")
        );
    }

    #[test]
    fn several_challenges_escapes_and_headers() {
        let c = parse_challenges([
            r#"Basic realm="say \"hi\" \\ here", Bearer realm=https://a/t, error="insufficient_scope""#,
            "Negotiate abc==",
        ]);
        assert_eq!(c.len(), 3, "{c:?}");
        assert_eq!(c[0].scheme, "basic");
        assert_eq!(c[0].param("realm"), Some(r#"say "hi" \ here"#));
        assert_eq!(c[1].scheme, "bearer");
        assert_eq!(c[1].param("realm"), Some("https://a/t"));
        assert_eq!(c[1].param("error"), Some("insufficient_scope"));
        assert_eq!(c[2].scheme, "negotiate");
    }

    #[test]
    fn tolerates_garbage() {
        assert!(parse_challenges([""]).is_empty());
        let c = parse_challenges([r#"=x, Basic realm="unterminated"#]);
        let basic = c
            .iter()
            .find(|c| c.scheme == "basic")
            .expect("basic parsed");
        assert_eq!(basic.param("realm"), Some("unterminated"));
    }
}
