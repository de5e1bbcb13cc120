//! Cross-process locks (`flock` via std's `File::lock`) under `ROOT/locks/`.

use std::fs::{File, OpenOptions};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::{Store, StoreError};

const INDEX_LOCK: &str = "index.lock";
const GC_LOCK: &str = "gc.lock";

/// Held (shared) by builds and pulls while they write blobs that no name references
/// yet. [`Store::prune`] takes the same lock exclusively, so it waits for every lease
/// to end and never deletes an in-flight build's blobs. Released on drop.
#[derive(Debug)]
pub struct StoreLease {
    _file: File,
    count: Arc<AtomicUsize>,
}

impl Drop for StoreLease {
    fn drop(&mut self) {
        self.count.fetch_sub(1, Ordering::SeqCst);
    }
}

/// An exclusive lock, released on drop (closing the file releases the `flock`).
#[derive(Debug)]
pub(crate) struct ExclusiveLock {
    _file: File,
}

impl Store {
    /// Takes a shared lease on the store (blocks while a prune runs).
    pub fn lock_shared(&self) -> Result<StoreLease, StoreError> {
        let (file, path) = self.lock_file(GC_LOCK)?;
        file.lock_shared()
            .map_err(StoreError::io("lock (shared)", path))?;
        self.leases.fetch_add(1, Ordering::SeqCst);
        Ok(StoreLease {
            _file: file,
            count: Arc::clone(&self.leases),
        })
    }

    /// Leases currently held through this handle and its clones.
    pub(crate) fn leases_held(&self) -> usize {
        self.leases.load(Ordering::SeqCst)
    }

    /// The exclusive GC lock: waits until no lease is held by anyone.
    pub(crate) fn lock_gc(&self) -> Result<ExclusiveLock, StoreError> {
        self.lock_exclusive(GC_LOCK)
    }

    /// The exclusive lock serialising read-modify-write of `index.json`.
    pub(crate) fn lock_index(&self) -> Result<ExclusiveLock, StoreError> {
        self.lock_exclusive(INDEX_LOCK)
    }

    fn lock_exclusive(&self, name: &str) -> Result<ExclusiveLock, StoreError> {
        let (file, path) = self.lock_file(name)?;
        file.lock().map_err(StoreError::io("lock", path))?;
        Ok(ExclusiveLock { _file: file })
    }

    fn lock_file(&self, name: &str) -> Result<(File, std::path::PathBuf), StoreError> {
        let path = self.root().join("locks").join(name);
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(&path)
            .map_err(StoreError::io("open lock file", &path))?;
        Ok((file, path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;
    use std::time::Duration;

    #[test]
    fn leases_are_shared_and_block_the_exclusive_lock() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(dir.path()).unwrap();
        let a = s.lock_shared().unwrap();
        let b = s.lock_shared().unwrap();
        assert_eq!(s.leases_held(), 2);
        let (tx, rx) = mpsc::channel();
        let s2 = Store::open(dir.path()).unwrap();
        let t = std::thread::spawn(move || {
            let _g = s2.lock_gc().unwrap();
            tx.send(()).unwrap();
        });
        drop(a);
        assert!(rx.recv_timeout(Duration::from_millis(200)).is_err());
        drop(b);
        rx.recv_timeout(Duration::from_secs(10)).unwrap();
        t.join().unwrap();
        assert_eq!(s.leases_held(), 0);
    }
}
