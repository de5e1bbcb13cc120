//! Per-registry transfer limits: registries differ in how many parallel transfers and
//! which chunk sizes they tolerate, so a [`crate::Client`] can ask a
//! [`LimitsProvider`] (hoist's registry-profile plugins) once per registry.

/// Limits one registry asks for; `None` keeps the client-wide value from
/// [`crate::ClientOptions`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TransferLimits {
    /// Concurrent blob uploads. Default: `None` (`max_concurrent_uploads`).
    pub max_concurrent_uploads: Option<usize>,
    /// Concurrent blob downloads. Default: `None` (`max_concurrent_downloads`).
    pub max_concurrent_downloads: Option<usize>,
    /// Chunk size of chunked uploads, in bytes. Default: `None` (`chunk_size`).
    pub chunk_size: Option<u64>,
}

/// Supplies [`TransferLimits`] per registry. Asked once, when the client first talks
/// to a registry (`host[:port]`); the answer is kept for the client's lifetime.
pub trait LimitsProvider: Send + Sync {
    /// The limits for `registry`.
    fn limits(&self, registry: &str) -> TransferLimits;
}

/// The effective limits for one registry after applying a provider's overrides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EffectiveLimits {
    /// Concurrent blob uploads.
    pub max_concurrent_uploads: usize,
    /// Concurrent blob downloads.
    pub max_concurrent_downloads: usize,
    /// Chunk size of chunked uploads, in bytes.
    pub chunk_size: u64,
}

impl EffectiveLimits {
    /// `opts`' values, overridden by `over`'s (each at least 1).
    pub(crate) fn resolve(opts: &crate::ClientOptions, over: TransferLimits) -> Self {
        Self {
            max_concurrent_uploads: over
                .max_concurrent_uploads
                .unwrap_or(opts.max_concurrent_uploads)
                .max(1),
            max_concurrent_downloads: over
                .max_concurrent_downloads
                .unwrap_or(opts.max_concurrent_downloads)
                .max(1),
            chunk_size: over.chunk_size.unwrap_or(opts.chunk_size).max(1),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_win_and_zero_is_one() {
        let opts = crate::ClientOptions::default();
        let e = EffectiveLimits::resolve(
            &opts,
            TransferLimits {
                max_concurrent_uploads: Some(0),
                max_concurrent_downloads: None,
                chunk_size: Some(1 << 20),
            },
        );
        assert_eq!(e.max_concurrent_uploads, 1);
        assert_eq!(e.max_concurrent_downloads, opts.max_concurrent_downloads);
        assert_eq!(e.chunk_size, 1 << 20);
    }
}
