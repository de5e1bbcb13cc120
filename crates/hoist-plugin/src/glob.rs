//! `*` globs for registry names, secret names and grants.

/// Matches `text` against `pattern`, where `*` stands for any run of characters.
/// ASCII case-insensitive, as host names are.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let p = pattern.as_bytes();
    let t = text.as_bytes();
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && p[pi] == b'*' {
            star = Some((pi, ti));
            pi += 1;
        } else if pi < p.len() && p[pi].eq_ignore_ascii_case(&t[ti]) {
            pi += 1;
            ti += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == b'*')
}

#[cfg(test)]
mod tests {
    use super::glob_match;

    #[test]
    fn globs() {
        let table = [
            ("*", "anything", true),
            ("*.azurecr.io", "acme.azurecr.io", true),
            ("*.azurecr.io", "ACME.AzureCR.io", true),
            ("*.azurecr.io", "azurecr.io", false),
            ("*.azurecr.io", "acme.azurecr.io.evil.com", false),
            ("HOIST_AUTH_*", "HOIST_AUTH_GHCR_IO_USER", true),
            ("HOIST_AUTH_*", "HOME", false),
            ("a*b*c", "aXXbYYc", true),
            ("a*b*c", "aXXbYY", false),
            ("ghcr.io", "ghcr.io", true),
            ("", "", true),
            ("", "x", false),
        ];
        for (p, t, want) in table {
            assert_eq!(glob_match(p, t), want, "{p} vs {t}");
        }
    }
}
