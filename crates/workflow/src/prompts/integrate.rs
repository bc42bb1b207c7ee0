//! Integrating feedback: the author answers every open item and returns only the sections it
//! changed, so a large document need not be written out again.

use std::fmt::Write as _;

use serde_json::Value;

use super::context::{Block, Layer};
use super::parts::{UserPrompt, ids, integration_summary, one_line, rank};
use super::{Cx, Prompt};
use docs::DocKind;
use docs::schema::integration_schema;
use protocol::{FeedbackItem, OutputSpec};

pub(super) fn build(cx: &Cx, kind: DocKind, document: &Value, items: &[FeedbackItem]) -> Prompt {
    let project = cx.project;
    let mut p = UserPrompt::default();
    p.stable_context(cx.inputs, kind);
    // The document whole; when the window cannot hold it, the sections the items name.
    p.add(
        Block::new(
            Layer::Work,
            &format!("Current {} (JSON)", kind.label()),
            &serde_json::to_string(document).unwrap_or_default(),
        )
        .fenced("json")
        .ranked(Some(rank::CORE))
        .summarised_as(integration_summary(kind, document, items)),
    );
    p.text(
        Layer::Work,
        "Feedback items",
        item_list(items).trim_end(),
        None,
    );
    // A capable model writes its acknowledgement down, so the ledger shows step 1 of the protocol.
    let acknowledge = if cx.lim.depth {
        " Each disposition starts with `acknowledgement`: the item in your own words, what the reviewer asks \
         for and why it matters."
    } else {
        ""
    };
    p.task(format!(
        "Integrate the feedback into the {} of `{project}`. For every item: acknowledge it, evaluate it, update the \
         document when you accept it, and explain your decision.\n\
         - `dispositions`: exactly one per item id above: accepted, rejected (say why) or deferred (say why and when).\
         {acknowledge}\n\
         - `document`: only the sections you changed, each complete, with the same field names as the current document; \
         leave out unchanged sections.\n\
         - `revision`: `changes` as lines like \"Risks and Mitigations: added a retry budget (PE-r1-2)\", and a short \
         `rationale`.",
        kind.label()
    ));
    cx.ask(
        p,
        OutputSpec::Json {
            name: "integration".into(),
            schema: integration_schema(kind, &ids(items), &cx.lim),
        },
        format!("Integrate {} items into the {}", items.len(), kind.label()),
    )
}

/// One line per item: id, category, author, section, comment and suggestion.
pub(super) fn item_list(items: &[FeedbackItem]) -> String {
    let mut list = String::new();
    for it in items {
        let _ = writeln!(
            list,
            "- {} ({}, from {}) on {}: {}{}",
            it.id,
            it.category,
            it.author,
            one_line(&it.section),
            one_line(&it.comment),
            it.suggestion
                .as_deref()
                .filter(|s| !s.trim().is_empty())
                .map(|s| format!(" Suggestion: {}", one_line(s)))
                .unwrap_or_default()
        );
    }
    list
}
