//! agentmux, the binary: the CLI and everything with effects. The pure parts live in the
//! workspace's crates (`protocol`, `docs`, `workflow`) and the effects this crate does not own
//! directly behind theirs (`llm`, `tmux`, `osutil`). Module map:
//! - [`cli`]: clap definitions; [`commands`]: one function per command.
//! - [`config`]: the layered YAML loader; [`paths`]: the on-disk layout.
//! - [`journal`]: the append-only session journal (its state fold is `workflow::state`).
//! - [`supervisor`]: the loop that drives a session; [`agent`]: the stateless worker of a pane.
//! - [`transport`]: task/result files; [`intake`]: the PRD and the codebase digest.
//! - [`baseline`]: the commit and cited files a session's specs are written against.
//! - [`dashboard`]: the supervisor pane's live view; [`report`]: `.agentmux/report.html`.

// A dependency no code uses is an error (dev-dependencies are checked by the test builds' use).
#![cfg_attr(not(test), deny(unused_crate_dependencies))]

mod agent;
mod baseline;
pub mod cli;
mod commands;
mod config;
mod dashboard;
mod intake;
mod journal;
mod localtime;
mod logging;
mod paths;
mod report;
mod roles;
mod runtime;
mod supervisor;
mod transport;
mod tty;

pub use protocol::error::{Error, Result};

// Below the CLI, what the integration tests (`tests/suite`) drive directly.
pub use dashboard::{AgentLive, AgentState, Live, draw};
pub use paths::SessionPaths;
pub use runtime::SessionRuntime;
pub use supervisor::agents::{AgentPool, DownReason};
pub use supervisor::pane::PaneCommand;
pub use transport::{DirWatcher, file_id, read_result, write_result, write_task};

/// Runs a parsed command line; returns the process exit code on success.
pub fn run(cli: cli::Cli) -> Result<u8> {
    commands::dispatch(cli)
}
