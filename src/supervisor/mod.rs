//! The supervisor: the one stateful process of a session (see `run`).

pub(crate) mod agents;
pub(crate) mod code;
mod collect;
pub(crate) mod control;
pub(crate) mod deliverables;
pub(crate) mod dispatch;
pub(crate) mod host;
mod limits;
pub(crate) mod notify;
mod open;
pub(crate) mod pane;
pub(crate) mod results;
pub(crate) mod run;
pub(crate) mod session;
pub(crate) mod store;
pub(crate) mod update;
pub(crate) mod view;
mod wait;
