//! Read-only access to the project's repository for the agents: a [`Repo`] that refuses every path
//! outside the project, ignored, secret-looking or binary, [`ToolBox`] tools a model calls (list,
//! read, search, outline) within per-call and per-task budgets, and an [`index::Index`] that ranks
//! symbol-sized excerpts into a context [`index::Pack`] for models without tools. Depends on no
//! other agentmux crate; no function here writes to the project (the index cache goes where the
//! caller says).
//!
//! Why a crate of its own: everything a model is shown of the user's code passes through here, so
//! the refusal rules live in one place ([`Repo::resolve`] for one path, the walk for many) and a
//! tool or the index cannot reach a file by another road.
//!
//! ```no_run
//! use std::path::Path;
//!
//! use repo::index::Index;
//! use repo::{Budget, Policy, Repo, ToolBox};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let repo = Repo::open(".", Policy::default())?;
//!
//! // A model that calls tools: offer the definitions, answer each call, show the summary line.
//! let definitions = ToolBox::definitions();
//! let mut tools = ToolBox::new(repo.clone(), Budget::default());
//! let outcome = tools.call("read_file", r#"{"path": "src/main.rs", "end_line": 40}"#);
//! println!("{} -> {}", outcome.summary, outcome.is_error);
//!
//! // Every model: a context pack for the stage, within its token budget.
//! let (index, stats) = Index::build_or_update(&repo, Path::new(".agentmux/index"))?;
//! println!("{stats}");
//! let pack = index.pack("the goal, the PRD or the stage's subject", 4_000);
//! print!("{}", pack.render());
//! # let _ = definitions;
//! # Ok(())
//! # }
//! ```

// A dependency no code uses is an error (dev-dependencies are checked by the test builds' use).
#![cfg_attr(not(test), deny(unused_crate_dependencies))]

mod error;
mod fmt;
mod ignores;
pub mod index;
mod lang;
mod lines;
pub mod outline;
mod policy;
mod repo;
mod tools;

pub use error::{BinaryKind, RepoError, Rule};
pub use lang::Language;
pub use policy::{IndexLimits, Policy, check_deny};
pub use repo::{FileEntry, LineRange, Repo, Resolved};
pub use tools::{Budget, ToolBox, ToolOutcome, Usage};

#[cfg(test)]
mod tests {
    /// The integrator runs tools and indexing on blocking threads and shares the index.
    #[test]
    fn the_public_types_cross_threads() {
        fn send_sync<T: Send + Sync>() {}
        send_sync::<super::Repo>();
        send_sync::<super::ToolBox>();
        send_sync::<super::index::Index>();
        send_sync::<super::index::Pack>();
    }
}
