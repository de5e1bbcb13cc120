//! The build context directory and its ignore file.

use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use crate::copy::{CopyItem, CopyRequest, resolve_copy};
use crate::error::ContextError;
use crate::ignore::IgnoreMatcher;

/// A build context: a directory plus the ignore rules that hide parts of it.
#[derive(Debug, Clone)]
pub struct Context {
    root: PathBuf,
    ignore: IgnoreMatcher,
    ignore_file: Option<PathBuf>,
}

impl Context {
    /// Opens the context at `dir` for a build of `dockerfile`.
    ///
    /// The ignore file is `<dockerfile>.dockerignore` next to the Dockerfile (for example
    /// `build.Dockerfile.dockerignore`) when it exists, else `<dir>/.dockerignore`, else
    /// none. A relative `dockerfile` is an ordinary path (relative to the current
    /// directory), not relative to `dir`; the Dockerfile itself need not exist.
    ///
    /// As in BuildKit's context transfer, `.dockerignore`, the ignore file used and the
    /// Dockerfile (when it lies inside the context) are never excluded.
    pub fn open(dir: &Path, dockerfile: &Path) -> Result<Context, ContextError> {
        let root = std::fs::canonicalize(dir).map_err(|e| ContextError::io(dir, e))?;
        let mut candidates = Vec::with_capacity(2);
        if let Some(name) = dockerfile.file_name() {
            let mut own = name.to_os_string();
            own.push(".dockerignore");
            candidates.push(dockerfile.with_file_name(own));
        }
        candidates.push(root.join(".dockerignore"));
        let mut ignore = IgnoreMatcher::default();
        let mut ignore_file = None;
        for path in candidates {
            match std::fs::read(&path) {
                Ok(bytes) => {
                    let wrap = |cause| ContextError::IgnoreFile {
                        path: path.clone(),
                        cause: Box::new(cause),
                    };
                    let text = String::from_utf8(bytes)
                        .map_err(|_| wrap(ContextError::NonUtf8 { path: path.clone() }))?;
                    ignore = IgnoreMatcher::parse(&text).map_err(wrap)?;
                    tracing::debug!(path = %path.display(), patterns = ignore.patterns().count(), "read ignore file");
                    ignore_file = Some(path);
                    break;
                }
                Err(e) if e.kind() == ErrorKind::NotFound => {}
                Err(e) => return Err(ContextError::io(path, e)),
            }
        }
        if !ignore.is_empty() {
            ignore.keep(".dockerignore")?;
            let mut kept = vec![dockerfile.to_path_buf()];
            kept.extend(ignore_file.clone());
            for path in kept {
                if let Some(rel) = relative_inside(&root, &path) {
                    ignore.keep(&rel)?;
                }
            }
        }
        Ok(Context {
            root,
            ignore,
            ignore_file,
        })
    }

    /// The context directory (absolute, symlinks resolved).
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The ignore rules (empty when there is no ignore file).
    pub fn ignore(&self) -> &IgnoreMatcher {
        &self.ignore
    }

    /// The ignore file that was read, if any.
    pub fn ignore_file(&self) -> Option<&Path> {
        self.ignore_file.as_deref()
    }

    /// [`resolve_copy`] against this context and its ignore rules.
    pub fn resolve_copy(&self, req: &CopyRequest<'_>) -> Result<Vec<CopyItem>, ContextError> {
        resolve_copy(&self.root, Some(&self.ignore), req)
    }
}

/// `path` relative to `root` (slash-separated) when it lies inside it.
fn relative_inside(root: &Path, path: &Path) -> Option<String> {
    let parent = path.parent().filter(|p| !p.as_os_str().is_empty());
    // A Dockerfile whose directory cannot be resolved is not in the context: nothing to keep.
    let parent = std::fs::canonicalize(parent.unwrap_or(Path::new("."))).ok()?;
    let full = parent.join(path.file_name()?);
    let rel = full.strip_prefix(root).ok()?;
    let rel = rel.to_str()?;
    (!rel.is_empty()).then(|| rel.to_string())
}
