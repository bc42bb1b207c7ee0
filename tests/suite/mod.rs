//! Integration suites. Each file is one area; shared helpers live in `support`.

mod cli;
mod dashboard;
mod logs;
pub mod support;
