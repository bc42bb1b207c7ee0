//! Which session a command means: the id given, else the project's most recent session.

use crate::paths::ProjectPaths;
use protocol::error::{Error, Result};

/// The session directory under `sessions/` modified most recently (its journal, tasks and
/// results change while it runs), by name.
pub(crate) fn latest_session_dir(paths: &ProjectPaths) -> Option<String> {
    let entries = std::fs::read_dir(&paths.sessions).ok()?;
    entries
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let meta = e.metadata().ok()?;
            if !meta.is_dir() {
                return None;
            }
            let name = e.file_name().to_str()?.to_string();
            if name.starts_with('.') {
                return None;
            }
            Some((meta.modified().ok()?, name))
        })
        .max()
        .map(|(_, name)| name)
}

/// `explicit` when it names an existing session, else the latest one; an error saying what to
/// do when there is none.
pub(crate) fn session_id(paths: &ProjectPaths, explicit: Option<&str>) -> Result<String> {
    match explicit {
        Some(id) => {
            let ok = !id.is_empty()
                && !id.starts_with('.')
                && !id.contains(['/', '\\'])
                && paths.sessions.join(id).is_dir();
            if ok {
                Ok(id.to_string())
            } else {
                Err(Error::NoSession(format!(
                    "no session `{id}` in {}; `agentmux list` shows the project's sessions",
                    paths.sessions.display()
                )))
            }
        }
        None => latest_session_dir(paths).ok_or_else(|| {
            Error::NoSession(format!(
                "no session in {} yet; start one with `agentmux start`",
                paths.project_dir.display()
            ))
        }),
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime};

    use super::*;
    use crate::config::Config;

    #[test]
    fn the_latest_modified_session_wins_and_explicit_ids_must_exist() {
        let dir = tempfile::tempdir().unwrap();
        let paths = ProjectPaths::new(dir.path(), &Config::default());
        assert_eq!(latest_session_dir(&paths), None);
        assert!(session_id(&paths, None).is_err());
        for id in ["b-old", "a-new"] {
            std::fs::create_dir_all(paths.sessions.join(id)).unwrap();
        }
        std::fs::write(paths.sessions.join("stray-file"), "").unwrap();
        let old = SystemTime::now() - Duration::from_secs(3600);
        std::fs::File::open(paths.sessions.join("b-old"))
            .unwrap()
            .set_modified(old)
            .unwrap();
        assert_eq!(latest_session_dir(&paths).as_deref(), Some("a-new"));
        assert_eq!(session_id(&paths, Some("b-old")).unwrap(), "b-old");
        let err = session_id(&paths, Some("../x")).unwrap_err().to_string();
        assert!(err.contains("agentmux list"), "{err}");
    }
}
