//! The LLM layer: one client for every OpenAI-compatible endpoint, and the local default model.
//! Depends on `protocol` (and `osutil` for the local runtime's record).
//!
//! Agents call [`LlmClient::chat`] with a [`ChatRequest`]; they get tokens live through a callback
//! and a [`ChatResponse`] with the text, the parsed JSON (for [`OutputSpec::Json`]), the usage and
//! the number of retries. Everything that makes real servers awkward (rate limits, broken streams,
//! hangs, servers that are not quite OpenAI) is handled here, so callers have one code path:
//!
//! - [`endpoint`]: which server and model a role talks to, and the API key (never printed).
//! - [`client`]: the request loop: timeouts, retries with backoff, cancellation, usage.
//! - [`wire`] and [`sse`]: tolerant parsing of what servers send back.
//! - [`structured`]: JSON output, by `response_format` json_schema or by prompt and extraction.
//! - [`tools`]: the tool loop ([`LlmClient::chat_with_tools`]): run the model's tool calls
//!   through a [`ToolExecutor`] until it answers, replaying the rounds a resumed task recorded.
//! - [`profile`]: each role's model profile (window, output budget, ...) and where it came from.
//! - [`local`]: the managed `llama-server` + SmolLM2 used when nothing is configured.

// A dependency no code uses is an error (dev-dependencies are checked by the test builds' use).
#![cfg_attr(not(test), deny(unused_crate_dependencies))]

pub(crate) mod backoff;
mod byot_guard;
pub(crate) mod client;
pub(crate) mod endpoint;
pub(crate) mod error;
pub(crate) mod gbnf;
pub mod local;
pub mod profile;
pub(crate) mod request;
pub(crate) mod sse;
pub mod structured;
pub(crate) mod tool_calls;
pub mod tools;
pub mod wire;

use std::collections::BTreeMap;

pub use client::LlmClient;
pub use endpoint::{ApiKey, Endpoint, resolve_endpoint, uses_local_model};
pub use error::LlmError;
pub use structured::extract_json;
pub use tools::{ToolEvent, ToolExecutor, ToolOutcome};

use protocol::config::Price;
use protocol::{ChatMessage, OutputSpec, ToolCall, Usage};

/// The text passed to the `on_token` callback of [`LlmClient::chat`] when an attempt failed and the
/// request is restarted. Everything streamed before it belongs to the abandoned attempt: a pane
/// should mark the restart and drop that partial text. Use [`is_retry_marker`] to recognise it; it
/// never occurs in model output (it contains NUL characters).
pub const RETRY_MARKER: &str = "\u{0}agentmux:retry\u{0}";

/// True when a token passed to `on_token` is [`RETRY_MARKER`].
pub fn is_retry_marker(token: &str) -> bool {
    token == RETRY_MARKER
}

/// One chat completion to run.
#[derive(Clone, Debug, PartialEq)]
pub struct ChatRequest {
    pub messages: Vec<ChatMessage>,
    pub output: OutputSpec,
    /// Overrides the endpoint's model for this request.
    pub model: Option<String>,
    /// None: `llm.temperature`.
    pub temperature: Option<f64>,
    /// None: `llm.max_tokens`.
    pub max_tokens: Option<u32>,
    /// Tools the model may call. None: no tools offered.
    pub tools: Option<ToolSpec>,
}

/// The tools offered with a request.
#[derive(Clone, Debug, PartialEq)]
pub struct ToolSpec {
    /// OpenAI `tools` entries: `{"type": "function", "function": {"name", "description",
    /// "parameters"}}`.
    pub definitions: Vec<serde_json::Value>,
    /// [`LlmClient::chat_with_tools`]: the most rounds of tool calls before the model is asked
    /// for its answer without tools.
    pub max_rounds: u32,
}

impl ChatRequest {
    /// A free-text request with the configured defaults.
    pub fn text(messages: Vec<ChatMessage>) -> Self {
        Self {
            messages,
            output: OutputSpec::Text,
            model: None,
            temperature: None,
            max_tokens: None,
            tools: None,
        }
    }
}

/// The outcome of one [`LlmClient::chat`] call.
#[derive(Clone, Debug, PartialEq)]
pub struct ChatResponse {
    /// Everything the model wrote (of the attempt that succeeded).
    pub text: String,
    /// For [`OutputSpec::Json`]: the JSON value found in the text, if any parsed. None means the
    /// text held no parseable JSON; the caller's validator reports that and asks for a repair.
    pub json: Option<serde_json::Value>,
    pub usage: Usage,
    /// The model that answered (as the server named it, else the requested one).
    pub model: String,
    /// As the server sent it, unknown values included (`stop`, `length`, `eos`, ...).
    pub finish_reason: Option<String>,
    /// Attempts that failed and were retried before this response (summed over the requests
    /// of a tool loop).
    pub retries: u32,
    /// [`LlmClient::chat`] with tools: the calls the model made instead of answering (empty when
    /// it answered). [`LlmClient::chat_with_tools`] runs them and returns the final answer, so
    /// this is empty there.
    pub tool_calls: Vec<ToolCall>,
    /// [`LlmClient::chat_with_tools`]: the tool rounds the answer took (recorded ones included).
    pub tool_rounds: u32,
}

/// The price of `model`: its own entry, else (servers often answer with a dated name,
/// `gpt-4o-mini-2024-07-18`) the longest configured name that prefixes it.
pub(crate) fn price_of<'a>(prices: &'a BTreeMap<String, Price>, model: &str) -> Option<&'a Price> {
    prices.get(model).or_else(|| {
        prices
            .iter()
            .filter(|(name, _)| model.starts_with(name.as_str()))
            .max_by_key(|(name, _)| name.len())
            .map(|(_, p)| p)
    })
}

/// The cost of a call in US dollars, from the per-million-token price table: uncached prompt
/// tokens at the input price, cached ones at the cached-input price (the input price when none is
/// set), completion tokens at the output price. None when the model has no price (local and
/// unknown models).
pub fn cost_usd(prices: &BTreeMap<String, Price>, model: &str, usage: &Usage) -> Option<f64> {
    let price = price_of(prices, model)?;
    let cached_price = price.cached_input_per_mtok.unwrap_or(price.input_per_mtok);
    let cached = usage.cached_prompt_tokens.min(usage.prompt_tokens);
    Some(
        (usage.uncached_prompt_tokens() as f64 * price.input_per_mtok
            + cached as f64 * cached_price
            + usage.completion_tokens as f64 * price.output_per_mtok)
            / 1_000_000.0,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usage(p: u64, c: u64) -> Usage {
        Usage {
            prompt_tokens: p,
            completion_tokens: c,
            ..Usage::default()
        }
    }

    #[test]
    fn cost_uses_input_and_output_prices() {
        let prices = protocol::config::LlmConfig::default().prices;
        let c = cost_usd(&prices, "gpt-4o-mini", &usage(1_000_000, 1_000_000));
        assert!((c.unwrap() - 0.75).abs() < 1e-9);
    }

    #[test]
    fn cost_matches_dated_model_names_by_longest_prefix() {
        let prices = protocol::config::LlmConfig::default().prices;
        let c = cost_usd(&prices, "gpt-4o-mini-2024-07-18", &usage(2_000_000, 0)).unwrap();
        assert!((c - 0.30).abs() < 1e-9, "{c}");
    }

    #[test]
    fn cached_prompt_tokens_cost_the_cached_input_price() {
        let prices = protocol::config::LlmConfig::default().prices;
        let u = Usage {
            cached_prompt_tokens: 600_000,
            ..usage(1_000_000, 100_000)
        };
        // 400k uncached × 0.15 + 600k cached × 0.075 + 100k × 0.60, per million.
        let c = cost_usd(&prices, "gpt-4o-mini", &u).unwrap();
        assert!((c - (0.06 + 0.045 + 0.06)).abs() < 1e-9, "{c}");
        // 400k × 2.50 + 600k × 1.25 + 100k × 10.00, per million.
        let c = cost_usd(&prices, "gpt-4o", &u).unwrap();
        assert!((c - (1.0 + 0.75 + 1.0)).abs() < 1e-9, "{c}");
    }

    #[test]
    fn cached_price_defaults_to_input_price_and_cached_is_capped() {
        let mut prices = BTreeMap::new();
        prices.insert(
            "m".to_string(),
            Price {
                input_per_mtok: 1.0,
                cached_input_per_mtok: None,
                output_per_mtok: 2.0,
            },
        );
        let u = Usage {
            cached_prompt_tokens: 500_000,
            ..usage(1_000_000, 0)
        };
        assert!((cost_usd(&prices, "m", &u).unwrap() - 1.0).abs() < 1e-9);
        // A server claiming more cached than prompt tokens is not billed for phantom tokens.
        prices.get_mut("m").unwrap().cached_input_per_mtok = Some(0.5);
        let u = Usage {
            cached_prompt_tokens: 3_000_000,
            ..usage(1_000_000, 0)
        };
        assert!((cost_usd(&prices, "m", &u).unwrap() - 0.5).abs() < 1e-9);
    }

    #[test]
    fn cost_is_none_for_unpriced_models() {
        let prices = protocol::config::LlmConfig::default().prices;
        assert_eq!(cost_usd(&prices, "smollm2-135m", &usage(10, 10)), None);
    }

    #[test]
    fn retry_marker_is_recognised_and_not_text() {
        assert!(is_retry_marker(RETRY_MARKER));
        assert!(!is_retry_marker("retry"));
        assert!(RETRY_MARKER.contains('\0'));
    }
}
