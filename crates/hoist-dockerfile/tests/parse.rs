//! Typed parsing: instructions, flags, heredocs, directives, spans and errors.

use std::time::Duration;

use hoist_dockerfile::{
    ArgDecl, CmdLine, Command, CopyArgs, Dockerfile, Healthcheck, Instruction, KeyValue, Keyword,
    Position, Span, parse,
};

fn ok(src: &str) -> Dockerfile {
    parse("Dockerfile", src).unwrap_or_else(|e| panic!("{e}"))
}

fn err(src: &str) -> String {
    match parse("Dockerfile", src) {
        Ok(df) => panic!("expected an error, parsed {df:?}"),
        Err(e) => e.to_string(),
    }
}

fn nth(df: &Dockerfile, i: usize) -> &Instruction {
    &df.instructions[i]
}

#[test]
fn error_messages_name_file_line_and_column() {
    let cases: &[(&str, &str)] = &[
        (
            "FROM a\nRUN x\nCOPPY . /\n",
            "Dockerfile:3:1: unknown instruction: COPPY (did you mean COPY?)",
        ),
        (
            "FROM a\n  frobnicate x\n",
            "Dockerfile:2:3: unknown instruction: frobnicate",
        ),
        (
            "ARG x\nFROM\n",
            "Dockerfile:2:6: FROM requires one argument",
        ),
        (
            "FROM a\n\n\nCOPY foo\n",
            "Dockerfile:4:10: COPY requires at least two arguments",
        ),
        (
            "FROM a\n\n\n\n\n\nRUN <<EOF\necho hi\n",
            "Dockerfile:7:5: unterminated heredoc: expected a line \"EOF\" before end of file",
        ),
        (
            "FROM a b\n",
            "Dockerfile:1:8: FROM requires either one or three arguments (FROM image [AS name]), unexpected \"b\"",
        ),
        (
            "FROM a AS 1st\n",
            "Dockerfile:1:11: invalid name for build stage: \"1st\", name can't start with a number or contain symbols",
        ),
        (
            "FROM a\nWORKDIR\n",
            "Dockerfile:2:9: WORKDIR requires exactly one argument",
        ),
        (
            "FROM a\nENV x\n",
            "Dockerfile:2:5: ENV must have two arguments",
        ),
        (
            "FROM a\nENV a=1 b\n",
            "Dockerfile:2:9: syntax error - can't find = in \"b\". Must be of the form: name=value",
        ),
        (
            "FROM a\nARG =1\n",
            "Dockerfile:2:5: ARG names can not be blank",
        ),
        (
            "FROM a\nSHELL sh -c\n",
            "Dockerfile:2:7: SHELL requires the arguments to be in JSON form",
        ),
        (
            "FROM a\nCMD [\"a\", 1]\n",
            "Dockerfile:2:5: when using JSON array syntax, arrays must be comprised of strings only",
        ),
        (
            "FROM a\nONBUILD ONBUILD RUN x\n",
            "Dockerfile:2:9: chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed",
        ),
        (
            "FROM a\nONBUILD FROM b\n",
            "Dockerfile:2:9: FROM isn't allowed as an ONBUILD trigger",
        ),
        (
            "FROM a\nHEALTHCHECK NONE x\n",
            "Dockerfile:2:18: HEALTHCHECK NONE takes no arguments",
        ),
        (
            "FROM a\nHEALTHCHECK CONNECT x\n",
            "Dockerfile:2:13: unknown type \"CONNECT\" in HEALTHCHECK (try CMD)",
        ),
        (
            "FROM a\nHEALTHCHECK --interval=1us CMD x\n",
            "Dockerfile:2:13: --interval cannot be less than 1ms",
        ),
        (
            "FROM a\nHEALTHCHECK --retries=-1 CMD x\n",
            "Dockerfile:2:13: --retries cannot be negative (-1)",
        ),
        (
            "FROM a\nHEALTHCHECK --timeout=5 CMD x\n",
            "Dockerfile:2:13: --timeout: missing unit in duration \"5\"",
        ),
        (
            "FROM a\nCOPY <<EOF <<X\nEOF\nX\n",
            "Dockerfile:2:12: COPY cannot accept a heredoc as a destination",
        ),
        (
            "# escape=x\nFROM a\n",
            "Dockerfile:1:1: invalid escape token 'x' does not match ` or \\",
        ),
        (
            "# syntax=a\n# syntax=b\nFROM a\n",
            "Dockerfile:2:1: only one syntax parser directive can be used",
        ),
        (
            "# just a comment\n\n",
            "Dockerfile:2:1: file with no instructions",
        ),
        (
            "FROM a\nVOLUME [\"\"]\n",
            "Dockerfile:2:8: VOLUME specified can not be an empty string",
        ),
    ];
    for (src, want) in cases {
        assert_eq!(&err(src), want, "source: {src:?}");
    }
}

#[test]
fn error_exposes_its_position() {
    let e = parse("build/Dockerfile.dev", "FROM a\n  RUN --bogus x\n").unwrap_err();
    assert_eq!(
        (e.file.as_str(), e.position()),
        ("build/Dockerfile.dev", Position { line: 2, column: 7 })
    );
    assert!(
        e.message.starts_with("unknown flag for RUN: --bogus"),
        "{}",
        e.message
    );
}

#[test]
fn flags_are_validated_per_instruction() {
    let cases: &[(&str, &str)] = &[
        (
            "FROM a\nCOPY --mount=type=cache . /\n",
            "Dockerfile:2:6: unknown flag for COPY: --mount; allowed flags: --chmod, --chown, --exclude, --from, --link, --parents",
        ),
        (
            "FROM a\nCOPY --chwon=1 . /\n",
            "Dockerfile:2:6: unknown flag for COPY: --chwon (did you mean --chown?); allowed flags: --chmod, --chown, --exclude, --from, --link, --parents",
        ),
        (
            "FROM a\nADD --from=b . /\n",
            "Dockerfile:2:5: unknown flag for ADD: --from; allowed flags: --checksum, --chmod, --chown, --exclude, --keep-git-dir, --link, --unpack",
        ),
        (
            "FROM --platform=x a\nENV --x=1 a=b\n",
            "Dockerfile:2:5: unknown flag for ENV: --x; ENV takes no flags",
        ),
        (
            "FROM a\nCOPY --from=b --from=c . /\n",
            "Dockerfile:2:15: duplicate flag for COPY: --from",
        ),
        (
            "FROM a\nCOPY --link=maybe . /\n",
            "Dockerfile:2:6: expecting a boolean value for flag --link, not: maybe",
        ),
        (
            "FROM a\nCOPY --link= . /\n",
            "Dockerfile:2:6: missing a value on flag: --link",
        ),
        (
            "FROM a\nCOPY --from . /\n",
            "Dockerfile:2:6: missing a value on flag: --from",
        ),
        (
            "FROM a\nRUN --network=bridge x\n",
            "Dockerfile:2:5: invalid value for --network: \"bridge\" (expected one of: default, none, host)",
        ),
        (
            "FROM a\nRUN x \\\n  && y \\\n  --mount=z\nCOPY \\\n    --bad . /\n",
            "Dockerfile:6:5: unknown flag for COPY: --bad; allowed flags: --chmod, --chown, --exclude, --from, --link, --parents",
        ),
    ];
    for (src, want) in cases {
        assert_eq!(&err(src), want, "source: {src:?}");
    }

    let df = ok(concat!(
        "FROM --platform=$BUILDPLATFORM a\n",
        "RUN --mount=type=cache,target=/a --mount=type=secret,id=s --network=none --security=insecure make\n",
        "COPY --from=build --chown=1:2 --chmod=755 --link --exclude=*.md --exclude=tmp --parents a b /dst/\n",
        "ADD --checksum=sha256:abc --keep-git-dir=true --link=false https://x/y.git /src\n",
    ));
    assert_eq!(nth(&df, 0).flag_value("platform"), Some("$BUILDPLATFORM"));
    let run = nth(&df, 1);
    let mounts: Vec<_> = run
        .flags_named("mount")
        .filter_map(|f| f.value.as_deref())
        .collect();
    assert_eq!(mounts, ["type=cache,target=/a", "type=secret,id=s"]);
    assert_eq!(run.flag_value("network"), Some("none"));
    assert_eq!(
        run.flag("mount").map(|f| f.position),
        Some(Position { line: 2, column: 5 })
    );
    let copy = nth(&df, 2);
    assert!(copy.flag_enabled("link") && copy.flag_enabled("parents"));
    assert_eq!(copy.flag_value("from"), Some("build"));
    assert_eq!(copy.flags_named("exclude").count(), 2);
    assert_eq!(
        copy.command,
        Command::Copy(CopyArgs {
            sources: vec!["a".into(), "b".into()],
            dest: "/dst/".into(),
            json: false
        })
    );
    let add = nth(&df, 3);
    assert!(add.flag_enabled("keep-git-dir"));
    assert!(!add.flag_enabled("link"));
    assert_eq!(add.flag_value("checksum"), Some("sha256:abc"));
}

#[test]
fn spans_follow_continuations_comments_and_heredocs() {
    let src = concat!(
        "# syntax=docker/dockerfile:1\n",
        "\n",
        "FROM alpine AS Build\n",
        "RUN apk add \\\n",
        "# a comment inside the continuation\n",
        "\n",
        "    curl \\\n",
        "    git\n",
        "   COPY <<EOF /x\n",
        "body\n",
        "EOF\n",
        "\tENV a=1\n",
    );
    let df = ok(src);
    let spans: Vec<Span> = df.instructions.iter().map(|i| i.span).collect();
    assert_eq!(
        spans,
        [
            Span {
                line: 3,
                column: 1,
                end_line: 3
            },
            Span {
                line: 4,
                column: 1,
                end_line: 8
            },
            Span {
                line: 9,
                column: 4,
                end_line: 11
            },
            Span {
                line: 12,
                column: 2,
                end_line: 12
            },
        ]
    );
    assert_eq!(df.directives.syntax.as_deref(), Some("docker/dockerfile:1"));
    assert_eq!(
        nth(&df, 0).command,
        Command::From {
            image: "alpine".into(),
            alias: Some("build".into())
        }
    );
    assert_eq!(
        nth(&df, 1).command,
        Command::Run(CmdLine::Shell("apk add     curl     git".into()))
    );
    assert_eq!(nth(&df, 1).original, "RUN apk add     curl     git");
}

#[test]
fn heredocs_several_chomped_quoted_and_with_fd() {
    let src = concat!(
        "FROM a\n",
        "COPY <<one <<-\"two\" /dest/\n",
        "first $X\n",
        "one\n",
        "\t\tsecond $X\n",
        "\ttwo\n",
        "RUN 3<<'EOF' cat <&3 && python3 <<PY\n",
        "\tkeep tabs\n",
        "EOF\n",
        "print(1)\n",
        "PY\n",
        "RUN echo \"<<notaheredoc\"\n",
    );
    let df = ok(src);
    let copy = nth(&df, 1);
    let summary: Vec<_> = copy
        .heredocs
        .iter()
        .map(|h| (h.name.as_str(), h.content.as_str(), h.chomp, h.expand))
        .collect();
    assert_eq!(
        summary,
        [
            ("one", "first $X\n", false, true),
            ("two", "second $X\n", true, false)
        ]
    );
    assert_eq!(
        copy.heredocs[1].position,
        Position {
            line: 2,
            column: 12
        }
    );
    let Command::Copy(args) = &copy.command else {
        panic!("copy")
    };
    assert_eq!(args.sources, ["<<one", "<<-\"two\""]);
    assert_eq!(
        copy.heredoc_for(&args.sources[1]).map(|h| h.name.as_str()),
        Some("two")
    );
    assert_eq!(copy.span.end_line, 6);

    let run = nth(&df, 2);
    let summary: Vec<_> = run
        .heredocs
        .iter()
        .map(|h| (h.name.as_str(), h.content.as_str(), h.expand, h.fd))
        .collect();
    assert_eq!(
        summary,
        [
            ("EOF", "\tkeep tabs\n", false, Some(3)),
            ("PY", "print(1)\n", true, None)
        ]
    );
    assert_eq!(
        run.command,
        Command::Run(CmdLine::Shell("3<<'EOF' cat <&3 && python3 <<PY".into()))
    );
    assert!(nth(&df, 3).heredocs.is_empty());
    // Heredocs only for RUN/COPY/ADD in shell form: here the next line is an instruction.
    let df = ok("FROM a\nRUN [\"cat\", \"<<EOF\"]\nUSER <<EOF\nEXPOSE 80\n");
    assert!(df.instructions.iter().all(|i| i.heredocs.is_empty()));
    assert_eq!(df.instructions.len(), 4);
}

#[test]
fn escape_directive_with_backtick() {
    let src = concat!(
        "# escape=`\n",
        "FROM mcr.microsoft.com/windows\n",
        "RUN dir C:\\ `\n",
        "    && echo done\n",
        "COPY --chown=a`:b src `\n",
        "    C:\\dst\\\n",
    );
    let df = ok(src);
    assert_eq!(df.directives.escape, '`');
    assert_eq!(
        nth(&df, 1).command,
        Command::Run(CmdLine::Shell("dir C:\\     && echo done".into()))
    );
    assert_eq!(nth(&df, 2).flag_value("chown"), Some("a:b"));
    assert_eq!(
        nth(&df, 2).command,
        Command::Copy(CopyArgs {
            sources: vec!["src".into()],
            dest: "C:\\dst\\".into(),
            json: false
        })
    );
    // After the first instruction a directive is just a comment.
    let df = ok("FROM a\n# escape=`\nRUN a \\\n b\n");
    assert_eq!(df.directives.escape, '\\');
    assert_eq!(
        nth(&df, 1).command,
        Command::Run(CmdLine::Shell("a  b".into()))
    );
}

#[test]
fn directives_check_and_bom_and_crlf() {
    let df = ok(
        "\u{feff}# check=skip=JSONArgsRecommended\r\n#SYNTAX = x/y \r\nFROM a\r\nRUN b \\\r\n c\r\n",
    );
    assert_eq!(
        df.directives.check.as_deref(),
        Some("skip=JSONArgsRecommended")
    );
    assert_eq!(df.directives.syntax.as_deref(), Some("x/y"));
    assert_eq!(
        nth(&df, 1).command,
        Command::Run(CmdLine::Shell("b  c".into()))
    );
    assert_eq!(
        nth(&df, 1).span,
        Span {
            line: 4,
            column: 1,
            end_line: 5
        }
    );
}

#[test]
fn onbuild_wraps_a_typed_instruction() {
    let df = ok("FROM a\nONBUILD COPY --from=b x /y\nonbuild run <<EOF\necho\nEOF\n");
    let Command::Onbuild(sub) = &nth(&df, 1).command else {
        panic!("onbuild")
    };
    assert_eq!(sub.keyword(), Keyword::Copy);
    assert_eq!(sub.flag_value("from"), Some("b"));
    assert_eq!(sub.span.start(), Position { line: 2, column: 9 });
    let Command::Onbuild(sub) = &nth(&df, 2).command else {
        panic!("onbuild")
    };
    assert_eq!(sub.command, Command::Run(CmdLine::Shell("<<EOF".into())));
    assert_eq!(sub.heredocs[0].content, "echo\n");
    assert_eq!(
        nth(&df, 2).onbuild_trigger().as_deref(),
        Some("run <<EOF\necho\nEOF")
    );
    assert_eq!(
        nth(&df, 1).onbuild_trigger().as_deref(),
        Some("COPY --from=b x /y")
    );
    assert_eq!(nth(&df, 0).onbuild_trigger(), None);
    assert_eq!(
        err("FROM a\nONBUILD COPY --mount=x a b\n"),
        "Dockerfile:2:14: unknown flag for COPY: --mount; allowed flags: --chmod, --chown, --exclude, --from, --link, --parents"
    );
    assert_eq!(
        err("FROM a\nONBUILD\n"),
        "Dockerfile:2:9: ONBUILD requires at least one argument"
    );
}

#[test]
fn arg_with_and_without_defaults_before_from() {
    let df = ok("ARG A=1 B C=\"x y\" D=\nFROM img:${A}\nARG B\n");
    let decl = |name: &str, default: Option<&str>| ArgDecl {
        name: name.into(),
        default: default.map(Into::into),
    };
    assert_eq!(
        nth(&df, 0).command,
        Command::Arg(vec![
            decl("A", Some("1")),
            decl("B", None),
            decl("C", Some("\"x y\"")),
            decl("D", Some(""))
        ])
    );
    assert_eq!(
        nth(&df, 1).command,
        Command::From {
            image: "img:${A}".into(),
            alias: None
        }
    );
}

#[test]
fn env_and_label_forms_keep_values_as_written() {
    let df = ok(
        "FROM a\nENV PATH /usr/bin:$PATH  extra\nENV a=1 b=\"two words\" c=x\\ y\nLABEL \"com.x\"=\"v\" d=''\n",
    );
    let kv = |k: &str, v: &str, legacy| KeyValue {
        key: k.into(),
        value: v.into(),
        legacy,
    };
    assert_eq!(
        nth(&df, 1).command,
        Command::Env(vec![kv("PATH", "/usr/bin:$PATH  extra", true)])
    );
    assert_eq!(
        nth(&df, 2).command,
        Command::Env(vec![
            kv("a", "1", false),
            kv("b", "\"two words\"", false),
            kv("c", "x\\ y", false)
        ])
    );
    assert_eq!(
        nth(&df, 3).command,
        Command::Label(vec![kv("\"com.x\"", "\"v\"", false), kv("d", "''", false)])
    );
}

#[test]
fn json_and_shell_forms() {
    let df = ok(
        "FROM a\nCMD [\"a\", \"b c\"]\nENTRYPOINT exec x\nCMD ['a']\nCMD []\nENTRYPOINT\nSHELL [\"pwsh\", \"-c\"]\nVOLUME [\"/a\", \"/b\"]\nVOLUME /c /d\nEXPOSE 80 443/tcp\nUSER 1:2\nWORKDIR /w d\nSTOPSIGNAL SIGKILL\nMAINTAINER me <m@x>\n",
    );
    let cmds: Vec<&Command> = df.instructions.iter().skip(1).map(|i| &i.command).collect();
    assert_eq!(
        cmds,
        [
            &Command::Cmd(CmdLine::Exec(vec!["a".into(), "b c".into()])),
            &Command::Entrypoint(CmdLine::Shell("exec x".into())),
            &Command::Cmd(CmdLine::Shell("['a']".into())),
            &Command::Cmd(CmdLine::Exec(vec![])),
            &Command::Entrypoint(CmdLine::Exec(vec![])),
            &Command::Shell(vec!["pwsh".into(), "-c".into()]),
            &Command::Volume(vec!["/a".into(), "/b".into()]),
            &Command::Volume(vec!["/c".into(), "/d".into()]),
            &Command::Expose(vec!["80".into(), "443/tcp".into()]),
            &Command::User("1:2".into()),
            &Command::Workdir("/w d".into()),
            &Command::StopSignal("SIGKILL".into()),
            &Command::Maintainer("me <m@x>".into()),
        ]
    );
}

#[test]
fn healthcheck_options() {
    let df = ok(
        "FROM a\nHEALTHCHECK --interval=1m30s --timeout=3s --start-period=0s --start-interval=500ms --retries=3 CMD [\"curl\", \"-f\", \"x\"]\nhealthcheck none\nHEALTHCHECK cmd curl x\n",
    );
    let Command::Healthcheck(Healthcheck::Cmd(h)) = &nth(&df, 1).command else {
        panic!("cmd")
    };
    assert_eq!(
        h.cmd,
        CmdLine::Exec(vec!["curl".into(), "-f".into(), "x".into()])
    );
    assert_eq!(h.interval, Some(Duration::from_secs(90)));
    assert_eq!(h.timeout, Some(Duration::from_secs(3)));
    assert_eq!(h.start_period, Some(Duration::ZERO));
    assert_eq!(h.start_interval, Some(Duration::from_millis(500)));
    assert_eq!(h.retries, Some(3));
    assert_eq!(nth(&df, 2).command, Command::Healthcheck(Healthcheck::None));
    let Command::Healthcheck(Healthcheck::Cmd(h)) = &nth(&df, 3).command else {
        panic!("cmd")
    };
    assert_eq!(
        (h.cmd.clone(), h.interval, h.retries),
        (CmdLine::Shell("curl x".into()), None, None)
    );
}
