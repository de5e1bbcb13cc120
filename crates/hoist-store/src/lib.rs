//! hoist-store (skeleton, being written).
