//! Writing one design document named in the manifest: its scope, what it must cover and what the
//! other documents cover, so that the documents divide the design instead of repeating it.

use std::fmt::Write as _;

use serde_json::Value;

use super::context::Layer;
use super::parts::{UserPrompt, cite_rule, one_line};
use super::{Cx, Prompt};
use docs::DocKind;

pub(super) fn build(cx: &Cx, file: &str, scope: &str) -> Prompt {
    let mut p = UserPrompt::default();
    context(&mut p, cx, file, scope);
    p.fields(DocKind::DesignDoc, &cx.lim, cx.project);
    cx.ask(
        p,
        cx.json_doc(DocKind::DesignDoc),
        format!("Design doc {file}"),
    )
}

/// The context and the task of a design document.
pub(super) fn context(p: &mut UserPrompt, cx: &Cx, file: &str, scope: &str) {
    let (project, inputs) = (cx.project, cx.inputs);
    p.stable_context(inputs, DocKind::DesignDoc);
    if let Some(m) = inputs.manifest {
        let s = from_manifest(m, file);
        if !s.is_empty() {
            p.text(
                Layer::Work,
                &format!("This document: {file}"),
                s.trim_end(),
                None,
            );
        }
    }
    // An update session revises a document that exists: the model sees its current text.
    if let Some(current) = inputs.revising {
        p.doc(
            Layer::Work,
            &format!("Current text of {file} (keep what the revision does not change)"),
            current,
            Some(super::parts::rank::CORE),
        );
    }
    let scope = if scope.trim().is_empty() {
        String::new()
    } else {
        format!(" Its scope: {}.", one_line(scope).trim_end_matches('.'))
    };
    let diagrams = if inputs.local_model {
        "a diagram of the components and data flow"
    } else {
        "the diagrams the area needs (its components, then a sequence diagram for each important flow and an ER \
         diagram for its data, where it has them)"
    };
    p.task(format!(
        "Write the design document `{file}` for `{project}`.{scope} Tie every choice to the PRD's objectives and \
         non-functional requirements, prefer concrete specifications (schemas, limits, timeouts) to options, and state \
         gaps under Assumptions (TBD) with an owner. Do not repeat what the other planned documents cover. The title \
         names the area (e.g. \"Order API\"). Include {diagrams}, 3 to 5 candidates in the stack selection, and the \
         four phases (spike, MVP, scale-up, hardening) each with scope, KPIs, exit criteria and tests, in line with the \
         manifest's phase plan.{}",
        cite_rule(inputs)
    ));
}

/// The manifest's plan, the same for every task that reads it: each design document with its
/// scope, and the phase plan; with `assumptions` (a capable model), also the open assumptions
/// and their owners, which every document must stay consistent with.
pub(super) fn plan_of(m: &Value, assumptions: bool) -> String {
    let mut s = String::new();
    if let Some(areas) = m.get("design_areas").and_then(Value::as_object) {
        for (file, scope) in areas {
            let _ = writeln!(
                s,
                "- {file}: {}",
                one_line(scope.as_str().unwrap_or_default())
            );
        }
    }
    if let Some(phases) = m.get("phase_plan_overview").and_then(Value::as_array) {
        let _ = writeln!(s, "\nPhase plan:");
        for ph in phases {
            let get = |k: &str| {
                ph.get(k)
                    .and_then(Value::as_str)
                    .map(one_line)
                    .unwrap_or_default()
            };
            let _ = writeln!(
                s,
                "- {}: {} (exit: {})",
                get("phase"),
                get("goals"),
                get("exit_criteria")
            );
        }
    }
    if assumptions && let Some(list) = m.get("assumptions_tbd").and_then(Value::as_array) {
        let _ = writeln!(s, "\nAssumptions (TBD):");
        for a in list {
            if let Some(text) = a.as_str() {
                let _ = writeln!(s, "- {}", one_line(text));
                continue;
            }
            let get = |k: &str| {
                a.get(k)
                    .and_then(Value::as_str)
                    .map(one_line)
                    .unwrap_or_default()
            };
            let _ = writeln!(s, "- {} (owner: {})", get("assumption"), get("owner"));
        }
    }
    s.trim_end().to_string()
}

/// What the manifest says about `file`: its rationale and the PRD items it covers.
fn from_manifest(m: &Value, file: &str) -> String {
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
    s
}
