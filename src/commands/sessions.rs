//! Finding a project's sessions and their state.

use crate::journal::{self, SessionState};
use crate::paths::ProjectPaths;
use protocol::error::{Error, Result};

/// A session on disk with its folded state.
pub(crate) struct SessionInfo {
    pub id: String,
    pub state: SessionState,
}

/// All sessions of the project, oldest first.
pub(crate) fn all(project: &ProjectPaths) -> Result<Vec<SessionInfo>> {
    let Ok(rd) = std::fs::read_dir(&project.sessions) else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for e in rd.filter_map(|e| e.ok()) {
        if !e.path().is_dir() {
            continue;
        }
        let id = e.file_name().to_string_lossy().into_owned();
        let paths = project.session(&id);
        if !paths.journal().is_file() {
            continue;
        }
        let (state, _) = journal::load_state(&paths.journal())?;
        out.push(SessionInfo { id, state });
    }
    out.sort_by(|a, b| {
        a.state
            .started_at
            .cmp(&b.state.started_at)
            .then(a.id.cmp(&b.id))
    });
    Ok(out)
}

/// The given session, or the latest one.
pub(crate) fn select(project: &ProjectPaths, id: Option<&str>) -> Result<SessionInfo> {
    let mut sessions = all(project)?;
    match id {
        Some(id) => {
            let pos = sessions
                .iter()
                .position(|s| s.id == id || s.id.ends_with(id))
                .ok_or_else(|| {
                    Error::NoSession(format!(
                        "no session `{id}` in {}; `agentmux list` shows the sessions",
                        project.sessions.display()
                    ))
                })?;
            Ok(sessions.swap_remove(pos))
        }
        None => sessions.pop().ok_or_else(|| {
            Error::NoSession(format!(
                "no session in {}; start one with `agentmux start --goal \"...\"`",
                project.project_dir.display()
            ))
        }),
    }
}

/// The latest unfinished (running, paused, stopped) session, if any.
pub(crate) fn latest_unfinished(project: &ProjectPaths) -> Result<Option<SessionInfo>> {
    Ok(all(project)?
        .into_iter()
        .rev()
        .find(|s| s.state.status().is_unfinished()))
}
