//! Puts entries into their canonical order: validated paths, sorted by
//! component, duplicates resolved (last wins), missing parents added,
//! hardlinks pointing at the first link in order, mtimes clamped.

use std::cmp::Ordering;
use std::collections::{HashMap, HashSet};

use crate::entry::{Entry, EntryKind, EntryMeta, Timestamp};
use crate::error::LayerError;

/// Canonical order: component by component, bytewise, so parents precede children.
pub(crate) fn cmp_paths(a: &str, b: &str) -> Ordering {
    a.split('/').cmp(b.split('/'))
}

/// Normalises an image path: strips trailing `/`, rejects anything unsafe.
fn clean_path(path: &str) -> Result<String, LayerError> {
    let bad = |reason| LayerError::InvalidPath {
        path: path.to_string(),
        reason,
    };
    let p = path.trim_end_matches('/');
    if p.is_empty() {
        return Err(bad("empty path"));
    }
    if p.starts_with('/') {
        return Err(bad("absolute path"));
    }
    if p.contains('\0') {
        return Err(bad("contains a NUL byte"));
    }
    for c in p.split('/') {
        match c {
            "" => return Err(bad("empty component")),
            "." | ".." => return Err(bad("`.` or `..` component")),
            _ => {}
        }
    }
    Ok(p.to_string())
}

/// Produces the canonical entry list for a layer.
pub(crate) fn plan(
    entries: Vec<Entry>,
    parent_meta: &EntryMeta,
    clamp: Option<Timestamp>,
) -> Result<Vec<Entry>, LayerError> {
    let mut list = Vec::with_capacity(entries.len());
    for mut e in entries {
        e.path = clean_path(&e.path)?;
        if let EntryKind::Hardlink { target } = &mut e.kind {
            *target = clean_path(target)?;
        }
        if let EntryKind::File {
            source: crate::entry::FileSource::Bytes(b),
            size,
        } = &e.kind
            && b.len() as u64 != *size
        {
            return Err(LayerError::InlineSize {
                path: e.path,
                expected: *size,
                actual: b.len() as u64,
            });
        }
        list.push(e);
    }
    // Stable: among equal paths the input order survives, so the last one wins.
    list.sort_by(|a, b| cmp_paths(&a.path, &b.path));
    let mut dedup: Vec<Entry> = Vec::with_capacity(list.len());
    for e in list {
        match dedup.last_mut() {
            Some(last) if last.path == e.path => *last = e,
            _ => dedup.push(e),
        }
    }

    let present: HashSet<&str> = dedup.iter().map(|e| e.path.as_str()).collect();
    let mut missing: Vec<String> = Vec::new();
    let mut seen_missing = HashSet::new();
    for e in &dedup {
        let mut p = e.path.as_str();
        while let Some(i) = p.rfind('/') {
            p = &p[..i];
            if present.contains(p) {
                break;
            }
            if seen_missing.insert(p.to_string()) {
                missing.push(p.to_string());
            }
        }
    }
    drop(present);
    let mut out = dedup;
    if !missing.is_empty() {
        out.extend(missing.into_iter().map(|path| Entry {
            path,
            kind: EntryKind::Dir,
            meta: parent_meta.clone(),
        }));
        out.sort_by(|a, b| cmp_paths(&a.path, &b.path));
    }

    check_parents_are_dirs(&out)?;
    relink_hardlinks(&mut out)?;
    if let Some(max) = clamp {
        for e in &mut out {
            if e.meta.mtime > max {
                e.meta.mtime = max;
            }
        }
    }
    Ok(out)
}

fn check_parents_are_dirs(list: &[Entry]) -> Result<(), LayerError> {
    let kinds: HashMap<&str, &EntryKind> =
        list.iter().map(|e| (e.path.as_str(), &e.kind)).collect();
    for e in list {
        if let Some(i) = e.path.rfind('/') {
            let parent = &e.path[..i];
            if !matches!(
                kinds.get(parent),
                Some(EntryKind::Dir | EntryKind::OpaqueDir)
            ) {
                return Err(LayerError::InvalidEntry {
                    path: e.path.clone(),
                    reason: format!("parent {parent} is not a directory in this layer"),
                });
            }
        }
    }
    Ok(())
}

/// Makes every hardlink group point at its first member in canonical order,
/// which carries the content: a tar reader can only link to an earlier entry.
fn relink_hardlinks(list: &mut [Entry]) -> Result<(), LayerError> {
    let index: HashMap<String, usize> = list
        .iter()
        .enumerate()
        .map(|(i, e)| (e.path.clone(), i))
        .collect();
    // target index -> member indices (links), in canonical order
    let mut groups: HashMap<usize, Vec<usize>> = HashMap::new();
    for (i, e) in list.iter().enumerate() {
        if let EntryKind::Hardlink { target } = &e.kind {
            let t = *index.get(target).ok_or_else(|| LayerError::InvalidEntry {
                path: e.path.clone(),
                reason: format!("hardlink target {target} is not in this layer"),
            })?;
            if !matches!(list[t].kind, EntryKind::File { .. }) {
                return Err(LayerError::InvalidEntry {
                    path: e.path.clone(),
                    reason: format!("hardlink target {target} is not a regular file"),
                });
            }
            groups.entry(t).or_default().push(i);
        }
    }
    for (target, links) in groups {
        let first = links[0].min(target);
        if first == target {
            continue;
        }
        // Move content and metadata to the first member; the rest link to it.
        let content = list[target].kind.clone();
        let meta = list[target].meta.clone();
        let first_path = list[first].path.clone();
        list[first].kind = content;
        list[first].meta = meta;
        for &i in links.iter().chain(std::iter::once(&target)) {
            if i != first {
                list[i].kind = EntryKind::Hardlink {
                    target: first_path.clone(),
                };
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entry::FileSource;

    fn file(path: &str, data: &[u8]) -> Entry {
        Entry {
            path: path.into(),
            kind: EntryKind::File {
                source: FileSource::Bytes(data.to_vec()),
                size: data.len() as u64,
            },
            meta: EntryMeta {
                mode: 0o644,
                ..EntryMeta::default()
            },
        }
    }

    #[test]
    fn component_order_puts_parents_first() {
        let mut v = vec!["a-b", "a/b", "a", "a.c/d", "a/b/c"];
        v.sort_by(|a, b| cmp_paths(a, b));
        assert_eq!(v, ["a", "a/b", "a/b/c", "a-b", "a.c/d"]);
    }

    #[test]
    fn last_duplicate_wins_and_parents_are_added() {
        let out = plan(
            vec![file("x/y/z", b"1"), file("x/y/z", b"2")],
            &EntryMeta::default(),
            None,
        )
        .unwrap();
        let paths: Vec<_> = out.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(paths, ["x", "x/y", "x/y/z"]);
        assert_eq!(out[2], file("x/y/z", b"2"));
        assert_eq!(out[0].kind, EntryKind::Dir);
        assert_eq!(out[0].meta, EntryMeta::default());
    }

    #[test]
    fn rejects_escaping_paths() {
        for p in ["/etc/passwd", "a/../b", "", "a//b", "./a"] {
            assert!(
                plan(vec![file(p, b"")], &EntryMeta::default(), None).is_err(),
                "{p}"
            );
        }
    }

    #[test]
    fn hardlink_before_its_target_swaps_roles() {
        let link = Entry {
            path: "a".into(),
            kind: EntryKind::Hardlink { target: "b".into() },
            meta: EntryMeta::default(),
        };
        let out = plan(vec![file("b", b"data"), link], &EntryMeta::default(), None).unwrap();
        assert_eq!(out[0].path, "a");
        assert!(matches!(out[0].kind, EntryKind::File { size: 4, .. }));
        assert_eq!(out[0].meta.mode, 0o644);
        assert_eq!(out[1].kind, EntryKind::Hardlink { target: "a".into() });
    }

    #[test]
    fn clamps_mtimes() {
        let mut f = file("f", b"");
        f.meta.mtime = Timestamp {
            secs: 2_000_000_000,
            nanos: 5,
        };
        let mut g = file("g", b"");
        g.meta.mtime = Timestamp::from_secs(10);
        let out = plan(
            vec![f, g],
            &EntryMeta::default(),
            Some(Timestamp::from_secs(100)),
        )
        .unwrap();
        assert_eq!(out[0].meta.mtime, Timestamp::from_secs(100));
        assert_eq!(out[1].meta.mtime, Timestamp::from_secs(10));
    }
}
