//! A stage's filesystem, materialised on demand from its layers, and user lookups in it.
//!
//! Stages built only from COPY never need one; `COPY --from`, `--chown=name` and `WORKDIR`
//! on a base image do. Layers are extracted in order (whiteouts applied) into a private
//! directory under the store's work area, never the host's `/`.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use hoist_layer::diff::OwnerTable;

use hoist_oci::Digest;
use hoist_store::Store;

use crate::BuildError;

/// A layer of an image being built: its blob in the store and its diffID.
#[derive(Debug, Clone)]
pub struct LayerRef {
    /// Compressed blob digest.
    pub digest: Digest,
    /// Blob size.
    pub size: u64,
    /// Media type of the blob.
    pub media_type: hoist_oci::MediaType,
    /// Uncompressed digest.
    pub diff_id: Digest,
}

/// A lazily materialised root filesystem.
///
/// As root, layers are extracted with their owners, so the disk is the truth. Without
/// privileges files belong to the caller; [`StageFs::owners`] then gives the image's
/// owners, read from the layers' tar headers (RUN layers: from their entries).
#[derive(Default)]
pub(crate) struct StageFs {
    dir: Option<tempfile::TempDir>,
    applied: usize,
    owners: OwnerTable,
    /// How many layers `owners` reflects.
    owners_applied: usize,
    /// The layers as overlay lower directories (used instead of `dir` when the
    /// sandbox can mount an overlay).
    pub(crate) dirs: crate::layerdirs::LayerDirs,
}

impl StageFs {
    /// Makes sure every layer in `layers` is extracted, returning the root.
    pub(crate) fn ensure(
        &mut self,
        store: &Store,
        layers: &[LayerRef],
    ) -> Result<PathBuf, BuildError> {
        if self.dir.is_none() {
            let dir = store.work_dir("rootfs-")?;
            // The image's `/` is 0755 (a 0700 temp dir would lock out non-root users).
            fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).map_err(
                |source| BuildError::Io {
                    what: "set the mode of",
                    path: dir.path().to_path_buf(),
                    source,
                },
            )?;
            self.dir = Some(dir);
            self.applied = 0;
        }
        let root = self
            .dir
            .as_ref()
            .map(|d| d.path().to_path_buf())
            .unwrap_or_default();
        // `applied` may run ahead of `layers`: RUN layers still being written
        // are on disk already.
        for layer in layers.iter().skip(self.applied) {
            let file = store.open_blob(&layer.digest)?;
            tracing::debug!(digest = %layer.digest, root = %root.display(), "extracting layer");
            let opts = hoist_layer::ExtractOptions {
                whiteouts: true,
                chown: is_root(),
                ..Default::default()
            };
            hoist_layer::extract(std::io::BufReader::new(file), &root, &opts)?;
        }
        self.applied = self.applied.max(layers.len());
        Ok(root)
    }

    /// True when a rootfs exists (so new layers must be applied to it too).
    pub(crate) fn is_materialized(&self) -> bool {
        self.dir.is_some()
    }

    /// The image's owner and mode of every path of `layers` (reads the tar headers
    /// of layers not seen yet).
    pub(crate) fn owners(
        &mut self,
        store: &Store,
        layers: &[LayerRef],
    ) -> Result<&OwnerTable, BuildError> {
        // Layers only grow; `owners_applied` may run ahead of `layers` (RUN layers
        // still being written were recorded from their entries).
        for layer in layers.iter().skip(self.owners_applied) {
            let file = store.open_blob(&layer.digest)?;
            self.owners.apply_layer(std::io::BufReader::new(file))?;
        }
        self.owners_applied = self.owners_applied.max(layers.len());
        Ok(&self.owners)
    }

    /// Records that the layer about to be added as number `index` (0-based) is made
    /// of `entries` and is already on disk (a RUN step wrote it in place).
    pub(crate) fn layer_in_place(&mut self, index: usize, entries: &[hoist_layer::Entry]) {
        if self.applied == index {
            self.applied = index + 1;
        }
        if self.owners_applied == index {
            self.owners.apply_entries(entries);
            self.owners_applied = index + 1;
        }
    }
}

/// True when running with euid 0: extraction can chown, ownership on disk is the truth.
pub(crate) fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}

/// Where `/etc/passwd` and `/etc/group` are read from.
#[derive(Clone, Copy)]
pub(crate) enum Etc<'a> {
    /// No filesystem (a stage without layers).
    None,
    /// A materialised rootfs.
    Dir(&'a Path),
    /// Layer directories (overlay form).
    Layers(&'a hoist_layer::overlay::Stack),
}

impl Etc<'_> {
    /// `/etc/<name>`, not following symlinks.
    pub(crate) fn read(&self, name: &str) -> Option<String> {
        match self {
            Etc::None => None,
            Etc::Dir(root) => read_etc(Some(root), name),
            Etc::Layers(stack) => stack
                .read(&format!("etc/{name}"))
                .and_then(|b| String::from_utf8(b).ok()),
        }
    }
}

/// Reads `/etc/<name>` from a rootfs without following symlinks out of it.
pub(crate) fn read_etc(root: Option<&Path>, name: &str) -> Option<String> {
    let root = root?;
    let etc = root.join("etc");
    let file = etc.join(name);
    for p in [&etc, &file] {
        if fs::symlink_metadata(p).ok()?.file_type().is_symlink() {
            tracing::warn!(path = %p.display(), "not following symlink in rootfs for user lookup");
            return None;
        }
    }
    fs::read_to_string(file).ok()
}

/// Looks a name up in a passwd/group style file: field 0 is the name, field 2 the id.
fn lookup(text: &str, name: &str) -> Option<(u32, Option<u32>)> {
    text.lines()
        .map(|l| l.split(':').collect::<Vec<_>>())
        .find(|f| f.first() == Some(&name) && f.len() > 2)
        .and_then(|f| {
            let id = f[2].parse().ok()?;
            Some((id, f.get(3).and_then(|g| g.parse().ok())))
        })
}

/// Resolves a `--chown` value (`user[:group]`, names or numbers) to numeric ids.
///
/// As Docker: a user without a group uses the user's numeric id as the group id; names are
/// looked up in the rootfs's `/etc/passwd` and `/etc/group`.
pub(crate) fn resolve_chown(spec: &str, etc: &Etc<'_>) -> Result<(u32, u32), String> {
    let (user, group) = match spec.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (spec, None),
    };
    if user.is_empty() {
        return Err(format!("invalid --chown value {spec:?}: empty user"));
    }
    let uid = match user.parse::<u32>() {
        Ok(n) => n,
        Err(_) => {
            let passwd = etc.read("passwd").ok_or_else(|| {
                format!("unable to find user {user}: no /etc/passwd in the image")
            })?;
            lookup(&passwd, user).map(|(uid, _)| uid).ok_or_else(|| {
                format!("unable to find user {user}: no matching entries in passwd file")
            })?
        }
    };
    let gid = match group {
        None | Some("") => uid,
        Some(g) => match g.parse::<u32>() {
            Ok(n) => n,
            Err(_) => {
                let groups = etc.read("group").ok_or_else(|| {
                    format!("unable to find group {g}: no /etc/group in the image")
                })?;
                lookup(&groups, g).map(|(gid, _)| gid).ok_or_else(|| {
                    format!("unable to find group {g}: no matching entries in group file")
                })?
            }
        },
    };
    Ok((uid, gid))
}

/// Resolves the image's `USER` (`user[:group]`, names or numbers) for a RUN step, as
/// Docker does: a name must be in `/etc/passwd`; a number need not be (group 0 then);
/// the primary group is the passwd entry's unless `:group` is given; supplementary
/// groups are the `/etc/group` entries that list the user name as a member.
pub(crate) fn resolve_user(spec: &str, etc: &Etc<'_>) -> Result<hoist_sandbox::UserSpec, String> {
    let (user, group) = match spec.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (spec, None),
    };
    let passwd = etc.read("passwd").unwrap_or_default();
    let groups = etc.read("group").unwrap_or_default();
    let entry = passwd
        .lines()
        .map(|l| l.split(':').collect::<Vec<_>>())
        .find(|f| f.len() > 3 && (f[0] == user || (user.parse::<u32>().is_ok() && f[2] == user)));
    let (uid, name, primary) = match (&entry, user.parse::<u32>()) {
        (Some(f), _) => (
            f[2].parse::<u32>()
                .map_err(|_| format!("invalid uid {:?} for user {user} in /etc/passwd", f[2]))?,
            Some(f[0].to_string()),
            f[3].parse::<u32>().unwrap_or(0),
        ),
        (None, Ok(n)) => (n, None, 0),
        (None, Err(_)) => {
            return Err(format!(
                "unable to find user {user}: no matching entries in passwd file"
            ));
        }
    };
    let gid = match group {
        None | Some("") => primary,
        Some(g) => match g.parse::<u32>() {
            Ok(n) => n,
            Err(_) => lookup(&groups, g).map(|(gid, _)| gid).ok_or_else(|| {
                format!("unable to find group {g}: no matching entries in group file")
            })?,
        },
    };
    let mut additional_gids: Vec<u32> = Vec::new();
    if let Some(name) = &name {
        for f in groups.lines().map(|l| l.split(':').collect::<Vec<_>>()) {
            let member = f.len() > 3 && f[3].split(',').any(|m| m.trim() == name);
            if let (true, Ok(id)) = (member, f[2].parse::<u32>())
                && id != gid
                && !additional_gids.contains(&id)
            {
                additional_gids.push(id);
            }
        }
    }
    Ok(hoist_sandbox::UserSpec {
        uid,
        gid,
        additional_gids,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chown_numbers_and_names() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join("etc")).unwrap();
        fs::write(
            dir.path().join("etc/passwd"),
            "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1001::/home/app:/bin/sh\n",
        )
        .unwrap();
        fs::write(dir.path().join("etc/group"), "root:x:0:\nstaff:x:50:app\n").unwrap();
        let r = &Etc::Dir(dir.path());
        assert_eq!(resolve_chown("10", &Etc::None), Ok((10, 10)));
        assert_eq!(resolve_chown("10:20", &Etc::None), Ok((10, 20)));
        assert_eq!(resolve_chown("app", r), Ok((1000, 1000)));
        assert_eq!(resolve_chown("app:staff", r), Ok((1000, 50)));
        assert_eq!(resolve_chown("1:staff", r), Ok((1, 50)));
        let e = resolve_chown("nobody", r).unwrap_err();
        assert!(e.contains("no matching entries in passwd"), "{e}");
        let e = resolve_chown("app", &Etc::None).unwrap_err();
        assert!(e.contains("no /etc/passwd"), "{e}");
    }

    #[test]
    fn run_user_resolution() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join("etc")).unwrap();
        fs::write(
            dir.path().join("etc/passwd"),
            "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1001::/home/app:/bin/sh\n",
        )
        .unwrap();
        fs::write(
            dir.path().join("etc/group"),
            "root:x:0:\nstaff:x:50:app,other\nappg:x:1001:\naudio:x:29:app\n",
        )
        .unwrap();
        let r = &Etc::Dir(dir.path());
        let u = resolve_user("app", r).unwrap();
        assert_eq!(
            (u.uid, u.gid, u.additional_gids),
            (1000, 1001, vec![50, 29])
        );
        let u = resolve_user("app:staff", r).unwrap();
        assert_eq!((u.uid, u.gid, u.additional_gids), (1000, 50, vec![29]));
        let u = resolve_user("4242", r).unwrap();
        assert_eq!((u.uid, u.gid, u.additional_gids), (4242, 0, vec![]));
        let u = resolve_user("1000:7", r).unwrap();
        assert_eq!((u.uid, u.gid), (1000, 7));
        let e = resolve_user("ghost", r).unwrap_err();
        assert!(e.contains("unable to find user ghost"), "{e}");
    }
}
