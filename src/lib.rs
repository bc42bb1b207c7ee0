//! agentmux, the binary: the CLI and everything with effects. The pure parts live in the
//! workspace's crates (`protocol`, `docs`, `workflow`) and the effects this crate does not own
//! directly behind theirs (`llm`, `tmux`, `fsutil`). Module map:
//! - [`cli`]: clap definitions; [`commands`]: one function per command.
//! - [`config`]: the layered YAML loader; [`paths`]: the on-disk layout.
//! - [`journal`]: the append-only session journal (its state fold is `workflow::state`).
//! - [`supervisor`]: the loop that drives a session; [`agent`]: the stateless worker of a pane.
//! - [`transport`]: task/result files; [`intake`]: the PRD and the codebase digest.
//! - [`dashboard`]: the supervisor pane's live view.

pub mod agent;
pub mod cli;
pub mod commands;
pub mod config;
pub mod dashboard;
pub mod intake;
pub mod journal;
pub mod localtime;
pub mod logging;
pub mod paths;
pub mod roles;
pub mod runtime;
pub mod supervisor;
pub mod transport;
pub mod tty;

pub use protocol::error::{Error, Result};

/// Runs a parsed command line; returns the process exit code on success.
pub fn run(cli: cli::Cli) -> Result<u8> {
    commands::dispatch(cli)
}
