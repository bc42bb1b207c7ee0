//! The design workflow: the prompt built for each task and the intake of inputs.
//! (The state machine modules are added by the workflow branch.)

pub mod intake;
pub mod prompts;
