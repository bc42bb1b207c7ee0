//! The seeds' full depth in a capable model's documents: the tables with their columns, the
//! labelled parts (ADR context/decision/consequences, phase gates, stakeholders, system context)
//! and the proposal's glossary and references.
//!
//! The bundled local model writes shorter shapes (its schemas and grammar leave no room for
//! tables), so these checks apply to documents written with the capable profile only; the
//! structure checks of each document kind apply to both. What is required comes from the
//! `depth`, `tables` and `labels` of each section in `specs-templates/sections.yaml`.

use super::markdown::Doc;
use super::sections::Outline;
use super::structure::{Section, Structure};
use super::{Finding, with_builtin};
use crate::DocKind;

/// Rule: a section's table with the columns its depth asks for.
pub const RULE_TABLE: &str = "depth-table";
/// Rule: a section's labelled part or subsection.
pub const RULE_LABEL: &str = "depth-label";
/// Rule: the proposal's glossary and references appendices.
pub const RULE_APPENDIX: &str = "depth-appendix";

/// Rule: every answered feedback item carries the author's acknowledgement.
pub const RULE_ACK: &str = "depth-acknowledged";

/// The appendices a capable model's proposal ends with (seed 001, section 16).
const APPENDICES: [&str; 2] = ["Glossary", "References"];

/// Checks the depth of a document of `kind` written with the capable profile.
pub fn check_depth(kind: DocKind, md: &str) -> Vec<Finding> {
    with_builtin(|s| check(s, kind, md))
}

fn check(structure: &Structure, kind: DocKind, md: &str) -> Vec<Finding> {
    let doc = Doc::parse(md);
    let sections = structure.of(kind);
    let outline = Outline::locate(&doc, sections);
    let mut out = Vec::new();
    for (i, sec) in sections.iter().enumerate() {
        // A missing section is the structure check's finding, not this one's.
        let Some(body) = outline.body(&doc, i) else {
            continue;
        };
        let loc = outline.location(i);
        let tables: Vec<Vec<String>> = doc
            .tables
            .iter()
            .filter(|t| body.contains(&t.range.start))
            .map(|t| t.header.iter().map(|h| h.to_lowercase()).collect())
            .collect();
        for want in &sec.tables {
            let has = tables.iter().any(|header| {
                want.iter()
                    .all(|col| header.iter().any(|h| h.contains(&col.to_lowercase())))
            });
            if !has {
                out.push(Finding::new(
                    loc.clone(),
                    format!(
                        "no table with the columns {} ({RULE_TABLE}); add a markdown table whose header names them{}",
                        want.join(" | "),
                        depth_suffix(sec)
                    ),
                ));
            }
        }
        let text = doc.slice(body).to_lowercase();
        for label in &sec.labels {
            if !text.contains(&label.to_lowercase()) {
                out.push(Finding::new(
                    loc.clone(),
                    format!(
                        "\"{label}\" is missing ({RULE_LABEL}); add it as a bold label or sub-heading with its content{}",
                        depth_suffix(sec)
                    ),
                ));
            }
        }
    }
    if kind == DocKind::Proposal {
        for name in APPENDICES {
            let found = doc
                .headings
                .iter()
                .any(|h| h.text.trim().eq_ignore_ascii_case(name));
            if !found {
                out.push(Finding::new(
                    "Appendix",
                    format!(
                        "no \"{name}\" appendix ({RULE_APPENDIX}); add `### {name}` after the numbered sections"
                    ),
                ));
            }
        }
    }
    out
}

/// Checks a feedback ledger (`feedback.json`) of a session on the capable profile: every item
/// with a disposition records the author's acknowledgement (seed 001's protocol, step 1).
pub fn check_acknowledged(ledger: &serde_json::Value) -> Vec<Finding> {
    let items = ledger
        .get("items")
        .and_then(serde_json::Value::as_array)
        .map_or(&[][..], Vec::as_slice);
    items
        .iter()
        .filter(|i| i.get("disposition").is_some_and(|d| !d.is_null()))
        .filter(|i| {
            i.pointer("/disposition/acknowledgement")
                .and_then(serde_json::Value::as_str)
                .is_none_or(|a| a.trim().is_empty())
        })
        .map(|i| {
            let id = i.get("id").and_then(serde_json::Value::as_str).unwrap_or("?");
            Finding::new(
                format!("item {id}"),
                format!(
                    "answered without an acknowledgement ({RULE_ACK}); the integration must restate the item before deciding"
                ),
            )
            .in_file("feedback.json")
        })
        .collect()
}

/// " (the section asks: ...)" when the section has a depth text.
fn depth_suffix(sec: &Section) -> String {
    if sec.depth.is_empty() {
        String::new()
    } else {
        format!(" (the section asks: {})", sec.depth)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::{RenderMeta, render};
    use crate::templates::Templates;

    /// The rendered fixture of the local shapes has none of the depth; each rule names what is
    /// missing.
    #[test]
    fn a_proposal_without_the_depth_gets_a_finding_per_table_label_and_appendix() {
        let json: serde_json::Value = serde_json::from_str(include_str!(
            "../../../../tests/fixtures/docs/proposal.json"
        ))
        .unwrap();
        let md = render(
            DocKind::Proposal,
            &json,
            &RenderMeta::new("readtime", "2026-01-15"),
            &Templates::builtin().unwrap(),
        )
        .unwrap();
        let f = check_depth(DocKind::Proposal, &md);
        let text: Vec<String> = f.iter().map(|f| f.to_string()).collect();
        for want in [
            "ID | Requirement | Priority",
            "Category | Target",
            "\"Regulatory\" is missing",
            "\"Stakeholders\" is missing",
            "Metric | Target | Alert threshold",
            "no \"Glossary\" appendix",
            "no \"References\" appendix",
        ] {
            assert!(text.iter().any(|t| t.contains(want)), "{want}: {text:#?}");
        }
    }

    #[test]
    fn a_table_counts_when_its_header_names_every_column_in_any_case() {
        let md = "# Design Proposal: X\n\n## 3. Requirements\n\n| id | Requirement text | PRIORITY |\n|---|---|---|\n| FR-1 | a | Must |\n\n\
                  | Category | Requirement | Target |\n|---|---|---|\n| Performance | p95 | 50 ms |\n\n\
                  **Constraints**: budget. Regulatory: GDPR. Integration points: SSO.\n";
        let f = check_depth(DocKind::Proposal, md);
        assert!(
            !f.iter().any(|f| f.location == "section \"Requirements\""),
            "{f:#?}"
        );
    }

    #[test]
    fn design_doc_risks_need_the_full_risk_table_and_the_adr_parts() {
        let md = "# A Design Document\n\n## 10. Risks, Trade-offs & Decisions\n\n| Risk | Impact | Mitigation |\n|---|---|---|\n| r | High | m |\n";
        let f: Vec<String> = check_depth(DocKind::DesignDoc, md)
            .iter()
            .map(|f| f.to_string())
            .collect();
        assert!(
            f.iter()
                .any(|t| t.contains("Likelihood | Impact | Owner | Trigger")),
            "{f:#?}"
        );
        for label in ["Context", "Consequences", "Next steps"] {
            assert!(
                f.iter()
                    .any(|t| t.contains(&format!("\"{label}\" is missing"))),
                "{label}: {f:#?}"
            );
        }
    }
}
