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
use super::schema::{RATING_DIMENSIONS, SchemaLimits, compile, document_schema, option_letter};
use super::sections::sections;
use super::templates::Templates;
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

/// The compiled schema of `kind` (relaxed limits), compiled once per process: compiling takes
/// milliseconds, and a supervisor checks every document it accepts.
fn validator(kind: DocKind) -> Result<Arc<jsonschema::Validator>, String> {
    static CACHE: LazyLock<Mutex<HashMap<DocKind, Arc<jsonschema::Validator>>>> =
        LazyLock::new(Default::default);
    let mut cache = CACHE.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(v) = cache.get(&kind) {
        return Ok(v.clone());
    }
    let v = Arc::new(compile(&document_schema(kind, &SchemaLimits::relaxed()))?);
    cache.insert(kind, v.clone());
    Ok(v)
}

/// Checks a (normalised) document against its schema and the cross-field rules.
pub fn check(kind: DocKind, doc: &Value) -> Vec<String> {
    let validator = match validator(kind) {
        Ok(v) => v,
        Err(e) => return vec![format!("internal: the {kind} schema does not compile: {e}")],
    };
    let mut errors: Vec<String> = validator
        .iter_errors(doc)
        .take(30)
        .map(|e| format!("{}: {}", where_is(kind, &e.instance_path().to_string()), e))
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
mod tests {
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
