//! The design workflow: a pure state machine ([`machine`]) plus the content it asks for.

pub mod machine;
