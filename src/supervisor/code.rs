//! The project's code as the prompts see it: the index of crate `repo`, built once per supervisor
//! process (on a thread the supervisor starts, from the cache under `.agentmux/index/`), and the
//! context pack each task's prompt gets from it.
//!
//! Which tasks get a pack, and how large: with a capable model every task, the size of a quarter
//! of the room its prompt has (at most [`MAX_PACK_TOKENS`]); with the bundled model only the
//! architect's drafts of the proposal and the design documents, at [`LOCAL_PACK_TOKENS`] (its
//! window is small and every token it reads costs the demo time). The query is the session's
//! inputs (goal, journey, PRD) plus the stage's subject (the options document for the proposal,
//! the accepted proposal from the design documents on, a design document's scope), so that every
//! task of a stage reads the same excerpts (a prefix cache serves them), while the proposal and
//! each design document read the code their subject names.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};
use std::thread::JoinHandle;

use protocol::{Stage, TaskKind};
use repo::index::Index;

/// The largest pack a capable model's prompt gets.
pub(crate) const MAX_PACK_TOKENS: u32 = 16_000;

/// The pack of the bundled model's proposal and design-document drafts.
pub(crate) const LOCAL_PACK_TOKENS: u32 = 500;

/// The index: started on a thread by the supervisor ([`CodeIndex::start`]) and joined on first
/// use, or built then when nobody started it. A command that loads the session context only for
/// its plan (`feedback`, `approve` without a running supervisor) never indexes the repository.
pub(crate) struct CodeIndex {
    source: Mutex<Source>,
    index: OnceLock<Option<Index>>,
}

/// Where the index comes from, until it is there.
enum Source {
    /// What to index: the project, the cache directory and the deny list.
    Idle(PathBuf, PathBuf, Vec<String>),
    Building(JoinHandle<Option<Index>>),
    Taken,
}

impl std::fmt::Debug for CodeIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CodeIndex")
    }
}

impl CodeIndex {
    /// The index of `project_dir` (what the repository policy allows, `deny` refused too), with
    /// the cache in `cache_dir`; nothing is read yet.
    pub(crate) fn new(project_dir: &Path, cache_dir: PathBuf, deny: Vec<String>) -> Self {
        Self {
            source: Mutex::new(Source::Idle(project_dir.to_owned(), cache_dir, deny)),
            index: OnceLock::new(),
        }
    }

    /// Starts building the index on a thread, so that it is ready by the first prompt.
    pub(crate) fn start(&self) {
        let mut source = self.source.lock().unwrap_or_else(|p| p.into_inner());
        if let Source::Idle(dir, cache, deny) = std::mem::replace(&mut *source, Source::Taken) {
            let (d, c, x) = (dir.clone(), cache.clone(), deny.clone());
            *source = match std::thread::Builder::new()
                .name("code-index".into())
                .spawn(move || build(&d, &c, x))
            {
                Ok(handle) => Source::Building(handle),
                // No thread: the first use builds it.
                Err(_) => Source::Idle(dir, cache, deny),
            };
        }
    }

    fn get(&self) -> Option<&Index> {
        self.index
            .get_or_init(|| {
                let source = std::mem::replace(
                    &mut *self.source.lock().unwrap_or_else(|p| p.into_inner()),
                    Source::Taken,
                );
                match source {
                    Source::Idle(dir, cache, deny) => build(&dir, &cache, deny),
                    Source::Building(h) => h.join().ok().flatten(),
                    Source::Taken => None,
                }
            })
            .as_ref()
    }

    /// The pack for `query` within `budget_tokens`, rendered; empty when the project has no code
    /// the index could read (a greenfield project) or no excerpt matches. `summary`: with the
    /// repository's structural summary first; without it (the bundled model, whose prompt has the
    /// digest and only a few hundred tokens for code) the budget goes to excerpts alone, taken in
    /// rank order as long as each fits.
    /// Excerpts of `skip` (the PRD file, relative to the project: the prompt has it whole
    /// already) are left out.
    pub(crate) fn pack(
        &self,
        query: &str,
        budget_tokens: u32,
        summary: bool,
        skip: Option<&str>,
    ) -> String {
        let Some(index) = self.get() else {
            return String::new();
        };
        let keep = |e: &repo::index::Excerpt| skip != Some(e.path.as_str());
        if summary {
            let mut pack = index.pack(query, budget_tokens as usize);
            pack.excerpts.retain(keep);
            return if pack.excerpts.is_empty() {
                String::new()
            } else {
                pack.render()
            };
        }
        // The ranking of a pack a few times the size, then the excerpts that fit, in order.
        let ranked = index.pack(query, budget_tokens as usize * 4);
        let mut room = budget_tokens as usize * 4;
        let mut out = Vec::new();
        for e in ranked.excerpts.iter().filter(|e| keep(e)) {
            let text = e.render();
            if text.len() < room {
                room -= text.len() + 1;
                out.push(text);
            }
        }
        out.join("\n")
    }
}

fn build(project_dir: &Path, cache_dir: &Path, deny: Vec<String>) -> Option<Index> {
    let policy = repo::Policy {
        deny,
        ..repo::Policy::default()
    };
    let repo = match repo::Repo::open(project_dir, policy) {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!("the code index is not built: {e}");
            return None;
        }
    };
    match Index::build_or_update(&repo, cache_dir) {
        Ok((index, stats)) => {
            tracing::info!("code index: {stats}");
            Some(index)
        }
        Err(e) => {
            tracing::warn!("the code index is not built: {e}");
            None
        }
    }
}

/// How many tokens of code a task's prompt gets (0: none), given the room its prompt has.
pub(crate) fn pack_tokens(stage: Stage, kind: &TaskKind, local: bool, user_tokens: u32) -> u32 {
    if local {
        let drafts = matches!(
            (stage, kind.base()),
            (Stage::Proposal, TaskKind::Draft) | (Stage::DesignDocs, TaskKind::DesignDoc { .. })
        );
        return if drafts { LOCAL_PACK_TOKENS } else { 0 };
    }
    if matches!(kind.base(), TaskKind::Summarize) {
        return 0;
    }
    (user_tokens / 4).min(MAX_PACK_TOKENS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capable_models_get_a_quarter_of_the_room_and_the_bundled_one_only_its_drafts() {
        let doc = TaskKind::DesignDoc {
            file: "a_design.md".into(),
        };
        assert_eq!(
            pack_tokens(Stage::Options, &TaskKind::Review, false, 100_000),
            16_000
        );
        assert_eq!(
            pack_tokens(Stage::Options, &TaskKind::Draft, false, 6_000),
            1_500
        );
        assert_eq!(
            pack_tokens(Stage::Intake, &TaskKind::Summarize, false, 100_000),
            0
        );
        assert_eq!(
            pack_tokens(Stage::Proposal, &TaskKind::Draft, true, 3_000),
            LOCAL_PACK_TOKENS
        );
        assert_eq!(
            pack_tokens(Stage::DesignDocs, &doc, true, 3_000),
            LOCAL_PACK_TOKENS
        );
        let repair = TaskKind::Repair { of: Box::new(doc) };
        assert_eq!(
            pack_tokens(Stage::DesignDocs, &repair, true, 3_000),
            LOCAL_PACK_TOKENS
        );
        assert_eq!(
            pack_tokens(Stage::Proposal, &TaskKind::Review, true, 3_000),
            0
        );
        assert_eq!(
            pack_tokens(Stage::Options, &TaskKind::Draft, true, 3_000),
            0
        );
    }

    #[test]
    fn a_project_without_code_gets_no_pack() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("notes.txt"), "").unwrap();
        let code = CodeIndex::new(dir.path(), dir.path().join(".agentmux/index"), vec![]);
        assert_eq!(code.pack("reading time", 1_000, true, None), "");
        assert_eq!(code.pack("reading time", 1_000, false, None), "");
    }

    /// The bundled model's pack is small; it still holds `read_time`, the function that computes a
    /// reading time, which the readtime PRD is about.
    #[test]
    fn the_local_pack_of_the_readtime_prd_holds_the_reading_time_function() {
        let root =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("crates/repo/tests/fixtures/readtime");
        let cache = tempfile::tempdir().unwrap();
        let code = CodeIndex::new(&root, cache.path().join("index"), vec![]);
        // Made but not started (a control command's session context): nothing is indexed.
        std::thread::sleep(std::time::Duration::from_millis(50));
        assert!(!cache.path().join("index").exists());
        code.start();
        let prd = include_str!("../../tests/fixtures/prd/readtime.md");
        let pack = code.pack(prd, LOCAL_PACK_TOKENS, false, None);
        assert!(
            pack.contains("readtime/utils.py:") && pack.contains("def read_time("),
            "{pack}"
        );
        assert!(
            protocol::estimate_tokens(&pack) <= LOCAL_PACK_TOKENS,
            "{pack}"
        );
    }
}
