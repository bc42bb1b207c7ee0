//! Integration suites. Each file is one area; shared helpers live in `support`.

mod cli;
pub mod support;
mod validate;
mod validate_props;
