//! The session's artifact store: every intermediate document, by stage, name and revision,
//! under `<session>/artifacts/`. Files are written atomically before the journal records them,
//! so a recorded revision always has its files.

use std::path::PathBuf;
use std::sync::Arc;

use serde_json::Value;

use crate::error::{Error, Result};
use crate::fsutil::Deferred;
use crate::journal::SessionState;
use crate::protocol::Stage;

#[derive(Clone, Debug)]
pub struct Store {
    pub dir: PathBuf,
    /// The session's files written since the last journal sync (see [`Deferred`]).
    deferred: Arc<Deferred>,
}

impl Store {
    pub fn new(dir: PathBuf) -> Self {
        Self {
            dir,
            deferred: Arc::default(),
        }
    }

    /// Files written unsynced, to be synced before the journal that records them.
    pub fn deferred(&self) -> &Deferred {
        &self.deferred
    }

    fn base(&self, stage: Stage, name: &str, rev: u32) -> PathBuf {
        self.dir.join(stage.as_str()).join(format!("{name}.r{rev}"))
    }

    pub fn md_path(&self, stage: Stage, name: &str, rev: u32) -> PathBuf {
        self.base(stage, name, rev)
            .with_extension(format!("r{rev}.md"))
    }

    pub fn json_path(&self, stage: Stage, name: &str, rev: u32) -> PathBuf {
        self.base(stage, name, rev)
            .with_extension(format!("r{rev}.json"))
    }

    /// Saves one revision (markdown and, for structured documents, its JSON).
    pub fn save(
        &self,
        stage: Stage,
        name: &str,
        rev: u32,
        md: &str,
        json: Option<&Value>,
    ) -> Result<()> {
        if let Some(j) = json {
            let bytes =
                serde_json::to_vec_pretty(j).map_err(|e| Error::Other(format!("internal: {e}")))?;
            self.deferred
                .write(&self.json_path(stage, name, rev), &bytes)?;
        }
        self.deferred
            .write(&self.md_path(stage, name, rev), md.as_bytes())
    }

    /// The latest accepted markdown of an artifact.
    pub fn latest_md(&self, state: &SessionState, stage: Stage, name: &str) -> Option<String> {
        let rev = state.artifact_revision(stage, name)?;
        std::fs::read_to_string(self.md_path(stage, name, rev)).ok()
    }

    /// The latest accepted JSON of an artifact.
    pub fn latest_json(&self, state: &SessionState, stage: Stage, name: &str) -> Option<Value> {
        let rev = state.artifact_revision(stage, name)?;
        let bytes = std::fs::read(self.json_path(stage, name, rev)).ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    /// An input snapshot taken at session start (PRD, digest): `artifacts/intake/<name>`.
    pub fn input_path(&self, name: &str) -> PathBuf {
        self.dir.join("intake").join(name)
    }

    pub fn read_input(&self, name: &str) -> Option<String> {
        std::fs::read_to_string(self.input_path(name)).ok()
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
}
