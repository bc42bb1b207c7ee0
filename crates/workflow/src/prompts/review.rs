//! Reviewing a document, or all design documents together in the final review: feedback items,
//! most important first, each naming its section.

use std::fmt::Write as _;

use super::parts::{UserPrompt, capitalise, fit, section_list};
use super::{Cx, Prompt};
use docs::DocKind;
use docs::schema::review_schema;
use protocol::{OutputSpec, estimate_tokens};

pub(super) fn build(cx: &Cx, kind: DocKind, document: &str, round: u32) -> Prompt {
    let (project, budget) = (cx.project, cx.budget);
    // Design docs are reviewed together, in the final review.
    let final_review = kind == DocKind::DesignDoc;
    let what = if final_review {
        "Design documents".to_string()
    } else {
        capitalise(kind.label())
    };
    let mut p = UserPrompt::default();
    // The document first claims its share; the requirements get the rest.
    let doc = fit(document, budget * 75 / 100);
    if kind == DocKind::Prd {
        p.goal_and_journey(cx.inputs);
    } else {
        p.requirements(cx.inputs, budget.saturating_sub(estimate_tokens(&doc)));
    }
    p.doc(&format!("{what} to review"), &doc, "markdown");
    let mut t = if final_review {
        format!(
            "Final review of the design documents of `{project}` before implementation. Check them as your role \
             describes, across all documents, and go through your checklist. In `section`, name the file and the \
             section (e.g. `api_design.md: Security & Compliance`)."
        )
    } else {
        format!(
            "Review the {} of `{project}` (round {round}) as your role describes. In `section`, use a section \
             heading from the list below, or General.",
            kind.label()
        )
    };
    let _ = write!(
        t,
        "\nSections: {}.\n\
         Return your most important items first, at most {}. Category: critical (must fix before implementation), \
         important (should fix), nice-to-have, or question. Each item: what is wrong or missing and why it matters \
         (`comment`), and a concrete fix (`suggestion`).",
        section_list(kind),
        cx.lim.review_items_max.unwrap_or(10)
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
