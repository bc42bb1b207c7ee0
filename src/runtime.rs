//! `<session dir>/runtime.json`: where a running session lives right now (tmux server and session,
//! pane ids, the local model's URL, the supervisor's pid).
//!
//! Written atomically by whoever opens the tmux session, read by `attach`, `stop`, the agents (for
//! the local model URL) and the supervisor. It describes processes, not progress: the journal is
//! the session's state, and a stale `runtime.json` after a crash is harmless (every reader checks
//! that the tmux session still exists).

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::paths::SessionPaths;
use osutil::{json_bytes, read_json, write_atomic_unsynced, write_json_atomic};
use protocol::error::{Error, Result};
use tmux::Tmux;

/// The contents of `runtime.json`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct SessionRuntime {
    /// The private tmux server (`tmux -L NAME`), or None for the user's default server.
    #[serde(default)]
    pub tmux_socket: Option<String>,
    /// The tmux session name.
    pub tmux_session: String,
    /// Pane ids by key: `supervisor`, a role name, or `model`.
    #[serde(default)]
    pub panes: BTreeMap<String, String>,
    /// The local llama-server's OpenAI-compatible base URL, when the local model is used.
    #[serde(default)]
    pub local_llm_url: Option<String>,
    #[serde(default)]
    pub supervisor_pid: Option<u32>,
}

impl SessionRuntime {
    /// The file's path.
    pub fn path(paths: &SessionPaths) -> PathBuf {
        paths.dir.join("runtime.json")
    }

    /// Reads `runtime.json`; None when the session was never opened in tmux.
    pub fn load(paths: &SessionPaths) -> Result<Option<Self>> {
        let path = Self::path(paths);
        match std::fs::metadata(&path) {
            Ok(_) => read_json(&path).map(Some),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::io(&path, e)),
        }
    }

    /// Writes `runtime.json` atomically.
    pub fn save(&self, paths: &SessionPaths) -> Result<()> {
        write_json_atomic(&Self::path(paths), self)
    }

    /// [`save`](Self::save) without waiting for the disk: for the first write before the panes
    /// open, which a synced [`save`](Self::save) with the pane ids follows at once.
    pub fn save_unsynced(&self, paths: &SessionPaths) -> Result<()> {
        let path = Self::path(paths);
        write_atomic_unsynced(&path, &json_bytes(&path, self)?)
    }

    /// The tmux server this session runs on.
    pub fn tmux(&self) -> Tmux {
        Tmux::new(self.tmux_socket.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn save_then_load_round_trips_and_absent_is_none() {
        let dir = tempfile::tempdir().unwrap();
        let paths = SessionPaths::new(dir.path().join("s1"));
        assert_eq!(SessionRuntime::load(&paths).unwrap(), None);
        let rt = SessionRuntime {
            tmux_socket: Some("agentmux-x".into()),
            tmux_session: "agentmux-p-1".into(),
            panes: [("supervisor".to_string(), "%0".to_string())].into(),
            local_llm_url: Some("http://127.0.0.1:8080/v1".into()),
            supervisor_pid: Some(42),
        };
        rt.save(&paths).unwrap();
        assert_eq!(SessionRuntime::load(&paths).unwrap(), Some(rt));
    }

    #[test]
    fn a_corrupt_file_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let paths = SessionPaths::new(dir.path().to_path_buf());
        std::fs::write(SessionRuntime::path(&paths), "{\"tmux_sess").unwrap();
        let err = SessionRuntime::load(&paths).unwrap_err().to_string();
        assert!(err.contains("runtime.json"), "{err}");
    }
}
