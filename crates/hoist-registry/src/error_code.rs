//! The distribution spec's error codes and error-body parsing.

use std::fmt;

use serde::Deserialize;

/// The error codes of the OCI distribution spec, kept typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErrorCode {
    /// `UNAUTHORIZED`: authentication required.
    Unauthorized,
    /// `DENIED`: access to the resource is denied.
    Denied,
    /// `NAME_UNKNOWN`: repository name not known to the registry.
    NameUnknown,
    /// `NAME_INVALID`: invalid repository name.
    NameInvalid,
    /// `MANIFEST_UNKNOWN`: manifest unknown.
    ManifestUnknown,
    /// `MANIFEST_INVALID`: manifest invalid.
    ManifestInvalid,
    /// `MANIFEST_BLOB_UNKNOWN`: a blob the manifest references is unknown.
    ManifestBlobUnknown,
    /// `BLOB_UNKNOWN`: blob unknown to the registry.
    BlobUnknown,
    /// `BLOB_UPLOAD_UNKNOWN`: upload session unknown.
    BlobUploadUnknown,
    /// `BLOB_UPLOAD_INVALID`: upload session invalid.
    BlobUploadInvalid,
    /// `DIGEST_INVALID`: the content does not match the digest.
    DigestInvalid,
    /// `SIZE_INVALID`: the content does not match the length.
    SizeInvalid,
    /// `TAG_INVALID`: the tag in the manifest does not match the URL.
    TagInvalid,
    /// `TOOMANYREQUESTS`: rate limited.
    TooManyRequests,
    /// `UNSUPPORTED`: the operation is unsupported (e.g. deletes disabled).
    Unsupported,
    /// Any other code, kept verbatim.
    Other(String),
}

impl ErrorCode {
    /// Maps a code string from an error body.
    pub fn parse(s: &str) -> Self {
        match s {
            "UNAUTHORIZED" => Self::Unauthorized,
            "DENIED" => Self::Denied,
            "NAME_UNKNOWN" => Self::NameUnknown,
            "NAME_INVALID" => Self::NameInvalid,
            "MANIFEST_UNKNOWN" => Self::ManifestUnknown,
            "MANIFEST_INVALID" => Self::ManifestInvalid,
            "MANIFEST_BLOB_UNKNOWN" => Self::ManifestBlobUnknown,
            "BLOB_UNKNOWN" => Self::BlobUnknown,
            "BLOB_UPLOAD_UNKNOWN" => Self::BlobUploadUnknown,
            "BLOB_UPLOAD_INVALID" => Self::BlobUploadInvalid,
            "DIGEST_INVALID" => Self::DigestInvalid,
            "SIZE_INVALID" => Self::SizeInvalid,
            "TAG_INVALID" => Self::TagInvalid,
            "TOOMANYREQUESTS" => Self::TooManyRequests,
            "UNSUPPORTED" => Self::Unsupported,
            other => Self::Other(other.to_string()),
        }
    }

    /// The code as the spec spells it.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Unauthorized => "UNAUTHORIZED",
            Self::Denied => "DENIED",
            Self::NameUnknown => "NAME_UNKNOWN",
            Self::NameInvalid => "NAME_INVALID",
            Self::ManifestUnknown => "MANIFEST_UNKNOWN",
            Self::ManifestInvalid => "MANIFEST_INVALID",
            Self::ManifestBlobUnknown => "MANIFEST_BLOB_UNKNOWN",
            Self::BlobUnknown => "BLOB_UNKNOWN",
            Self::BlobUploadUnknown => "BLOB_UPLOAD_UNKNOWN",
            Self::BlobUploadInvalid => "BLOB_UPLOAD_INVALID",
            Self::DigestInvalid => "DIGEST_INVALID",
            Self::SizeInvalid => "SIZE_INVALID",
            Self::TagInvalid => "TAG_INVALID",
            Self::TooManyRequests => "TOOMANYREQUESTS",
            Self::Unsupported => "UNSUPPORTED",
            Self::Other(s) => s,
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One entry of a distribution error body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiErrorEntry {
    /// The typed code.
    pub code: ErrorCode,
    /// The human message (may be empty).
    pub message: String,
    /// The `detail` member rendered as JSON text, when present.
    pub detail: Option<String>,
}

#[derive(Deserialize)]
struct Body {
    #[serde(default)]
    errors: Vec<BodyEntry>,
}

#[derive(Deserialize)]
struct BodyEntry {
    #[serde(default)]
    code: String,
    #[serde(default)]
    message: String,
    #[serde(default)]
    detail: Option<serde_json::Value>,
}

/// Parses `{"errors":[{"code","message","detail"}]}`; an unparsable body gives no entries.
pub fn parse_error_body(body: &[u8]) -> Vec<ApiErrorEntry> {
    match serde_json::from_slice::<Body>(body) {
        Ok(b) => b
            .errors
            .into_iter()
            .map(|e| ApiErrorEntry {
                code: ErrorCode::parse(&e.code),
                message: e.message,
                detail: e.detail.filter(|d| !d.is_null()).map(|d| d.to_string()),
            })
            .collect(),
        Err(_) => Vec::new(), // not a distribution error body (e.g. an HTML proxy page)
    }
}
