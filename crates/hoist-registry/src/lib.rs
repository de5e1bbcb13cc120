//! hoist-registry: an async OCI distribution client.
//!
//! [`Client`] speaks the distribution API with streaming blob transfers, `/v2/` pings,
//! Basic and Bearer auth (token GET and OAuth2 POST flows, token cache, scope
//! escalation), retries with backoff on 408/429/5xx and broken connections, resumable
//! downloads, chunked and monolithic uploads, and cross-repository mounts. Credentials
//! come from a [`CredentialProvider`], e.g. [`DockerConfigCredentials`]. Bytes cross the
//! API as `AsyncRead`/`AsyncWrite`, never as whole layers in memory.
#![deny(missing_docs)]

mod auth;
mod blob;
mod challenge;
mod client;
mod cred_helper;
mod credential;
mod docker_config;
mod error;
mod error_code;
mod limits;
mod list;
mod manifest;
mod options;
mod progress;
mod retry;
mod token;
mod transport;
mod upload;

pub use auth::AuthScheme;
pub use challenge::{Challenge, parse_challenges};
pub use client::Client;
pub use credential::{BoxFuture, Credential, CredentialProvider, StaticCredentials};
pub use docker_config::{
    DOCKER_HUB_AUTH_KEY, DockerConfigCredentials, default_config_path, normalize_registry_key,
    remove_login, save_login,
};
pub use error::{ApiErrorEntry, ErrorCode, Operation, RegistryError, parse_error_body};
pub use limits::{EffectiveLimits, LimitsProvider, TransferLimits};
pub use manifest::{Manifest, ManifestHead};
pub use options::ClientOptions;
pub use progress::{BlobAction, NoProgress, Progress};
pub use token::CLIENT_ID;
pub use upload::BlobPush;
