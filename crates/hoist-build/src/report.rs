//! Progress reporting: the library emits events, the CLI renders them.

use hoist_oci::Digest;

/// What a build tells its caller while it runs. Every method has a no-op default.
pub trait Reporter: Send + Sync {
    /// A step begins: `[stage n/total] INSTRUCTION`.
    fn step(&self, stage: &str, number: usize, total: usize, text: &str) {
        let _ = (stage, number, total, text);
    }
    /// A layer was written.
    fn layer(&self, digest: &Digest, size: u64, entries: u64, seconds: f64) {
        let _ = (digest, size, entries, seconds);
    }
    /// Something the user should know but that does not stop the build.
    fn warn(&self, message: &str) {
        let _ = message;
    }
}

/// A reporter that drops everything.
pub struct Silent;

impl Reporter for Silent {}
