//! The configuration: the resolved types live in `protocol::config`; this module loads and merges
//! the layers (see [`load`] for the precedence).

pub(crate) mod load;

pub(crate) use load::{LoadOptions, Loaded};
pub(crate) use protocol::config::*;
