//! Turning an agent's result into journal events: parse, render, validate, record.
//!
//! `process` is pure apart from reading accepted artifacts: it returns the artifact files to
//! write and the events to journal, or the validation findings that send the task back for
//! repair. The supervisor writes the files, then journals the events, then `TaskCompleted`.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::journal::SessionState;
use crate::supervisor::session::{SessionContext, design_doc_name, doc_name, role_code};
use crate::supervisor::update::item_code;
use docs::outputs::{
    IntegrationOutput, VerdictStatus, apply_revision, parse_integration, parse_rereview,
    parse_review,
};
use docs::render::{RenderMeta, render};
use docs::{DocKind, validate};
use protocol::{
    Category, Decision, Disposition, Event, FeedbackItem, ItemStatus, RevisionEntry, Stage,
    TaskKind,
};
use workflow::state::TaskRecord;

/// An artifact revision to write before journaling.
#[derive(Debug, Clone)]
pub(crate) struct ArtifactFile {
    pub stage: Stage,
    pub name: String,
    pub revision: u32,
    pub md: String,
    pub json: Option<Value>,
}

/// What a valid result produces.
#[derive(Debug, Default)]
pub(crate) struct Processed {
    pub files: Vec<ArtifactFile>,
    pub events: Vec<Event>,
}

/// The verdict on a result.
#[derive(Debug)]
pub(crate) enum Verdict {
    Accepted(Processed),
    /// Findings to send back to the author (a repair task).
    Invalid(Vec<String>),
}

/// Processes the completed output of `task`. `force`: accept even if invalid (the repair limit
/// was reached and `workflow.on_invalid` is `continue`); the problems are then recorded as a
/// critical item by the `validator` so the ledger lists them.
pub(crate) fn process(
    ctx: &SessionContext,
    state: &SessionState,
    rec: &TaskRecord,
    item_ids: &[String],
    text: &str,
    json: Option<&Value>,
    force: bool,
) -> Verdict {
    let base = rec.kind.base();
    match output(ctx, state, rec, base, item_ids, text, json) {
        Ok(p) => Verdict::Accepted(p),
        Err(findings) if force => Verdict::Accepted(accepted_although_invalid(
            state, rec, base, text, json, &findings,
        )),
        Err(findings) => Verdict::Invalid(findings),
    }
}

/// What a valid reply to a task of kind `base` produces, or the findings that make it invalid.
fn output(
    ctx: &SessionContext,
    state: &SessionState,
    rec: &TaskRecord,
    base: &TaskKind,
    item_ids: &[String],
    text: &str,
    json: Option<&Value>,
) -> Result<Processed, Vec<String>> {
    match base {
        TaskKind::Summarize => text_artifact(Stage::Intake, "prd_summary", text),
        TaskKind::Contribute => {
            text_artifact(Stage::Helpers, &format!("contribution-{}", rec.role), text)
        }
        TaskKind::Draft => draft(ctx, state, &Document::of_stage(rec.stage, "draft")?, json),
        TaskKind::DesignDoc { file } => draft(ctx, state, &Document::design_doc(file), json),
        TaskKind::Manifest => manifest(ctx, state, json),
        TaskKind::Change => crate::supervisor::update::accept_change(state, json),
        TaskKind::Review => review(state, rec, json),
        TaskKind::ReReview => rereview(state, rec, item_ids, json),
        TaskKind::Integrate if rec.stage == Stage::DesignDocs && state.inputs.update.is_some() => {
            integrate_change(ctx, state, rec, item_ids, json)
        }
        TaskKind::Integrate => {
            let doc = Document::of_stage(rec.stage, "integrate")?;
            integrate(ctx, state, rec, item_ids, &doc, json)
        }
        TaskKind::IntegrateDoc { file } => {
            integrate(ctx, state, rec, item_ids, &Document::design_doc(file), json)
        }
        TaskKind::Repair { .. } => Err(vec!["a repair of a repair is not a task".into()]),
    }
}

/// An invalid reply accepted as it is: the raw output is kept so nothing is lost, and a critical
/// item by the `validator` records the problems so the ledger lists them.
fn accepted_although_invalid(
    state: &SessionState,
    rec: &TaskRecord,
    base: &TaskKind,
    text: &str,
    json: Option<&Value>,
    findings: &[String],
) -> Processed {
    let name = match base {
        TaskKind::DesignDoc { file } | TaskKind::IntegrateDoc { file } => design_doc_name(file),
        // An update's change proposal and its integrations.
        TaskKind::Change => crate::supervisor::update::CHANGE.to_string(),
        TaskKind::Integrate if rec.stage == Stage::DesignDocs && state.inputs.update.is_some() => {
            crate::supervisor::update::CHANGE.to_string()
        }
        TaskKind::Summarize
        | TaskKind::Contribute
        | TaskKind::Draft
        | TaskKind::Manifest
        | TaskKind::Review
        | TaskKind::ReReview
        | TaskKind::Integrate
        | TaskKind::Repair { .. } => doc_name(rec.stage).to_string(),
    };
    let home = if rec.stage == Stage::FinalReview {
        Stage::DesignDocs
    } else {
        rec.stage
    };
    let revision = state.artifact_revision(home, &name).unwrap_or(0) + 1;
    let mut p = Processed::default();
    p.files.push(ArtifactFile {
        stage: home,
        name: name.clone(),
        revision,
        md: text.to_string(),
        json: json.cloned(),
    });
    p.events.push(Event::ArtifactAccepted {
        stage: home,
        name: name.clone(),
        revision,
    });
    p.events.push(invalid_item(state, rec, name, findings));
    p
}

/// The critical item by the `validator` that lists what is wrong with artifact `name`.
fn invalid_item(
    state: &SessionState,
    rec: &TaskRecord,
    name: String,
    findings: &[String],
) -> Event {
    let n = state
        .items
        .iter()
        .filter(|i| i.item.author == "validator")
        .count()
        + 1;
    Event::FeedbackRecorded {
        item: FeedbackItem {
            id: format!("{}-VA-{n}", item_code(state, rec.stage)),
            author: "validator".into(),
            stage: rec.stage,
            round: rec.round,
            category: Category::Critical,
            section: name,
            comment: format!("accepted although invalid: {}", findings.join("; ")),
            suggestion: Some("fix the document by hand, then run `agentmux validate`".into()),
        },
    }
}

/// The structured document a draft or an integration produces.
struct Document<'a> {
    /// The stage whose artifacts hold it.
    home: Stage,
    name: String,
    kind: DocKind,
    /// The design document's file in `specs/` (`api_design.md`), for a design document.
    file: Option<&'a str>,
}

impl<'a> Document<'a> {
    /// The main document of `stage`; `task` ("draft", "integrate") names what had none to do.
    fn of_stage(stage: Stage, task: &str) -> Result<Self, Vec<String>> {
        match DocKind::of_stage(stage) {
            Some(kind) => Ok(Document {
                home: stage,
                name: doc_name(stage).into(),
                kind,
                file: None,
            }),
            None => Err(vec![format!("stage {stage} has no document to {task}")]),
        }
    }

    fn design_doc(file: &'a str) -> Self {
        Document {
            home: Stage::DesignDocs,
            name: design_doc_name(file),
            kind: DocKind::DesignDoc,
            file: Some(file),
        }
    }
}

fn text_artifact(stage: Stage, name: &str, text: &str) -> Result<Processed, Vec<String>> {
    if text.trim().len() < 20 {
        return Err(vec![
            "the reply is empty or too short; write the requested text in full".into(),
        ]);
    }
    let mut p = Processed::default();
    p.files.push(ArtifactFile {
        stage,
        name: name.into(),
        revision: 1,
        md: text.trim().to_string() + "\n",
        json: None,
    });
    p.events.push(Event::ArtifactAccepted {
        stage,
        name: name.into(),
        revision: 1,
    });
    Ok(p)
}

fn need_json(json: Option<&Value>) -> Result<&Value, Vec<String>> {
    match json {
        Some(v) if v.is_object() => Ok(v),
        Some(_) => Err(vec![
            "the reply must be one JSON object matching the schema, not another JSON type".into(),
        ]),
        None => Err(vec![
            "the reply is not valid JSON; return exactly one JSON object matching the schema"
                .into(),
        ]),
    }
}

/// Render + validate a structured document.
fn render_checked(
    ctx: &SessionContext,
    state: &SessionState,
    target: &Document<'_>,
    doc: &Value,
    extra_revision: Option<&RevisionEntry>,
) -> Result<String, Vec<String>> {
    let mut history: Vec<RevisionEntry> = state
        .revisions
        .iter()
        .filter(|(s, _)| *s == target.home)
        .map(|(_, e)| e.clone())
        .collect();
    if let Some(e) = extra_revision {
        history.push(e.clone());
    }
    let meta = RenderMeta {
        project_name: state.inputs.project_name.clone(),
        date: today(),
        status: "Review".into(),
        author: ctx.plan.author.clone(),
        reviewers: ctx.plan.reviewers.clone(),
        revisions: history.clone(),
        spec_path: target
            .file
            .map(|f| ctx.project.specs.join(f).display().to_string()),
        open_items: Vec::new(),
    };
    // The supervisor checks the templates before it accepts any result, and fails the session
    // when they cannot be used; this error is for callers that did not.
    let templates = ctx.templates.get().map_err(|e| vec![e.to_string()])?;
    let md = render(target.kind, doc, &meta, templates)?;
    // An update session revises a design document in place (see `update::in_place`).
    let md = match target.file {
        Some(file) => crate::supervisor::update::in_place(ctx, state, file, doc, md, &history),
        None => md,
    };
    // A citation of a file or line the project does not have goes back to the author like a
    // broken diagram; a document without citations has nothing to check there.
    // A capable model's document carries the seeds' full depth (tables, ADR parts, phase gates,
    // appendices); the bundled local model's shorter shapes have none of it.
    let depth = if ctx.local_model {
        Vec::new()
    } else {
        validate::check_depth(target.kind, &md)
    };
    let findings: Vec<String> = validate_markdown(target.kind, &md)
        .into_iter()
        .chain(depth)
        .chain(validate::check_citations(&ctx.project.project_dir, &md))
        .map(|f| f.to_string())
        .collect();
    if findings.is_empty() {
        Ok(md)
    } else {
        Err(findings)
    }
}

/// Builds what checking a document needs the first time (each kind's compiled JSON schema, the
/// manifest schema, the mermaid parser), so the first accepted document does not wait for it.
/// The supervisor runs this on a thread at its first wait, while the first requests are out.
pub(crate) fn warm_up() {
    const SAMPLE: &str = "# Warm-up\n\n```mermaid\nflowchart LR\n  a --> b\n```\n";
    for kind in DocKind::ALL {
        let _ = docs::render::check(kind, &Value::Null);
        let _ = validate_markdown(kind, SAMPLE);
    }
    let _ = validate::validate_manifest(&Value::Null, None, 1, 1);
}

/// The validator of a document kind (each also checks the mermaid blocks).
pub(crate) fn validate_markdown(kind: DocKind, md: &str) -> Vec<validate::Finding> {
    match kind {
        DocKind::Prd => validate::validate_prd(md),
        DocKind::Options => validate::validate_options(md),
        DocKind::Proposal => validate::validate_proposal(md),
        DocKind::DesignDoc => validate::validate_design_doc(md),
        DocKind::ImplementationPlan => validate::validate_plan(md),
    }
}

fn draft(
    ctx: &SessionContext,
    state: &SessionState,
    target: &Document<'_>,
    json: Option<&Value>,
) -> Result<Processed, Vec<String>> {
    let doc = need_json(json)?;
    let md = render_checked(ctx, state, target, doc, None)?;
    let (stage, name) = (target.home, target.name.as_str());
    let revision = state.artifact_revision(stage, name).unwrap_or(0) + 1;
    let mut p = Processed::default();
    p.files.push(ArtifactFile {
        stage,
        name: name.into(),
        revision,
        md,
        json: Some(doc.clone()),
    });
    p.events.push(Event::ArtifactAccepted {
        stage,
        name: name.into(),
        revision,
    });
    if stage == Stage::Options
        && let Some(rec) = recommended_option(doc)
    {
        p.events.push(Event::OptionSelected {
            option: rec,
            by: "recommendation".into(),
        });
    }
    Ok(p)
}

/// Repairs what a model gets loosely wrong in cross-references, before validation: duplicate
/// documents are dropped, and keys of `design_areas`/`rationale` and documents named in
/// `traceability` that name a selected document imprecisely (case, missing `.md`, `_design`
/// suffix) are mapped to it; references to documents that were not selected are dropped.
/// Anything still missing (a selected document without a scope, say) remains for the
/// validator, and so for a repair.
pub(crate) fn normalize_manifest(m: &Value) -> Value {
    let mut out = m.clone();
    let Some(obj) = out.as_object_mut() else {
        return out;
    };
    let mut docs: Vec<String> = Vec::new();
    if let Some(list) = obj.get("selected_docs").and_then(Value::as_array) {
        for d in list.iter().filter_map(Value::as_str) {
            let d = d.trim().to_string();
            if !d.is_empty() && !docs.contains(&d) {
                docs.push(d);
            }
        }
        obj.insert("selected_docs".into(), serde_json::json!(docs));
    }
    let stem = |s: &str| {
        s.trim()
            .to_ascii_lowercase()
            .trim_end_matches(".md")
            .trim_end_matches("_design")
            .replace(['-', ' '], "_")
    };
    let resolve = |name: &str| docs.iter().find(|d| stem(d) == stem(name)).cloned();
    for key in ["design_areas", "rationale"] {
        if let Some(Value::Object(map)) = obj.get_mut(key) {
            let old = std::mem::take(map);
            for (k, v) in old {
                if let Some(doc) = resolve(&k) {
                    map.entry(doc).or_insert(v);
                }
            }
        }
    }
    if let Some(Value::Object(map)) = obj.get_mut("traceability") {
        let old = std::mem::take(map);
        for (item, v) in old {
            let refs: Vec<String> = match &v {
                Value::Array(a) => a
                    .iter()
                    .filter_map(Value::as_str)
                    .filter_map(&resolve)
                    .collect(),
                Value::String(d) => resolve(d).into_iter().collect(),
                _ => Vec::new(),
            };
            let mut uniq: Vec<String> = Vec::new();
            for r in refs {
                if !uniq.contains(&r) {
                    uniq.push(r);
                }
            }
            if !uniq.is_empty() {
                map.insert(item, serde_json::json!(uniq));
            }
        }
    }
    out
}

/// The recommended option of an options document, as its letter or name.
pub(crate) fn recommended_option(doc: &Value) -> Option<String> {
    let c = doc.get("comparison")?;
    for k in ["recommended_option", "recommended", "recommendation"] {
        if let Some(s) = c.get(k).and_then(Value::as_str) {
            let s = s.trim();
            if !s.is_empty() {
                return Some(s.chars().take(80).collect());
            }
        }
    }
    None
}

fn manifest(
    ctx: &SessionContext,
    state: &SessionState,
    json: Option<&Value>,
) -> Result<Processed, Vec<String>> {
    // The task returns the grammar-bounded draft (documents as a list); turn it into the
    // manifest.json shape (a manifest already in that shape passes through), then map loose
    // cross-references onto the selected documents.
    let converted = docs::outputs::manifest_from_output(need_json(json)?)?;
    let normalized = normalize_manifest(&converted);
    let m = &normalized;
    let dd = ctx.config.workflow.design_docs;
    // A capable model may go beyond design_docs.max when each document's rationale says why;
    // the bundled local model keeps the configured bounds.
    let count = validate::DocCount {
        min: dd.min as usize,
        max: dd.max as usize,
        ceiling: if ctx.local_model {
            dd.max as usize
        } else {
            validate::DESIGN_DOCS_CEILING
        },
    };
    let checked = validate::check_manifest(m, None, count);
    if !checked.findings.is_empty() {
        return Err(checked
            .findings
            .into_iter()
            .map(|f| f.to_string())
            .collect());
    }
    for w in &checked.warnings {
        tracing::warn!("manifest: {w}");
    }
    let files = docs::outputs::selected_docs(m);
    let mut p = Processed::default();
    push_manifest(&mut p, m.clone(), 1);
    p.events.push(Event::DesignDocsSelected { files });
    // Traceability: every PRD objective/requirement and journey step must map to a design area.
    for (n, u) in uncovered(ctx, state, m).iter().enumerate() {
        p.events.push(Event::FeedbackRecorded {
            item: FeedbackItem {
                id: format!("{}-TR-{}", item_code(state, Stage::FinalReview), n + 1),
                author: TRACEABILITY.into(),
                stage: Stage::FinalReview,
                round: 1,
                category: Category::Critical,
                section: "traceability".into(),
                comment: trace_comment(u),
                suggestion: Some(
                    "cover it in the most relevant design document and say where".into(),
                ),
            },
        });
    }
    Ok(p)
}

/// A manifest revision to write (its markdown is the pretty JSON) and its acceptance.
fn push_manifest(p: &mut Processed, m: Value, revision: u32) {
    p.files.push(ArtifactFile {
        stage: Stage::DesignDocs,
        name: "manifest".into(),
        revision,
        md: serde_json::to_string_pretty(&m).unwrap_or_default(),
        json: Some(m),
    });
    p.events.push(Event::ArtifactAccepted {
        stage: Stage::DesignDocs,
        name: "manifest".into(),
        revision,
    });
}

/// The author of the feedback items raised for PRD items no design area covers.
const TRACEABILITY: &str = "traceability";

/// The PRD items `manifest` leaves uncovered (see [`workflow::trace::uncovered`]).
fn uncovered(
    ctx: &SessionContext,
    state: &SessionState,
    manifest: &Value,
) -> Vec<validate::Uncovered> {
    ctx.prd_text(state)
        .map(|prd| workflow::trace::uncovered(&prd, state.inputs.journey.as_deref(), manifest))
        .unwrap_or_default()
}

fn trace_comment(u: &validate::Uncovered) -> String {
    format!(
        "not covered by any design area: {}{}",
        u.id.as_ref().map(|i| format!("{i} ")).unwrap_or_default(),
        u.text
    )
}

/// After a final-review integration of `file`: the traceability items the architect accepted
/// there are now covered by `file`, so the manifest maps them to it. None when nothing changes.
fn trace_to(
    ctx: &SessionContext,
    state: &SessionState,
    dispositions: &[Disposition],
    file: &str,
) -> Option<Value> {
    let mut manifest = ctx
        .store
        .latest_json(state, Stage::DesignDocs, "manifest")?;
    let accepted: Vec<&str> = dispositions
        .iter()
        .filter(|d| d.decision == Decision::Accepted)
        .filter_map(|d| state.items.iter().find(|i| i.item.id == d.item_id))
        .filter(|i| i.item.author == TRACEABILITY)
        .map(|i| i.item.comment.as_str())
        .collect();
    if accepted.is_empty() {
        return None;
    }
    let mut changed = false;
    for u in uncovered(ctx, state, &manifest) {
        if !accepted.contains(&trace_comment(&u).as_str()) {
            continue;
        }
        let key = u.key();
        let Some(Value::Object(trace)) = manifest.get_mut("traceability") else {
            break;
        };
        let docs = trace.entry(key).or_insert_with(|| Value::Array(Vec::new()));
        if !docs.is_array() {
            *docs = Value::Array(Vec::new());
        }
        if let Some(list) = docs.as_array_mut()
            && !list.iter().any(|v| v.as_str() == Some(file))
        {
            list.push(Value::String(file.to_string()));
            changed = true;
        }
    }
    changed.then_some(manifest)
}

fn new_items(
    state: &SessionState,
    rec: &TaskRecord,
    items: &[docs::outputs::ReviewItemOut],
    p: &mut Processed,
) {
    let prefix = format!(
        "{}-{}-r{}-",
        item_code(state, rec.stage),
        role_code(&rec.role),
        rec.round
    );
    let existing = state
        .items
        .iter()
        .filter(|i| i.item.id.starts_with(&prefix))
        .count();
    let mut n = existing;
    for it in items {
        if it.comment.trim().is_empty() {
            continue;
        }
        n += 1;
        p.events.push(Event::FeedbackRecorded {
            item: FeedbackItem {
                id: format!("{prefix}{n}"),
                author: rec.role.clone(),
                stage: rec.stage,
                round: rec.round,
                category: it.category,
                section: if it.section.trim().is_empty() {
                    "general".into()
                } else {
                    it.section.trim().into()
                },
                comment: it.comment.trim().into(),
                suggestion: Some(it.suggestion.trim().to_string()).filter(|s| !s.is_empty()),
            },
        });
    }
}

fn review(
    state: &SessionState,
    rec: &TaskRecord,
    json: Option<&Value>,
) -> Result<Processed, Vec<String>> {
    let out = parse_review(need_json(json)?)?;
    let mut p = Processed::default();
    new_items(state, rec, &out.items, &mut p);
    Ok(p)
}

fn norm_id(s: &str) -> String {
    s.trim()
        .trim_matches(|c| c == '`' || c == '"')
        .to_ascii_uppercase()
}

fn rereview(
    state: &SessionState,
    rec: &TaskRecord,
    item_ids: &[String],
    json: Option<&Value>,
) -> Result<Processed, Vec<String>> {
    let out = parse_rereview(need_json(json)?)?;
    let mut p = Processed::default();
    for id in item_ids {
        let verdict = out
            .verdicts
            .iter()
            .find(|v| norm_id(&v.item_id) == norm_id(id));
        let (status, note) = match verdict {
            Some(v) if v.status == VerdictStatus::Reopened => {
                (ItemStatus::Open, Some(v.note.clone()))
            }
            Some(v) => (
                ItemStatus::Closed,
                Some(v.note.clone()).filter(|n| !n.is_empty()),
            ),
            None => (
                ItemStatus::Closed,
                Some("no objection raised in re-review".into()),
            ),
        };
        p.events.push(Event::ItemStatusChanged {
            item_id: id.clone(),
            status,
            round: rec.round,
            note,
        });
    }
    new_items(state, rec, &out.new_items, &mut p);
    Ok(p)
}

/// Merges an integration into `target`: a disposition for every item, the revised document
/// and its revision-log entry, and for a final-review integration of a design document the
/// traceability items it now covers.
fn integrate(
    ctx: &SessionContext,
    state: &SessionState,
    rec: &TaskRecord,
    item_ids: &[String],
    target: &Document<'_>,
    json: Option<&Value>,
) -> Result<Processed, Vec<String>> {
    let out = parse_integration(need_json(json)?)?;
    let dispositions = dispositions(rec, item_ids, &out)?;
    let entry = revision_entry(state, item_ids, &out, &dispositions);
    let (home, name) = (target.home, target.name.as_str());
    // The integration returns only the sections it changed; merge them into the current document.
    let current = ctx
        .store
        .latest_json(state, home, name)
        .unwrap_or(Value::Object(Default::default()));
    let revised = apply_revision(&current, &out.document);
    let md = render_checked(ctx, state, target, &revised, Some(&entry))?;
    let revision = state.artifact_revision(home, name).unwrap_or(0) + 1;
    let mut p = Processed::default();
    p.files.push(ArtifactFile {
        stage: home,
        name: name.into(),
        revision,
        md,
        json: Some(revised),
    });
    if let Some(file) = target.file
        && let Some(m) = trace_to(ctx, state, &dispositions, file)
    {
        let revision = state
            .artifact_revision(Stage::DesignDocs, "manifest")
            .unwrap_or(0)
            + 1;
        push_manifest(&mut p, m, revision);
    }
    for d in dispositions {
        p.events.push(Event::DispositionRecorded { disposition: d });
    }
    p.events.push(Event::ArtifactAccepted {
        stage: home,
        name: name.into(),
        revision,
    });
    p.events.push(Event::RevisionLogged { stage: home, entry });
    Ok(p)
}

/// Merges an integration into an update session's change proposal: a disposition for every
/// item and the revised proposal, its revision entry in the proposal's own log (the design
/// documents' revision history is theirs alone).
fn integrate_change(
    ctx: &SessionContext,
    state: &SessionState,
    rec: &TaskRecord,
    item_ids: &[String],
    json: Option<&Value>,
) -> Result<Processed, Vec<String>> {
    let out = parse_integration(need_json(json)?)?;
    let dispositions = dispositions(rec, item_ids, &out)?;
    let entry = revision_entry(state, item_ids, &out, &dispositions);
    let mut p = crate::supervisor::update::revise_change(ctx, state, &out.document, &entry)?;
    let events = std::mem::take(&mut p.events);
    p.events = dispositions
        .into_iter()
        .map(|d| Event::DispositionRecorded { disposition: d })
        .chain(events)
        .collect();
    Ok(p)
}

/// The disposition of each item the integration was given, or findings when one is missing or
/// rejects an item without saying why.
fn dispositions(
    rec: &TaskRecord,
    item_ids: &[String],
    out: &IntegrationOutput,
) -> Result<Vec<Disposition>, Vec<String>> {
    let mut findings = Vec::new();
    let mut dispositions = Vec::new();
    for id in item_ids {
        match out
            .dispositions
            .iter()
            .find(|d| norm_id(&d.item_id) == norm_id(id))
        {
            None => findings.push(format!(
                "no disposition for item {id}: give one for every listed item"
            )),
            Some(d) => {
                if d.decision != Decision::Accepted && d.rationale.trim().is_empty() {
                    findings.push(format!(
                        "item {id} is {:?} without a rationale: explain why",
                        d.decision
                    ));
                }
                dispositions.push(Disposition {
                    item_id: id.clone(),
                    decision: d.decision,
                    rationale: d.rationale.trim().to_string(),
                    change: d
                        .change
                        .as_ref()
                        .map(|c| c.trim().to_string())
                        .filter(|c| !c.is_empty()),
                    acknowledgement: d
                        .acknowledgement
                        .as_ref()
                        .map(|a| a.trim().to_string())
                        .filter(|a| !a.is_empty()),
                    round: rec.round,
                });
            }
        }
    }
    if findings.is_empty() {
        Ok(dispositions)
    } else {
        Err(findings)
    }
}

/// The revision-log entry of an integration: who gave the feedback, and the changes it lists
/// (or, when it lists none, one line per accepted item).
fn revision_entry(
    state: &SessionState,
    item_ids: &[String],
    out: &IntegrationOutput,
    dispositions: &[Disposition],
) -> RevisionEntry {
    let from: BTreeSet<String> = item_ids
        .iter()
        .filter_map(|id| state.items.iter().find(|i| &i.item.id == id))
        .map(|i| i.item.author.clone())
        .collect();
    // By item id: the order the reviewers' items arrived in varies from run to run.
    let mut acknowledgements: Vec<String> = dispositions
        .iter()
        .filter_map(|d| {
            d.acknowledgement
                .as_ref()
                .map(|a| format!("{}: {a}", d.item_id))
        })
        .collect();
    acknowledgements.sort();
    RevisionEntry {
        date: today(),
        feedback_from: from.into_iter().collect(),
        changes: if out.revision.changes.is_empty() {
            dispositions
                .iter()
                .filter(|d| d.decision == Decision::Accepted)
                .map(|d| {
                    format!(
                        "{}: {}",
                        d.item_id,
                        d.change.clone().unwrap_or_else(|| "addressed".into())
                    )
                })
                .collect()
        } else {
            out.revision.changes.clone()
        },
        rationale: out.revision.rationale.trim().to_string(),
        acknowledgements,
    }
}

/// Today's date, ISO.
pub(crate) fn today() -> String {
    crate::localtime::now().date().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn manifest_cross_references_are_mapped_to_selected_documents() {
        let m = json!({
            "selected_docs": ["api_design.md", "api_design.md", "storage_design.md"],
            "design_areas": {"API_design": "a", "storage_design.md": "s", "ghost_design.md": "g"},
            "rationale": {"api": "r1", "storage": "r2"},
            "traceability": {"O1": ["api_design", "ghost_design.md"], "O2": ["nowhere_design.md"], "FR-1": "storage_design.md"}
        });
        let n = normalize_manifest(&m);
        assert_eq!(
            n["selected_docs"],
            json!(["api_design.md", "storage_design.md"])
        );
        assert_eq!(
            n["design_areas"],
            json!({"api_design.md": "a", "storage_design.md": "s"})
        );
        assert_eq!(
            n["rationale"],
            json!({"api_design.md": "r1", "storage_design.md": "r2"})
        );
        assert_eq!(
            n["traceability"],
            json!({"O1": ["api_design.md"], "FR-1": ["storage_design.md"]})
        );
    }
}
