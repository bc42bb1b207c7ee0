//! A design document (`specs/*_design.md`): every section of the design-document structure in
//! order, at least one mermaid diagram, and a comparison table where candidates are researched.

use super::markdown::Doc;
use super::sections::Outline;
use super::structure::Structure;
use super::{Finding, mermaid, with_builtin};

/// Checks a design document with the built-in structure.
pub fn validate_design_doc(md: &str) -> Vec<Finding> {
    with_builtin(|s| check_design_doc(s, md))
}

/// Checks a design document against `structure`.
pub(super) fn check_design_doc(structure: &Structure, md: &str) -> Vec<Finding> {
    let doc = Doc::parse(md);
    let outline = Outline::locate(&doc, &structure.design_doc);
    let mut out = outline.findings(&doc);
    if doc.mermaid_blocks().next().is_none() {
        let place = structure
            .design_doc
            .first()
            .map(|s| format!(" in \"{}\"", s.title))
            .unwrap_or_default();
        out.push(Finding::new(
            "document",
            format!("no mermaid diagram; add a ```mermaid block{place} (context, container, sequence or ER diagram)"),
        ));
    }
    if let Some(i) = outline.index_of("research")
        && let Some(body) = outline.body(&doc, i)
    {
        let has_table = doc.tables.iter().any(|t| body.contains(&t.range.start));
        if !has_table && !super::markdown::is_blank(doc.slice(body)) {
            out.push(Finding::new(
                    outline.location(i),
                    "no comparison table; compare 3 to 5 candidates in a markdown table (pros, cons, risks, rough cost or latency), then state the decision",
                ));
        }
    }
    out.extend(mermaid::findings(&doc));
    out
}
