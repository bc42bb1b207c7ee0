//! Reviewing a document, or all design documents together in the final review: feedback items,
//! most important first, each naming its section.

use std::fmt::Write as _;

use super::context::Layer;
use super::parts::{UserPrompt, capitalise, check_citations_rule, section_list};
use super::{Cx, Prompt, REVIEWED_DOC};
use docs::DocKind;
use docs::schema::review_schema;
use protocol::OutputSpec;

pub(super) fn build(cx: &Cx, kind: DocKind, document: &str, round: u32) -> Prompt {
    let project = cx.project;
    // Design docs are reviewed together, in the final review.
    let final_review = kind == DocKind::DesignDoc;
    let mut p = UserPrompt::default();
    p.stable_context(cx.inputs, kind);
    if final_review {
        // Each document whole, under its file name; never summarised (the review is of them).
        for (file, md) in review_docs(cx, document) {
            p.doc(Layer::Work, &format!("{REVIEWED_DOC}: {file}"), md, None);
        }
    } else {
        p.doc(
            Layer::Work,
            // The title later prompts give the same document, so that they share its prefix.
            &capitalise(kind.label()),
            document,
            None,
        );
    }
    let mut t = if final_review && !document.trim().is_empty() {
        format!(
            "Final review of the design document `{}` of `{project}` before implementation (the other documents are \
             reviewed in requests of their own). Check it as your role describes and go through your checklist. In \
             `section`, name the file and the section (e.g. `{}: Security & Compliance`).",
            document.trim(),
            document.trim()
        )
    } else if final_review {
        format!(
            "Final review of the design documents of `{project}` before implementation. Check them as your role \
             describes, across all documents, and go through your checklist. In `section`, name the file and the \
             section (e.g. `api_design.md: Security & Compliance`)."
        )
    } else {
        format!(
            "Review the {} above of `{project}` (round {round}) as your role describes. In `section`, use a section \
             heading from the list below, or General.",
            kind.label()
        )
    };
    let _ = write!(
        t,
        "\nSections: {}.\n\
         Return your most important items first, at most {}. Category: critical (must fix before implementation), \
         important (should fix), nice-to-have, or question. Each item: what is wrong or missing and why it matters \
         (`comment`), and a concrete fix (`suggestion`).{}",
        section_list(kind),
        cx.lim.review_items_max.unwrap_or(10),
        check_citations_rule(cx.inputs)
    );
    p.task(t);
    p.output_json("`items`: the feedback items");
    let title = if final_review {
        "Final review of the design documents".to_string()
    } else {
        format!("Review the {}, round {round}", kind.label())
    };
    cx.ask(
        p,
        OutputSpec::Json {
            name: "review".into(),
            schema: review_schema((!final_review).then_some(kind), &cx.lim),
        },
        title,
    )
}

/// The design documents a final review reads: every one, or only the one `only` names.
fn review_docs<'a>(cx: &Cx<'a>, only: &str) -> Vec<&'a (String, String)> {
    cx.inputs
        .design_docs
        .iter()
        .filter(|(f, _)| only.trim().is_empty() || f == only.trim())
        .collect()
}
