//! The tool loop: a task whose model calls tools is several requests, not one.
//!
//! [`LlmClient::chat_with_tools`] offers the request's tools; while the model answers with tool
//! calls it runs each through a [`ToolExecutor`], appends the assistant's calls and one `tool`
//! message per call to the conversation, and asks again. The model's final answer goes through
//! the structured-output path like any other (`response_format` or prompt mode, then parsing).
//! After `max_rounds` rounds of calls, one last request without tools asks for the answer.
//!
//! Resume: every model answer with calls and every tool result is handed to the caller as a
//! [`ToolRecord`] the moment it exists, for the caller to append to the task's record before
//! the loop goes on. Given the rounds those records make ([`protocol::tool_rounds`]), the loop
//! rebuilds the conversation without sending the answered requests again, runs the calls whose
//! result was not recorded, and continues from there. Records are per call rather than per
//! round so that a process killed between the model's answer and the tools' results does not
//! lose the answer (and pay for it again).
//!
//! The executor is synchronous (the repository tools read files) and runs on tokio's blocking
//! pool: an agent runs its tasks on one thread, and a slow search must not stall the other
//! tasks' streams.

use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use protocol::{ChatMessage, OutputSpec, ToolCall, ToolRecord, ToolResult, ToolRound, Usage};

use crate::error::LlmError;
use crate::{ChatRequest, ChatResponse, LlmClient, structured};

/// Runs the model's tool calls. Implemented by the repository tools (through an adapter in the
/// agent), and by fakes in tests.
pub trait ToolExecutor: Send + Sync {
    /// Runs one call. `arguments` is the JSON text the model wrote, unchecked. A refused or
    /// failed call is an outcome with `is_error` set: its content goes to the model, which reads
    /// it and carries on.
    fn call(&self, name: &str, arguments: &str) -> ToolOutcome;
}

/// What a tool answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ToolOutcome {
    /// The tool message's content.
    pub content: String,
    pub is_error: bool,
    /// One line for the pane, e.g. `read readtime/api.py:1-80`; empty: the call's name and
    /// arguments are shown.
    pub summary: String,
}

/// What the loop reports while it runs.
#[derive(Debug)]
pub enum ToolEvent<'a> {
    /// A text delta of the current request, or [`crate::RETRY_MARKER`] (as `chat`'s `on_token`
    /// gets them).
    Token(&'a str),
    /// A call was run, or (`replayed`) its recorded result used. [`call_line`] is its line.
    Call {
        call: &'a ToolCall,
        result: &'a ToolResult,
        replayed: bool,
    },
    /// Append this to the task's record before returning: the loop goes on from it.
    Record(&'a ToolRecord),
}

/// The user message of the last request once the tool rounds are used up.
const ANSWER_NOW: &str = "You have used every round of tool calls this task allows. Do not call \
    any more tools: give your answer now, from what you have read.";

/// The pane's line for a call: `→ read a.py:1-80`, `→ read .env ✗ refused: ...` for an error,
/// `↺` instead of `→` for a replayed one.
pub fn call_line(call: &ToolCall, result: &ToolResult, replayed: bool) -> String {
    let what = if result.summary.is_empty() {
        format!(
            "{} {}",
            call.name,
            crate::wire::shorten(&call.arguments, 80)
        )
    } else {
        result.summary.clone()
    };
    let arrow = if replayed { "↺" } else { "→" };
    let mut line = format!("{arrow} {what}");
    if result.is_error {
        let first = result.content.lines().next().unwrap_or_default();
        line.push_str(" ✗ ");
        line.push_str(&crate::wire::shorten(first, 100));
    }
    if replayed {
        line.push_str(" (recorded)");
    }
    line
}

impl LlmClient {
    /// Runs `req` with its tools until the model answers (see the module docs). `recorded`: the
    /// rounds of an earlier run of the same task ([`protocol::tool_rounds`] of its records),
    /// empty on a first run. Without `req.tools` (or with no definitions, or `max_rounds` 0)
    /// this is [`LlmClient::chat`]. The response's usage and retries are summed over every
    /// request of the task, recorded rounds included; its text and JSON are the final answer's.
    pub async fn chat_with_tools(
        &self,
        req: &ChatRequest,
        recorded: &[ToolRound],
        executor: Arc<dyn ToolExecutor>,
        on_event: &mut (dyn FnMut(ToolEvent<'_>) + Send),
        cancel: &CancellationToken,
    ) -> Result<ChatResponse, LlmError> {
        tokio::select! {
            biased;
            _ = cancel.cancelled() => Err(LlmError::Cancelled),
            r = self.tool_loop(req, recorded, executor, on_event) => r,
        }
    }

    async fn tool_loop(
        &self,
        req: &ChatRequest,
        recorded: &[ToolRound],
        executor: Arc<dyn ToolExecutor>,
        on_event: &mut (dyn FnMut(ToolEvent<'_>) + Send),
    ) -> Result<ChatResponse, LlmError> {
        let plain = ChatRequest {
            tools: None,
            ..req.clone()
        };
        let Some(spec) = req
            .tools
            .as_ref()
            .filter(|t| t.max_rounds > 0 && !t.definitions.is_empty())
        else {
            let mut on_token = |t: &str| on_event(ToolEvent::Token(t));
            return self.chat_with_retries(&plain, None, &mut on_token).await;
        };
        let tools = self.tool_definitions(&spec.definitions)?;
        let mut conversation = plain;
        let mut total = Total::default();
        let mut rounds = 0;
        for r in recorded.iter().take(spec.max_rounds as usize) {
            if r.round != rounds + 1 {
                break;
            }
            total.add(&r.usage, r.retries);
            conversation
                .messages
                .push(ChatMessage::assistant_tool_calls(&r.text, r.calls.clone()));
            for call in &r.calls {
                let result = match r.result_of(call) {
                    Some(result) => {
                        on_event(ToolEvent::Call {
                            call,
                            result,
                            replayed: true,
                        });
                        result.clone()
                    }
                    None => run_call(&executor, r.round, call, on_event).await,
                };
                conversation
                    .messages
                    .push(ChatMessage::tool(&call.id, result.content));
            }
            rounds = r.round;
        }
        while rounds < spec.max_rounds {
            let round = rounds + 1;
            let resp = {
                let mut on_token = |t: &str| on_event(ToolEvent::Token(t));
                self.chat_with_retries(&conversation, Some(&tools), &mut on_token)
                    .await
            };
            let mut resp = match resp {
                Ok(resp) => resp,
                Err(LlmError::Http {
                    status: 400 | 422,
                    message,
                    ..
                }) if refuses_tools(&message) => {
                    tracing::warn!(url = %self.endpoint().base_url, %message, "the endpoint refused the tools; asking for the answer without them");
                    break;
                }
                Err(e) => return Err(e),
            };
            total.add(&resp.usage, resp.retries);
            if resp.tool_calls.is_empty() {
                return Ok(total.into_response(resp, rounds));
            }
            let calls = unique_ids(std::mem::take(&mut resp.tool_calls), round);
            on_event(ToolEvent::Record(&ToolRecord::Calls {
                round,
                text: resp.text.clone(),
                calls: calls.clone(),
                usage: resp.usage,
                model: resp.model.clone(),
                retries: resp.retries,
            }));
            conversation
                .messages
                .push(ChatMessage::assistant_tool_calls(resp.text, calls.clone()));
            for call in &calls {
                let result = run_call(&executor, round, call, on_event).await;
                conversation
                    .messages
                    .push(ChatMessage::tool(&call.id, result.content));
            }
            rounds = round;
        }
        if rounds > 0 {
            conversation.messages.push(ChatMessage::user(ANSWER_NOW));
        }
        let mut resp = {
            let mut on_token = |t: &str| on_event(ToolEvent::Token(t));
            self.chat_with_retries(&conversation, None, &mut on_token)
                .await?
        };
        total.add(&resp.usage, resp.retries);
        if !resp.tool_calls.is_empty() {
            // Calls no tool was offered for: the text is all the answer there is.
            resp.tool_calls.clear();
            if let OutputSpec::Json { .. } = req.output {
                resp.json = structured::extract_json(&resp.text);
            }
        }
        Ok(total.into_response(resp, rounds))
    }
}

/// Runs one call on the blocking pool, records its result, reports it.
async fn run_call(
    executor: &Arc<dyn ToolExecutor>,
    round: u32,
    call: &ToolCall,
    on_event: &mut (dyn FnMut(ToolEvent<'_>) + Send),
) -> ToolResult {
    let (exec, name, arguments) = (executor.clone(), call.name.clone(), call.arguments.clone());
    let outcome = tokio::task::spawn_blocking(move || exec.call(&name, &arguments))
        .await
        .unwrap_or_else(|e| ToolOutcome {
            content: format!("error: the tool `{}` failed: {e}", call.name),
            is_error: true,
            summary: String::new(),
        });
    let result = ToolResult {
        call_id: call.id.clone(),
        content: outcome.content,
        is_error: outcome.is_error,
        summary: outcome.summary,
    };
    on_event(ToolEvent::Record(&ToolRecord::Result {
        round,
        result: result.clone(),
    }));
    on_event(ToolEvent::Call {
        call,
        result: &result,
        replayed: false,
    });
    result
}

/// The calls with ids unique within their round (a tool message names the call it answers;
/// some servers repeat or leave out ids).
fn unique_ids(mut calls: Vec<ToolCall>, round: u32) -> Vec<ToolCall> {
    for i in 0..calls.len() {
        if calls[..i].iter().any(|c| c.id == calls[i].id) {
            calls[i].id = format!("call_{round}_{i}");
        }
    }
    calls
}

/// True when a 400 answer says the server does not do tool calling (llama-server: "tools param
/// requires --jinja flag"; vLLM: "\"auto\" tool choice requires --enable-auto-tool-choice ...";
/// others: "... does not support tools"), rather than that a message of the conversation is
/// wrong, which asking without tools would hide.
fn refuses_tools(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    m.contains("tool")
        && ["support", "requires", "enable", "jinja"]
            .iter()
            .any(|w| m.contains(w))
}

/// Usage and retries over the requests of a task.
#[derive(Default)]
struct Total {
    usage: Usage,
    retries: u32,
}

impl Total {
    fn add(&mut self, usage: &Usage, retries: u32) {
        self.usage.prompt_tokens += usage.prompt_tokens;
        self.usage.completion_tokens += usage.completion_tokens;
        self.usage.cached_prompt_tokens += usage.cached_prompt_tokens;
        self.usage.estimated |= usage.estimated;
        self.retries += retries;
    }

    fn into_response(self, last: ChatResponse, rounds: u32) -> ChatResponse {
        ChatResponse {
            usage: self.usage,
            retries: self.retries,
            tool_rounds: rounds,
            ..last
        }
    }
}

#[cfg(test)]
mod tests;
