//! Tool calling: the calls a model makes, what the tools answered, and the records that let a
//! resumed task replay its tool rounds instead of asking the model again.
//!
//! A task whose model calls tools is a conversation of several requests: the model answers with
//! tool calls, the agent runs them and sends their results back, until the model gives its answer.
//! Each model answer and each tool result is appended to the task's record as it happens (one
//! [`ToolRecord`] per line), so an agent killed at any point resumes from the conversation those
//! records make: an answered request is never sent again, and a call whose result was not yet
//! recorded is simply run again (the tools are read-only).

use serde::{Deserialize, Serialize};

use crate::Usage;

/// A tool call made by the model, as OpenAI's `tool_calls` entries carry it.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct ToolCall {
    /// The model's id for the call; the tool message answering it names it.
    pub id: String,
    /// The function's name.
    pub name: String,
    /// The arguments as the model wrote them: JSON text, not necessarily valid.
    pub arguments: String,
}

/// What a tool answered to one call.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct ToolResult {
    /// The [`ToolCall::id`] this answers.
    pub call_id: String,
    /// Sent to the model as the tool message's content (an error's text too: the model reads it
    /// and carries on).
    pub content: String,
    #[serde(default)]
    pub is_error: bool,
    /// One line for the agent's pane, e.g. `read readtime/api.py:1-80`.
    #[serde(default)]
    pub summary: String,
}

/// One line of a task's tool record (`tool-rounds/<task-id>.jsonl`), appended as it happens.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ToolRecord {
    /// The model answered the request of round `round` (from 1) with tool calls.
    Calls {
        round: u32,
        /// Text the model wrote along with the calls (usually none).
        #[serde(default, skip_serializing_if = "String::is_empty")]
        text: String,
        calls: Vec<ToolCall>,
        usage: Usage,
        model: String,
        #[serde(default)]
        retries: u32,
    },
    /// A tool answered one of round `round`'s calls.
    Result { round: u32, result: ToolResult },
}

/// One tool round as recorded: the model's calls and the results recorded so far (in the order
/// of the calls; fewer than the calls when the agent stopped in the middle of the round).
#[derive(Clone, Debug, PartialEq)]
pub struct ToolRound {
    pub round: u32,
    pub text: String,
    pub calls: Vec<ToolCall>,
    pub results: Vec<ToolResult>,
    pub usage: Usage,
    pub model: String,
    pub retries: u32,
}

impl ToolRound {
    /// The recorded result of `call`, if any.
    pub fn result_of(&self, call: &ToolCall) -> Option<&ToolResult> {
        self.results.iter().find(|r| r.call_id == call.id)
    }

    /// True when every call has its result.
    pub fn is_complete(&self) -> bool {
        self.calls.iter().all(|c| self.result_of(c).is_some())
    }
}

/// The rounds a task's records make, in order. Records that do not continue the conversation
/// (a round out of sequence, a result for an unknown call, a second answer to a round whose
/// results are incomplete) end it there: what follows them is ignored, so the worst a damaged
/// record costs is a request sent again. A result recorded twice counts once.
pub fn tool_rounds(records: &[ToolRecord]) -> Vec<ToolRound> {
    let mut rounds: Vec<ToolRound> = Vec::new();
    for record in records {
        match record {
            ToolRecord::Calls {
                round,
                text,
                calls,
                usage,
                model,
                retries,
            } => {
                let next = rounds.len() as u32 + 1;
                let previous_done = rounds.last().is_none_or(ToolRound::is_complete);
                if *round != next || !previous_done || calls.is_empty() {
                    break;
                }
                rounds.push(ToolRound {
                    round: *round,
                    text: text.clone(),
                    calls: calls.clone(),
                    results: Vec::new(),
                    usage: *usage,
                    model: model.clone(),
                    retries: *retries,
                });
            }
            ToolRecord::Result { round, result } => {
                let Some(last) = rounds.last_mut().filter(|r| r.round == *round) else {
                    break;
                };
                if !last.calls.iter().any(|c| c.id == result.call_id) {
                    break;
                }
                if last.results.iter().all(|r| r.call_id != result.call_id) {
                    last.results.push(result.clone());
                }
            }
        }
    }
    for r in &mut rounds {
        // In the order of the calls, whatever order they were recorded in.
        let order = |res: &ToolResult| r.calls.iter().position(|c| c.id == res.call_id);
        r.results.sort_by_key(order);
    }
    rounds
}

/// The tools a task may use, set by the supervisor from the role's model profile.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct TaskTools {
    /// The most tool rounds before the model is asked for its answer without tools.
    pub max_rounds: u32,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(id: &str) -> ToolCall {
        ToolCall {
            id: id.into(),
            name: "read_file".into(),
            arguments: format!(r#"{{"path":"{id}.py"}}"#),
        }
    }

    fn calls(round: u32, ids: &[&str]) -> ToolRecord {
        ToolRecord::Calls {
            round,
            text: String::new(),
            calls: ids.iter().map(|i| call(i)).collect(),
            usage: Usage {
                prompt_tokens: 10,
                completion_tokens: 2,
                ..Usage::default()
            },
            model: "m".into(),
            retries: 0,
        }
    }

    fn result(round: u32, id: &str) -> ToolRecord {
        ToolRecord::Result {
            round,
            result: ToolResult {
                call_id: id.into(),
                content: format!("contents of {id}"),
                is_error: false,
                summary: format!("read {id}.py"),
            },
        }
    }

    #[test]
    fn records_fold_into_rounds_with_results_in_call_order() {
        let records = [
            calls(1, &["a", "b"]),
            result(1, "b"),
            result(1, "a"),
            result(1, "a"),
            calls(2, &["c"]),
        ];
        let rounds = tool_rounds(&records);
        assert_eq!(rounds.len(), 2);
        assert!(rounds[0].is_complete());
        let ids: Vec<_> = rounds[0]
            .results
            .iter()
            .map(|r| r.call_id.as_str())
            .collect();
        assert_eq!(ids, ["a", "b"]);
        assert!(!rounds[1].is_complete());
        assert!(rounds[1].results.is_empty());
    }

    #[test]
    fn a_record_that_does_not_continue_the_conversation_ends_it() {
        // A second round while the first lacks a result.
        let r = tool_rounds(&[calls(1, &["a", "b"]), result(1, "a"), calls(2, &["c"])]);
        assert_eq!(r.len(), 1);
        // A round out of sequence.
        assert!(tool_rounds(&[calls(2, &["a"])]).is_empty());
        // A result for a call the round does not have, and everything after it.
        let r = tool_rounds(&[calls(1, &["a"]), result(1, "z"), result(1, "a")]);
        assert_eq!(r.len(), 1);
        assert!(r[0].results.is_empty());
        // A result for another round.
        let r = tool_rounds(&[calls(1, &["a"]), result(2, "a")]);
        assert!(r[0].results.is_empty());
    }

    #[test]
    fn records_round_trip_as_tagged_json_lines() {
        let records = [calls(1, &["a"]), result(1, "a")];
        for r in &records {
            let line = serde_json::to_string(r).unwrap();
            assert!(!line.contains('\n'));
            let back: ToolRecord = serde_json::from_str(&line).unwrap();
            assert_eq!(&back, r);
        }
        let line = serde_json::to_string(&records[0]).unwrap();
        assert!(
            line.starts_with(r#"{"type":"calls","round":1,"calls""#),
            "{line}"
        );
    }
}
