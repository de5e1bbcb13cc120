//! COPY and ADD: select sources, turn them into layer entries.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use hoist_context::{CopyItem, CopyRequest, IgnoreMatcher, ItemKind};
use hoist_dockerfile::{Command, Instruction};
use hoist_layer::{Entry, EntryKind, EntryMeta, FileSource, Timestamp};

use crate::error::{BuildError, Location};
use crate::exec::StageState;
use crate::plan::expand;
use crate::rootfs::{Etc, resolve_chown};

/// Where a COPY reads from.
pub(crate) struct SourceRoot<'a> {
    /// The directory.
    pub(crate) root: &'a Path,
    /// The .dockerignore matcher (context only).
    pub(crate) ignore: Option<&'a IgnoreMatcher>,
}

/// COPY/ADD flags after expansion.
struct Flags {
    chown: Option<(u32, u32)>,
    chmod: Option<u32>,
    exclude: Vec<String>,
    parents: bool,
}

/// Builds the entries of a COPY/ADD layer. `work` is a scratch directory for ADD archives
/// and heredoc-free temp data; `etc` reads the destination stage's `/etc` (for
/// `--chown=name`).
pub(crate) fn copy_entries(
    st: &StageState,
    ins: &Instruction,
    at: &Location,
    src: &SourceRoot<'_>,
    etc: &Etc<'_>,
    work: &Path,
) -> Result<Vec<Entry>, BuildError> {
    let (args, is_add) = match &ins.command {
        Command::Copy(a) => (a, false),
        Command::Add(a) => (a, true),
        _ => return Err(BuildError::at(at, "internal: not a COPY/ADD")),
    };
    let lexer = &st.lexer;
    let ex = |w: &str| expand(lexer, at, w, |n| st.scope.get(n));
    let flags = parse_flags(st, ins, at, etc)?;
    let dest = ex(&args.dest)?;
    let workdir = st
        .config
        .config
        .working_dir
        .clone()
        .unwrap_or_else(|| "/".into());

    let mut entries = Vec::new();
    let mut sources = Vec::new();
    for s in &args.sources {
        if let Some(h) = ins.heredoc_for(s) {
            let content = if h.expand {
                ex(&h.content)?
            } else {
                h.content.clone()
            };
            let target = join_dest(&workdir, &dest, Some(&h.name), args.sources.len() > 1);
            entries.push(Entry {
                path: target.trim_start_matches('/').to_string(),
                kind: EntryKind::File {
                    size: content.len() as u64,
                    source: FileSource::Bytes(content.into_bytes()),
                },
                meta: meta(flags.chmod.unwrap_or(0o644), flags.chown, st.now),
            });
            continue;
        }
        let s = ex(s)?;
        if is_add
            && (s.starts_with("http://") || s.starts_with("https://") || s.starts_with("git@"))
        {
            return Err(BuildError::at(
                at,
                format!(
                    "ADD from a URL ({s}) is not supported yet: download it in the context and COPY it"
                ),
            ));
        }
        sources.push(s);
    }
    if sources.is_empty() {
        return Ok(entries);
    }
    let req = CopyRequest {
        sources: &sources,
        dest: &dest,
        workdir: &workdir,
        exclude: &flags.exclude,
        parents: flags.parents,
        follow_top_symlinks: true,
    };
    let located = |source| BuildError::Copy {
        at: at.clone(),
        source,
    };
    let items = hoist_context::resolve_copy(src.root, src.ignore, &req).map_err(located)?;
    for item in items {
        if is_add && let Some(dir) = try_extract_archive(&item, work)? {
            let dest_dir = if item.dest.ends_with('/') {
                item.dest.clone()
            } else {
                // An archive is unpacked into the destination directory, not onto a file path.
                parent_dir(&item.dest, &dest)
            };
            let sub = CopyRequest {
                sources: &[String::from(".")],
                dest: &format!("{}/", dest_dir.trim_end_matches('/')),
                workdir: "/",
                exclude: &[],
                parents: false,
                follow_top_symlinks: false,
            };
            for inner in hoist_context::resolve_copy(&dir, None, &sub).map_err(located)? {
                entries.push(item_entry(inner, &flags, st.now));
            }
            continue;
        }
        entries.push(item_entry(item, &flags, st.now));
    }
    Ok(entries)
}

/// For `ADD archive.tar.gz /dst/`: the directory to unpack into.
fn parent_dir(item_dest: &str, dest: &str) -> String {
    if dest.ends_with('/') {
        dest.to_string()
    } else {
        item_dest.to_string()
    }
}

fn parse_flags(
    st: &StageState,
    ins: &Instruction,
    at: &Location,
    etc: &Etc<'_>,
) -> Result<Flags, BuildError> {
    let ex = |w: &str| expand(&st.lexer, at, w, |n| st.scope.get(n));
    let chown = match ins.flag("chown").and_then(|f| f.value.as_deref()) {
        Some(v) => Some(resolve_chown(&ex(v)?, etc).map_err(|m| BuildError::at(at, m))?),
        None => None,
    };
    let chmod = match ins.flag("chmod").and_then(|f| f.value.as_deref()) {
        Some(v) => {
            let v = ex(v)?;
            let mode = u32::from_str_radix(&v, 8)
                .ok()
                .filter(|m| *m <= 0o7777)
                .ok_or_else(|| {
                    BuildError::at(
                        at,
                        format!("invalid --chmod={v}: expected an octal mode like 755"),
                    )
                })?;
            Some(mode)
        }
        None => None,
    };
    let mut exclude = Vec::new();
    for f in ins.flags.iter().filter(|f| f.name == "exclude") {
        if let Some(v) = &f.value {
            exclude.push(ex(v)?);
        }
    }
    let parents = ins
        .flag("parents")
        .is_some_and(|f| f.value.as_deref().is_none_or(|v| v != "false"));
    Ok(Flags {
        chown,
        chmod,
        exclude,
        parents,
    })
}

/// Where an inline (heredoc) file lands.
fn join_dest(workdir: &str, dest: &str, name: Option<&str>, several: bool) -> String {
    let mut d = if dest.starts_with('/') {
        dest.to_string()
    } else {
        format!("{}/{}", workdir.trim_end_matches('/'), dest)
    };
    if (dest.ends_with('/') || several)
        && let Some(n) = name
    {
        d = format!("{}/{}", d.trim_end_matches('/'), n);
    }
    d
}

fn meta(mode: u32, chown: Option<(u32, u32)>, now: Timestamp) -> EntryMeta {
    let (uid, gid) = chown.unwrap_or((0, 0));
    EntryMeta {
        mode,
        uid,
        gid,
        mtime: now,
        xattrs: BTreeMap::new(),
    }
}

fn item_entry(item: CopyItem, flags: &Flags, _now: Timestamp) -> Entry {
    let (uid, gid) = flags.chown.unwrap_or((0, 0));
    let kind = match (item.hardlink_of, item.kind) {
        (Some(first), _) => EntryKind::Hardlink {
            target: first.trim_start_matches('/').to_string(),
        },
        (None, ItemKind::File { size }) => EntryKind::File {
            source: FileSource::Path(item.src),
            size,
        },
        (None, ItemKind::Dir) => EntryKind::Dir,
        (None, ItemKind::Symlink { target }) => EntryKind::Symlink { target },
    };
    let mode = match (&kind, flags.chmod) {
        (EntryKind::Symlink { .. }, _) => 0o777,
        (_, Some(m)) => m,
        (_, None) => item.mode,
    };
    Entry {
        path: item.dest.trim_start_matches('/').to_string(),
        kind,
        meta: EntryMeta {
            mode,
            uid,
            gid,
            mtime: Timestamp {
                secs: item.mtime.0,
                nanos: item.mtime.1,
            },
            xattrs: BTreeMap::new(),
        },
    }
}

/// ADD unpacks local tar archives (plain, gzip, bzip2, xz, zstd). Returns the directory it
/// was unpacked into, or `None` when the file is not an archive (then it is copied as is).
fn try_extract_archive(item: &CopyItem, work: &Path) -> Result<Option<PathBuf>, BuildError> {
    if !matches!(item.kind, ItemKind::File { .. }) || item.hardlink_of.is_some() {
        return Ok(None);
    }
    let io = |source| BuildError::Io {
        what: "cannot read ADD source",
        path: item.src.clone(),
        source,
    };
    let mut prefix = [0u8; 512];
    let n = {
        let mut f = std::fs::File::open(&item.src).map_err(io)?;
        read_full(&mut f, &mut prefix).map_err(io)?
    };
    if hoist_layer::detect_compression(&prefix[..n]).is_none() {
        return Ok(None);
    }
    let dir = tempfile::Builder::new()
        .prefix("add-")
        .tempdir_in(work)
        .map_err(|source| BuildError::Io {
            what: "cannot create a work directory in",
            path: work.to_path_buf(),
            source,
        })?
        .keep();
    let f = std::fs::File::open(&item.src).map_err(io)?;
    let opts = hoist_layer::ExtractOptions {
        whiteouts: false,
        ..Default::default()
    };
    match hoist_layer::extract(std::io::BufReader::new(f), &dir, &opts) {
        Ok(_) => Ok(Some(dir)),
        Err(e) => {
            // Not a tar after all (e.g. a gzipped text file): Docker copies it unchanged.
            tracing::debug!(src = %item.src.display(), error = %e, "ADD source is not an archive");
            Ok(None)
        }
    }
}

fn read_full(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heredoc_dest() {
        assert_eq!(
            join_dest("/app", "conf/", Some("EOF"), false),
            "/app/conf/EOF"
        );
        assert_eq!(
            join_dest("/", "/etc/x.conf", Some("EOF"), false),
            "/etc/x.conf"
        );
    }
}
