//! The role agent: a stateless worker in its own tmux pane.
//!
//! `agentmux agent --session ID --role ROLE` watches the session's `tasks/` for tasks of its role
//! that have no result yet, runs each against the LLM while streaming the tokens into its pane,
//! and writes `results/<id>.json`. It keeps no state of its own: a crashed agent is simply started
//! again and finds the same task files.

pub(crate) mod cli;
pub(crate) mod heartbeat;
mod pipe;
pub(crate) mod render;
mod stream_doc;
mod tools;
mod worker;

pub(crate) use tools::repository_tools;
pub(crate) use worker::{AgentOptions, run};
