//! Document JSON -> markdown.
//!
//! [`render`] checks the JSON against the document's schema (seed counts kept, length caps and
//! extra fields tolerated), normalises what models commonly get slightly wrong (effort written as
//! "Medium", a recommendation written as "Option B", diagram edges that name a label instead of an
//! id), and renders the kind's template. Errors say what is missing, by section, so they can go
//! straight back to the author as repair findings.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::DocKind;
use super::schema::{RATING_DIMENSIONS, SchemaLimits, document_schema, option_letter};
use super::sections::sections;
use super::templates::{Templates, mermaid_id};
use crate::protocol::{Disposition, FeedbackItem, ItemStatus, RevisionEntry, Stage};

/// The names of the four phases of a design doc's "Phased Design & Test Gates" (seed 004).
pub const PHASE_NAMES: [&str; 4] = [
    "Phase 0 – Spike/Prototype",
    "Phase 1 – MVP",
    "Phase 2 – Scale-Up",
    "Phase 3 – Hardening/Optimizations",
];

/// Everything a rendered document shows that is not the author's JSON.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct RenderMeta {
    pub project_name: String,
    /// ISO date, e.g. `2026-11-22`.
    pub date: String,
    /// `Draft`, `Review` or `Approved`.
    pub status: String,
    /// The author role.
    pub author: String,
    pub reviewers: Vec<String>,
    /// The document's revision history, oldest first.
    #[serde(default)]
    pub revisions: Vec<RevisionEntry>,
    /// For design docs: the absolute path of the file, written as the first-line HTML comment
    /// (seed 004), e.g. `/home/me/app/.agentmux/specs/api_design.md`.
    #[serde(default)]
    pub spec_path: Option<String>,
    /// Feedback items still open when the document was written; listed, never dropped.
    #[serde(default)]
    pub open_items: Vec<FeedbackItem>,
}

impl RenderMeta {
    /// A draft by the architect with no reviewers, history or open items.
    pub fn new(project_name: impl Into<String>, date: impl Into<String>) -> Self {
        Self {
            project_name: project_name.into(),
            date: date.into(),
            status: "Draft".into(),
            author: "architect".into(),
            ..Self::default()
        }
    }
}

/// Renders a document. The error lists every problem found (missing sections, wrong shapes,
/// counts outside the seed's limits), each naming its section.
pub fn render(
    kind: DocKind,
    doc: &Value,
    meta: &RenderMeta,
    tpl: &Templates,
) -> Result<String, Vec<String>> {
    let doc = normalize(kind, doc);
    let mut errors = check(kind, &doc);
    if kind == DocKind::DesignDoc {
        match meta.spec_path.as_deref() {
            Some(p) if p.starts_with('/') => {}
            Some(p) => errors.push(format!(
                "the design doc path `{p}` is not absolute (seed 004 wants the absolute path in the first line)"
            )),
            None => errors.push("a design doc needs its absolute path (RenderMeta.spec_path)".into()),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let s = sections();
    let ctx = json!({
        "doc": doc,
        "meta": meta,
        "sections": s.of(kind),
        "option_parts": s.option_parts,
        "step_parts": s.step_parts,
        "rating_dimensions": RATING_DIMENSIONS,
        "phase_names": PHASE_NAMES,
    });
    let out = tpl
        .render(kind.template_name(), &ctx)
        .map_err(|e| vec![e])?;
    Ok(tidy(&out))
}

/// Checks a (normalised) document against its schema and the cross-field rules.
pub fn check(kind: DocKind, doc: &Value) -> Vec<String> {
    let schema = document_schema(kind, &SchemaLimits::relaxed());
    let validator = match jsonschema::validator_for(&schema) {
        Ok(v) => v,
        Err(e) => return vec![format!("internal: the {kind} schema does not compile: {e}")],
    };
    let mut errors: Vec<String> = validator
        .iter_errors(doc)
        .take(30)
        .map(|e| format!("{}: {}", where_is(kind, &e.instance_path.to_string()), e))
        .collect();
    if kind == DocKind::Options
        && errors.is_empty()
        && let (Some(opts), Some(rec)) = (
            doc["options"].as_array(),
            doc["comparison"]["recommended"].as_str(),
        )
    {
        let letters: Vec<String> = (0..opts.len()).map(option_letter).collect();
        if !letters.iter().any(|l| l == rec) {
            errors.push(format!(
                "Option Comparison and Decision: the recommended option `{rec}` is not one of {}",
                letters.join(", ")
            ));
        }
    }
    errors
}

/// "/steps/3/objective" -> "High-Level Implementation Plan (steps[3].objective)".
fn where_is(kind: DocKind, pointer: &str) -> String {
    let parts: Vec<&str> = pointer.split('/').filter(|p| !p.is_empty()).collect();
    let Some(first) = parts.first() else {
        return "document".into();
    };
    let mut path = first.to_string();
    for p in &parts[1..] {
        if p.chars().all(|c| c.is_ascii_digit()) {
            path.push_str(&format!("[{p}]"));
        } else {
            path.push('.');
            path.push_str(p);
        }
    }
    match sections().find(kind, first) {
        Some(sec) => format!("{} ({path})", sec.title),
        None => path,
    }
}

/// Fixes what models commonly get slightly wrong, without inventing content.
pub fn normalize(kind: DocKind, doc: &Value) -> Value {
    let mut doc = doc.clone();
    match kind {
        DocKind::Options => {
            if let Some(opts) = doc.get_mut("options").and_then(Value::as_array_mut) {
                for o in opts.iter_mut() {
                    normalize_effort(o);
                    if let Some(name) = o.get_mut("name")
                        && let Some(s) = name.as_str()
                    {
                        let stripped = strip_option_prefix(s);
                        if !stripped.is_empty() && stripped.len() < s.len() {
                            *name = Value::String(stripped.to_string());
                        }
                    }
                    if let Some(d) = o.get_mut("diagram") {
                        normalize_diagram(d);
                    }
                }
            }
            let names: Vec<String> = doc["options"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .map(|o| o["name"].as_str().unwrap_or_default().to_string())
                        .collect()
                })
                .unwrap_or_default();
            if let Some(rec) = doc.pointer_mut("/comparison/recommended")
                && let Some(s) = rec.as_str()
                && let Some(letter) = recommended_letter(s, &names)
            {
                *rec = Value::String(letter);
            }
        }
        DocKind::Proposal => {
            if let Some(d) = doc.pointer_mut("/approach/diagram") {
                normalize_diagram(d);
            }
            if let Some(risks) = doc.get_mut("risks").and_then(Value::as_array_mut) {
                for r in risks.iter_mut() {
                    for key in ["likelihood", "impact"] {
                        if let Some(v) = r.get_mut(key)
                            && let Some(level) = v.as_str().and_then(level)
                        {
                            *v = Value::String(level.into());
                        }
                    }
                }
            }
        }
        DocKind::DesignDoc => {
            if let Some(d) = doc.pointer_mut("/architecture_overview/diagram") {
                normalize_diagram(d);
            }
            if let Some(t) = doc.get_mut("title")
                && let Some(s) = t.as_str()
            {
                *t = Value::String(strip_design_suffix(s).to_string());
            }
        }
        DocKind::Prd | DocKind::ImplementationPlan => {}
    }
    doc
}

/// "Option B: Registry" -> "Registry" (the template writes the letter itself).
fn strip_option_prefix(s: &str) -> &str {
    let t = s.trim();
    let Some(rest) = t
        .get(..7)
        .filter(|p| p.eq_ignore_ascii_case("option "))
        .map(|_| &t[7..])
    else {
        return t;
    };
    let mut chars = rest.chars();
    let letter = chars.next();
    let after = chars.as_str();
    const SEPS: [char; 6] = [':', '-', '–', '.', ')', ' '];
    match letter {
        Some(c) if c.is_ascii_alphabetic() && after.is_empty() => "",
        Some(c) if c.is_ascii_alphabetic() && after.starts_with(SEPS) => {
            after.trim_start_matches(SEPS)
        }
        _ => t,
    }
}

fn strip_design_suffix(s: &str) -> &str {
    let t = s.trim();
    for suffix in [" design document", " design doc", " design"] {
        if t.len() > suffix.len() && t.to_ascii_lowercase().ends_with(suffix) {
            return t[..t.len() - suffix.len()].trim_end();
        }
    }
    t
}

fn level(s: &str) -> Option<&'static str> {
    match s.trim().to_ascii_lowercase().as_str() {
        "low" | "l" => Some("Low"),
        "medium" | "med" | "m" | "moderate" => Some("Medium"),
        "high" | "h" | "critical" => Some("High"),
        _ => None,
    }
}

fn effort_size(s: &str) -> Option<&'static str> {
    let first = s
        .trim()
        .split(|c: char| !c.is_ascii_alphabetic())
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    match first.as_str() {
        "s" | "small" => Some("S"),
        "m" | "medium" => Some("M"),
        "l" | "large" => Some("L"),
        _ => None,
    }
}

fn normalize_effort(option: &mut Value) {
    let Some(effort) = option.get_mut("effort") else {
        return;
    };
    if let Some(s) = effort.as_str() {
        if let Some(size) = effort_size(s) {
            let rest = s.trim()[s
                .trim()
                .find(|c: char| !c.is_ascii_alphabetic())
                .unwrap_or(s.trim().len())..]
                .trim_matches(|c: char| {
                    c.is_whitespace() || matches!(c, '(' | ')' | ',' | '-' | ':' | '–')
                })
                .to_string();
            *effort = json!({"size": size, "timeline": if rest.is_empty() { "unspecified".to_string() } else { rest }});
        }
        return;
    }
    if let Some(size) = effort.get_mut("size")
        && let Some(s) = size.as_str().and_then(effort_size)
    {
        *size = Value::String(s.into());
    }
}

/// "B", "Option B", "option b: Library", or an option's name -> "B".
fn recommended_letter(s: &str, names: &[String]) -> Option<String> {
    let t = s.trim();
    let lower = t.to_ascii_lowercase();
    let body = lower
        .strip_prefix("option")
        .map(str::trim_start)
        .unwrap_or(&lower);
    let mut chars = body.chars();
    if let Some(c) = chars.next()
        && c.is_ascii_alphabetic()
        && chars.next().is_none_or(|n| !n.is_ascii_alphanumeric())
    {
        return Some(c.to_ascii_uppercase().to_string());
    }
    names
        .iter()
        .position(|n| !n.is_empty() && n.eq_ignore_ascii_case(t))
        .map(option_letter)
}

/// Makes a diagram self-consistent: direction LR or TD, unique node ids, every edge endpoint a
/// node (an endpoint naming a node's label is mapped to that node; an unknown one becomes a node).
pub fn normalize_diagram(d: &mut Value) {
    let Some(obj) = d.as_object_mut() else {
        return;
    };
    let dir = obj
        .get("direction")
        .and_then(Value::as_str)
        .map(|s| s.trim().to_ascii_uppercase())
        .unwrap_or_default();
    let dir = match dir.as_str() {
        "LR" | "RL" => "LR",
        "TD" | "TB" | "BT" => "TD",
        _ => "LR",
    };
    obj.insert("direction".into(), Value::String(dir.into()));

    let mut nodes: Vec<(String, String)> = Vec::new(); // (id, label)
    if let Some(list) = obj.get("nodes").and_then(Value::as_array) {
        for n in list {
            let id = n["id"].as_str().unwrap_or_default().trim().to_string();
            let label = n["label"].as_str().unwrap_or_default().trim().to_string();
            let id = if id.is_empty() { label.clone() } else { id };
            if id.is_empty() || nodes.iter().any(|(i, _)| mermaid_id(i) == mermaid_id(&id)) {
                continue;
            }
            let label = if label.is_empty() { id.clone() } else { label };
            nodes.push((id, label));
        }
    }
    let mut edges: Vec<Value> = Vec::new();
    if let Some(list) = obj.get("edges").and_then(Value::as_array) {
        for e in list {
            let from = e["from"].as_str().unwrap_or_default().trim().to_string();
            let to = e["to"].as_str().unwrap_or_default().trim().to_string();
            if from.is_empty() || to.is_empty() {
                continue;
            }
            let from = resolve_endpoint(&from, &mut nodes);
            let to = resolve_endpoint(&to, &mut nodes);
            let label = e["label"].as_str().unwrap_or_default().trim().to_string();
            edges.push(json!({"from": from, "to": to, "label": label}));
        }
    }
    if nodes.is_empty() || (nodes.len() == 1 && edges.is_empty()) {
        // Leave the arrays as they were so the schema check reports the missing parts.
        return;
    }
    obj.insert(
        "nodes".into(),
        Value::Array(
            nodes
                .into_iter()
                .map(|(id, label)| json!({"id": id, "label": label}))
                .collect(),
        ),
    );
    obj.insert("edges".into(), Value::Array(edges));
}

fn resolve_endpoint(name: &str, nodes: &mut Vec<(String, String)>) -> String {
    let key = mermaid_id(name);
    if let Some((id, _)) = nodes.iter().find(|(id, _)| mermaid_id(id) == key) {
        return id.clone();
    }
    if let Some((id, _)) = nodes
        .iter()
        .find(|(_, label)| label.eq_ignore_ascii_case(name))
    {
        return id.clone();
    }
    nodes.push((name.to_string(), name.to_string()));
    name.to_string()
}

/// Collapses runs of blank lines and ends the text with exactly one newline.
fn tidy(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut blank = 0;
    let mut in_fence = false;
    for line in s.trim_start_matches('\n').lines() {
        let t = line.trim_start();
        if t.starts_with("```") || t.starts_with("~~~") {
            in_fence = !in_fence;
        }
        if line.trim().is_empty() && !in_fence {
            blank += 1;
            if blank > 1 {
                continue;
            }
        } else {
            blank = 0;
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    let trimmed = out.trim_end();
    format!("{trimmed}\n")
}

/// The keys of the top-level sections whose content differs between two versions.
pub fn changed_sections(kind: DocKind, old: &Value, new: &Value) -> Vec<String> {
    let mut keys: Vec<String> = sections()
        .of(kind)
        .iter()
        .filter(|s| old.get(&s.key) != new.get(&s.key))
        .map(|s| s.key.clone())
        .collect();
    if old.get("title") != new.get("title") {
        keys.insert(0, "title".into());
    }
    keys
}

/// The `## N. Title` sections of a rendered document whose keys are in `keys`, in order.
pub fn extract_sections(kind: DocKind, markdown: &str, keys: &[String]) -> String {
    let mut out = String::new();
    for sec in sections().of(kind) {
        if !keys.contains(&sec.key) {
            continue;
        }
        if let Some(text) = section_text(markdown, &sec.title) {
            out.push_str(text.trim_end());
            out.push_str("\n\n");
        }
    }
    out.trim_end().to_string()
}

/// The text of the level-2 section titled `title` (numbered or not), heading included, up to
/// the next level-1 or level-2 heading.
pub fn section_text<'a>(markdown: &'a str, title: &str) -> Option<&'a str> {
    heading_block(markdown, 2, |h| {
        let h = h.trim();
        let h = h
            .split_once(". ")
            .filter(|(n, _)| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
            .map(|(_, rest)| rest)
            .unwrap_or(h);
        h.eq_ignore_ascii_case(title)
    })
}

/// The block of the first heading of `level` whose text satisfies `matches`, heading
/// included, up to the next heading of the same or a higher level (outside code fences).
pub fn heading_block(markdown: &str, level: usize, matches: impl Fn(&str) -> bool) -> Option<&str> {
    let mut start = None;
    let mut in_fence = false;
    let mut offset = 0;
    for line in markdown.split_inclusive('\n') {
        let t = line.trim_start();
        if t.starts_with("```") || t.starts_with("~~~") {
            in_fence = !in_fence;
        }
        if !in_fence {
            let hashes = t.chars().take_while(|c| *c == '#').count();
            if hashes >= 1 && hashes <= level && t[hashes..].starts_with(' ') {
                if start.is_some() {
                    return start.map(|s| &markdown[s..offset]);
                }
                if hashes == level && matches(t[hashes..].trim()) {
                    start = Some(offset);
                }
            }
        }
        offset += line.len();
    }
    start.map(|s| &markdown[s..])
}

/// One item of the feedback ledger (`.agentmux/feedback.json` is a list of these).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct LedgerEntry {
    pub item: FeedbackItem,
    /// The author's latest disposition, if any.
    #[serde(default)]
    pub disposition: Option<Disposition>,
    pub status: ItemStatus,
    /// Reviewer notes from re-reviews (close/reopen), oldest first.
    #[serde(default)]
    pub notes: Vec<String>,
}

/// Renders `.agentmux/feedback.md`: counts by status, then every item grouped by stage.
pub fn render_feedback(
    project_name: &str,
    entries: &[LedgerEntry],
    tpl: &Templates,
) -> Result<String, Vec<String>> {
    let mut groups = Vec::new();
    for stage in Stage::ALL {
        let list: Vec<&LedgerEntry> = entries.iter().filter(|e| e.item.stage == stage).collect();
        if !list.is_empty() {
            groups.push(json!({"stage": stage_title(stage), "entries": list}));
        }
    }
    let count = |s: ItemStatus| entries.iter().filter(|e| e.status == s).count();
    let counts = json!([
        ["open", count(ItemStatus::Open)],
        ["addressed", count(ItemStatus::Addressed)],
        ["closed", count(ItemStatus::Closed)],
        ["total", entries.len()],
    ]);
    let ctx = json!({"project_name": project_name, "groups": groups, "counts": counts});
    let out = tpl.render("feedback.md.j2", &ctx).map_err(|e| vec![e])?;
    Ok(tidy(&out))
}

fn stage_title(stage: Stage) -> &'static str {
    match stage {
        Stage::Intake => "Intake",
        Stage::Requirements => "Requirements",
        Stage::Options => "Architecture Options",
        Stage::Helpers => "Helpers",
        Stage::Proposal => "Design Proposal",
        Stage::DesignDocs => "Design Documents",
        Stage::FinalReview => "Final Review",
        Stage::ImplementationPlan => "Implementation Plan",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::Category;

    pub(crate) fn fixture(kind: DocKind) -> Value {
        let text = match kind {
            DocKind::Prd => include_str!("../../tests/fixtures/docs/prd.json"),
            DocKind::Options => include_str!("../../tests/fixtures/docs/options.json"),
            DocKind::Proposal => include_str!("../../tests/fixtures/docs/proposal.json"),
            DocKind::DesignDoc => include_str!("../../tests/fixtures/docs/design_doc.json"),
            DocKind::ImplementationPlan => {
                include_str!("../../tests/fixtures/docs/implementation_plan.json")
            }
        };
        serde_json::from_str(text).unwrap()
    }

    fn meta() -> RenderMeta {
        let mut m = RenderMeta::new("readtime", "2026-01-15");
        m.reviewers = vec!["principal-engineer".into(), "code-reviewer".into()];
        m.spec_path = Some("/work/readtime/.agentmux/specs/estimation_core_design.md".into());
        m
    }

    fn render_fixture(kind: DocKind) -> String {
        let tpl = Templates::builtin().unwrap();
        render(kind, &fixture(kind), &meta(), &tpl).unwrap_or_else(|e| panic!("{kind}: {e:#?}"))
    }

    #[test]
    fn every_kind_renders_its_sections_in_order() {
        for kind in DocKind::ALL {
            let md = render_fixture(kind);
            let mut pos = 0;
            for (i, sec) in sections().of(kind).iter().enumerate() {
                let heading = format!("\n## {}. {}\n", i + 1, sec.title);
                let at = md[pos..].find(&heading).unwrap_or_else(|| {
                    panic!("{kind}: `{heading}` missing or out of order in\n{md}")
                });
                pos += at + heading.len();
            }
            assert!(!md.contains("\n\n\n"), "{kind}: blank-line runs");
            assert!(md.ends_with('\n') && !md.ends_with("\n\n"));
        }
    }

    #[test]
    fn rendered_documents_snapshot() {
        for kind in DocKind::ALL {
            insta::assert_snapshot!(format!("render_{}", kind.key()), render_fixture(kind));
        }
    }

    #[test]
    fn design_doc_starts_with_its_absolute_path() {
        let md = render_fixture(DocKind::DesignDoc);
        assert!(md.starts_with("<!-- /work/readtime/.agentmux/specs/estimation_core_design.md -->\n# Estimation Core Design Document\n"), "{md}");
        let tpl = Templates::builtin().unwrap();
        let mut m = meta();
        m.spec_path = Some("specs/x_design.md".into());
        let err = render(DocKind::DesignDoc, &fixture(DocKind::DesignDoc), &m, &tpl).unwrap_err();
        assert!(err[0].contains("not absolute"), "{err:?}");
    }

    #[test]
    fn options_are_normalised_before_rendering() {
        let md = render_fixture(DocKind::Options);
        assert!(md.contains("**Effort**: M (1 week)"), "effort string split");
        assert!(
            md.contains("**Recommendation**: Option A: Single module"),
            "{md}"
        );
        assert_eq!(md.matches("```mermaid").count(), 3);
        // An edge naming a node by its label reuses that node instead of inventing one.
        assert!(
            md.contains("core -->|\"#quot;3 min read#quot;\"|")
                || md.contains("core -->|\"3 min read\"| shell"),
            "{md}"
        );
    }

    #[test]
    fn missing_and_malformed_sections_are_listed_by_title() {
        let tpl = Templates::builtin().unwrap();
        let mut doc = fixture(DocKind::Proposal);
        let o = doc.as_object_mut().unwrap();
        o.remove("security");
        o["steps"] = Value::Array(o["steps"].as_array().unwrap()[..5].to_vec());
        o["summary"] = json!("");
        let err = render(DocKind::Proposal, &doc, &meta(), &tpl).unwrap_err();
        let all = err.join("\n");
        assert!(all.contains("\"security\" is a required property"), "{all}");
        assert!(
            all.contains("High-Level Implementation Plan (steps)"),
            "{all}"
        );
        assert!(all.contains("Title and Summary (summary)"), "{all}");
        assert_eq!(err.len(), 3, "{all}");
    }

    #[test]
    fn option_names_lose_a_repeated_letter() {
        assert_eq!(strip_option_prefix("Option B: Registry"), "Registry");
        assert_eq!(strip_option_prefix("option c - CLI"), "CLI");
        assert_eq!(strip_option_prefix("Option A"), "");
        assert_eq!(strip_option_prefix("Optional cache"), "Optional cache");
        assert_eq!(strip_option_prefix("Monolith"), "Monolith");
        assert_eq!(strip_option_prefix("Option B– Ünïcode"), "Ünïcode");
        assert_eq!(strip_option_prefix("Option Bx"), "Option Bx");
    }

    #[test]
    fn recommendation_must_name_an_existing_option() {
        let tpl = Templates::builtin().unwrap();
        let mut doc = fixture(DocKind::Options);
        doc["comparison"]["recommended"] = json!("D");
        let err = render(DocKind::Options, &doc, &meta(), &tpl).unwrap_err();
        assert!(err[0].contains("`D` is not one of A, B, C"), "{err:?}");
    }

    #[test]
    fn diagrams_become_consistent() {
        let mut d = json!({"direction": "tb", "nodes": [
            {"id": "a", "label": "Alpha"}, {"id": "a", "label": "dup"}, {"id": "", "label": "Beta"}
        ], "edges": [
            {"from": "Alpha", "to": "Beta", "label": "x"}, {"from": "a", "to": "Gamma"}, {"from": "", "to": "a"}
        ]});
        normalize_diagram(&mut d);
        assert_eq!(d["direction"], "TD");
        let ids: Vec<&str> = d["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["id"].as_str().unwrap())
            .collect();
        assert_eq!(ids, ["a", "Beta", "Gamma"]);
        assert_eq!(
            d["edges"][0],
            json!({"from": "a", "to": "Beta", "label": "x"})
        );
        assert_eq!(d["edges"].as_array().unwrap().len(), 2);
    }

    #[test]
    fn appendix_lists_revisions_and_open_items() {
        let tpl = Templates::builtin().unwrap();
        let mut m = meta();
        m.revisions.push(RevisionEntry {
            date: "2026-01-16".into(),
            feedback_from: vec!["principal-engineer".into()],
            changes: vec![
                "Section 13: added retry budget (PE-r1-2)".into(),
                "Section 6: | pipes".into(),
            ],
            rationale: "Bounded retries".into(),
        });
        m.open_items.push(FeedbackItem {
            id: "CR-r2-1".into(),
            author: "code-reviewer".into(),
            stage: Stage::Proposal,
            round: 2,
            category: Category::Important,
            section: "API Design".into(),
            comment: "Error format undefined".into(),
            suggestion: None,
        });
        let md = render(DocKind::Proposal, &fixture(DocKind::Proposal), &m, &tpl).unwrap();
        let appendix = section_text(&md, "Appendix").unwrap();
        assert!(appendix.contains("| 2026-01-16 | principal-engineer | Section 13: added retry budget (PE-r1-2)<br>Section 6: \\| pipes | Bounded retries |"), "{appendix}");
        assert!(
            appendix.contains("| CR-r2-1 | important | API Design | Error format undefined |"),
            "{appendix}"
        );
    }

    #[test]
    fn changed_sections_are_extracted_from_the_rendered_document() {
        let old = fixture(DocKind::Proposal);
        let mut new = old.clone();
        new["security"] = json!("Tokens are checked on every call.");
        new["risks"][0]["mitigation"] = json!("Strip script tags");
        let keys = changed_sections(DocKind::Proposal, &old, &new);
        assert_eq!(keys, ["security", "risks"]);
        let tpl = Templates::builtin().unwrap();
        let md = render(DocKind::Proposal, &new, &meta(), &tpl).unwrap();
        let text = extract_sections(DocKind::Proposal, &md, &keys);
        assert!(
            text.starts_with("## 10. Security Design\n\nTokens are checked"),
            "{text}"
        );
        assert!(
            text.contains("## 16. Risks and Mitigations") && text.contains("Strip script tags")
        );
        assert!(!text.contains("Observability"));
    }

    #[test]
    fn feedback_ledger_renders_every_item() {
        let tpl = Templates::builtin().unwrap();
        let item = |id: &str, author: &str, stage| FeedbackItem {
            id: id.into(),
            author: author.into(),
            stage,
            round: 1,
            category: Category::Critical,
            section: "Approach".into(),
            comment: "No retry | budget".into(),
            suggestion: Some("Cap at 3".into()),
        };
        let entries = vec![
            LedgerEntry {
                item: item("PE-r1-1", "principal-engineer", Stage::Options),
                disposition: Some(Disposition {
                    item_id: "PE-r1-1".into(),
                    decision: crate::protocol::Decision::Accepted,
                    rationale: "Right".into(),
                    change: Some("Option A risks".into()),
                    round: 1,
                }),
                status: ItemStatus::Closed,
                notes: vec!["fixed".into()],
            },
            LedgerEntry {
                item: item("CR-r1-1", "code-reviewer", Stage::Proposal),
                disposition: None,
                status: ItemStatus::Open,
                notes: vec![],
            },
        ];
        let md = render_feedback("readtime", &entries, &tpl).unwrap();
        insta::assert_snapshot!("feedback_ledger", md);
        assert!(
            md.find("## Architecture Options").unwrap() < md.find("## Design Proposal").unwrap()
        );
        assert!(
            md.contains(
                "| PE-r1-1 | principal-engineer | 1 | critical | Approach | accepted | closed |"
            ),
            "{md}"
        );
    }

    /// The mermaid blocks of a markdown document.
    fn mermaid_blocks(md: &str) -> Vec<String> {
        md.split("```mermaid\n")
            .skip(1)
            .map(|rest| rest.split("\n```").next().unwrap().to_string())
            .collect()
    }

    /// Parses a block with a real mermaid parser and returns (nodes, edges).
    fn parse_mermaid(src: &str) -> Result<(usize, usize), String> {
        let parsed = merman_core::SemanticParser::new()
            .parse_diagram_sync(src)
            .map_err(|e| e.to_string())?;
        // The model type lives in merman-model (not a direct dependency): count via Debug.
        let dbg = format!("{:?}", parsed.model);
        Ok((
            dbg.matches("FlowNode {").count(),
            dbg.matches("FlowEdge {").count(),
        ))
    }

    #[test]
    fn the_mermaid_parser_is_strict_enough_to_catch_broken_labels() {
        assert!(parse_mermaid("flowchart LR\n    a[\"say \"hi\"\"] --> b").is_err());
        assert_eq!(
            parse_mermaid("flowchart LR\n    a[\"A\"] -->|\"x\"| b[\"B\"]"),
            Ok((2, 1))
        );
    }

    #[test]
    fn rendered_diagrams_parse_with_the_expected_shape() {
        for kind in DocKind::ALL {
            for block in mermaid_blocks(&render_fixture(kind)) {
                parse_mermaid(&block).unwrap_or_else(|e| panic!("{kind}: {e}\n{block}"));
            }
        }
        let blocks = mermaid_blocks(&render_fixture(DocKind::Options));
        // Option A: five nodes plus the implicit `Estimator`, six edges.
        assert_eq!(parse_mermaid(&blocks[0]), Ok((6, 6)), "{}", blocks[0]);
    }

    fn diagram_doc(d: Value) -> Value {
        let mut doc = fixture(DocKind::DesignDoc);
        doc["architecture_overview"]["diagram"] = d;
        doc
    }

    #[test]
    fn awkward_labels_and_ids_still_parse() {
        let tpl = Templates::builtin().unwrap();
        let awkward = [
            "say \"hi\" [now]",
            "a|b",
            "C# <T>",
            "(paren)",
            "{brace}",
            "back`tick",
            "100% sure; ok",
            "Café ☕ naïve",
            "日本語のラベル",
            "end",
            "graph",
            "subgraph",
            "o",
            "x",
            "-->",
            "a --> b",
            "#quot;",
            "&amp;",
            "click me",
            "style",
            "%% comment",
            "\\",
            "",
            "   ",
            "line\nbreak",
        ];
        let nodes: Vec<Value> = awkward
            .iter()
            .map(|s| json!({"id": s, "label": s}))
            .collect();
        let edges: Vec<Value> = awkward
            .windows(2)
            .map(|w| json!({"from": w[0], "to": w[1], "label": w[0]}))
            .collect();
        let doc = diagram_doc(json!({"direction": "LR", "nodes": nodes, "edges": edges}));
        let md = render(DocKind::DesignDoc, &doc, &meta(), &tpl).unwrap();
        let block = &mermaid_blocks(&md)[0];
        let (n, e) = parse_mermaid(block).unwrap_or_else(|err| panic!("{err}\n{block}"));
        assert!(n >= 20, "{n} nodes from\n{block}");
        assert!(e >= 20, "{e} edges from\n{block}");
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]
        #[test]
        fn any_labels_render_to_a_parsable_diagram(
            labels in proptest::collection::vec("\\PC{0,24}", 2..6),
            edge_labels in proptest::collection::vec("\\PC{0,16}", 1..6),
        ) {
            let tpl = Templates::builtin().unwrap();
            let nodes: Vec<Value> = labels.iter().enumerate()
                .map(|(i, l)| json!({"id": format!("{l}{i}"), "label": l})).collect();
            let edges: Vec<Value> = edge_labels.iter().enumerate().map(|(i, l)| {
                json!({"from": format!("{}{}", labels[i % labels.len()], i % labels.len()),
                       "to": format!("{}{}", labels[(i + 1) % labels.len()], (i + 1) % labels.len()),
                       "label": l})
            }).collect();
            let doc = diagram_doc(json!({"direction": "TD", "nodes": nodes, "edges": edges}));
            let md = render(DocKind::DesignDoc, &doc, &meta(), &tpl).unwrap();
            let block = &mermaid_blocks(&md)[0];
            proptest::prop_assert!(parse_mermaid(block).is_ok(), "{:?}\n{}", parse_mermaid(block), block);
        }
    }

    /// Replaces every string of `v` (except enum-valued fields) with strings from `pool`.
    fn scramble(v: &mut Value, pool: &[String], i: &mut usize, key: &str) {
        const ENUMS: [&str; 6] = [
            "size",
            "likelihood",
            "impact",
            "direction",
            "recommended",
            "effort",
        ];
        match v {
            Value::String(s) if !ENUMS.contains(&key) => {
                *s = pool[*i % pool.len()].clone();
                *i += 1;
            }
            Value::Array(a) => a.iter_mut().for_each(|x| scramble(x, pool, i, key)),
            Value::Object(o) => o.iter_mut().for_each(|(k, x)| scramble(x, pool, i, k)),
            _ => {}
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(48))]
        /// Whatever text a model writes into the fields, the headings stay in order and every
        /// diagram parses.
        #[test]
        fn model_text_cannot_break_the_structure(pool in proptest::collection::vec("\\PC{1,60}|#{1,2} [a-z]{1,8}\n|```[a-z]{0,4}|[-=]{3}|\\|", 1..12)) {
            let tpl = Templates::builtin().unwrap();
            for kind in DocKind::ALL {
                let mut doc = fixture(kind);
                scramble(&mut doc, &pool, &mut 0, "");
                let md = match render(kind, &doc, &meta(), &tpl) {
                    Ok(md) => md,
                    // Whitespace-only names may collapse diagram nodes below the minimum.
                    Err(e) => { proptest::prop_assert!(e.iter().all(|m| m.contains("nodes") || m.contains("edges")), "{e:?}"); continue; }
                };
                let headings: Vec<&str> = md.lines().filter(|l| l.starts_with("## ")).collect();
                let mut expected: Vec<String> = sections().of(kind).iter().enumerate().map(|(i, s)| format!("## {}. {}", i + 1, s.title)).collect();
                if md.contains("\n## Appendix\n") { expected.push("## Appendix".into()); }
                let in_fences = {
                    // Headings inside fenced blocks do not count.
                    let mut fenced = false;
                    md.lines().filter(|l| { if l.starts_with("```") { fenced = !fenced; } !fenced && l.starts_with("## ") }).count()
                };
                proptest::prop_assert_eq!(in_fences, expected.len(), "{}", md);
                proptest::prop_assert!(headings.len() >= expected.len());
                for block in mermaid_blocks(&md) {
                    proptest::prop_assert!(parse_mermaid(&block).is_ok(), "{:?}\n{}", parse_mermaid(&block), block);
                }
            }
        }
    }
}
