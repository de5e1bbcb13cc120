//! Temp-tree helpers shared by the integration tests.

#![allow(dead_code)]

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use hoist_context::{ContextError, CopyItem, CopyRequest, IgnoreMatcher, ItemKind, resolve_copy};

/// Writes `files` (path, content) under `root`, creating parents.
pub fn write(root: &Path, files: &[(&str, &str)]) {
    for (p, content) in files {
        let full = root.join(p);
        fs::create_dir_all(full.parent().unwrap()).unwrap();
        fs::write(full, content).unwrap();
    }
}

pub fn mkdir(root: &Path, p: &str) {
    fs::create_dir_all(root.join(p)).unwrap();
}

pub fn chmod(root: &Path, p: &str, mode: u32) {
    fs::set_permissions(root.join(p), fs::Permissions::from_mode(mode)).unwrap();
}

pub fn symlink(root: &Path, target: &str, link: &str) {
    std::os::unix::fs::symlink(target, root.join(link)).unwrap();
}

/// Options for [`copy`]; everything not given takes `CopyRequest::default()`.
#[derive(Default)]
pub struct Req<'a> {
    pub exclude: &'a [&'a str],
    pub parents: bool,
    pub workdir: Option<&'a str>,
    pub no_follow: bool,
    pub ignore: Option<&'a str>,
}

/// Runs `resolve_copy` with string-slice arguments.
pub fn copy_with(
    root: &Path,
    sources: &[&str],
    dest: &str,
    opts: Req<'_>,
) -> Result<Vec<CopyItem>, ContextError> {
    let sources: Vec<String> = sources.iter().map(|s| s.to_string()).collect();
    let exclude: Vec<String> = opts.exclude.iter().map(|s| s.to_string()).collect();
    let ignore = opts.ignore.map(|t| IgnoreMatcher::parse(t).unwrap());
    let req = CopyRequest {
        sources: &sources,
        dest,
        workdir: opts.workdir.unwrap_or("/"),
        exclude: &exclude,
        parents: opts.parents,
        follow_top_symlinks: !opts.no_follow,
    };
    resolve_copy(root, ignore.as_ref(), &req)
}

pub fn copy(root: &Path, sources: &[&str], dest: &str) -> Result<Vec<CopyItem>, ContextError> {
    copy_with(root, sources, dest, Req::default())
}

/// The destinations, with a `/` suffix on directories and `@target` on symlinks.
pub fn dests(items: &[CopyItem]) -> Vec<String> {
    items
        .iter()
        .map(|i| match &i.kind {
            ItemKind::Dir => format!("{}/", i.dest),
            ItemKind::File { .. } => i.dest.clone(),
            ItemKind::Symlink { target } => format!("{}@{}", i.dest, target),
        })
        .collect()
}

pub fn find<'a>(items: &'a [CopyItem], dest: &str) -> &'a CopyItem {
    items
        .iter()
        .find(|i| i.dest == dest)
        .unwrap_or_else(|| panic!("no item {dest} in {:?}", dests(items)))
}
