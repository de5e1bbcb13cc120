use std::path::PathBuf;

use thiserror::Error;

/// Errors from reading the build context and resolving COPY/ADD sources.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ContextError {
    /// A filesystem call failed.
    #[error("cannot read {path}")]
    Io {
        /// The path being read.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// COPY/ADD was given no sources at all.
    #[error("no source files were specified")]
    NoSources,
    /// A source names nothing in the context (or only things .dockerignore hides).
    #[error("{src:?}: not found")]
    NotFound {
        /// The source as written.
        src: String,
    },
    /// A source climbs out of the context with `..`.
    #[error("source {src:?} is outside the build context")]
    OutsideContext {
        /// The source as written.
        src: String,
    },
    /// Several sources were copied to a destination that does not end with `/`.
    #[error(
        "when using COPY with more than one source file, the destination must be a directory and end with a / (got {dest:?})"
    )]
    DestNotDir {
        /// The destination as written.
        dest: String,
    },
    /// A pattern is malformed.
    #[error("invalid pattern {pattern:?}: {reason}")]
    BadPattern {
        /// The pattern after cleaning.
        pattern: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A line of an ignore file holds a bad pattern.
    #[error("line {line}")]
    IgnoreLine {
        /// 1-based line number.
        line: usize,
        /// What is wrong with the line.
        #[source]
        cause: Box<ContextError>,
    },
    /// An ignore file could not be used.
    #[error("invalid ignore file {path}")]
    IgnoreFile {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        #[source]
        cause: Box<ContextError>,
    },
    /// A file name is not UTF-8, so it cannot become an image path.
    #[error("file name is not valid UTF-8: {path}")]
    NonUtf8 {
        /// The offending path.
        path: PathBuf,
    },
    /// Resolving a source went through too many symbolic links.
    #[error("too many levels of symbolic links resolving {src:?}")]
    SymlinkLoop {
        /// The source as written.
        src: String,
    },
    /// The part of a `--parents` source before `/./` is not a directory.
    #[error("--parents source {src:?}: {pivot:?} is not a directory")]
    PivotNotDir {
        /// The source as written.
        src: String,
        /// The part before `/./`.
        pivot: String,
    },
    /// Two sources put a directory and a non-directory at the same destination.
    #[error("cannot copy a directory and a non-directory to the same path {dest}")]
    Conflict {
        /// The destination path.
        dest: String,
    },
}

impl ContextError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        ContextError::Io {
            path: path.into(),
            source,
        }
    }
}
