//! Drafting a stage's document: the requirements, the options, the proposal or the
//! implementation plan. Each reads what its stage builds on, within its share of the budget.

use std::fmt::Write as _;

use serde_json::Value;

use super::parts::{UserPrompt, chosen_option, fit, one_line};
use super::{Cx, Prompt, design_doc};
use docs::DocKind;
use docs::markdown::section_text;

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
    p.goal_and_journey(cx.inputs);
    p.digest(cx.inputs, cx.budget);
    p.task(format!(
        "Write the product requirements document for `{}` from the goal, the user journey and the codebase. \
         Objectives are measurable; each functional requirement is one testable behaviour; non-functional \
         requirements have targets; the user journey is the numbered steps a user takes. Where the inputs are \
         silent, make a reasonable assumption and say so in the overview.",
        cx.project
    ));
}

fn options(p: &mut UserPrompt, cx: &Cx) {
    p.goal_and_journey(cx.inputs);
    p.requirements(cx.inputs, cx.budget * 60 / 100);
    p.digest(cx.inputs, cx.budget.saturating_sub(p.tokens()));
    p.task(format!(
        "Propose at least three distinct architecture options for `{}` (Option A, B, C in order). Each option \
         has a diagram (components as nodes with short ids, data flow as edges), the parts listed below, an effort \
         of S, M or L with a timeline, and short ratings for the comparison table. Then recommend one option by its \
         letter and say whether a spike should come first.",
        cx.project
    ));
}

fn proposal(p: &mut UserPrompt, cx: &Cx) {
    let (inputs, budget) = (cx.inputs, cx.budget);
    p.requirements(inputs, budget * 35 / 100);
    if let Some(opt) = chosen_option(inputs, budget * 30 / 100) {
        p.doc("Chosen architecture option", &opt, "markdown");
    }
    if !inputs.contributions.is_empty() {
        let share = budget * 25 / 100 / inputs.contributions.len() as u32;
        for (who, text) in inputs.contributions {
            p.doc(
                &format!("Contribution from {who}"),
                &fit(text, share),
                "markdown",
            );
        }
    }
    p.digest(inputs, budget.saturating_sub(p.tokens()));
    p.task(format!(
        "Write the full design proposal for `{}` based on the chosen option. Apply the design principles of \
         your role and answer, in the matching sections, where state lives, what is fast and what is slow, how data \
         stays consistent, what fails and how it recovers, and what to build first. The implementation plan has 8 \
         to 20 numbered steps; each is a task an experienced developer can pick up: objective, code/config changes \
         (files, functions, schemas), pseudocode, and a testable acceptance check.",
        cx.project
    ));
}

fn implementation_plan(p: &mut UserPrompt, cx: &Cx) {
    let (inputs, budget) = (cx.inputs, cx.budget);
    p.proposal_excerpt(
        inputs,
        &[
            "Title and Summary",
            "Approach Overview",
            "High-Level Implementation Plan",
            "Trade-offs and Design Decisions",
        ],
        budget * 50 / 100,
    );
    if let Some(areas) = inputs
        .manifest
        .and_then(|m| m.get("design_areas"))
        .and_then(Value::as_object)
    {
        let mut s = String::new();
        for (file, scope) in areas {
            let _ = writeln!(
                s,
                "- {file}: {}",
                one_line(scope.as_str().unwrap_or_default())
            );
        }
        p.context("Design documents", s.trim_end());
    }
    if !inputs.design_docs.is_empty() {
        let share = budget * 30 / 100 / inputs.design_docs.len() as u32;
        for (file, md) in inputs.design_docs {
            let overview = section_text(md, "Architecture Overview").unwrap_or(md);
            p.doc(
                &format!("{file} (overview)"),
                &fit(overview, share),
                "markdown",
            );
        }
    }
    p.requirements(inputs, budget.saturating_sub(p.tokens()).max(budget / 10));
    p.task(format!(
        "Write the implementation plan for `{}` from the final design. Do not reconsider the options; plan the \
         chosen solution only. Tasks are small enough for one pull request each, grouped in phases (preparation, \
         core implementation, integration, testing, deployment and rollout), each with its purpose, files or \
         modules, dependencies and owner agent (e.g. coder, reviewer, docs-manager). Keep it simple: no task that \
         no requirement needs. Do not write code.",
        cx.project
    ));
}
