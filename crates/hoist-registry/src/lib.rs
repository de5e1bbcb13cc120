//! hoist-registry (skeleton, being written).
