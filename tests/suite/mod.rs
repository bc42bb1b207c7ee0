//! Integration suites. Each file is one area; shared helpers live in `support`.

mod agent;
mod cli;
mod llm;
mod local_model;
pub mod support;
pub mod tmux;
