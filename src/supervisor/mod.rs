//! The supervisor: the one stateful process of a session.

pub mod agents;
