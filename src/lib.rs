//! agentmux: a supervisor and role agents in tmux panes write and review a software design.
//!
//! See `ARCHITECTURE.md`-style overview in the README. Module map:
//! - [`cli`]: clap definitions; [`commands`]: one function per command.
//! - [`config`]: layered YAML config; [`paths`]: the on-disk layout; [`protocol`]: typed messages.
//! - [`journal`]: append-only session journal and state fold; [`workflow`]: the pure state machine.
//! - [`supervisor`]: the loop that drives a session; [`agent`]: the stateless worker of a pane.
//! - [`llm`]: OpenAI-compatible client and the local model; [`mux`]: tmux behind a trait.
//! - [`transport`]: task/result files; [`artifacts`]: templates, validators, deliverables.
//! - [`roles`]: role prompt files; [`dashboard`]: the supervisor pane's live view.

pub mod agent;
pub mod artifacts;
pub mod cli;
pub mod commands;
pub mod config;
pub mod dashboard;
pub mod error;
pub mod fsutil;
pub mod journal;
pub mod llm;
pub mod localtime;
pub mod logging;
pub mod mux;
pub mod paths;
pub mod protocol;
pub mod roles;
pub mod supervisor;
pub mod transport;
pub mod workflow;

pub use error::{Error, Result};

/// Runs a parsed command line; returns the process exit code on success.
pub fn run(cli: cli::Cli) -> Result<u8> {
    commands::dispatch(cli)
}
