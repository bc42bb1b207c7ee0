//! Structured (JSON) output with one API for every server.
//!
//! Where the endpoint supports `response_format` json_schema (OpenAI, llama.cpp, vLLM, recent
//! Ollama) the schema is sent with the request and the server constrains the output. Elsewhere the
//! schema goes into the prompt and the JSON is extracted from whatever the model wrote (first
//! balanced object, also inside a ```json fence). With `llm.structured_output: auto` the first JSON
//! request to an endpoint is the probe: if the server rejects `response_format`, that answer is
//! remembered for the rest of the process and the request is re-sent in prompt mode.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use serde_json::Value;

use protocol::ChatMessage;

/// What is known about an endpoint's `response_format` support.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Support {
    Unknown,
    Supported,
    Unsupported,
}

fn cache() -> &'static Mutex<HashMap<String, bool>> {
    static CACHE: OnceLock<Mutex<HashMap<String, bool>>> = OnceLock::new();
    CACHE.get_or_init(|| Mutex::new(HashMap::new()))
}

/// The remembered answer for an endpoint (keyed by base URL).
pub fn support(base_url: &str) -> Support {
    let map = cache().lock().unwrap_or_else(|p| p.into_inner());
    match map.get(base_url) {
        Some(true) => Support::Supported,
        Some(false) => Support::Unsupported,
        None => Support::Unknown,
    }
}

/// Remembers whether an endpoint supports `response_format` json_schema.
pub(crate) fn remember(base_url: &str, supported: bool) {
    let mut map = cache().lock().unwrap_or_else(|p| p.into_inner());
    map.insert(base_url.to_string(), supported);
}

/// True when an HTTP error answering a request with `response_format` means "not supported"
/// rather than a transient failure. See [`is_schema_error`] for the case that must not be
/// remembered.
pub(crate) fn is_rejection(status: u16, message: &str) -> bool {
    match status {
        400 | 422 => {
            let m = message.to_ascii_lowercase();
            m.contains("response_format")
                || m.contains("json_schema")
                || m.contains("schema")
                || m.contains("grammar")
                || m.contains("unsupported")
                || m.contains("not supported")
        }
        // Not 404: that is usually an unknown model, which prompt mode would not fix.
        415 | 501 => true,
        _ => false,
    }
}

/// True when the server supports `response_format` but refused this particular schema (OpenAI:
/// "Invalid schema for response_format ..."): fall back for this request, remember nothing.
pub(crate) fn is_schema_error(message: &str) -> bool {
    message.to_ascii_lowercase().contains("invalid schema")
}

/// The messages for prompt mode: the caller's messages plus a system instruction with the schema.
pub(crate) fn prompt_mode_messages(
    messages: &[ChatMessage],
    name: &str,
    schema: &Value,
) -> Vec<ChatMessage> {
    let schema_text = serde_json::to_string_pretty(schema).unwrap_or_else(|_| schema.to_string());
    let instruction = format!(
        "Answer with exactly one JSON object (the `{name}`) that conforms to this JSON Schema. \
         Write nothing before or after it and do not wrap it in a code fence.\n\n{schema_text}"
    );
    let mut out = messages.to_vec();
    out.push(ChatMessage::system(instruction));
    out
}

/// Finds and parses the JSON in a model's text: the whole text, else a ```json fence, else the
/// first balanced `{...}` (or `[...]`) that parses.
pub fn extract_json(text: &str) -> Option<Value> {
    let trimmed = text.trim();
    if let Ok(v) = serde_json::from_str::<Value>(trimmed)
        && (v.is_object() || v.is_array())
    {
        return Some(v);
    }
    for fenced in fences(text) {
        if let Ok(v) = serde_json::from_str::<Value>(fenced.trim()) {
            return Some(v);
        }
    }
    let bytes = text.as_bytes();
    for (start, &b) in bytes.iter().enumerate() {
        if (b == b'{' || b == b'[')
            && let Some(end) = balanced_end(bytes, start)
            && let Ok(v) = serde_json::from_str::<Value>(&text[start..=end])
        {
            return Some(v);
        }
    }
    None
}

/// Bodies of ``` fences (any info string, `json` first in practice).
fn fences(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find("```") {
        let after = &rest[open + 3..];
        let Some(nl) = after.find('\n') else { break };
        let body = &after[nl + 1..];
        let Some(close) = body.find("```") else { break };
        out.push(&body[..close]);
        rest = &body[close + 3..];
    }
    out
}

/// The index of the bracket closing the one at `start`, skipping strings.
fn balanced_end(bytes: &[u8], start: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut in_str = false;
    let mut escaped = false;
    for (i, &b) in bytes.iter().enumerate().skip(start) {
        if in_str {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_str = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_str = true,
            b'{' | b'[' => depth += 1,
            b'}' | b']' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn plain_json() {
        assert_eq!(extract_json(" {\"a\": 1} "), Some(json!({"a": 1})));
    }

    #[test]
    fn fenced_json_with_prose() {
        let t = "Here it is:\n```json\n{\"items\": [1, 2]}\n```\nDone.";
        assert_eq!(extract_json(t), Some(json!({"items": [1, 2]})));
    }

    #[test]
    fn first_balanced_object_with_braces_in_strings() {
        let t = "Sure! {\"text\": \"a } brace\", \"n\": {\"x\": 1}} and {\"other\": 2}";
        assert_eq!(
            extract_json(t),
            Some(json!({"text": "a } brace", "n": {"x": 1}}))
        );
    }

    #[test]
    fn skips_unparseable_candidates() {
        let t = "set {not json} then {\"ok\": true}";
        assert_eq!(extract_json(t), Some(json!({"ok": true})));
    }

    #[test]
    fn none_when_nothing_parses() {
        assert_eq!(extract_json("no json here {oops"), None);
        assert_eq!(extract_json("42"), None);
    }

    #[test]
    fn rejection_detection() {
        assert!(is_rejection(400, "response_format is not supported"));
        assert!(is_rejection(400, "Unsupported parameter"));
        assert!(!is_rejection(400, "messages must not be empty"));
        assert!(!is_rejection(500, "response_format"));
        assert!(!is_rejection(429, ""));
        assert!(!is_rejection(404, "model not found"));
        assert!(is_schema_error(
            "Invalid schema for response_format 'x': ..."
        ));
    }

    #[test]
    fn cache_remembers_per_endpoint() {
        let url = "http://cache-test.invalid/v1";
        assert_eq!(support(url), Support::Unknown);
        remember(url, false);
        assert_eq!(support(url), Support::Unsupported);
        remember(url, true);
        assert_eq!(support(url), Support::Supported);
    }

    #[test]
    fn prompt_mode_adds_the_schema() {
        let msgs = prompt_mode_messages(
            &[ChatMessage::user("u")],
            "review",
            &json!({"type": "object"}),
        );
        assert_eq!(msgs.len(), 2);
        assert!(msgs[1].content.contains("\"type\": \"object\""));
    }
}
