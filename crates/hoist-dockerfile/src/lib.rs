//! hoist-dockerfile (skeleton, being written).
