//! A fake model server for the coding-agent CLIs, over real HTTP: the Anthropic Messages API
//! (`POST /v1/messages`, what Claude Code speaks with `ANTHROPIC_BASE_URL`), the OpenAI
//! Responses API (`POST /v1/responses`, what Codex speaks to a custom model provider) and the
//! Gemini API (`POST /v1beta/models/MODEL:streamGenerateContent`, what Gemini CLI speaks with
//! `GOOGLE_GEMINI_BASE_URL`).
//!
//! Both turn the request into the chat form the [`crate::fake_openai`] responders read (system
//! text, user and assistant messages, and the answer's JSON Schema as a `response_format`), so a
//! scripted design team ([`crate::design_team::responder`]) answers a CLI as it answers the API
//! client. The reply is then sent in the API's own shape, streamed as SSE when asked:
//! - Messages: when the request offers Claude Code's `StructuredOutput` tool, the answer is a call
//!   of that tool with the JSON; the next request (carrying its `tool_result`) gets a short text
//!   that ends the turn. Otherwise the answer is text.
//! - Responses: the answer is one `output_text` message and `response.completed` with usage.
//! - Gemini: one candidate with the answer's text, streamed line by line; in a ```json block when
//!   the prompt asks for one. Gemini has no schema option in Gemini CLI, so the schema is read from
//!   the prompt (the JSON object after its last `JSON Schema`).
//!
//! Every model request is recorded. [`FakeAgentApis::hold`] keeps new requests waiting (a CLI
//! stays mid-task, for pause tests) until [`FakeAgentApis::release`].

#![allow(dead_code)] // helpers for every suite; each uses a part

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};

use crate::fake_openai::{FakeReply, RecordedRequest, Served};

/// Which API a request came in on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Api {
    Messages,
    Responses,
    Gemini,
}

/// A request as the responder saw it, with the API it came in on.
#[derive(Clone, Debug)]
pub struct AgentRequest {
    pub api: Api,
    /// The chat form (see the module docs).
    pub chat: RecordedRequest,
    /// The original body.
    pub body: Value,
}

/// Token counts every answer reports.
pub const INPUT_TOKENS: u64 = 1200;
pub const CACHED_TOKENS: u64 = 200;
pub const OUTPUT_TOKENS: u64 = 300;

type Responder = dyn Fn(&RecordedRequest) -> FakeReply + Send + Sync;

struct Shared {
    responder: Box<Responder>,
    requests: Mutex<Vec<AgentRequest>>,
    held: AtomicBool,
    waiting: AtomicUsize,
    /// Answer every model request with this HTTP status and message (e.g. 401).
    status: Mutex<Option<(u16, String)>>,
}

/// The running server; stops on drop.
pub struct FakeAgentApis {
    served: Served,
    shared: Arc<Shared>,
}

impl FakeAgentApis {
    /// Starts a server whose answers come from `responder`.
    pub fn start(
        responder: impl Fn(&RecordedRequest) -> FakeReply + Send + Sync + 'static,
    ) -> Self {
        let shared = Arc::new(Shared {
            responder: Box::new(responder),
            requests: Mutex::new(Vec::new()),
            held: AtomicBool::new(false),
            waiting: AtomicUsize::new(0),
            status: Mutex::new(None),
        });
        let app = Router::new()
            .route("/v1/messages", post(messages))
            .route("/v1/responses", post(responses))
            .route("/v1beta/models/{*call}", post(gemini))
            .with_state(shared.clone());
        Self {
            served: Served::start("fake-agent-apis", app),
            shared,
        }
    }

    /// `http://127.0.0.1:PORT` (Claude Code's `ANTHROPIC_BASE_URL`).
    pub fn base_url(&self) -> String {
        format!("http://{}", self.served.addr)
    }

    /// `http://127.0.0.1:PORT/v1` (a Codex model provider's `base_url`).
    pub fn v1_url(&self) -> String {
        format!("http://{}/v1", self.served.addr)
    }

    pub fn requests(&self) -> Vec<AgentRequest> {
        self.shared.requests.lock().unwrap().clone()
    }

    /// Requests on `api` whose prompt contains `needle`.
    pub fn count(&self, api: Api, needle: &str) -> usize {
        self.requests()
            .iter()
            .filter(|r| r.api == api && r.chat.prompt_contains(needle))
            .count()
    }

    /// New requests wait (unanswered) until [`Self::release`].
    pub fn hold(&self) {
        self.shared.held.store(true, Ordering::SeqCst);
    }

    pub fn release(&self) {
        self.shared.held.store(false, Ordering::SeqCst);
    }

    /// How many requests are waiting because of [`Self::hold`].
    pub fn waiting(&self) -> usize {
        self.shared.waiting.load(Ordering::SeqCst)
    }

    /// Answers every model request with this HTTP error (None: answer normally).
    pub fn fail_with(&self, status: Option<(u16, &str)>) {
        *self.shared.status.lock().unwrap() = status.map(|(c, m)| (c, m.to_string()));
    }
}

/// Text of a content field: a string, or the text of its blocks (tool results included).
fn content_text(content: &Value) -> String {
    match content {
        Value::String(s) => s.clone(),
        Value::Array(blocks) => blocks
            .iter()
            .filter_map(|b| match b["type"].as_str() {
                Some("text" | "input_text" | "output_text") => b["text"].as_str().map(String::from),
                Some("tool_result") => Some(content_text(&b["content"])),
                _ => None,
            })
            .collect::<Vec<_>>()
            .join("\n"),
        _ => String::new(),
    }
}

/// Records the request, waits while held, and says whether to fail it.
async fn admit(
    shared: &Shared,
    api: Api,
    chat: &RecordedRequest,
    body: &Value,
) -> Option<Response> {
    shared.requests.lock().unwrap().push(AgentRequest {
        api,
        chat: chat.clone(),
        body: body.clone(),
    });
    if shared.held.load(Ordering::SeqCst) {
        shared.waiting.fetch_add(1, Ordering::SeqCst);
        while shared.held.load(Ordering::SeqCst) {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        shared.waiting.fetch_sub(1, Ordering::SeqCst);
    }
    let status = shared.status.lock().unwrap().clone();
    status.map(|(code, message)| {
        let kind = if code == 401 {
            "authentication_error"
        } else {
            "api_error"
        };
        (
            StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            axum::Json(json!({
                "type": "error",
                "error": {"type": kind, "message": message, "code": code}
            })),
        )
            .into_response()
    })
}

fn sse(events: Vec<(&'static str, Value)>) -> Response {
    let mut out = String::new();
    for (name, data) in events {
        out.push_str(&format!("event: {name}\ndata: {data}\n\n"));
    }
    Response::builder()
        .header(header::CONTENT_TYPE, "text/event-stream")
        .header(header::CACHE_CONTROL, "no-cache")
        .body(Body::from(out))
        .expect("response")
}

async fn messages(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let mut chat_messages = Vec::new();
    let system = content_text(&body["system"]);
    if !system.is_empty() {
        chat_messages.push(json!({"role": "system", "content": system}));
    }
    let mut answered_tool = false;
    for m in body["messages"].as_array().into_iter().flatten() {
        if m["content"]
            .as_array()
            .is_some_and(|bs| bs.iter().any(|b| b["type"] == "tool_result"))
        {
            answered_tool = true;
        }
        chat_messages.push(json!({"role": m["role"], "content": content_text(&m["content"])}));
    }
    let schema = body["tools"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|t| t["name"] == "StructuredOutput")
        .map(|t| t["input_schema"].clone());
    let mut chat_body = json!({"model": body["model"], "messages": chat_messages});
    if let Some(s) = &schema {
        chat_body["response_format"] =
            json!({"type": "json_schema", "json_schema": {"name": "answer", "schema": s}});
    }
    let chat = RecordedRequest::from_body(chat_body, None);
    if let Some(failure) = admit(&shared, Api::Messages, &chat, &body).await {
        return failure;
    }
    let model = body["model"].as_str().unwrap_or("fake-claude").to_string();
    // The answer: a call of StructuredOutput with the JSON, or (after that call) a closing text.
    let (block, stop_reason) = match (&schema, answered_tool) {
        (Some(_), false) => {
            let text = (shared.responder)(&chat).text;
            let input: Value = serde_json::from_str(&text).unwrap_or(json!({}));
            (
                json!({"type": "tool_use", "id": "toolu_fake_1", "name": "StructuredOutput", "input": input}),
                "tool_use",
            )
        }
        (Some(_), true) => (json!({"type": "text", "text": "Done."}), "end_turn"),
        (None, _) => (
            json!({"type": "text", "text": (shared.responder)(&chat).text}),
            "end_turn",
        ),
    };
    let usage = json!({
        "input_tokens": INPUT_TOKENS - CACHED_TOKENS,
        "cache_read_input_tokens": CACHED_TOKENS,
        "cache_creation_input_tokens": 0,
        "output_tokens": OUTPUT_TOKENS
    });
    if body["stream"].as_bool() != Some(true) {
        return axum::Json(json!({
            "id": "msg_fake", "type": "message", "role": "assistant", "model": model,
            "content": [block], "stop_reason": stop_reason, "stop_sequence": null, "usage": usage
        }))
        .into_response();
    }
    let (start, delta) = if block["type"] == "tool_use" {
        (
            json!({"type": "tool_use", "id": block["id"], "name": block["name"], "input": {}}),
            json!({"type": "input_json_delta", "partial_json": block["input"].to_string()}),
        )
    } else {
        (
            json!({"type": "text", "text": ""}),
            json!({"type": "text_delta", "text": block["text"]}),
        )
    };
    sse(vec![
        (
            "message_start",
            json!({"type": "message_start", "message": {
                "id": "msg_fake", "type": "message", "role": "assistant", "model": model,
                "content": [], "stop_reason": null, "stop_sequence": null,
                "usage": {"input_tokens": INPUT_TOKENS - CACHED_TOKENS,
                          "cache_read_input_tokens": CACHED_TOKENS,
                          "cache_creation_input_tokens": 0, "output_tokens": 1}}}),
        ),
        (
            "content_block_start",
            json!({"type": "content_block_start", "index": 0, "content_block": start}),
        ),
        (
            "content_block_delta",
            json!({"type": "content_block_delta", "index": 0, "delta": delta}),
        ),
        (
            "content_block_stop",
            json!({"type": "content_block_stop", "index": 0}),
        ),
        (
            "message_delta",
            json!({"type": "message_delta",
                   "delta": {"stop_reason": stop_reason, "stop_sequence": null},
                   "usage": {"output_tokens": OUTPUT_TOKENS}}),
        ),
        ("message_stop", json!({"type": "message_stop"})),
    ])
}

async fn responses(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let mut chat_messages = Vec::new();
    if let Some(i) = body["instructions"].as_str() {
        chat_messages.push(json!({"role": "system", "content": i}));
    }
    for item in body["input"].as_array().into_iter().flatten() {
        if item["type"] == "message" || item.get("role").is_some() {
            chat_messages
                .push(json!({"role": item["role"], "content": content_text(&item["content"])}));
        }
    }
    let format = &body["text"]["format"];
    let mut chat_body = json!({"model": body["model"], "messages": chat_messages});
    if format["type"] == "json_schema" {
        chat_body["response_format"] = json!({"type": "json_schema", "json_schema": {
            "name": format["name"], "schema": format["schema"]}});
    }
    let chat = RecordedRequest::from_body(chat_body, None);
    if let Some(failure) = admit(&shared, Api::Responses, &chat, &body).await {
        return failure;
    }
    let text = (shared.responder)(&chat).text;
    let model = body["model"].as_str().unwrap_or("fake-codex").to_string();
    let item = json!({"type": "message", "id": "msg_fake", "role": "assistant", "status": "completed",
        "content": [{"type": "output_text", "text": text, "annotations": []}]});
    let usage = json!({
        "input_tokens": INPUT_TOKENS,
        "input_tokens_details": {"cached_tokens": CACHED_TOKENS},
        "output_tokens": OUTPUT_TOKENS,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": INPUT_TOKENS + OUTPUT_TOKENS
    });
    let response = |status: &str, output: Value, usage: Value| {
        json!({"id": "resp_fake", "object": "response", "created_at": 0, "status": status,
               "model": model, "output": output, "usage": usage})
    };
    sse(vec![
        (
            "response.created",
            json!({"type": "response.created", "sequence_number": 0,
                   "response": response("in_progress", json!([]), Value::Null)}),
        ),
        (
            "response.output_item.added",
            json!({"type": "response.output_item.added", "sequence_number": 1, "output_index": 0,
                   "item": {"type": "message", "id": "msg_fake", "role": "assistant",
                            "status": "in_progress", "content": []}}),
        ),
        (
            "response.output_text.delta",
            json!({"type": "response.output_text.delta", "sequence_number": 2,
                   "item_id": "msg_fake", "output_index": 0, "content_index": 0, "delta": text}),
        ),
        (
            "response.output_text.done",
            json!({"type": "response.output_text.done", "sequence_number": 3,
                   "item_id": "msg_fake", "output_index": 0, "content_index": 0, "text": text}),
        ),
        (
            "response.output_item.done",
            json!({"type": "response.output_item.done", "sequence_number": 4, "output_index": 0,
                   "item": item}),
        ),
        (
            "response.completed",
            json!({"type": "response.completed", "sequence_number": 5,
                   "response": response("completed", json!([item]), usage)}),
        ),
    ])
}

/// The schema in `text`: the last JSON object with `properties` that follows a `JSON Schema`
/// (the words also occur inside schemas and prompts).
fn schema_in_text(text: &str) -> Option<Value> {
    text.match_indices("JSON Schema")
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .find_map(|(at, _)| {
            let start = at + text[at..].find('{')?;
            let v = serde_json::Deserializer::from_str(&text[start..])
                .into_iter::<Value>()
                .next()?
                .ok()?;
            v.get("properties").is_some().then_some(v)
        })
}

async fn gemini(
    State(shared): State<Arc<Shared>>,
    axum::extract::Path(call): axum::extract::Path<String>,
    body: Bytes,
) -> Response {
    if call.contains("countTokens") {
        return axum::Json(json!({"totalTokens": INPUT_TOKENS})).into_response();
    }
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let parts_text = |c: &Value| {
        c["parts"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|p| p["text"].as_str())
            .collect::<Vec<_>>()
            .join("\n")
    };
    let mut chat_messages = Vec::new();
    let system = parts_text(&body["systemInstruction"]);
    if !system.is_empty() {
        chat_messages.push(json!({"role": "system", "content": system}));
    }
    // Every user turn: Gemini CLI may put its session context after the prompt.
    let mut last_user = String::new();
    for c in body["contents"].as_array().into_iter().flatten() {
        let role = if c["role"] == "model" {
            "assistant"
        } else {
            "user"
        };
        let text = parts_text(c);
        if role == "user" {
            last_user.push_str(&text);
            last_user.push('\n');
        }
        chat_messages.push(json!({"role": role, "content": text}));
    }
    let mut chat_body = json!({"model": call, "messages": chat_messages});
    if let Some(schema) = schema_in_text(&last_user) {
        chat_body["response_format"] =
            json!({"type": "json_schema", "json_schema": {"name": "answer", "schema": schema}});
    }
    let chat = RecordedRequest::from_body(chat_body, None);
    if let Some(failure) = admit(&shared, Api::Gemini, &chat, &body).await {
        return failure;
    }
    let mut text = (shared.responder)(&chat).text;
    // A model follows the prompt's answer format: a JSON answer in a ```json block when asked.
    let fenced = chat.response_format.is_some() && last_user.contains("```json");
    if fenced {
        text = format!("```json\n{text}\n```");
    }
    let chunk = |text: &str, last: bool| {
        let mut c = json!({
            "candidates": [{"content": {"role": "model", "parts": [{"text": text}]}, "index": 0}],
            "modelVersion": "fake-gemini"
        });
        if last {
            c["candidates"][0]["finishReason"] = json!("STOP");
            c["usageMetadata"] = json!({"promptTokenCount": INPUT_TOKENS,
                "cachedContentTokenCount": CACHED_TOKENS, "candidatesTokenCount": OUTPUT_TOKENS,
                "totalTokenCount": INPUT_TOKENS + OUTPUT_TOKENS});
        }
        c
    };
    if call.contains("streamGenerateContent") {
        // Streamed line by line, as the API streams a long answer in pieces (the opening fence
        // arrives on its own, so Gemini CLI sees the rest inside a code block).
        let pieces: Vec<&str> = text.split_inclusive('\n').collect();
        let body: String = pieces
            .iter()
            .enumerate()
            .map(|(i, p)| format!("data: {}\n\n", chunk(p, i + 1 == pieces.len())))
            .collect();
        Response::builder()
            .header(header::CONTENT_TYPE, "text/event-stream")
            .body(Body::from(body))
            .expect("response")
    } else {
        axum::Json(chunk(&text, true)).into_response()
    }
}
