//! Blob transfer progress for `pull`, `push` and `build`: one stderr line per blob.

use std::collections::HashMap;
use std::io::Write;
use std::sync::Mutex;

use hoist_oci::Digest;
use hoist_registry::{BlobAction, Progress};

use crate::progress::{human_size, short};

/// A blob in flight: what happens to it, its announced size, bytes moved so far.
type Started = (BlobAction, Option<u64>, u64);

/// Prints `Copying blob sha256:abcd… done (1.2MB)` style lines on stderr when each blob
/// finishes; prints nothing when quiet.
pub struct BlobLines {
    quiet: bool,
    started: Mutex<HashMap<Digest, Started>>,
}

impl BlobLines {
    /// A renderer; `quiet` drops every line.
    pub fn new(quiet: bool) -> Self {
        BlobLines {
            quiet,
            started: Mutex::new(HashMap::new()),
        }
    }

    fn line(&self, s: &str) {
        if !self.quiet {
            // Progress output is best effort: a closed stderr must not fail the transfer.
            let _ = writeln!(std::io::stderr().lock(), "{s}");
        }
    }
}

/// The text after the digest for a finished blob.
fn outcome(action: BlobAction, size: Option<u64>, moved: u64) -> String {
    match action {
        BlobAction::Upload | BlobAction::Download => {
            format!("done ({})", human_size(size.unwrap_or(moved).max(moved)))
        }
        BlobAction::Mount => "mounted".into(),
        BlobAction::Exists => "skipped: already exists".into(),
    }
}

impl Progress for BlobLines {
    fn blob_started(&self, digest: &Digest, size: Option<u64>, action: BlobAction) {
        let mut map = self
            .started
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        map.insert(digest.clone(), (action, size, 0));
    }

    fn blob_progress(&self, digest: &Digest, bytes: u64) {
        let mut map = self
            .started
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(e) = map.get_mut(digest) {
            e.2 += bytes;
        }
    }

    fn blob_done(&self, digest: &Digest) {
        let entry = self
            .started
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(digest);
        let (action, size, moved) = entry.unwrap_or((BlobAction::Download, None, 0));
        self.line(&format!(
            "Copying blob {} {}",
            short(digest),
            outcome(action, size, moved)
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcome_text_per_action() {
        assert_eq!(
            outcome(BlobAction::Upload, Some(1500), 1500),
            "done (1.5kB)"
        );
        assert_eq!(outcome(BlobAction::Download, None, 20), "done (20B)");
        assert_eq!(outcome(BlobAction::Mount, None, 0), "mounted");
        assert_eq!(
            outcome(BlobAction::Exists, Some(3), 0),
            "skipped: already exists"
        );
    }
}
