//! A fake OpenAI-compatible server over real HTTP, for tests and the client benchmark.
//!
//! It runs on its own thread and tokio runtime (so plain `#[test]` functions can use it), binds
//! `127.0.0.1:0`, streams chat completions as SSE chunk by chunk, records every request, and
//! injects faults: from a queue (one fault per request, in order) or at random by percentages.
//!
//! ```ignore
//! let fake = FakeOpenAi::start(|req| {
//!     if req.prompt_contains("review") { FakeReply::text("{\"items\": []}") } else { "ok".into() }
//! });
//! fake.push_fault(Fault::RateLimited { retry_after_secs: 1 });
//! // point llm.base_url at fake.url()
//! ```
//!
//! Tool calling: a reply may be tool calls ([`FakeReply::tool_calls`]), streamed as OpenAI
//! streams them (the call's id and name first, then its arguments' JSON in fragments); the
//! client's next request then carries the results as `tool` messages, which a responder (or the
//! test, through [`FakeOpenAi::requests`]) reads with [`RecordedRequest::tool_results`].
//!
//! ```ignore
//! let fake = FakeOpenAi::start(|req| match req.tool_results().as_slice() {
//!     [] => FakeReply::tool_calls(vec![FakeToolCall::new("read_file", json!({"path": "a.py"}))]),
//!     [r, ..] => FakeReply::text(format!("{{\"read\": {}}}", r.content.len())),
//! });
//! ```
//!
//! Endpoints: `POST /v1/chat/completions` (streamed when the body says `stream: true`),
//! `GET /v1/models`, `GET /health`.

#![allow(dead_code)] // helpers for every suite; each uses a part

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

/// One chat message as received.
#[derive(Clone, Debug, PartialEq)]
pub struct RecordedMessage {
    pub role: String,
    pub content: String,
    /// An assistant message's tool calls.
    pub tool_calls: Vec<FakeToolCall>,
    /// A tool message: the call it answers.
    pub tool_call_id: Option<String>,
}

/// A request the server received (chat completions only).
#[derive(Clone, Debug)]
pub struct RecordedRequest {
    /// The whole JSON body (Null when it was not JSON).
    pub body: Value,
    pub messages: Vec<RecordedMessage>,
    pub model: Option<String>,
    pub stream: bool,
    pub response_format: Option<Value>,
    /// The `Authorization` header, as sent.
    pub authorization: Option<String>,
}

impl RecordedRequest {
    /// A request from its JSON body (the chat completions shape), as the server records it.
    pub fn from_body(body: Value, authorization: Option<String>) -> Self {
        let messages = body
            .get("messages")
            .and_then(Value::as_array)
            .map(|ms| {
                ms.iter()
                    .map(|m| RecordedMessage {
                        role: m["role"].as_str().unwrap_or_default().to_string(),
                        content: match &m["content"] {
                            Value::String(s) => s.clone(),
                            Value::Null => String::new(),
                            other => other.to_string(),
                        },
                        tool_calls: m["tool_calls"]
                            .as_array()
                            .map(|calls| {
                                calls
                                    .iter()
                                    .map(|c| FakeToolCall {
                                        id: c["id"].as_str().unwrap_or_default().into(),
                                        name: c["function"]["name"]
                                            .as_str()
                                            .unwrap_or_default()
                                            .into(),
                                        arguments: c["function"]["arguments"]
                                            .as_str()
                                            .unwrap_or_default()
                                            .into(),
                                    })
                                    .collect()
                            })
                            .unwrap_or_default(),
                        tool_call_id: m["tool_call_id"].as_str().map(str::to_string),
                    })
                    .collect()
            })
            .unwrap_or_default();
        Self {
            model: body["model"].as_str().map(str::to_string),
            stream: body["stream"].as_bool().unwrap_or(false),
            response_format: body.get("response_format").cloned(),
            messages,
            authorization,
            body,
        }
    }

    /// Every message's content, joined with newlines.
    pub fn prompt(&self) -> String {
        self.messages
            .iter()
            .map(|m| m.content.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// True when any message contains `needle`.
    pub fn prompt_contains(&self, needle: &str) -> bool {
        self.messages.iter().any(|m| m.content.contains(needle))
    }

    /// The content of the last user message.
    pub fn last_user(&self) -> &str {
        self.messages
            .iter()
            .rev()
            .find(|m| m.role == "user")
            .map(|m| m.content.as_str())
            .unwrap_or_default()
    }

    /// The names of the tools offered (`tools[].function.name`).
    pub fn tool_names(&self) -> Vec<String> {
        self.body["tools"]
            .as_array()
            .map(|ts| {
                ts.iter()
                    .filter_map(|t| t["function"]["name"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The `tool` messages: the results of the model's earlier calls, in order.
    pub fn tool_results(&self) -> Vec<&RecordedMessage> {
        self.messages.iter().filter(|m| m.role == "tool").collect()
    }

    /// True when the client asked for usage in the stream (`stream_options.include_usage`).
    pub fn wants_stream_usage(&self) -> bool {
        self.body["stream_options"]["include_usage"]
            .as_bool()
            .unwrap_or(false)
    }
}

/// When one chat request was in flight at the server: from its arrival to the end of the
/// response (the last byte of the stream, an error answer, or the connection dropping).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Span {
    pub start: std::time::SystemTime,
    /// None while the response is still open.
    pub end: Option<std::time::SystemTime>,
}

/// Sets a span's end when dropped (the response body, or the handler on an early return).
struct SpanGuard {
    shared: Arc<Shared>,
    index: usize,
}

impl Drop for SpanGuard {
    fn drop(&mut self) {
        if let Some(s) = self.shared.spans.lock().unwrap().get_mut(self.index) {
            s.end = Some(std::time::SystemTime::now());
        }
    }
}

/// What the responder wants the server to answer.
#[derive(Clone, Debug, PartialEq)]
pub struct FakeReply {
    pub text: String,
    /// Sent in the last chunk; `stop` by default, `tool_calls` for [`FakeReply::tool_calls`].
    pub finish_reason: String,
    /// Tool calls, streamed after the text.
    pub tool_calls: Vec<FakeToolCall>,
    /// A fault for this reply (when no queued or random fault applies): lets a responder break
    /// a particular request, e.g. the one that carries the tool results.
    pub fault: Option<Fault>,
}

impl FakeReply {
    pub fn text(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            finish_reason: "stop".into(),
            tool_calls: Vec::new(),
            fault: None,
        }
    }

    /// An answer that calls tools (ids `call_<n>` where none is given).
    pub fn tool_calls(calls: Vec<FakeToolCall>) -> Self {
        Self {
            text: String::new(),
            finish_reason: "tool_calls".into(),
            tool_calls: calls,
            fault: None,
        }
    }

    /// This reply with `fault`.
    pub fn with_fault(mut self, fault: Fault) -> Self {
        self.fault = Some(fault);
        self
    }

    /// Text streamed before the tool calls.
    pub fn with_text(mut self, text: impl Into<String>) -> Self {
        self.text = text.into();
        self
    }
}

/// A tool call of a reply, or of an assistant message received.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FakeToolCall {
    /// Empty: the server makes one up (`call_<n>`).
    pub id: String,
    pub name: String,
    /// The arguments' JSON text.
    pub arguments: String,
}

impl FakeToolCall {
    pub fn new(name: &str, arguments: Value) -> Self {
        Self {
            id: String::new(),
            name: name.into(),
            arguments: arguments.to_string(),
        }
    }

    pub fn with_id(mut self, id: &str) -> Self {
        self.id = id.into();
        self
    }
}

impl From<&str> for FakeReply {
    fn from(s: &str) -> Self {
        FakeReply::text(s)
    }
}

impl From<String> for FakeReply {
    fn from(s: String) -> Self {
        FakeReply::text(s)
    }
}

/// A fault injected into one chat request.
#[derive(Clone, Debug, PartialEq)]
pub enum Fault {
    /// An HTTP error status with an OpenAI-style error body.
    Status { code: u16, message: String },
    /// 429 with `Retry-After: <secs>`.
    RateLimited { retry_after_secs: u64 },
    /// Streams `after_chunks` chunks, then drops the connection.
    DropMidStream { after_chunks: usize },
    /// Never answers (not even headers).
    Hang,
    /// Streams `after_chunks` chunks, then goes silent with the connection open.
    HangMidStream { after_chunks: usize },
    /// Sends a chunk that is not JSON after `after_chunks` chunks, then continues normally.
    MalformedChunk { after_chunks: usize },
    /// Completes normally, with this `finish_reason`.
    FinishReason(String),
    /// Streams `after_chunks` chunks, then an `{"error": {...}}` object, then ends.
    ErrorMidStream {
        after_chunks: usize,
        message: String,
    },
    /// Completes normally without any usage.
    NoUsage,
    /// Ignores `stream: true` and answers with one JSON completion.
    NotStreamed,
}

impl Fault {
    /// HTTP 500.
    pub fn server_error() -> Self {
        Fault::Status {
            code: 500,
            message: "internal error (injected)".into(),
        }
    }
}

/// Random faults by percentages (0–100), drawn per request from a seeded generator.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RandomFaults {
    /// HTTP 500/502/503.
    pub pct_5xx: u32,
    /// HTTP 429 with `Retry-After: retry_after_secs`.
    pub pct_429: u32,
    /// A stream dropped after a few chunks.
    pub pct_drop: u32,
    pub retry_after_secs: u64,
    pub seed: u64,
}

/// Server behaviour that applies to every request.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Sleep before the response headers.
    pub latency: Duration,
    /// Sleep before each chunk.
    pub chunk_delay: Duration,
    /// Spread the chunks evenly over this time after the headers, as a model generating tokens
    /// does (zero: all at once). Chunks due less than a millisecond apart go out together.
    pub stream_time: Duration,
    /// Characters per chunk; 0 splits after each space (word by word).
    pub chunk_chars: usize,
    /// Characters of a tool call's arguments per chunk (at least 1).
    pub tool_argument_chars: usize,
    /// Send each tool call whole in one chunk (as some servers do) instead of in pieces.
    pub whole_tool_calls: bool,
    /// Send `usage` in the last chunk when the client asks for it (and in whole completions).
    pub send_usage: bool,
    /// Report this many prompt tokens (at most all of them) as read from the prompt cache, in
    /// `usage.prompt_tokens_details.cached_tokens` as OpenAI does (None: no details).
    pub cached_prompt_tokens: Option<u64>,
    /// Answer 400 to any request carrying `response_format` (servers without structured output).
    pub reject_response_format: bool,
    /// Answer 400 to any request offering `tools` (llama-server without a tool-call template).
    pub reject_tools: bool,
    /// Answer 400 to `max_tokens` and to a `temperature`, as OpenAI's reasoning models do.
    pub reasoning_model_params: bool,
    /// The model name the server reports (None: echo the requested one).
    pub model: Option<String>,
    /// Models listed by `GET /v1/models`.
    pub models: Vec<String>,
    /// Extra fields of every model entry in `GET /v1/models` (e.g. `context_length`,
    /// `max_model_len`, `max_completion_tokens`), as servers that report their limits send them.
    pub model_fields: serde_json::Map<String, Value>,
    /// The body of `GET /props` (llama-server's settings); None: 404, as OpenAI answers.
    pub props: Option<Value>,
    /// Keep every request for [`FakeOpenAi::requests`] (off for long benchmark runs; counting
    /// continues either way).
    pub record: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            latency: Duration::ZERO,
            chunk_delay: Duration::ZERO,
            stream_time: Duration::ZERO,
            chunk_chars: 0,
            tool_argument_chars: 7,
            whole_tool_calls: false,
            send_usage: true,
            cached_prompt_tokens: None,
            reject_response_format: false,
            reject_tools: false,
            reasoning_model_params: false,
            model: None,
            models: vec!["fake-model".into()],
            model_fields: serde_json::Map::new(),
            props: None,
            record: true,
        }
    }
}

type Responder = dyn Fn(&RecordedRequest) -> FakeReply + Send + Sync;

struct Shared {
    responder: Box<Responder>,
    requests: Mutex<Vec<RecordedRequest>>,
    count: std::sync::atomic::AtomicUsize,
    faults: Mutex<VecDeque<Fault>>,
    random: Mutex<Option<(RandomFaults, u64)>>,
    settings: Mutex<Settings>,
    injected: Mutex<Vec<Fault>>,
    spans: Mutex<Vec<Span>>,
}

/// The running fake server; stops on drop.
pub struct FakeOpenAi {
    served: Served,
    shared: Arc<Shared>,
}

/// An axum app served on 127.0.0.1 (a free port) by a runtime on a thread of its own; stops on
/// drop, aborting every connection still open (hangs included). Every fake server runs on one.
pub(crate) struct Served {
    pub(crate) addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Served {
    /// Binds a free port and serves `app`; `name` names the thread.
    pub(crate) fn start(name: &str, app: Router) -> Self {
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        std_listener.set_nonblocking(true).expect("nonblocking");
        let addr = std_listener.local_addr().expect("local addr");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name(format!("{name}-{}", addr.port()))
            .spawn(move || {
                let rt = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(1)
                    .enable_all()
                    .build()
                    .expect("runtime");
                rt.block_on(async move {
                    // No Nagle delay: small SSE chunks go out at once, as from a real server.
                    let listener = axum::serve::ListenerExt::tap_io(
                        tokio::net::TcpListener::from_std(std_listener).expect("tokio listener"),
                        |tcp| {
                            let _ = tcp.set_nodelay(true);
                        },
                    );
                    tokio::select! {
                        r = axum::serve(listener, app) => { r.expect("serve"); }
                        _ = stopped => {}
                    }
                });
                // Dropping the runtime aborts every connection still open (hangs included).
                rt.shutdown_background();
            })
            .expect("spawn fake server thread");
        Self {
            addr,
            stop: Some(stop),
            thread: Some(thread),
        }
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl FakeOpenAi {
    /// Starts a server whose replies come from `responder`.
    pub fn start(
        responder: impl Fn(&RecordedRequest) -> FakeReply + Send + Sync + 'static,
    ) -> Self {
        let shared = Arc::new(Shared {
            responder: Box::new(responder),
            requests: Mutex::new(Vec::new()),
            count: std::sync::atomic::AtomicUsize::new(0),
            faults: Mutex::new(VecDeque::new()),
            random: Mutex::new(None),
            settings: Mutex::new(Settings::default()),
            injected: Mutex::new(Vec::new()),
            spans: Mutex::new(Vec::new()),
        });
        let app = Router::new()
            .route("/v1/chat/completions", post(chat))
            .route("/v1/models", get(models))
            .route("/props", get(props))
            .route(
                "/health",
                get(|| async { axum::Json(json!({"status": "ok"})) }),
            )
            .with_state(shared.clone());
        Self {
            served: Served::start("fake-openai", app),
            shared,
        }
    }

    /// A server that always answers `text`.
    pub fn fixed(text: &str) -> Self {
        let text = text.to_string();
        Self::start(move |_| FakeReply::text(text.clone()))
    }

    /// `http://127.0.0.1:PORT/v1`.
    pub fn url(&self) -> String {
        format!("http://{}/v1", self.served.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.served.addr
    }

    /// Every chat request received so far, in order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.requests.lock().unwrap().clone()
    }

    /// Number of chat requests received.
    pub fn request_count(&self) -> usize {
        self.shared.count.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Number of chat requests with a message containing `needle`.
    pub fn count_containing(&self, needle: &str) -> usize {
        self.shared
            .requests
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r.prompt_contains(needle))
            .count()
    }

    /// Queues a fault for the next request without one (faults are used in order).
    pub fn push_fault(&self, fault: Fault) -> &Self {
        self.shared.faults.lock().unwrap().push_back(fault);
        self
    }

    /// Injects random faults on requests with no queued fault (None turns it off).
    pub fn set_random_faults(&self, random: Option<RandomFaults>) -> &Self {
        *self.shared.random.lock().unwrap() = random.map(|r| (r, r.seed.max(1)));
        self
    }

    /// Faults injected so far (queued and random), in order.
    pub fn injected_faults(&self) -> Vec<Fault> {
        self.shared.injected.lock().unwrap().clone()
    }

    /// When each chat request was in flight, in arrival order (always recorded).
    pub fn spans(&self) -> Vec<Span> {
        self.shared.spans.lock().unwrap().clone()
    }

    /// Changes the server's behaviour for the following requests.
    pub fn configure(&self, f: impl FnOnce(&mut Settings)) -> &Self {
        f(&mut self.shared.settings.lock().unwrap());
        self
    }
}

async fn models(State(shared): State<Arc<Shared>>) -> Response {
    let (names, fields) = {
        let s = shared.settings.lock().unwrap();
        (s.models.clone(), s.model_fields.clone())
    };
    let data: Vec<Value> = names
        .iter()
        .map(|id| {
            let mut entry = json!({"id": id, "object": "model", "created": 0, "owned_by": "fake"});
            if let Value::Object(m) = &mut entry {
                m.extend(fields.clone());
            }
            entry
        })
        .collect();
    axum::Json(json!({"object": "list", "data": data})).into_response()
}

async fn props(State(shared): State<Arc<Shared>>) -> Response {
    match shared.settings.lock().unwrap().props.clone() {
        Some(body) => axum::Json(body).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// Draws the fault for one request: the queue first, then the random mode.
fn next_fault(shared: &Shared) -> Option<Fault> {
    let fault = shared.faults.lock().unwrap().pop_front().or_else(|| {
        let mut random = shared.random.lock().unwrap();
        let (cfg, state) = random.as_mut()?;
        // xorshift64*: deterministic for a seed.
        *state ^= *state >> 12;
        *state ^= *state << 25;
        *state ^= *state >> 27;
        let roll = (state.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 33) % 100;
        let roll = roll as u32;
        if roll < cfg.pct_5xx {
            let code = [500, 502, 503][(roll % 3) as usize];
            Some(Fault::Status {
                code,
                message: "random server error (injected)".into(),
            })
        } else if roll < cfg.pct_5xx + cfg.pct_429 {
            Some(Fault::RateLimited {
                retry_after_secs: cfg.retry_after_secs,
            })
        } else if roll < cfg.pct_5xx + cfg.pct_429 + cfg.pct_drop {
            Some(Fault::DropMidStream { after_chunks: 2 })
        } else {
            None
        }
    });
    if let Some(f) = &fault {
        shared.injected.lock().unwrap().push(f.clone());
    }
    fault
}

/// The answer of a fault that strikes before any chunk: an error status, or a hang.
async fn answer_before_streaming(fault: Option<&Fault>) -> Option<Response> {
    match fault? {
        Fault::Status { code, message } => Some(error_response(*code, message, None)),
        Fault::RateLimited { retry_after_secs } => Some(error_response(
            429,
            "rate limit reached (injected)",
            Some(("retry-after", retry_after_secs.to_string())),
        )),
        Fault::Hang => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            Some(StatusCode::GATEWAY_TIMEOUT.into_response())
        }
        _ => None,
    }
}

fn error_response(code: u16, message: &str, extra: Option<(&'static str, String)>) -> Response {
    let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut resp = (
        status,
        axum::Json(json!({"error": {"message": message, "type": "fake_error", "code": code}})),
    )
        .into_response();
    if let Some((name, value)) = extra {
        resp.headers_mut()
            .insert(name, value.parse().expect("header value"));
    }
    resp
}

async fn chat(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    let span = {
        let mut spans = shared.spans.lock().unwrap();
        spans.push(Span {
            start: std::time::SystemTime::now(),
            end: None,
        });
        SpanGuard {
            shared: shared.clone(),
            index: spans.len() - 1,
        }
    };
    let json: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let req = RecordedRequest::from_body(json, authorization);
    let settings = shared.settings.lock().unwrap().clone();
    shared
        .count
        .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    if settings.record {
        shared.requests.lock().unwrap().push(req.clone());
    }

    if !settings.latency.is_zero() {
        tokio::time::sleep(settings.latency).await;
    }
    if settings.reject_response_format && req.response_format.is_some() {
        return error_response(400, "response_format is not supported by this server", None);
    }
    if settings.reject_tools && req.body.get("tools").is_some() {
        return error_response(400, "tools param requires --jinja flag", None);
    }
    if settings.reasoning_model_params {
        if req.body.get("max_tokens").is_some() {
            return error_response(
                400,
                "Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead.",
                None,
            );
        }
        if req.body.get("temperature").is_some() {
            return error_response(
                400,
                "Unsupported value: 'temperature' does not support 0.2 with this model. Only the default (1) value is supported.",
                None,
            );
        }
    }
    let fault = next_fault(&shared);
    if let Some(resp) = answer_before_streaming(fault.as_ref()).await {
        return resp;
    }

    let reply = (shared.responder)(&req);
    let fault = match (fault, &reply.fault) {
        (None, Some(f)) => {
            shared.injected.lock().unwrap().push(f.clone());
            if let Some(resp) = answer_before_streaming(Some(f)).await {
                return resp;
            }
            Some(f.clone())
        }
        (fault, _) => fault,
    };
    let model = settings
        .model
        .clone()
        .or_else(|| req.model.clone())
        .unwrap_or_else(|| "fake-model".into());
    let finish_reason = match &fault {
        Some(Fault::FinishReason(r)) => r.clone(),
        _ => reply.finish_reason.clone(),
    };
    let prompt_tokens = (req.prompt().chars().count() as u64).div_ceil(4);
    let calls: Vec<FakeToolCall> = reply
        .tool_calls
        .iter()
        .enumerate()
        .map(|(n, c)| FakeToolCall {
            id: if c.id.is_empty() {
                format!("call_{n}")
            } else {
                c.id.clone()
            },
            ..c.clone()
        })
        .collect();
    // Every delta after the role: the text's pieces, then the calls' pieces.
    let mut deltas: Vec<Value> = split(&reply.text, settings.chunk_chars)
        .into_iter()
        .map(|piece| json!({"content": piece}))
        .collect();
    deltas.extend(tool_call_deltas(&calls, &settings));
    let mut usage = json!({
        "prompt_tokens": prompt_tokens,
        "completion_tokens": deltas.len(),
        "total_tokens": prompt_tokens + deltas.len() as u64,
    });
    if let Some(cached) = settings.cached_prompt_tokens {
        usage["prompt_tokens_details"] = json!({"cached_tokens": cached.min(prompt_tokens)});
    }
    let send_usage = settings.send_usage && !matches!(fault, Some(Fault::NoUsage));

    if !req.stream || matches!(fault, Some(Fault::NotStreamed)) {
        let mut body = json!({
            "id": "chatcmpl-fake",
            "object": "chat.completion",
            "created": 0,
            "model": model,
            "choices": [{
                "index": 0,
                "message": whole_message(&reply.text, &calls),
                "finish_reason": finish_reason,
            }],
        });
        if send_usage {
            body["usage"] = usage;
        }
        return axum::Json(body).into_response();
    }

    let chunk = |delta: Value, finish: Option<&str>| {
        let c = json!({
            "id": "chatcmpl-fake",
            "object": "chat.completion.chunk",
            "created": 0,
            "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        });
        Step::Data(format!("data: {c}\n\n"))
    };
    let mut steps = VecDeque::new();
    steps.push_back(chunk(json!({"role": "assistant", "content": ""}), None));
    for (i, delta) in deltas.into_iter().enumerate() {
        match &fault {
            Some(Fault::DropMidStream { after_chunks }) if *after_chunks == i => {
                steps.push_back(Step::Drop);
            }
            Some(Fault::HangMidStream { after_chunks }) if *after_chunks == i => {
                steps.push_back(Step::Hang);
            }
            Some(Fault::MalformedChunk { after_chunks }) if *after_chunks == i => {
                steps.push_back(Step::Data("data: {\"choices\": [{\"delta\": \n\n".into()));
            }
            Some(Fault::ErrorMidStream {
                after_chunks,
                message,
            }) if *after_chunks == i => {
                let e = json!({"error": {"message": message, "type": "server_error", "code": 500}});
                steps.push_back(Step::Data(format!("data: {e}\n\n")));
                steps.push_back(Step::End);
            }
            _ => {}
        }
        steps.push_back(chunk(delta, None));
    }
    steps.push_back(chunk(json!({}), Some(&finish_reason)));
    if send_usage && req.wants_stream_usage() {
        let c = json!({
            "id": "chatcmpl-fake",
            "object": "chat.completion.chunk",
            "created": 0,
            "model": model,
            "choices": [],
            "usage": usage,
        });
        steps.push_back(Step::Data(format!("data: {c}\n\n")));
    }
    steps.push_back(Step::Data("data: [DONE]\n\n".into()));

    let delay = settings.chunk_delay;
    let paced = settings.stream_time;
    let total = steps.len().max(1) as u32;
    let begun = tokio::time::Instant::now();
    let stream = futures::stream::unfold((steps, span), move |(mut steps, span)| async move {
        let Some(step) = steps.pop_front() else {
            drop(span);
            return None;
        };
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        if !paced.is_zero() {
            let sent = total - steps.len() as u32;
            let due = begun + paced * sent / total;
            if due > tokio::time::Instant::now() + Duration::from_millis(1) {
                tokio::time::sleep_until(due).await;
            }
        }
        match step {
            Step::Data(s) => Some((Ok::<Bytes, std::io::Error>(Bytes::from(s)), (steps, span))),
            Step::Drop => {
                // Let hyper flush the chunks before the break, as a real network would have
                // delivered them.
                tokio::time::sleep(Duration::from_millis(50)).await;
                Some((
                    Err(std::io::Error::other("connection dropped (injected)")),
                    (VecDeque::new(), span),
                ))
            }
            Step::Hang => {
                tokio::time::sleep(Duration::from_secs(3600)).await;
                None
            }
            Step::End => None,
        }
    });
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "text/event-stream")
        .header(header::CACHE_CONTROL, "no-cache")
        .body(Body::from_stream(stream))
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

/// One step of a streamed answer.
enum Step {
    Data(String),
    Drop,
    Hang,
    End,
}

/// The deltas of tool calls as OpenAI streams them: per call, its index, id and name with empty
/// arguments, then the arguments in pieces of `tool_argument_chars` characters; or each call
/// whole in one delta (`whole_tool_calls`).
fn tool_call_deltas(calls: &[FakeToolCall], settings: &Settings) -> Vec<Value> {
    let mut out = Vec::new();
    for (index, c) in calls.iter().enumerate() {
        let head = |arguments: &str| {
            json!({"tool_calls": [{
                "index": index,
                "id": c.id,
                "type": "function",
                "function": {"name": c.name, "arguments": arguments},
            }]})
        };
        if settings.whole_tool_calls {
            out.push(head(&c.arguments));
            continue;
        }
        out.push(head(""));
        for piece in split(&c.arguments, settings.tool_argument_chars.max(1)) {
            out.push(json!({"tool_calls": [{
                "index": index,
                "function": {"arguments": piece},
            }]}));
        }
    }
    out
}

/// The `message` of a non-streamed completion.
fn whole_message(text: &str, calls: &[FakeToolCall]) -> Value {
    if calls.is_empty() {
        return json!({"role": "assistant", "content": text});
    }
    let calls: Vec<Value> = calls
        .iter()
        .map(|c| {
            json!({
                "id": c.id,
                "type": "function",
                "function": {"name": c.name, "arguments": c.arguments},
            })
        })
        .collect();
    let content = if text.is_empty() {
        Value::Null
    } else {
        Value::String(text.into())
    };
    json!({"role": "assistant", "content": content, "tool_calls": calls})
}

/// Splits text into chunks: word by word (`chars == 0`) or `chars` characters each.
fn split(text: &str, chars: usize) -> Vec<String> {
    if chars == 0 {
        return text.split_inclusive(' ').map(str::to_string).collect();
    }
    let cs: Vec<char> = text.chars().collect();
    cs.chunks(chars).map(|c| c.iter().collect()).collect()
}
