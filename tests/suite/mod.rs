//! Integration suites. Each file is one area; shared helpers live in `support`.

mod agent;
mod bench_context;
mod bench_session;
mod bench_tmux;
mod citations;
mod cli;
mod context;
mod dashboard;
mod diagrams;
mod grounding;
mod llm;
mod local_model;
mod local_session;
mod logs;
mod model_rule;
mod parts;
mod profile;
mod recovery;
mod reliability;
mod seed_coverage;
mod session;
pub(crate) mod support;
mod tmux;
mod update;
mod validate;
mod validate_props;
mod workspace;
