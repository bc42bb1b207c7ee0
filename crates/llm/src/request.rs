//! The request body, built with async-openai's typed request (`CreateChatCompletionRequest`), so
//! what we send is exactly OpenAI's shape, plus the parameter quirks some models have (learnt from
//! their 400 answers and remembered per endpoint and model).

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use async_openai::types::chat::{
    ChatCompletionMessageToolCall, ChatCompletionMessageToolCalls,
    ChatCompletionRequestAssistantMessage, ChatCompletionRequestAssistantMessageContent,
    ChatCompletionRequestMessage, ChatCompletionRequestSystemMessage,
    ChatCompletionRequestToolMessage, ChatCompletionRequestToolMessageContent,
    ChatCompletionRequestUserMessage, ChatCompletionStreamOptions, ChatCompletionToolChoiceOption,
    ChatCompletionTools, CreateChatCompletionRequest, FunctionCall, ResponseFormat,
    ResponseFormatJsonSchema, ToolChoiceOptions,
};

use protocol::{ChatMessage, MessageRole};

use crate::error::LlmError;

/// What goes into one request body.
#[derive(Clone, Debug)]
pub(crate) struct BodyParams<'a> {
    pub model: &'a str,
    pub messages: &'a [ChatMessage],
    pub temperature: f64,
    pub max_tokens: u32,
    pub stream: bool,
    /// `response_format: {type: json_schema, json_schema: {name, schema}}`.
    pub json_schema: Option<(&'a str, &'a serde_json::Value)>,
    pub quirks: Quirks,
    /// The managed local llama-server: ask it to keep the prompt's KV cache for the next request.
    pub local: bool,
    /// The tools offered (sent with `tool_choice: auto`); None or empty: no `tools` field.
    pub tools: Option<&'a [ChatCompletionTools]>,
}

/// The body sent: OpenAI's request, plus llama-server's `cache_prompt` for the local model (an
/// agent's consecutive requests share their long prefix, which llama-server then need not
/// evaluate again). Other servers never see the field.
#[derive(serde::Serialize, Debug)]
pub(crate) struct Body {
    #[serde(flatten)]
    pub request: CreateChatCompletionRequest,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub cache_prompt: bool,
    /// llama-server's `grammar`, sent to the managed local model instead of `response_format`:
    /// the schema's JSON with no whitespace between tokens (see `gbnf`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grammar: Option<String>,
}

/// Parameters a model refuses. OpenAI's reasoning models reject `max_tokens` (they want
/// `max_completion_tokens`, which older compatible servers do not know) and any non-default
/// `temperature`; the client learns this from the 400 answer and re-sends.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Quirks {
    pub max_completion_tokens: bool,
    pub no_temperature: bool,
}

impl Quirks {
    /// The quirks after a 400 answer with `message`; None when the message is about something
    /// else or teaches nothing new (so the loop cannot repeat).
    pub(crate) fn learn(self, message: &str) -> Option<Quirks> {
        let m = message.to_ascii_lowercase();
        let mut next = self;
        if m.contains("max_tokens") && m.contains("max_completion_tokens") {
            next.max_completion_tokens = true;
        }
        if m.contains("temperature")
            && (m.contains("unsupported")
                || m.contains("not support")
                || m.contains("only the default"))
        {
            next.no_temperature = true;
        }
        (next != self).then_some(next)
    }

    fn cache() -> &'static Mutex<HashMap<String, Quirks>> {
        static CACHE: OnceLock<Mutex<HashMap<String, Quirks>>> = OnceLock::new();
        CACHE.get_or_init(|| Mutex::new(HashMap::new()))
    }

    /// What is known for an endpoint and model.
    pub(crate) fn known(base_url: &str, model: &str) -> Quirks {
        let map = Self::cache().lock().unwrap_or_else(|p| p.into_inner());
        map.get(&format!("{base_url} {model}"))
            .copied()
            .unwrap_or_default()
    }

    /// Remembers the quirks of an endpoint and model for this process.
    pub(crate) fn remember(self, base_url: &str, model: &str) {
        let mut map = Self::cache().lock().unwrap_or_else(|p| p.into_inner());
        map.insert(format!("{base_url} {model}"), self);
    }
}

/// Builds the request body.
pub(crate) fn build(p: &BodyParams<'_>) -> Body {
    let grammar = p
        .json_schema
        .filter(|_| p.local)
        .and_then(|(_, schema)| super::gbnf::compact(schema));
    let request = if grammar.is_some() {
        openai_request(&BodyParams {
            json_schema: None,
            ..p.clone()
        })
    } else {
        openai_request(p)
    };
    Body {
        request,
        cache_prompt: p.local,
        grammar,
    }
}

/// The typed OpenAI request.
#[allow(deprecated)] // `max_tokens`: every compatible server knows it; `max_completion_tokens` is newer.
fn openai_request(p: &BodyParams<'_>) -> CreateChatCompletionRequest {
    let messages = p.messages.iter().map(message).collect();
    CreateChatCompletionRequest {
        messages,
        model: p.model.to_string(),
        temperature: (!p.quirks.no_temperature).then_some(p.temperature as f32),
        max_tokens: (!p.quirks.max_completion_tokens).then_some(p.max_tokens),
        max_completion_tokens: p.quirks.max_completion_tokens.then_some(p.max_tokens),
        stream: Some(p.stream),
        stream_options: p.stream.then_some(ChatCompletionStreamOptions {
            include_usage: Some(true),
            ..Default::default()
        }),
        tools: p.tools.filter(|t| !t.is_empty()).map(<[_]>::to_vec),
        tool_choice: p
            .tools
            .filter(|t| !t.is_empty())
            .map(|_| ChatCompletionToolChoiceOption::Mode(ToolChoiceOptions::Auto)),
        response_format: p
            .json_schema
            .map(|(name, schema)| ResponseFormat::JsonSchema {
                json_schema: ResponseFormatJsonSchema {
                    description: None,
                    name: schema_name(name),
                    schema: schema.clone(),
                    strict: None,
                },
            }),
        ..Default::default()
    }
}

fn message(m: &ChatMessage) -> ChatCompletionRequestMessage {
    let text = m.content.clone();
    match m.role {
        MessageRole::System => {
            ChatCompletionRequestMessage::System(ChatCompletionRequestSystemMessage::from(text))
        }
        MessageRole::User => {
            ChatCompletionRequestMessage::User(ChatCompletionRequestUserMessage::from(text))
        }
        MessageRole::Assistant if m.tool_calls.is_empty() => {
            ChatCompletionRequestMessage::Assistant(ChatCompletionRequestAssistantMessage::from(
                text,
            ))
        }
        MessageRole::Assistant => {
            let calls = m
                .tool_calls
                .iter()
                .map(|c| {
                    ChatCompletionMessageToolCalls::Function(ChatCompletionMessageToolCall {
                        id: c.id.clone(),
                        function: FunctionCall {
                            name: c.name.clone(),
                            arguments: c.arguments.clone(),
                        },
                    })
                })
                .collect();
            ChatCompletionRequestMessage::Assistant(ChatCompletionRequestAssistantMessage {
                // OpenAI wants no content (rather than an empty one) beside tool calls.
                content: (!text.is_empty())
                    .then_some(ChatCompletionRequestAssistantMessageContent::Text(text)),
                tool_calls: Some(calls),
                ..Default::default()
            })
        }
        MessageRole::Tool => ChatCompletionRequestMessage::Tool(ChatCompletionRequestToolMessage {
            content: ChatCompletionRequestToolMessageContent::Text(text),
            tool_call_id: m.tool_call_id.clone().unwrap_or_default(),
        }),
    }
}

/// The typed `tools` entries of OpenAI-shaped definitions (`{"type": "function", "function":
/// {"name", "description", "parameters"}}`); an error names the definition that is not one.
pub(crate) fn tool_definitions(
    url: &str,
    definitions: &[serde_json::Value],
) -> Result<Vec<ChatCompletionTools>, LlmError> {
    definitions
        .iter()
        .map(|d| {
            serde_json::from_value(d.clone()).map_err(|e| LlmError::Config {
                url: url.to_string(),
                message: format!(
                    "the tool definition {} is not an OpenAI `tools` entry: {e}",
                    crate::wire::shorten(&d.to_string(), 120)
                ),
            })
        })
        .collect()
}

/// OpenAI allows `[a-zA-Z0-9_-]{1,64}` as a schema name.
fn schema_name(name: &str) -> String {
    let s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .take(64)
        .collect();
    if s.is_empty() { "output".into() } else { s }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn body_has_stream_usage_and_schema() {
        let msgs = vec![ChatMessage::system("s"), ChatMessage::user("u")];
        let schema = json!({"type": "object"});
        let body = serde_json::to_value(build(&BodyParams {
            model: "m",
            messages: &msgs,
            temperature: 0.5,
            max_tokens: 10,
            stream: true,
            json_schema: Some(("review items", &schema)),
            quirks: Quirks::default(),
            local: false,
            tools: None,
        }))
        .unwrap();
        assert!(body.get("cache_prompt").is_none());
        assert_eq!(body["stream"], true);
        assert_eq!(body["stream_options"]["include_usage"], true);
        assert_eq!(body["max_tokens"], 10);
        assert_eq!(body["messages"][0]["role"], "system");
        assert_eq!(body["messages"][1]["content"], "u");
        assert_eq!(body["response_format"]["type"], "json_schema");
        assert_eq!(
            body["response_format"]["json_schema"]["name"],
            "review_items"
        );
        assert_eq!(body["response_format"]["json_schema"]["schema"], schema);
    }

    #[test]
    fn tools_and_a_tool_conversation_in_openai_shape() {
        let defs = [json!({
            "type": "function",
            "function": {
                "name": "read_file",
                "description": "Read lines of a file.",
                "parameters": {"type": "object", "properties": {"path": {"type": "string"}}},
            },
        })];
        let tools = tool_definitions("u", &defs).unwrap();
        let call = protocol::ToolCall {
            id: "call_1".into(),
            name: "read_file".into(),
            arguments: r#"{"path":"a.py"}"#.into(),
        };
        let msgs = vec![
            ChatMessage::user("u"),
            ChatMessage::assistant_tool_calls("", vec![call]),
            ChatMessage::tool("call_1", "1: import os"),
        ];
        let body = serde_json::to_value(build(&BodyParams {
            model: "m",
            messages: &msgs,
            temperature: 0.0,
            max_tokens: 5,
            stream: true,
            json_schema: None,
            quirks: Quirks::default(),
            local: false,
            tools: Some(&tools),
        }))
        .unwrap();
        assert_eq!(body["tools"], json!(defs));
        assert_eq!(body["tool_choice"], "auto");
        assert_eq!(
            body["messages"][1],
            json!({"role": "assistant", "tool_calls": [{
                "id": "call_1", "type": "function",
                "function": {"name": "read_file", "arguments": "{\"path\":\"a.py\"}"},
            }]})
        );
        assert_eq!(
            body["messages"][2],
            json!({"role": "tool", "content": "1: import os", "tool_call_id": "call_1"})
        );
        let e = tool_definitions("u", &[json!({"name": "no type"})]).unwrap_err();
        assert!(e.to_string().contains("not an OpenAI `tools` entry"), "{e}");
    }

    #[test]
    fn quirks_are_learnt_from_openai_messages() {
        let q = Quirks::default()
            .learn("Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead.")
            .unwrap();
        assert!(q.max_completion_tokens && !q.no_temperature);
        let q = q
            .learn("Unsupported value: 'temperature' does not support 0.2 with this model. Only the default (1) value is supported.")
            .unwrap();
        assert!(q.no_temperature);
        assert_eq!(
            q.learn("Unsupported parameter: 'max_tokens', use 'max_completion_tokens'"),
            None
        );
        assert_eq!(Quirks::default().learn("messages must not be empty"), None);
        let msgs = vec![ChatMessage::user("u")];
        let body = serde_json::to_value(build(&BodyParams {
            model: "m",
            messages: &msgs,
            temperature: 0.2,
            max_tokens: 9,
            stream: true,
            json_schema: None,
            quirks: q,
            local: false,
            tools: None,
        }))
        .unwrap();
        assert!(body.get("max_tokens").is_none());
        assert!(body.get("temperature").is_none());
        assert_eq!(body["max_completion_tokens"], 9);
    }

    #[test]
    fn non_streamed_body_has_no_stream_options() {
        let msgs = vec![ChatMessage::user("u")];
        let body = serde_json::to_value(build(&BodyParams {
            model: "m",
            messages: &msgs,
            temperature: 0.0,
            max_tokens: 1,
            stream: false,
            json_schema: None,
            quirks: Quirks::default(),
            local: false,
            tools: None,
        }))
        .unwrap();
        assert_eq!(body["stream"], false);
        assert!(body.get("stream_options").is_none());
        assert!(body.get("response_format").is_none());
    }

    #[test]
    fn local_body_keeps_the_prompt_cache_and_is_otherwise_the_same() {
        let msgs = vec![ChatMessage::system("s"), ChatMessage::user("u")];
        let params = BodyParams {
            model: "m",
            messages: &msgs,
            temperature: 0.2,
            max_tokens: 7,
            stream: true,
            json_schema: None,
            quirks: Quirks::default(),
            local: false,
            tools: None,
        };
        let remote = serde_json::to_value(build(&params)).unwrap();
        let mut local = serde_json::to_value(build(&BodyParams {
            local: true,
            ..params
        }))
        .unwrap();
        assert_eq!(local["cache_prompt"], true);
        local.as_object_mut().unwrap().remove("cache_prompt");
        assert_eq!(local, remote);
    }

    #[test]
    fn the_local_model_gets_a_compact_grammar_instead_of_the_schema() {
        let msgs = vec![ChatMessage::user("u")];
        let schema = json!({"type": "object", "additionalProperties": false,
            "required": ["a"], "properties": {"a": {"type": "string", "maxLength": 5}}});
        let params = BodyParams {
            model: "m",
            messages: &msgs,
            temperature: 0.2,
            max_tokens: 7,
            stream: true,
            json_schema: Some(("answer", &schema)),
            tools: None,
            quirks: Quirks::default(),
            local: true,
        };
        let local = serde_json::to_value(build(&params)).unwrap();
        assert!(local.get("response_format").is_none(), "{local}");
        let grammar = local["grammar"].as_str().unwrap();
        assert!(grammar.contains(r#""{" "\"a\":" "#), "{grammar}");
        // A remote endpoint gets the schema, and a schema the grammar cannot express goes to the
        // local model as the schema too.
        let remote = serde_json::to_value(build(&BodyParams {
            local: false,
            ..params.clone()
        }))
        .unwrap();
        assert!(remote.get("grammar").is_none());
        assert_eq!(remote["response_format"]["json_schema"]["schema"], schema);
        let open = json!({"type": "object"});
        let fallback = serde_json::to_value(build(&BodyParams {
            json_schema: Some(("answer", &open)),
            ..params
        }))
        .unwrap();
        assert!(fallback.get("grammar").is_none());
        assert_eq!(fallback["response_format"]["json_schema"]["schema"], open);
    }
}
