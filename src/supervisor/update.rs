//! Update sessions: a session in a project whose `specs/` already hold a valid design revises
//! that design instead of writing it again.
//!
//! `start` checks the specs (the same validators as `agentmux validate`) and snapshots them into
//! the session's intake (`artifacts/intake/baseline/`): the manifest, the design documents, the
//! proposal, the implementation plan and the feedback ledger. Everything the session does afterwards reads the snapshot,
//! never `specs/` itself, so a resumed session (after `kill -9`) sees the same baseline even
//! though it may already have written some of its documents. The architect's change proposal
//! (`TaskKind::Change`) names the documents to revise, add or retire; a revised document is the
//! snapshot with only the named sections replaced and revision rows appended
//! ([`docs::change::revise_markdown`]); untouched documents are never written.

use std::path::Path;

use serde_json::Value;

use crate::cli::StartArgs;
use crate::config::Config;
use crate::journal::SessionState;
use crate::paths::ProjectPaths;
use crate::supervisor::results::{ArtifactFile, Processed};
use crate::supervisor::session::{SessionContext, design_doc_name, stage_code};
use crate::supervisor::store::Store;
use docs::change::{Action, Change, add_to_plan, change_md, parse_change, revise_markdown};
use protocol::error::{Error, Result};
use protocol::{Event, RevisionEntry, Stage, UpdateOf};

/// The artifact name of the change proposal (under the design documents stage).
pub(crate) const CHANGE: &str = "change";
/// Where the baseline snapshot lives among the session's inputs.
const BASELINE: &str = "baseline";
const MANIFEST: &str = "manifest.json";
const PROPOSAL: &str = "design_proposal.md";
const FEEDBACK: &str = "feedback.json";
const PLAN: &str = "implementation_plan.md";

/// The specs a new update session starts from, read and checked, not yet written anywhere.
pub(crate) struct Baseline {
    pub of: UpdateOf,
    /// (file name in the snapshot, text).
    files: Vec<(String, String)>,
    /// The goal derived from drift, for `start --update` without a goal.
    pub derived_goal: Option<String>,
}

/// Decides whether `start` opens an update session: the specs exist (a manifest) and `--fresh`
/// was not given. The specs must pass the validators; otherwise the error names the files and
/// the two ways on (fix them, or `--fresh`), and nothing is written.
pub(crate) fn detect(
    cfg: &Config,
    project: &ProjectPaths,
    args: &StartArgs,
) -> Result<Option<Baseline>> {
    let manifest_path = project.specs.join(MANIFEST);
    if args.fresh {
        return Ok(None);
    }
    if !manifest_path.is_file() {
        if args.update {
            return Err(Error::Usage(format!(
                "there are no specs to update: {} does not exist; run `agentmux start --goal \"...\"` first",
                manifest_path.display()
            )));
        }
        return Ok(None);
    }
    let mut judged = cfg.clone();
    // A session's own specs pass whatever design_docs bounds it ran with.
    judged.workflow.design_docs.min = 1;
    judged.workflow.design_docs.max = judged
        .workflow
        .design_docs
        .max
        .max(docs::validate::DESIGN_DOCS_CEILING as u32);
    let report = docs::validate::validate_dir(&project.root, &judged);
    if !report.is_ok() {
        let mut files: Vec<String> = Vec::new();
        for f in &report.findings {
            let file = f.file.clone().unwrap_or_else(|| f.location.clone());
            if !files.contains(&file) {
                files.push(file);
            }
        }
        let listed: Vec<String> = report
            .findings
            .iter()
            .take(12)
            .map(|f| format!("  {f}"))
            .collect();
        return Err(Error::Usage(format!(
            "the existing specs in {} cannot be revised: {} is not valid:\n{}\n\
             Fix them (`agentmux validate` lists every problem) and run `agentmux start` again to revise them, \
             or run `agentmux start --fresh ...` to design again from scratch (the old design documents are \
             archived). Nothing was written.",
            project.specs.display(),
            files.join(", "),
            listed.join("\n")
        )));
    }
    let read = |p: &Path| std::fs::read_to_string(p).map_err(|e| Error::io(p, e));
    let manifest_text = read(&manifest_path)?;
    let manifest: Value = serde_json::from_str(&manifest_text).map_err(|e| Error::Input {
        path: manifest_path.clone(),
        message: format!("is not JSON: {e}"),
    })?;
    let documents = docs::outputs::selected_docs(&manifest);
    let mut files = vec![(MANIFEST.to_string(), manifest_text)];
    for d in &documents {
        files.push((d.clone(), read(&project.specs.join(d))?));
    }
    let proposal = project.root.join(PROPOSAL);
    if proposal.is_file() {
        files.push((PROPOSAL.into(), read(&proposal)?));
    }
    let plan = project.root.join(PLAN);
    if plan.is_file() {
        files.push((PLAN.into(), read(&plan)?));
    }
    let feedback = project.root.join(FEEDBACK);
    let mut earlier_sessions = Vec::new();
    if feedback.is_file() {
        let text = read(&feedback)?;
        if let Ok(v) = serde_json::from_str::<Value>(&text) {
            earlier_sessions = workflow::ledger::sessions_of(&v);
        }
        files.push((FEEDBACK.into(), text));
    }
    // In the manifest's order, once each.
    let mut drifted: Vec<String> = documents
        .iter()
        .filter(|d| {
            report
                .drift
                .iter()
                .filter_map(|f| f.file.as_deref())
                .any(|f| f.rsplit('/').next() == Some(d.as_str()))
        })
        .cloned()
        .collect();
    let no_goal = args.goal.as_deref().is_none_or(|g| g.trim().is_empty()) && args.prd.is_none();
    let derived_goal = if args.update && no_goal {
        if drifted.is_empty() {
            return Err(Error::Usage(
                "nothing to update: no code the design documents cite changed since the specs were written; \
                 give --goal \"...\" or --prd FILE to revise them for a change"
                    .into(),
            ));
        }
        Some(format!(
            "Bring the design documents in line with the code that changed under their citations: {}.",
            drifted.join(", ")
        ))
    } else {
        drifted.clear();
        None
    };
    Ok(Some(Baseline {
        of: UpdateOf {
            documents,
            earlier_sessions,
            drifted,
        },
        files,
        derived_goal,
    }))
}

/// Writes the baseline snapshot into a new session's inputs.
pub(crate) fn write(store: &Store, b: &Baseline) -> Result<()> {
    for (name, text) in &b.files {
        osutil::write_atomic(&store.input_path(&snapshot(name)), text.as_bytes())?;
    }
    Ok(())
}

fn snapshot(name: &str) -> String {
    format!("{BASELINE}/{name}")
}

/// A file of the baseline snapshot.
pub(crate) fn baseline_text(store: &Store, name: &str) -> Option<String> {
    store.read_input(&snapshot(name))
}

/// The baseline manifest.
pub(crate) fn baseline_manifest(store: &Store) -> Option<Value> {
    baseline_text(store, MANIFEST).and_then(|t| serde_json::from_str(&t).ok())
}

/// The earlier sessions' feedback ledger.
pub(crate) fn baseline_feedback(store: &Store) -> Option<Value> {
    baseline_text(store, FEEDBACK).and_then(|t| serde_json::from_str(&t).ok())
}

/// The proposal of the specs the session revises.
pub(crate) fn baseline_proposal(store: &Store) -> Option<String> {
    baseline_text(store, PROPOSAL)
}

/// What an update session's prompts read as the proposal: the baseline's proposal followed by
/// the accepted change proposal, so the design documents' authors and the final review's
/// reviewers judge the revisions against the change they carry out.
pub(crate) fn proposal_with_change(ctx: &SessionContext, state: &SessionState) -> Option<String> {
    state.inputs.update.as_ref()?;
    let change = ctx.store.latest_md(state, Stage::DesignDocs, CHANGE);
    match (baseline_proposal(&ctx.store), change) {
        (Some(p), Some(c)) => Some(format!(
            "{}

{c}",
            p.trim_end()
        )),
        (p, c) => p.or(c),
    }
}

/// The design documents of the baseline, with this session's latest revision of those it
/// rewrote (and the ones it added), in the baseline's order: what the change and the final
/// review read.
pub(crate) fn current_docs(ctx: &SessionContext, state: &SessionState) -> Vec<(String, String)> {
    let Some(up) = &state.inputs.update else {
        return Vec::new();
    };
    let retired = accepted_change(ctx, state)
        .map(|c| c.retired())
        .unwrap_or_default();
    let mut files: Vec<String> = up.documents.clone();
    for f in &state.design_docs {
        if !files.contains(f) {
            files.push(f.clone());
        }
    }
    files
        .into_iter()
        .filter(|f| !retired.contains(f))
        .filter_map(|f| {
            ctx.store
                .latest_md(state, Stage::DesignDocs, &design_doc_name(&f))
                .or_else(|| baseline_text(&ctx.store, &f))
                .map(|t| (f, t))
        })
        .collect()
}

/// The feedback item id prefix of `stage` in this session: `S2-DOC` in the second session of a
/// ledger, the bare stage code in a first session.
pub(crate) fn item_code(state: &SessionState, stage: Stage) -> String {
    let prefix = state
        .inputs
        .update
        .as_ref()
        .map(UpdateOf::item_prefix)
        .unwrap_or_default();
    format!("{prefix}{}", stage_code(stage))
}

/// The session's accepted change proposal, once there is one.
pub(crate) fn accepted_change(ctx: &SessionContext, state: &SessionState) -> Option<Change> {
    let json = ctx.store.latest_json(state, Stage::DesignDocs, CHANGE)?;
    serde_json::from_value(json).ok()
}

/// Accepts a change proposal: the artifact, and the documents the stage then writes.
pub(crate) fn accept_change(
    state: &SessionState,
    json: Option<&Value>,
) -> std::result::Result<Processed, Vec<String>> {
    let existing = baseline_documents(state);
    let Some(v) = json.filter(|v| v.is_object()) else {
        return Err(vec![
            "the reply is not a JSON object; return exactly one JSON object matching the schema"
                .into(),
        ]);
    };
    let change = parse_change(v, &existing)?;
    let json = serde_json::to_value(&change).ok();
    Ok(change_accepted(state, &change, json))
}

/// The documents the update started from (the specs' design documents).
fn baseline_documents(state: &SessionState) -> Vec<String> {
    state
        .inputs
        .update
        .as_ref()
        .map(|u| u.documents.clone())
        .unwrap_or_default()
}

/// The next revision of the change proposal (its Markdown and `json`), and the documents the
/// stage then writes.
fn change_accepted(state: &SessionState, change: &Change, json: Option<Value>) -> Processed {
    let goal = state.inputs.goal.clone().unwrap_or_default();
    let revision = state
        .artifact_revision(Stage::DesignDocs, CHANGE)
        .unwrap_or(0)
        + 1;
    let mut p = Processed::default();
    p.files.push(ArtifactFile {
        stage: Stage::DesignDocs,
        name: CHANGE.into(),
        revision,
        md: change_md(change, &goal),
        json,
    });
    p.events.push(Event::ArtifactAccepted {
        stage: Stage::DesignDocs,
        name: CHANGE.into(),
        revision,
    });
    p.events.push(Event::DesignDocsSelected {
        files: change.written(),
    });
    p
}

/// The change proposal as its integration reads it: the latest accepted JSON without the
/// revision log the supervisor keeps with it.
pub(crate) fn change_for_integration(ctx: &SessionContext, state: &SessionState) -> Value {
    let mut v = ctx
        .store
        .latest_json(state, Stage::DesignDocs, CHANGE)
        .unwrap_or(Value::Null);
    if let Some(o) = v.as_object_mut() {
        o.remove("revisions");
    }
    v
}

/// Accepts the architect's integration of the review items into the change proposal: the
/// changed fields merged into the current proposal, which must pass the same checks as the
/// first one ([`parse_change`]); `entry` joins the proposal's revision log. The documents the
/// stage writes follow the revised proposal.
pub(crate) fn revise_change(
    ctx: &SessionContext,
    state: &SessionState,
    patch: &Value,
    entry: &RevisionEntry,
) -> std::result::Result<Processed, Vec<String>> {
    let existing = baseline_documents(state);
    let current = ctx
        .store
        .latest_json(state, Stage::DesignDocs, CHANGE)
        .unwrap_or(Value::Object(Default::default()));
    let mut history: Vec<RevisionEntry> = current
        .get("revisions")
        .cloned()
        .and_then(|v| serde_json::from_value(v).ok())
        .unwrap_or_default();
    let mut revised = docs::outputs::apply_revision(&change_for_integration(ctx, state), patch);
    let mut change = parse_change(&revised, &existing).map_err(|f| {
        f.into_iter()
            .map(|f| format!("document: {f}"))
            .collect::<Vec<_>>()
    })?;
    history.push(entry.clone());
    change.revisions = history;
    revised = serde_json::to_value(&change).unwrap_or(revised);
    Ok(change_accepted(state, &change, Some(revised)))
}

/// The implementation plan after an update: the baseline's plan with the accepted change's
/// `plan_additions` as a new phase and a revision row ([`add_to_plan`]). None when the change
/// adds nothing to the plan or the specs had no plan (the plan on disk is then left alone).
pub(crate) fn plan(ctx: &SessionContext, state: &SessionState) -> Option<String> {
    state.inputs.update.as_ref()?;
    let change = accepted_change(ctx, state)?;
    let base = baseline_text(&ctx.store, PLAN)?;
    let phase = format!("Update {}", state.session_id);
    let entry = RevisionEntry {
        date: crate::supervisor::results::today(),
        feedback_from: vec![format!("update {}", state.session_id)],
        changes: vec![format!(
            "Step-by-Step Implementation Tasks: added the phase \"{phase}\" ({} tasks) from the change proposal",
            change.plan_additions.len()
        )],
        rationale: change.summary.clone(),
        acknowledgements: Vec::new(),
    };
    add_to_plan(&base, &change, &phase, &entry)
}

/// What a design document task of an update session is told about its document: the change
/// asked of it (its scope from the baseline manifest when it is revised).
pub(crate) fn doc_scope(ctx: &SessionContext, state: &SessionState, file: &str) -> Option<String> {
    let change = accepted_change(ctx, state)?;
    let c = change.find(file)?;
    Some(match c.action {
        Action::Add => format!("{} (new in this update: {})", c.scope, c.why),
        Action::Revise | Action::Retire => format!(
            "{} Revision for this update: rewrite the sections {} ({}); the other sections stay as they are",
            c.scope,
            c.sections.join(", "),
            c.why
        ),
    })
}

/// The current text of a design document the session's change revises (for its task's prompt).
pub(crate) fn revising(ctx: &SessionContext, state: &SessionState, file: &str) -> Option<String> {
    let change = accepted_change(ctx, state)?;
    change
        .find(file)
        .filter(|c| c.action == Action::Revise)
        .and_then(|_| baseline_text(&ctx.store, file))
}

/// A design document as an update session writes it: for a document the change revises, the
/// baseline's text with only the sections the change names (and those the session's
/// integrations changed since its draft) taken from `rendered`, and a revision row for the
/// update followed by the session's own revisions. Any other document is `rendered` as is.
pub(crate) fn in_place(
    ctx: &SessionContext,
    state: &SessionState,
    file: &str,
    doc: &Value,
    rendered: String,
    history: &[RevisionEntry],
) -> String {
    if state.inputs.update.is_none() {
        return rendered;
    }
    let Some(change) = accepted_change(ctx, state) else {
        return rendered;
    };
    let Some(c) = change.find(file).filter(|c| c.action == Action::Revise) else {
        return rendered;
    };
    let Some(old) = baseline_text(&ctx.store, file) else {
        return rendered;
    };
    let mut keys = c.sections.clone();
    if let Some(draft) = ctx.store.json(Stage::DesignDocs, &design_doc_name(file), 1) {
        for k in docs::markdown::changed_sections(docs::DocKind::DesignDoc, &draft, doc) {
            if !keys.contains(&k) {
                keys.push(k);
            }
        }
    }
    let mut rows = vec![RevisionEntry {
        date: crate::supervisor::results::today(),
        feedback_from: vec![format!("update {}", state.session_id)],
        changes: c
            .sections
            .iter()
            .map(|s| format!("{}: rewritten", section_title(s)))
            .collect(),
        rationale: c.why.clone(),
        acknowledgements: Vec::new(),
    }];
    rows.extend(history.iter().cloned());
    revise_markdown(&old, &rendered, &keys, &rows)
}

fn section_title(key: &str) -> String {
    docs::sections::sections()
        .find(docs::DocKind::DesignDoc, key)
        .map(|s| s.title.clone())
        .unwrap_or_else(|| key.to_string())
}

/// The manifest an update session writes: the baseline's with the change applied (the caller
/// records the baseline of citations afresh).
pub(crate) fn manifest(ctx: &SessionContext, state: &SessionState) -> Option<Value> {
    let base = baseline_manifest(&ctx.store)?;
    let change = accepted_change(ctx, state)?;
    Some(docs::change::apply_to_manifest(
        &base,
        &change,
        &ctx.session_id,
        &crate::supervisor::results::today(),
    ))
}

/// Moves the documents the change retires from `specs/` to `archive/<session>/` (again on a
/// resumed session: a document already moved is left alone).
pub(crate) fn retire(ctx: &SessionContext, state: &SessionState) -> Result<()> {
    let Some(change) = accepted_change(ctx, state) else {
        return Ok(());
    };
    for file in change.retired() {
        let from = ctx.project.specs.join(&file);
        if !from.is_file() {
            continue;
        }
        let dir = ctx.project.root.join("archive").join(&ctx.session_id);
        std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        std::fs::rename(&from, dir.join(&file)).map_err(|e| Error::io(&from, e))?;
    }
    Ok(())
}
