use std::path::PathBuf;

use thiserror::Error;

/// Where in a Dockerfile something went wrong: `file:line:column`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// Dockerfile name as the user gave it.
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.column)
    }
}

/// Errors from planning or executing a build.
#[derive(Debug, Error)]
pub enum BuildError {
    /// The Dockerfile could not be read.
    #[error("cannot read Dockerfile {path}")]
    ReadDockerfile {
        /// Path tried.
        path: PathBuf,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// The Dockerfile did not parse.
    #[error(transparent)]
    Parse(#[from] hoist_dockerfile::ParseError),
    /// An instruction is wrong in a way found while planning or executing it.
    #[error("{at}: {message}")]
    Instruction {
        /// Where.
        at: Location,
        /// What.
        message: String,
    },
    /// `--target` names no stage.
    #[error("target stage {0:?} could not be found")]
    UnknownTarget(String),
    /// The Dockerfile has no FROM.
    #[error("{0}: no build stage in Dockerfile (expected FROM)")]
    NoStages(String),
    /// A base image is not available.
    #[error("{at}: base image {reference} is not in the local store")]
    BaseNotFound {
        /// Where.
        at: Location,
        /// Which image.
        reference: String,
    },
    /// A base image could not be fetched into the store.
    #[error("{at}: cannot pull base image {reference}")]
    BasePull {
        /// Where.
        at: Location,
        /// Which image.
        reference: String,
        /// Why (from the caller's [`crate::ImageFetcher`]).
        #[source]
        source: crate::FetchError,
    },
    /// The build context could not be opened.
    #[error(transparent)]
    Context(#[from] hoist_context::ContextError),
    /// A COPY/ADD source could not be resolved.
    #[error("{at}: {source}")]
    Copy {
        /// Where.
        at: Location,
        /// Why.
        #[source]
        source: hoist_context::ContextError,
    },
    /// Writing or reading a layer failed.
    #[error(transparent)]
    Layer(#[from] hoist_layer::LayerError),
    /// The local store failed.
    #[error(transparent)]
    Store(#[from] hoist_store::StoreError),
    /// A reference or digest was invalid.
    #[error(transparent)]
    Oci(#[from] hoist_oci::OciError),
    /// Other I/O.
    #[error("{what} {path}")]
    Io {
        /// What was being done.
        what: &'static str,
        /// On which path.
        path: PathBuf,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// A RUN step's command exited with a failure.
    #[error("{at}: process {command:?} did not complete successfully: {status}{output}")]
    RunFailed {
        /// Where.
        at: Location,
        /// The command as run (argv joined with spaces).
        command: String,
        /// `exit code: N` or `killed by signal N`.
        status: String,
        /// The last lines of its output, each on its own line (or empty).
        output: String,
    },
    /// A RUN step could not be started in the sandbox.
    #[error("{at}: cannot run {command:?}")]
    Sandbox {
        /// Where.
        at: Location,
        /// The command.
        command: String,
        /// Why (boxed: the sandbox error is large).
        #[source]
        source: Box<hoist_sandbox::SandboxError>,
    },
    /// `hoist run`: the image is not in the store.
    #[error("image {reference} is not in the local store")]
    ImageNotFound {
        /// Which image.
        reference: String,
    },
    /// An image in the store is inconsistent.
    #[error("image {reference} is invalid: {reason}")]
    ImageInvalid {
        /// Which image.
        reference: String,
        /// What is wrong.
        reason: String,
    },
    /// `hoist run`: the container cannot be set up as asked.
    #[error("cannot run {reference}: {message}")]
    Container {
        /// Which image.
        reference: String,
        /// Why.
        message: String,
    },
    /// `hoist run`: the sandbox could not start the container's command.
    #[error("cannot run {reference}")]
    ContainerSandbox {
        /// Which image.
        reference: String,
        /// Why (boxed: the sandbox error is large).
        #[source]
        source: Box<hoist_sandbox::SandboxError>,
    },
    /// A JSON document could not be written or read.
    #[error("invalid {what} JSON")]
    Json {
        /// Which document.
        what: &'static str,
        /// Cause.
        #[source]
        source: serde_json::Error,
    },
}

impl BuildError {
    /// An instruction error at a location.
    pub fn at(at: &Location, message: impl Into<String>) -> Self {
        BuildError::Instruction {
            at: at.clone(),
            message: message.into(),
        }
    }
}
