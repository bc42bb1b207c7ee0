//! Re-reviewing after an integration: a reviewer sees only its own items, the architect's
//! answers and the sections that changed, and closes or reopens each item.

use std::fmt::Write as _;

use super::parts::{UserPrompt, decision_word, fit, ids, one_line};
use super::{Cx, Prompt};
use docs::DocKind;
use docs::schema::rereview_schema;
use protocol::{Disposition, FeedbackItem, OutputSpec, estimate_tokens};

pub(super) fn build(
    cx: &Cx,
    kind: DocKind,
    changed: &str,
    own_items: &[(FeedbackItem, Option<Disposition>)],
) -> Prompt {
    let (project, budget) = (cx.project, cx.budget);
    let list = item_list(own_items);
    let items_tokens = estimate_tokens(&list);
    let mut p = UserPrompt::default();
    p.context("Your items and the architect's answers", list.trim_end());
    let changed_text = if changed.trim().is_empty() {
        "(no section changed)".to_string()
    } else {
        fit(changed, budget.saturating_sub(items_tokens).max(budget / 3))
    };
    p.doc("Changed sections", &changed_text, "markdown");
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
fn item_list(own_items: &[(FeedbackItem, Option<Disposition>)]) -> String {
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
