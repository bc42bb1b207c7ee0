//! `.agentmux/report.html`: one self-contained page with everything a session produced.
//!
//! The documents with their Mermaid diagrams drawn, the feedback ledger as a filterable table,
//! the revision history, the traceability matrix (PRD item x design document, gaps marked) and
//! the session's figures (time, tokens, cost per stage and role). Written by `agentmux report`
//! and when a session ends (completed or failed). The page works offline and makes no network
//! request: the pinned Mermaid build is embedded ([`assets`]) and a Content-Security-Policy
//! forbids any other source. Everything a model wrote is escaped ([`html`]).
//!
//! This module gathers the data from the session's journal and the deliverables on disk;
//! [`html`] turns it into the page (pure, so tests render it without a session).

pub(crate) mod assets;
pub(crate) mod html;

use std::path::{Path, PathBuf};

use jiff::Timestamp;
use serde_json::Value;

use crate::journal::{self, SessionState};
use crate::paths::{ProjectPaths, SessionPaths};
use protocol::error::{Error, Result};
use protocol::{Event, Stage};

/// Where the report goes, in the project's `.agentmux/`.
pub(crate) fn path(project: &ProjectPaths) -> PathBuf {
    project.root.join("report.html")
}

/// One document of the report.
#[derive(Debug, Clone)]
pub(crate) struct Doc {
    pub title: String,
    /// The file, relative to the project.
    pub file: String,
    pub markdown: String,
}

/// The traceability matrix: PRD items x design documents.
#[derive(Debug, Clone, Default)]
pub(crate) struct Trace {
    /// (key, text) of every PRD item.
    pub items: Vec<(String, String)>,
    pub docs: Vec<String>,
    /// (item key, document) pairs the manifest traces.
    pub cells: Vec<(String, String)>,
    /// Keys of the items no document covers.
    pub gaps: Vec<String>,
}

/// Wall-clock time a stage took.
#[derive(Debug, Clone)]
pub(crate) struct StageTime {
    pub stage: Stage,
    pub secs: f64,
}

/// Everything the page shows.
pub(crate) struct Input<'a> {
    pub project_name: String,
    pub state: &'a SessionState,
    pub docs: Vec<Doc>,
    pub trace: Option<Trace>,
    pub stage_times: Vec<StageTime>,
    /// When the report was generated.
    pub generated: Timestamp,
}

/// Writes the report of `session` (temp file + rename); returns its path.
pub(crate) fn write(project: &ProjectPaths, session: &SessionPaths) -> Result<PathBuf> {
    let (records, _) = journal::read(&session.journal())?;
    let state = SessionState::fold(&records);
    let input = gather(project, &state, &records);
    let page = html::page(&input);
    let out = path(project);
    if let Some(dir) = out.parent() {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    osutil::write_atomic(&out, page.as_bytes())?;
    Ok(out)
}

/// Reads the deliverables and the journal's timings.
pub(crate) fn gather<'a>(
    project: &ProjectPaths,
    state: &'a SessionState,
    records: &[protocol::JournalRecord],
) -> Input<'a> {
    let manifest: Option<Value> = std::fs::read(project.specs.join("manifest.json"))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok());
    let mut docs = Vec::new();
    let mut add = |title: &str, path: PathBuf| {
        if let Ok(markdown) = std::fs::read_to_string(&path) {
            docs.push(Doc {
                title: title.to_string(),
                file: relative(&project.project_dir, &path),
                markdown,
            });
        }
    };
    add("Requirements (PRD)", project.specs.join("project.md"));
    add("Architecture options", project.root.join("options.md"));
    add("Design proposal", project.root.join("design_proposal.md"));
    for file in design_docs(manifest.as_ref(), state) {
        add(&file, project.specs.join(&file));
    }
    add(
        "Implementation plan",
        project.root.join("implementation_plan.md"),
    );
    let trace = manifest
        .as_ref()
        .and_then(|m| prd_text(project, state).map(|prd| trace(&prd, state, m)));
    Input {
        project_name: state.inputs.project_name.clone(),
        state,
        docs,
        trace,
        stage_times: stage_times(records),
        generated: Timestamp::now(),
    }
}

fn relative(root: &Path, path: &Path) -> String {
    path.strip_prefix(root)
        .unwrap_or(path)
        .display()
        .to_string()
}

/// The design documents, in the manifest's order (else the session's).
fn design_docs(manifest: Option<&Value>, state: &SessionState) -> Vec<String> {
    let listed = manifest
        .map(docs::outputs::selected_docs)
        .unwrap_or_default();
    if listed.is_empty() {
        state.design_docs.clone()
    } else {
        listed
    }
}

/// The PRD the session worked from: the generated one, else the one it was given.
fn prd_text(project: &ProjectPaths, state: &SessionState) -> Option<String> {
    std::fs::read_to_string(project.specs.join("project.md"))
        .ok()
        .or_else(|| {
            let p = state.inputs.prd_path.as_deref()?;
            std::fs::read_to_string(project.project_dir.join(p)).ok()
        })
}

/// The matrix from the manifest's `traceability` (keyed by item, or by document as other
/// seed-004 tools write it); the gaps are what the validators call uncovered.
pub(crate) fn trace(prd: &str, state: &SessionState, manifest: &Value) -> Trace {
    let journey = state.inputs.journey.as_deref();
    let items = workflow::trace::items(prd, journey);
    let gaps = workflow::trace::uncovered(prd, journey, manifest)
        .into_iter()
        .map(|u| u.key())
        .collect();
    let docs = design_docs(Some(manifest), state);
    let mut cells = Vec::new();
    if let Some(map) = manifest.get("traceability").and_then(Value::as_object) {
        for (k, v) in map {
            let listed = v.as_array().into_iter().flatten().filter_map(Value::as_str);
            for x in listed {
                if docs.iter().any(|d| d == k) {
                    cells.push((x.to_string(), k.clone()));
                } else {
                    cells.push((k.clone(), x.to_string()));
                }
            }
        }
    }
    Trace {
        items,
        docs,
        cells,
        gaps,
    }
}

/// How long each stage ran: from its `StageEntered` to the next stage or the end.
fn stage_times(records: &[protocol::JournalRecord]) -> Vec<StageTime> {
    let mut out: Vec<StageTime> = Vec::new();
    let mut open: Option<(Stage, Timestamp)> = None;
    let mut close = |open: &mut Option<(Stage, Timestamp)>, at: Timestamp| {
        if let Some((stage, from)) = open.take() {
            let secs = at.duration_since(from).as_secs_f64().max(0.0);
            match out.iter_mut().find(|t| t.stage == stage) {
                Some(t) => t.secs += secs,
                None => out.push(StageTime { stage, secs }),
            }
        }
    };
    for r in records {
        match &r.event {
            Event::StageEntered { stage } => {
                close(&mut open, r.at);
                open = Some((*stage, r.at));
            }
            Event::StageCompleted { .. } | Event::Completed | Event::Paused { .. } => {
                close(&mut open, r.at)
            }
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const PRD: &str = "# PRD\n\n## Objectives\n\n- **O1**: Shorten links.\n- **O2**: Count clicks.\n\n\
                       ## Functional Requirements\n\n- **FR-1**: Redirect in under 50 ms.\n";

    #[test]
    fn the_matrix_has_every_item_the_manifests_cells_in_both_forms_and_the_gaps() {
        let state = SessionState::default();
        // Keyed by item, as agentmux writes it.
        let by_item = json!({
            "selected_docs": ["api_design.md", "stats_design.md"],
            "traceability": {"O1": ["api_design.md"], "FR-1": ["api_design.md", "stats_design.md"]}
        });
        let t = trace(PRD, &state, &by_item);
        let keys: Vec<&str> = t.items.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["O1", "O2", "FR-1"]);
        assert_eq!(t.docs, ["api_design.md", "stats_design.md"]);
        assert_eq!(t.gaps, ["O2"]);
        assert!(t.cells.contains(&("FR-1".into(), "stats_design.md".into())));
        // Keyed by document, as other seed-004 tools write it: the same cells.
        let by_doc = json!({
            "selected_docs": ["api_design.md", "stats_design.md"],
            "traceability": {"api_design.md": ["O1", "FR-1"], "stats_design.md": ["FR-1"]}
        });
        let t2 = trace(PRD, &state, &by_doc);
        let mut a = t.cells.clone();
        let mut b = t2.cells.clone();
        a.sort();
        b.sort();
        assert_eq!(a, b);
        assert_eq!(t2.gaps, ["O2"]);

        let input = Input {
            project_name: "<p>".into(),
            state: &state,
            docs: vec![],
            trace: Some(t),
            stage_times: vec![],
            generated: Timestamp::UNIX_EPOCH,
        };
        let page = html::page(&input);
        assert!(page.contains("<title>agentmux report: &lt;p&gt;</title>"));
        assert!(
            page.contains("3 PRD items, 2 design documents, 1 gaps"),
            "matrix summary"
        );
        let gap_row = page
            .lines()
            .find(|l| l.contains("<strong>O2</strong>") || l.contains(">O2"))
            .expect("the O2 row");
        assert!(
            gap_row.contains("class=\"gap\"") && gap_row.contains("gap</td>"),
            "{gap_row}"
        );
    }

    #[test]
    fn stage_times_run_from_entering_a_stage_to_the_next_and_skip_paused_time() {
        let at = |s: i64| Timestamp::from_second(s).unwrap();
        let rec = |seq, s, event| protocol::JournalRecord {
            seq,
            at: at(s),
            event,
        };
        let records = vec![
            rec(
                1,
                0,
                Event::StageEntered {
                    stage: Stage::Options,
                },
            ),
            rec(2, 10, Event::Paused { reason: "x".into() }),
            rec(
                3,
                100,
                Event::StageEntered {
                    stage: Stage::Options,
                },
            ),
            rec(
                4,
                105,
                Event::StageCompleted {
                    stage: Stage::Options,
                },
            ),
            rec(
                5,
                105,
                Event::StageEntered {
                    stage: Stage::Proposal,
                },
            ),
            rec(6, 125, Event::Completed),
        ];
        let t = stage_times(&records);
        assert_eq!(t.len(), 2);
        assert_eq!((t[0].stage, t[0].secs), (Stage::Options, 15.0));
        assert_eq!((t[1].stage, t[1].secs), (Stage::Proposal, 20.0));
    }
}
