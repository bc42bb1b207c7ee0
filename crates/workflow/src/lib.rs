//! The design workflow, pure: the state fold of the journal ([`state`]), the state machine that
//! decides the next tasks ([`machine`]), the feedback ledger ([`ledger`]), the role definitions
//! ([`roles`]), every prompt ([`prompts`]) and the PRD items a manifest must trace ([`trace`]).
//! Depends on `protocol` and `docs`; reads no file, starts no process.

// A dependency no code uses is an error (dev-dependencies are checked by the test builds' use).
#![cfg_attr(not(test), deny(unused_crate_dependencies))]

pub mod ledger;
pub mod machine;
pub mod prompts;
pub mod roles;
pub mod state;
pub mod trace;

#[cfg(test)]
mod diagram_prompt_tests;
