//! Resolving a path inside a root as if the root were `/` (like a chroot).

use std::fs::Metadata;
use std::io::ErrorKind;
use std::path::Path;

use crate::error::ContextError;
use crate::ignore::IgnoreMatcher;

/// Linux's limit on symbolic links followed in one lookup.
const MAX_LINKS: usize = 40;

/// A path found inside the root.
pub(crate) struct Found {
    /// Physical path relative to the root, slash-separated (`""` is the root).
    pub(crate) rel: String,
    /// Its lstat.
    pub(crate) md: Metadata,
}

/// Resolves `comps` (clean components relative to `root`) inside `root`: absolute link
/// targets start again at `root`, `..` stops at `root`, so nothing outside is ever read.
/// Links in intermediate components are always followed; a link in the last component
/// only with `follow_last`. Every link followed must itself be visible (not excluded by
/// `ignore`), since the context would not carry it.
///
/// Returns `None` when the path (or a link target) does not exist.
pub(crate) fn resolve_in_root<S: AsRef<str>>(
    root: &Path,
    comps: &[S],
    follow_last: bool,
    ignore: Option<&IgnoreMatcher>,
    src: &str,
) -> Result<Option<Found>, ContextError> {
    let mut pending: Vec<String> = comps.iter().rev().map(|c| c.as_ref().to_string()).collect();
    let mut cur: Vec<String> = Vec::with_capacity(pending.len());
    let mut last_md: Option<Metadata> = None;
    let mut links = 0;
    while let Some(comp) = pending.pop() {
        match comp.as_str() {
            "" | "." => continue,
            ".." => {
                cur.pop();
                last_md = None;
                continue;
            }
            _ => {}
        }
        cur.push(comp);
        let rel = cur.join("/");
        let host = root.join(&rel);
        let md = match std::fs::symlink_metadata(&host) {
            Ok(md) => md,
            Err(e) if is_absent(&e) => return Ok(None),
            Err(e) => return Err(ContextError::io(host, e)),
        };
        let follow = !pending.is_empty() || follow_last;
        if md.file_type().is_symlink() && follow {
            if ignore.is_some_and(|m| m.is_excluded(&rel)) {
                return Ok(None);
            }
            links += 1;
            if links > MAX_LINKS {
                return Err(ContextError::SymlinkLoop {
                    src: src.to_string(),
                });
            }
            let target = std::fs::read_link(&host).map_err(|e| ContextError::io(&host, e))?;
            let target = target
                .to_str()
                .ok_or_else(|| ContextError::NonUtf8 { path: host.clone() })?;
            cur.pop();
            if target.starts_with('/') {
                cur.clear();
            }
            pending.extend(target.split('/').rev().map(str::to_string));
            last_md = None;
            continue;
        }
        last_md = Some(md);
    }
    let rel = cur.join("/");
    let md = match last_md {
        Some(md) => md,
        None => {
            let host = root.join(&rel);
            match std::fs::symlink_metadata(&host) {
                Ok(md) => md,
                Err(e) if is_absent(&e) => return Ok(None),
                Err(e) => return Err(ContextError::io(host, e)),
            }
        }
    };
    Ok(Some(Found { rel, md }))
}

/// "No such file" in any of its forms (a file used as a directory included).
pub(crate) fn is_absent(e: &std::io::Error) -> bool {
    matches!(e.kind(), ErrorKind::NotFound | ErrorKind::NotADirectory)
}
