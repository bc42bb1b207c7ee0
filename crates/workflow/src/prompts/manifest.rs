//! Choosing the design areas: the manifest plans one design document per area and maps every
//! PRD item to the documents that cover it.

use super::context::Layer;
use super::parts::UserPrompt;
use super::{Cx, Prompt};
use docs::DocKind;
use docs::schema::manifest_draft_schema;
use docs::validate::DESIGN_DOCS_CEILING;
use protocol::OutputSpec;

pub(super) fn build(cx: &Cx, min: u32, max: u32, trace_items: &[(String, String)]) -> Prompt {
    let project = cx.project;
    let example = format!("{}_core_design.md", snake(project));
    let mut p = UserPrompt::default();
    p.stable_context(cx.inputs, DocKind::DesignDoc);
    trace_context(&mut p, trace_items);
    // A capable model may list more than `max` documents, up to the validator's ceiling, when
    // each one's rationale says why (the supervisor accepts them with a warning); the bundled
    // local model keeps the configured bounds.
    let ceiling = if cx.inputs.local_model {
        max
    } else {
        (DESIGN_DOCS_CEILING as u32).max(max)
    };
    let leeway = if ceiling > max {
        format!(
            " (up to {ceiling} only when each document's rationale shows the area needs its own)"
        )
    } else {
        String::new()
    };
    // Seed 004's selection steps in full for a capable model: an inventory first, then the areas,
    // with the usual kinds of document named.
    let (inventory, kinds) = if cx.inputs.local_model {
        ("", "")
    } else {
        (
            " first take stock of the components the PRD and the proposal need (user interfaces, services, \
             workflows, data stores, ML/AI, messaging, observability, CI/CD, security); then",
            "\nTypical documents are `*_frontend_design.md`, `*_api_design.md`, `*_database_design.md`, \
             `*_genai_design.md`, `*_messaging_design.md`, `*_security_auth_design.md`, \
             `*_observability_design.md` and `*_devops_infra_design.md`; a cross-cutting area (security, \
             observability, CI/CD) gets its own document when it carries risk.",
        )
    };
    p.task(format!(
        "Choose the design documents for `{project}`:{inventory} group the components of the proposal into design areas and \
         plan one document per area that matters for risk, scope or scale; {min} to {max} documents{leeway}, the \
         smallest set that covers the design.\n\
         - `docs`: one entry per document: `file` (snake_case, ending in `_design.md`, no directories, e.g. \
         `{example}`), its `scope` in one or two lines, and its `rationale` (the PRD goals, risks and \
         non-functional requirements it answers).\n\
         - `traceability`: {trace}\n\
         - `assumptions_tbd`: gaps in the PRD, each with an owner (or \"unassigned\").\n\
         - `phase_plan_overview`: the phases with goals and exit criteria.{kinds}",
        trace = trace_task(trace_items)
    ));
    p.output_json("the manifest");
    let keys: Vec<String> = trace_items.iter().map(|(k, _)| k.clone()).collect();
    cx.ask(
        p,
        OutputSpec::Json {
            name: "manifest".into(),
            schema: manifest_draft_schema(min, ceiling, &cx.lim, &keys),
        },
        format!("Choose the design areas ({min}-{max} documents)"),
    )
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
    p.text(Layer::Work, "PRD items to trace", &list.join("\n"), None);
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
