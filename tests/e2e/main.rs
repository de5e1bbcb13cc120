//! End-to-end tests: they run the real `hoist` binary on fixtures and check the results
//! with real tools (skopeo, umoci) and the OCI JSON schemas.

mod harness;

mod build;
mod errors;
mod interop;
mod ops;
mod plugins;
mod registry;
mod run;
mod schema;
mod store;
