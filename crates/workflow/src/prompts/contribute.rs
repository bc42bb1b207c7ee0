//! A helper role's contribution before the proposal: what its speciality adds to the chosen
//! option, for the architect to use.

use super::parts::UserPrompt;
use super::{Cx, Prompt};
use docs::DocKind;
use protocol::OutputSpec;

pub(super) fn build(cx: &Cx) -> Prompt {
    let project = cx.project;
    let mut p = UserPrompt::default();
    p.stable_context(cx.inputs, DocKind::Proposal);
    // Helpers run in sequence (seed 002: data structures, then idioms); a later one builds on the
    // earlier contributions, which the context above carries.
    let build_on = if cx.lim.depth && !cx.inputs.contributions.is_empty() {
        " Build on the contributions above (use their types and names) instead of repeating them."
    } else {
        ""
    };
    p.task(format!(
        "The architect will next write the design proposal for `{project}` using the chosen option. \
         Write your contribution now, as your role describes, in markdown of at most about 500 words. \
         Be concrete and specific to this project.{build_on}"
    ));
    cx.ask(
        p,
        OutputSpec::Text,
        format!("{}: contribution before the proposal", cx.role.name),
    )
}
