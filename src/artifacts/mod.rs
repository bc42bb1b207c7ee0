//! Artifacts: the documents a session produces, and the deterministic checks they must pass.
pub mod validate;
