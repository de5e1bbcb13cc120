//! The build context: `.dockerignore` rules and COPY/ADD source selection with
//! Docker/BuildKit semantics.
//!
//! This crate only reads the filesystem (lstat, readdir, readlink); the builder turns
//! its [`CopyItem`]s into tar entries.
//!
//! - [`IgnoreMatcher`]: `.dockerignore` patterns (moby/patternmatcher rules: `**`,
//!   `!` exceptions with last-match-wins, parent-directory matches).
//! - [`Context`]: a context directory with its ignore file (`<Dockerfile>.dockerignore`
//!   preferred over `.dockerignore`).
//! - [`resolve_copy`]: the items a COPY/ADD of some sources to a destination produces.

mod context;
mod copy;
mod error;
mod glob;
mod ignore;

pub use context::Context;
pub use copy::{CopyItem, CopyRequest, ItemKind, resolve_copy};
pub use error::ContextError;
pub use ignore::IgnoreMatcher;
