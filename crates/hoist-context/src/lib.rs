//! hoist-context (skeleton, being written).
