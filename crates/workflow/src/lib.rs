//! The design workflow, pure: the state fold of the journal ([`state`]), the state machine that
//! decides the next tasks ([`machine`]), the feedback ledger ([`ledger`]), the role definitions
//! ([`roles`]), every prompt ([`prompts`]) and the PRD items a manifest must trace ([`trace`]).
//! Depends on `protocol` and `docs`; reads no file, starts no process.

pub mod ledger;
pub mod machine;
pub mod prompts;
pub mod roles;
pub mod state;
pub mod trace;
