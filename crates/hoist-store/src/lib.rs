//! hoist's local image store: an OCI image layout on disk.
//!
//! `ROOT/` is a valid OCI image layout that skopeo, umoci and friends can read
//! (`oci:ROOT:docker.io/library/demo:1`):
//!
//! * `oci-layout`: `{"imageLayoutVersion":"1.0.0"}`;
//! * `index.json`: one descriptor per name, annotated with
//!   [`hoist_oci::ANNOTATION_REF_NAME`] = the full normalised reference;
//! * `blobs/sha256/<hex>`: content-addressed blobs.
//!
//! Private areas next to it: `ROOT/tmp/` (temp files, renamed into `blobs/`),
//! `ROOT/work/` (build work dirs), `ROOT/locks/` (`index.lock` serialises
//! `index.json` updates; `gc.lock` is held shared by [`StoreLease`]s and exclusively
//! by [`Store::prune`]).
//!
//! Crash safety: every file that readers look at appears by an atomic rename of a
//! fully written and fsynced temp file; blobs are written before the name that
//! references them. Layers are streamed, never held in memory.

mod blob;
mod error;
mod fsutil;
mod gc;
mod image;
mod lock;
mod names;
mod unpacked;

pub mod archive;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;

pub use blob::BlobWriter;
pub use error::StoreError;
pub use gc::{PruneOptions, PruneStats};
pub use image::ResolvedImage;
pub use lock::StoreLease;
pub use unpacked::remove_tree;

/// The content of the `oci-layout` file hoist writes and accepts.
pub const LAYOUT_VERSION: &str = "1.0.0";
/// The largest JSON document (manifest, index, config) read from a blob.
pub const MAX_JSON_BYTES: u64 = 16 << 20;

const OCI_LAYOUT_FILE: &str = "oci-layout";
const INDEX_FILE: &str = "index.json";

/// A handle on a store root. Cheap to clone; safe to share between threads.
#[derive(Debug, Clone)]
pub struct Store {
    root: PathBuf,
    /// Leases this handle (and its clones) hold, so `prune` can refuse to deadlock.
    leases: Arc<AtomicUsize>,
}

impl Store {
    /// The default root: `$HOIST_ROOT`, else `$XDG_DATA_HOME/hoist`, else
    /// `~/.local/share/hoist` (`./.hoist` when there is no home directory).
    pub fn default_root() -> PathBuf {
        let non_empty = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty());
        if let Some(r) = non_empty("HOIST_ROOT") {
            return PathBuf::from(r);
        }
        if let Some(x) = non_empty("XDG_DATA_HOME") {
            return PathBuf::from(x).join("hoist");
        }
        match non_empty("HOME") {
            Some(h) => PathBuf::from(h).join(".local/share/hoist"),
            None => PathBuf::from(".hoist"),
        }
    }

    /// Opens the store at `root`, creating the layout when it is missing and
    /// validating `oci-layout` when it exists.
    pub fn open(root: impl Into<PathBuf>) -> Result<Store, StoreError> {
        let root = root.into();
        for dir in ["blobs/sha256", "tmp", "work", "locks"] {
            let p = root.join(dir);
            std::fs::create_dir_all(&p).map_err(StoreError::io("create directory", &p))?;
        }
        let store = Store {
            root,
            leases: Arc::new(AtomicUsize::new(0)),
        };
        store.init_layout()?;
        Ok(store)
    }

    /// The store root.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// A fresh directory under `ROOT/work/`, removed when the returned value drops.
    /// Callers should hold a [`StoreLease`] while using it.
    pub fn work_dir(&self, prefix: &str) -> Result<tempfile::TempDir, StoreError> {
        let dir = self.root.join("work");
        tempfile::Builder::new()
            .prefix(prefix)
            .tempdir_in(&dir)
            .map_err(StoreError::io("create work directory in", dir))
    }

    pub(crate) fn tmp_dir(&self) -> PathBuf {
        self.root.join("tmp")
    }

    fn init_layout(&self) -> Result<(), StoreError> {
        let layout = self.root.join(OCI_LAYOUT_FILE);
        let index = self.root.join(INDEX_FILE);
        if layout.exists() && index.exists() {
            return fsutil::check_layout_file(&layout);
        }
        // Creation races with other processes: do it under the index lock and only
        // write what is still missing.
        let _guard = self.lock_index()?;
        if layout.exists() {
            fsutil::check_layout_file(&layout)?;
        } else {
            let body = format!("{{\"imageLayoutVersion\":\"{LAYOUT_VERSION}\"}}");
            fsutil::write_atomic(&self.tmp_dir(), &layout, body.as_bytes())?;
        }
        if !index.exists() {
            let empty = names::empty_index();
            let bytes = serde_json::to_vec(&empty).map_err(|source| StoreError::Json {
                what: "index",
                location: index.display().to_string(),
                source,
            })?;
            fsutil::write_atomic(&self.tmp_dir(), &index, &bytes)?;
        }
        Ok(())
    }
}

#[cfg(test)]
pub(crate) mod testutil;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_creates_layout_and_reopens() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("store");
        let s = Store::open(&root).unwrap();
        assert_eq!(
            std::fs::read_to_string(root.join("oci-layout")).unwrap(),
            r#"{"imageLayoutVersion":"1.0.0"}"#
        );
        let idx: serde_json::Value =
            serde_json::from_slice(&std::fs::read(root.join("index.json")).unwrap()).unwrap();
        assert_eq!(idx["schemaVersion"], 2);
        assert_eq!(idx["manifests"].as_array().unwrap().len(), 0);
        for d in ["blobs/sha256", "tmp", "work", "locks"] {
            assert!(root.join(d).is_dir(), "{d}");
        }
        assert_eq!(s.root(), root);
        Store::open(&root).unwrap();
    }

    #[test]
    fn open_rejects_foreign_layout_version() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("oci-layout"),
            r#"{"imageLayoutVersion":"9.9.9"}"#,
        )
        .unwrap();
        std::fs::write(
            dir.path().join("index.json"),
            r#"{"schemaVersion":2,"manifests":[]}"#,
        )
        .unwrap();
        let e = Store::open(dir.path()).unwrap_err().to_string();
        assert!(e.contains("9.9.9") && e.contains("oci-layout"), "{e}");
        std::fs::write(dir.path().join("oci-layout"), "not json").unwrap();
        assert!(matches!(
            Store::open(dir.path()),
            Err(StoreError::NotALayout { .. })
        ));
    }

    /// Child half of `default_root_follows_env`: compares with the expected value.
    #[test]
    fn default_root_child() {
        if let Some(want) = std::env::var_os("HOIST_STORE_TEST_WANT_ROOT") {
            assert_eq!(Store::default_root(), PathBuf::from(want));
        }
    }

    #[test]
    fn default_root_follows_env() {
        let cases: [(&[(&str, &str)], &str); 4] = [
            (&[("HOIST_ROOT", "/r"), ("XDG_DATA_HOME", "/x")], "/r"),
            (&[("HOIST_ROOT", ""), ("XDG_DATA_HOME", "/x")], "/x/hoist"),
            (&[("HOME", "/h")], "/h/.local/share/hoist"),
            (
                &[("HOME", "/h"), ("XDG_DATA_HOME", "")],
                "/h/.local/share/hoist",
            ),
        ];
        for (env, want) in cases {
            let mut cmd = std::process::Command::new(std::env::current_exe().unwrap());
            cmd.args(["--exact", "tests::default_root_child", "--quiet"])
                .env_remove("HOIST_ROOT")
                .env_remove("XDG_DATA_HOME")
                .env("HOIST_STORE_TEST_WANT_ROOT", want)
                .stdout(std::process::Stdio::null());
            for (k, v) in env {
                cmd.env(k, v);
            }
            assert!(cmd.status().unwrap().success(), "{env:?} -> {want}");
        }
    }

    #[test]
    fn work_dir_lives_under_root() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(dir.path()).unwrap();
        let w = s.work_dir("build-").unwrap();
        assert!(w.path().starts_with(dir.path().join("work")));
        let p = w.path().to_path_buf();
        drop(w);
        assert!(!p.exists());
    }
}
