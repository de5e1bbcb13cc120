//! From syntax nodes to typed instructions: argument counts, flag validation, values.

use std::time::Duration;

use crate::ast::{
    ArgDecl, CmdLine, Command, CopyArgs, Flag, Healthcheck, HealthcheckCmd, Instruction, KeyValue,
    Keyword, Position,
};
use crate::duration::parse_go_duration;
use crate::error::ParseError;
use crate::flags;
use crate::syntax::Node;

/// Converts one node into a typed instruction.
pub(crate) fn instruction(file: &str, node: Node) -> Result<Instruction, ParseError> {
    let Some(keyword) = node.known_keyword() else {
        return Err(ParseError::at(
            file,
            node.span.start(),
            format!("unknown instruction: {}", node.keyword),
        ));
    };
    let c = Ctx {
        file,
        node: &node,
        keyword,
    };
    let healthcheck_none = keyword == Keyword::Healthcheck
        && node
            .args
            .first()
            .is_some_and(|t| t.eq_ignore_ascii_case("none"));
    if healthcheck_none {
        if let Some(flag) = node.flags.first() {
            return Err(ParseError::at(
                file,
                flag.position,
                "HEALTHCHECK NONE takes no flags",
            ));
        }
    } else {
        flags::validate(file, keyword, &node.flags)?;
    }
    let command = c.command()?;
    Ok(Instruction {
        span: node.span,
        original: node.original,
        flags: node.flags,
        command,
        heredocs: node.heredocs,
        raw_args: node.args,
    })
}

struct Ctx<'a> {
    file: &'a str,
    node: &'a Node,
    keyword: Keyword,
}

impl Ctx<'_> {
    fn err(&self, at: Position, message: impl Into<String>) -> ParseError {
        ParseError::at(self.file, at, message)
    }

    /// Where a missing argument would go: one column after the last character.
    fn missing(&self, message: impl Into<String>) -> ParseError {
        let last = self.node.last_char;
        self.err(
            Position {
                line: last.line,
                column: last.column + 2,
            },
            message,
        )
    }

    fn arg_at(&self, i: usize) -> Position {
        self.node
            .arg_positions
            .get(i)
            .copied()
            .unwrap_or(self.node.args_start)
    }

    fn at_least(&self, n: usize) -> Result<(), ParseError> {
        if self.node.args.len() >= n {
            return Ok(());
        }
        let what = match n {
            1 => "one argument",
            2 => "two arguments",
            _ => "more arguments",
        };
        Err(self.missing(format!("{} requires at least {what}", self.keyword)))
    }

    fn exactly_one(&self) -> Result<String, ParseError> {
        match self.node.args.as_slice() {
            [one] => Ok(one.clone()),
            [] => Err(self.missing(format!("{} requires exactly one argument", self.keyword))),
            _ => Err(self.err(
                self.arg_at(1),
                format!("{} requires exactly one argument", self.keyword),
            )),
        }
    }

    fn cmd_line(&self, args: &[String]) -> CmdLine {
        if self.node.json || args.is_empty() {
            CmdLine::Exec(args.to_vec())
        } else {
            CmdLine::Shell(args.join(" "))
        }
    }

    fn command(&self) -> Result<Command, ParseError> {
        let args = &self.node.args;
        Ok(match self.keyword {
            Keyword::From => self.from()?,
            Keyword::Arg => {
                self.at_least(1)?;
                let mut decls = Vec::with_capacity(args.len());
                for (i, word) in args.iter().enumerate() {
                    let (name, default) = match word.split_once('=') {
                        Some((n, d)) => (n, Some(d.to_owned())),
                        None => (word.as_str(), None),
                    };
                    if name.is_empty() {
                        return Err(self.err(self.arg_at(i), "ARG names can not be blank"));
                    }
                    decls.push(ArgDecl {
                        name: name.to_owned(),
                        default,
                    });
                }
                Command::Arg(decls)
            }
            Keyword::Env => Command::Env(self.key_values()?),
            Keyword::Label => Command::Label(self.key_values()?),
            Keyword::Expose => {
                self.at_least(1)?;
                Command::Expose(args.clone())
            }
            Keyword::Workdir => Command::Workdir(self.exactly_one()?),
            Keyword::User => Command::User(self.exactly_one()?),
            Keyword::StopSignal => Command::StopSignal(self.exactly_one()?),
            Keyword::Maintainer => Command::Maintainer(self.exactly_one()?),
            Keyword::Entrypoint => Command::Entrypoint(self.cmd_line(args)),
            Keyword::Cmd => Command::Cmd(self.cmd_line(args)),
            Keyword::Run => {
                self.at_least(1)?;
                Command::Run(self.cmd_line(args))
            }
            Keyword::Volume => {
                self.at_least(1)?;
                let mut volumes = Vec::with_capacity(args.len());
                for (i, v) in args.iter().enumerate() {
                    let v = v.trim();
                    if v.is_empty() {
                        return Err(self.err(
                            self.arg_at(i),
                            "VOLUME specified can not be an empty string",
                        ));
                    }
                    volumes.push(v.to_owned());
                }
                Command::Volume(volumes)
            }
            Keyword::Shell => {
                self.at_least(1)?;
                if !self.node.json {
                    return Err(self.err(
                        self.node.args_start,
                        "SHELL requires the arguments to be in JSON form",
                    ));
                }
                Command::Shell(args.clone())
            }
            Keyword::Healthcheck => Command::Healthcheck(self.healthcheck()?),
            Keyword::Onbuild => self.onbuild()?,
            Keyword::Copy => Command::Copy(self.copy_args()?),
            Keyword::Add => Command::Add(self.copy_args()?),
        })
    }

    fn from(&self) -> Result<Command, ParseError> {
        let args = &self.node.args;
        match args.as_slice() {
            [] => Err(self.missing("FROM requires one argument")),
            [image] => Ok(Command::From {
                image: image.clone(),
                alias: None,
            }),
            [image, as_kw, name] if as_kw.eq_ignore_ascii_case("as") => {
                let alias = name.to_lowercase();
                let mut chars = alias.chars();
                let valid = chars.next().is_some_and(|c| c.is_ascii_lowercase())
                    && chars.all(|c| {
                        c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '_' | '.')
                    });
                if !valid {
                    return Err(self.err(
                        self.arg_at(2),
                        format!(
                            "invalid name for build stage: {name:?}, name can't start with a number or contain symbols"
                        ),
                    ));
                }
                Ok(Command::From {
                    image: image.clone(),
                    alias: Some(alias),
                })
            }
            [_, second, ..] => Err(self.err(
                self.arg_at(1),
                format!("FROM requires either one or three arguments (FROM image [AS name]), unexpected {second:?}"),
            )),
        }
    }

    fn key_values(&self) -> Result<Vec<KeyValue>, ParseError> {
        self.at_least(1)?;
        let mut pairs = Vec::new();
        for (i, triple) in self.node.args.chunks(3).enumerate() {
            let [key, value, sep] = triple else {
                return Err(self.err(self.arg_at(i * 3), format!("bad input to {}", self.keyword)));
            };
            if key.is_empty() {
                return Err(self.err(
                    self.arg_at(i * 3),
                    format!("{} names can not be blank", self.keyword),
                ));
            }
            pairs.push(KeyValue {
                key: key.clone(),
                value: value.clone(),
                legacy: sep.is_empty(),
            });
        }
        Ok(pairs)
    }

    fn copy_args(&self) -> Result<CopyArgs, ParseError> {
        let args = &self.node.args;
        self.at_least(2)?;
        let (dest, sources) = args
            .split_last()
            .ok_or_else(|| self.missing("missing destination"))?;
        if crate::syntax::heredoc_marker(dest).is_some() && !self.node.json {
            return Err(self.err(
                self.arg_at(args.len() - 1),
                format!("{} cannot accept a heredoc as a destination", self.keyword),
            ));
        }
        Ok(CopyArgs {
            sources: sources.to_vec(),
            dest: dest.clone(),
            json: self.node.json,
        })
    }

    fn onbuild(&self) -> Result<Command, ParseError> {
        let Some(sub) = &self.node.sub else {
            return Err(self.missing("ONBUILD requires at least one argument"));
        };
        match sub.known_keyword() {
            Some(Keyword::Onbuild) => Err(self.err(
                sub.span.start(),
                "chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed",
            )),
            Some(k @ (Keyword::From | Keyword::Maintainer)) => Err(self.err(
                sub.span.start(),
                format!("{k} isn't allowed as an ONBUILD trigger"),
            )),
            _ => Ok(Command::Onbuild(Box::new(instruction(
                self.file,
                (**sub).clone(),
            )?))),
        }
    }

    fn healthcheck(&self) -> Result<Healthcheck, ParseError> {
        let args = &self.node.args;
        let Some(typ) = args.first() else {
            return Err(self.missing("HEALTHCHECK requires at least one argument"));
        };
        if typ.eq_ignore_ascii_case("none") {
            if args.len() > 1 {
                return Err(self.err(self.arg_at(1), "HEALTHCHECK NONE takes no arguments"));
            }
            return Ok(Healthcheck::None);
        }
        if !typ.eq_ignore_ascii_case("cmd") {
            return Err(self.err(
                self.arg_at(0),
                format!(
                    "unknown type {:?} in HEALTHCHECK (try CMD)",
                    typ.to_uppercase()
                ),
            ));
        }
        if args.len() < 2 {
            return Err(self.missing("HEALTHCHECK CMD requires a command"));
        }
        Ok(Healthcheck::Cmd(HealthcheckCmd {
            cmd: self.cmd_line(&args[1..]),
            interval: self.duration("interval")?,
            timeout: self.duration("timeout")?,
            start_period: self.duration("start-period")?,
            start_interval: self.duration("start-interval")?,
            retries: self.retries()?,
        }))
    }

    fn flag(&self, name: &str) -> Option<&Flag> {
        self.node.flags.iter().find(|f| f.name == name)
    }

    fn duration(&self, name: &str) -> Result<Option<Duration>, ParseError> {
        let Some(flag) = self.flag(name) else {
            return Ok(None);
        };
        let value = flag.value.as_deref().unwrap_or_default();
        if value.is_empty() {
            return Ok(None);
        }
        let d = parse_go_duration(value)
            .map_err(|m| self.err(flag.position, format!("--{name}: {m}")))?;
        if !d.is_zero() && d < Duration::from_millis(1) {
            return Err(self.err(flag.position, format!("--{name} cannot be less than 1ms")));
        }
        Ok(Some(d))
    }

    fn retries(&self) -> Result<Option<u32>, ParseError> {
        let Some(flag) = self.flag("retries") else {
            return Ok(None);
        };
        let value = flag.value.as_deref().unwrap_or_default();
        if value.is_empty() {
            return Ok(None);
        }
        if value.starts_with('-') && value[1..].chars().all(|c| c.is_ascii_digit()) {
            return Err(self.err(
                flag.position,
                format!("--retries cannot be negative ({value})"),
            ));
        }
        value.parse().map(Some).map_err(|_| {
            self.err(
                flag.position,
                format!("invalid value for --retries: {value:?}"),
            )
        })
    }
}
