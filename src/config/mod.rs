//! The configuration: the resolved types live in `protocol::config`; this module loads and merges
//! the layers (see [`load`] for the precedence).

pub mod load;

pub use load::{LoadOptions, Loaded, Origin};
pub use protocol::config::*;
