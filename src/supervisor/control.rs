//! Requests from short-lived commands to the running supervisor: pause, stop, human feedback,
//! gate approval. A command writes `control/<time>-<kind>.json` atomically; the supervisor
//! (the journal's single writer) applies it, journals the outcome and deletes the file. When no
//! supervisor runs, the command takes the session lock and applies the request itself.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::paths::SessionPaths;
use osutil::{read_json, write_json_atomic};
use protocol::error::{Error, Result};

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(crate) enum ControlRequest {
    Pause {
        reason: String,
    },
    Stop,
    Feedback {
        request_id: String,
        text: String,
        category: protocol::Category,
        section: String,
    },
    Approve {
        option: Option<String>,
    },
}

impl ControlRequest {
    fn kind(&self) -> &'static str {
        match self {
            ControlRequest::Pause { .. } => "pause",
            ControlRequest::Stop => "stop",
            ControlRequest::Feedback { .. } => "feedback",
            ControlRequest::Approve { .. } => "approve",
        }
    }
}

/// Writes a request for the supervisor.
pub(crate) fn submit(paths: &SessionPaths, req: &ControlRequest) -> Result<PathBuf> {
    let dir = paths.control();
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    let nanos = jiff::Timestamp::now().as_nanosecond();
    let path = dir.join(format!("{nanos:024}-{}.json", req.kind()));
    write_json_atomic(&path, req)?;
    Ok(path)
}

/// Pending requests, oldest first. Unreadable files are reported and removed.
pub(crate) fn pending(paths: &SessionPaths) -> Vec<(PathBuf, ControlRequest)> {
    let Ok(rd) = std::fs::read_dir(paths.control()) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = rd
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .filter(|p| {
            !p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with('.'))
        })
        .collect();
    files.sort();
    let mut out = Vec::new();
    for f in files {
        match read_json::<ControlRequest>(&f) {
            Ok(r) => out.push((f, r)),
            Err(e) => {
                tracing::warn!("ignoring an unreadable control request: {e}");
                let _ = std::fs::remove_file(&f);
            }
        }
    }
    out
}

/// Marks a request as applied.
pub(crate) fn done(path: &std::path::Path) {
    let _ = std::fs::remove_file(path);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_round_trip_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let paths = SessionPaths::new(dir.path().to_path_buf());
        submit(
            &paths,
            &ControlRequest::Approve {
                option: Some("B".into()),
            },
        )
        .unwrap();
        submit(
            &paths,
            &ControlRequest::Pause {
                reason: "user".into(),
            },
        )
        .unwrap();
        let p = pending(&paths);
        assert_eq!(p.len(), 2);
        assert_eq!(
            p[0].1,
            ControlRequest::Approve {
                option: Some("B".into())
            }
        );
        done(&p[0].0);
        assert_eq!(pending(&paths).len(), 1);
    }
}
