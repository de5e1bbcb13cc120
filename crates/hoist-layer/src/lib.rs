//! hoist-layer (skeleton, being written).
