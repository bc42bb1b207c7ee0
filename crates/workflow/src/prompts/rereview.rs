//! Re-reviewing after an integration: a reviewer sees the revised document (whole, as in its
//! review, so the two requests share a prefix; its changed sections when the window is small),
//! what changed, its own items with the architect's answers, and closes or reopens each item.

use std::fmt::Write as _;

use super::context::{Block, Layer};
use super::parts::{UserPrompt, capitalise, decision_word, ids, one_line, rank};
use super::{Cx, Prompt};
use docs::DocKind;
use docs::schema::rereview_schema;
use protocol::{Disposition, FeedbackItem, OutputSpec};

pub(super) fn build(
    cx: &Cx,
    kind: DocKind,
    changed: &str,
    own_items: &[(FeedbackItem, Option<Disposition>)],
) -> Prompt {
    let project = cx.project;
    let mut p = UserPrompt::default();
    p.stable_context(cx.inputs, kind);
    let changed_text = if changed.trim().is_empty() {
        "(no section changed)"
    } else {
        changed
    };
    let current = match kind {
        DocKind::Options => cx.inputs.options_doc,
        DocKind::Proposal => cx.inputs.proposal_doc,
        DocKind::Prd | DocKind::DesignDoc | DocKind::ImplementationPlan => None,
    };
    match current {
        // The revision whole, under the title the review gave it; its summary is what changed.
        Some(doc) => {
            p.add(
                Block::new(Layer::Work, &capitalise(kind.label()), doc)
                    .fenced("markdown")
                    .ranked(Some(rank::CORE))
                    .summarised_as(changed_text.to_string()),
            );
            p.text(
                Layer::Work,
                "Changed in this revision",
                &headings(changed_text),
                None,
            );
        }
        None => p.doc(
            Layer::Work,
            "Changed sections",
            changed_text,
            Some(rank::CORE),
        ),
    }
    p.text(
        Layer::Work,
        "Your items and the architect's answers",
        item_list(own_items).trim_end(),
        None,
    );
    p.task(format!(
        "The architect revised the {} of `{project}` after your review. For each of your items above, give a verdict: \
         `closed` when the change or the answer settles it, `reopened` when it does not (the `note` says what is still \
         missing). Add `new_items` only for problems the changes introduced.",
        kind.label()
    ));
    let ids = ids(own_items.iter().map(|(i, _)| i));
    cx.ask(
        p,
        OutputSpec::Json {
            name: "rereview".into(),
            schema: rereview_schema((kind != DocKind::DesignDoc).then_some(kind), &ids, &cx.lim),
        },
        format!(
            "Re-review {} items on the {}",
            own_items.len(),
            kind.label()
        ),
    )
}

/// One entry per item: the item, then the architect's answer to it.
pub(super) fn item_list(own_items: &[(FeedbackItem, Option<Disposition>)]) -> String {
    let mut list = String::new();
    for (it, d) in own_items {
        let _ = writeln!(
            list,
            "- {} ({}) on {}: {}\n  Architect: {}",
            it.id,
            it.category,
            one_line(&it.section),
            one_line(&it.comment),
            d.as_ref().map(answer).unwrap_or_else(|| "no answer".into())
        );
    }
    list
}

/// The architect's answer to an item: the decision, why, and the change made.
fn answer(d: &Disposition) -> String {
    format!(
        "{}. {}{}",
        decision_word(d.decision),
        one_line(&d.rationale),
        d.change
            .as_deref()
            .map(|c| format!(" Change: {}", one_line(c)))
            .unwrap_or_default()
    )
}

/// The section headings of the changed sections, one per line; or the text when it has none.
fn headings(changed: &str) -> String {
    let list: Vec<String> = changed
        .lines()
        .filter_map(|l| l.strip_prefix("## "))
        .map(|h| format!("- {}", h.trim()))
        .collect();
    if list.is_empty() {
        changed.trim().to_string()
    } else {
        list.join("\n")
    }
}
