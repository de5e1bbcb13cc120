//! Which builder flags each instruction accepts, and their validation.

use crate::ast::{Flag, Keyword};
use crate::error::ParseError;
use crate::suggest::closest;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// `--link`, `--link=true|false`.
    Bool,
    /// `--from=x`, once.
    Value,
    /// `--mount=x`, repeatable.
    Repeated,
}

use Kind::{Bool, Repeated, Value};

/// The flags `keyword` accepts, sorted by name.
fn allowed(keyword: Keyword) -> &'static [(&'static str, Kind)] {
    match keyword {
        Keyword::From => &[("platform", Value)],
        Keyword::Copy => &[
            ("chmod", Value),
            ("chown", Value),
            ("exclude", Repeated),
            ("from", Value),
            ("link", Bool),
            ("parents", Bool),
        ],
        Keyword::Add => &[
            ("checksum", Value),
            ("chmod", Value),
            ("chown", Value),
            ("exclude", Repeated),
            ("keep-git-dir", Bool),
            ("link", Bool),
            ("unpack", Bool),
        ],
        Keyword::Run => &[
            ("device", Repeated),
            ("mount", Repeated),
            ("network", Value),
            ("security", Value),
        ],
        Keyword::Healthcheck => &[
            ("interval", Value),
            ("retries", Value),
            ("start-interval", Value),
            ("start-period", Value),
            ("timeout", Value),
        ],
        _ => &[],
    }
}

/// Names of the flags `keyword` accepts (without `--`), sorted.
pub fn allowed_flags(keyword: Keyword) -> Vec<&'static str> {
    allowed(keyword).iter().map(|(n, _)| *n).collect()
}

/// Checks `flags` against what `keyword` accepts.
pub(crate) fn validate(file: &str, keyword: Keyword, flags: &[Flag]) -> Result<(), ParseError> {
    let table = allowed(keyword);
    for (i, flag) in flags.iter().enumerate() {
        let fail = |message: String| Err(ParseError::at(file, flag.position, message));
        let Some(&(_, kind)) = table.iter().find(|(n, _)| *n == flag.name) else {
            let mut message = format!("unknown flag for {keyword}: --{}", flag.name);
            if table.is_empty() {
                message.push_str(&format!("; {keyword} takes no flags"));
            } else {
                let names: Vec<&str> = table.iter().map(|(n, _)| *n).collect();
                if let Some(hint) = closest(&flag.name, names.iter().copied()) {
                    message.push_str(&format!(" (did you mean --{hint}?)"));
                }
                let list: Vec<String> = names.iter().map(|n| format!("--{n}")).collect();
                message.push_str(&format!("; allowed flags: {}", list.join(", ")));
            }
            return fail(message);
        };
        if kind != Repeated && flags[..i].iter().any(|f| f.name == flag.name) {
            return fail(format!("duplicate flag for {keyword}: --{}", flag.name));
        }
        match (kind, flag.value.as_deref()) {
            (Bool, None) => {}
            (Bool, Some("")) | (Value | Repeated, None) => {
                return fail(format!("missing a value on flag: --{}", flag.name));
            }
            (Bool, Some(v))
                if v.eq_ignore_ascii_case("true") || v.eq_ignore_ascii_case("false") => {}
            (Bool, Some(v)) => {
                return fail(format!(
                    "expecting a boolean value for flag --{}, not: {v}",
                    flag.name
                ));
            }
            (_, Some(v)) => check_value(&flag.name, v).or_else(fail)?,
        }
    }
    Ok(())
}

fn check_value(name: &str, value: &str) -> Result<(), String> {
    let choices: &[&str] = match name {
        "network" => &["default", "none", "host"],
        "security" => &["sandbox", "insecure"],
        _ => return Ok(()),
    };
    if choices.contains(&value) {
        return Ok(());
    }
    Err(format!(
        "invalid value for --{name}: {value:?} (expected one of: {})",
        choices.join(", ")
    ))
}
