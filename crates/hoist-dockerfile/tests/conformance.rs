//! BuildKit's parser corpus and shell-word tables (fixtures/conformance, Apache-2.0).

use std::path::{Path, PathBuf};

use hoist_dockerfile::expand::Lexer;
use hoist_dockerfile::{dump, dump_syntax, parse, syntax::parse_syntax};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/conformance")
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

/// Each case's Dockerfile and expected dump.
fn parser_cases() -> Vec<(String, String, String)> {
    let dir = fixtures().join("dockerfile-parser");
    let mut cases: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.is_dir())
        .map(|p| {
            let name = p.file_name().expect("name").to_string_lossy().into_owned();
            (name, read(&p.join("Dockerfile")), read(&p.join("result")))
        })
        .collect();
    cases.sort();
    assert_eq!(cases.len(), 25, "the whole corpus is present");
    cases
}

/// Cases BuildKit's parser accepts but its instruction layer rejects; our typed
/// parser must reject them too, with these messages.
const TYPED_ERRORS: &[(&str, &str)] = &[
    (
        "flags",
        "Dockerfile:3:6: unknown flag for COPY: --user; allowed flags: --chmod, --chown, --exclude, --from, --link, --parents",
    ),
    (
        "health",
        "Dockerfile:4:13: HEALTHCHECK requires at least one argument",
    ),
];

#[test]
fn syntax_dump_reproduces_every_buildkit_result() {
    let mut failures = Vec::new();
    for (name, dockerfile, expected) in parser_cases() {
        match parse_syntax("Dockerfile", &dockerfile) {
            Ok(tree) if dump_syntax(&tree) == expected => {}
            Ok(tree) => failures.push(format!(
                "{name}:\n--- expected\n{expected}--- got\n{}",
                dump_syntax(&tree)
            )),
            Err(e) => failures.push(format!("{name}: {e}")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn typed_dump_reproduces_buildkit_results_and_rejects_invalid_cases() {
    let mut failures = Vec::new();
    for (name, dockerfile, expected) in parser_cases() {
        let want_error = TYPED_ERRORS
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, m)| *m);
        match (parse("Dockerfile", &dockerfile), want_error) {
            (Ok(df), None) if dump(&df) == expected => {}
            (Ok(df), None) => failures.push(format!(
                "{name}:\n--- expected\n{expected}--- got\n{}",
                dump(&df)
            )),
            (Err(e), Some(msg)) if e.to_string() == msg => {}
            (Err(e), _) => failures.push(format!("{name}: unexpected error {e}")),
            (Ok(_), Some(msg)) => failures.push(format!("{name}: expected error {msg}")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn env_var_env(name: &str) -> Option<String> {
    match name {
        "PWD" => Some("/home".into()),
        "SHELL" => Some("bash".into()),
        "KOREAN" => Some("한국어".into()),
        "NULL" => Some(String::new()),
        _ => None,
    }
}

#[test]
fn env_var_table_unix_and_all_platform_rows() {
    let table = read(&fixtures().join("shell-words/envVarTest"));
    let lexer = Lexer::new('\\');
    let (mut checked, mut failures) = (0, Vec::new());
    for (n, line) in table.lines().enumerate() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split('|').collect();
        assert_eq!(fields.len(), 3, "line {}: {line}", n + 1);
        let (platform, input, expected) = (fields[0].trim(), fields[1].trim(), fields[2].trim());
        if platform == "W" {
            continue;
        }
        checked += 1;
        let got = lexer.expand_word(input, &env_var_env);
        let ok = match (&got, expected) {
            (Err(_), "error") => true,
            (Ok(v), e) => e != "error" && v == e,
            (Err(_), _) => false,
        };
        if !ok {
            failures.push(format!(
                "line {}: {input:?} expected {expected:?}, got {got:?}",
                n + 1
            ));
        }
    }
    assert_eq!(checked, 228, "every U and A row is checked");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn words_table() {
    let table = read(&fixtures().join("shell-words/wordsTest"));
    let lexer = Lexer::new('\\');
    let mut env: Vec<(String, String)> = Vec::new();
    let (mut checked, mut failures) = (0, Vec::new());
    for (n, line) in table.lines().enumerate() {
        if line.starts_with('#') {
            continue;
        }
        if let Some(assign) = line.strip_prefix("ENV ") {
            let (k, v) = assign
                .trim_start_matches(' ')
                .split_once('=')
                .expect("ENV k=v");
            env.push((k.to_owned(), v.to_owned()));
            continue;
        }
        let (input, expected) = line.split_once('|').expect("one |");
        let input = input.trim();
        let expected: Vec<&str> = expected.trim_start_matches(' ').split(',').collect();
        let lookup = |name: &str| {
            env.iter()
                .rev()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        };
        checked += 1;
        let got = match lexer.expand_words(input, &lookup) {
            Ok(words) => words,
            Err(_) => vec!["error".to_owned()],
        };
        if got != expected {
            failures.push(format!(
                "line {}: {input:?} expected {expected:?}, got {got:?}",
                n + 1
            ));
        }
    }
    assert_eq!(checked, 24, "every row is checked");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
