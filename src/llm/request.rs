//! The request body, built with async-openai's typed request (`CreateChatCompletionRequest`), so
//! what we send is exactly OpenAI's shape.

use async_openai::types::chat::{
    ChatCompletionRequestAssistantMessage, ChatCompletionRequestMessage,
    ChatCompletionRequestSystemMessage, ChatCompletionRequestUserMessage,
    ChatCompletionStreamOptions, CreateChatCompletionRequest, ResponseFormat,
    ResponseFormatJsonSchema,
};

use crate::protocol::{ChatMessage, MessageRole};

/// What goes into one request body.
#[derive(Clone, Debug)]
pub struct BodyParams<'a> {
    pub model: &'a str,
    pub messages: &'a [ChatMessage],
    pub temperature: f64,
    pub max_tokens: u32,
    pub stream: bool,
    /// `response_format: {type: json_schema, json_schema: {name, schema}}`.
    pub json_schema: Option<(&'a str, &'a serde_json::Value)>,
}

/// Builds the typed request.
#[allow(deprecated)] // `max_tokens`: every compatible server knows it; `max_completion_tokens` is newer.
pub fn build(p: &BodyParams<'_>) -> CreateChatCompletionRequest {
    let messages = p.messages.iter().map(message).collect();
    CreateChatCompletionRequest {
        messages,
        model: p.model.to_string(),
        temperature: Some(p.temperature as f32),
        max_tokens: Some(p.max_tokens),
        stream: Some(p.stream),
        stream_options: p.stream.then_some(ChatCompletionStreamOptions {
            include_usage: Some(true),
            ..Default::default()
        }),
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
        MessageRole::Assistant => ChatCompletionRequestMessage::Assistant(
            ChatCompletionRequestAssistantMessage::from(text),
        ),
    }
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
        }))
        .unwrap();
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
    fn non_streamed_body_has_no_stream_options() {
        let msgs = vec![ChatMessage::user("u")];
        let body = serde_json::to_value(build(&BodyParams {
            model: "m",
            messages: &msgs,
            temperature: 0.0,
            max_tokens: 1,
            stream: false,
            json_schema: None,
        }))
        .unwrap();
        assert_eq!(body["stream"], false);
        assert!(body.get("stream_options").is_none());
        assert!(body.get("response_format").is_none());
    }
}
