//! What agentmux knows about a model: its context window, output budget, structured-output mode,
//! tool use, reasoning effort and prices, each with where the value came from.
//!
//! A profile is resolved once when a session starts (`llm::profile`) and journaled, so a resumed
//! session keeps the limits it started with even when the config or the endpoint changed since.

use serde::{Deserialize, Serialize};

/// Where a profile value came from, in the order resolution tries them.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// The config file, environment or flags (`llm.*`, `roles.<name>.*`).
    Config,
    /// What the endpoint reported (`GET /props`, `GET /v1/models`).
    Endpoint,
    /// agentmux's table of well-known models.
    BuiltIn,
    /// The conservative default for an unknown model.
    Default,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Config => "config",
            Source::Endpoint => "endpoint",
            Source::BuiltIn => "built-in",
            Source::Default => "default",
        }
    }
}

/// A value and where it came from.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Sourced<T> {
    pub value: T,
    pub source: Source,
}

impl<T> Sourced<T> {
    pub fn new(value: T, source: Source) -> Self {
        Self { value, source }
    }
}

/// How a model is asked for JSON.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum StructuredMode {
    /// `response_format: json_schema`.
    JsonSchema,
    /// `response_format: json_object`.
    JsonObject,
    /// None: the schema goes in the prompt and the JSON is extracted from the text.
    None,
}

impl StructuredMode {
    pub fn as_str(self) -> &'static str {
        match self {
            StructuredMode::JsonSchema => "json_schema",
            StructuredMode::JsonObject => "json_object",
            StructuredMode::None => "none",
        }
    }
}

/// Prices in US dollars per million tokens.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq)]
pub struct ProfilePrices {
    pub input_per_mtok: f64,
    /// None: the model has no cheaper price for cached input (or it is not known).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cached_input_per_mtok: Option<f64>,
    pub output_per_mtok: f64,
}

/// What agentmux knows about one model.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct ModelProfile {
    pub model: String,
    /// Context window in tokens (prompt and answer together).
    pub context_window: Sourced<u32>,
    /// The most tokens one answer may have (what `max_tokens` asks for).
    pub max_output_tokens: Sourced<u32>,
    pub structured_output: Sourced<StructuredMode>,
    /// The model calls tools (function calling).
    pub tools: Sourced<bool>,
    /// `low`, `medium` or `high` for reasoning models; None for the others.
    pub reasoning_effort: Sourced<Option<String>>,
    /// None: no price is known (local and unknown models).
    pub prices: Sourced<Option<ProfilePrices>>,
    /// The bundled local model (llama-server + SmolLM2).
    pub local: bool,
}

/// The profile of one role's model.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct RoleProfile {
    pub role: String,
    pub profile: ModelProfile,
}
