use thiserror::Error;

/// Errors from parsing OCI values.
#[derive(Debug, Error)]
pub enum OciError {
    /// An image reference did not follow the distribution grammar.
    #[error("invalid reference {input:?}: {reason}")]
    InvalidReference {
        /// What the user wrote.
        input: String,
        /// Why it was rejected.
        reason: String,
    },
    /// A digest string was malformed.
    #[error("invalid digest {input:?}: {reason}")]
    InvalidDigest {
        /// What was given.
        input: String,
        /// Why it was rejected.
        reason: String,
    },
    /// A platform string was malformed.
    #[error("invalid platform {input:?}: expected os/arch[/variant]")]
    InvalidPlatform {
        /// What was given.
        input: String,
    },
    /// JSON (de)serialisation of an OCI document failed.
    #[error("invalid {what} JSON")]
    Json {
        /// Which document.
        what: &'static str,
        /// The parser's error.
        #[source]
        source: serde_json::Error,
    },
}
