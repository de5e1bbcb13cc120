//! The parser and the lexer do not panic, whatever prefix of a real Dockerfile they get.

use std::path::Path;

use hoist_dockerfile::expand::Lexer;
use hoist_dockerfile::{dump, parse};

#[test]
fn every_prefix_of_every_corpus_file_parses_or_fails_cleanly() {
    let dir =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/conformance/dockerfile-parser");
    let mut sources: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .map(|e| e.expect("dir entry").path().join("Dockerfile"))
        .filter(|p| p.is_file())
        .map(|p| {
            std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("read {}: {e}", p.display()))
        })
        .collect();
    sources.push("FROM a\nRUN <<-'E' 3<<\"F\" x\n\té ${x:-ü}\nE\nF\nCOPY [\"é\", \"/ü\"]\nENV ключ=значение\n".into());
    let (mut parsed, mut failed) = (0, 0);
    let lexer = Lexer::new('\\');
    for src in &sources {
        for (i, _) in src.char_indices().step_by(2) {
            let prefix = &src[..i];
            match parse("Dockerfile", prefix) {
                Ok(df) => {
                    parsed += 1;
                    assert!(!dump(&df).is_empty());
                    for inst in &df.instructions {
                        assert!(inst.span.line >= 1 && inst.span.end_line >= inst.span.line);
                        // Expanding with no variables must not panic, and the words of a
                        // successful expansion contain no unquoted blanks at their ends.
                        if let Ok(words) = lexer.expand_words(&inst.original, &|_| None) {
                            assert!(words.iter().all(|w| !w.is_empty()), "{words:?}");
                        }
                    }
                }
                Err(e) => {
                    failed += 1;
                    assert!(e.line >= 1 && e.column >= 1, "{e}");
                    assert!(!e.message.is_empty());
                }
            }
        }
    }
    assert!(
        parsed > 500 && failed > 50,
        "parsed {parsed}, failed {failed}"
    );
}
