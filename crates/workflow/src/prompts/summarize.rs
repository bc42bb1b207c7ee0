//! Summarising a PRD that is over the context budget, so that every later prompt can carry it.

use super::context::Layer;
use super::parts::{UserPrompt, fit};
use super::{Cx, Prompt};
use protocol::{OutputSpec, estimate_tokens};

pub(super) fn build(cx: &Cx, text: &str, budget_tokens: u32) -> Prompt {
    let project = cx.project;
    // The text must fit the local window with the role prompt, the instructions and the
    // summary itself; a remote model gets a generous cap.
    let max_input = if cx.inputs.local_model {
        cx.cfg
            .llm
            .local
            .ctx_size
            .saturating_sub(budget_tokens + estimate_tokens(&cx.role.prompt) + 400)
            .max(500)
    } else {
        60_000
    };
    let mut p = UserPrompt::default();
    p.doc(
        Layer::Work,
        "Document to summarise",
        &fit(text, max_input),
        None,
    );
    let words = budget_tokens * 3 / 4;
    p.task(format!(
        "Summarise the document above for the design of `{project}` in at most about {words} words of markdown.\n\
         Keep every objective, functional requirement, non-functional target, user-journey step and constraint, \
         with their ids or numbering; keep names, numbers and limits exactly. Drop examples, repetition and prose.\n\
         Return only the summary."
    ));
    cx.ask(
        p,
        OutputSpec::Text,
        format!("Summarize the PRD to ~{budget_tokens} tokens"),
    )
}
