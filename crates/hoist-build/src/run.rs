//! `RUN`: run a command in the stage's rootfs with [`hoist_sandbox`], then turn
//! what it changed into a layer with [`hoist_layer::diff`].
//!
//! Steps: materialise the rootfs, snapshot it (leaving out `/proc`, `/sys`, `/dev`,
//! the bound etc files and every `--mount` target), run, remove the mount points the
//! sandbox had to create (when still empty), diff, write the layer in place (the
//! rootfs already has the changes, nothing is extracted again).
//!
//! Ownership: as root (identity map or chroot) the disk is the truth. Rootless, the
//! rootfs was extracted by the caller, so [`crate::rootfs::StageFs::owners`] keeps the
//! image's owners and the diff maps the host ids of files the step wrote back to
//! container ids: with a single mapping the caller's ids are container root; with
//! subordinate ranges (`/etc/subuid`, `newuidmap`), host `start + n - 1` is container
//! `n`. A path whose on-disk ids did not change keeps the image's owner.

mod mounts;
pub(crate) mod pending;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use hoist_dockerfile::{CmdLine, Instruction};
use hoist_layer::LayerOptions;
use hoist_layer::diff::{DiffOptions, SnapshotOptions};
use hoist_sandbox::{Isolation, MountSpec, Network, RunSpec, Stdio};
use hoist_store::Store;

use crate::commit::write_layer;
use crate::container::{capabilities, default_env, etc_files, id_mapping};
use crate::error::{BuildError, Location};
use crate::exec::{StageState, push_history};
use crate::options::BuildOptions;
use crate::plan::expand;
use crate::report::Reporter;
use crate::rootfs::{is_root, resolve_user};
pub(crate) use mounts::RunMount;

/// Paths the sandbox mounts over (never part of a layer).
const SANDBOX_MOUNTS: &[&str] = &[
    "proc",
    "sys",
    "dev",
    "etc/hosts",
    "etc/resolv.conf",
    "etc/hostname",
];
/// Bytes of combined output kept for the error of a failing step.
const TAIL_BYTES: usize = 64 * 1024;
/// Output lines shown in the error of a failing step.
const TAIL_LINES: usize = 20;

/// What a RUN step needs from the build.
pub(crate) struct RunEnv<'a> {
    pub(crate) store: &'a Store,
    pub(crate) opts: &'a BuildOptions,
    pub(crate) layer_opts: &'a LayerOptions,
    pub(crate) reporter: &'a dyn Reporter,
    /// The build's private work dir (temp files, copies).
    pub(crate) work: &'a Path,
    /// The next instruction that touches the filesystem is a RUN: this step's
    /// layer may be written while it runs ([`pending`]).
    pub(crate) overlap_next: bool,
}

/// The step's `--mount` flags, expanded with the stage's variables.
pub(crate) fn parse_mounts(
    st: &StageState,
    ins: &Instruction,
    at: &Location,
) -> Result<Vec<RunMount>, BuildError> {
    ins.flags_named("mount")
        .map(|f| {
            let raw = f.value.as_deref().unwrap_or_default();
            let v = expand(&st.lexer, at, raw, |n| st.scope.get(n))?;
            mounts::parse_mount(&v).map_err(|e| BuildError::at(at, e))
        })
        .collect()
}

/// `from=` values of bind mounts (`None`: the build context), for the caller to resolve.
pub(crate) fn bind_froms(mounts: &[RunMount]) -> Vec<Option<String>> {
    mounts
        .iter()
        .filter_map(|m| match &m.kind {
            mounts::MountKind::Bind { from, .. } => Some(from.clone()),
            _ => None,
        })
        .collect()
}

/// The raw `from=` value of a `--mount` flag, for planning stage dependencies.
pub(crate) fn mount_from(value: &str) -> Option<String> {
    value
        .split(',')
        .filter_map(|p| p.trim().split_once('='))
        .find(|(k, _)| k.eq_ignore_ascii_case("from"))
        .map(|(_, v)| v.to_string())
}

/// Runs one RUN instruction and records its layer (or an empty-layer history entry).
pub(crate) fn run_step(
    env: &RunEnv<'_>,
    st: &mut StageState,
    ins: &Instruction,
    at: &Location,
    cmd: &CmdLine,
    run_mounts: &[RunMount],
    roots: &BTreeMap<Option<String>, PathBuf>,
) -> Result<(), BuildError> {
    let root = st.fs.ensure(env.store, &st.layers)?;
    let scratch = tempfile::Builder::new()
        .prefix("run-")
        .tempdir_in(env.work)
        .map_err(|source| BuildError::Io {
            what: "create a temp dir in",
            path: env.work.to_path_buf(),
            source,
        })?;
    let (argv, script) = command(st, ins, cmd, scratch.path(), at)?;
    let created_by = history_text(st, &argv);
    let shown = argv.join(" ");

    let mut prepared = mounts::prepare(
        run_mounts,
        &mounts::Sources {
            store: env.store,
            roots,
            secrets: &env.opts.secrets,
            work: env.work,
        },
    )
    .map_err(|e| BuildError::at(at, e))?;
    prepared.mounts.extend(script);

    let user = match st.config.config.user.as_deref() {
        None | Some("") => hoist_sandbox::UserSpec::default(),
        Some(u) => resolve_user(u, &root).map_err(|e| BuildError::at(at, e))?,
    };
    let cwd = st
        .config
        .config
        .working_dir
        .clone()
        .filter(|w| !w.is_empty())
        .unwrap_or_else(|| "/".into());
    let network = match ins.flag_value("network") {
        None => env.opts.network,
        Some("default") => env.opts.network,
        Some("none") => Network::None,
        Some("host") => Network::Host,
        Some(other) => {
            return Err(BuildError::at(
                at,
                format!("unknown --network={other}: use default, none or host"),
            ));
        }
    };
    let caps = capabilities();
    let isolation = env
        .opts
        .isolation
        .or_else(|| caps.recommended_isolation())
        .unwrap_or(Isolation::Rootless);
    let (id_map, ids) = id_mapping(caps, isolation);

    let mut exclude: Vec<String> = SANDBOX_MOUNTS.iter().map(|s| s.to_string()).collect();
    exclude.extend(prepared.exclude.iter().cloned());
    let started = std::time::Instant::now();
    let before = hoist_layer::diff::snapshot(&root, &SnapshotOptions { exclude })?;
    tracing::debug!(elapsed = ?started.elapsed(), "rootfs snapshot before the step");

    let spec = RunSpec {
        rootfs: root.clone(),
        argv: argv.clone(),
        env: environment(st, &prepared.env, &root, user.uid),
        cwd: cwd.clone(),
        user,
        network,
        mounts: prepared.mounts.clone(),
        isolation,
        id_map,
        etc_files: etc_files(scratch.path()).map_err(|source| BuildError::Io {
            what: "write the etc files in",
            path: scratch.path().to_path_buf(),
            source,
        })?,
        stdio: Stdio::Capture {
            tail_bytes: TAIL_BYTES,
        },
        ..RunSpec::default()
    };
    tracing::debug!(argv = ?spec.argv, ?isolation, ?network, "running step");
    // The previous step's layer is written while this step runs.
    let previous = pending::take(st);
    let (outcome, written) = std::thread::scope(|s| {
        let writer = previous.map(|p| s.spawn(|| pending::write(p, env)));
        let outcome = hoist_sandbox::run(&spec);
        let written = writer.map(|w| {
            w.join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
        });
        (outcome, written)
    });
    if let Some(layer) = written {
        pending::finish(st, layer?);
    }
    let outcome = outcome.map_err(|source| BuildError::Sandbox {
        at: at.clone(),
        command: shown.clone(),
        source: Box::new(source),
    })?;
    drop(prepared);
    remove_mount_points(&root, &outcome.created_paths, &before, &cwd);
    for line in String::from_utf8_lossy(&outcome.output).lines() {
        tracing::info!(target: "hoist::run", "{line}");
    }
    if !outcome.status.success() {
        return Err(BuildError::RunFailed {
            at: at.clone(),
            command: shown,
            status: match outcome.status {
                hoist_sandbox::ExitStatus::Code(c) => format!("exit code: {c}"),
                hoist_sandbox::ExitStatus::Signal(s) => format!("killed by signal {s}"),
            },
            output: tail_lines(&outcome.output),
        });
    }

    let owners = if is_root() {
        None
    } else {
        Some(st.fs.owners(env.store, &st.layers)?)
    };
    let started = std::time::Instant::now();
    let entries = hoist_layer::diff::diff(&before, &DiffOptions { ids, owners })?;
    tracing::debug!(elapsed = ?started.elapsed(), changes = entries.len(), "rootfs diff after the step");
    if entries.is_empty() {
        push_history(st, created_by, true);
        return Ok(());
    }
    if env.overlap_next {
        st.pending = Some(pending::PendingLayer::stash(entries, env.work)?);
    } else {
        st.fs.layer_in_place(st.layers.len(), &entries);
        let layer = write_layer(env.store, entries, env.layer_opts, env.reporter)?;
        pending::finish(st, layer);
    }
    push_history(st, created_by, false);
    Ok(())
}

/// argv for the step, plus a mount for a heredoc script that starts with `#!`.
///
/// BuildKit semantics: `RUN <<EOF` (the command is only the marker) runs the body as
/// the script, with the SHELL, or directly when it starts with `#!`; otherwise the
/// heredoc bodies are appended to the command line and the shell reads them
/// (`RUN python3 <<EOF` feeds the body on stdin).
fn command(
    st: &StageState,
    ins: &Instruction,
    cmd: &CmdLine,
    scratch: &Path,
    at: &Location,
) -> Result<(Vec<String>, Option<MountSpec>), BuildError> {
    let line = match cmd {
        CmdLine::Exec(v) => return Ok((v.clone(), None)),
        CmdLine::Shell(s) => s,
    };
    if let [only] = ins.heredocs.as_slice()
        && ins.heredoc_for(line.trim()).is_some_and(|h| h == only)
    {
        if only.content.starts_with("#!") {
            let file = scratch.join("script");
            write_mode(&file, only.content.as_bytes(), 0o755, at)?;
            let target = format!("/dev/pipes/{}", only.name);
            let mount = MountSpec::Bind {
                source: file,
                target: target.clone(),
                readonly: true,
            };
            return Ok((vec![target], Some(mount)));
        }
        let mut argv = st.shell.clone();
        argv.push(only.content.clone());
        return Ok((argv, None));
    }
    let mut text = line.clone();
    for h in &ins.heredocs {
        text.push('\n');
        text.push_str(&h.content);
        text.push_str(&h.name);
    }
    let mut argv = st.shell.clone();
    argv.push(text);
    Ok((argv, None))
}

fn write_mode(path: &Path, bytes: &[u8], mode: u32, at: &Location) -> Result<(), BuildError> {
    use std::os::unix::fs::PermissionsExt;
    fs::write(path, bytes)
        .and_then(|()| fs::set_permissions(path, fs::Permissions::from_mode(mode)))
        .map_err(|e| BuildError::at(at, format!("cannot write {}: {e}", path.display())))
}

/// The image's ENV, then ARGs in scope that ENV does not override, then secret env,
/// then `PATH` and `HOME` when none of these set them (as runc does).
fn environment(st: &StageState, extra: &[String], root: &Path, uid: u32) -> Vec<String> {
    let mut env = st.scope.env_list();
    for (k, v) in &st.scope.args {
        if !st.scope.env.iter().any(|(ek, _)| ek == k) {
            env.push(format!("{k}={v}"));
        }
    }
    env.extend(extra.iter().cloned());
    default_env(&mut env, root, uid);
    env
}

/// `RUN |1 A=x /bin/sh -c cmd # buildkit`, as BuildKit records it: the ARGs in
/// scope (not overridden by ENV) prefixed with their count.
fn history_text(st: &StageState, argv: &[String]) -> String {
    let args: Vec<String> = st
        .scope
        .args
        .iter()
        .filter(|(k, _)| !st.scope.env.iter().any(|(ek, _)| ek == *k))
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    let prefix = if args.is_empty() {
        String::new()
    } else {
        format!("|{} {} ", args.len(), args.join(" "))
    };
    format!("RUN {prefix}{} # buildkit", argv.join(" "))
}

/// Removes the mount points and parents the sandbox created, when they are still
/// empty, so the rootfs is the image again (the working directory stays).
fn remove_mount_points(
    root: &Path,
    created: &[PathBuf],
    before: &hoist_layer::diff::Snapshot,
    cwd: &str,
) {
    let cwd = Path::new(cwd.trim_start_matches('/'));
    for rel in created.iter().rev() {
        if cwd.starts_with(rel) || before.get(&rel.to_string_lossy()).is_some() {
            continue;
        }
        let path = root.join(rel);
        let Ok(meta) = fs::symlink_metadata(&path) else {
            continue;
        };
        let removed = if meta.is_dir() {
            fs::remove_dir(&path)
        } else if meta.is_file() && meta.len() == 0 {
            fs::remove_file(&path)
        } else {
            continue;
        };
        // A non-empty directory means the step wrote into it: it belongs in the layer.
        if let Err(e) = removed {
            tracing::debug!(path = %path.display(), error = %e, "mount point kept");
        }
    }
}

/// The last lines of output, each prefixed with a newline.
fn tail_lines(output: &[u8]) -> String {
    let text = String::from_utf8_lossy(output);
    let lines: Vec<&str> = text.lines().collect();
    let start = lines.len().saturating_sub(TAIL_LINES);
    lines[start..].iter().map(|l| format!("\n  {l}")).collect()
}
