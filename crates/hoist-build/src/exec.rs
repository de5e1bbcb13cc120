//! Executing the plan: one stage at a time, in dependency order.

mod layers;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use hoist_context::Context;
use hoist_dockerfile::expand::Lexer;
use hoist_dockerfile::{CmdLine, Command, Instruction};
use hoist_layer::{EntryMeta, LayerOptions, Timestamp};
use hoist_oci::{History, ImageConfig, Platform, Reference};
use hoist_store::Store;

use crate::commit::write_image;
use crate::error::{BuildError, Location};
use crate::instr::apply_metadata;
use crate::options::{BuildOptions, BuildOutcome, DockerfileSource};
use crate::plan::{self, Base, FromSource, Plan, expand, loc};
use crate::report::Reporter;
use crate::rootfs::{LayerRef, StageFs};
use crate::vars::{BuildArgs, Scope, platform_args};

const DEFAULT_PATH: &str = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
const HISTORY_COMMENT: &str = "buildkit.dockerfile.v0";

/// The state of a stage while its instructions run.
pub(crate) struct StageState {
    pub(crate) config: ImageConfig,
    pub(crate) layers: Vec<LayerRef>,
    pub(crate) scope: Scope,
    pub(crate) shell: Vec<String>,
    /// True once CMD was set in this stage (ENTRYPOINT then keeps it).
    pub(crate) cmd_set: bool,
    pub(crate) lexer: Lexer,
    /// Build time: history `created`, mtime of directories hoist creates.
    pub(crate) now: Timestamp,
    pub(crate) fs: StageFs,
    /// RUN layers being written in the background, oldest first (`crate::run::pending`).
    pub(crate) pending: crate::run::pending::Pending,
}

impl StageState {
    /// argv for CMD/ENTRYPOINT: exec form as written, shell form wrapped in SHELL.
    pub(crate) fn argv(&self, cmd: &CmdLine) -> Vec<String> {
        match cmd {
            CmdLine::Exec(v) => v.clone(),
            CmdLine::Shell(s) => {
                let mut v = self.shell.clone();
                v.push(s.clone());
                v
            }
        }
    }
}

/// Everything the stages share while the build runs.
struct Run<'a> {
    store: &'a Store,
    file: String,
    opts: &'a BuildOptions,
    reporter: &'a dyn Reporter,
    context: Context,
    build_args: BuildArgs,
    automatic: BTreeMap<String, String>,
    target_platform: Platform,
    layer_opts: LayerOptions,
    work: tempfile::TempDir,
    /// Rootfs of images used by `COPY --from=image`, by reference.
    image_fs: BTreeMap<String, (Vec<LayerRef>, StageFs)>,
    /// Fetches missing base images per `opts.pull`.
    bases: crate::base::Bases<'a>,
    /// The current RUN may leave its layer pending (the next fs instruction is a RUN).
    overlap_next: bool,
    /// RUN steps mount the layers as an overlay (cleared when the kernel or the
    /// filesystem cannot, or `HOIST_OVERLAY=0`).
    overlay: std::sync::atomic::AtomicBool,
}

/// Builds the image described by `opts` into `store`; base images must be in the store.
pub fn build(
    store: &Store,
    opts: &BuildOptions,
    reporter: &dyn Reporter,
) -> Result<BuildOutcome, BuildError> {
    build_with(store, opts, reporter, None)
}

/// Like [`build`], fetching base images through `fetcher` as `opts.pull` says.
pub fn build_with(
    store: &Store,
    opts: &BuildOptions,
    reporter: &dyn Reporter,
    fetcher: Option<&dyn crate::ImageFetcher>,
) -> Result<BuildOutcome, BuildError> {
    let _lease = store.lock_shared()?;
    let (file, text, df_path) = read_dockerfile(opts)?;
    let df = hoist_dockerfile::parse(&file, &text)?;
    let lexer = Lexer::new(df.directives.escape);
    let target_platform = opts.platform.clone().unwrap_or_else(Platform::host);
    let automatic = platform_args(&target_platform, &Platform::host());
    let build_args = BuildArgs::new(opts.build_args.clone());
    let plan = plan::plan(
        &file,
        &df,
        &lexer,
        &build_args,
        &automatic,
        opts.target.as_deref(),
    )?;
    let context = Context::open(&opts.context, &df_path)?;
    let now = Timestamp {
        secs: opts.timestamp.unwrap_or_else(unix_now),
        nanos: 0,
    };
    let layer_opts = LayerOptions {
        compression: opts.compression,
        level: opts.compression_level,
        parent_meta: EntryMeta {
            mode: 0o755,
            uid: 0,
            gid: 0,
            mtime: now,
            xattrs: BTreeMap::new(),
        },
        clamp_mtime: opts.timestamp.map(|secs| Timestamp { secs, nanos: 0 }),
        ..LayerOptions::default()
    };
    let mut run = Run {
        store,
        file,
        opts,
        reporter,
        context,
        build_args,
        automatic,
        target_platform,
        layer_opts,
        work: store.work_dir("build-")?,
        image_fs: BTreeMap::new(),
        bases: crate::base::Bases::new(fetcher, opts.pull),
        overlap_next: false,
        overlay: std::sync::atomic::AtomicBool::new(
            std::env::var_os("HOIST_OVERLAY").is_none_or(|v| v != "0"),
        ),
    };
    let mut done: Vec<Option<StageState>> = (0..plan.stages.len()).map(|_| None).collect();
    for &i in &plan.order {
        let st = run.stage(&plan, i, &mut done, lexer, now)?;
        done[i] = Some(st);
    }
    let unused = run.build_args.unused();
    if !unused.is_empty() {
        reporter.warn(&format!(
            "one or more build-args {unused:?} were not consumed"
        ));
    }
    let mut st = done[plan.target]
        .take()
        .ok_or_else(|| BuildError::UnknownTarget(plan.target.to_string()))?;
    for (k, v) in &opts.labels {
        st.config.config.labels.insert(k.clone(), v.clone());
    }
    st.config.created = Some(rfc3339(now.secs));
    let (manifest, config_desc) = write_image(store, &st.config, &st.layers)?;
    for tag in &opts.tags {
        store.set_name(tag, &manifest)?;
    }
    Ok(BuildOutcome {
        config_digest: config_desc.digest().clone(),
        manifest,
        tags: opts.tags.clone(),
    })
}

impl Run<'_> {
    fn stage(
        &mut self,
        plan: &Plan,
        index: usize,
        done: &mut [Option<StageState>],
        lexer: Lexer,
        now: Timestamp,
    ) -> Result<StageState, BuildError> {
        let stage = &plan.stages[index];
        let from_at = loc(&self.file, &stage.from);
        let platform = match &stage.platform {
            Some(p) => p
                .parse::<Platform>()
                .map_err(|e| BuildError::at(&from_at, e.to_string()))?,
            None => self.target_platform.clone(),
        };
        let (config, layers) = match &stage.base {
            Base::Scratch => (scratch_config(&platform), Vec::new()),
            Base::Stage(b) => {
                let base = done[*b]
                    .as_ref()
                    .ok_or_else(|| BuildError::at(&from_at, "internal: base stage not built"))?;
                (base.config.clone(), base.layers.clone())
            }
            Base::Image(r) => self.base_image(r, &platform, &from_at)?,
        };
        let mut scope = Scope::default();
        scope.load_env(&config.config.env);
        let shell = config
            .config
            .shell
            .clone()
            .unwrap_or_else(|| vec!["/bin/sh".into(), "-c".into()]);
        let mut st = StageState {
            config,
            layers,
            scope,
            shell,
            cmd_set: false,
            lexer,
            now,
            fs: StageFs::default(),
            pending: Default::default(),
        };
        if let Base::Stage(b) = &stage.base
            && let Some(base) = &done[*b]
        {
            // The base stage's layer directories (its RUN uppers among them) stay
            // until the build ends: no need to unpack its layers again.
            st.fs.dirs = base.fs.dirs.clone();
        }
        let triggers = st.config.config.on_build.take().unwrap_or_default();
        let mut instructions: Vec<Instruction> = Vec::new();
        for t in &triggers {
            let parsed = hoist_dockerfile::parse(&format!("{} (ONBUILD of base)", self.file), t)?;
            instructions.extend(parsed.instructions);
        }
        instructions.extend(stage.instructions.iter().cloned());
        let total = instructions.len();
        let names: Vec<Option<String>> = plan.stages.iter().map(|s| s.name.clone()).collect();
        for (n, ins) in instructions.iter().enumerate() {
            self.reporter
                .step(&stage.label(), n + 1, total, ins.original.trim());
            let at = loc(&self.file, ins);
            self.overlap_next = next_touches_fs(&instructions[n + 1..])
                .is_some_and(|i| matches!(i.command, Command::Run(_)));
            if touches_fs(ins) && !matches!(ins.command, Command::Run(_)) {
                self.flush(&mut st)?;
            }
            self.instruction(&mut st, ins, &at, &plan.globals, &names, done)?;
        }
        self.flush(&mut st)?;
        Ok(st)
    }

    fn instruction(
        &mut self,
        st: &mut StageState,
        ins: &Instruction,
        at: &Location,
        globals: &BTreeMap<String, String>,
        names: &[Option<String>],
        done: &mut [Option<StageState>],
    ) -> Result<(), BuildError> {
        let created_by = match &ins.command {
            Command::Arg(decls) => {
                for d in decls {
                    let default = match &d.default {
                        Some(w) => Some(expand(&st.lexer, at, w, |n| st.scope.get(n))?),
                        None => None,
                    };
                    st.scope.declare_arg(
                        &d.name,
                        default,
                        &self.build_args,
                        globals,
                        &self.automatic,
                    );
                }
                return Ok(());
            }
            Command::Run(cmd) => {
                self.run_instruction(st, ins, at, cmd, names, done)?;
                return Ok(());
            }
            Command::From { .. } => {
                return Err(BuildError::at(at, "internal: FROM inside a stage"));
            }
            Command::Workdir(w) => {
                let w = expand(&st.lexer, at, w, |n| st.scope.get(n))?;
                let dir = join_workdir(st.config.config.working_dir.as_deref(), &w);
                st.config.config.working_dir = Some(dir.clone());
                self.workdir_layer(st, &dir)?;
                format!("WORKDIR {dir}")
            }
            Command::Copy(_) | Command::Add(_) => {
                self.copy(st, ins, at, names, done)?;
                return Ok(());
            }
            _ => {
                let text = apply_metadata(st, ins, at)?;
                push_history(st, text, true);
                return Ok(());
            }
        };
        // WORKDIR's history entry was pushed by workdir_layer when it made a layer.
        if st
            .config
            .history
            .last()
            .and_then(|h| h.created_by.as_deref())
            != Some(created_by.as_str())
        {
            push_history(st, created_by, true);
        }
        Ok(())
    }

    /// RUN: resolves the roots of bind mounts, then runs the step (`crate::run`).
    fn run_instruction(
        &mut self,
        st: &mut StageState,
        ins: &Instruction,
        at: &Location,
        cmd: &CmdLine,
        names: &[Option<String>],
        done: &mut [Option<StageState>],
    ) -> Result<(), BuildError> {
        let mounts = crate::run::parse_mounts(st, ins, at)?;
        let mut roots = BTreeMap::new();
        for from in crate::run::bind_froms(&mounts) {
            let root = match &from {
                None => self.context.root().to_path_buf(),
                Some(v) => match plan::from_source(v, names, at)? {
                    FromSource::Stage(i) => {
                        let other = done[i].as_mut().ok_or_else(|| {
                            BuildError::at(at, "internal: --mount from stage not built")
                        })?;
                        let layers = other.layers.clone();
                        other.fs.ensure(self.store, &layers)?
                    }
                    FromSource::Image(r) => self.image_root(&r, at)?,
                },
            };
            roots.insert(from, root);
        }
        let env = self.run_env(self.overlap_next);
        crate::run::run_step(&env, st, ins, at, cmd, &mounts, &roots)
    }

    /// What a RUN step needs from the build.
    fn run_env(&self, overlap_next: bool) -> crate::run::RunEnv<'_> {
        crate::run::RunEnv {
            store: self.store,
            opts: self.opts,
            layer_opts: &self.layer_opts,
            reporter: self.reporter,
            work: self.work.path(),
            overlap_next,
            overlay: &self.overlay,
        }
    }

    /// Waits for the stage's RUN layers being written.
    fn flush(&self, st: &mut StageState) -> Result<(), BuildError> {
        crate::run::pending::flush(&self.run_env(false), st)
    }

    fn base_image(
        &self,
        r: &Reference,
        platform: &Platform,
        at: &Location,
    ) -> Result<(ImageConfig, Vec<LayerRef>), BuildError> {
        self.bases.ensure(self.store, r, platform, at)?;
        crate::container::load_image(self.store, r, platform)?.ok_or_else(|| {
            BuildError::BaseNotFound {
                at: at.clone(),
                reference: r.to_string(),
            }
        })
    }

    fn image_root(&mut self, r: &Reference, at: &Location) -> Result<PathBuf, BuildError> {
        let key = r.to_string();
        if !self.image_fs.contains_key(&key) {
            let (_, layers) = self.base_image(r, &self.target_platform.clone(), at)?;
            self.image_fs
                .insert(key.clone(), (layers, StageFs::default()));
        }
        let (layers, fs) = self
            .image_fs
            .get_mut(&key)
            .ok_or_else(|| BuildError::at(at, "internal: image rootfs missing"))?;
        fs.ensure(self.store, layers)
    }
}

/// Instructions that read or add layers (the rest only change the config).
fn touches_fs(ins: &Instruction) -> bool {
    matches!(
        ins.command,
        Command::Run(_) | Command::Copy(_) | Command::Add(_) | Command::Workdir(_)
    )
}

/// The next instruction that reads or adds layers.
fn next_touches_fs(rest: &[Instruction]) -> Option<&Instruction> {
    rest.iter().find(|i| touches_fs(i))
}

pub(crate) fn push_history(st: &mut StageState, created_by: String, empty_layer: bool) {
    st.config.history.push(History {
        created: Some(rfc3339(st.now.secs)),
        created_by: Some(created_by),
        comment: Some(HISTORY_COMMENT.into()),
        empty_layer,
        ..Default::default()
    });
}

/// `COPY --from=x a b # buildkit` style text for history.
fn history_text(ins: &Instruction) -> String {
    format!("{} # buildkit", ins.original.trim())
}

fn scratch_config(p: &Platform) -> ImageConfig {
    let mut c = ImageConfig {
        architecture: p.architecture.clone(),
        os: p.os.clone(),
        variant: p.variant.clone(),
        ..Default::default()
    };
    c.config.env = vec![DEFAULT_PATH.to_string()];
    c
}

/// WORKDIR semantics: relative paths join the current workdir; the result is cleaned.
pub(crate) fn join_workdir(current: Option<&str>, w: &str) -> String {
    let joined = if w.starts_with('/') {
        w.to_string()
    } else {
        format!("{}/{}", current.unwrap_or("/"), w)
    };
    let mut parts: Vec<&str> = Vec::new();
    for c in joined.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            c => parts.push(c),
        }
    }
    format!("/{}", parts.join("/"))
}

fn read_dockerfile(opts: &BuildOptions) -> Result<(String, String, PathBuf), BuildError> {
    match &opts.dockerfile {
        DockerfileSource::Text { name, text } => {
            Ok((name.clone(), text.clone(), opts.context.join("Dockerfile")))
        }
        DockerfileSource::Path(p) => {
            let path = p.clone().unwrap_or_else(|| opts.context.join("Dockerfile"));
            let text =
                std::fs::read_to_string(&path).map_err(|source| BuildError::ReadDockerfile {
                    path: path.clone(),
                    source,
                })?;
            let name = display_name(&path);
            Ok((name, text, path))
        }
    }
}

fn display_name(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// RFC 3339 UTC for a Unix time (proleptic Gregorian; days-to-civil after H. Hinnant).
pub(crate) fn rfc3339(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_format() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_700_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
    }

    #[test]
    fn workdir_join() {
        assert_eq!(join_workdir(None, "app"), "/app");
        assert_eq!(join_workdir(Some("/app"), "src/../lib"), "/app/lib");
        assert_eq!(join_workdir(Some("/app"), "/x/"), "/x");
    }
}
