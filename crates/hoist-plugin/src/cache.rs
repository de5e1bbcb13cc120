//! Compiled components cached on disk, keyed by the component's content digest and
//! the engine's compatibility hash.
//!
//! Deserializing a compiled artifact runs native code, so only files hoist wrote are
//! loaded: the directory must be owned by the current user and not writable by
//! others, each file must be a regular file (not a symlink) owned by the user with
//! mode 0600, and it must start with hoist's header, whose sha256 covers the rest.

use std::hash::{Hash, Hasher as _};
use std::io::Write;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use hoist_oci::{Digest, sha256_of};
use wasmtime::Engine;
use wasmtime::component::Component;

use crate::PluginError;

const MAGIC: &[u8; 12] = b"hoist-cwasm\x01";

/// The on-disk cache of compiled components.
#[derive(Debug, Clone)]
pub struct CompileCache {
    dir: PathBuf,
    engine_key: String,
}

/// The outcome of [`CompileCache::load_or_compile`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheOutcome {
    /// Loaded from disk.
    Hit,
    /// Compiled and written to disk.
    Stored,
}

impl CompileCache {
    /// A cache in `dir` (created with mode 0700 when missing).
    pub fn new(dir: PathBuf, engine: &Engine) -> Result<Self, PluginError> {
        let io = |action, source| PluginError::Cache {
            path: dir.clone(),
            action,
            source,
        };
        std::fs::create_dir_all(&dir).map_err(|e| io("create", e))?;
        let meta = std::fs::symlink_metadata(&dir).map_err(|e| io("stat", e))?;
        if meta.uid() != current_uid() || meta.mode() & 0o022 != 0 || !meta.is_dir() {
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))
                .map_err(|e| io("restrict permissions of", e))?;
            let meta = std::fs::symlink_metadata(&dir).map_err(|e| io("stat", e))?;
            if meta.uid() != current_uid() || !meta.is_dir() {
                return Err(io(
                    "use",
                    std::io::Error::other("not a directory owned by the current user"),
                ));
            }
        }
        let mut h = std::collections::hash_map::DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut h);
        Ok(Self {
            dir,
            engine_key: format!("{:016x}", h.finish()),
        })
    }

    /// The default location: `$XDG_CACHE_HOME/hoist/plugins` or `~/.cache/hoist/plugins`.
    pub fn default_dir() -> Option<PathBuf> {
        let base = std::env::var_os("XDG_CACHE_HOME")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
        Some(base.join("hoist").join("plugins"))
    }

    /// The file that holds the compiled form of a component with `digest`.
    pub fn path_for(&self, digest: &Digest) -> PathBuf {
        self.dir
            .join(format!("{}-{}.cwasm", digest.digest(), self.engine_key))
    }

    /// Loads the compiled component for `wasm`, compiling and storing it on a miss.
    /// A cache file that fails the checks is recompiled and replaced.
    pub fn load_or_compile(
        &self,
        engine: &Engine,
        name: &str,
        wasm: &[u8],
    ) -> Result<(Component, CacheOutcome), PluginError> {
        let digest = sha256_of(wasm);
        let path = self.path_for(&digest);
        match read_trusted(&path) {
            Ok(Some(body)) => {
                // SAFETY: `read_trusted` only returns bytes from a 0600 file owned by
                // this user in a directory only this user can write, whose header hash
                // matches: i.e. bytes that `store` below wrote with
                // `precompile_component` for this engine configuration.
                match unsafe { Component::deserialize(engine, &body) } {
                    Ok(c) => return Ok((c, CacheOutcome::Hit)),
                    Err(e) => {
                        tracing::warn!(path = %path.display(), error = %e, "discarding unusable compiled plugin");
                    }
                }
            }
            Ok(None) => {}
            Err(reason) => {
                tracing::warn!(path = %path.display(), %reason, "ignoring untrusted compiled plugin");
            }
        }
        let compiled = engine
            .precompile_component(wasm)
            .map_err(|e| PluginError::Compile {
                name: name.to_string(),
                reason: e.to_string(),
            })?;
        self.store(&path, &compiled)?;
        // SAFETY: these bytes were produced by `precompile_component` on this engine
        // just above.
        let component = unsafe { Component::deserialize(engine, &compiled) }.map_err(|e| {
            PluginError::Compile {
                name: name.to_string(),
                reason: e.to_string(),
            }
        })?;
        Ok((component, CacheOutcome::Stored))
    }

    fn store(&self, path: &Path, compiled: &[u8]) -> Result<(), PluginError> {
        let io = |action, source| PluginError::Cache {
            path: path.to_path_buf(),
            action,
            source,
        };
        // NamedTempFile creates the file with mode 0600.
        let mut tmp = tempfile::NamedTempFile::new_in(&self.dir).map_err(|e| io("create", e))?;
        tmp.write_all(MAGIC).map_err(|e| io("write", e))?;
        tmp.write_all(sha256_of(compiled).digest().as_bytes())
            .map_err(|e| io("write", e))?;
        tmp.write_all(compiled).map_err(|e| io("write", e))?;
        tmp.as_file().sync_all().map_err(|e| io("sync", e))?;
        tmp.persist(path).map_err(|e| io("rename", e.error))?;
        Ok(())
    }
}

fn current_uid() -> u32 {
    // The owner of a fresh file in the temp dir would need I/O; /proc/self is owned
    // by the process's effective uid.
    std::fs::metadata("/proc/self").map_or(u32::MAX, |m| m.uid())
}

/// The compiled bytes of a cache file, `Ok(None)` when there is none, `Err(reason)`
/// when a file exists but fails the trust checks.
fn read_trusted(path: &Path) -> Result<Option<Vec<u8>>, String> {
    use std::io::Read;
    let mut file = match std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc_o_nofollow())
        .open(path)
    {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("cannot open: {e}")),
    };
    let meta = file.metadata().map_err(|e| format!("cannot stat: {e}"))?;
    if !meta.is_file() || meta.uid() != current_uid() || meta.mode() & 0o077 != 0 {
        return Err("not a private regular file owned by the current user".into());
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read: {e}"))?;
    let header = MAGIC.len() + 64;
    if bytes.len() < header || &bytes[..MAGIC.len()] != MAGIC {
        return Err("no hoist header".into());
    }
    let body = bytes.split_off(header);
    if sha256_of(&body).digest().as_bytes() != &bytes[MAGIC.len()..] {
        return Err("checksum mismatch".into());
    }
    Ok(Some(body))
}

/// `O_NOFOLLOW` on Linux (all architectures hoist supports).
fn libc_o_nofollow() -> i32 {
    0o400000
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn untrusted_files_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.cwasm");
        assert_eq!(read_trusted(&p), Ok(None));
        std::fs::write(&p, b"garbage").unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(read_trusted(&p).unwrap_err().contains("private"));
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert!(read_trusted(&p).unwrap_err().contains("header"));
        let mut bad = MAGIC.to_vec();
        bad.extend_from_slice(&[b'0'; 64]);
        bad.extend_from_slice(b"body");
        std::fs::write(&p, &bad).unwrap();
        assert!(read_trusted(&p).unwrap_err().contains("checksum"));
        let link = dir.path().join("link.cwasm");
        std::os::unix::fs::symlink(&p, &link).unwrap();
        assert!(read_trusted(&link).unwrap_err().contains("open"));
    }
}
