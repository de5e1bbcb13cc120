//! Running an image from the store (`hoist run`), and the sandbox wiring it shares
//! with RUN steps: host capabilities, id mapping, the bound etc files, the user's
//! home directory and the default environment.
//!
//! [`run_container`] extracts the image into a throwaway rootfs in the store's work
//! area, runs its ENTRYPOINT/CMD in [`hoist_sandbox`] with the image's ENV, USER and
//! WORKDIR (each overridable), and removes the rootfs afterwards: nothing persists,
//! as `docker run --rm`.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use hoist_layer::diff::IdRemap;
use hoist_oci::{ImageConfig, Platform, Reference};
use hoist_sandbox::{
    Capabilities, EtcFiles, ExitStatus, IdMap, Isolation, MountSpec, Network, RunSpec, SUBID_COUNT,
    Stdio,
};
use hoist_store::Store;

use crate::error::BuildError;
use crate::rootfs::{Etc, LayerRef, StageFs, resolve_user};

/// How to run an image with [`run_container`].
#[derive(Debug, Clone)]
pub struct ContainerOptions {
    /// The image in the store. Required (no default).
    pub image: Reference,
    /// Which manifest of an index to run. Default: the host's platform.
    pub platform: Platform,
    /// Replaces the image's CMD (arguments after the image name). Default: empty,
    /// meaning the image's CMD.
    pub command: Vec<String>,
    /// Replaces the image's ENTRYPOINT (`Some(vec![])` clears it). Default: `None`,
    /// meaning the image's ENTRYPOINT.
    pub entrypoint: Option<Vec<String>>,
    /// `K=V` pairs set after the image's ENV (a key given twice: the last wins).
    /// Default: none.
    pub env: Vec<String>,
    /// Host paths bound into the container. Default: none.
    pub volumes: Vec<Volume>,
    /// Replaces the image's USER (`user[:group]`, names or numbers). Default: `None`.
    pub user: Option<String>,
    /// Replaces the image's WORKDIR (absolute). Default: `None`.
    pub workdir: Option<String>,
    /// The container's network. Default: [`Network::Host`].
    pub network: Network,
    /// Sandbox isolation. Default: `None`, meaning rootless, or chroot as root where
    /// user namespaces are denied.
    pub isolation: Option<Isolation>,
}

impl ContainerOptions {
    /// Options that run `image` as its config says.
    pub fn new(image: Reference) -> Self {
        ContainerOptions {
            image,
            platform: Platform::host(),
            command: Vec::new(),
            entrypoint: None,
            env: Vec::new(),
            volumes: Vec::new(),
            user: None,
            workdir: None,
            network: Network::Host,
            isolation: None,
        }
    }
}

/// A host path bound into the container (`-v HOST:CTR[:ro]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Volume {
    /// Host file or directory (absolute).
    pub host: PathBuf,
    /// Absolute path inside the container.
    pub target: String,
    /// Mounted read-only.
    pub readonly: bool,
}

impl Volume {
    /// Parses `HOST:CTR`, `HOST:CTR:ro` or `HOST:CTR:rw`; both paths must be absolute.
    pub fn parse(spec: &str) -> Result<Volume, String> {
        let parts: Vec<&str> = spec.split(':').collect();
        let (host, target, readonly) = match parts.as_slice() {
            [h, t] => (*h, *t, false),
            [h, t, "ro"] => (*h, *t, true),
            [h, t, "rw"] => (*h, *t, false),
            [_, _, opt] => return Err(format!("invalid volume {spec:?}: unknown option {opt:?}")),
            _ => return Err(format!("invalid volume {spec:?}: expected HOST:CTR[:ro]")),
        };
        if !host.starts_with('/') || !target.starts_with('/') {
            return Err(format!(
                "invalid volume {spec:?}: both paths must be absolute"
            ));
        }
        Ok(Volume {
            host: PathBuf::from(host),
            target: target.to_string(),
            readonly,
        })
    }
}

/// The config and layers of `r` for `platform` in the store; `None` when absent.
pub(crate) fn load_image(
    store: &Store,
    r: &Reference,
    platform: &Platform,
) -> Result<Option<(ImageConfig, Vec<LayerRef>)>, BuildError> {
    let Some(image) = store.resolve_image(r, platform)? else {
        return Ok(None);
    };
    let config: ImageConfig =
        serde_json::from_slice(&image.config_bytes).map_err(|source| BuildError::Json {
            what: "image config",
            source,
        })?;
    if config.rootfs.diff_ids.len() != image.manifest.layers().len() {
        return Err(BuildError::ImageInvalid {
            reference: r.to_string(),
            reason: "its config's diff_ids do not match its layers".into(),
        });
    }
    let layers = image
        .manifest
        .layers()
        .iter()
        .zip(config.rootfs.diff_ids.iter())
        .map(|(d, diff)| LayerRef {
            digest: d.digest().clone(),
            size: d.size(),
            media_type: d.media_type().clone(),
            diff_id: diff.clone(),
        })
        .collect();
    Ok(Some((config, layers)))
}

/// Runs `opts.image` in the sandbox with the caller's stdin/stdout/stderr and returns
/// how its command ended. The rootfs is a throwaway extraction, removed on return.
pub fn run_container(store: &Store, opts: &ContainerOptions) -> Result<ExitStatus, BuildError> {
    let reference = opts.image.to_string();
    let (config, layers) = load_image(store, &opts.image, &opts.platform)?.ok_or_else(|| {
        BuildError::ImageNotFound {
            reference: reference.clone(),
        }
    })?;
    let setup = |message: String| BuildError::Container {
        reference: reference.clone(),
        message,
    };
    let c = &config.config;
    let mut argv = opts
        .entrypoint
        .clone()
        .or_else(|| c.entrypoint.clone())
        .unwrap_or_default();
    if opts.command.is_empty() {
        argv.extend(c.cmd.iter().flatten().cloned());
    } else {
        argv.extend(opts.command.iter().cloned());
    }
    if argv.is_empty() {
        return Err(setup(
            "no command: the image has no ENTRYPOINT or CMD".into(),
        ));
    }
    let cwd = match opts.workdir.as_deref().or(c.working_dir.as_deref()) {
        None | Some("") => "/".to_string(),
        Some(w) if w.starts_with('/') => w.to_string(),
        Some(w) => return Err(setup(format!("working directory {w:?} is not absolute"))),
    };

    let scratch = store.work_dir("run-")?;
    let caps = capabilities();
    let isolation = opts
        .isolation
        .or_else(|| caps.recommended_isolation())
        .unwrap_or(Isolation::Rootless);
    let overlay = isolation == Isolation::Rootless
        && std::env::var_os("HOIST_OVERLAY").is_none_or(|v| v != "0")
        && crate::layerdirs::user_xattrs(scratch.path());
    // Dropped on return: the throwaway upper directory or rootfs goes with it.
    let mut stage = StageFs::default();
    let first = if overlay {
        let stack = stage.dirs.ensure(store, &layers)?;
        let mut spec = container_spec(
            opts,
            &config,
            argv.clone(),
            &cwd,
            Etc::Layers(&stack),
            scratch.path(),
            isolation,
            &reference,
        )?;
        let dirs = scratch.path().join("overlay");
        crate::layerdirs::make_overlay_dirs(&dirs)?;
        crate::layerdirs::overlay_rootfs(&mut spec, &stack, &dirs);
        tracing::debug!(image = %reference, argv = ?spec.argv, ?isolation, "running container on an overlay");
        let outcome = hoist_sandbox::run(&spec);
        hoist_store::remove_tree(&dirs);
        match outcome {
            Err(e) if e.is_overlay_unsupported() => {
                tracing::warn!(error = %e, "cannot mount an overlay rootfs; using a copy");
                None
            }
            other => Some(other),
        }
    } else {
        None
    };
    let outcome = match first {
        Some(outcome) => outcome,
        None => {
            let root = stage.ensure(store, &layers)?;
            let mut spec = container_spec(
                opts,
                &config,
                argv,
                &cwd,
                Etc::Dir(&root),
                scratch.path(),
                isolation,
                &reference,
            )?;
            spec.rootfs = root.clone();
            tracing::debug!(image = %reference, argv = ?spec.argv, ?isolation, "running container");
            hoist_sandbox::run(&spec)
        }
    };
    let outcome = outcome.map_err(|source| BuildError::ContainerSandbox {
        reference: reference.clone(),
        source: Box::new(source),
    })?;
    Ok(outcome.status)
}

/// The run spec of a container, but for where its rootfs is.
#[allow(clippy::too_many_arguments)]
fn container_spec(
    opts: &ContainerOptions,
    config: &ImageConfig,
    argv: Vec<String>,
    cwd: &str,
    etc: Etc<'_>,
    scratch: &Path,
    isolation: Isolation,
    reference: &str,
) -> Result<RunSpec, BuildError> {
    let c = &config.config;
    let user = match opts.user.as_deref().or(c.user.as_deref()) {
        None | Some("") => hoist_sandbox::UserSpec::default(),
        Some(u) => resolve_user(u, &etc).map_err(|message| BuildError::Container {
            reference: reference.to_string(),
            message,
        })?,
    };
    let mut env = c.env.clone();
    for kv in &opts.env {
        set_env(&mut env, kv);
    }
    default_env(&mut env, &etc, user.uid);
    Ok(RunSpec {
        argv,
        env,
        cwd: cwd.to_string(),
        user,
        network: opts.network,
        mounts: opts
            .volumes
            .iter()
            .map(|v| MountSpec::Bind {
                source: v.host.clone(),
                target: v.target.clone(),
                readonly: v.readonly,
            })
            .collect(),
        isolation,
        id_map: id_mapping(capabilities(), isolation).0,
        etc_files: etc_files(scratch).map_err(|source| BuildError::Io {
            what: "write the etc files in",
            path: scratch.to_path_buf(),
            source,
        })?,
        stdio: Stdio::Inherit,
        ..RunSpec::default()
    })
}

/// Sets `K=V` in `env`, replacing an earlier value of `K`.
pub(crate) fn set_env(env: &mut Vec<String>, kv: &str) {
    let key = kv.split_once('=').map_or(kv, |(k, _)| k);
    env.retain(|e| e.split_once('=').map_or(e.as_str(), |(k, _)| k) != key);
    env.push(kv.to_string());
}

/// Adds what runc gives every process when the image does not set it: `PATH`
/// (Docker's default) and `HOME` (the user's passwd entry, else `/`).
pub(crate) fn default_env(env: &mut Vec<String>, etc: &Etc<'_>, uid: u32) {
    let has = |env: &[String], k: &str| {
        env.iter()
            .any(|e| e.split_once('=').is_some_and(|(ek, _)| ek == k))
    };
    if !has(env, "PATH") {
        env.push(format!("PATH={}", hoist_sandbox::DEFAULT_PATH));
    }
    if !has(env, "HOME") {
        env.push(format!("HOME={}", home_dir(etc, uid)));
    }
}

/// The home directory of `uid` in the rootfs's /etc/passwd, `/` when unknown.
fn home_dir(etc: &Etc<'_>, uid: u32) -> String {
    let passwd = etc.read("passwd").unwrap_or_default();
    passwd
        .lines()
        .map(|l| l.split(':').collect::<Vec<_>>())
        .find(|f| f.len() > 5 && f[2].parse() == Ok(uid))
        .map(|f| f[5].to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "/".into())
}

static CAPABILITIES: OnceLock<Capabilities> = OnceLock::new();

/// The host's sandbox capabilities, probed once per process.
pub(crate) fn capabilities() -> &'static Capabilities {
    CAPABILITIES.get_or_init(hoist_sandbox::probe)
}

/// The sandbox's id map and how to read the ids it leaves on disk. Explicit, so
/// both sides agree: subordinate ranges when available, else a single mapping.
pub(crate) fn id_mapping(caps: &Capabilities, isolation: Isolation) -> (IdMap, IdRemap) {
    if isolation == Isolation::Chroot || caps.is_root() {
        return (IdMap::Auto, IdRemap::Identity);
    }
    match (&caps.newuidmap, &caps.newgidmap, caps.subuid, caps.subgid) {
        (Some(_), Some(_), Some(u), Some(g)) => (
            IdMap::Subid,
            IdRemap::Subid {
                uid: caps.euid,
                gid: caps.egid,
                uid_start: u.start,
                uid_count: u.count.min(SUBID_COUNT),
                gid_start: g.start,
                gid_count: g.count.min(SUBID_COUNT),
            },
        ),
        _ => (
            IdMap::Single,
            IdRemap::Single {
                uid: caps.euid,
                gid: caps.egid,
            },
        ),
    }
}

/// Writes the files bound over /etc/hosts, /etc/resolv.conf and /etc/hostname into
/// `dir` (the host's resolv.conf; none on a box without one).
pub(crate) fn etc_files(dir: &Path) -> std::io::Result<EtcFiles> {
    use std::os::unix::fs::PermissionsExt;
    let write = |name: &str, bytes: &[u8]| -> std::io::Result<PathBuf> {
        let path = dir.join(name);
        fs::write(&path, bytes)?;
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644))?;
        Ok(path)
    };
    let hosts = write(
        "hosts",
        b"127.0.0.1\tlocalhost hoist\n::1\tlocalhost ip6-localhost ip6-loopback\n",
    )?;
    let hostname = write("hostname", b"hoist\n")?;
    // Without a host resolv.conf (a sealed CI box) the command simply gets an empty one.
    let host_resolv = fs::read("/etc/resolv.conf").unwrap_or_default();
    let resolv = write("resolv.conf", &host_resolv)?;
    Ok(EtcFiles {
        hosts: Some(hosts),
        resolv_conf: Some(resolv),
        hostname: Some(hostname),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn volumes_parse_like_docker() {
        let v = Volume::parse("/h:/c:ro").unwrap();
        assert_eq!(
            (v.host, v.target.as_str(), v.readonly),
            ("/h".into(), "/c", true)
        );
        assert!(!Volume::parse("/h:/c").unwrap().readonly);
        assert!(!Volume::parse("/h:/c:rw").unwrap().readonly);
        assert!(
            Volume::parse("/h:/c:zz")
                .unwrap_err()
                .contains("unknown option")
        );
        assert!(Volume::parse("h:/c").unwrap_err().contains("absolute"));
        assert!(Volume::parse("/h").unwrap_err().contains("expected"));
    }

    #[test]
    fn env_overrides_and_defaults() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join("etc")).unwrap();
        fs::write(
            dir.path().join("etc/passwd"),
            "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n",
        )
        .unwrap();
        let mut env = vec!["A=1".to_string(), "B=2".to_string()];
        set_env(&mut env, "A=3");
        default_env(&mut env, &Etc::Dir(dir.path()), 1000);
        assert_eq!(
            env,
            [
                "B=2".to_string(),
                "A=3".into(),
                format!("PATH={}", hoist_sandbox::DEFAULT_PATH),
                "HOME=/home/app".into()
            ]
        );
        let mut env = vec!["PATH=/x".to_string()];
        default_env(&mut env, &Etc::Dir(dir.path()), 42);
        assert_eq!(env, ["PATH=/x", "HOME=/"]);
    }
}
