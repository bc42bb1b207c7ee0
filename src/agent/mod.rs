//! The role agent: a stateless worker in its own tmux pane.

pub mod heartbeat;
