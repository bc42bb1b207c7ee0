//! What authors and reviewers return, parsed tolerantly.
//!
//! A grammar-constrained endpoint returns exactly the schema; a remote model in prompt mode may
//! not. Parsing here accepts the usual drift (category "Critical" or "nice to have", decision
//! "accept", a bare array instead of `{items: [...]}`, extra fields, a JSON block inside prose)
//! and rejects only what cannot be used, with messages that can go back to the model as repair
//! findings. Conversions to the journal's types ([`FeedbackItem`], [`Disposition`]) live here too.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use protocol::{Category, Decision};

/// One review item as the reviewer wrote it (no id yet: the supervisor assigns `PE-r1-3`).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct ReviewItemOut {
    pub category: Category,
    pub section: String,
    pub comment: String,
    pub suggestion: String,
}

impl ReviewItemOut {}

/// A Review task's output.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default)]
pub struct ReviewOutput {
    pub items: Vec<ReviewItemOut>,
}

/// The author's answer to one item.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct DispositionOut {
    pub item_id: String,
    pub decision: Decision,
    pub rationale: String,
    pub change: Option<String>,
    /// Step 1 of seed 001's protocol: the item in the author's words (capable models).
    pub acknowledgement: Option<String>,
}

/// The revision entry an integration adds to the document's history.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default)]
pub struct RevisionOut {
    pub changes: Vec<String>,
    pub rationale: String,
}

/// An Integrate task's output. `document` holds only the sections that changed (possibly none);
/// [`apply_revision`] merges it into the current document.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct IntegrationOutput {
    pub dispositions: Vec<DispositionOut>,
    pub document: Value,
    pub revision: RevisionOut,
}

/// A reviewer's verdict on one of its own items after the integration.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum VerdictStatus {
    Closed,
    Reopened,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct VerdictOut {
    pub item_id: String,
    pub status: VerdictStatus,
    pub note: String,
}

/// A ReReview task's output.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default)]
pub struct ReReviewOutput {
    pub verdicts: Vec<VerdictOut>,
    pub new_items: Vec<ReviewItemOut>,
}

/// Normalises a category the way reviewers actually write it.
pub(crate) fn parse_category(s: &str) -> Option<Category> {
    if let Some(c) = Category::parse(s) {
        return Some(c);
    }
    let lower = s.to_lowercase();
    let words: String = lower
        .chars()
        .map(|c| if c.is_alphanumeric() { c } else { ' ' })
        .collect();
    let words: Vec<&str> = words.split_whitespace().collect();
    let word = |ks: &[&str]| words.iter().any(|w| ks.contains(w));
    let part = |k: &str| lower.contains(k);
    if part("critical") || word(&["blocker", "blocking", "must", "severe"]) {
        Some(Category::Critical)
    } else if part("important") || word(&["major", "high", "should", "significant"]) {
        Some(Category::Important)
    } else if part("nice") || word(&["minor", "low", "nit", "optional", "suggestion", "trivial"]) {
        Some(Category::NiceToHave)
    } else if part("question") || part("clarif") || lower.trim_end().ends_with('?') {
        Some(Category::Question)
    } else {
        None
    }
}

fn parse_decision(s: &str) -> Option<Decision> {
    let w = s.trim().to_lowercase();
    if w.starts_with("accept") || w == "yes" || w.starts_with("agree") || w.starts_with("adopt") {
        Some(Decision::Accepted)
    } else if w.starts_with("reject")
        || w.starts_with("decline")
        || w == "no"
        || w.starts_with("wont")
        || w.starts_with("won't")
    {
        Some(Decision::Rejected)
    } else if w.starts_with("defer")
        || w.starts_with("postpone")
        || w.starts_with("later")
        || w.starts_with("partial")
    {
        Some(Decision::Deferred)
    } else {
        None
    }
}

fn parse_status(s: &str) -> Option<VerdictStatus> {
    let w = s.trim().to_lowercase();
    if w.starts_with("close")
        || w.starts_with("resolv")
        || w == "ok"
        || w.starts_with("accept")
        || w == "done"
        || w.starts_with("fixed")
    {
        Some(VerdictStatus::Closed)
    } else if w.starts_with("reopen")
        || w.starts_with("open")
        || w.starts_with("not")
        || w.starts_with("unresolv")
    {
        Some(VerdictStatus::Reopened)
    } else {
        None
    }
}

/// A string field under any of `names`; numbers and booleans are turned into text.
fn text_field(obj: &Map<String, Value>, names: &[&str]) -> Option<String> {
    names.iter().find_map(|n| match obj.get(*n) {
        Some(Value::String(s)) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Some(Value::Number(x)) => Some(x.to_string()),
        Some(Value::Bool(b)) => Some(b.to_string()),
        _ => None,
    })
}

/// The array under any of `names`, or the value itself when it is an array.
fn array_field<'a>(v: &'a Value, names: &[&str]) -> Option<&'a Vec<Value>> {
    if let Some(a) = v.as_array() {
        return Some(a);
    }
    let obj = v.as_object()?;
    names
        .iter()
        .find_map(|n| obj.get(*n).and_then(Value::as_array))
}

fn review_item(v: &Value, where_: &str, errors: &mut Vec<String>) -> Option<ReviewItemOut> {
    let Some(obj) = v.as_object() else {
        errors.push(format!(
            "{where_}: expected an object with category, section, comment, suggestion"
        ));
        return None;
    };
    let Some(comment) = text_field(
        obj,
        &["comment", "issue", "feedback", "description", "text"],
    ) else {
        errors.push(format!("{where_}: `comment` is missing or empty"));
        return None;
    };
    let raw_cat = text_field(obj, &["category", "severity", "priority", "level", "type"]);
    let category = match raw_cat.as_deref() {
        Some(c) => match parse_category(c) {
            Some(c) => c,
            None => {
                errors.push(format!(
                    "{where_}: category `{c}` is not one of critical, important, nice-to-have, question"
                ));
                return None;
            }
        },
        None => Category::Important,
    };
    Some(ReviewItemOut {
        category,
        section: text_field(obj, &["section", "location", "area", "heading"])
            .unwrap_or_else(|| "General".into()),
        comment,
        suggestion: text_field(obj, &["suggestion", "recommendation", "fix", "proposal"])
            .unwrap_or_default(),
    })
}

/// Parses a Review task's JSON: `{items: [...]}` (or `feedback`, `comments`, `review_items`,
/// or a bare array). Items that cannot be used are reported; the rest are kept.
pub fn parse_review(v: &Value) -> Result<ReviewOutput, Vec<String>> {
    let Some(list) = array_field(
        v,
        &["items", "feedback", "comments", "review_items", "issues"],
    ) else {
        return Err(vec![
            "expected `{\"items\": [...]}` with one object per feedback item".into(),
        ]);
    };
    let mut errors = Vec::new();
    let items: Vec<ReviewItemOut> = list
        .iter()
        .enumerate()
        .filter_map(|(i, it)| review_item(it, &format!("items[{i}]"), &mut errors))
        .collect();
    if items.is_empty() && !errors.is_empty() {
        return Err(errors);
    }
    Ok(ReviewOutput { items })
}

/// Parses an Integrate task's JSON. `document` may be missing (nothing changed); a disposition
/// that names no item or has no decision is an error, since every item needs an answer.
pub fn parse_integration(v: &Value) -> Result<IntegrationOutput, Vec<String>> {
    let Some(obj) = v.as_object() else {
        return Err(vec![
            "expected an object with dispositions, document and revision".into(),
        ]);
    };
    let mut errors = Vec::new();
    let mut dispositions = Vec::new();
    let list = obj
        .get("dispositions")
        .or_else(|| obj.get("responses"))
        .and_then(Value::as_array);
    match list {
        Some(list) => {
            for (w, item_id, d) in entries_with_item(list, "dispositions", &mut errors) {
                let raw = text_field(d, &["decision", "status", "disposition"]).unwrap_or_default();
                let Some(decision) = parse_decision(&raw) else {
                    errors.push(format!(
                        "{w} ({item_id}): decision `{raw}` is not accepted, rejected or deferred"
                    ));
                    continue;
                };
                let rationale =
                    text_field(d, &["rationale", "reason", "explanation"]).unwrap_or_default();
                if rationale.is_empty() && decision != Decision::Accepted {
                    errors.push(
                        format!("{w} ({item_id}): a {decision:?} item needs a rationale")
                            .to_lowercase(),
                    );
                }
                dispositions.push(DispositionOut {
                    item_id,
                    decision,
                    rationale,
                    change: text_field(d, &["change", "changes", "change_made"]),
                    acknowledgement: text_field(d, &["acknowledgement", "acknowledgment"]),
                });
            }
        }
        None => errors.push("`dispositions` is missing: give one per feedback item".into()),
    }
    let document = match obj
        .get("document")
        .or_else(|| obj.get("changes_to_document"))
    {
        Some(Value::Object(m)) => Value::Object(m.clone()),
        Some(Value::Null) | None => Value::Object(Map::new()),
        Some(_) => {
            errors.push("`document` must be an object holding the changed sections".into());
            Value::Object(Map::new())
        }
    };
    let revision = match obj.get("revision").and_then(Value::as_object) {
        Some(r) => RevisionOut {
            changes: r
                .get("changes")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|c| c.as_str().map(str::to_string))
                        .collect()
                })
                .or_else(|| text_field(r, &["changes"]).map(|s| vec![s]))
                .unwrap_or_default(),
            rationale: text_field(r, &["rationale", "reason"]).unwrap_or_default(),
        },
        None => RevisionOut::default(),
    };
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(IntegrationOutput {
        dispositions,
        document,
        revision,
    })
}

/// Parses a ReReview task's JSON.
pub fn parse_rereview(v: &Value) -> Result<ReReviewOutput, Vec<String>> {
    let Some(obj) = v.as_object() else {
        return Err(vec![
            "expected an object with verdicts and new_items".into(),
        ]);
    };
    let mut errors = Vec::new();
    let mut verdicts = Vec::new();
    if let Some(list) = obj.get("verdicts").and_then(Value::as_array) {
        for (w, item_id, d) in entries_with_item(list, "verdicts", &mut errors) {
            let raw = text_field(d, &["status", "verdict", "decision"]).unwrap_or_default();
            let Some(status) = parse_status(&raw) else {
                errors.push(format!(
                    "{w} ({item_id}): status `{raw}` is not closed or reopened"
                ));
                continue;
            };
            verdicts.push(VerdictOut {
                item_id,
                status,
                note: text_field(d, &["note", "comment", "reason"]).unwrap_or_default(),
            });
        }
    }
    let mut new_items = Vec::new();
    if let Some(list) = obj.get("new_items").and_then(Value::as_array) {
        for (i, it) in list.iter().enumerate() {
            if let Some(item) = review_item(it, &format!("new_items[{i}]"), &mut errors) {
                new_items.push(item);
            }
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(ReReviewOutput {
        verdicts,
        new_items,
    })
}

/// The entries of the answer list `name` that are objects naming their feedback item, as
/// (where, item id, fields); an entry that is not gets an error naming its place.
fn entries_with_item<'a>(
    list: &'a [Value],
    name: &str,
    errors: &mut Vec<String>,
) -> Vec<(String, String, &'a Map<String, Value>)> {
    let mut out = Vec::new();
    for (i, d) in list.iter().enumerate() {
        let w = format!("{name}[{i}]");
        let Some(d) = d.as_object() else {
            errors.push(format!("{w}: expected an object"));
            continue;
        };
        let Some(item_id) = text_field(d, &["item_id", "id", "item"]) else {
            errors.push(format!("{w}: `item_id` is missing"));
            continue;
        };
        out.push((w, item_id, d));
    }
    out
}

/// `x_design.md` with a number `n` added to its name, still a valid design-document name
/// (`manifest.schema.json`: at most five `_`-separated parts of up to 15 characters before
/// `_design.md`): when the name already has five parts, the number replaces the last one.
fn numbered_design_file(file: &str, n: u32) -> String {
    let stem = file.strip_suffix("_design.md").unwrap_or(file);
    let mut parts: Vec<&str> = stem.split('_').filter(|p| !p.is_empty()).collect();
    parts.truncate(4);
    let number = n.to_string();
    parts.push(&number);
    format!("{}_design.md", parts.join("_"))
}

/// The manifest's `selected_docs`, in order (empty when it has none).
pub fn selected_docs(manifest: &Value) -> Vec<String> {
    manifest
        .get("selected_docs")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

/// Turns what a Manifest task returned into the `manifest.json` shape. Accepts the draft shape
/// of `schema::manifest_draft_schema` (documents as a list, traceability as a list or as a map
/// from PRD item to document positions) and, from a
/// model that ignored it, the manifest shape itself. A repeated file name is made distinct with
/// a number, and traceability entries for the same PRD item are joined.
pub fn manifest_from_output(v: &Value) -> Result<Value, Vec<String>> {
    let Some(obj) = v.as_object() else {
        return Err(vec!["expected a JSON object with project_name, docs, assumptions_tbd, traceability and phase_plan_overview".into()]);
    };
    if obj.contains_key("selected_docs") {
        return Ok(v.clone());
    }
    let Some(docs) = obj.get("docs").and_then(Value::as_array) else {
        return Err(vec![
            "`docs` is missing: list each design document with file, scope and rationale".into(),
        ]);
    };
    let mut errors = Vec::new();
    let mut selected: Vec<String> = Vec::new();
    let mut areas = Map::new();
    let mut rationale = Map::new();
    for (i, d) in docs.iter().enumerate() {
        let Some(d) = d.as_object() else {
            errors.push(format!(
                "docs[{i}]: expected an object with file, scope and rationale"
            ));
            continue;
        };
        let Some(file) = text_field(d, &["file", "name", "filename"]) else {
            errors.push(format!("docs[{i}]: `file` is missing"));
            continue;
        };
        // A repeated name gets a numeric part (`x_design.md` -> `x_2_design.md`): small models
        // repeat names under constrained decoding, and a distinct area beats a lost one.
        let file = if selected.contains(&file) {
            match (2..100)
                .map(|n| numbered_design_file(&file, n))
                .find(|f| !selected.contains(f))
            {
                Some(f) => f,
                None => continue,
            }
        } else {
            file
        };
        areas.insert(
            file.clone(),
            Value::String(text_field(d, &["scope", "summary", "description"]).unwrap_or_default()),
        );
        rationale.insert(
            file.clone(),
            Value::String(text_field(d, &["rationale", "reason"]).unwrap_or_default()),
        );
        selected.push(file);
    }
    let mut trace = Map::new();
    if let Some(list) = obj.get("traceability").and_then(Value::as_array) {
        for t in list.iter().filter_map(Value::as_object) {
            let Some(item) = text_field(t, &["prd_item", "item", "requirement", "id"]) else {
                continue;
            };
            let files: Vec<String> = t
                .get("docs")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|f| f.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default();
            let entry = trace
                .entry(item)
                .or_insert_with(|| Value::Array(Vec::new()));
            if let Some(arr) = entry.as_array_mut() {
                for f in files {
                    if !arr.iter().any(|x| x.as_str() == Some(f.as_str())) {
                        arr.push(Value::String(f));
                    }
                }
            }
        }
    } else if let Some(map) = obj.get("traceability").and_then(Value::as_object) {
        // Keyed by PRD item; a document is named, or given by its position in `docs` (1 = the
        // first, the grammar-bounded shape). A position past the last document is dropped.
        for (item, v) in map {
            let refs: Vec<&Value> = match v {
                Value::Array(a) => a.iter().collect(),
                other => vec![other],
            };
            let mut files: Vec<Value> = Vec::new();
            for r in refs {
                let file = match r {
                    Value::Number(n) => n
                        .as_u64()
                        .and_then(|i| usize::try_from(i).ok())
                        .and_then(|i| i.checked_sub(1))
                        .and_then(|i| selected.get(i))
                        .cloned(),
                    Value::String(f) => Some(f.clone()),
                    _ => None,
                };
                if let Some(f) = file.map(Value::String)
                    && !files.contains(&f)
                {
                    files.push(f);
                }
            }
            trace.insert(item.clone(), Value::Array(files));
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let mut out = Map::new();
    out.insert(
        "project_name".into(),
        obj.get("project_name")
            .cloned()
            .unwrap_or(Value::String(String::new())),
    );
    out.insert(
        "selected_docs".into(),
        Value::Array(selected.into_iter().map(Value::String).collect()),
    );
    out.insert("design_areas".into(), Value::Object(areas));
    out.insert("rationale".into(), Value::Object(rationale));
    out.insert(
        "assumptions_tbd".into(),
        obj.get("assumptions_tbd")
            .cloned()
            .unwrap_or(Value::Array(Vec::new())),
    );
    out.insert("traceability".into(), Value::Object(trace));
    out.insert(
        "phase_plan_overview".into(),
        obj.get("phase_plan_overview")
            .cloned()
            .unwrap_or(Value::Array(Vec::new())),
    );
    Ok(Value::Object(out))
}

/// Merges the sections an integration changed into the document: each top-level key present in
/// `changed` replaces the old one. Non-object inputs leave the document unchanged.
pub fn apply_revision(document: &Value, changed: &Value) -> Value {
    let mut out = document.clone();
    if let (Some(o), Some(c)) = (out.as_object_mut(), changed.as_object()) {
        for (k, v) in c {
            if !v.is_null() {
                o.insert(k.clone(), v.clone());
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn review_accepts_drift_in_category_shape_and_extra_fields() {
        let v = json!({"items": [
            {"category": "Critical", "section": "API Design", "comment": "no auth", "suggestion": "add tokens", "confidence": 0.9},
            {"category": "nice to have", "section": "Data", "comment": "index"},
            {"severity": "🔴 Blocker", "comment": "no rollback"},
            {"category": "Question", "section": "x", "comment": "why?", "suggestion": ""}
        ]});
        let out = parse_review(&v).unwrap();
        let cats: Vec<Category> = out.items.iter().map(|i| i.category).collect();
        assert_eq!(
            cats,
            [
                Category::Critical,
                Category::NiceToHave,
                Category::Critical,
                Category::Question
            ]
        );
        assert_eq!(out.items[2].section, "General");
        assert_eq!(out.items[1].suggestion, "");
        let bare = parse_review(
            &json!([{"category": "important", "section": "s", "comment": "c", "suggestion": "s"}]),
        )
        .unwrap();
        assert_eq!(bare.items.len(), 1);
    }

    #[test]
    fn review_rejects_unusable_output_with_findings() {
        let err = parse_review(&json!({"summary": "looks good"})).unwrap_err();
        assert!(err[0].contains("items"));
        let err =
            parse_review(&json!({"items": [{"category": "purple", "comment": "x"}]})).unwrap_err();
        assert!(err[0].contains("purple"), "{err:?}");
    }

    #[test]
    fn integration_normalises_decisions_and_requires_reasons_for_rejections() {
        let v = json!({
            "dispositions": [
                {"item_id": "PE-r1-1", "decision": "Accept", "rationale": "right", "change": "Section 3: added retries"},
                {"id": "CR-r1-1", "decision": "DEFERRED", "rationale": "phase 2"}
            ],
            "document": {"summary": "new"},
            "revision": {"changes": ["Section 3: retries"], "rationale": "PE asked"},
            "thoughts": "ignored"
        });
        let out = parse_integration(&v).unwrap();
        assert_eq!(out.dispositions[0].decision, Decision::Accepted);
        assert_eq!(out.dispositions[1].decision, Decision::Deferred);
        assert_eq!(out.dispositions[1].item_id, "CR-r1-1");
        let err =
            parse_integration(&json!({"dispositions": [{"item_id": "A", "decision": "rejected"}]}))
                .unwrap_err();
        assert!(err[0].contains("needs a rationale"), "{err:?}");
        let err =
            parse_integration(&json!({"dispositions": [{"item_id": "A", "decision": "maybe"}]}))
                .unwrap_err();
        assert!(err[0].contains("maybe"));
        let none = parse_integration(&json!({"dispositions": []})).unwrap();
        assert_eq!(none.document, json!({}));
    }

    #[test]
    fn rereview_maps_status_words() {
        let v = json!({"verdicts": [
            {"item_id": "PE-r1-1", "status": "Resolved", "note": "ok"},
            {"item_id": "PE-r1-2", "status": "reopen", "note": "still no retry budget"}
        ], "new_items": [{"category": "important", "section": "s", "comment": "c", "suggestion": ""}]});
        let out = parse_rereview(&v).unwrap();
        assert_eq!(out.verdicts[0].status, VerdictStatus::Closed);
        assert_eq!(out.verdicts[1].status, VerdictStatus::Reopened);
        assert_eq!(out.new_items.len(), 1);
        assert_eq!(
            parse_rereview(&json!({})).unwrap(),
            ReReviewOutput::default()
        );
    }

    #[test]
    fn manifest_draft_becomes_the_manifest_shape() {
        let draft = json!({
            "project_name": "readtime",
            "docs": [
                {"file": "core_design.md", "scope": "Counting", "rationale": "O1"},
                {"file": "adapters_design.md", "scope": "HTML", "rationale": "O1, O3"},
                {"file": "core_design.md", "scope": "dup", "rationale": "dup"}
            ],
            "assumptions_tbd": [{"assumption": "English only", "owner": "product"}],
            "traceability": [
                {"prd_item": "O1", "docs": ["core_design.md"]},
                {"prd_item": "O1", "docs": ["adapters_design.md", "core_design.md"]},
                {"prd_item": "J2", "docs": ["core_design.md"]}
            ],
            "phase_plan_overview": [{"phase": "MVP", "goals": "g", "exit_criteria": "e"}]
        });
        let m = manifest_from_output(&draft).unwrap();
        assert_eq!(
            m["selected_docs"],
            json!(["core_design.md", "adapters_design.md", "core_2_design.md"])
        );
        assert_eq!(m["design_areas"]["core_2_design.md"], "dup");
        assert_eq!(m["design_areas"]["core_design.md"], "Counting");
        assert_eq!(
            m["traceability"]["O1"],
            json!(["core_design.md", "adapters_design.md"])
        );
        let schema = crate::schema::manifest_schema(2, 6);
        assert!(
            crate::schema::compile(&schema).unwrap().is_valid(&m),
            "{m:#}"
        );
        assert_eq!(
            manifest_from_output(&m).unwrap(),
            m,
            "the manifest shape passes through"
        );
        assert!(
            manifest_from_output(&json!({"project_name": "x"})).unwrap_err()[0].contains("docs")
        );
    }

    #[test]
    fn a_repeated_long_name_gets_a_number_and_stays_a_valid_name() {
        // Seen with SmolLM2: the same five-part name twice; `_2` appended made a sixth part,
        // which no repair could fix because the model never wrote that name.
        let name = "tmph9lu1k_core_design_project_summary_design.md";
        let doc = |f: &str| json!({"file": f, "scope": "s", "rationale": "r"});
        let draft = json!({
            "project_name": "p",
            "docs": [doc(name), doc(name), doc("api_design.md"), doc("api_design.md")],
            "assumptions_tbd": [],
            "traceability": {"O1": [2, 4]},
            "phase_plan_overview": []
        });
        let m = manifest_from_output(&draft).unwrap();
        assert_eq!(
            m["selected_docs"],
            json!([
                name,
                "tmph9lu1k_core_design_project_2_design.md",
                "api_design.md",
                "api_2_design.md"
            ])
        );
        let findings = crate::validate::validate_manifest(&m, None, 1, 6);
        assert!(
            !findings
                .iter()
                .any(|f| f.to_string().contains("does not match")),
            "{findings:?}"
        );
    }

    #[test]
    fn traceability_by_document_position_names_the_documents() {
        let draft = json!({
            "project_name": "readtime",
            "docs": [
                {"file": "core_design.md", "scope": "Counting", "rationale": "O1"},
                {"file": "cli_design.md", "scope": "CLI", "rationale": "J1"}
            ],
            "assumptions_tbd": [],
            "traceability": {"O1": [1, 1], "FR-1": [2, 1], "J1": [3], "A user reads it": [2]},
            "phase_plan_overview": [{"phase": "MVP", "goals": "g", "exit_criteria": "e"}]
        });
        let m = manifest_from_output(&draft).unwrap();
        assert_eq!(m["traceability"]["O1"], json!(["core_design.md"]));
        assert_eq!(
            m["traceability"]["FR-1"],
            json!(["cli_design.md", "core_design.md"])
        );
        // No third document: the item stays untraced (and becomes a final-review item).
        assert_eq!(m["traceability"]["J1"], json!([]));
        assert_eq!(
            m["traceability"]["A user reads it"],
            json!(["cli_design.md"])
        );
    }

    #[test]
    fn revisions_merge() {
        let doc = json!({"a": 1, "b": 2});
        assert_eq!(
            apply_revision(&doc, &json!({"b": 3, "c": null})),
            json!({"a": 1, "b": 3})
        );
    }
}

#[cfg(test)]
mod fuzz {
    use super::*;
    use proptest::prelude::*;

    /// Arbitrary JSON values, a few levels deep, with keys the parsers look for.
    fn json_value() -> impl Strategy<Value = Value> {
        let key = prop_oneof![
            Just("items".to_string()),
            Just("category".to_string()),
            Just("comment".to_string()),
            Just("dispositions".to_string()),
            Just("decision".to_string()),
            Just("item_id".to_string()),
            Just("verdicts".to_string()),
            Just("status".to_string()),
            Just("document".to_string()),
            Just("revision".to_string()),
            "\\PC{0,8}",
        ];
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            "\\PC{0,20}".prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 48, 6, move |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::vec((key.clone(), inner), 0..6)
                    .prop_map(|kv| Value::Object(kv.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn parsers_never_panic_on_arbitrary_json(v in json_value()) {
            let _ = parse_review(&v);
            let _ = parse_integration(&v);
            let _ = parse_rereview(&v);
            let _ = apply_revision(&v, &v);
        }

        #[test]
        fn category_parsing_never_panics(s in "\\PC{0,200}") {
            let _ = parse_category(&s);
        }

        #[test]
        fn rendering_never_panics_on_arbitrary_documents(v in json_value()) {
            let tpl = crate::templates::Templates::builtin().unwrap();
            let meta = crate::render::RenderMeta::new("p", "2026-01-01");
            for kind in crate::DocKind::ALL {
                let _ = crate::render::render(kind, &v, &meta, &tpl);
                let _ = crate::normalize::normalize(kind, &v);
            }
        }

        #[test]
        fn filters_never_panic(s in "\\PC{0,120}") {
            use crate::templates::*;
            let _ = (md(&s), cell(&s), item(&s), code(&s), inline(&s));
            let id = mermaid_id(&s);
            prop_assert!(id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'));
            let label = mermaid_label(&s);
            prop_assert!(!label.contains('"') && !label.contains('\n'));
        }
    }
}
