//! hoist-build (skeleton, being written).
