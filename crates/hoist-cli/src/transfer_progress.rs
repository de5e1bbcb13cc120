//! Blob transfer progress for `pull`, `push`, `copy` and `build`: a live bar per blob
//! when stderr is a terminal, and in every case one stderr line per finished blob.

use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::sync::Mutex;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use hoist_oci::Digest;
use hoist_registry::{BlobAction, Progress};

use crate::progress::{human_size, short};

/// A blob in flight: what happens to it, its announced size, bytes moved so far.
type Started = (BlobAction, Option<u64>, u64);

/// Prints `Copying blob sha256:abcd… done (1.2MB)` style lines on stderr when each blob
/// finishes (with live bars meanwhile on a terminal); prints nothing when quiet.
pub struct BlobLines {
    quiet: bool,
    started: Mutex<HashMap<Digest, Started>>,
    /// Live bars, only when stderr is a terminal.
    bars: Option<Bars>,
}

struct Bars {
    multi: MultiProgress,
    by_blob: Mutex<HashMap<Digest, ProgressBar>>,
}

impl BlobLines {
    /// A renderer; `quiet` drops every line. Bars are drawn when stderr is a terminal.
    pub fn new(quiet: bool) -> Self {
        let bars = (!quiet && std::io::stderr().is_terminal()).then(|| Bars {
            multi: MultiProgress::with_draw_target(ProgressDrawTarget::stderr()),
            by_blob: Mutex::new(HashMap::new()),
        });
        BlobLines {
            quiet,
            started: Mutex::new(HashMap::new()),
            bars,
        }
    }

    fn line(&self, s: &str) {
        if self.quiet {
            return;
        }
        if let Some(b) = &self.bars {
            // Printed above the live bars; a closed terminal must not fail the transfer.
            let _ = b.multi.println(s);
            return;
        }
        // Progress output is best effort: a closed stderr must not fail the transfer.
        let _ = writeln!(std::io::stderr().lock(), "{s}");
    }
}

impl Bars {
    fn start(&self, digest: &Digest, size: Option<u64>, action: BlobAction) {
        let verb = match action {
            BlobAction::Upload => "Uploading",
            BlobAction::Download => "Downloading",
            BlobAction::Mount | BlobAction::Exists => return,
        };
        let bar = match size {
            Some(n) => ProgressBar::new(n),
            None => ProgressBar::new_spinner(),
        };
        let template = if size.is_some() {
            "{prefix} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec}"
        } else {
            "{prefix} {spinner} {bytes} {bytes_per_sec}"
        };
        if let Ok(style) = ProgressStyle::with_template(template) {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_prefix(format!("{verb} {}", short(digest)));
        let bar = self.multi.add(bar);
        lock(&self.by_blob).insert(digest.clone(), bar);
    }

    fn advance(&self, digest: &Digest, bytes: u64) {
        if let Some(bar) = lock(&self.by_blob).get(digest) {
            bar.inc(bytes);
        }
    }

    fn finish(&self, digest: &Digest) {
        if let Some(bar) = lock(&self.by_blob).remove(digest) {
            bar.finish_and_clear();
            self.multi.remove(&bar);
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
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
        if let Some(b) = &self.bars {
            // A restart announces the blob again: the old bar goes, a fresh one starts.
            b.finish(digest);
            b.start(digest, size, action);
        }
        lock(&self.started).insert(digest.clone(), (action, size, 0));
    }

    fn blob_progress(&self, digest: &Digest, bytes: u64) {
        if let Some(b) = &self.bars {
            b.advance(digest, bytes);
        }
        if let Some(e) = lock(&self.started).get_mut(digest) {
            e.2 += bytes;
        }
    }

    fn blob_done(&self, digest: &Digest) {
        if let Some(b) = &self.bars {
            b.finish(digest);
        }
        let entry = lock(&self.started).remove(digest);
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
