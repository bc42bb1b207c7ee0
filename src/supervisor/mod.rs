//! The supervisor: the one stateful process of a session (see `run`).

pub mod agents;
pub mod control;
pub mod deliverables;
pub mod dispatch;
pub mod host;
pub mod notify;
pub mod results;
pub mod run;
pub mod session;
pub mod store;
pub mod view;
