//! Integration suites. Each file is one area; shared helpers live in `support`.

mod cli;
mod llm;
pub mod support;
