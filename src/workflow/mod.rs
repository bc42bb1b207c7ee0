//! The design workflow: the pure state machine ([`machine`]), the prompt built for each task
//! ([`prompts`]) and the intake of inputs ([`intake`]).

pub mod intake;
pub mod machine;
pub mod prompts;
