//! The typed Dockerfile AST produced by [`crate::parse`].

use std::time::Duration;

/// A parsed Dockerfile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dockerfile {
    /// Parser directives found at the top of the file.
    pub directives: Directives,
    /// The instructions, in source order.
    pub instructions: Vec<Instruction>,
}

/// Parser directives (`# syntax=`, `# escape=`, `# check=`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Directives {
    /// `# syntax=` value, if present (e.g. `docker/dockerfile:1`).
    pub syntax: Option<String>,
    /// The escape character: `\` (default) or `` ` ``.
    pub escape: char,
    /// `# check=` value, if present (e.g. `skip=JSONArgsRecommended;error=true`).
    pub check: Option<String>,
}

impl Default for Directives {
    /// No `syntax` or `check`, escape `\`.
    fn default() -> Self {
        Self {
            syntax: None,
            escape: '\\',
            check: None,
        }
    }
}

/// A 1-based position in the source: line, and column counted in characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Position {
    /// 1-based line.
    pub line: u32,
    /// 1-based column, in characters.
    pub column: u32,
}

/// Where an instruction is: its first line and column, and its last line
/// (continuation lines and heredoc bodies included).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Span {
    /// 1-based line of the instruction keyword.
    pub line: u32,
    /// 1-based column of the instruction keyword.
    pub column: u32,
    /// 1-based last line of the instruction.
    pub end_line: u32,
}

impl Span {
    /// The start of the span.
    pub fn start(&self) -> Position {
        Position {
            line: self.line,
            column: self.column,
        }
    }
}

/// A builder flag such as `--from=build` or `--link`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flag {
    /// Name without the leading `--`, e.g. `from`.
    pub name: String,
    /// Value after `=`, quotes and escapes removed; `None` when there is no `=`.
    pub value: Option<String>,
    /// Where the flag starts (its first `-`).
    pub position: Position,
}

impl Flag {
    /// The flag as BuildKit prints it: `--name` or `--name=value`.
    pub fn as_written(&self) -> String {
        match &self.value {
            Some(v) => format!("--{}={v}", self.name),
            None => format!("--{}", self.name),
        }
    }
}

/// A heredoc body attached to `RUN`, `COPY` or `ADD`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Heredoc {
    /// Delimiter word with quotes removed, e.g. `EOF`.
    pub name: String,
    /// The body, each line with its newline. For `<<-` leading tabs are already stripped.
    pub content: String,
    /// `true` for `<<-` (leading tabs stripped from the body and the delimiter line).
    pub chomp: bool,
    /// `false` when the delimiter was (partly) quoted: the body is not expanded.
    pub expand: bool,
    /// File descriptor written before `<<` (`3<<EOF`), if any.
    pub fd: Option<u32>,
    /// Where the `<<` marker is in the instruction.
    pub position: Position,
}

/// One instruction with its flags, typed arguments and heredocs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instruction {
    /// Where the instruction is.
    pub span: Span,
    /// The instruction's logical line as BuildKit sees it: continuation lines joined,
    /// comments inside continuations dropped, heredoc bodies not included.
    pub original: String,
    /// Builder flags, validated for this instruction.
    pub flags: Vec<Flag>,
    /// The typed instruction. Values are NOT expanded.
    pub command: Command,
    /// Heredoc bodies, in the order of their markers.
    pub heredocs: Vec<Heredoc>,
    /// Arguments exactly as BuildKit's parser splits them (used by [`crate::dump`]).
    /// Prefer [`Instruction::command`].
    pub raw_args: Vec<String>,
}

impl Instruction {
    /// The instruction keyword.
    pub fn keyword(&self) -> Keyword {
        self.command.keyword()
    }

    /// The first flag called `name` (without `--`).
    pub fn flag(&self, name: &str) -> Option<&Flag> {
        self.flags.iter().find(|f| f.name == name)
    }

    /// All flags called `name`, for repeatable flags like `--mount` or `--exclude`.
    pub fn flags_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Flag> + 'a {
        self.flags.iter().filter(move |f| f.name == name)
    }

    /// The value of flag `name`, if given with a value.
    pub fn flag_value(&self, name: &str) -> Option<&str> {
        self.flag(name).and_then(|f| f.value.as_deref())
    }

    /// Whether boolean flag `name` is on (`--link` or `--link=true`).
    pub fn flag_enabled(&self, name: &str) -> bool {
        self.flag(name).is_some_and(|f| match &f.value {
            None => true,
            Some(v) => v.eq_ignore_ascii_case("true"),
        })
    }

    /// For `ONBUILD`, the trigger as BuildKit records it in the image config: the text
    /// after `ONBUILD`, then for each heredoc a newline, its body and its delimiter.
    pub fn onbuild_trigger(&self) -> Option<String> {
        let Command::Onbuild(sub) = &self.command else {
            return None;
        };
        let mut trigger = sub.original.clone();
        for heredoc in &self.heredocs {
            trigger.push('\n');
            trigger.push_str(&heredoc.content);
            trigger.push_str(&heredoc.name);
        }
        Some(trigger)
    }

    /// The heredoc a `COPY`/`ADD` source or `RUN` word like `<<EOF` refers to.
    pub fn heredoc_for(&self, word: &str) -> Option<&Heredoc> {
        let marker = crate::syntax::heredoc_marker(word)?;
        self.heredocs.iter().find(|h| h.name == marker)
    }
}

/// Instruction keywords.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(missing_docs)] // The variants are the Dockerfile keywords themselves.
pub enum Keyword {
    From,
    Arg,
    Env,
    Label,
    Expose,
    Workdir,
    User,
    Entrypoint,
    Cmd,
    Volume,
    StopSignal,
    Healthcheck,
    Shell,
    Onbuild,
    Copy,
    Add,
    Run,
    Maintainer,
}

impl Keyword {
    /// Every keyword.
    pub const ALL: [Keyword; 18] = [
        Keyword::From,
        Keyword::Arg,
        Keyword::Env,
        Keyword::Label,
        Keyword::Expose,
        Keyword::Workdir,
        Keyword::User,
        Keyword::Entrypoint,
        Keyword::Cmd,
        Keyword::Volume,
        Keyword::StopSignal,
        Keyword::Healthcheck,
        Keyword::Shell,
        Keyword::Onbuild,
        Keyword::Copy,
        Keyword::Add,
        Keyword::Run,
        Keyword::Maintainer,
    ];

    /// The keyword in upper case, e.g. `STOPSIGNAL`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Keyword::From => "FROM",
            Keyword::Arg => "ARG",
            Keyword::Env => "ENV",
            Keyword::Label => "LABEL",
            Keyword::Expose => "EXPOSE",
            Keyword::Workdir => "WORKDIR",
            Keyword::User => "USER",
            Keyword::Entrypoint => "ENTRYPOINT",
            Keyword::Cmd => "CMD",
            Keyword::Volume => "VOLUME",
            Keyword::StopSignal => "STOPSIGNAL",
            Keyword::Healthcheck => "HEALTHCHECK",
            Keyword::Shell => "SHELL",
            Keyword::Onbuild => "ONBUILD",
            Keyword::Copy => "COPY",
            Keyword::Add => "ADD",
            Keyword::Run => "RUN",
            Keyword::Maintainer => "MAINTAINER",
        }
    }

    /// Parses a keyword, ignoring ASCII case.
    pub fn parse(word: &str) -> Option<Keyword> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str().eq_ignore_ascii_case(word))
    }
}

impl std::fmt::Display for Keyword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A typed instruction. All strings are unexpanded: the builder expands them with
/// [`crate::expand::Lexer`] (which also removes quotes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `FROM [--platform=..] image [AS name]`.
    From {
        /// The base image (or stage name, or `scratch`).
        image: String,
        /// Stage name after `AS`, lowercased (BuildKit matches stage names case-insensitively).
        alias: Option<String>,
    },
    /// `ARG a b=1 ...`.
    Arg(Vec<ArgDecl>),
    /// `ENV k=v ...` or `ENV k v`.
    Env(Vec<KeyValue>),
    /// `LABEL k=v ...` or `LABEL k v`.
    Label(Vec<KeyValue>),
    /// `EXPOSE 80/tcp ...`.
    Expose(Vec<String>),
    /// `WORKDIR path`.
    Workdir(String),
    /// `USER user[:group]`.
    User(String),
    /// `ENTRYPOINT`.
    Entrypoint(CmdLine),
    /// `CMD`.
    Cmd(CmdLine),
    /// `VOLUME` (JSON or words), each entry trimmed and non-empty.
    Volume(Vec<String>),
    /// `STOPSIGNAL signal`.
    StopSignal(String),
    /// `HEALTHCHECK`.
    Healthcheck(Healthcheck),
    /// `SHELL ["exe", "arg"...]` (JSON form only).
    Shell(Vec<String>),
    /// `ONBUILD <instruction>`; never `ONBUILD`, `FROM` or `MAINTAINER`.
    Onbuild(Box<Instruction>),
    /// `COPY`.
    Copy(CopyArgs),
    /// `ADD`.
    Add(CopyArgs),
    /// `RUN`.
    Run(CmdLine),
    /// `MAINTAINER text` (deprecated).
    Maintainer(String),
}

impl Command {
    /// The keyword of this command.
    pub fn keyword(&self) -> Keyword {
        match self {
            Command::From { .. } => Keyword::From,
            Command::Arg(_) => Keyword::Arg,
            Command::Env(_) => Keyword::Env,
            Command::Label(_) => Keyword::Label,
            Command::Expose(_) => Keyword::Expose,
            Command::Workdir(_) => Keyword::Workdir,
            Command::User(_) => Keyword::User,
            Command::Entrypoint(_) => Keyword::Entrypoint,
            Command::Cmd(_) => Keyword::Cmd,
            Command::Volume(_) => Keyword::Volume,
            Command::StopSignal(_) => Keyword::StopSignal,
            Command::Healthcheck(_) => Keyword::Healthcheck,
            Command::Shell(_) => Keyword::Shell,
            Command::Onbuild(_) => Keyword::Onbuild,
            Command::Copy(_) => Keyword::Copy,
            Command::Add(_) => Keyword::Add,
            Command::Run(_) => Keyword::Run,
            Command::Maintainer(_) => Keyword::Maintainer,
        }
    }
}

/// One `ARG` declaration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArgDecl {
    /// The name.
    pub name: String,
    /// The default as written after `=` (quotes kept, removed by expansion); `None`
    /// without `=`, `Some("")` for `ARG x=`.
    pub default: Option<String>,
}

/// One `ENV`/`LABEL` pair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyValue {
    /// The key, as written.
    pub key: String,
    /// The value as written (quotes and escapes kept, removed by expansion). In the
    /// legacy form `ENV k v w` the value is the rest of the line, `v w`.
    pub value: String,
    /// `true` for the legacy `ENV k v` form (no `=`).
    pub legacy: bool,
}

/// A command line in shell or exec (JSON) form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CmdLine {
    /// Shell form: run with the stage's `SHELL`.
    Shell(String),
    /// Exec form, from a JSON array (may be empty: `CMD []`, or no argument at all).
    Exec(Vec<String>),
}

/// `HEALTHCHECK`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Healthcheck {
    /// `HEALTHCHECK NONE`: disable any inherited check.
    None,
    /// `HEALTHCHECK [options] CMD ...`.
    Cmd(HealthcheckCmd),
}

/// `HEALTHCHECK [options] CMD command`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthcheckCmd {
    /// The check command.
    pub cmd: CmdLine,
    /// `--interval`; `Some(ZERO)` when given as 0 (meaning: inherit/default).
    pub interval: Option<Duration>,
    /// `--timeout`.
    pub timeout: Option<Duration>,
    /// `--start-period`.
    pub start_period: Option<Duration>,
    /// `--start-interval`.
    pub start_interval: Option<Duration>,
    /// `--retries`.
    pub retries: Option<u32>,
}

/// Arguments of `COPY` and `ADD`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyArgs {
    /// Sources as written; heredoc markers (`<<EOF`) are resolved with
    /// [`Instruction::heredoc_for`].
    pub sources: Vec<String>,
    /// Destination as written.
    pub dest: String,
    /// `true` for the JSON form.
    pub json: bool,
}
