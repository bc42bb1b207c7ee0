//! Where things live: the project's `.agentmux/` directory and one session's directory.
//!
//! ```text
//! .agentmux/
//!   config.yaml  specs/  agents/  templates/          (project, committed)
//!   options.md  design_proposal.md  implementation_plan.md  feedback.md  feedback.json
//!   sessions/<id>/                                    (state, git-ignored)
//!     journal.jsonl  session.lock
//!     tasks/<task-id>.json  results/<task-id>.json    (the transport)
//!     control/<n>-<kind>.json                         (CLI -> supervisor requests)
//!     artifacts/                                      (every intermediate document)
//!     agents/<role>/transcript.log  agents/<role>/heartbeat
//!     logs/                                           (tracing logs per process)
//! ```

use std::path::{Path, PathBuf};

use crate::config::Config;

/// The project's agentmux paths, resolved against the project directory.
#[derive(Clone, Debug)]
pub(crate) struct ProjectPaths {
    pub project_dir: PathBuf,
    pub root: PathBuf,
    pub specs: PathBuf,
    pub sessions: PathBuf,
    pub agents: PathBuf,
    pub templates: PathBuf,
}

impl ProjectPaths {
    pub(crate) fn new(project_dir: &Path, config: &Config) -> Self {
        let p = &config.paths;
        Self {
            project_dir: project_dir.to_owned(),
            root: project_dir.join(&p.root),
            specs: project_dir.join(&p.specs),
            sessions: project_dir.join(&p.sessions),
            agents: project_dir.join(&p.agents),
            templates: project_dir.join(&p.templates),
        }
    }

    pub(crate) fn session(&self, id: &str) -> SessionPaths {
        SessionPaths::new(self.sessions.join(id))
    }

    /// The project's name: the directory's file name, as a tmux-safe slug.
    pub(crate) fn project_name(&self) -> String {
        let raw = self
            .project_dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "project".into());
        protocol::slug(&raw)
    }
}

/// One session's directory.
#[derive(Clone, Debug)]
pub struct SessionPaths {
    pub dir: PathBuf,
}

impl SessionPaths {
    pub fn new(dir: PathBuf) -> Self {
        Self { dir }
    }
    pub fn journal(&self) -> PathBuf {
        self.dir.join("journal.jsonl")
    }
    pub fn lock(&self) -> PathBuf {
        self.dir.join("session.lock")
    }
    pub fn tasks(&self) -> PathBuf {
        self.dir.join("tasks")
    }
    pub fn results(&self) -> PathBuf {
        self.dir.join("results")
    }
    pub fn task(&self, id: &str) -> PathBuf {
        self.tasks().join(format!("{id}.json"))
    }
    pub fn result(&self, id: &str) -> PathBuf {
        self.results().join(format!("{id}.json"))
    }
    pub fn control(&self) -> PathBuf {
        self.dir.join("control")
    }
    pub fn artifacts(&self) -> PathBuf {
        self.dir.join("artifacts")
    }
    pub fn agent_dir(&self, role: &str) -> PathBuf {
        self.dir.join("agents").join(role)
    }
    pub fn transcript(&self, role: &str) -> PathBuf {
        self.agent_dir(role).join("transcript.log")
    }
    /// The model's replies as they streamed (`agentmux logs ROLE --raw`).
    pub fn raw_transcript(&self, role: &str) -> PathBuf {
        self.agent_dir(role).join("raw.log")
    }
    pub fn heartbeat(&self, role: &str) -> PathBuf {
        self.agent_dir(role).join("heartbeat")
    }
    /// A task's tool record: the model's tool calls and the tools' results, one JSON line each
    /// (see `agent::tools`).
    pub fn tool_record(&self, id: &str) -> PathBuf {
        self.dir.join("tool-rounds").join(format!("{id}.jsonl"))
    }
    pub fn logs(&self) -> PathBuf {
        self.dir.join("logs")
    }
    /// Where task and result files are written before their rename into `tasks/` or `results/`:
    /// outside the watched directories, so a watcher sees one event per file (the rename), not
    /// the temp file's creation, writes and close as well.
    pub fn staging(&self) -> PathBuf {
        self.dir.join("tmp")
    }
    /// Creates every directory of the layout.
    pub fn create_all(&self) -> std::io::Result<()> {
        for d in [
            self.tasks(),
            self.results(),
            self.control(),
            self.artifacts(),
            self.logs(),
            self.staging(),
        ] {
            std::fs::create_dir_all(d)?;
        }
        Ok(())
    }
}
