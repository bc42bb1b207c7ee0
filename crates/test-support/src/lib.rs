//! Test helpers shared by agentmux's crates (a dev-dependency only): the recording fake
//! multiplexer, the fake OpenAI-compatible server, a scripted design team for it, fake Messages and Responses APIs for the coding-agent CLIs, a private tmux
//! server, a temporary project, and the one family of `wait_for` helpers.

// A dependency no code uses is an error (dev-dependencies are checked by the test builds' use).
#![cfg_attr(not(test), deny(unused_crate_dependencies))]
// A helper that cannot do its job fails the test that called it, loudly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod design_team;
pub mod fake_agent_apis;
pub mod fake_mux;
pub mod fake_openai;
pub mod project;
pub mod tmux_server;
pub mod wait;
