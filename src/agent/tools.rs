//! The tools an agent offers its model, and each task's tool record.
//!
//! A task the supervisor marked for tools (its role's model calls tools, see
//! `llm::profile::task_tools`) runs through `LlmClient::chat_with_tools` when the agent has
//! tools to offer. Which tools those are is a [`ToolSource`]: the repository tools in production,
//! a fake in tests.
//!
//! The record: every model answer with tool calls and every tool result is appended to
//! `tool-rounds/<task-id>.jsonl` in the session directory the moment it exists, one
//! [`ToolRecord`] per line, by the one agent running the task. A task started again (the agent
//! was killed, the session resumed) reads it back and continues the conversation from there, so
//! no answered request is sent twice. Lines are appended without fsync, like result files: a
//! killed process loses nothing (the page cache survives it); a lost machine may lose the last
//! records, which only costs requests sent again. An unreadable line (a write torn by a crash)
//! is skipped, and `protocol::tool_rounds` ends the conversation at any gap, so a damaged record
//! never produces a wrong conversation. The record stays after the task: it is what the model
//! read.

use std::fmt::Debug;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::Value;

use crate::paths::SessionPaths;
use llm::ToolExecutor;
use protocol::error::{Error, Result};
use protocol::{Task, ToolRecord};

/// Where an agent's tools come from.
pub(crate) trait ToolSource: Send + Sync + Debug {
    /// The tools for `task` (called only for a task with `tools` set); None: nothing to offer,
    /// the task runs as one plain request.
    fn tools_for(&self, task: &Task) -> Option<TaskToolBox>;
}

/// The tools of one task: their OpenAI definitions and what runs them.
pub(crate) struct TaskToolBox {
    pub(crate) definitions: Vec<Value>,
    pub(crate) executor: Arc<dyn ToolExecutor>,
}

/// The repository tools of the project at `project_dir` (crate `repo`: list, read, search,
/// outline), refusing what `deny` names besides the built-in secret patterns. Each task gets a
/// `ToolBox` of its own, so the per-task budget of calls and bytes is the task's.
pub(crate) fn repository_tools(project_dir: &Path, deny: &[String]) -> Arc<dyn ToolSource> {
    Arc::new(RepoTools {
        project_dir: project_dir.to_owned(),
        deny: deny.to_vec(),
    })
}

/// The repository tools.
#[derive(Debug)]
struct RepoTools {
    project_dir: PathBuf,
    deny: Vec<String>,
}

impl ToolSource for RepoTools {
    fn tools_for(&self, task: &Task) -> Option<TaskToolBox> {
        let policy = repo::Policy {
            deny: self.deny.clone(),
            ..repo::Policy::default()
        };
        let repo = match repo::Repo::open(&self.project_dir, policy) {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!("{}: no repository tools for this task: {e}", task.id);
                return None;
            }
        };
        let definitions = match repo::ToolBox::definitions() {
            Value::Array(d) => d,
            _ => return None,
        };
        Some(TaskToolBox {
            definitions,
            executor: Arc::new(RepoExecutor(std::sync::Mutex::new(repo::ToolBox::new(
                repo,
                repo::Budget::default(),
            )))),
        })
    }
}

/// One task's `ToolBox`, behind a lock: the tool loop calls from the blocking pool.
struct RepoExecutor(std::sync::Mutex<repo::ToolBox>);

impl ToolExecutor for RepoExecutor {
    fn call(&self, name: &str, arguments: &str) -> llm::ToolOutcome {
        let mut tools = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let o = tools.call(name, arguments);
        llm::ToolOutcome {
            content: o.content,
            is_error: o.is_error,
            summary: o.summary,
        }
    }
}

/// A task's tool record: the records of earlier runs, and appends for this one.
pub(crate) struct ToolLog {
    path: PathBuf,
    file: Option<std::fs::File>,
}

impl ToolLog {
    /// Opens the record of `task_id` (creating its directory); returns it with the records
    /// already there, in order, unreadable lines skipped.
    pub(crate) fn open(paths: &SessionPaths, task_id: &str) -> Result<(ToolLog, Vec<ToolRecord>)> {
        let path = paths.tool_record(task_id);
        let mut records = Vec::new();
        let mut text = String::new();
        match std::fs::File::open(&path) {
            Ok(mut f) => {
                f.read_to_string(&mut text)
                    .map_err(|e| Error::io(&path, e))?;
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::io(&path, e)),
        }
        for (n, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            match serde_json::from_str::<ToolRecord>(line) {
                Ok(r) => records.push(r),
                Err(e) => tracing::warn!(
                    "{}:{}: skipped an unreadable tool record ({e})",
                    path.display(),
                    n + 1
                ),
            }
        }
        Ok((ToolLog { path, file: None }, records))
    }

    /// Appends one record as one line.
    pub(crate) fn append(&mut self, record: &ToolRecord) -> Result<()> {
        let mut line = serde_json::to_vec(record)
            .map_err(|e| Error::Other(format!("cannot encode a tool record: {e}")))?;
        line.push(b'\n');
        let path = self.path.clone();
        let file = match &mut self.file {
            Some(f) => f,
            None => self.file.insert(open_for_append(&path)?),
        };
        file.write_all(&line).map_err(|e| Error::io(&path, e))
    }
}

/// Opens `path` for appending; a last line left unterminated (torn by a crash) is ended first,
/// so the next record is a line of its own.
fn open_for_append(path: &Path) -> Result<std::fs::File> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .read(true)
        .append(true)
        .open(path)
        .map_err(|e| Error::io(path, e))?;
    let len = f.metadata().map_err(|e| Error::io(path, e))?.len();
    if len > 0 {
        let mut last = [0u8];
        f.seek(SeekFrom::Start(len - 1))
            .and_then(|_| f.read_exact(&mut last))
            .map_err(|e| Error::io(path, e))?;
        if last[0] != b'\n' {
            f.write_all(b"\n").map_err(|e| Error::io(path, e))?;
        }
    }
    Ok(f)
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::{ToolCall, ToolResult, Usage};

    fn calls() -> ToolRecord {
        ToolRecord::Calls {
            round: 1,
            text: String::new(),
            calls: vec![ToolCall {
                id: "c".into(),
                name: "read_file".into(),
                arguments: "{}".into(),
            }],
            usage: Usage::default(),
            model: "m".into(),
            retries: 0,
        }
    }

    fn result() -> ToolRecord {
        ToolRecord::Result {
            round: 1,
            result: ToolResult {
                call_id: "c".into(),
                content: "x".into(),
                is_error: false,
                summary: String::new(),
            },
        }
    }

    #[test]
    fn records_are_read_back_in_order_and_a_torn_line_is_skipped_and_ended() {
        let dir = tempfile::tempdir().unwrap();
        let paths = SessionPaths::new(dir.path().to_owned());
        let (mut log, none) = ToolLog::open(&paths, "t.a1").unwrap();
        assert!(none.is_empty());
        assert!(
            !paths.tool_record("t.a1").exists(),
            "created on the first append"
        );
        log.append(&calls()).unwrap();
        // A crash in the middle of the next write.
        let path = paths.tool_record("t.a1");
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        f.write_all(br#"{"type":"result","rou"#).unwrap();
        drop(f);
        let (mut log, records) = ToolLog::open(&paths, "t.a1").unwrap();
        assert_eq!(records, [calls()]);
        log.append(&result()).unwrap();
        let (_, records) = ToolLog::open(&paths, "t.a1").unwrap();
        assert_eq!(records, [calls(), result()]);
    }
}
