//! An update session's change proposal: the architect reads the existing specs and the change
//! asked for (a new goal, a PRD change, or code that moved under the documents' citations) and
//! says which documents to revise (and which sections), add or retire, and what the
//! traceability gains, instead of designing again. The reviewers then review the change
//! proposal under the protocol of every reviewed document (categorised items, the architect's
//! integration with a disposition per item, re-review), with prompts of its own here.

use serde_json::Value;

use super::context::{Block, Layer};
use super::parts::{UserPrompt, ids, rank};
use super::{Cx, Prompt, PromptInputs};
use docs::DocKind;
use docs::change::{change_schema, design_section_keys};
use docs::schema::{integration_schema, rereview_schema, review_schema};
use protocol::{Disposition, FeedbackItem, OutputSpec};

pub(super) fn build(cx: &Cx, existing: &[String], drifted: &[String]) -> Prompt {
    let inputs = cx.inputs;
    let mut p = UserPrompt::default();
    p.stable_context(inputs, DocKind::DesignDoc);
    for (file, text) in inputs.design_docs {
        p.doc(
            Layer::Work,
            &format!("Current design document: {file}"),
            text,
            Some(rank::BACKGROUND),
        );
    }
    let why = if drifted.is_empty() {
        "the goal and requirements above".to_string()
    } else {
        format!(
            "the code the documents cite: it changed since they were written, under {}",
            drifted.join(", ")
        )
    };
    p.task(format!(
        "The specs of `{project}` exist already ({docs}); do not design again. Propose the smallest change to them \
         that answers {why}.\n\
         - `summary`: what changes in the design and why, in two or three sentences.\n\
         - `changes`: one entry per document that changes: `file`, `action` (`revise` an existing document, `add` a \
         new `*_design.md`, or `retire` one that no longer applies), `sections` (for a revision, the keys of the \
         sections to rewrite, among: {keys}; the others stay as they are), `scope` (what the document covers after \
         the change) and `why` (the goal, requirement or code change it answers). Leave out every document the \
         change does not touch.\n\
         - `requirements`: each new requirement or goal item (its PRD id, or a short name) with the documents that \
         cover it.\n\
         - `plan_additions`: what the implementation plan gains, one line each.",
        project = cx.project,
        docs = existing.join(", "),
        keys = design_section_keys().join(", "),
    ));
    p.output_json("the change proposal");
    cx.ask(
        p,
        OutputSpec::Json {
            name: "change_proposal".into(),
            schema: change_schema(existing),
        },
        "Propose the change to the specs".into(),
    )
}

/// The parts of a change proposal a review item can name in `section`.
const CHANGE_PARTS: &str = "Summary, Documents, Traceability added, Plan additions, or General";

/// The design documents the change is about, as background for its review and integration.
fn current_docs(p: &mut UserPrompt, cx: &Cx) {
    for (file, text) in cx.inputs.design_docs {
        p.doc(
            Layer::Work,
            &format!("Current design document: {file}"),
            text,
            Some(rank::BACKGROUND),
        );
    }
}

/// The heading `docs::change::change_md` starts the change proposal with.
const CHANGE_HEADING: &str = "# Change Proposal\n";

/// The inputs of a task on the change proposal itself: an update session's proposal is the
/// baseline's followed by its change proposal (so the design documents' tasks read both); here
/// the change proposal is the work, shown once and whole, so the stable context keeps the
/// baseline's proposal only.
fn without_change<'a>(inputs: &PromptInputs<'a>) -> PromptInputs<'a> {
    let mut i = *inputs;
    i.proposal_doc = i.proposal_doc.and_then(|d| {
        if d.starts_with(CHANGE_HEADING) {
            return None;
        }
        Some(match d.find(&format!("\n{CHANGE_HEADING}")) {
            Some(at) => d[..at].trim_end(),
            None => d,
        })
    });
    i
}

/// The change proposal, whole.
fn change_doc(p: &mut UserPrompt, document: &str) {
    p.doc(Layer::Work, "Change proposal", document, None);
}

/// A reviewer's review of the change proposal (the same protocol as the proposal's review:
/// categorised items, most important first).
pub(super) fn review(cx: &Cx, document: &str, round: u32) -> Prompt {
    let mut p = UserPrompt::default();
    p.stable_context(&without_change(cx.inputs), DocKind::DesignDoc);
    current_docs(&mut p, cx);
    change_doc(&mut p, document);
    p.task(format!(
        "The architect proposes to change the existing specs of `{project}` rather than design them again. Review \
         that change proposal (round {round}) as your role describes, before any design document is revised from it: \
         does it answer the change asked for, does it touch every document the change affects and no other, are the \
         sections to rewrite the right ones, is what it retires really obsolete, does the traceability cover the new \
         requirements, and is the plan addition enough to build it?\n\
         In `section`, name the part of the change proposal: {CHANGE_PARTS} (or the design document a change entry \
         is about).\n\
         Return your most important items first, at most {max}. Category: critical (must fix before the documents \
         are revised), important (should fix), nice-to-have, or question. Each item: what is wrong or missing and \
         why it matters (`comment`), and a concrete fix (`suggestion`).",
        project = cx.project,
        max = cx.lim.review_items_max.unwrap_or(10),
    ));
    p.output_json("`items`: the feedback items");
    cx.ask(
        p,
        OutputSpec::Json {
            name: "review".into(),
            schema: review_schema(None, &cx.lim),
        },
        format!("Review the change proposal, round {round}"),
    )
}

/// The architect's integration of the review items into the change proposal: a disposition per
/// item and the revised proposal's changed fields (checked as the first proposal was).
pub(super) fn integrate(
    cx: &Cx,
    document: &Value,
    items: &[FeedbackItem],
    existing: &[String],
) -> Prompt {
    let mut p = UserPrompt::default();
    p.stable_context(&without_change(cx.inputs), DocKind::DesignDoc);
    current_docs(&mut p, cx);
    p.add(
        Block::new(
            Layer::Work,
            "Current change proposal (JSON)",
            &serde_json::to_string(document).unwrap_or_default(),
        )
        .fenced("json")
        .ranked(Some(rank::CORE)),
    );
    p.text(
        Layer::Work,
        "Feedback items",
        super::integrate::item_list(items).trim_end(),
        None,
    );
    let acknowledge = if cx.lim.depth {
        " Each disposition starts with `acknowledgement`: what the reviewer asks for and why, in your words."
    } else {
        ""
    };
    p.task(format!(
        "The reviewers answered your change proposal for `{project}`. Take every item in turn: restate it, weigh \
         it, change the proposal where you agree, and say why you decided as you did.\n\
         - `dispositions`: one per item id above: accepted, rejected (with the reason) or deferred (with the reason \
         and when).{acknowledge}\n\
         - `document`: the fields of the change proposal you changed (`summary`, `changes`, `requirements`, \
         `plan_additions`), each complete; a list you change is given whole. Leave out the fields you keep.\n\
         - `revision`: `changes` as lines like \"Documents: the API document also revises its data model \
         (S2-DOC-PE-r1-1)\", and a short `rationale`.",
        project = cx.project,
    ));
    let mut schema = integration_schema(DocKind::DesignDoc, &ids(items), &cx.lim);
    let mut patch = change_schema(existing);
    if let Some(o) = patch.as_object_mut() {
        o.remove("required");
    }
    schema["properties"]["document"] = patch;
    cx.ask(
        p,
        OutputSpec::Json {
            name: "integration".into(),
            schema,
        },
        format!("Integrate {} items into the change proposal", items.len()),
    )
}

/// A reviewer's re-review of its own items after the architect revised the change proposal.
pub(super) fn rereview(
    cx: &Cx,
    document: &str,
    own_items: &[(FeedbackItem, Option<Disposition>)],
) -> Prompt {
    let mut p = UserPrompt::default();
    p.stable_context(&without_change(cx.inputs), DocKind::DesignDoc);
    current_docs(&mut p, cx);
    change_doc(&mut p, document);
    p.text(
        Layer::Work,
        "Your items and the architect's answers",
        super::rereview::item_list(own_items).trim_end(),
        None,
    );
    p.task(format!(
        "The architect revised the change proposal of `{project}` after your review (it is shown as revised). Judge \
         each of your items above: `closed` when the revision or the answer settles it, `reopened` when it does not, \
         with a `note` on what is still missing. Add `new_items` only for problems the revision itself introduced.",
        project = cx.project,
    ));
    let ids = ids(own_items.iter().map(|(i, _)| i));
    cx.ask(
        p,
        OutputSpec::Json {
            name: "rereview".into(),
            schema: rereview_schema(None, &ids, &cx.lim),
        },
        format!("Re-review {} items on the change proposal", own_items.len()),
    )
}
