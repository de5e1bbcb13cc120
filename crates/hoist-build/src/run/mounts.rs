//! `RUN --mount=...`: parsing the flag and preparing what the sandbox binds.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Component, Path, PathBuf};

use hoist_sandbox::MountSpec;
use hoist_store::Store;

use crate::options::SecretSource;

/// What kind of mount, with its options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum MountKind {
    /// A directory or file of the context, a stage or an image.
    Bind {
        /// `from=`: stage name/index or image; `None` is the build context.
        from: Option<String>,
        /// Path inside the source. Default: its root.
        source: String,
        /// Writable (changes are discarded: the source is copied first).
        rw: bool,
    },
    /// A persistent directory under the store, never part of a layer.
    Cache {
        /// Cache id. Default: the target.
        id: String,
        /// `sharing=locked` serialises users of the same id.
        locked: bool,
        /// Mode of the directory when created. Default: 0755.
        mode: u32,
        /// Owner of the directory when created (applied as root only). Default: 0.
        uid: u32,
        /// Group of the directory when created (applied as root only). Default: 0.
        gid: u32,
        /// Read-only.
        ro: bool,
    },
    /// A build secret, as a file (default `/run/secrets/<id>`) and/or an env var.
    Secret {
        /// Secret id given with `--secret id=...`.
        id: String,
        /// Fail when the secret was not given. Default: false (skip the mount).
        required: bool,
        /// Also (or only) expose it as this environment variable.
        env: Option<String>,
    },
    /// A fresh tmpfs.
    Tmpfs {
        /// Size limit in bytes.
        size: Option<u64>,
    },
}

/// One `--mount` flag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RunMount {
    /// The mount.
    pub(crate) kind: MountKind,
    /// Absolute target path inside the container, if any.
    pub(crate) target: Option<String>,
}

/// Parses `type=cache,target=/root/.cache,id=x` (BuildKit's CSV syntax, no quoting).
pub(crate) fn parse_mount(value: &str) -> Result<RunMount, String> {
    let mut fields: BTreeMap<String, String> = BTreeMap::new();
    let mut flags: Vec<String> = Vec::new();
    for part in value.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        match part.split_once('=') {
            Some((k, v)) => {
                let k = match k.to_ascii_lowercase().as_str() {
                    "dst" | "destination" => "target".to_string(),
                    "src" => "source".to_string(),
                    "readonly" => "ro".to_string(),
                    "readwrite" => "rw".to_string(),
                    other => other.to_string(),
                };
                fields.insert(k, v.to_string());
            }
            None => flags.push(part.to_ascii_lowercase()),
        }
    }
    let flag = |name: &str, fields: &BTreeMap<String, String>| {
        flags.iter().any(|f| f == name)
            || fields
                .get(name)
                .is_some_and(|v| v.eq_ignore_ascii_case("true") || v == "1")
    };
    let number = |name: &str, radix: u32, default: u32| -> Result<u32, String> {
        match fields.get(name) {
            None => Ok(default),
            Some(v) => u32::from_str_radix(v, radix)
                .map_err(|_| format!("invalid {name} {v:?} in --mount={value}")),
        }
    };
    let target = fields.get("target").map(|t| {
        if t.starts_with('/') {
            t.clone()
        } else {
            format!("/{t}")
        }
    });
    let kind = match fields.get("type").map(String::as_str).unwrap_or("bind") {
        "bind" => MountKind::Bind {
            from: fields.get("from").cloned(),
            source: fields.get("source").cloned().unwrap_or_default(),
            rw: flag("rw", &fields),
        },
        "cache" => {
            let id = fields
                .get("id")
                .cloned()
                .or_else(|| target.clone())
                .ok_or_else(|| format!("--mount={value}: a cache mount needs a target"))?;
            if fields.contains_key("from") {
                return Err(format!(
                    "--mount={value}: cache mounts seeded with from= are not supported"
                ));
            }
            let locked = match fields.get("sharing").map(String::as_str) {
                None | Some("shared") | Some("private") => false,
                Some("locked") => true,
                Some(other) => {
                    return Err(format!(
                        "--mount={value}: unknown sharing {other:?} (shared, private or locked)"
                    ));
                }
            };
            MountKind::Cache {
                id,
                locked,
                mode: number("mode", 8, 0o755)?,
                uid: number("uid", 10, 0)?,
                gid: number("gid", 10, 0)?,
                ro: flag("ro", &fields),
            }
        }
        "secret" => MountKind::Secret {
            id: fields
                .get("id")
                .cloned()
                .or_else(|| {
                    target
                        .as_deref()
                        .and_then(|t| t.rsplit('/').next())
                        .map(str::to_string)
                })
                .ok_or_else(|| format!("--mount={value}: a secret mount needs an id"))?,
            required: flag("required", &fields),
            env: fields.get("env").cloned(),
        },
        "tmpfs" => MountKind::Tmpfs {
            size: match fields.get("size") {
                None => None,
                Some(v) => Some(
                    v.parse::<u64>()
                        .map_err(|_| format!("invalid size {v:?} in --mount={value}"))?,
                ),
            },
        },
        "ssh" => return Err(format!("--mount={value}: ssh mounts are not supported")),
        other => return Err(format!("--mount={value}: unknown mount type {other:?}")),
    };
    let target = match (&kind, target) {
        (MountKind::Secret { id, env, .. }, None) if env.is_none() => {
            Some(format!("/run/secrets/{id}"))
        }
        (MountKind::Secret { .. }, t) => t,
        (_, Some(t)) => Some(t),
        (_, None) => return Err(format!("--mount={value}: a target is required")),
    };
    Ok(RunMount { kind, target })
}

/// Mounts resolved for the sandbox; temp copies and cache locks live as long as this.
#[derive(Default)]
pub(crate) struct Prepared {
    /// What the sandbox mounts.
    pub(crate) mounts: Vec<MountSpec>,
    /// Image paths (no leading `/`) to leave out of the snapshot and the layer.
    pub(crate) exclude: Vec<String>,
    /// Extra `K=V` environment (secrets with `env=`).
    pub(crate) env: Vec<String>,
    /// Temp files and copies backing mounts.
    pub(crate) temps: Vec<tempfile::TempDir>,
    /// Held locks of `sharing=locked` caches.
    pub(crate) locks: Vec<fs::File>,
}

/// Where mount sources come from.
pub(crate) struct Sources<'a> {
    pub(crate) store: &'a Store,
    /// Roots for `from=` values (and `None` = the build context).
    pub(crate) roots: &'a BTreeMap<Option<String>, PathBuf>,
    pub(crate) secrets: &'a BTreeMap<String, SecretSource>,
    pub(crate) work: &'a Path,
}

/// Turns parsed mounts into sandbox mounts.
pub(crate) fn prepare(mounts: &[RunMount], src: &Sources<'_>) -> Result<Prepared, String> {
    let mut out = Prepared::default();
    for m in mounts {
        if let Some(t) = &m.target {
            out.exclude.push(t.trim_matches('/').to_string());
        }
        match &m.kind {
            MountKind::Bind { from, source, rw } => {
                let target = m.target.clone().unwrap_or_default();
                let root = src
                    .roots
                    .get(from)
                    .ok_or_else(|| format!("internal: no root for bind from={from:?}"))?;
                let mut path = inside(root, source)?;
                if *rw {
                    let tmp = tempfile::Builder::new()
                        .prefix("bind-")
                        .tempdir_in(src.work)
                        .map_err(|e| format!("cannot create a temp dir: {e}"))?;
                    let copy = tmp.path().join("src");
                    copy_tree(&path, &copy)
                        .map_err(|e| format!("cannot copy bind source {}: {e}", path.display()))?;
                    path = copy;
                    out.temps.push(tmp);
                }
                out.mounts.push(MountSpec::Bind {
                    source: path,
                    target,
                    readonly: !rw,
                });
            }
            MountKind::Cache {
                id,
                locked,
                mode,
                uid,
                gid,
                ro,
            } => {
                let dir = cache_dir(src.store, id, *mode, *uid, *gid)?;
                if *locked {
                    out.locks.push(lock(&dir)?);
                }
                out.mounts.push(MountSpec::Bind {
                    source: dir.join("data"),
                    target: m.target.clone().unwrap_or_default(),
                    readonly: *ro,
                });
            }
            MountKind::Secret { id, required, env } => {
                let Some(secret) = src.secrets.get(id) else {
                    if *required {
                        return Err(format!(
                            "secret {id} is required but was not given (use --secret id={id},src=FILE)"
                        ));
                    }
                    tracing::debug!(id, "secret not given, mount skipped");
                    continue;
                };
                if let Some(var) = env {
                    out.env.push(format!("{var}={}", secret_text(id, secret)?));
                }
                let Some(target) = &m.target else { continue };
                let source = match secret {
                    SecretSource::File(p) => p.clone(),
                    SecretSource::Env(_) => {
                        let tmp = tempfile::Builder::new()
                            .prefix("secret-")
                            .tempdir_in(src.work)
                            .map_err(|e| format!("cannot create a temp dir: {e}"))?;
                        let file = tmp.path().join("secret");
                        fs::write(&file, secret_text(id, secret)?)
                            .and_then(|()| {
                                fs::set_permissions(&file, fs::Permissions::from_mode(0o400))
                            })
                            .map_err(|e| format!("cannot write secret {id}: {e}"))?;
                        out.temps.push(tmp);
                        file
                    }
                };
                out.mounts.push(MountSpec::Bind {
                    source,
                    target: target.clone(),
                    readonly: true,
                });
            }
            MountKind::Tmpfs { size } => out.mounts.push(MountSpec::Tmpfs {
                target: m.target.clone().unwrap_or_default(),
                size: *size,
            }),
        }
    }
    Ok(out)
}

fn secret_text(id: &str, secret: &SecretSource) -> Result<String, String> {
    match secret {
        SecretSource::Env(var) => std::env::var(var)
            .map_err(|_| format!("secret {id}: environment variable {var} is not set")),
        SecretSource::File(p) => fs::read_to_string(p)
            .map_err(|e| format!("secret {id}: cannot read {}: {e}", p.display())),
    }
}

/// `root/source` without leaving `root` (lexically and through symlinks).
fn inside(root: &Path, source: &str) -> Result<PathBuf, String> {
    let rel = Path::new(source.trim_start_matches('/'));
    if rel.components().any(|c| matches!(c, Component::ParentDir)) {
        return Err(format!("bind source {source:?} must not contain '..'"));
    }
    let root = root
        .canonicalize()
        .map_err(|e| format!("cannot resolve {}: {e}", root.display()))?;
    let path = root
        .join(rel)
        .canonicalize()
        .map_err(|e| format!("bind source {source:?} not found: {e}"))?;
    if !path.starts_with(&root) {
        return Err(format!("bind source {source:?} points outside its root"));
    }
    Ok(path)
}

/// `ROOT/cache/run/<sha256 of id>/data`, created with `mode` (and owner, as root).
fn cache_dir(store: &Store, id: &str, mode: u32, uid: u32, gid: u32) -> Result<PathBuf, String> {
    let key = hoist_oci::sha256_of(id.as_bytes());
    let dir = store
        .root()
        .join("cache/run")
        .join(key.to_string().trim_start_matches("sha256:"));
    let data = dir.join("data");
    if !data.is_dir() {
        fs::create_dir_all(&data)
            .and_then(|()| fs::set_permissions(&data, fs::Permissions::from_mode(mode)))
            .map_err(|e| format!("cannot create cache dir {}: {e}", data.display()))?;
        if crate::rootfs::is_root() {
            std::os::unix::fs::chown(&data, Some(uid), Some(gid))
                .map_err(|e| format!("cannot chown cache dir {}: {e}", data.display()))?;
        }
    }
    Ok(dir)
}

fn lock(dir: &Path) -> Result<fs::File, String> {
    let path = dir.join("lock");
    let file =
        fs::File::create(&path).map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    rustix::fs::flock(&file, rustix::fs::FlockOperation::LockExclusive)
        .map_err(|e| format!("cannot lock {}: {e}", path.display()))?;
    Ok(file)
}

/// Copies a file or tree (files, directories, symlinks; modes kept).
fn copy_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    let meta = fs::symlink_metadata(from)?;
    if meta.is_dir() {
        fs::create_dir(to)?;
        for entry in fs::read_dir(from)? {
            let entry = entry?;
            copy_tree(&entry.path(), &to.join(entry.file_name()))?;
        }
        fs::set_permissions(to, meta.permissions())
    } else if meta.file_type().is_symlink() {
        std::os::unix::fs::symlink(fs::read_link(from)?, to)
    } else {
        fs::copy(from, to).map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_buildkit_mount_flags() {
        let m =
            parse_mount("type=cache,target=/root/.cache,sharing=locked,mode=0700,uid=5").unwrap();
        assert_eq!(m.target.as_deref(), Some("/root/.cache"));
        assert_eq!(
            m.kind,
            MountKind::Cache {
                id: "/root/.cache".into(),
                locked: true,
                mode: 0o700,
                uid: 5,
                gid: 0,
                ro: false
            }
        );
        let m = parse_mount("type=secret,id=tok").unwrap();
        assert_eq!(m.target.as_deref(), Some("/run/secrets/tok"));
        let m = parse_mount("type=secret,id=tok,env=TOKEN").unwrap();
        assert_eq!(m.target, None);
        let m = parse_mount("target=/src,from=build,source=out,rw").unwrap();
        assert_eq!(
            m.kind,
            MountKind::Bind {
                from: Some("build".into()),
                source: "out".into(),
                rw: true
            }
        );
        let m = parse_mount("type=tmpfs,dst=tmp,size=1024").unwrap();
        assert_eq!(m.target.as_deref(), Some("/tmp"));
        assert!(
            parse_mount("type=cache")
                .unwrap_err()
                .contains("needs a target")
        );
        assert!(
            parse_mount("type=nfs,target=/x")
                .unwrap_err()
                .contains("unknown mount type")
        );
        assert!(
            parse_mount("type=bind")
                .unwrap_err()
                .contains("target is required")
        );
    }

    #[test]
    fn bind_sources_stay_inside() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join("a")).unwrap();
        std::os::unix::fs::symlink("/etc", dir.path().join("esc")).unwrap();
        assert!(inside(dir.path(), "a").is_ok());
        assert!(inside(dir.path(), "../x").unwrap_err().contains(".."));
        assert!(inside(dir.path(), "esc").unwrap_err().contains("outside"));
    }
}
