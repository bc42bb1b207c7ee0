//! Writing one design document named in the manifest: its scope, what it must cover and what the
//! other documents cover, so that the documents divide the design instead of repeating it.

use std::fmt::Write as _;

use serde_json::Value;

use super::parts::{UserPrompt, fit, one_line};
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
    let (project, inputs, budget) = (cx.project, cx.inputs, cx.budget);
    p.requirements(inputs, budget * 35 / 100);
    if let Some(m) = inputs.manifest {
        let s = from_manifest(m, file);
        if !s.is_empty() {
            p.context("From the manifest", &fit(s.trim_end(), budget * 15 / 100));
        }
    }
    p.proposal_excerpt(
        inputs,
        &[
            "Approach Overview",
            "Detailed Component Design",
            "Data Design",
            "API Design",
            "Security Design",
            "Performance and Scalability",
        ],
        budget.saturating_sub(p.tokens()),
    );
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

/// What the manifest says about `file`: its rationale, the PRD items it covers, and the other
/// documents (not to repeat).
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
    s
}
