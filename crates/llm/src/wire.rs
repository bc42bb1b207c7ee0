//! Tolerant types for what OpenAI-compatible servers send back.
//!
//! async-openai's typed responses are exact: an unknown `finish_reason` (llama.cpp and others send
//! their own), an error object inside the stream, or a chunk without `id` fails deserialisation
//! with a message like "missing field `id`". These types accept every field as optional, keep
//! `finish_reason` as a string, and recognise `{"error": ...}` wherever it appears, so each case
//! gets the right behaviour and a clear message.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::Value;

/// A streamed chunk, or a whole non-streamed completion (`message` instead of `delta`).
/// Strings borrow from the event's text unless they hold escapes: a streamed completion is
/// thousands of these, one per token.
#[derive(Deserialize, Debug, Default)]
pub(crate) struct WireChunk<'a> {
    #[serde(default, borrow)]
    pub model: Option<WireStr<'a>>,
    #[serde(default, borrow)]
    pub choices: Vec<WireChoice<'a>>,
    #[serde(default)]
    pub usage: Option<WireUsage>,
    /// llama-server's timings; older versions report the prompt-cache hit only here.
    #[serde(default)]
    pub timings: Option<WireTimings>,
    /// Some servers report failures inside the stream as `{"error": {...}}` or `{"error": "..."}`.
    #[serde(default)]
    pub error: Option<Value>,
}

#[derive(Deserialize, Debug, Default)]
pub(crate) struct WireChoice<'a> {
    #[serde(default, borrow)]
    pub delta: Option<WireMessage<'a>>,
    #[serde(default, borrow)]
    pub message: Option<WireMessage<'a>>,
    /// Legacy completions-style servers.
    #[serde(default, borrow)]
    pub text: Option<WireStr<'a>>,
    #[serde(default, borrow)]
    pub finish_reason: Option<WireStr<'a>>,
}

#[derive(Deserialize, Debug, Default)]
pub(crate) struct WireMessage<'a> {
    #[serde(default, borrow)]
    pub content: Option<WireStr<'a>>,
    /// Tool calls: pieces of them in a streamed delta (see [`crate::tool_calls`]), whole ones
    /// in a non-streamed message.
    #[serde(default, borrow)]
    pub tool_calls: Option<Vec<WireToolCall<'a>>>,
}

/// One entry of `tool_calls`. In a stream, OpenAI sends a call's `index`, `id` and name in its
/// first delta and then its arguments in fragments under the same `index`; other servers send
/// the whole call in one delta, or omit `index`.
#[derive(Deserialize, Debug, Default)]
pub(crate) struct WireToolCall<'a> {
    #[serde(default)]
    pub index: Option<u32>,
    #[serde(default, borrow)]
    pub id: Option<WireStr<'a>>,
    #[serde(default, borrow)]
    pub function: Option<WireFunction<'a>>,
}

#[derive(Deserialize, Debug, Default)]
pub(crate) struct WireFunction<'a> {
    #[serde(default, borrow)]
    pub name: Option<WireStr<'a>>,
    /// A string in OpenAI's shape; some servers send the arguments as a JSON object instead.
    #[serde(default)]
    pub arguments: Option<WireArguments<'a>>,
}

/// Tool-call arguments: a (fragment of a) JSON text, or an object sent as such.
#[derive(Deserialize, Debug)]
#[serde(untagged)]
pub(crate) enum WireArguments<'a> {
    Text(#[serde(borrow)] Cow<'a, str>),
    Value(Value),
}

/// A string of a chunk, borrowed from the event's text when it has no escapes. (serde borrows a
/// `Cow` field only when it is not inside an `Option`, hence the wrapper.)
#[derive(Deserialize, Debug)]
#[serde(transparent)]
pub(crate) struct WireStr<'a>(#[serde(borrow)] pub Cow<'a, str>);

impl std::ops::Deref for WireStr<'_> {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

#[derive(Deserialize, Debug, Default, Clone, Copy)]
pub(crate) struct WireUsage {
    #[serde(default)]
    pub prompt_tokens: Option<u64>,
    #[serde(default)]
    pub completion_tokens: Option<u64>,
    #[serde(default)]
    pub prompt_tokens_details: Option<WirePromptTokensDetails>,
}

#[derive(Deserialize, Debug, Default, Clone, Copy)]
pub(crate) struct WirePromptTokensDetails {
    /// Prompt tokens read from the server's prompt cache (OpenAI; llama-server since 2025).
    #[serde(default)]
    pub cached_tokens: Option<u64>,
}

#[derive(Deserialize, Debug, Default, Clone, Copy)]
pub(crate) struct WireTimings {
    /// Prompt tokens llama-server reused from its cache.
    #[serde(default)]
    pub cache_n: Option<u64>,
}

impl WireChunk<'_> {
    /// The text this chunk adds (first choice).
    pub(crate) fn text(&self) -> Option<&str> {
        let c = self.choices.first()?;
        c.delta
            .as_ref()
            .and_then(|d| d.content.as_deref())
            .or_else(|| c.message.as_ref().and_then(|m| m.content.as_deref()))
            .or(c.text.as_deref())
    }

    /// The tool-call entries of the first choice (a delta's pieces, or a message's calls).
    pub(crate) fn tool_calls(&self) -> &[WireToolCall<'_>] {
        let Some(c) = self.choices.first() else {
            return &[];
        };
        c.delta
            .as_ref()
            .and_then(|d| d.tool_calls.as_deref())
            .or_else(|| c.message.as_ref().and_then(|m| m.tool_calls.as_deref()))
            .unwrap_or(&[])
    }

    /// The finish reason of the first choice, as sent.
    pub(crate) fn finish_reason(&self) -> Option<&str> {
        self.choices.first()?.finish_reason.as_deref()
    }

    /// Prompt tokens served from the prompt cache: OpenAI's
    /// `usage.prompt_tokens_details.cached_tokens`, else llama-server's `timings.cache_n`.
    pub(crate) fn cached_tokens(&self) -> Option<u64> {
        self.usage
            .and_then(|u| u.prompt_tokens_details)
            .and_then(|d| d.cached_tokens)
            .or_else(|| self.timings.and_then(|t| t.cache_n))
    }

    /// The server's error message when the chunk is an error object.
    pub(crate) fn error_message(&self) -> Option<String> {
        self.error.as_ref().map(error_value_message)
    }
}

/// The human message of an error value: `{"message": ...}` (plus type/code), or the string itself.
pub(crate) fn error_value_message(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Object(o) => {
            let message = o
                .get("message")
                .and_then(Value::as_str)
                .map(str::to_string)
                .unwrap_or_else(|| v.to_string());
            let kind = o
                .get("type")
                .and_then(Value::as_str)
                .or_else(|| o.get("code").and_then(Value::as_str));
            match kind {
                Some(k) if !message.contains(k) => format!("{message} ({k})"),
                _ => message,
            }
        }
        other => other.to_string(),
    }
}

/// The message of an HTTP error body: OpenAI's `{"error": {"message"}}`, a plain `{"message"}`,
/// `{"detail"}` (FastAPI servers such as vLLM), or the text itself, shortened.
pub(crate) fn http_error_message(body: &str) -> String {
    if let Ok(v) = serde_json::from_str::<Value>(body) {
        if let Some(e) = v.get("error") {
            return error_value_message(e);
        }
        for key in ["message", "detail"] {
            if let Some(m) = v.get(key) {
                return error_value_message(m);
            }
        }
    }
    let body = body.trim();
    if body.is_empty() {
        return "(empty body)".into();
    }
    shorten(body, 300)
}

/// At most `max` characters, with an ellipsis when cut.
pub fn shorten(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_finish_reason_and_missing_ids_are_accepted() {
        let c: WireChunk = serde_json::from_str(
            r#"{"choices":[{"delta":{"content":"hi"},"finish_reason":"eos_token"}]}"#,
        )
        .unwrap();
        assert_eq!(c.text(), Some("hi"));
        assert_eq!(c.finish_reason(), Some("eos_token"));
    }

    #[test]
    fn text_borrows_unless_escaped() {
        let c: WireChunk =
            serde_json::from_str(r#"{"model":"m","choices":[{"delta":{"content":"plain"}}]}"#)
                .unwrap();
        assert!(matches!(
            c.choices[0].delta.as_ref().unwrap().content,
            Some(WireStr(Cow::Borrowed("plain")))
        ));
        let c: WireChunk =
            serde_json::from_str(r#"{"choices":[{"delta":{"content":"a\n\"b\" \u00e9"}}]}"#)
                .unwrap();
        assert_eq!(c.text(), Some("a\n\"b\" é"));
    }

    #[test]
    fn error_object_is_recognised() {
        let c: WireChunk = serde_json::from_str(
            r#"{"error":{"message":"model overloaded","type":"server_error"}}"#,
        )
        .unwrap();
        assert_eq!(
            c.error_message().unwrap(),
            "model overloaded (server_error)"
        );
        let c: WireChunk = serde_json::from_str(r#"{"error":"boom"}"#).unwrap();
        assert_eq!(c.error_message().unwrap(), "boom");
    }

    #[test]
    fn whole_completion_uses_message() {
        let c: WireChunk = serde_json::from_str(
            r#"{"model":"m","choices":[{"message":{"role":"assistant","content":"full"},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":1,"total_tokens":4}}"#,
        )
        .unwrap();
        assert_eq!(c.text(), Some("full"));
        assert_eq!(c.usage.unwrap().prompt_tokens, Some(3));
        assert_eq!(c.cached_tokens(), None);
    }

    #[test]
    fn cached_tokens_from_openai_details_or_llama_timings() {
        let c: WireChunk = serde_json::from_str(
            r#"{"choices":[],"usage":{"prompt_tokens":2006,"completion_tokens":300,"prompt_tokens_details":{"cached_tokens":1920,"audio_tokens":0}}}"#,
        )
        .unwrap();
        assert_eq!(c.cached_tokens(), Some(1920));
        let c: WireChunk = serde_json::from_str(
            r#"{"choices":[],"usage":{"prompt_tokens":50,"completion_tokens":5},"timings":{"cache_n":40,"prompt_n":10,"prompt_ms":1.5}}"#,
        )
        .unwrap();
        assert_eq!(c.cached_tokens(), Some(40));
        let c: WireChunk = serde_json::from_str(
            r#"{"choices":[],"usage":{"prompt_tokens":50,"prompt_tokens_details":{"cached_tokens":32}},"timings":{"cache_n":40}}"#,
        )
        .unwrap();
        assert_eq!(c.cached_tokens(), Some(32), "the OpenAI field wins");
        let c: WireChunk =
            serde_json::from_str(r#"{"usage":{"prompt_tokens":5,"prompt_tokens_details":null}}"#)
                .unwrap();
        assert_eq!(c.cached_tokens(), None);
    }

    #[test]
    fn http_error_bodies() {
        assert_eq!(
            http_error_message(r#"{"error":{"message":"bad key","type":"invalid_request_error"}}"#),
            "bad key (invalid_request_error)"
        );
        assert_eq!(http_error_message(r#"{"detail":"not found"}"#), "not found");
        assert_eq!(http_error_message("  "), "(empty body)");
        assert_eq!(http_error_message(&"x".repeat(400)).chars().count(), 301);
    }
}
