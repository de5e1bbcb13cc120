//! Bad input: one clear error naming file:line:column, non-zero exit, store untouched.

use crate::harness::{Hoist, fixture};

fn bad(name: &str) -> (Hoist, String) {
    let h = Hoist::new();
    let file = format!("{}/{name}.Dockerfile", fixture("bad"));
    let err = h.fail(&["build", "-t", "bad:1", "-f", &file, &fixture("bad")]);
    let manifests = h.index()["manifests"].as_array().map_or(0, |m| m.len());
    assert_eq!(manifests, 0, "a failed build must not name anything");
    (h, err)
}

#[test]
fn unknown_instruction_names_line_and_column() {
    let (_, err) = bad("unknown-instruction");
    assert!(err.contains("unknown-instruction.Dockerfile:2:1"), "{err}");
    assert!(err.to_lowercase().contains("coppy"), "{err}");
}

#[test]
fn copy_outside_the_context_is_refused() {
    let (_, err) = bad("escape");
    assert!(err.contains("escape.Dockerfile:2:1"), "{err}");
    assert!(err.contains("../outside"), "{err}");
}

#[test]
fn run_without_a_shell_names_the_step_and_the_missing_program() {
    // FROM scratch has no /bin/sh: the error names the step and what could not run.
    let (_, err) = bad("run");
    assert!(err.contains("run.Dockerfile:2:1"), "{err}");
    assert!(err.contains("/bin/sh -c echo hi"), "{err}");
    assert!(err.contains("No such file or directory"), "{err}");
}

#[test]
fn unterminated_heredoc() {
    let (_, err) = bad("heredoc");
    assert!(err.contains("heredoc.Dockerfile:"), "{err}");
    assert!(err.to_lowercase().contains("heredoc"), "{err}");
}

#[test]
fn cyclic_from() {
    let (_, err) = bad("cycle");
    assert!(err.contains("circular dependency"), "{err}");
    assert!(err.contains("cycle.Dockerfile:"), "{err}");
}

#[test]
fn missing_source() {
    let (_, err) = bad("missing");
    assert!(err.contains("missing.txt"), "{err}");
}

#[test]
fn invalid_reference_names_the_character() {
    let h = Hoist::new();
    let err = h.fail(&["build", "-t", "Demo:1", &fixture("scratch-copy")]);
    assert!(
        err.contains("must be lowercase") && err.contains("'D'"),
        "{err}"
    );
}
