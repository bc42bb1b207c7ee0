//! The session's artifact store: every intermediate document, by stage, name and revision,
//! under `<session>/artifacts/`. Files are written atomically before the journal records them,
//! so a recorded revision always has its files.
//!
//! A revision's files never change once written, nor do the session's inputs, so the store keeps
//! what it wrote or read in memory: building a prompt reads the PRD, the digest and the latest
//! documents again for every task, on the path between a result and the next request, and from
//! memory those reads open no file.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde_json::Value;

use crate::journal::SessionState;
use osutil::Deferred;
use protocol::Stage;
use protocol::error::{Error, Result};

#[derive(Clone, Debug)]
pub(crate) struct Store {
    pub dir: PathBuf,
    /// The session's files written since the last journal sync (see [`Deferred`]).
    deferred: Arc<Deferred>,
    /// Contents of the files written or read so far, by path.
    cache: Arc<Mutex<Cache>>,
}

#[derive(Debug, Default)]
struct Cache {
    text: HashMap<PathBuf, String>,
    json: HashMap<PathBuf, Value>,
}

impl Store {
    pub(crate) fn new(dir: PathBuf) -> Self {
        Self {
            dir,
            deferred: Arc::default(),
            cache: Arc::default(),
        }
    }

    /// Files written unsynced, to be synced before the journal that records them.
    pub(crate) fn deferred(&self) -> &Deferred {
        &self.deferred
    }

    fn base(&self, stage: Stage, name: &str, rev: u32) -> PathBuf {
        self.dir.join(stage.as_str()).join(format!("{name}.r{rev}"))
    }

    pub(crate) fn md_path(&self, stage: Stage, name: &str, rev: u32) -> PathBuf {
        self.base(stage, name, rev)
            .with_extension(format!("r{rev}.md"))
    }

    pub(crate) fn json_path(&self, stage: Stage, name: &str, rev: u32) -> PathBuf {
        self.base(stage, name, rev)
            .with_extension(format!("r{rev}.json"))
    }

    /// Saves one revision (markdown and, for structured documents, its JSON): kept in memory at
    /// once, and handed to `write` as (path, bytes) to put on disk. The supervisor passes its
    /// journal writer, which writes them off the path to the next request, before any record
    /// appended after this call.
    pub(crate) fn save(
        &self,
        stage: Stage,
        name: &str,
        rev: u32,
        md: &str,
        json: Option<&Value>,
        write: &mut dyn FnMut(PathBuf, Vec<u8>) -> Result<()>,
    ) -> Result<()> {
        if let Some(j) = json {
            let bytes =
                serde_json::to_vec_pretty(j).map_err(|e| Error::Other(format!("internal: {e}")))?;
            let path = self.json_path(stage, name, rev);
            self.cache().json.insert(path.clone(), j.clone());
            write(path, bytes)?;
        }
        let path = self.md_path(stage, name, rev);
        self.cache().text.insert(path.clone(), md.to_string());
        write(path, md.as_bytes().to_vec())
    }

    /// One revision's markdown.
    pub(crate) fn md(&self, stage: Stage, name: &str, rev: u32) -> Option<String> {
        self.text(&self.md_path(stage, name, rev))
    }

    /// One revision's JSON.
    pub(crate) fn json(&self, stage: Stage, name: &str, rev: u32) -> Option<Value> {
        let path = self.json_path(stage, name, rev);
        if let Some(v) = self.cache().json.get(&path) {
            return Some(v.clone());
        }
        let bytes = std::fs::read(&path).ok()?;
        let v: Value = serde_json::from_slice(&bytes).ok()?;
        self.cache().json.insert(path, v.clone());
        Some(v)
    }

    /// The latest accepted markdown of an artifact.
    pub(crate) fn latest_md(
        &self,
        state: &SessionState,
        stage: Stage,
        name: &str,
    ) -> Option<String> {
        self.md(stage, name, state.artifact_revision(stage, name)?)
    }

    /// The latest accepted JSON of an artifact.
    pub(crate) fn latest_json(
        &self,
        state: &SessionState,
        stage: Stage,
        name: &str,
    ) -> Option<Value> {
        self.json(stage, name, state.artifact_revision(stage, name)?)
    }

    /// An input snapshot taken at session start (PRD, digest): `artifacts/intake/<name>`.
    pub(crate) fn input_path(&self, name: &str) -> PathBuf {
        self.dir.join("intake").join(name)
    }

    pub(crate) fn read_input(&self, name: &str) -> Option<String> {
        self.text(&self.input_path(name))
    }

    /// A file that never changes once it exists, from memory after the first read. A missing
    /// file is not remembered: it may be written later.
    fn text(&self, path: &Path) -> Option<String> {
        if let Some(t) = self.cache().text.get(path) {
            return Some(t.clone());
        }
        let t = std::fs::read_to_string(path).ok()?;
        self.cache()
            .text
            .insert(path.to_path_buf(), t.as_str().into());
        Some(t)
    }

    fn cache(&self) -> std::sync::MutexGuard<'_, Cache> {
        self.cache.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_carry_stage_name_and_revision() {
        let s = Store::new(PathBuf::from("/a"));
        assert_eq!(
            s.md_path(Stage::Options, "options", 2),
            PathBuf::from("/a/options/options.r2.md")
        );
        assert_eq!(
            s.json_path(Stage::DesignDocs, "api_design", 1),
            PathBuf::from("/a/design_docs/api_design.r1.json")
        );
    }

    #[test]
    fn saved_revisions_and_inputs_are_read_back_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path().to_path_buf());
        std::fs::create_dir_all(dir.path().join("options")).unwrap();
        std::fs::create_dir_all(dir.path().join("intake")).unwrap();
        let mut state = SessionState::default();
        assert_eq!(store.latest_md(&state, Stage::Options, "options"), None);
        let doc = serde_json::json!({"title": "Options"});
        let mut written = Vec::new();
        store
            .save(
                Stage::Options,
                "options",
                1,
                "# Options\n",
                Some(&doc),
                &mut |path, bytes| {
                    written.push(path.clone());
                    osutil::write_atomic(&path, &bytes)
                },
            )
            .unwrap();
        assert_eq!(
            written,
            [
                store.json_path(Stage::Options, "options", 1),
                store.md_path(Stage::Options, "options", 1)
            ]
        );
        state
            .artifacts
            .insert((Stage::Options, "options".into()), 1);
        // What was saved is on disk, and read back the same, from disk or memory.
        let md_path = store.md_path(Stage::Options, "options", 1);
        assert_eq!(std::fs::read_to_string(&md_path).unwrap(), "# Options\n");
        assert_eq!(
            store
                .latest_md(&state, Stage::Options, "options")
                .as_deref(),
            Some("# Options\n")
        );
        assert_eq!(
            store.latest_json(&state, Stage::Options, "options"),
            Some(doc.clone())
        );
        // A fresh store (a resumed supervisor) reads the same from disk.
        let fresh = Store::new(dir.path().to_path_buf());
        assert_eq!(
            fresh.latest_json(&state, Stage::Options, "options"),
            Some(doc)
        );
        assert_eq!(
            fresh
                .latest_md(&state, Stage::Options, "options")
                .as_deref(),
            Some("# Options\n")
        );
        // An input that appears later is found then.
        assert_eq!(store.read_input("prd.md"), None);
        std::fs::write(store.input_path("prd.md"), "# PRD").unwrap();
        assert_eq!(store.read_input("prd.md").as_deref(), Some("# PRD"));
    }
}
