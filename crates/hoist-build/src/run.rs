//! `RUN`: run a command on the stage's filesystem with [`hoist_sandbox`], then turn
//! what it changed into a layer.
//!
//! Steps: prepare the filesystem ([`stepfs`]: the layers as overlay lower
//! directories under a fresh upper, or the materialised rootfs and a snapshot of
//! it), run (while earlier steps' layers are written, [`pending`]), remove the
//! mount points the sandbox had to create (when still empty), read the changes
//! (the upper directory, or a diff against the snapshot, leaving out `/proc`,
//! `/sys`, `/dev`, the bound etc files and every `--mount` target), write the layer
//! from where the files already are (nothing is extracted again).
//!
//! Ownership: as root (identity map or chroot) the disk is the truth. Rootless,
//! layers were unpacked by the caller, so the image's owners are kept aside
//! ([`crate::layerdirs`], [`crate::rootfs::StageFs::owners`]) and the host ids of
//! files the step wrote map back to container ids: with a single mapping the
//! caller's ids are container root; with subordinate ranges (`/etc/subuid`,
//! `newuidmap`), host `start + n - 1` is container `n`. A path whose on-disk ids did
//! not change keeps the image's owner.

mod mounts;
pub(crate) mod pending;
mod stepfs;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use hoist_dockerfile::{CmdLine, Instruction};
use hoist_layer::LayerOptions;
use hoist_sandbox::{Isolation, MountSpec, Network, RunSpec, Stdio};
use hoist_store::Store;

use crate::container::{capabilities, default_env, etc_files, id_mapping};
use crate::error::{BuildError, Location};
use crate::exec::{StageState, push_history};
use crate::options::BuildOptions;
use crate::plan::expand;
use crate::report::Reporter;
use crate::rootfs::{Etc, resolve_user};
pub(crate) use mounts::RunMount;
use stepfs::StepFs;

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
    /// RUN steps mount the layers as an overlay; cleared (for the rest of the
    /// build) when the kernel or filesystem refuses.
    pub(crate) overlay: &'a std::sync::atomic::AtomicBool,
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

    let caps = capabilities();
    let isolation = env
        .opts
        .isolation
        .or_else(|| caps.recommended_isolation())
        .unwrap_or(Isolation::Rootless);
    let (id_map, ids) = id_mapping(caps, isolation);
    let mut exclude: Vec<String> = SANDBOX_MOUNTS.iter().map(|s| s.to_string()).collect();
    exclude.extend(prepared.exclude.iter().cloned());
    let mut overlay =
        env.overlay.load(std::sync::atomic::Ordering::Relaxed) && isolation == Isolation::Rootless;
    let stepfs = match overlay
        .then(|| StepFs::overlay(env, st))
        .transpose()?
        .flatten()
    {
        Some(fs) => fs,
        None => {
            overlay = false;
            StepFs::flat(env, st, exclude.clone())?
        }
    };

    let user = match st.config.config.user.as_deref() {
        None | Some("") => hoist_sandbox::UserSpec::default(),
        Some(u) => resolve_user(u, &stepfs.etc()).map_err(|e| BuildError::at(at, e))?,
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
    let mut spec = RunSpec {
        argv: argv.clone(),
        env: environment(st, &prepared.env, &stepfs.etc(), user.uid),
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
    stepfs.apply(&mut spec);
    tracing::debug!(argv = ?spec.argv, ?isolation, ?network, overlay, "running step");
    let outcome = hoist_sandbox::run(&spec);
    let outcome = match outcome {
        Err(e) if overlay && e.is_overlay_unsupported() => {
            stepfs.discard();
            drop(prepared);
            let why = std::error::Error::source(&e)
                .map(|s| s.to_string())
                .unwrap_or_default();
            tracing::warn!(error = %why, "cannot mount an overlay rootfs; RUN steps use a copied rootfs");
            env.overlay
                .store(false, std::sync::atomic::Ordering::Relaxed);
            return run_step(env, st, ins, at, cmd, run_mounts, roots);
        }
        other => other.map_err(|source| BuildError::Sandbox {
            at: at.clone(),
            command: shown.clone(),
            source: Box::new(source),
        })?,
    };
    drop(prepared);
    for line in String::from_utf8_lossy(&outcome.output).lines() {
        tracing::info!(target: "hoist::run", "{line}");
    }
    if !outcome.status.success() {
        stepfs.discard();
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

    let entries = stepfs
        .changes(st, env, &outcome.created_paths, &cwd, ids, exclude)
        .map_err(|e| unreadable_changes(at, e))?;
    if entries.is_empty() {
        stepfs.discard();
        push_history(st, created_by, true);
        return Ok(());
    }
    stepfs.record(env, st, entries)?;
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
fn environment(st: &StageState, extra: &[String], etc: &Etc<'_>, uid: u32) -> Vec<String> {
    let mut env = st.scope.env_list();
    for (k, v) in &st.scope.args {
        if !st.scope.env.iter().any(|(ek, _)| ek == k) {
            env.push(format!("{k}={v}"));
        }
    }
    env.extend(extra.iter().cloned());
    default_env(&mut env, etc, uid);
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

/// Names the step when what it wrote cannot be read back, with a hint when the
/// cause is a file the step made private to another user.
fn unreadable_changes(at: &Location, e: BuildError) -> BuildError {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(&e);
    let mut denied = false;
    while let Some(s) = source {
        text.push_str(&format!(": {s}"));
        denied |= s
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::PermissionDenied);
        source = s.source();
    }
    if denied {
        text.push_str(
            "\nhint: the step made files private to another user, which hoist (not root) \
             cannot read back; give your user a /etc/subuid and /etc/subgid range and \
             install newuidmap (package uidmap), with HOIST_USERNS unset, or make the files readable in the step",
        );
    }
    BuildError::at(at, format!("cannot read the step's changes: {text}"))
}

/// The last lines of output, each prefixed with a newline.
fn tail_lines(output: &[u8]) -> String {
    let text = String::from_utf8_lossy(output);
    let lines: Vec<&str> = text.lines().collect();
    let start = lines.len().saturating_sub(TAIL_LINES);
    lines[start..].iter().map(|l| format!("\n  {l}")).collect()
}
