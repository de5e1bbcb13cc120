//! Planning: split the Dockerfile into stages, resolve FROM and `--from` targets with the
//! global ARGs, prune stages the target does not need, and detect cycles. Pure: no I/O.

use std::collections::BTreeMap;

use hoist_dockerfile::expand::Lexer;
use hoist_dockerfile::{Command, Dockerfile, Instruction};
use hoist_oci::Reference;

use crate::error::{BuildError, Location};
use crate::vars::BuildArgs;

/// What a stage starts from.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Base {
    /// `FROM scratch`.
    Scratch,
    /// An earlier stage.
    Stage(usize),
    /// An image by reference.
    Image(Reference),
}

/// Where `COPY --from` reads.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum FromSource {
    /// Another stage.
    Stage(usize),
    /// An image by reference.
    Image(Reference),
}

/// One `FROM` … section.
#[derive(Debug, Clone)]
pub(crate) struct Stage {
    pub(crate) index: usize,
    pub(crate) name: Option<String>,
    pub(crate) base: Base,
    /// `FROM --platform=` after expansion.
    pub(crate) platform: Option<String>,
    pub(crate) from: Instruction,
    pub(crate) instructions: Vec<Instruction>,
    /// Stages this one reads with `COPY --from` / `ADD --from`.
    pub(crate) copy_from: Vec<usize>,
}

impl Stage {
    /// The label progress uses: the stage name or its index.
    pub(crate) fn label(&self) -> String {
        self.name
            .clone()
            .unwrap_or_else(|| format!("stage-{}", self.index))
    }
}

/// The stages to execute, in dependency order, plus the global ARG values.
pub(crate) struct Plan {
    pub(crate) stages: Vec<Stage>,
    pub(crate) order: Vec<usize>,
    pub(crate) target: usize,
    pub(crate) globals: BTreeMap<String, String>,
}

/// The `file:line:column` of an instruction.
pub(crate) fn loc(file: &str, ins: &Instruction) -> Location {
    Location {
        file: file.to_string(),
        line: ins.span.line as usize,
        column: ins.span.column as usize,
    }
}

/// Builds the plan.
pub(crate) fn plan(
    file: &str,
    df: &Dockerfile,
    lexer: &Lexer,
    build_args: &BuildArgs,
    automatic: &BTreeMap<String, String>,
    target: Option<&str>,
) -> Result<Plan, BuildError> {
    let mut globals: BTreeMap<String, String> = BTreeMap::new();
    let mut stages: Vec<Stage> = Vec::new();
    for ins in &df.instructions {
        let at = loc(file, ins);
        match &ins.command {
            Command::Arg(decls) if stages.is_empty() => {
                for d in decls {
                    let default = match &d.default {
                        Some(w) => Some(expand(lexer, &at, w, |n| {
                            globals.get(n).or_else(|| automatic.get(n)).cloned()
                        })?),
                        None => None,
                    };
                    if let Some(v) = build_args.take(&d.name).or(default) {
                        globals.insert(d.name.clone(), v);
                    }
                }
            }
            Command::From { image, alias } => {
                let lookup = |n: &str| globals.get(n).or_else(|| automatic.get(n)).cloned();
                let image = expand(lexer, &at, image, lookup)?;
                let platform = match ins.flag("platform").and_then(|f| f.value.clone()) {
                    Some(p) => Some(expand(lexer, &at, &p, lookup)?),
                    None => None,
                };
                let base = if image.eq_ignore_ascii_case("scratch") {
                    Base::Scratch
                } else if let Some(s) = stages
                    .iter()
                    .find(|s| s.name.as_deref() == Some(image.to_ascii_lowercase().as_str()))
                {
                    Base::Stage(s.index)
                } else {
                    Base::Image(
                        Reference::parse(&image).map_err(|e| BuildError::at(&at, e.to_string()))?,
                    )
                };
                let name = alias.as_ref().map(|a| a.to_ascii_lowercase());
                if let Some(n) = &name
                    && stages.iter().any(|s| s.name.as_ref() == Some(n))
                {
                    return Err(BuildError::at(&at, format!("duplicate stage name {n:?}")));
                }
                stages.push(Stage {
                    index: stages.len(),
                    name,
                    base,
                    platform,
                    from: ins.clone(),
                    instructions: Vec::new(),
                    copy_from: Vec::new(),
                });
            }
            _ => match stages.last_mut() {
                Some(stage) => stage.instructions.push(ins.clone()),
                None => {
                    return Err(BuildError::at(
                        &at,
                        "no build stage in current context: expected FROM before this instruction",
                    ));
                }
            },
        }
    }
    if stages.is_empty() {
        return Err(BuildError::NoStages(file.to_string()));
    }
    resolve_copy_from(file, lexer, &globals, automatic, &mut stages)?;
    let target = match target {
        None => stages.len() - 1,
        Some(t) => stages
            .iter()
            .position(|s| s.name.as_deref() == Some(t.to_ascii_lowercase().as_str()))
            .or_else(|| t.parse::<usize>().ok().filter(|i| *i < stages.len()))
            .ok_or_else(|| BuildError::UnknownTarget(t.to_string()))?,
    };
    let order = dependency_order(file, &stages, target)?;
    Ok(Plan {
        stages,
        order,
        target,
        globals,
    })
}

/// Resolves each `--from=` of COPY/ADD to a stage or an image (expanded with global ARGs).
fn resolve_copy_from(
    file: &str,
    lexer: &Lexer,
    globals: &BTreeMap<String, String>,
    automatic: &BTreeMap<String, String>,
    stages: &mut [Stage],
) -> Result<(), BuildError> {
    let names: Vec<Option<String>> = stages.iter().map(|s| s.name.clone()).collect();
    for stage in stages.iter_mut() {
        let mut deps = Vec::new();
        for ins in &stage.instructions {
            let values: Vec<String> = match ins.command {
                Command::Copy(_) | Command::Add(_) => ins
                    .flag("from")
                    .and_then(|f| f.value.clone())
                    .into_iter()
                    .collect(),
                // RUN --mount=...,from=stage also needs that stage built first.
                Command::Run(_) => ins
                    .flags_named("mount")
                    .filter_map(|f| crate::run::mount_from(f.value.as_deref()?))
                    .collect(),
                _ => continue,
            };
            for value in values {
                let at = loc(file, ins);
                let v = expand(lexer, &at, &value, |n| {
                    globals.get(n).or_else(|| automatic.get(n)).cloned()
                })?;
                if let FromSource::Stage(i) = from_source(&v, &names, &at)? {
                    deps.push(i);
                }
            }
        }
        stage.copy_from = deps;
    }
    Ok(())
}

/// Interprets a `--from` value: a stage name, a stage index, or an image reference.
pub(crate) fn from_source(
    value: &str,
    names: &[Option<String>],
    at: &Location,
) -> Result<FromSource, BuildError> {
    let lower = value.to_ascii_lowercase();
    if let Some(i) = names
        .iter()
        .position(|n| n.as_deref() == Some(lower.as_str()))
    {
        return Ok(FromSource::Stage(i));
    }
    if let Ok(i) = value.parse::<usize>() {
        return if i < names.len() {
            Ok(FromSource::Stage(i))
        } else {
            Err(BuildError::at(
                at,
                format!("invalid --from: stage index {i} does not exist"),
            ))
        };
    }
    Reference::parse(value)
        .map(FromSource::Image)
        .map_err(|e| BuildError::at(at, format!("invalid --from={value}: {e}")))
}

/// Post-order walk from the target; a stage reached again while on the path is a cycle.
fn dependency_order(file: &str, stages: &[Stage], target: usize) -> Result<Vec<usize>, BuildError> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Active,
        Done,
    }
    fn visit(
        file: &str,
        stages: &[Stage],
        i: usize,
        marks: &mut [Mark],
        order: &mut Vec<usize>,
    ) -> Result<(), BuildError> {
        match marks[i] {
            Mark::Done => return Ok(()),
            Mark::Active => {
                return Err(BuildError::at(
                    &loc(file, &stages[i].from),
                    format!(
                        "circular dependency detected on stage: {}",
                        stages[i].label()
                    ),
                ));
            }
            Mark::New => {}
        }
        marks[i] = Mark::Active;
        let mut deps = stages[i].copy_from.clone();
        if let Base::Stage(b) = stages[i].base {
            deps.push(b);
        }
        for d in deps {
            visit(file, stages, d, marks, order)?;
        }
        marks[i] = Mark::Done;
        order.push(i);
        Ok(())
    }
    let mut marks = vec![Mark::New; stages.len()];
    let mut order = Vec::new();
    visit(file, stages, target, &mut marks, &mut order)?;
    Ok(order)
}

/// Expands one word with a lookup, mapping errors to the instruction's location.
pub(crate) fn expand(
    lexer: &Lexer,
    at: &Location,
    word: &str,
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<String, BuildError> {
    lexer
        .expand_word(word, &lookup)
        .map_err(|e| BuildError::at(at, e.to_string()))
}
