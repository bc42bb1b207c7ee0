//! A project's sessions, and which one a command means.
//!
//! A session is a directory under `sessions/` (hidden names aside); its state is its journal's
//! fold. A directory without a journal (a `start` killed before it wrote one) folds to the empty
//! state, which reads as failed, and counts as started before every other session.
//!
//! Every command that takes an optional SESSION resolves it with [`select`], one rule: the id
//! given (exactly a session's directory name), else the project's latest session, the one
//! started last (by its journal, then by id). That is what `--help` promises ("default: the
//! project's latest session"). `resume` alone defaults to the latest *unfinished* session
//! ([`latest_unfinished`]), as its help says; an id given to it is resolved by [`select`] too.

use crate::journal::{self, SessionState};
use crate::paths::ProjectPaths;
use protocol::error::{Error, Result};

/// A session on disk with its folded state.
pub(crate) struct SessionInfo {
    pub id: String,
    pub state: SessionState,
}

/// All sessions of the project, oldest first (by start, then id).
pub(crate) fn all(project: &ProjectPaths) -> Result<Vec<SessionInfo>> {
    let rd = match std::fs::read_dir(&project.sessions) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io(&project.sessions, e)),
    };
    let mut out = Vec::new();
    for e in rd.filter_map(|e| e.ok()) {
        let Ok(id) = e.file_name().into_string() else {
            continue;
        };
        if id.starts_with('.') || !e.path().is_dir() {
            continue;
        }
        out.push(load(project, id)?);
    }
    out.sort_by(|a, b| {
        a.state
            .started_at
            .cmp(&b.state.started_at)
            .then(a.id.cmp(&b.id))
    });
    Ok(out)
}

/// The session a command means: `id` when given, else the project's latest session. An error
/// that names the id and how to list the sessions when there is no such session.
pub(crate) fn select(project: &ProjectPaths, id: Option<&str>) -> Result<SessionInfo> {
    match id {
        Some(id) => named(project, id),
        None => all(project)?.pop().ok_or_else(|| {
            Error::NoSession(format!(
                "no session in {} yet; start one with `agentmux start --goal \"...\"`",
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

/// The session named `id`: a plain directory name under `sessions/` that exists.
fn named(project: &ProjectPaths, id: &str) -> Result<SessionInfo> {
    let plain = !id.is_empty() && !id.starts_with('.') && !id.contains(['/', '\\']);
    if !plain {
        return Err(Error::Usage(format!(
            "session `{id}`: a session id is a directory name under {}, e.g. 20261122-031500-ab12; \
             `agentmux list` shows the sessions",
            project.sessions.display()
        )));
    }
    if !project.sessions.join(id).is_dir() {
        return Err(Error::NoSession(format!(
            "no session `{id}` in {}; `agentmux list` shows the sessions",
            project.sessions.display()
        )));
    }
    load(project, id.to_string())
}

fn load(project: &ProjectPaths, id: String) -> Result<SessionInfo> {
    let journal = project.session(&id).journal();
    let state = if journal.is_file() {
        journal::load_state(&journal)?.0
    } else {
        SessionState::default()
    };
    Ok(SessionInfo { id, state })
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::time::{Duration, SystemTime};

    use super::*;
    use crate::config::Config;

    fn started(dir: &Path, at: &str) {
        std::fs::create_dir_all(dir).unwrap();
        let line = format!(
            r#"{{"seq":1,"at":"{at}","type":"session_started","session_id":"x","inputs":{{"project_dir":"/p","project_name":"p"}},"config":{{}}}}"#
        );
        std::fs::write(dir.join("journal.jsonl"), line + "\n").unwrap();
    }

    fn selected(paths: &ProjectPaths, id: Option<&str>) -> Result<String> {
        select(paths, id).map(|s| s.id)
    }

    #[test]
    fn the_latest_session_is_the_one_started_last_not_the_last_name_or_modified() {
        let dir = tempfile::tempdir().unwrap();
        let paths = ProjectPaths::new(dir.path(), &Config::default());
        let err = selected(&paths, None).unwrap_err().to_string();
        assert!(err.contains("agentmux start"), "{err}");
        started(&paths.sessions.join("zzz-old"), "2020-01-01T00:00:00Z");
        started(&paths.sessions.join("aaa-new"), "2020-06-01T00:00:00Z");
        // Neither the name nor the directory's modification time decides.
        let old = SystemTime::now() - Duration::from_secs(3600);
        std::fs::File::open(paths.sessions.join("aaa-new"))
            .unwrap()
            .set_modified(old)
            .unwrap();
        // A directory without a journal (a start that did not finish) counts as the oldest;
        // stray files and hidden directories are no sessions.
        std::fs::create_dir_all(paths.sessions.join("no-journal")).unwrap();
        std::fs::create_dir_all(paths.sessions.join(".hidden")).unwrap();
        std::fs::write(paths.sessions.join("stray-file"), "").unwrap();
        assert_eq!(selected(&paths, None).unwrap(), "aaa-new");
        let ids: Vec<String> = all(&paths).unwrap().into_iter().map(|s| s.id).collect();
        assert_eq!(ids, ["no-journal", "zzz-old", "aaa-new"]);
    }

    #[test]
    fn a_given_id_must_name_a_session_directory_exactly() {
        let dir = tempfile::tempdir().unwrap();
        let paths = ProjectPaths::new(dir.path(), &Config::default());
        started(
            &paths.sessions.join("20261122-031500-ab12"),
            "2020-01-01T00:00:00Z",
        );
        std::fs::create_dir_all(paths.sessions.join("no-journal")).unwrap();
        assert_eq!(
            selected(&paths, Some("20261122-031500-ab12")).unwrap(),
            "20261122-031500-ab12"
        );
        let s = select(&paths, Some("no-journal")).unwrap();
        assert!(!s.state.status().is_unfinished(), "never started");
        for bad in ["", ".", "..", "../x", "a/b", ".hidden"] {
            let err = select(&paths, Some(bad)).err().unwrap();
            assert!(matches!(err, Error::Usage(_)), "{bad}: {err}");
            assert!(err.to_string().contains("agentmux list"), "{err}");
        }
        for unknown in ["nope", "ab12"] {
            let err = select(&paths, Some(unknown)).err().unwrap();
            assert!(matches!(err, Error::NoSession(_)), "{unknown}: {err}");
            let msg = err.to_string();
            assert!(msg.contains(&format!("`{unknown}`")), "{msg}");
            assert!(msg.contains("agentmux list"), "{msg}");
        }
    }
}
