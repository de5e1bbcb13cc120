//! COPY/ADD source selection with BuildKit semantics.

mod plan;
mod scoped;
mod walk;

use std::path::{Path, PathBuf};

use crate::error::ContextError;
use crate::glob::clean;
use crate::ignore::IgnoreMatcher;
use plan::{Planner, Top};
use walk::Walker;

/// One COPY/ADD instruction's file selection, after variable expansion.
#[derive(Debug, Clone, Copy)]
pub struct CopyRequest<'a> {
    /// Source paths relative to the root (a leading `/` also means the root). Default: none.
    pub sources: &'a [String],
    /// Destination in the image; relative paths are joined to `workdir`. A trailing `/`
    /// (or `.`) makes it a directory. Default: `""` (the working directory itself).
    pub dest: &'a str,
    /// The stage's working directory. Default: `"/"`.
    pub workdir: &'a str,
    /// `--exclude` patterns (.dockerignore syntax). Default: none.
    pub exclude: &'a [String],
    /// `--parents`: keep each source's path below the root, or below a `/./` pivot.
    /// Default: `false`.
    pub parents: bool,
    /// Follow a top-level source that is a symlink (scoped to the root). Default: `true`,
    /// as in a Dockerfile.
    pub follow_top_symlinks: bool,
}

impl Default for CopyRequest<'_> {
    fn default() -> Self {
        CopyRequest {
            sources: &[],
            dest: "",
            workdir: "/",
            exclude: &[],
            parents: false,
            follow_top_symlinks: true,
        }
    }
}

/// What a [`CopyItem`] is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ItemKind {
    /// A regular file of `size` bytes.
    File {
        /// Size in bytes.
        size: u64,
    },
    /// A directory.
    Dir,
    /// A symbolic link, copied as a link (never followed).
    Symlink {
        /// The link's target, verbatim.
        target: String,
    },
}

/// One entry of a COPY/ADD layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyItem {
    /// Absolute host path, always inside the root.
    pub src: PathBuf,
    /// Normalised absolute image path, such as `/app/x.txt`.
    pub dest: String,
    /// File, directory or symlink.
    pub kind: ItemKind,
    /// Permission bits (including setuid, setgid and sticky) from lstat.
    pub mode: u32,
    /// Modification time: seconds and nanoseconds since the Unix epoch.
    pub mtime: (i64, u32),
    /// Owner user id on the host.
    pub uid: u32,
    /// Owner group id on the host.
    pub gid: u32,
    /// Destination of an earlier item (in output order) that is the same inode.
    pub hardlink_of: Option<String>,
}

/// Resolves the sources of a COPY/ADD against `root` into the items of its layer.
///
/// `root` is the build context (with its `ignore` rules) or, for `COPY --from`, a stage's
/// root filesystem (no rules). Things the ignore rules exclude do not exist as far as
/// COPY is concerned. The result is sorted by `dest`; it holds the directories that come
/// from the source trees (including a copied directory's destination, with the source
/// directory's metadata), but not the destination's own parents, nor `/`.
///
/// Semantics, as in BuildKit unless noted:
/// - Sources use Go `filepath.Match` wildcards per path component. An explicit source that
///   does not exist is an error; a wildcard that matches nothing is not (BuildKit allows
///   `COPY optional.* /dst/`), but its fixed parent directory must exist.
/// - A source that climbs above the root with `..` is an error (BuildKit silently clamps
///   it; the classic builder refused it).
/// - A directory's contents are copied into the destination. A file goes to
///   `dest/<name>` when `dest` ends with `/`, `/.` or `..`, else to `dest` itself; callers
///   that know `dest` is an existing directory in the image should add the `/`.
/// - With more than one resolved source (wildcards included) the destination must end
///   with `/` (the Dockerfile reference's rule; BuildKit does not enforce it).
/// - `--exclude` patterns match paths relative to each copied directory (BuildKit) and
///   also filter wildcard matches, relative to the wildcard's fixed parent.
/// - Symlinks inside trees are copied as links. A top-level symlink source is followed
///   when `follow_top_symlinks`, resolved inside the root like a chroot.
/// - Later sources win a shared destination; a directory and a non-directory sharing one
///   is an error.
pub fn resolve_copy(
    root: &Path,
    ignore: Option<&IgnoreMatcher>,
    req: &CopyRequest<'_>,
) -> Result<Vec<CopyItem>, ContextError> {
    if req.sources.is_empty() {
        return Err(ContextError::NoSources);
    }
    let root = std::fs::canonicalize(root).map_err(|e| ContextError::io(root, e))?;
    let ignore = ignore.filter(|m| !m.is_empty());
    let exclude = IgnoreMatcher::from_patterns(req.exclude)?;
    let exclude = Some(&exclude).filter(|m| !m.is_empty());
    let dest = Dest::new(req.dest, req.workdir);

    let planner = Planner {
        root: &root,
        ignore,
        exclude,
        follow: req.follow_top_symlinks,
    };
    let mut tops: Vec<Top> = Vec::new();
    for src in req.sources {
        if req.parents {
            planner.parents(src, &mut tops)?;
        } else {
            planner.plain(src, &mut tops)?;
        }
    }
    if !req.parents && tops.len() > 1 && !dest.is_dir {
        return Err(ContextError::DestNotDir {
            dest: req.dest.to_string(),
        });
    }

    let mut walker = Walker::new(&root, ignore, exclude);
    for top in &tops {
        let emitted = if top.md.is_dir() {
            walker.emit_dir(
                &top.rel,
                &top.md,
                &dest.path,
                top.hidden,
                top.include.as_ref(),
            )?
        } else {
            let at = if dest.is_dir {
                join(&dest.path, &top.name)
            } else {
                dest.path.clone()
            };
            walker.emit_one(&top.rel, &top.md, &at)?;
            true
        };
        if !emitted && top.required {
            return Err(ContextError::NotFound {
                src: top.src.clone(),
            });
        }
    }
    let items = walker.finish()?;
    tracing::debug!(
        sources = req.sources.len(),
        items = items.len(),
        dest = %dest.path,
        "resolved COPY sources"
    );
    Ok(items)
}

/// The normalised destination.
struct Dest {
    /// Clean absolute image path.
    path: String,
    /// Whether sources go inside it (trailing `/`, `.`, `..`, or the root).
    is_dir: bool,
}

impl Dest {
    fn new(dest: &str, workdir: &str) -> Self {
        let is_dir = dest.is_empty()
            || dest == "."
            || dest == ".."
            || dest.ends_with('/')
            || dest.ends_with("/.")
            || dest.ends_with("/..");
        let joined = if dest.starts_with('/') {
            dest.to_string()
        } else {
            format!("/{workdir}/{dest}")
        };
        let path = clean(&joined);
        let is_dir = is_dir || path == "/";
        Dest { path, is_dir }
    }
}

/// `dir/name` for image paths.
fn join(dir: &str, name: &str) -> String {
    if dir.ends_with('/') {
        format!("{dir}{name}")
    } else {
        format!("{dir}/{name}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dest_normalisation() {
        let d = |dest: &str, wd: &str| {
            let d = Dest::new(dest, wd);
            (d.path, d.is_dir)
        };
        assert_eq!(d("/app/", "/"), ("/app".to_string(), true));
        assert_eq!(d("/app", "/"), ("/app".to_string(), false));
        assert_eq!(
            d("rel/", "/usr/src/app"),
            ("/usr/src/app/rel".to_string(), true)
        );
        assert_eq!(d("x.txt", "/w"), ("/w/x.txt".to_string(), false));
        assert_eq!(d(".", "/w"), ("/w".to_string(), true));
        assert_eq!(d("", "/w"), ("/w".to_string(), true));
        assert_eq!(d("/a/./b/../c", "/"), ("/a/c".to_string(), false));
        assert_eq!(d("sub/.", "w"), ("/w/sub".to_string(), true));
        assert_eq!(d("/", "/w"), ("/".to_string(), true));
        assert_eq!(d("../..", "/w"), ("/".to_string(), true));
    }
}
