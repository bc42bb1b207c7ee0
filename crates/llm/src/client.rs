//! The request loop: one streamed chat completion with timeouts, retries and cancellation.
//!
//! Request bodies are async-openai's typed `CreateChatCompletionRequest` (see `request.rs`). The
//! HTTP exchange and the SSE stream are handled here with reqwest rather than through
//! async-openai's `Client`, because its typed streaming path cannot be made tolerant enough:
//! - an unknown `finish_reason` (llama.cpp, Ollama and vLLM send their own) or an `{"error": ...}`
//!   object inside the stream fails deserialisation of the whole chunk ("missing field `id`");
//! - its built-in retry layer retries 429/5xx on its own schedule, invisibly: we could neither count
//!   nor log retries, honour `Retry-After`, nor tell the pane that a retry happened (replacing the
//!   layer needs its `middleware` feature);
//! - HTTP errors lose their headers, so `Retry-After` is gone before we see the error.
//!
//! Timeouts: connect (reqwest), first token (from sending until the first text arrives), idle gap
//! (between chunks once text flows) and total (one attempt). Retries: exponential backoff with
//! jitter, or `Retry-After`; each retry is logged and reported to `on_token` as
//! [`super::RETRY_MARKER`]. Cancellation: the token aborts the request (and any backoff sleep) at
//! once; dropping the response closes the connection.

use std::ops::ControlFlow;
use std::sync::Arc;
use std::time::Duration;

use async_openai::types::chat::ChatCompletionTools;
use futures::StreamExt;
use reqwest::header::CONTENT_TYPE;
use tokio::time::{Instant, timeout, timeout_at};
use tokio_util::sync::CancellationToken;

use super::endpoint::Endpoint;
use super::error::LlmError;
use super::request::{self, BodyParams, Quirks};
use super::sse::{self, SseParser};
use super::structured::{self, Support};
use super::tool_calls::ToolCallAccumulator;
use super::wire::{self, WireChunk};
use super::{ChatRequest, ChatResponse, RETRY_MARKER};
use protocol::config::{LlmConfig, RetriesConfig, StructuredOutput, TimeoutsConfig};
use protocol::{ChatMessage, OutputSpec, ToolCall, Usage, estimate_tokens};

/// Most HTTP chunks parsed before their text is drawn (see the stream loop in `read_events`).
const DRAW_EVERY: usize = 512;

/// How long text waits to be drawn for more to arrive. hyper hands a body over one HTTP chunk
/// per poll, so even a burst that is already in the socket reaches the reader one chunk at a
/// time, each looking like the last; drawing on every chunk would draw once per token, all
/// between the reply and the next request. A model that streams its tokens sends them further
/// apart than this delay, so each is still drawn on its own, only this much later.
const DRAW_DELAY: Duration = Duration::from_millis(4);

/// A client for one endpoint. Cheap to clone; clones share the connection pool.
#[derive(Clone, Debug)]
pub struct LlmClient {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    endpoint: Endpoint,
    http: reqwest::Client,
    timeouts: TimeoutsConfig,
    retries: RetriesConfig,
    structured: StructuredOutput,
    temperature: f64,
    max_tokens: u32,
}

/// How JSON output is requested in one attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum JsonMode {
    /// Free text.
    None,
    /// `response_format` json_schema.
    Schema,
    /// Schema in the prompt, JSON extracted from the text.
    Prompt,
}

/// What one successful attempt produced.
struct Attempt {
    text: String,
    model: Option<String>,
    finish_reason: Option<String>,
    prompt_tokens: Option<u64>,
    completion_tokens: Option<u64>,
    cached_prompt_tokens: Option<u64>,
    tool_calls: Vec<ToolCall>,
}

impl LlmClient {
    /// Builds a client; no request is made.
    pub fn new(endpoint: Endpoint, llm: &LlmConfig) -> Result<Self, LlmError> {
        let mut http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(llm.timeouts.connect_secs.max(1)))
            .tcp_nodelay(true)
            .user_agent(concat!("agentmux/", env!("CARGO_PKG_VERSION")));
        if endpoint.base_url.starts_with("http://") {
            // Nothing to verify on a plain-HTTP endpoint (a local model, a proxy on localhost):
            // no system root certificates are loaded, which spares each agent reading and
            // parsing /etc/ssl/certs (CPU at start, memory).
            http = http.tls_certs_only(std::iter::empty());
        }
        let http = http.build().map_err(|e| LlmError::Config {
            url: endpoint.base_url.clone(),
            message: format!("cannot build the HTTP client: {}", error_chain(&e)),
        })?;
        Ok(Self {
            inner: Arc::new(Inner {
                endpoint,
                http,
                timeouts: llm.timeouts,
                retries: llm.retries,
                structured: llm.structured_output,
                temperature: llm.temperature,
                max_tokens: llm.max_tokens,
            }),
        })
    }

    pub fn endpoint(&self) -> &Endpoint {
        &self.inner.endpoint
    }

    /// Streams a chat completion; calls `on_token` with each text delta as it arrives, and with
    /// [`super::RETRY_MARKER`] when an attempt failed and the request starts again (the text
    /// streamed before the marker is void). Retryable failures are retried up to
    /// `llm.retries.max_retries` times; `cancel` aborts at once with [`LlmError::Cancelled`].
    /// With `req.tools` the tools are offered and the model's calls, if it makes any, are in
    /// [`ChatResponse::tool_calls`]; [`LlmClient::chat_with_tools`] runs them.
    pub async fn chat(
        &self,
        req: &ChatRequest,
        on_token: &mut (dyn FnMut(&str) + Send),
        cancel: &CancellationToken,
    ) -> Result<ChatResponse, LlmError> {
        let run = async {
            let tools = match &req.tools {
                Some(t) => Some(self.tool_definitions(&t.definitions)?),
                None => None,
            };
            self.chat_with_retries(req, tools.as_deref(), on_token)
                .await
        };
        tokio::select! {
            biased;
            _ = cancel.cancelled() => Err(LlmError::Cancelled),
            r = run => r,
        }
    }

    /// The typed `tools` entries of `definitions`.
    pub(crate) fn tool_definitions(
        &self,
        definitions: &[serde_json::Value],
    ) -> Result<Vec<ChatCompletionTools>, LlmError> {
        request::tool_definitions(&self.inner.endpoint.base_url, definitions)
    }

    /// One request (`tools` offered when given), retried as configured.
    pub(crate) async fn chat_with_retries(
        &self,
        req: &ChatRequest,
        tools: Option<&[ChatCompletionTools]>,
        on_token: &mut (dyn FnMut(&str) + Send),
    ) -> Result<ChatResponse, LlmError> {
        let base_url = self.inner.endpoint.base_url.clone();
        let mut mode = match (&req.output, self.inner.structured) {
            (OutputSpec::Text, _) => JsonMode::None,
            (OutputSpec::Json { .. }, StructuredOutput::Prompt) => JsonMode::Prompt,
            (OutputSpec::Json { .. }, StructuredOutput::JsonSchema) => JsonMode::Schema,
            (OutputSpec::Json { .. }, StructuredOutput::Auto) => {
                match structured::support(&base_url) {
                    Support::Unsupported => JsonMode::Prompt,
                    Support::Supported | Support::Unknown => JsonMode::Schema,
                }
            }
        };
        let model = self.model_for(req).to_string();
        let mut quirks = Quirks::known(&base_url, &model);
        let mut retries = 0u32;
        loop {
            match self.attempt(req, mode, quirks, tools, on_token).await {
                Ok(a) => {
                    if mode == JsonMode::Schema {
                        structured::remember(&base_url, true);
                    }
                    return Ok(self.response(req, a, retries));
                }
                Err(LlmError::Http {
                    status: 400,
                    message,
                    ..
                }) if quirks.learn(&message).is_some() => {
                    let learnt = quirks.learn(&message).unwrap_or(quirks);
                    tracing::info!(url = %base_url, %model, ?learnt, %message, "adapting the request parameters to the model");
                    learnt.remember(&base_url, &model);
                    quirks = learnt;
                }
                Err(LlmError::Http {
                    status, message, ..
                }) if mode == JsonMode::Schema && structured::is_rejection(status, &message) => {
                    tracing::warn!(
                        url = %base_url,
                        status,
                        %message,
                        "the endpoint rejected response_format json_schema; asking for JSON in the prompt instead"
                    );
                    if !structured::is_schema_error(&message) {
                        structured::remember(&base_url, false);
                    }
                    mode = JsonMode::Prompt;
                }
                Err(e) if e.retryable() && retries < self.inner.retries.max_retries => {
                    retries += 1;
                    let wait = super::backoff::delay(&self.inner.retries, retries, e.retry_after());
                    tracing::warn!(
                        url = %base_url,
                        retry = retries,
                        max_retries = self.inner.retries.max_retries,
                        wait_ms = wait.as_millis() as u64,
                        error = %e,
                        "LLM request failed; retrying"
                    );
                    on_token(RETRY_MARKER);
                    tokio::time::sleep(wait).await;
                }
                Err(e) if e.retryable() => {
                    return Err(LlmError::RetriesExhausted {
                        attempts: retries + 1,
                        max_retries: self.inner.retries.max_retries,
                        last: Box::new(e),
                    });
                }
                Err(e) => return Err(e),
            }
        }
    }

    fn response(&self, req: &ChatRequest, a: Attempt, retries: u32) -> ChatResponse {
        let json = match req.output {
            // Text beside tool calls is not the answer.
            OutputSpec::Json { .. } if a.tool_calls.is_empty() => structured::extract_json(&a.text),
            OutputSpec::Json { .. } | OutputSpec::Text => None,
        };
        let estimated = a.prompt_tokens.is_none() || a.completion_tokens.is_none();
        let prompt_tokens = a
            .prompt_tokens
            .unwrap_or_else(|| estimate_prompt_tokens(&req.messages));
        let usage = Usage {
            prompt_tokens,
            completion_tokens: a.completion_tokens.unwrap_or_else(|| {
                u64::from(estimate_tokens(&a.text))
                    + a.tool_calls
                        .iter()
                        .map(|c| u64::from(estimate_tokens(&c.arguments)) + 4)
                        .sum::<u64>()
            }),
            cached_prompt_tokens: a.cached_prompt_tokens.unwrap_or(0).min(prompt_tokens),
            estimated,
        };
        ChatResponse {
            json,
            usage,
            model: a.model.unwrap_or_else(|| self.model_for(req).to_string()),
            finish_reason: a.finish_reason,
            retries,
            text: a.text,
            tool_calls: a.tool_calls,
            tool_rounds: 0,
        }
    }

    fn model_for<'a>(&'a self, req: &'a ChatRequest) -> &'a str {
        req.model.as_deref().unwrap_or(&self.inner.endpoint.model)
    }

    /// One attempt, bounded by the total timeout.
    async fn attempt(
        &self,
        req: &ChatRequest,
        mode: JsonMode,
        quirks: Quirks,
        tools: Option<&[ChatCompletionTools]>,
        on_token: &mut (dyn FnMut(&str) + Send),
    ) -> Result<Attempt, LlmError> {
        let secs = self.inner.timeouts.total_secs.max(1);
        timeout(
            Duration::from_secs(secs),
            self.attempt_inner(req, mode, quirks, tools, on_token),
        )
        .await
        .map_err(|_| LlmError::TotalTimeout {
            url: self.inner.endpoint.base_url.clone(),
            secs,
        })?
    }

    async fn attempt_inner(
        &self,
        req: &ChatRequest,
        mode: JsonMode,
        quirks: Quirks,
        tools: Option<&[ChatCompletionTools]>,
        on_token: &mut (dyn FnMut(&str) + Send),
    ) -> Result<Attempt, LlmError> {
        let ep = &self.inner.endpoint;
        let base = ep.base_url.as_str();
        let prompt_messages;
        let (messages, json_schema) = match (&req.output, mode) {
            (OutputSpec::Json { name, schema }, JsonMode::Schema) => {
                (req.messages.as_slice(), Some((name.as_str(), schema)))
            }
            (OutputSpec::Json { name, schema }, JsonMode::Prompt) => {
                prompt_messages = structured::prompt_mode_messages(&req.messages, name, schema);
                (prompt_messages.as_slice(), None)
            }
            _ => (req.messages.as_slice(), None),
        };
        let body = request::build(&BodyParams {
            model: self.model_for(req),
            messages,
            temperature: req.temperature.unwrap_or(self.inner.temperature),
            max_tokens: req.max_tokens.unwrap_or(self.inner.max_tokens),
            stream: true,
            json_schema,
            quirks,
            local: ep.is_local,
            tools,
        });

        let first_secs = self.inner.timeouts.first_token_secs.max(1);
        let first_deadline = Instant::now() + Duration::from_secs(first_secs);
        let first_timeout = || LlmError::FirstTokenTimeout {
            url: base.to_string(),
            secs: first_secs,
        };
        let mut builder = self
            .inner
            .http
            .post(ep.url("chat/completions"))
            .header("accept", "text/event-stream")
            .json(&body);
        if let Some(key) = &ep.api_key {
            builder = builder.bearer_auth(key.expose());
        }
        let resp = timeout_at(first_deadline, builder.send())
            .await
            .map_err(|_| first_timeout())?
            .map_err(|e| classify(base, &e))?;

        let status = resp.status();
        if !status.is_success() {
            let retry_after = super::backoff::retry_after(resp.headers());
            let body = timeout_at(first_deadline, resp.text())
                .await
                .map_err(|_| first_timeout())?
                .unwrap_or_default();
            return Err(LlmError::Http {
                url: base.to_string(),
                status: status.as_u16(),
                message: wire::http_error_message(&body),
                retry_after,
                hint: LlmError::http_hint(status.as_u16()),
            });
        }

        let is_sse = resp
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("text/event-stream"));
        if !is_sse {
            // The server ignored `stream: true` and sent the whole completion at once.
            let bytes = timeout_at(first_deadline, resp.bytes())
                .await
                .map_err(|_| first_timeout())?
                .map_err(|e| classify(base, &e))?;
            return whole_completion(base, &bytes, on_token);
        }

        let idle = Duration::from_secs(self.inner.timeouts.idle_secs.max(1));
        let first = (first_deadline, first_secs);
        read_events(base, resp.bytes_stream(), first, idle, on_token).await
    }
}

/// Reads a streamed completion (`stream`: the response body's chunks) until it ends.
/// `first`: the deadline for the first token and its length in seconds; `idle`: the longest
/// silence after that.
async fn read_events<S, B, E>(
    base: &str,
    mut stream: S,
    first: (Instant, u64),
    idle: Duration,
    on_token: &mut (dyn FnMut(&str) + Send),
) -> Result<Attempt, LlmError>
where
    S: futures::Stream<Item = Result<B, E>> + Unpin,
    B: AsRef<[u8]>,
    E: std::error::Error,
{
    let (first_deadline, first_secs) = first;
    let mut acc = Accumulator::default();
    let mut parser = SseParser::new();
    // One timer for the whole stream, re-armed only when it fires: resetting a timer for every
    // event (thousands per completion) costs more than parsing the event. Until the first token
    // it ends at `first_deadline`; after that at `idle` after the last chunk.
    let timer = tokio::time::sleep_until(first_deadline);
    tokio::pin!(timer);
    let mut idle_armed = false;
    let mut last_chunk = Instant::now();
    let mut undrawn = 0usize;
    // Armed (once per draw, not per chunk) when text is waiting to be drawn. The select below
    // is biased to the stream, so it fires only once no chunk is ready.
    let draw = tokio::time::sleep(Duration::ZERO);
    tokio::pin!(draw);
    let mut draw_armed = false;
    loop {
        if acc.got_text && !idle_armed {
            idle_armed = true;
            timer.as_mut().reset(last_chunk + idle);
        }
        let next = loop {
            tokio::select! {
                biased;
                next = stream.next() => break next,
                () = &mut draw, if draw_armed => {
                    draw_armed = false;
                    undrawn = 0;
                    acc.emit(on_token);
                }
                () = &mut timer => {
                    if !acc.got_text {
                        return Err(LlmError::FirstTokenTimeout {
                            url: base.to_string(),
                            secs: first_secs,
                        });
                    }
                    let due = last_chunk + idle;
                    if due <= Instant::now() {
                        acc.emit(on_token);
                        return Err(LlmError::IdleTimeout {
                            url: base.to_string(),
                            secs: idle.as_secs(),
                        });
                    }
                    timer.as_mut().reset(due);
                }
            }
        };
        match next {
            Some(Ok(bytes)) => {
                last_chunk = Instant::now();
                let flow = parser.feed(bytes.as_ref(), |data| match acc.event(base, data) {
                    Ok(false) => ControlFlow::Continue(()),
                    Ok(true) => ControlFlow::Break(Ok(())),
                    Err(e) => ControlFlow::Break(Err(e)),
                });
                if let ControlFlow::Break(done) = flow {
                    // What arrived is shown, even before an error.
                    acc.emit(on_token);
                    done?;
                    tracing::debug!(bytes = acc.text.len(), "stream ended");
                    return Ok(acc.finish());
                }
                // Servers send each event as its own HTTP chunk, so a burst (a fast server,
                // a reader that fell behind) is many chunks: parse them all, then draw their
                // text once, not once per token: when no chunk has followed for `DRAW_DELAY`,
                // and at least every `DRAW_EVERY` chunks, so an endless burst still shows.
                undrawn += 1;
                if undrawn >= DRAW_EVERY {
                    undrawn = 0;
                    draw_armed = false;
                    acc.emit(on_token);
                } else if !draw_armed {
                    draw_armed = true;
                    draw.as_mut().reset(Instant::now() + DRAW_DELAY);
                }
            }
            Some(Err(e)) => {
                acc.emit(on_token);
                return Err(LlmError::StreamBroken {
                    url: base.to_string(),
                    message: error_chain(&e),
                });
            }
            None => {
                let last = parser.finish().map(|data| acc.event(base, &data));
                acc.emit(on_token);
                if last.transpose()? == Some(true) {
                    return Ok(acc.finish());
                }
                // No `[DONE]`: fine when the completion had finished, broken otherwise.
                if acc.finish_reason.is_some() {
                    return Ok(acc.finish());
                }
                return Err(LlmError::StreamBroken {
                    url: base.to_string(),
                    message: "the connection closed before the completion finished".into(),
                });
            }
        }
    }
}

/// Collects a streamed completion.
#[derive(Default)]
struct Accumulator {
    text: String,
    got_text: bool,
    model: Option<String>,
    finish_reason: Option<String>,
    prompt_tokens: Option<u64>,
    completion_tokens: Option<u64>,
    cached_prompt_tokens: Option<u64>,
    tool_calls: ToolCallAccumulator,
    /// Text received but not yet passed to `on_token` (see [`Accumulator::emit`]).
    pending: String,
}

impl Accumulator {
    /// Handles one SSE event; true at `[DONE]`.
    fn event(&mut self, base: &str, data: &str) -> Result<bool, LlmError> {
        let data = data.trim();
        if data == "[DONE]" {
            return Ok(true);
        }
        if data.is_empty() {
            return Ok(false);
        }
        let chunk: WireChunk = serde_json::from_str(data).map_err(|e| LlmError::Malformed {
            url: base.to_string(),
            message: format!("{e}: {}", wire::shorten(data, 200)),
        })?;
        if let Some(message) = chunk.error_message() {
            return Err(LlmError::Server {
                url: base.to_string(),
                message,
            });
        }
        self.absorb(&chunk);
        Ok(false)
    }

    /// Passes the text received since the last call to `on_token`.
    fn emit(&mut self, on_token: &mut (dyn FnMut(&str) + Send)) {
        if !self.pending.is_empty() {
            on_token(&self.pending);
            self.pending.clear();
        }
    }

    fn absorb(&mut self, chunk: &WireChunk) {
        if let Some(t) = chunk.text()
            && !t.is_empty()
        {
            self.text.push_str(t);
            self.pending.push_str(t);
            self.got_text = true;
        }
        let calls = chunk.tool_calls();
        if !calls.is_empty() {
            self.tool_calls.absorb(calls);
            // The answer is under way, even with no text: no first-token timeout.
            self.got_text = true;
        }
        if let Some(r) = chunk.finish_reason() {
            self.finish_reason = Some(r.to_string());
            // A completion may legitimately be empty; the stream is alive, so stop waiting for a
            // first token from here on.
            self.got_text = true;
        }
        if let Some(m) = chunk.model.as_deref()
            && !m.is_empty()
            && self.model.as_deref() != Some(m)
        {
            self.model = Some(m.to_string());
        }
        if let Some(u) = chunk.usage {
            self.prompt_tokens = u.prompt_tokens.or(self.prompt_tokens);
            self.completion_tokens = u.completion_tokens.or(self.completion_tokens);
        }
        if let Some(n) = chunk.cached_tokens() {
            self.cached_prompt_tokens = Some(n);
        }
    }

    fn finish(self) -> Attempt {
        Attempt {
            text: self.text,
            model: self.model,
            finish_reason: self.finish_reason,
            prompt_tokens: self.prompt_tokens,
            completion_tokens: self.completion_tokens,
            cached_prompt_tokens: self.cached_prompt_tokens,
            tool_calls: self.tool_calls.finish(),
        }
    }
}

/// A non-streamed answer to a streamed request.
fn whole_completion(
    base: &str,
    bytes: &[u8],
    on_token: &mut (dyn FnMut(&str) + Send),
) -> Result<Attempt, LlmError> {
    let text = String::from_utf8_lossy(bytes);
    let mut acc = Accumulator::default();
    // Either one JSON completion, or an event stream sent with the wrong content type.
    if text.trim_start().starts_with("data:") {
        for data in sse::parse_all(bytes) {
            if acc.event(base, &data)? {
                break;
            }
        }
        acc.emit(on_token);
        return Ok(acc.finish());
    }
    acc.event(base, &text)?;
    acc.emit(on_token);
    Ok(acc.finish())
}

fn estimate_prompt_tokens(messages: &[ChatMessage]) -> u64 {
    messages
        .iter()
        .map(|m| {
            let calls: u64 = m
                .tool_calls
                .iter()
                .map(|c| u64::from(estimate_tokens(&c.name) + estimate_tokens(&c.arguments)) + 4)
                .sum();
            u64::from(estimate_tokens(&m.content)) + 4 + calls
        })
        .sum()
}

/// Maps a reqwest error to the matching [`LlmError`].
fn classify(base: &str, e: &reqwest::Error) -> LlmError {
    let message = error_chain(e);
    if e.is_body() || e.is_decode() {
        LlmError::StreamBroken {
            url: base.to_string(),
            message,
        }
    } else if e.is_builder() {
        LlmError::Config {
            url: base.to_string(),
            message,
        }
    } else {
        LlmError::Connect {
            url: base.to_string(),
            message,
        }
    }
}

/// An error and its sources on one line (reqwest's top-level message alone says little).
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut parts = vec![e.to_string()];
    let mut src = e.source();
    while let Some(s) = src {
        let t = s.to_string();
        if !parts.iter().any(|p| p.contains(&t)) {
            parts.push(t);
        }
        src = s.source();
    }
    parts.join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accumulator_tolerates_unknown_finish_reason_and_counts_usage() {
        let mut acc = Accumulator::default();
        let mut seen = Vec::new();
        let mut cb = |t: &str| seen.push(t.to_string());
        assert!(
            !acc.event("u", r#"{"choices":[{"delta":{"role":"assistant"}}]}"#)
                .unwrap()
        );
        assert!(
            !acc.event(
                "u",
                r#"{"model":"m1","choices":[{"delta":{"content":"He"}}]}"#
            )
            .unwrap()
        );
        assert!(
            !acc.event(
                "u",
                r#"{"choices":[{"delta":{"content":"llo"},"finish_reason":"eos"}]}"#
            )
            .unwrap()
        );
        assert!(
            !acc.event(
                "u",
                r#"{"choices":[],"usage":{"prompt_tokens":7,"completion_tokens":2,"prompt_tokens_details":{"cached_tokens":4}}}"#
            )
            .unwrap()
        );
        assert!(acc.event("u", "[DONE]").unwrap());
        acc.emit(&mut cb);
        acc.emit(&mut cb);
        let a = acc.finish();
        assert_eq!(a.text, "Hello");
        assert_eq!(a.finish_reason.as_deref(), Some("eos"));
        assert_eq!(a.model.as_deref(), Some("m1"));
        assert_eq!((a.prompt_tokens, a.completion_tokens), (Some(7), Some(2)));
        assert_eq!(a.cached_prompt_tokens, Some(4));
        assert_eq!(
            seen,
            vec!["Hello"],
            "one call per batch, none when nothing is new"
        );
    }

    #[test]
    fn accumulator_reports_error_objects_and_malformed_chunks() {
        let mut acc = Accumulator::default();
        let e = acc
            .event("http://h/v1", r#"{"error":{"message":"context too long"}}"#)
            .unwrap_err();
        assert!(matches!(e, LlmError::Server { .. }));
        assert!(e.to_string().contains("context too long"));
        let e = acc.event("http://h/v1", "{not json").unwrap_err();
        assert!(matches!(e, LlmError::Malformed { .. }), "{e}");
    }

    #[test]
    fn whole_completion_body() {
        let body = br#"{"model":"m","choices":[{"message":{"content":"all at once"},"finish_reason":"stop"}]}"#;
        let mut got = String::new();
        let a = whole_completion("u", body, &mut |t: &str| got.push_str(t)).unwrap();
        assert_eq!(a.text, "all at once");
        assert_eq!(got, "all at once");
    }
}

#[cfg(test)]
mod stream_tests {
    use super::*;

    /// One SSE event per chunk, as servers send them, then the end.
    fn events(words: usize) -> Vec<Result<Vec<u8>, std::io::Error>> {
        let mut v: Vec<_> = (0..words)
            .map(|i| {
                let c = format!(r#"data: {{"choices":[{{"delta":{{"content":"w{i} "}}}}]}}"#);
                Ok(format!("{c}\n\n").into_bytes())
            })
            .collect();
        v.push(Ok(
            br#"data: {"choices":[{"delta":{},"finish_reason":"stop"}]}

data: [DONE]

"#
            .to_vec(),
        ));
        v
    }

    fn expected(words: usize) -> String {
        (0..words).map(|i| format!("w{i} ")).collect()
    }

    /// Reads `stream`; returns the text and how many times it was drawn.
    async fn read<S>(stream: S) -> (String, usize)
    where
        S: futures::Stream<Item = Result<Vec<u8>, std::io::Error>> + Unpin,
    {
        let mut draws = Vec::new();
        let first = (Instant::now() + Duration::from_secs(5), 5);
        let got = read_events(
            "u",
            stream,
            first,
            Duration::from_secs(5),
            &mut |t: &str| draws.push(t.to_string()),
        )
        .await
        .unwrap();
        assert_eq!(draws.concat(), got.text, "every token is drawn, in order");
        (got.text, draws.len())
    }

    #[tokio::test]
    async fn a_burst_of_chunks_already_received_is_drawn_once() {
        let (text, draws) = read(futures::stream::iter(events(300))).await;
        assert_eq!(text, expected(300));
        assert_eq!(draws, 1);
    }

    #[tokio::test]
    async fn an_endless_burst_is_still_drawn_every_draw_every_chunks() {
        let n = DRAW_EVERY * 2 + 10;
        let (text, draws) = read(futures::stream::iter(events(n))).await;
        assert_eq!(text, expected(n));
        assert_eq!(draws, 3);
    }

    /// `events(n)` delivered one per poll, each after `gap` (none: the next poll).
    fn trickle(
        n: usize,
        gap: Duration,
    ) -> impl futures::Stream<Item = Result<Vec<u8>, std::io::Error>> + Unpin {
        Box::pin(futures::stream::unfold(
            events(n).into_iter(),
            move |mut it| async move {
                if gap.is_zero() {
                    tokio::task::yield_now().await;
                } else {
                    tokio::time::sleep(gap).await;
                }
                it.next().map(|item| (item, it))
            },
        ))
    }

    #[tokio::test(start_paused = true)]
    async fn chunks_that_arrive_one_by_one_are_drawn_one_by_one() {
        // Tokens as a model generates them: one every 20 ms.
        let (text, draws) = read(trickle(20, Duration::from_millis(20))).await;
        assert_eq!(text, expected(20));
        // The last chunk of text and the finish/[DONE] chunk come together at the end.
        assert_eq!(draws, 20);
    }

    #[tokio::test(start_paused = true)]
    async fn a_burst_handed_over_one_chunk_per_poll_is_drawn_once() {
        // hyper's body channel holds one chunk: a burst already received still arrives one
        // chunk per poll, never "ready".
        let (text, draws) = read(trickle(300, Duration::ZERO)).await;
        assert_eq!(text, expected(300));
        assert_eq!(draws, 1);
    }

    #[tokio::test(start_paused = true)]
    async fn text_waits_at_most_the_draw_delay_for_more() {
        // Chunks 1 ms apart: drawn in groups, one per DRAW_DELAY of arrivals.
        let n = 40;
        let (text, draws) = read(trickle(n, Duration::from_millis(1))).await;
        assert_eq!(text, expected(n));
        let per = DRAW_DELAY.as_millis() as usize;
        assert!(
            (n / (per + 1)..=n / per + 2).contains(&draws),
            "{draws} draws for {n} chunks 1 ms apart"
        );
    }
}
