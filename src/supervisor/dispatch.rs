//! Building a task for a workflow step: gather the context the prompt needs from the accepted
//! artifacts and the feedback ledger, and let `workflow::prompts` write the prompt. A repair is
//! built the same way: the task it repairs, with the invalid answer and its findings.

mod material;
mod parts;

use serde_json::Value;

use crate::journal::SessionState;
use crate::supervisor::code;
use crate::supervisor::session::SessionContext;
use material::{Material, Sources};
use protocol::error::{Error, Result};
use protocol::profile::StructuredMode;
use protocol::{ContextCut, OutputSpec, Stage, Task, TaskKind, TaskOutcome, TaskPart, task_id};
use workflow::machine::StepTask;
use workflow::prompts::{ContextBudget, Prompt, PromptTask, REVIEWED_DOC, build};
use workflow::state::{StepKey, TaskState};

/// A task as built, with what its prompt left out to fit the model's window.
pub(crate) struct Built {
    pub(crate) task: Task,
    pub(crate) cuts: Vec<ContextCut>,
    /// Tokens the prompt's user message could use.
    pub(crate) budget_tokens: u32,
}

/// Builds the task for a step.
pub(crate) fn build_task(
    ctx: &SessionContext,
    state: &SessionState,
    st: &StepTask,
    local: bool,
) -> Result<Built> {
    let role = ctx.roles.get(&st.role).ok_or_else(|| {
        Error::Usage(format!(
            "role `{}` is not defined (agents/ or .agentmux/agents/)",
            st.role
        ))
    })?;
    let sources = Sources::read(ctx, state);
    let (base, repair) = (st.kind.base(), matches!(st.kind, TaskKind::Repair { .. }));
    let material = Material::read(ctx, state, st, base, &sources)?;
    let request = material.task();
    let invalid;
    let task = if repair {
        invalid = last_invalid(ctx, state, st);
        PromptTask::Repair {
            of: &request,
            answer: &invalid.text,
            findings: &invalid.findings,
            cut_off: invalid.cut_off,
        }
    } else {
        request
    };
    let max_tokens = max_tokens(ctx, state, &st.role, local);
    let budget = context_budget(ctx, state, &st.role, local, max_tokens);
    let room = budget.window.saturating_sub(budget.output);
    let pack_tokens = code::pack_tokens(st.stage, &st.kind, local, room);
    let code = if pack_tokens == 0 {
        String::new()
    } else {
        ctx.code.pack(
            &sources.code_query(state, st.stage, &st.kind),
            pack_tokens,
            !local,
            prd_in_project(state).as_deref(),
        )
    };
    let mut inputs = sources.inputs(state, local, budget);
    inputs.code = &code;
    let revising = match base {
        TaskKind::DesignDoc { file } => crate::supervisor::update::revising(ctx, state, file),
        _ => None,
    };
    inputs.revising = revising.as_deref();
    let mut prompt = build(role, &task, &inputs, &ctx.config);
    if local && let OutputSpec::Json { schema, .. } = &mut prompt.output {
        bound_schema(schema, 700, 10);
        one_entry_per_item(schema);
    }
    let mut task_parts = parts::plan(&st.kind, &prompt.output, local, max_tokens);
    if !task_parts.is_empty() {
        // Each later part repeats the parts before it: a quarter of the window is kept for them.
        let reserve = inputs.budget.window / 4;
        inputs.budget.output = inputs.budget.output.saturating_add(reserve);
        prompt = build(role, &task, &inputs, &ctx.config);
        for p in &mut task_parts {
            p.prior_tokens = Some(reserve);
        }
    } else if st.stage == Stage::FinalReview
        && base == &TaskKind::Review
        && inputs.design_docs.len() > 1
        && prompt.cuts.iter().any(|c| c.part.starts_with(REVIEWED_DOC))
        && let Some((fanned, first)) = fan_out(role, &inputs, &ctx.config, st.round)
    {
        task_parts = fanned;
        prompt = first;
    }
    let Prompt {
        messages,
        output,
        title,
        cuts,
        budget_tokens,
    } = prompt;
    let task = Task {
        id: task_id(st.stage, &st.kind, st.round, &st.role, st.attempt),
        session_id: ctx.session_id.clone(),
        role: st.role.clone(),
        stage: st.stage,
        round: st.round,
        attempt: st.attempt,
        kind: st.kind.clone(),
        title,
        messages,
        // Not for a task in parts: its replies build one answer field by field, and a tool
        // round between them would have to be replayed per part.
        tools: if task_parts.is_empty() {
            llm::profile::task_tools(state.profile(&st.role), local)
        } else {
            None
        },
        parts: task_parts,
        output,
        model: ctx.roles.model(&st.role),
        temperature: ctx.roles.temperature(&st.role),
        max_tokens,
        item_ids: task.item_ids(),
        created_at: jiff::Timestamp::now(),
    };
    Ok(Built {
        task,
        cuts,
        budget_tokens,
    })
}

/// A final review whose documents do not fit one window, fanned out: one request per design
/// document, their items joined. Returns the parts and the first document's prompt, whose
/// output, title and cuts stand for the task's (the cuts of every part are joined in it); None
/// without design documents.
fn fan_out(
    role: &workflow::roles::RoleDef,
    inputs: &workflow::prompts::PromptInputs,
    cfg: &protocol::config::Config,
    round: u32,
) -> Option<(Vec<TaskPart>, Prompt)> {
    let prompts: Vec<Prompt> = inputs
        .design_docs
        .iter()
        .map(|(file, _)| {
            let one = PromptTask::Review {
                kind: docs::DocKind::DesignDoc,
                document: file,
                round,
            };
            build(role, &one, inputs, cfg)
        })
        .collect();
    let count = prompts.len();
    let parts = prompts
        .iter()
        .map(|p| TaskPart {
            fields: vec!["items".into()],
            schema: match &p.output {
                OutputSpec::Json { schema, .. } => schema.clone(),
                OutputSpec::Text => Value::Null,
            },
            instruction: String::new(),
            prior_tokens: None,
            messages: p.messages.clone(),
        })
        .collect();
    let mut iter = prompts.into_iter();
    let mut first = iter.next()?;
    for p in iter {
        for c in p.cuts {
            if !first.cuts.contains(&c) {
                first.cuts.push(c);
            }
        }
    }
    first.title = format!("{} ({count} documents, one at a time)", first.title);
    Some((parts, first))
}

/// What a task's prompt may use: the role's journaled profile (its window, structured-output
/// mode), the answer's `max_tokens` (the local model's: the worker's `llm.max_tokens`) and
/// `workflow.context_tokens` as a cap when set. Before profiles are journaled (they are, before
/// the first dispatch) the bundled model's or the default profile's figures stand in.
fn context_budget(
    ctx: &SessionContext,
    state: &SessionState,
    role: &str,
    local: bool,
    max_tokens: Option<u32>,
) -> ContextBudget {
    let profile = state.profile(role);
    let window = profile.map_or(
        if local {
            ctx.config.llm.local.ctx_size
        } else {
            llm::profile::DEFAULT_CONTEXT_WINDOW
        },
        |p| p.context_window.value,
    );
    // `max_tokens` already holds the role's own setting; without one the worker sends
    // `llm.max_tokens`.
    let output = max_tokens.unwrap_or(ctx.config.llm.max_tokens);
    ContextBudget {
        window,
        output,
        context_cap: ctx.config.workflow.context_tokens,
        schema_in_prompt: profile
            .is_some_and(|p| p.structured_output.value == StructuredMode::None),
    }
}

/// The `max_tokens` of a task: the role's own setting, else (remote models only) the output
/// budget of the role's journaled profile. The local model's requests stay as they were: the
/// worker's `llm.max_tokens`.
fn max_tokens(ctx: &SessionContext, state: &SessionState, role: &str, local: bool) -> Option<u32> {
    ctx.roles.max_tokens(role).or_else(|| {
        state
            .profile(role)
            .filter(|p| !local && !p.local)
            .map(|p| p.max_output_tokens.value)
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

/// The previous (invalid) output of a step and its findings.
fn last_invalid(ctx: &SessionContext, state: &SessionState, st: &StepTask) -> Invalid {
    let key = StepKey::new(st.stage, &st.kind, st.round, &st.role);
    let last = state.step_tasks(&key).into_iter().rev().find_map(|t| {
        let TaskState::Invalid { findings } = &t.state else {
            return None;
        };
        Some((t, findings.clone()))
    });
    let Some((t, findings)) = last else {
        return Invalid::default();
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
    Invalid {
        text,
        findings,
        cut_off,
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

/// The PRD file's path relative to the project, when it is in the project (its excerpts would
/// repeat what the prompt has whole).
fn prd_in_project(state: &SessionState) -> Option<String> {
    let prd = std::path::Path::new(state.inputs.prd_path.as_deref()?);
    let dir = std::path::Path::new(&state.inputs.project_dir);
    let rel = if prd.is_absolute() {
        prd.strip_prefix(dir).ok()?
    } else {
        prd
    };
    Some(rel.to_string_lossy().replace('\\', "/"))
}

#[cfg(test)]
mod tests {
    use super::*;

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
