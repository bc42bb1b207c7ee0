//! Building a task for a workflow step: gather the context the prompt needs from the accepted
//! artifacts and the feedback ledger, and let `workflow::prompts` write the prompt.

use serde_json::Value;

use crate::journal::SessionState;
use crate::supervisor::session::{
    INPUT_DIGEST, INPUT_PRD, SessionContext, design_doc_name, doc_kind, doc_name,
};
use docs::DocKind;
use protocol::error::{Error, Result};
use protocol::{
    ChatMessage, FeedbackItem, ItemStatus, OutputSpec, Stage, Task, TaskKind, TaskOutcome, task_id,
};
use workflow::machine::{StepTask, doc_for_section};
use workflow::prompts::{PromptInputs, PromptTask, build};

/// Builds the task for a step.
pub(crate) fn build_task(
    ctx: &SessionContext,
    state: &SessionState,
    st: &StepTask,
    local: bool,
) -> Result<Task> {
    let role = ctx.roles.get(&st.role).ok_or_else(|| {
        Error::Usage(format!(
            "role `{}` is not defined (agents/ or .agentmux/agents/)",
            st.role
        ))
    })?;
    let base = match &st.kind {
        TaskKind::Repair { of } => (**of).clone(),
        k => k.clone(),
    };
    let store = &ctx.store;
    let prd = ctx.prd_text(state);
    let digest = store.read_input(INPUT_DIGEST).unwrap_or_default();
    let options_doc = store.latest_md(state, Stage::Options, "options");
    let proposal_doc = store.latest_md(state, Stage::Proposal, "proposal");
    let contributions: Vec<(String, String)> = ctx
        .plan
        .helpers
        .iter()
        .filter_map(|h| {
            store
                .latest_md(state, Stage::Helpers, &format!("contribution-{h}"))
                .map(|t| (h.clone(), t))
        })
        .collect();
    let manifest = store.latest_json(state, Stage::DesignDocs, "manifest");
    let design_docs: Vec<(String, String)> = state
        .design_docs
        .iter()
        .filter_map(|f| {
            store
                .latest_md(state, Stage::DesignDocs, &design_doc_name(f))
                .map(|t| (f.clone(), t))
        })
        .collect();
    let inputs = PromptInputs {
        project_name: &state.inputs.project_name,
        goal: state.inputs.goal.as_deref(),
        journey: state.inputs.journey.as_deref(),
        prd: prd.as_deref(),
        digest: &digest,
        options_doc: options_doc.as_deref(),
        selected_option: state.selected_option.as_deref(),
        proposal_doc: proposal_doc.as_deref(),
        contributions: &contributions,
        manifest: manifest.as_ref(),
        design_docs: &design_docs,
        local_model: local,
    };
    let kind = doc_kind(st.stage).unwrap_or(DocKind::Proposal);
    let raw_prd = store.read_input(INPUT_PRD).unwrap_or_default();
    let stage_doc_md = |stage: Stage| -> String {
        if stage == Stage::FinalReview {
            design_docs
                .iter()
                .map(|(f, t)| format!("<!-- {f} -->\n{t}"))
                .collect::<Vec<_>>()
                .join("\n\n")
        } else {
            store
                .latest_md(state, stage, doc_name(stage))
                .unwrap_or_default()
        }
    };
    // Items an integration answers / a re-review re-checks.
    let open_items: Vec<FeedbackItem> = state
        .stage_items(st.stage)
        .filter(|i| i.status == ItemStatus::Open)
        .filter(|i| match &base {
            TaskKind::IntegrateDoc { file } => {
                doc_for_section(&i.item.section, &state.design_docs) == *file
            }
            _ => true,
        })
        .map(|i| i.item.clone())
        .collect();
    let own_items: Vec<(FeedbackItem, Option<protocol::Disposition>)> = state
        .stage_items(st.stage)
        .filter(|i| i.item.author == st.role && i.status == ItemStatus::Addressed)
        .map(|i| (i.item.clone(), i.disposition.clone()))
        .collect();
    let mut item_ids = Vec::new();
    let stage_doc;
    let doc_json;
    let changed;
    let scope;
    let trace;
    let ptask = match &base {
        TaskKind::Summarize => PromptTask::Summarize {
            text: &raw_prd,
            budget_tokens: ctx.config.workflow.context_tokens,
        },
        TaskKind::Draft => PromptTask::Draft { kind },
        TaskKind::Contribute => PromptTask::Contribute,
        TaskKind::Manifest => {
            trace = prd
                .as_deref()
                .map(|prd| workflow::trace::items(prd, state.inputs.journey.as_deref()))
                .unwrap_or_default();
            PromptTask::Manifest {
                min: ctx.config.workflow.design_docs.min,
                max: ctx.config.workflow.design_docs.max,
                trace_items: &trace,
            }
        }
        TaskKind::DesignDoc { file } => {
            scope = manifest
                .as_ref()
                .and_then(|m| m.get("design_areas"))
                .and_then(|a| a.get(file))
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            PromptTask::DesignDoc {
                file,
                scope: &scope,
            }
        }
        TaskKind::Review => {
            stage_doc = stage_doc_md(st.stage);
            PromptTask::Review {
                kind,
                document: &stage_doc,
                round: st.round,
            }
        }
        TaskKind::ReReview => {
            changed = changed_sections(ctx, state, st.stage);
            item_ids = own_items.iter().map(|(i, _)| i.id.clone()).collect();
            PromptTask::ReReview {
                kind,
                changed: &changed,
                own_items: &own_items,
            }
        }
        TaskKind::Integrate => {
            doc_json = store
                .latest_json(state, st.stage, doc_name(st.stage))
                .unwrap_or(Value::Null);
            item_ids = open_items.iter().map(|i| i.id.clone()).collect();
            PromptTask::Integrate {
                kind,
                document: &doc_json,
                items: &open_items,
            }
        }
        TaskKind::IntegrateDoc { file } => {
            doc_json = store
                .latest_json(state, Stage::DesignDocs, &design_doc_name(file))
                .unwrap_or(Value::Null);
            item_ids = open_items.iter().map(|i| i.id.clone()).collect();
            PromptTask::Integrate {
                kind: DocKind::DesignDoc,
                document: &doc_json,
                items: &open_items,
            }
        }
        TaskKind::Repair { .. } => return Err(Error::Other("internal: nested repair".into())),
    };
    let (mut messages, mut output, mut title) = build(role, &ptask, &inputs, &ctx.config);
    if let TaskKind::Repair { .. } = &st.kind {
        // A repair is the original request, the previous answer, and the validator's findings.
        let previous = last_invalid(ctx, state, st);
        let listed = |extra: Option<&str>| {
            previous
                .findings
                .iter()
                .map(String::as_str)
                .chain(extra)
                .map(|f| format!("- {f}"))
                .collect::<Vec<_>>()
                .join("\n")
        };
        if let Some(why) = previous.runaway() {
            // A reply cut off at the length limit or stuck repeating itself is no base to fix;
            // shown again, it would fill the context and invite the same loop (small models).
            messages.push(ChatMessage::user(format!(
                "An earlier answer to this request was rejected:\n{}\n\nAnswer again from the start, in the \
                 same format. Keep every field short and specific, and do not repeat a phrase.",
                listed(Some(why))
            )));
        } else {
            messages.push(ChatMessage::assistant(previous.text));
            messages.push(ChatMessage::user(format!(
                "Your answer above failed validation:\n{}\n\nReturn the complete corrected answer in the same format, \
                 fixing every problem listed.",
                listed(None)
            )));
        }
        title = format!("repair: {title}");
    }
    if local && let OutputSpec::Json { schema, .. } = &mut output {
        bound_schema(schema, 700, 10);
        one_entry_per_item(schema);
    }
    let (model, temperature, max_tokens) = (
        ctx.roles.model(&st.role),
        ctx.roles.temperature(&st.role),
        ctx.roles.max_tokens(&st.role),
    );
    Ok(Task {
        id: task_id(st.stage, &st.kind, st.round, &st.role, st.attempt),
        session_id: ctx.session_id.clone(),
        role: st.role.clone(),
        stage: st.stage,
        round: st.round,
        attempt: st.attempt,
        kind: st.kind.clone(),
        title,
        messages,
        output,
        model,
        temperature,
        max_tokens,
        item_ids,
        created_at: jiff::Timestamp::now(),
    })
}

/// The previous (invalid) output of a step.
#[derive(Default)]
struct Invalid {
    text: String,
    findings: Vec<String>,
    /// The model stopped at its token limit.
    cut_off: bool,
}

impl Invalid {
    /// Why the reply is not worth repairing in place, if it is not.
    fn runaway(&self) -> Option<&'static str> {
        if self.cut_off {
            Some("it was cut off at the length limit")
        } else if repetitive(&self.text) {
            Some("it repeated the same words over and over")
        } else {
            None
        }
    }
}

/// A long text made of a few words repeated: what a small model writes when it loops.
fn repetitive(text: &str) -> bool {
    let words: Vec<&str> = text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    if words.len() < 200 {
        return false;
    }
    let distinct: std::collections::HashSet<&str> = words.iter().copied().collect();
    distinct.len() * 10 < words.len()
}

/// The previous (invalid) output of a step and its findings.
fn last_invalid(ctx: &SessionContext, state: &SessionState, st: &StepTask) -> Invalid {
    let key = workflow::state::StepKey::new(st.stage, &st.kind, st.round, &st.role);
    let last = state
        .step_tasks(&key)
        .into_iter()
        .rev()
        .find(|t| matches!(t.state, workflow::state::TaskState::Invalid { .. }));
    let Some(t) = last else {
        return Invalid::default();
    };
    let findings = match &t.state {
        workflow::state::TaskState::Invalid { findings } => findings.clone(),
        _ => Vec::new(),
    };
    let (text, cut_off) = crate::transport::read_result(&ctx.paths, &t.id)
        .ok()
        .flatten()
        .and_then(|r| match r.outcome {
            TaskOutcome::Completed {
                text,
                finish_reason,
                ..
            } => Some((text, finish_reason.as_deref() == Some("length"))),
            TaskOutcome::Failed { .. } => None,
        })
        .unwrap_or_default();
    // Keep the repair prompt bounded.
    let text: String = text.chars().take(12_000).collect();
    Invalid {
        text,
        findings,
        cut_off,
    }
}

/// For a re-review: the sections of the stage's document that changed in the last revision,
/// found by comparing the two revisions' JSON section by section and quoted from the rendered
/// markdown (the same helpers the prompts use).
fn changed_sections(ctx: &SessionContext, state: &SessionState, stage: Stage) -> String {
    let name = doc_name(stage);
    let Some(rev) = state.artifact_revision(stage, name) else {
        return String::new();
    };
    let new_md = ctx.store.md(stage, name, rev).unwrap_or_default();
    let read_json = |r: u32| ctx.store.json(stage, name, r);
    let (Some(kind), true) = (doc_kind(stage), rev > 1) else {
        return new_md;
    };
    let (Some(old), Some(new)) = (read_json(rev - 1), read_json(rev)) else {
        return new_md;
    };
    let keys = docs::markdown::changed_sections(kind, &old, &new);
    let text = docs::markdown::extract_sections(kind, &new_md, &keys);
    if text.is_empty() {
        "(no section changed)".into()
    } else {
        text
    }
}

/// Bounds every string and array of a JSON Schema (unless already bounded), so that
/// grammar-constrained decoding on a small local model cannot run away inside one value.
pub(crate) fn bound_schema(schema: &mut Value, max_len: u64, max_items: u64) {
    match schema {
        Value::Object(m) => {
            let ty = m.get("type").cloned();
            let is = |t: &str| match &ty {
                Some(Value::String(s)) => s == t,
                Some(Value::Array(a)) => a.iter().any(|v| v == t),
                _ => false,
            };
            if is("string")
                && !m.contains_key("maxLength")
                && !m.contains_key("enum")
                && !m.contains_key("pattern")
            {
                m.insert("maxLength".into(), Value::from(max_len));
            }
            if is("array") && !m.contains_key("maxItems") {
                m.insert("maxItems".into(), Value::from(max_items));
            }
            for (_, v) in m.iter_mut() {
                bound_schema(v, max_len, max_items);
            }
        }
        Value::Array(a) => {
            for v in a {
                bound_schema(v, max_len, max_items);
            }
        }
        _ => {}
    }
}

/// Turns "an array of n entries whose `item_id` is one of these n ids" into a tuple with one
/// entry per id (`prefixItems` with a `const` id each). Under grammar-constrained decoding a small
/// model then answers every item exactly once instead of repeating the first id.
pub(crate) fn one_entry_per_item(schema: &mut Value) {
    let Some(props) = schema.get_mut("properties").and_then(Value::as_object_mut) else {
        return;
    };
    for key in ["dispositions", "verdicts"] {
        let Some(arr) = props.get_mut(key) else {
            continue;
        };
        let Some(items) = arr.get("items").cloned() else {
            continue;
        };
        let Some(ids) = items
            .pointer("/properties/item_id/enum")
            .and_then(Value::as_array)
            .cloned()
        else {
            continue;
        };
        if ids.len() < 2 {
            continue;
        }
        let tuple: Vec<Value> = ids
            .iter()
            .map(|id| {
                let mut it = items.clone();
                if let Some(p) = it.pointer_mut("/properties/item_id") {
                    *p = serde_json::json!({ "const": id });
                }
                it
            })
            .collect();
        if let Some(o) = arr.as_object_mut() {
            o.remove("items");
            o.insert("prefixItems".into(), Value::Array(tuple));
            o.insert("minItems".into(), Value::from(ids.len()));
            o.insert("maxItems".into(), Value::from(ids.len()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runaway_replies_are_answered_afresh_and_ordinary_ones_repaired_in_place() {
        let loop_text = "A: A: A: option A: ".repeat(200);
        let prose = (0..400).map(|i| format!("word{i} ")).collect::<String>();
        let invalid = |text: &str, cut_off| Invalid {
            text: text.into(),
            findings: vec!["a finding".into()],
            cut_off,
        };
        assert_eq!(
            invalid(&loop_text, false).runaway(),
            Some("it repeated the same words over and over")
        );
        assert_eq!(
            invalid(&prose, true).runaway(),
            Some("it was cut off at the length limit")
        );
        assert_eq!(invalid(&prose, false).runaway(), None);
        // Short answers are never judged repetitive.
        assert_eq!(invalid("ok ok ok ok", false).runaway(), None);
    }

    #[test]
    fn dispositions_become_one_entry_per_item() {
        let mut s = serde_json::json!({
            "type": "object",
            "properties": {
                "dispositions": {
                    "type": "array",
                    "items": {"type": "object", "properties": {"item_id": {"type": "string", "enum": ["A", "B"]}, "decision": {"enum": ["accepted"]}}},
                    "minItems": 2, "maxItems": 2
                }
            }
        });
        one_entry_per_item(&mut s);
        let d = &s["properties"]["dispositions"];
        assert!(d.get("items").is_none());
        assert_eq!(d["prefixItems"][0]["properties"]["item_id"]["const"], "A");
        assert_eq!(d["prefixItems"][1]["properties"]["item_id"]["const"], "B");
        assert_eq!(
            d["prefixItems"][1]["properties"]["decision"]["enum"][0],
            "accepted"
        );
    }

    #[test]
    fn bound_schema_caps_strings_and_arrays_but_keeps_explicit_bounds() {
        let mut s = serde_json::json!({
            "type": "object",
            "properties": {
                "a": {"type": "string"},
                "b": {"type": "string", "maxLength": 5},
                "c": {"type": "array", "items": {"type": "string"}},
                "d": {"enum": ["S", "M"]}
            }
        });
        bound_schema(&mut s, 100, 7);
        assert_eq!(s["properties"]["a"]["maxLength"], 100);
        assert_eq!(s["properties"]["b"]["maxLength"], 5);
        assert_eq!(s["properties"]["c"]["maxItems"], 7);
        assert_eq!(s["properties"]["c"]["items"]["maxLength"], 100);
        assert!(s["properties"]["d"].get("maxLength").is_none());
    }
}
