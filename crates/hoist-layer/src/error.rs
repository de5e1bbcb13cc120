use std::io;
use std::path::PathBuf;

/// Everything that can go wrong while writing, reading or extracting a layer.
#[derive(Debug, thiserror::Error)]
pub enum LayerError {
    /// A source file could not be opened or read.
    #[error("cannot read {path}")]
    ReadSource {
        /// The file on disk.
        path: PathBuf,
        /// The I/O cause.
        #[source]
        source: io::Error,
    },
    /// A source file was shorter than the size recorded in its entry.
    #[error("{path} shrank while being archived: expected {expected} bytes, got {actual}")]
    SourceShrank {
        /// The file on disk.
        path: PathBuf,
        /// Size recorded in the entry.
        expected: u64,
        /// Bytes actually read.
        actual: u64,
    },
    /// Inline content did not match the size recorded in its entry.
    #[error("entry {path}: inline content has {actual} bytes, entry says {expected}")]
    InlineSize {
        /// Image path of the entry.
        path: String,
        /// Size recorded in the entry.
        expected: u64,
        /// Length of the inline bytes.
        actual: u64,
    },
    /// An entry's image path is empty, absolute, or contains `.`/`..`/empty components.
    #[error("invalid image path {path:?}: {reason}")]
    InvalidPath {
        /// The offending path.
        path: String,
        /// Why it was rejected.
        reason: &'static str,
    },
    /// An entry value does not fit in a tar header (e.g. a name with a NUL byte).
    #[error("entry {path}: {reason}")]
    InvalidEntry {
        /// Image path of the entry.
        path: String,
        /// Why it was rejected.
        reason: String,
    },
    /// The compressor failed.
    #[error("{codec} compression failed")]
    Compress {
        /// Codec name.
        codec: &'static str,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// Writing to the output sink failed.
    #[error("cannot write layer output")]
    Sink(#[source] io::Error),
    /// A pipeline worker thread panicked or vanished.
    #[error("layer pipeline worker failed: {0}")]
    Worker(&'static str),
    /// The input was not a recognised archive format.
    #[error("unrecognised archive format")]
    UnknownFormat,
    /// Reading the archive stream failed (decompression or tar parsing).
    #[error("cannot read archive")]
    ReadArchive(#[source] io::Error),
    /// An archive entry has a type hoist cannot represent.
    #[error("archive entry {path}: {reason}")]
    BadArchiveEntry {
        /// The entry's path as stored in the archive.
        path: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A filesystem operation under the extraction root failed.
    #[error("cannot {op} {path}")]
    Fs {
        /// The operation (e.g. "create", "mkdir").
        op: &'static str,
        /// Path relative to the extraction root.
        path: PathBuf,
        /// The OS cause.
        #[source]
        source: io::Error,
    },
    /// An entry would escape the extraction root.
    #[error("archive entry {path} escapes the extraction root")]
    Escape {
        /// The entry's path or link target as stored in the archive.
        path: String,
    },
    /// Symlink resolution under the root did not terminate.
    #[error("too many levels of symbolic links resolving {path}")]
    SymlinkLoop {
        /// The path being resolved.
        path: String,
    },
}

impl LayerError {
    pub(crate) fn fs(
        op: &'static str,
        path: impl Into<PathBuf>,
        source: impl Into<io::Error>,
    ) -> Self {
        LayerError::Fs {
            op,
            path: path.into(),
            source: source.into(),
        }
    }
}
