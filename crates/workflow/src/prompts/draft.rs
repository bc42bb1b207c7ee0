//! Drafting a stage's document: the requirements, the options, the proposal or the
//! implementation plan. Each reads, whole, what its stage builds on.

use super::context::{Block, Layer};
use super::parts::{UserPrompt, cite_rule, rank};
use super::{Cx, Prompt, design_doc};
use docs::DocKind;

pub(super) fn build(cx: &Cx, kind: DocKind) -> Prompt {
    let mut p = UserPrompt::default();
    match kind {
        DocKind::Prd => prd(&mut p, cx),
        DocKind::Options => options(&mut p, cx),
        DocKind::Proposal => proposal(&mut p, cx),
        DocKind::ImplementationPlan => implementation_plan(&mut p, cx),
        DocKind::DesignDoc => design_doc::context(&mut p, cx, "design", ""),
    }
    p.fields(kind, &cx.lim, cx.project);
    cx.ask(p, cx.json_doc(kind), format!("Draft the {}", kind.label()))
}

fn prd(p: &mut UserPrompt, cx: &Cx) {
    p.stable_context(cx.inputs, DocKind::Prd);
    p.task(format!(
        "Write the product requirements document for `{}` from the goal, the user journey and the codebase. \
         Objectives are measurable; each functional requirement is one testable behaviour; non-functional \
         requirements have targets; the user journey is the numbered steps a user takes. Where the inputs are \
         silent, make a reasonable assumption and say so in the overview.",
        cx.project
    ));
}

fn options(p: &mut UserPrompt, cx: &Cx) {
    p.stable_context(cx.inputs, DocKind::Options);
    let diagram = if cx.inputs.local_model {
        "components as nodes with short ids, data flow as edges"
    } else {
        "Mermaid of the kind that shows the option best: components and data flow, or a sequence"
    };
    p.task(format!(
        "Propose at least three distinct architecture options for `{}` (Option A, B, C in order). Each option \
         has a diagram ({diagram}), the parts listed below, an effort of S, M or L with a timeline, and short \
         ratings for the comparison table. Then recommend one option by its letter and say whether a spike should \
         come first.",
        cx.project
    ));
}

fn proposal(p: &mut UserPrompt, cx: &Cx) {
    let inputs = cx.inputs;
    p.stable_context(inputs, DocKind::Proposal);
    // Seed 002's framework in full for a capable model: who the design serves, where it meets
    // other systems, how it will be tested.
    let framework = if cx.lim.depth {
        " Name the stakeholders and their needs, the integration points with existing systems, and how the design \
         will be tested; give the tables each section asks for."
    } else {
        ""
    };
    p.task(format!(
        "Write the full design proposal for `{}` based on the chosen option. Apply the design principles of \
         your role and answer, in the matching sections, where state lives, what is fast and what is slow, how data \
         stays consistent, what fails and how it recovers, and what to build first. The implementation plan has 8 \
         to 20 numbered steps; each is a task an experienced developer can pick up: objective, code/config changes \
         (files, functions, schemas), pseudocode, and a testable acceptance check.{framework}{}",
        cx.project,
        cite_rule(inputs)
    ));
}

fn implementation_plan(p: &mut UserPrompt, cx: &Cx) {
    let inputs = cx.inputs;
    p.stable_context(inputs, DocKind::ImplementationPlan);
    for (file, md) in inputs.design_docs {
        p.add(
            Block::new(Layer::Accepted, &format!("Design document {file}"), md)
                .fenced("markdown")
                .ranked(Some(rank::BACKGROUND)),
        );
    }
    // Seed 003 in full for a capable model: the plan opens with its decision summary, takes the
    // contracts and data from the proposal, and repeats nothing (DRY).
    let depth = if cx.lim.depth {
        " Open with the Final Decision Summary. Write the API / Contract Changes from the proposal's API Design and \
         the Database Changes from its Data Design (and the design documents' contracts and models). Follow YAGNI, \
         KISS and DRY: one task per change, no logic planned twice."
    } else {
        ""
    };
    p.task(format!(
        "Write the implementation plan for `{}` from the final design. Do not reconsider the options; plan the \
         chosen solution only. Tasks are small enough for one pull request each, grouped in phases (preparation, \
         core implementation, integration, testing, deployment and rollout), each with its purpose, files or \
         modules, dependencies and owner agent (e.g. coder, reviewer, docs-manager). Keep it simple: no task that \
         no requirement needs. Do not write code.{depth}{}",
        cx.project,
        cite_rule(inputs)
    ));
}
