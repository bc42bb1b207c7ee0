//! Document JSON -> markdown.
//!
//! [`render`] normalises what models commonly get slightly wrong (see [`super::normalize`]),
//! checks the JSON against the document's schema (seed counts kept, length caps and extra fields
//! tolerated) and renders the kind's template. Errors say what is missing, by section, so they can go
//! straight back to the author as repair findings.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::DocKind;
use super::normalize::normalize;
use super::schema::{
    DiagramShape, RATING_DIMENSIONS, SchemaLimits, compile, document_schema, option_letter,
};
use super::sections::sections;
use super::templates::{Templates, inline, mermaid_source};
use super::validate::mermaid::check_diagram;
use protocol::{FeedbackItem, RevisionEntry};

/// The names of the four phases of a design doc's "Phased Design & Test Gates" (seed 004).
pub(crate) const PHASE_NAMES: [&str; 4] = [
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

/// The header status of a rendered document whose review is over (seed 001: Draft, Review,
/// Approved): the first `**Status**: Review` line becomes `**Status**: Approved`.
pub fn approved(md: &str) -> String {
    md.replacen("\n**Status**: Review\n", "\n**Status**: Approved\n", 1)
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

/// The compiled schema of `kind` (relaxed limits, diagrams in `shape`), compiled once per
/// process: compiling takes milliseconds, and a supervisor checks every document it accepts.
fn validator(kind: DocKind, shape: DiagramShape) -> Result<Arc<jsonschema::Validator>, String> {
    type Cache = HashMap<(DocKind, DiagramShape), Arc<jsonschema::Validator>>;
    static CACHE: LazyLock<Mutex<Cache>> = LazyLock::new(Default::default);
    let mut cache = CACHE.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(v) = cache.get(&(kind, shape)) {
        return Ok(v.clone());
    }
    let lim = SchemaLimits::relaxed().with_diagrams(shape);
    let v = Arc::new(compile(&document_schema(kind, &lim))?);
    cache.insert((kind, shape), v.clone());
    Ok(v)
}

/// Checks a (normalised) document against its schema and the cross-field rules, and parses
/// every diagram given as Mermaid source.
///
/// Either diagram shape is accepted; when the document does not match, the errors are those of
/// the shape it uses, so they name its own fields (`diagrams[1].mermaid`, not an `anyOf`).
pub fn check(kind: DocKind, doc: &Value) -> Vec<String> {
    let errors = |shape| -> Result<Vec<String>, String> {
        Ok(validator(kind, shape)?
            .iter_errors(doc)
            .take(30)
            .map(|e| {
                let path = e.instance_path().to_string();
                let message = match overview_key(kind) {
                    Some(key) if path == format!("/{key}") && e.to_string().contains("anyOf") => {
                        NO_DIAGRAM.to_string()
                    }
                    _ => e.to_string(),
                };
                format!("{}: {message}", where_is(kind, &path))
            })
            .collect())
    };
    let checked = errors(DiagramShape::Either).and_then(|all| match shape_of(kind, doc) {
        Some(shape) if !all.is_empty() => errors(shape),
        _ => Ok(all),
    });
    let mut errors = match checked {
        Ok(e) => e,
        Err(e) => return vec![format!("internal: the {kind} schema does not compile: {e}")],
    };
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
    errors.extend(mermaid_errors(kind, doc));
    errors
}

/// What replaces the schema's `anyOf` message when an overview has neither diagram field.
const NO_DIAGRAM: &str = "the diagrams are missing: add `diagrams` (a list of {title, mermaid}) or \
                          `diagram` (a flowchart {direction, nodes, edges}), whichever the schema has";

/// The section of `kind` that holds `diagram` or `diagrams` beside a description.
fn overview_key(kind: DocKind) -> Option<&'static str> {
    match kind {
        DocKind::Proposal => Some("approach"),
        DocKind::DesignDoc => Some("architecture_overview"),
        _ => None,
    }
}

/// The diagram shape a document uses: Mermaid when any diagram is source text (or a
/// `diagrams` list), Graph when they are objects, None when it has no diagram.
fn shape_of(kind: DocKind, doc: &Value) -> Option<DiagramShape> {
    let one = |d: &Value| match d {
        Value::String(_) => Some(DiagramShape::Mermaid),
        Value::Object(_) => Some(DiagramShape::Graph),
        _ => None,
    };
    let found: Vec<DiagramShape> = match (kind, overview_key(kind)) {
        (DocKind::Options, _) => doc["options"]
            .as_array()
            .map(|a| a.iter().filter_map(|o| one(&o["diagram"])).collect())
            .unwrap_or_default(),
        (_, Some(key)) => {
            let o = &doc[key];
            if o.get("diagrams").is_some() {
                vec![DiagramShape::Mermaid]
            } else {
                one(&o["diagram"]).into_iter().collect()
            }
        }
        _ => Vec::new(),
    };
    if found.contains(&DiagramShape::Mermaid) {
        Some(DiagramShape::Mermaid)
    } else {
        found.first().copied()
    }
}

/// Every diagram given as Mermaid source that does not parse, named by its field and title,
/// with the parser's message (the repair loop sends these back to the author).
fn mermaid_errors(kind: DocKind, doc: &Value) -> Vec<String> {
    let mut sources: Vec<(String, Option<String>, &str)> = Vec::new();
    match (kind, overview_key(kind)) {
        (DocKind::Options, _) => {
            for (i, o) in doc["options"].as_array().into_iter().flatten().enumerate() {
                if let Some(src) = o["diagram"].as_str() {
                    let name = format!("Option {}", option_letter(i));
                    sources.push((format!("/options/{i}/diagram"), Some(name), src));
                }
            }
        }
        (_, Some(key)) => {
            let o = &doc[key];
            if let Some(src) = o["diagram"].as_str() {
                sources.push((format!("/{key}/diagram"), None, src));
            }
            for (i, d) in o["diagrams"].as_array().into_iter().flatten().enumerate() {
                if let Some(src) = d["mermaid"].as_str() {
                    let title = d["title"].as_str().map(inline).filter(|t| !t.is_empty());
                    sources.push((format!("/{key}/diagrams/{i}/mermaid"), title, src));
                }
            }
        }
        _ => {}
    }
    sources
        .into_iter()
        .filter_map(|(pointer, title, src)| {
            let problem = check_diagram(&mermaid_source(src)).err()?;
            let named = title.map(|t| format!(" \"{t}\"")).unwrap_or_default();
            Some(format!(
                "{}: the diagram{named} is not valid Mermaid: {problem}",
                where_is(kind, &pointer)
            ))
        })
        .collect()
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

/// Collapses runs of blank lines and ends the text with exactly one newline.
pub(crate) fn tidy(s: &str) -> String {
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

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::markdown::{changed_sections, extract_sections, section_text};
    use protocol::{Category, Stage};

    pub(crate) fn fixture(kind: DocKind) -> Value {
        let text = match kind {
            DocKind::Prd => include_str!("../../../tests/fixtures/docs/prd.json"),
            DocKind::Options => include_str!("../../../tests/fixtures/docs/options.json"),
            DocKind::Proposal => include_str!("../../../tests/fixtures/docs/proposal.json"),
            DocKind::DesignDoc => include_str!("../../../tests/fixtures/docs/design_doc.json"),
            DocKind::ImplementationPlan => {
                include_str!("../../../tests/fixtures/docs/implementation_plan.json")
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
    fn recommendation_must_name_an_existing_option() {
        let tpl = Templates::builtin().unwrap();
        let mut doc = fixture(DocKind::Options);
        doc["comparison"]["recommended"] = json!("D");
        let err = render(DocKind::Options, &doc, &meta(), &tpl).unwrap_err();
        assert!(err[0].contains("`D` is not one of A, B, C"), "{err:?}");
    }

    #[test]
    fn an_approved_document_says_so_in_its_header_only() {
        let tpl = Templates::builtin().unwrap();
        let mut m = meta();
        m.status = "Review".into();
        let md = render(DocKind::Proposal, &fixture(DocKind::Proposal), &m, &tpl).unwrap();
        assert!(md.contains("\n**Status**: Review\n"), "{md}");
        let done = approved(&md);
        assert!(done.contains("\n**Status**: Approved\n"));
        assert_eq!(
            done.matches("Approved").count(),
            md.matches("Approved").count() + 1
        );
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
            acknowledgements: vec!["PE-r1-2: retries are unbounded".into()],
        });
        // The local profile's integrations record no acknowledgement.
        m.revisions.push(RevisionEntry {
            date: "2026-01-17".into(),
            feedback_from: vec!["code-reviewer".into()],
            changes: vec!["Section 7: error format".into()],
            rationale: "One error shape".into(),
            acknowledgements: Vec::new(),
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
        assert!(appendix.contains("| 2026-01-16 | principal-engineer | Acknowledged: PE-r1-2: retries are unbounded<br>Section 13: added retry budget (PE-r1-2)<br>Section 6: \\| pipes | Bounded retries |"), "{appendix}");
        assert!(
            appendix.contains(
                "| 2026-01-17 | code-reviewer | Section 7: error format | One error shape |"
            ),
            "{appendix}"
        );
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

    /// Component, sequence and ER diagrams as a capable model writes them.
    pub(crate) const COMPONENTS: &str =
        "flowchart LR\n    cli[CLI] --> core[Estimator]\n    core --> fmt[(Format adapters)]";
    pub(crate) const SEQUENCE: &str = "sequenceDiagram\n    participant U as User\n    participant C as Core\n    U->>C: of_markdown(text)\n    C-->>U: 3 min read";
    pub(crate) const ER: &str = "erDiagram\n    DOCUMENT ||--o{ ESTIMATE : has\n    DOCUMENT {\n        string format\n        int words\n    }";

    /// `doc` with its diagrams as Mermaid source (the remote shape): each option's diagram one
    /// source, the overview's `diagrams` a component, a sequence and an ER diagram.
    pub(crate) fn with_mermaid(kind: DocKind, doc: &Value) -> Value {
        let mut doc = doc.clone();
        match kind {
            DocKind::Options => {
                for o in doc["options"].as_array_mut().unwrap() {
                    o["diagram"] = json!(COMPONENTS);
                }
            }
            DocKind::Proposal | DocKind::DesignDoc => {
                let key = if kind == DocKind::Proposal {
                    "approach"
                } else {
                    "architecture_overview"
                };
                let o = doc[key].as_object_mut().unwrap();
                o.remove("diagram");
                o.insert(
                    "diagrams".into(),
                    json!([
                        {"title": "Components", "mermaid": COMPONENTS},
                        {"title": "Estimate sequence", "mermaid": SEQUENCE},
                        {"title": "Data model", "mermaid": ER}
                    ]),
                );
            }
            DocKind::Prd | DocKind::ImplementationPlan => {}
        }
        doc
    }

    #[test]
    fn mermaid_source_is_written_as_given_under_its_title() {
        let tpl = Templates::builtin().unwrap();
        let mut doc = with_mermaid(DocKind::DesignDoc, &fixture(DocKind::DesignDoc));
        // A model's accidental fence and surrounding blank lines are taken off.
        doc["architecture_overview"]["diagrams"][1]["mermaid"] =
            json!(format!("\n```mermaid\n{SEQUENCE}\n```\n"));
        let md = render(DocKind::DesignDoc, &doc, &meta(), &tpl).unwrap();
        let overview = section_text(&md, "Architecture Overview").unwrap();
        for (title, src) in [
            ("Components", COMPONENTS),
            ("Estimate sequence", SEQUENCE),
            ("Data model", ER),
        ] {
            let block = format!("**{title}**\n\n```mermaid\n{src}\n```\n");
            assert!(overview.contains(&block), "{block}\nnot in\n{overview}");
        }
        assert_eq!(mermaid_blocks(&md), [COMPONENTS, SEQUENCE, ER]);
        assert!(!md.contains("```mermaid\n```"), "{md}");
        for block in mermaid_blocks(&md) {
            parse_mermaid(&block).unwrap_or_else(|e| panic!("{e}\n{block}"));
        }
        assert!(crate::validate::validate_design_doc(&md).is_empty());

        let options = with_mermaid(DocKind::Options, &fixture(DocKind::Options));
        let md = render(DocKind::Options, &options, &meta(), &tpl).unwrap();
        assert_eq!(mermaid_blocks(&md), [COMPONENTS; 3]);
        assert!(crate::validate::validate_options(&md).is_empty());
    }

    #[test]
    fn step_notes_are_rendered_when_present() {
        let tpl = Templates::builtin().unwrap();
        let mut doc = with_mermaid(DocKind::Proposal, &fixture(DocKind::Proposal));
        doc["steps"][2]["notes"] = json!("Run the migration before the deploy.");
        doc["steps"][3]["notes"] = json!("  ");
        let md = render(DocKind::Proposal, &doc, &meta(), &tpl).unwrap();
        assert_eq!(md.matches("**Notes**").count(), 1, "{md}");
        let step3 = md.split("### Step 3:").nth(1).unwrap();
        let step3 = step3.split("### Step 4:").next().unwrap();
        assert!(
            step3.contains("**Notes**: Run the migration before the deploy."),
            "{step3}"
        );
        assert!(crate::validate::validate_proposal(&md).is_empty());
    }

    #[test]
    fn a_diagram_that_does_not_parse_is_named_with_the_parser_message() {
        let tpl = Templates::builtin().unwrap();
        let mut doc = with_mermaid(DocKind::DesignDoc, &fixture(DocKind::DesignDoc));
        doc["architecture_overview"]["diagrams"][1]["mermaid"] =
            json!("sequenceDiagram\n    U->>: no target");
        let err = render(DocKind::DesignDoc, &doc, &meta(), &tpl).unwrap_err();
        assert_eq!(err.len(), 1, "{err:?}");
        let e = &err[0];
        assert!(
            e.starts_with(
                "Architecture Overview (architecture_overview.diagrams[1].mermaid): the diagram \"Estimate sequence\" is not valid Mermaid: "
            ),
            "{e}"
        );
        assert!(e.contains("sequence diagram does not parse"), "{e}");
        assert!(e.contains("line 2 of the diagram"), "{e}");

        let mut options = with_mermaid(DocKind::Options, &fixture(DocKind::Options));
        options["options"][1]["diagram"] = json!("flowchrt LR\n a --> b");
        let err = render(DocKind::Options, &options, &meta(), &tpl).unwrap_err();
        assert_eq!(err.len(), 1, "{err:?}");
        assert!(
            err[0].starts_with(
                "Architecture Options (options[1].diagram): the diagram \"Option B\" is not valid Mermaid: no Mermaid diagram type recognised in `flowchrt LR`"
            ),
            "{err:?}"
        );
    }

    #[test]
    fn schema_errors_name_the_fields_of_the_shape_the_document_uses() {
        let tpl = Templates::builtin().unwrap();
        let mut doc = with_mermaid(DocKind::Proposal, &fixture(DocKind::Proposal));
        doc["approach"]["diagrams"][0]
            .as_object_mut()
            .unwrap()
            .remove("title");
        let err = render(DocKind::Proposal, &doc, &meta(), &tpl).unwrap_err();
        assert_eq!(
            err,
            ["Approach Overview (approach.diagrams[0]): \"title\" is a required property"]
        );
        // Neither shape: one message naming both fields.
        doc["approach"].as_object_mut().unwrap().remove("diagrams");
        let err = render(DocKind::Proposal, &doc, &meta(), &tpl).unwrap_err();
        assert_eq!(err.len(), 1, "{err:?}");
        assert!(
            err[0].starts_with("Approach Overview (approach): the diagrams are missing"),
            "{err:?}"
        );
        // The node/edge shape keeps its own messages.
        let mut graph = fixture(DocKind::DesignDoc);
        graph["architecture_overview"]["diagram"] =
            json!({"direction": "LR", "nodes": [], "edges": []});
        let err = render(DocKind::DesignDoc, &graph, &meta(), &tpl).unwrap_err();
        assert_eq!(err.len(), 2, "{err:?}");
        assert!(
            err[0].starts_with("Architecture Overview (architecture_overview.diagram.nodes)")
                && err[1]
                    .starts_with("Architecture Overview (architecture_overview.diagram.edges)"),
            "{err:?}"
        );
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

    /// Replaces every string of `v` (except enum-valued fields and Mermaid source, which the
    /// parser check rejects) with strings from `pool`.
    fn scramble(v: &mut Value, pool: &[String], i: &mut usize, key: &str) {
        const ENUMS: [&str; 8] = [
            "size",
            "likelihood",
            "impact",
            "direction",
            "recommended",
            "effort",
            "diagram",
            "mermaid",
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
            let docs = DocKind::ALL.into_iter().flat_map(|k| [(k, fixture(k)), (k, with_mermaid(k, &fixture(k)))]);
            for (kind, mut doc) in docs {
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
