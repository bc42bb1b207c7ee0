//! The prompt of every task: what each agent is told, with only the context it needs.
//!
//! [`build`] turns a role, a task and the session's inputs into chat messages, the expected
//! output (free text, or JSON with its schema) and a one-line title for the pane header. The
//! system message is the role prompt; the user message gives the context first, then the task,
//! then the output fields with their hints from `sections.yaml`. Context is bounded by
//! `workflow.context_tokens`: each task takes a share of that budget for the PRD, the digest and
//! earlier documents, a re-review sees only the changed sections and its own items, and anything
//! cut is marked as cut. The bundled local model has an 8k window, so prompts stay compact.

mod parts;
#[cfg(test)]
mod tests;

use std::fmt::Write as _;

use serde_json::Value;

use crate::roles::RoleDef;
use docs::DocKind;
use docs::markdown::section_text;
use docs::schema::{
    SchemaLimits, document_schema, integration_schema, manifest_draft_schema, rereview_schema,
    review_schema,
};
pub(crate) use parts::fit;
use parts::{
    UserPrompt, bullets, capitalise, chosen_option, decision_word, document_for_integration,
    one_line, pick_sections, section_list,
};
use protocol::config::Config;
use protocol::estimate_tokens;
use protocol::{ChatMessage, Disposition, FeedbackItem, OutputSpec};

/// What a session knows, borrowed for one prompt. Every task takes only what it needs.
#[derive(Clone, Copy, Debug, Default)]
pub struct PromptInputs<'a> {
    pub project_name: &'a str,
    /// `--goal`.
    pub goal: Option<&'a str>,
    /// `--journey`.
    pub journey: Option<&'a str>,
    /// The PRD text (given, generated, or its summary).
    pub prd: Option<&'a str>,
    /// The codebase digest (see `intake::digest`).
    pub digest: &'a str,
    /// The options document (markdown).
    pub options_doc: Option<&'a str>,
    /// The chosen option: its letter (`B`), `Option B`, or its name. None: the options
    /// document's recommendation.
    pub selected_option: Option<&'a str>,
    /// The design proposal (markdown).
    pub proposal_doc: Option<&'a str>,
    /// Helper contributions: (role, markdown).
    pub contributions: &'a [(String, String)],
    /// The manifest, once written.
    pub manifest: Option<&'a Value>,
    /// Design documents written so far: (file name, markdown).
    pub design_docs: &'a [(String, String)],
    /// The session runs on the bundled local model (`llm::uses_local_model`): its small window
    /// bounds the schemas and the inputs.
    pub local_model: bool,
}

/// What the agent is asked to do.
#[derive(Clone, Copy, Debug)]
pub enum PromptTask<'a> {
    /// Shorten a text (a PRD over the budget) to about `budget_tokens`.
    Summarize { text: &'a str, budget_tokens: u32 },
    /// Write a document: requirements (Prd), options, proposal or implementation plan.
    Draft { kind: DocKind },
    /// A helper role's contribution before the proposal.
    Contribute,
    /// Choose the design areas: the manifest. `trace_items`: the PRD items to trace, as
    /// (key, text): the key is the item's id, or its text when it has none.
    Manifest {
        min: u32,
        max: u32,
        trace_items: &'a [(String, String)],
    },
    /// Write one design document named in the manifest.
    DesignDoc { file: &'a str, scope: &'a str },
    /// Review a document. For the final review: kind DesignDoc, document = all docs concatenated.
    Review {
        kind: DocKind,
        document: &'a str,
        round: u32,
    },
    /// Answer feedback items: dispositions, the changed sections, a revision entry.
    Integrate {
        kind: DocKind,
        document: &'a Value,
        items: &'a [FeedbackItem],
    },
    /// Close or reopen one's own items after an integration.
    ReReview {
        kind: DocKind,
        /// The changed sections (markdown), see `render::extract_sections`.
        changed: &'a str,
        own_items: &'a [(FeedbackItem, Option<Disposition>)],
    },
    /// Fix a document that failed validation.
    Repair {
        kind: DocKind,
        /// What the author returned (its JSON text).
        previous: &'a str,
        findings: &'a [String],
    },
    /// Fix a manifest that failed validation.
    RepairManifest {
        min: u32,
        max: u32,
        trace_items: &'a [(String, String)],
        previous: &'a str,
        findings: &'a [String],
    },
}

/// Builds the messages, the expected output and the pane title of a task.
pub fn build(
    role: &RoleDef,
    task: &PromptTask,
    inputs: &PromptInputs,
    cfg: &Config,
) -> (Vec<ChatMessage>, OutputSpec, String) {
    let budget = cfg.workflow.context_tokens.max(200);
    let lim = SchemaLimits::for_model(inputs.local_model);
    let mut p = UserPrompt::default();
    let project = inputs.project_name;
    let (output, title) = match *task {
        PromptTask::Summarize {
            text,
            budget_tokens,
        } => {
            // The text must fit the local window with the role prompt, the instructions and the
            // summary itself; a remote model gets a generous cap.
            let max_input = if inputs.local_model {
                cfg.llm
                    .local
                    .ctx_size
                    .saturating_sub(budget_tokens + estimate_tokens(&role.prompt) + 400)
                    .max(500)
            } else {
                60_000
            };
            p.doc("Document to summarise", &fit(text, max_input), "markdown");
            let words = budget_tokens * 3 / 4;
            p.task(format!(
                "Summarise the document above for the design of `{project}` in at most about {words} words of markdown.\n\
                 Keep every objective, functional requirement, non-functional target, user-journey step and constraint, \
                 with their ids or numbering; keep names, numbers and limits exactly. Drop examples, repetition and prose.\n\
                 Return only the summary."
            ));
            (
                OutputSpec::Text,
                format!("Summarize the PRD to ~{budget_tokens} tokens"),
            )
        }
        PromptTask::Draft { kind } => {
            draft(&mut p, kind, inputs, budget);
            p.fields(kind, &lim, project);
            (json_doc(kind, &lim), format!("Draft the {}", kind.label()))
        }
        PromptTask::Contribute => {
            p.requirements(inputs, budget * 45 / 100);
            if let Some(opt) = chosen_option(inputs, budget * 30 / 100) {
                p.doc("Chosen architecture option", &opt, "markdown");
            }
            p.digest(inputs, budget.saturating_sub(p.tokens()));
            p.task(format!(
                "The architect will next write the design proposal for `{project}` using the chosen option. \
                 Write your contribution now, as your role describes, in markdown of at most about 500 words. \
                 Be concrete and specific to this project."
            ));
            (
                OutputSpec::Text,
                format!("{}: contribution before the proposal", role.name),
            )
        }
        PromptTask::Manifest {
            min,
            max,
            trace_items,
        } => {
            let example = format!("{}_core_design.md", snake(project));
            p.requirements(inputs, budget * 45 / 100);
            if let Some(doc) = inputs.proposal_doc {
                p.doc(
                    "Design proposal (excerpt)",
                    &fit(
                        &pick_sections(
                            doc,
                            &[
                                "Title and Summary",
                                "Approach Overview",
                                "Detailed Component Design",
                                "Data Design",
                                "API Design",
                                "Infrastructure and Deployment",
                            ],
                        ),
                        budget.saturating_sub(p.tokens()),
                    ),
                    "markdown",
                );
            }
            trace_context(&mut p, trace_items);
            p.task(format!(
                "Choose the design documents for `{project}`: group the components of the proposal into design areas and \
                 plan one document per area that matters for risk, scope or scale; {min} to {max} documents, the smallest set \
                 that covers the design.\n\
                 - `docs`: one entry per document: `file` (snake_case, ending in `_design.md`, no directories, e.g. \
                 `{example}`), its `scope` in one or two lines, and its `rationale` (the PRD goals, risks and \
                 non-functional requirements it answers).\n\
                 - `traceability`: {trace}\n\
                 - `assumptions_tbd`: gaps in the PRD, each with an owner (or \"unassigned\").\n\
                 - `phase_plan_overview`: the phases with goals and exit criteria.",
                trace = trace_task(trace_items)
            ));
            p.output_json("the manifest");
            (
                OutputSpec::Json {
                    name: "manifest".into(),
                    schema: manifest_draft_schema(min, max, &lim, &trace_keys(trace_items)),
                },
                format!("Choose the design areas ({min}-{max} documents)"),
            )
        }
        PromptTask::DesignDoc { file, scope } => {
            design_doc(&mut p, file, scope, inputs, budget);
            p.fields(DocKind::DesignDoc, &lim, project);
            (
                json_doc(DocKind::DesignDoc, &lim),
                format!("Design doc {file}"),
            )
        }
        PromptTask::Review {
            kind,
            document,
            round,
        } => {
            // Design docs are reviewed together, in the final review.
            let final_review = kind == DocKind::DesignDoc;
            let what = if final_review {
                "Design documents".to_string()
            } else {
                capitalise(kind.label())
            };
            // The document first claims its share; the requirements get the rest.
            let doc = fit(document, budget * 75 / 100);
            if kind == DocKind::Prd {
                p.goal_and_journey(inputs);
            } else {
                p.requirements(inputs, budget.saturating_sub(estimate_tokens(&doc)));
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
                lim.review_items_max.unwrap_or(10)
            );
            p.task(t);
            p.output_json("`items`: the feedback items");
            let title = if final_review {
                "Final review of the design documents".to_string()
            } else {
                format!("Review the {}, round {round}", kind.label())
            };
            (
                OutputSpec::Json {
                    name: "review".into(),
                    schema: review_schema((!final_review).then_some(kind), &lim),
                },
                title,
            )
        }
        PromptTask::Integrate {
            kind,
            document,
            items,
        } => {
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
            let items_tokens = estimate_tokens(&list);
            p.context("Feedback items", list.trim_end());
            let doc_budget = budget.saturating_sub(items_tokens).max(budget / 3);
            p.doc(
                &format!("Current {} (JSON)", kind.label()),
                &document_for_integration(kind, document, items, doc_budget),
                "json",
            );
            p.task(format!(
                "Integrate the feedback into the {} of `{project}`. For every item: acknowledge it, evaluate it, update the \
                 document when you accept it, and explain your decision.\n\
                 - `dispositions`: exactly one per item id above: accepted, rejected (say why) or deferred (say why and when).\n\
                 - `document`: only the sections you changed, each complete, with the same field names as the current document; \
                 leave out unchanged sections.\n\
                 - `revision`: `changes` as lines like \"Risks and Mitigations: added a retry budget (PE-r1-2)\", and a short \
                 `rationale`.",
                kind.label()
            ));
            let ids: Vec<String> = items.iter().map(|i| i.id.clone()).collect();
            (
                OutputSpec::Json {
                    name: "integration".into(),
                    schema: integration_schema(kind, &ids, &lim),
                },
                format!("Integrate {} items into the {}", items.len(), kind.label()),
            )
        }
        PromptTask::ReReview {
            kind,
            changed,
            own_items,
        } => {
            let mut list = String::new();
            for (it, d) in own_items {
                let _ = writeln!(
                    list,
                    "- {} ({}) on {}: {}\n  Architect: {}",
                    it.id,
                    it.category,
                    one_line(&it.section),
                    one_line(&it.comment),
                    d.as_ref()
                        .map(|d| format!(
                            "{}. {}{}",
                            decision_word(d.decision),
                            one_line(&d.rationale),
                            d.change
                                .as_deref()
                                .map(|c| format!(" Change: {}", one_line(c)))
                                .unwrap_or_default()
                        ))
                        .unwrap_or_else(|| "no answer".into())
                );
            }
            let items_tokens = estimate_tokens(&list);
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
            let ids: Vec<String> = own_items.iter().map(|(i, _)| i.id.clone()).collect();
            (
                OutputSpec::Json {
                    name: "rereview".into(),
                    schema: rereview_schema(
                        (kind != DocKind::DesignDoc).then_some(kind),
                        &ids,
                        &lim,
                    ),
                },
                format!(
                    "Re-review {} items on the {}",
                    own_items.len(),
                    kind.label()
                ),
            )
        }
        PromptTask::Repair {
            kind,
            previous,
            findings,
        } => {
            p.context("Validation findings", &bullets(findings));
            p.doc("Your previous output", &fit(previous, budget), "json");
            p.task(format!(
                "Your {} for `{project}` failed validation. Fix every finding above and return the complete corrected \
                 document; keep everything that was already right.",
                kind.label()
            ));
            p.fields(kind, &lim, project);
            (
                json_doc(kind, &lim),
                format!("Repair the {}: {} findings", kind.label(), findings.len()),
            )
        }
        PromptTask::RepairManifest {
            min,
            max,
            trace_items,
            previous,
            findings,
        } => {
            p.context("Validation findings", &bullets(findings));
            trace_context(&mut p, trace_items);
            p.doc("Your previous manifest", &fit(previous, budget), "json");
            p.task(format!(
                "Your manifest for `{project}` failed validation. Fix every finding above and return the complete corrected \
                 manifest: {min} to {max} different snake_case `*_design.md` files in `docs`, each with its scope and \
                 rationale, and every PRD objective, requirement and journey step in `traceability`."
            ));
            p.output_json("the manifest");
            (
                OutputSpec::Json {
                    name: "manifest".into(),
                    schema: manifest_draft_schema(min, max, &lim, &trace_keys(trace_items)),
                },
                format!("Repair the manifest: {} findings", findings.len()),
            )
        }
    };
    let messages = vec![
        ChatMessage::system(role.prompt.clone()),
        ChatMessage::user(p.finish()),
    ];
    (messages, output, title)
}

/// The context of a Draft task.
fn draft(p: &mut UserPrompt, kind: DocKind, inputs: &PromptInputs, budget: u32) {
    let project = inputs.project_name;
    match kind {
        DocKind::Prd => {
            p.goal_and_journey(inputs);
            p.digest(inputs, budget);
            p.task(format!(
                "Write the product requirements document for `{project}` from the goal, the user journey and the codebase. \
                 Objectives are measurable; each functional requirement is one testable behaviour; non-functional \
                 requirements have targets; the user journey is the numbered steps a user takes. Where the inputs are \
                 silent, make a reasonable assumption and say so in the overview."
            ));
        }
        DocKind::Options => {
            p.goal_and_journey(inputs);
            p.requirements(inputs, budget * 60 / 100);
            p.digest(inputs, budget.saturating_sub(p.tokens()));
            p.task(format!(
                "Propose at least three distinct architecture options for `{project}` (Option A, B, C in order). Each option \
                 has a diagram (components as nodes with short ids, data flow as edges), the parts listed below, an effort \
                 of S, M or L with a timeline, and short ratings for the comparison table. Then recommend one option by its \
                 letter and say whether a spike should come first."
            ));
        }
        DocKind::Proposal => {
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
            let used: u32 = p.tokens();
            p.digest(inputs, budget.saturating_sub(used));
            p.task(format!(
                "Write the full design proposal for `{project}` based on the chosen option. Apply the design principles of \
                 your role and answer, in the matching sections, where state lives, what is fast and what is slow, how data \
                 stays consistent, what fails and how it recovers, and what to build first. The implementation plan has 8 \
                 to 20 numbered steps; each is a task an experienced developer can pick up: objective, code/config changes \
                 (files, functions, schemas), pseudocode, and a testable acceptance check."
            ));
        }
        DocKind::ImplementationPlan => {
            if let Some(doc) = inputs.proposal_doc {
                p.doc(
                    "Design proposal (excerpt)",
                    &fit(
                        &pick_sections(
                            doc,
                            &[
                                "Title and Summary",
                                "Approach Overview",
                                "High-Level Implementation Plan",
                                "Trade-offs and Design Decisions",
                            ],
                        ),
                        budget * 50 / 100,
                    ),
                    "markdown",
                );
            }
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
                "Write the implementation plan for `{project}` from the final design. Do not reconsider the options; plan the \
                 chosen solution only. Tasks are small enough for one pull request each, grouped in phases (preparation, \
                 core implementation, integration, testing, deployment and rollout), each with its purpose, files or \
                 modules, dependencies and owner agent (e.g. coder, reviewer, docs-manager). Keep it simple: no task that \
                 no requirement needs. Do not write code."
            ));
        }
        DocKind::DesignDoc => design_doc(p, "design", "", inputs, budget),
    }
}

/// The context of a DesignDoc task.
fn design_doc(p: &mut UserPrompt, file: &str, scope: &str, inputs: &PromptInputs, budget: u32) {
    let project = inputs.project_name;
    p.requirements(inputs, budget * 35 / 100);
    if let Some(m) = inputs.manifest {
        let mut s = String::new();
        let get = |k: &str| m.get(k).and_then(|v| v.get(file)).and_then(Value::as_str);
        if let Some(r) = get("rationale") {
            let _ = writeln!(s, "Rationale: {}", one_line(r));
        }
        if let Some(tr) = m.get("traceability").and_then(Value::as_object) {
            let covered: Vec<&str> = tr
                .iter()
                .filter(|(_, files)| {
                    files
                        .as_array()
                        .is_some_and(|a| a.iter().any(|f| f.as_str() == Some(file)))
                })
                .map(|(k, _)| k.as_str())
                .collect();
            if !covered.is_empty() {
                let _ = writeln!(s, "Covers: {}", covered.join(", "));
            }
        }
        if let Some(areas) = m.get("design_areas").and_then(Value::as_object) {
            let others: Vec<String> = areas
                .iter()
                .filter(|(f, _)| f.as_str() != file)
                .map(|(f, sc)| format!("{f} ({})", one_line(sc.as_str().unwrap_or_default())))
                .collect();
            if !others.is_empty() {
                let _ = writeln!(
                    s,
                    "Other documents (do not repeat them): {}",
                    others.join("; ")
                );
            }
        }
        if !s.is_empty() {
            p.context("From the manifest", &fit(s.trim_end(), budget * 15 / 100));
        }
    }
    if let Some(doc) = inputs.proposal_doc {
        p.doc(
            "Design proposal (excerpt)",
            &fit(
                &pick_sections(
                    doc,
                    &[
                        "Approach Overview",
                        "Detailed Component Design",
                        "Data Design",
                        "API Design",
                        "Security Design",
                        "Performance and Scalability",
                    ],
                ),
                budget.saturating_sub(p.tokens()),
            ),
            "markdown",
        );
    }
    let scope = if scope.trim().is_empty() {
        String::new()
    } else {
        format!(" Its scope: {}.", one_line(scope).trim_end_matches('.'))
    };
    p.task(format!(
        "Write the design document `{file}` for `{project}`.{scope} Tie every choice to the PRD's objectives and \
         non-functional requirements, prefer concrete specifications (schemas, limits, timeouts) to options, and state \
         gaps under Assumptions (TBD) with an owner. The title names the area (e.g. \"Order API\"). Include a diagram of \
         the components and data flow, 3 to 5 candidates in the stack selection, and the four phases (spike, MVP, \
         scale-up, hardening) each with scope, KPIs, exit criteria and tests."
    ));
}

/// The expected output of a document task.
fn json_doc(kind: DocKind, lim: &SchemaLimits) -> OutputSpec {
    OutputSpec::Json {
        name: kind.key().to_string(),
        schema: document_schema(kind, lim),
    }
}

/// A project name as a snake_case file-name part, e.g. `read-time` -> `read_time`.
fn snake(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.is_empty() && !out.ends_with('_') {
            out.push('_');
        }
    }
    let out = out
        .trim_end_matches('_')
        .trim_start_matches(|c: char| c.is_ascii_digit())
        .to_string();
    if out.is_empty() {
        "project".into()
    } else {
        out
    }
}

/// The PRD items a manifest must trace, listed for the model.
fn trace_context(p: &mut UserPrompt, items: &[(String, String)]) {
    if items.is_empty() {
        return;
    }
    let list: Vec<String> = items
        .iter()
        .map(|(key, text)| {
            if key == text {
                format!("- \"{key}\"")
            } else {
                format!("- {key}: {text}")
            }
        })
        .collect();
    p.context("PRD items to trace", &list.join("\n"));
}

/// What the manifest task says about `traceability`.
fn trace_task(items: &[(String, String)]) -> &'static str {
    if items.is_empty() {
        "every PRD objective, functional requirement and user-journey step (`prd_item`: the PRD's id, e.g. O1, \
         FR-2, J3, or a short quote when it has none) with the `docs` that cover it; leave none out."
    } else {
        "for each of the PRD items to trace above (its id, or its text when it has none), the positions in `docs` \
         of the documents that cover it (1 for the first document, 2 for the second, ...); leave none out."
    }
}

fn trace_keys(items: &[(String, String)]) -> Vec<String> {
    items.iter().map(|(k, _)| k.clone()).collect()
}
