//! Requests from short-lived commands to the running supervisor: pause, stop, human feedback,
//! gate approval. A command writes `control/<time>-<kind>.json` atomically; the supervisor
//! (the journal's single writer) applies it, journals the outcome and deletes the file. When no
//! supervisor runs, the command takes the session lock and applies the request itself.
//!
//! Both go through [`apply`], which lives here rather than in the supervisor loop so that a
//! command and the loop share one meaning of each request without the command reaching into
//! the loop.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::journal::{Journal, SessionState};
use crate::paths::SessionPaths;
use osutil::{read_json, write_json_atomic};
use protocol::error::{Error, Result};
use protocol::{Category, Event, FeedbackItem, SessionStatus, Stage};
use workflow::machine::Plan;

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

/// Applies one request to a session's journal (by the supervisor, or by a command holding the
/// lock when no supervisor runs). Returns a message for the user.
pub(crate) fn apply(
    plan: &Plan,
    state: &mut SessionState,
    journal: &mut Journal,
    req: &ControlRequest,
) -> Result<Option<String>> {
    match req {
        ControlRequest::Pause { reason } => {
            if state.status() == SessionStatus::Running {
                let reason = reason.clone();
                record(state, journal, Event::Paused { reason })?;
            }
            Ok(None)
        }
        ControlRequest::Stop => {
            if state.status().is_unfinished() {
                record(state, journal, Event::Stopped)?;
            }
            Ok(None)
        }
        ControlRequest::Approve { option } => approve(state, journal, option.as_ref()),
        ControlRequest::Feedback {
            request_id,
            text,
            category,
            section,
        } => record_feedback(plan, state, journal, request_id, *category, section, text),
    }
}

/// Journals an event for a request and folds it into the state. Each record is synced at once:
/// right after, the supervisor deletes the request file, or a command reports it as applied.
fn record(state: &mut SessionState, journal: &mut Journal, event: Event) -> Result<()> {
    let rec = journal.append(event)?;
    state.apply(&rec);
    Ok(())
}

/// Approves the gate that waits, selecting `option` first at the options gate.
fn approve(
    state: &mut SessionState,
    journal: &mut Journal,
    option: Option<&String>,
) -> Result<Option<String>> {
    let Some(stage) = state.gate_waiting else {
        return Ok(Some(
            "no gate is waiting for approval; nothing to approve".into(),
        ));
    };
    if stage == Stage::Options
        && let Some(o) = option
    {
        let selected = Event::OptionSelected {
            option: o.clone(),
            by: "human".into(),
        };
        record(state, journal, selected)?;
    }
    let approved = Event::GateApproved {
        stage,
        option: option.cloned(),
    };
    record(state, journal, approved)?;
    Ok(Some(format!("approved the {stage}")))
}

/// Records a human feedback item in the review stage it belongs to. A request applied twice (a
/// supervisor killed before it deleted the file) is recorded once: its item id carries the
/// request id.
fn record_feedback(
    plan: &Plan,
    state: &mut SessionState,
    journal: &mut Journal,
    request_id: &str,
    category: Category,
    section: &str,
    text: &str,
) -> Result<Option<String>> {
    let suffix = format!("-HU-{request_id}");
    if state.items.iter().any(|i| i.item.id.ends_with(&suffix)) {
        return Ok(None);
    }
    let Some(stage) = plan.human_feedback_stage(state) else {
        return Ok(Some(
            "no review stage is left in this session; the feedback was not recorded".into(),
        ));
    };
    let round = state
        .stage_items(stage)
        .map(|i| i.item.round)
        .max()
        .unwrap_or(1);
    let item = FeedbackItem {
        id: format!(
            "{}{suffix}",
            crate::supervisor::update::item_code(state, stage)
        ),
        author: "human".into(),
        stage,
        round,
        category,
        section: section.to_string(),
        comment: text.to_string(),
        suggestion: None,
    };
    let id = item.id.clone();
    record(state, journal, Event::FeedbackRecorded { item })?;
    Ok(Some(format!(
        "recorded {id} ({category}) for the {stage} review",
        category = Category::as_str(category)
    )))
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
