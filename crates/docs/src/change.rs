//! An update session's change proposal and how an accepted change is applied to existing specs.
//!
//! A later session does not write the design again: the architect says which design documents
//! change (and which of their sections), which are added and which are retired, and what the
//! traceability gains, each tied to the new goal or PRD change. Applying it is pure text work
//! on the documents as they are on disk, so that everything the change does not name stays
//! byte for byte the same: a revised document keeps its header, its untouched sections and its
//! revision history, and gains the rewritten sections and one revision row per revision.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::DocKind;
use crate::markdown::section_text;
use crate::sections::sections;
use protocol::RevisionEntry;

/// What happens to one design document.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Rewrite the named sections of an existing document.
    Revise,
    /// Write a new document.
    Add,
    /// Move an existing document to the archive.
    Retire,
}

/// One document's part of the change.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct DocChange {
    pub file: String,
    pub action: Action,
    /// The section keys a revision rewrites (empty for additions and retirements).
    #[serde(default)]
    pub sections: Vec<String>,
    /// What the document covers after the change (its manifest scope when added).
    #[serde(default)]
    pub scope: String,
    /// Why, tied to the goal or PRD change.
    pub why: String,
}

/// A requirement the change traces to documents.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct NewRequirement {
    pub id: String,
    pub docs: Vec<String>,
}

/// An accepted change proposal.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Change {
    pub summary: String,
    pub changes: Vec<DocChange>,
    #[serde(default)]
    pub requirements: Vec<NewRequirement>,
    /// What the implementation plan gains.
    #[serde(default)]
    pub plan_additions: Vec<String>,
    /// The proposal's revision log: one entry per integration of the reviewers' items (kept
    /// with the accepted proposal; the model never writes it).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub revisions: Vec<RevisionEntry>,
}

impl Change {
    /// The documents the session writes: revised and added, in the proposal's order.
    pub fn written(&self) -> Vec<String> {
        self.changes
            .iter()
            .filter(|c| c.action != Action::Retire)
            .map(|c| c.file.clone())
            .collect()
    }

    /// The documents retired.
    pub fn retired(&self) -> Vec<String> {
        self.of(Action::Retire)
    }

    fn of(&self, action: Action) -> Vec<String> {
        self.changes
            .iter()
            .filter(|c| c.action == action)
            .map(|c| c.file.clone())
            .collect()
    }

    /// The change of `file`, if the proposal names it.
    pub fn find(&self, file: &str) -> Option<&DocChange> {
        self.changes.iter().find(|c| c.file == file)
    }
}

/// The design document section keys a revision may name.
pub fn design_section_keys() -> Vec<String> {
    sections()
        .of(DocKind::DesignDoc)
        .iter()
        .map(|s| s.key.clone())
        .collect()
}

/// The JSON schema of a change proposal. `existing`: the design documents in `specs/` (a
/// revision or retirement names one of them; an addition names a new `*_design.md` file).
pub fn change_schema(existing: &[String]) -> Value {
    let keys = design_section_keys();
    json!({
        "type": "object",
        "description": "agentmux change proposal",
        "properties": {
            "summary": {"type": "string", "minLength": 10, "maxLength": 600},
            "changes": {
                "type": "array",
                "minItems": 1,
                "maxItems": 12,
                "items": {
                    "type": "object",
                    "properties": {
                        "file": {"anyOf": [
                            {"enum": existing},
                            {"type": "string", "pattern": "^[a-z][a-z0-9_]*_design\\.md$", "maxLength": 80}
                        ]},
                        "action": {"enum": ["revise", "add", "retire"]},
                        "sections": {"type": "array", "items": {"enum": keys}, "maxItems": keys.len()},
                        "scope": {"type": "string", "maxLength": 300},
                        "why": {"type": "string", "minLength": 10, "maxLength": 400}
                    },
                    "required": ["file", "action", "sections", "scope", "why"],
                    "additionalProperties": false
                }
            },
            "requirements": {
                "type": "array",
                "maxItems": 12,
                "items": {
                    "type": "object",
                    "properties": {
                        "id": {"type": "string", "minLength": 1, "maxLength": 80},
                        "docs": {"type": "array", "minItems": 1, "items": {"type": "string"}}
                    },
                    "required": ["id", "docs"],
                    "additionalProperties": false
                }
            },
            "plan_additions": {"type": "array", "maxItems": 8, "items": {"type": "string", "maxLength": 300}}
        },
        "required": ["summary", "changes", "requirements", "plan_additions"],
        "additionalProperties": false
    })
}

/// Parses and checks a change proposal against the documents that exist; the findings say
/// what to fix.
pub fn parse_change(v: &Value, existing: &[String]) -> Result<Change, Vec<String>> {
    let change: Change = serde_json::from_value(v.clone()).map_err(|e| {
        vec![format!(
            "the change proposal does not match its schema: {e}"
        )]
    })?;
    let keys = design_section_keys();
    let mut findings = Vec::new();
    if change.changes.is_empty() {
        findings
            .push("`changes` is empty: name at least one document to revise, add or retire".into());
    }
    let mut seen: Vec<&str> = Vec::new();
    for c in &change.changes {
        let exists = existing.contains(&c.file);
        if seen.contains(&c.file.as_str()) {
            findings.push(format!(
                "`{}` is named twice; give each document one change",
                c.file
            ));
        }
        seen.push(&c.file);
        match c.action {
            Action::Revise | Action::Retire if !exists => findings.push(format!(
                "`{}` is not a design document of the specs ({}); revise or retire one of those, or add it",
                c.file,
                existing.join(", ")
            )),
            Action::Add if exists => findings.push(format!(
                "`{}` exists already; revise it instead of adding it",
                c.file
            )),
            Action::Add if crate::validate::names::check_doc_name(&c.file).is_err() => findings.push(format!(
                "`{}` is not a valid design document name; use snake_case ending in `_design.md`",
                c.file
            )),
            Action::Revise if c.sections.is_empty() => findings.push(format!(
                "the revision of `{}` names no section; list the section keys it rewrites",
                c.file
            )),
            _ => {}
        }
        for s in &c.sections {
            if !keys.contains(s) {
                findings.push(format!(
                    "`{}`: `{s}` is not a design document section; use one of {}",
                    c.file,
                    keys.join(", ")
                ));
            }
        }
    }
    let kept = existing.len()
        - change
            .retired()
            .iter()
            .filter(|f| existing.contains(f))
            .count();
    if kept + change.of(Action::Add).len() == 0 {
        findings.push("the change retires every design document; keep or add at least one".into());
    }
    if findings.is_empty() {
        Ok(change)
    } else {
        Err(findings)
    }
}

/// The change proposal as markdown, for the session's artifacts and the reviewers.
pub fn change_md(change: &Change, goal: &str) -> String {
    let mut out = String::from("# Change Proposal\n\n");
    if !goal.trim().is_empty() {
        out.push_str(&format!("**Change asked for**: {}\n\n", goal.trim()));
    }
    out.push_str(&format!("{}\n\n## Documents\n\n", change.summary.trim()));
    out.push_str("| Document | Action | Sections | Why |\n|---|---|---|---|\n");
    for c in &change.changes {
        let action = match c.action {
            Action::Revise => "revise",
            Action::Add => "add",
            Action::Retire => "retire",
        };
        out.push_str(&format!(
            "| {} | {action} | {} | {} |\n",
            c.file,
            if c.sections.is_empty() {
                "-".into()
            } else {
                c.sections.join(", ")
            },
            one_line(&c.why)
        ));
    }
    if !change.requirements.is_empty() {
        out.push_str("\n## Traceability added\n\n");
        for r in &change.requirements {
            out.push_str(&format!("- {}: {}\n", r.id, r.docs.join(", ")));
        }
    }
    if !change.plan_additions.is_empty() {
        out.push_str("\n## Plan additions\n\n");
        for p in &change.plan_additions {
            out.push_str(&format!("- {}\n", one_line(p)));
        }
    }
    if !change.revisions.is_empty() {
        out.push_str(&format!("\n{HISTORY}\n\n{HISTORY_HEAD}"));
        for e in &change.revisions {
            out.push_str(&revision_row(e));
        }
    }
    out
}

fn one_line(s: &str) -> String {
    s.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
        .replace('|', "\\|")
}

/// A revision table cell, as the templates write it.
fn cell(s: &str) -> String {
    let joined = s
        .lines()
        .map(|l| l.trim().replace('|', "\\|"))
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("<br>");
    if joined.is_empty() {
        "-".into()
    } else {
        joined
    }
}

const HISTORY: &str = "### Revision History";
const HISTORY_HEAD: &str = "| Date | Feedback from | Changes made | Rationale |\n|------|---------------|--------------|-----------|\n";

/// A revision row as the templates render it.
pub fn revision_row(e: &RevisionEntry) -> String {
    format!(
        "| {} | {} | {} | {} |\n",
        cell(&e.date),
        cell(&e.feedback_from.join(", ")),
        cell(&e.changes.join("\n")),
        cell(&e.rationale)
    )
}

/// Revises a design document in place: the level-2 sections named by `keys` are taken from
/// `new_md` (the document as rewritten), everything else stays as in `old_md`, and one row per
/// entry of `revisions` is appended to the revision history (which is created when the
/// document had none).
pub fn revise_markdown(
    old_md: &str,
    new_md: &str,
    keys: &[String],
    revisions: &[RevisionEntry],
) -> String {
    let mut out = old_md.to_string();
    for sec in sections().of(DocKind::DesignDoc) {
        if !keys.contains(&sec.key) {
            continue;
        }
        if let (Some(old), Some(new)) = (
            section_text(&out, &sec.title),
            section_text(new_md, &sec.title),
        ) {
            let (old, new) = (old.to_string(), with_break(new));
            out = out.replacen(&old, &new, 1);
        }
    }
    append_revisions(&out, revisions)
}

/// A replaced section keeps the blank line before the next heading.
fn with_break(section: &str) -> String {
    let t = section.trim_end();
    format!("{t}\n\n")
}

/// Appends revision rows to the document's revision history, creating it at the end when the
/// document has none.
pub fn append_revisions(md: &str, revisions: &[RevisionEntry]) -> String {
    if revisions.is_empty() {
        return md.to_string();
    }
    let rows: String = revisions.iter().map(revision_row).collect();
    let Some(at) = md.find(HISTORY) else {
        let mut out = md.trim_end().to_string();
        if !out.contains("\n## Appendix") {
            out.push_str("\n\n## Appendix\n");
        }
        out.push_str(&format!("\n{HISTORY}\n\n{HISTORY_HEAD}{rows}"));
        return out;
    };
    // The table ends at the first line after the heading's table that is not a table row.
    let mut end = md.len();
    let mut in_table = false;
    let mut offset = at;
    for line in md[at..].split_inclusive('\n') {
        let t = line.trim_start();
        if t.starts_with('|') {
            in_table = true;
        } else if in_table {
            end = offset;
            break;
        }
        offset += line.len();
    }
    let mut out = md[..end].to_string();
    if !out.ends_with('\n') {
        out.push('\n');
    }
    out.push_str(&rows);
    out.push_str(&md[end..]);
    out
}

/// The implementation plan with the change's `plan_additions` written in place: a new phase
/// at the end of its tasks section (one task per addition, numbered after the plan's last
/// task) and `entry` appended to its revision history; everything else stays byte for byte.
/// None when the change adds nothing or the plan has no tasks section.
pub fn add_to_plan(
    plan_md: &str,
    change: &Change,
    phase: &str,
    entry: &RevisionEntry,
) -> Option<String> {
    if change.plan_additions.is_empty() {
        return None;
    }
    let title = sections()
        .find(DocKind::ImplementationPlan, "tasks")
        .map(|s| s.title.clone())?;
    let section = section_text(plan_md, &title)?;
    let at = plan_md.find(section)? + section.len();
    let phases = section
        .lines()
        .filter(|l| l.starts_with("### Phase "))
        .count();
    let mut task = plan_md
        .lines()
        .filter(|l| l.trim_start().starts_with("- [ ] **Task "))
        .count();
    let mut added = format!("### Phase {}: {}\n\n", phases + 1, one_line(phase));
    for a in &change.plan_additions {
        task += 1;
        added.push_str(&format!(
            "- [ ] **Task {task}: {}**\n  - Purpose: {}\n  - Files/modules: as the revised design documents name them\n  \
             - Dependencies: the tasks of the phases before\n  - Owner agent: to be assigned\n",
            one_line(a),
            one_line(&change.summary)
        ));
    }
    let head = &plan_md[..at];
    let sep = if head.ends_with("\n\n") {
        ""
    } else if head.ends_with('\n') {
        "\n"
    } else {
        "\n\n"
    };
    let out = format!("{head}{sep}{added}\n{}", &plan_md[at..]);
    Some(append_revisions(&out, std::slice::from_ref(entry)))
}

/// The manifest after the change: added documents get their scope and rationale, retired ones
/// leave every per-document map and are noted under `retired`, and the traceability gains the
/// new requirements (documents no longer present are dropped from it).
pub fn apply_to_manifest(manifest: &Value, change: &Change, session_id: &str, date: &str) -> Value {
    let mut m = manifest.clone();
    let Some(obj) = m.as_object_mut() else {
        return m;
    };
    let retired = change.retired();
    let mut selected = crate::outputs::selected_docs(manifest);
    selected.retain(|f| !retired.contains(f));
    for c in change.changes.iter().filter(|c| c.action == Action::Add) {
        if !selected.contains(&c.file) {
            selected.push(c.file.clone());
        }
        for (key, text) in [("design_areas", &c.scope), ("rationale", &c.why)] {
            if let Some(Value::Object(map)) = obj.get_mut(key) {
                map.insert(c.file.clone(), json!(text));
            }
        }
    }
    for key in ["design_areas", "rationale"] {
        if let Some(Value::Object(map)) = obj.get_mut(key) {
            map.retain(|k, _| !retired.contains(k));
        }
    }
    if let Some(Value::Object(trace)) = obj.get_mut("traceability") {
        for docs in trace.values_mut() {
            if let Value::Array(a) = docs {
                a.retain(|d| d.as_str().is_none_or(|d| !retired.iter().any(|r| r == d)));
            }
        }
        for r in &change.requirements {
            let docs: Vec<Value> = r
                .docs
                .iter()
                .filter(|d| selected.contains(d))
                .map(|d| json!(d))
                .collect();
            if docs.is_empty() {
                continue;
            }
            let entry = trace.entry(r.id.clone()).or_insert_with(|| json!([]));
            if let Value::Array(a) = entry {
                for d in docs {
                    if !a.contains(&d) {
                        a.push(d);
                    }
                }
            }
        }
    }
    obj.insert("selected_docs".into(), json!(selected));
    if !retired.is_empty() {
        let notes = obj.entry("retired").or_insert_with(|| json!([]));
        if let Value::Array(a) = notes {
            for c in change.changes.iter().filter(|c| c.action == Action::Retire) {
                let mut note = Map::new();
                note.insert("file".into(), json!(c.file));
                note.insert("session".into(), json!(session_id));
                note.insert("date".into(), json!(date));
                note.insert("reason".into(), json!(c.why));
                note.insert(
                    "archived_to".into(),
                    json!(format!("archive/{session_id}/{}", c.file)),
                );
                a.push(Value::Object(note));
            }
        }
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    const OLD: &str = "# A Design Document\n\n**Date**: 2026-01-01\n\n## 1. Architecture Overview\n\nOld overview.\n\n\
                       ## 2. Research & Stack Selection\n\nOld research.\n\n## 3. Detailed Design\n\nOld detail.\n\n\
                       ## Appendix\n\n### Revision History\n\n| Date | Feedback from | Changes made | Rationale |\n\
                       |------|---------------|--------------|-----------|\n| 2026-01-01 | code-reviewer | x | y |\n";
    const NEW: &str = "# A Design Document\n\n**Date**: 2026-02-02\n\n## 1. Architecture Overview\n\nNew overview.\n\n\
                       ## 2. Research & Stack Selection\n\nNew research.\n\n## 3. Detailed Design\n\nNew detail.\n";

    fn entry() -> RevisionEntry {
        RevisionEntry {
            date: "2026-02-02".into(),
            feedback_from: vec!["update".into()],
            changes: vec!["Section 3: export".into()],
            rationale: "the goal asks for CSV export".into(),
            acknowledgements: Vec::new(),
        }
    }

    #[test]
    fn a_revision_rewrites_only_the_named_sections_and_appends_a_row() {
        let out = revise_markdown(OLD, NEW, &["detailed_design".into()], &[entry()]);
        assert!(
            out.contains("Old overview.") && out.contains("Old research."),
            "{out}"
        );
        assert!(
            out.contains("New detail.") && !out.contains("Old detail."),
            "{out}"
        );
        assert!(
            out.contains("**Date**: 2026-01-01"),
            "the header stays: {out}"
        );
        assert!(out.contains("| 2026-01-01 | code-reviewer | x | y |\n| 2026-02-02 | update | Section 3: export |"), "{out}");
        // No section named: only the history changes.
        let same = revise_markdown(OLD, NEW, &[], &[]);
        assert_eq!(same, OLD);
    }

    #[test]
    fn a_history_is_created_when_the_document_had_none() {
        let out = append_revisions(NEW, &[entry()]);
        assert!(
            out.ends_with(
                "| 2026-02-02 | update | Section 3: export | the goal asks for CSV export |\n"
            ),
            "{out}"
        );
        assert!(
            out.contains("## Appendix\n\n### Revision History\n\n| Date |"),
            "{out}"
        );
    }

    #[test]
    fn a_change_must_name_real_documents_and_sections() {
        let existing = vec!["api_design.md".to_string()];
        let v = json!({"summary": "s", "changes": [
            {"file": "nope_design.md", "action": "revise", "sections": ["detailed_design"], "scope": "", "why": "w"},
            {"file": "api_design.md", "action": "add", "sections": [], "scope": "", "why": "w"},
            {"file": "x_design.md", "action": "add", "sections": ["bogus"], "scope": "", "why": "w"}
        ], "requirements": [], "plan_additions": []});
        let err = parse_change(&v, &existing).unwrap_err();
        assert!(err.iter().any(|f| f.contains("nope_design.md")), "{err:?}");
        assert!(err.iter().any(|f| f.contains("exists already")), "{err:?}");
        assert!(err.iter().any(|f| f.contains("bogus")), "{err:?}");
        let ok = json!({"summary": "s", "changes": [
            {"file": "api_design.md", "action": "revise", "sections": ["detailed_design"], "scope": "", "why": "w"}
        ], "requirements": [], "plan_additions": []});
        assert_eq!(parse_change(&ok, &existing).unwrap().written(), existing);
    }

    #[test]
    fn the_manifest_gains_added_documents_and_requirements_and_notes_retirements() {
        let m = json!({
            "selected_docs": ["a_design.md", "b_design.md"],
            "design_areas": {"a_design.md": "A", "b_design.md": "B"},
            "rationale": {"a_design.md": "A", "b_design.md": "B"},
            "traceability": {"O1": ["a_design.md", "b_design.md"]}
        });
        let change = Change {
            summary: "s".into(),
            changes: vec![
                DocChange {
                    file: "b_design.md".into(),
                    action: Action::Retire,
                    sections: vec![],
                    scope: String::new(),
                    why: "merged".into(),
                },
                DocChange {
                    file: "c_design.md".into(),
                    action: Action::Add,
                    sections: vec![],
                    scope: "C".into(),
                    why: "new".into(),
                },
            ],
            requirements: vec![NewRequirement {
                id: "FR-9".into(),
                docs: vec!["c_design.md".into(), "b_design.md".into()],
            }],
            plan_additions: vec![],
            revisions: vec![],
        };
        let out = apply_to_manifest(&m, &change, "S2", "2026-02-02");
        assert_eq!(out["selected_docs"], json!(["a_design.md", "c_design.md"]));
        assert_eq!(
            out["design_areas"],
            json!({"a_design.md": "A", "c_design.md": "C"})
        );
        assert_eq!(
            out["traceability"],
            json!({"O1": ["a_design.md"], "FR-9": ["c_design.md"]})
        );
        assert_eq!(out["retired"][0]["file"], "b_design.md");
        assert_eq!(out["retired"][0]["archived_to"], "archive/S2/b_design.md");
    }

    #[test]
    fn plan_additions_become_a_new_phase_and_a_revision_row_the_rest_unchanged() {
        let plan = "# Implementation Plan: x\n\n## 4. Database Changes\n\nNone.\n\n\
                    ## 5. Step-by-Step Implementation Tasks\n\n### Phase 1: Core\n\n\
                    - [ ] **Task 1: Links**\n  - Purpose: p\n\n### Phase 2: Tests\n\n\
                    - [ ] **Task 2: Tests**\n  - Purpose: q\n\n\
                    ## 6. Integration Details\n\nThe API.\n\n## Appendix\n\n### Revision History\n\n\
                    | Date | Feedback from | Changes made | Rationale |\n\
                    |------|---------------|--------------|-----------|\n\
                    | 2026-01-01 | reviewer | first | r |\n";
        let mut change = Change {
            summary: "Click statistics can be exported as CSV.".into(),
            changes: vec![],
            requirements: vec![],
            plan_additions: vec![],
            revisions: vec![],
        };
        assert_eq!(add_to_plan(plan, &change, "Update", &entry()), None);
        change.plan_additions = vec!["CSV export endpoint".into(), "Export tests".into()];
        let out = add_to_plan(plan, &change, "Update s2", &entry()).unwrap();
        let (before, _) = plan.split_at(plan.find("## 6.").unwrap());
        assert!(out.starts_with(before), "{out}");
        assert!(
            out.contains("### Phase 3: Update s2\n\n- [ ] **Task 3: CSV export endpoint**\n"),
            "{out}"
        );
        assert!(out.contains("- [ ] **Task 4: Export tests**"), "{out}");
        let tail = &out[out.find("## 6. Integration Details").unwrap()..];
        assert!(
            tail.starts_with("## 6. Integration Details\n\nThe API.\n\n## Appendix"),
            "{out}"
        );
        assert!(
            out.ends_with("| 2026-01-01 | reviewer | first | r |\n| 2026-02-02 | update | Section 3: export | the goal asks for CSV export |\n"),
            "{out}"
        );
        assert!(
            out.find("Task 4").unwrap() < out.find("## 6.").unwrap(),
            "the phase closes the tasks section"
        );
    }
}
