//! Assembling the tool calls of a streamed answer from its deltas.
//!
//! OpenAI streams a call as pieces under one `index`: the first carries the call's `id` and
//! function name, the following ones fragments of the arguments' JSON text, and the pieces of
//! several calls may follow each other in any order. Compatible servers differ: some send each
//! call whole in one delta, some leave out `index` (a piece with a new `id` then starts a call,
//! one without continues the last), some give every call `index` 0 and tell them apart only by
//! their `id`, some send arguments as a JSON object rather than text. Text content may arrive
//! between the pieces; it is accumulated elsewhere and does not disturb the calls.

use protocol::ToolCall;

use crate::wire::{WireArguments, WireToolCall};

/// The calls of one answer, as their pieces arrive.
#[derive(Debug, Default)]
pub(crate) struct ToolCallAccumulator {
    calls: Vec<Partial>,
}

#[derive(Debug, Default)]
struct Partial {
    /// The `index` the server gave the call, when it gave one.
    index: Option<u32>,
    id: String,
    name: String,
    arguments: String,
}

impl ToolCallAccumulator {
    /// Adds the pieces of one delta (or the calls of a whole message).
    pub(crate) fn absorb(&mut self, pieces: &[WireToolCall<'_>]) {
        for piece in pieces {
            let id = piece.id.as_deref().filter(|s| !s.is_empty());
            let at = self.slot(piece.index, id);
            let call = &mut self.calls[at];
            if let Some(id) = id {
                call.id = id.to_string();
            }
            let Some(f) = &piece.function else { continue };
            if let Some(name) = f.name.as_deref().filter(|n| !n.is_empty()) {
                // Servers that repeat the name in every piece send it whole each time.
                if call.name != name {
                    call.name.push_str(name);
                }
            }
            match &f.arguments {
                Some(WireArguments::Text(t)) => call.arguments.push_str(t),
                Some(WireArguments::Value(v)) if !v.is_null() => {
                    call.arguments.push_str(&v.to_string());
                }
                _ => {}
            }
        }
    }

    /// The position of the call a piece belongs to, a new one when it starts a call.
    fn slot(&mut self, index: Option<u32>, id: Option<&str>) -> usize {
        let found = match index {
            // The latest call with this index: a server that reuses an index for every call
            // starts each with a new id (handled below).
            Some(i) => self.calls.iter().rposition(|c| c.index == Some(i)),
            None => self.calls.len().checked_sub(1),
        };
        match found {
            Some(at)
                if id.is_none_or(|id| self.calls[at].id.is_empty() || self.calls[at].id == id) =>
            {
                at
            }
            _ => {
                self.calls.push(Partial {
                    index,
                    ..Partial::default()
                });
                self.calls.len() - 1
            }
        }
    }

    /// The calls, in the order they started. A call the server gave no id gets `call_<n>` (the
    /// tool message answering it must name one); one without a name is dropped (there is
    /// nothing to run); empty arguments become `{}`.
    pub(crate) fn finish(self) -> Vec<ToolCall> {
        self.calls
            .into_iter()
            .enumerate()
            .filter(|(_, c)| !c.name.is_empty())
            .map(|(n, c)| ToolCall {
                id: if c.id.is_empty() {
                    format!("call_{n}")
                } else {
                    c.id
                },
                name: c.name,
                arguments: if c.arguments.trim().is_empty() {
                    "{}".into()
                } else {
                    c.arguments
                },
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::WireChunk;

    /// Feeds the `tool_calls` of each chunk (JSON text) and returns the calls.
    fn feed(chunks: &[&str]) -> Vec<ToolCall> {
        let mut acc = ToolCallAccumulator::default();
        for c in chunks {
            let chunk: WireChunk = serde_json::from_str(c).unwrap();
            acc.absorb(chunk.tool_calls());
        }
        acc.finish()
    }

    fn call(id: &str, name: &str, arguments: &str) -> ToolCall {
        ToolCall {
            id: id.into(),
            name: name.into(),
            arguments: arguments.into(),
        }
    }

    #[test]
    fn openai_pieces_with_arguments_split_across_chunks() {
        let got = feed(&[
            r#"{"choices":[{"delta":{"role":"assistant","content":null,"tool_calls":[{"index":0,"id":"call_a","type":"function","function":{"name":"read_file","arguments":""}}]}}]}"#,
            r#"{"choices":[{"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"pa"}}]}}]}"#,
            r#"{"choices":[{"delta":{"tool_calls":[{"index":0,"function":{"arguments":"th\": \"a.py\", "}}]}}]}"#,
            r#"{"choices":[{"delta":{"tool_calls":[{"index":0,"function":{"arguments":"\"start\": 1}"}}]}}]}"#,
            r#"{"choices":[{"delta":{},"finish_reason":"tool_calls"}]}"#,
        ]);
        assert_eq!(
            got,
            [call(
                "call_a",
                "read_file",
                r#"{"path": "a.py", "start": 1}"#
            )]
        );
    }

    #[test]
    fn several_calls_whose_pieces_alternate() {
        let got = feed(&[
            r#"{"choices":[{"delta":{"tool_calls":[{"index":0,"id":"c0","function":{"name":"read_file","arguments":"{\"path\":"}}]}}]}"#,
            r#"{"choices":[{"delta":{"tool_calls":[{"index":1,"id":"c1","function":{"name":"search","arguments":"{\"pattern\":"}}]}}]}"#,
            r#"{"choices":[{"delta":{"tool_calls":[{"index":0,"function":{"arguments":"\"a.py\"}"}},{"index":1,"function":{"arguments":"\"fn main\"}"}}]}}]}"#,
        ]);
        assert_eq!(
            got,
            [
                call("c0", "read_file", r#"{"path":"a.py"}"#),
                call("c1", "search", r#"{"pattern":"fn main"}"#),
            ]
        );
    }

    #[test]
    fn content_interleaved_with_the_pieces_leaves_the_calls_whole() {
        let chunks = [
            r#"{"choices":[{"delta":{"content":"Let me look. "}}]}"#,
            r#"{"choices":[{"delta":{"tool_calls":[{"index":0,"id":"c0","function":{"name":"list_files","arguments":"{\"glob\""}}]}}]}"#,
            r#"{"choices":[{"delta":{"content":"Checking the tests too."}}]}"#,
            r#"{"choices":[{"delta":{"content":"","tool_calls":[{"index":0,"function":{"arguments":":\"*.py\"}"}}]}}]}"#,
        ];
        let mut text = String::new();
        for c in chunks {
            let chunk: WireChunk = serde_json::from_str(c).unwrap();
            text.push_str(chunk.text().unwrap_or_default());
        }
        assert_eq!(text, "Let me look. Checking the tests too.");
        assert_eq!(
            feed(&chunks),
            [call("c0", "list_files", r#"{"glob":"*.py"}"#)]
        );
    }

    #[test]
    fn whole_calls_in_one_chunk_without_index_or_with_index_zero_each() {
        // No index at all: each piece with a new id is a new call.
        let got = feed(&[
            r#"{"choices":[{"delta":{"tool_calls":[{"id":"x","type":"function","function":{"name":"read_file","arguments":"{\"path\":\"a\"}"}},{"id":"y","function":{"name":"read_file","arguments":"{\"path\":\"b\"}"}}]}}]}"#,
        ]);
        assert_eq!(
            got,
            [
                call("x", "read_file", r#"{"path":"a"}"#),
                call("y", "read_file", r#"{"path":"b"}"#),
            ]
        );
        // Every call under index 0, told apart by its id; arguments as an object.
        let got = feed(&[
            r#"{"choices":[{"delta":{"tool_calls":[{"index":0,"id":"x","function":{"name":"search","arguments":{"pattern":"a"}}}]}}]}"#,
            r#"{"choices":[{"delta":{"tool_calls":[{"index":0,"id":"y","function":{"name":"search","arguments":{"pattern":"b"}}}]}}]}"#,
        ]);
        assert_eq!(
            got,
            [
                call("x", "search", r#"{"pattern":"a"}"#),
                call("y", "search", r#"{"pattern":"b"}"#),
            ]
        );
    }

    #[test]
    fn a_non_streamed_message_with_calls() {
        let got = feed(&[
            r#"{"choices":[{"message":{"role":"assistant","content":null,"tool_calls":[{"id":"m1","type":"function","function":{"name":"outline","arguments":"{\"path\":\"x.rs\"}"}}]},"finish_reason":"tool_calls"}]}"#,
        ]);
        assert_eq!(got, [call("m1", "outline", r#"{"path":"x.rs"}"#)]);
    }

    #[test]
    fn missing_ids_repeated_names_and_empty_arguments_are_mended() {
        let got = feed(&[
            r#"{"choices":[{"delta":{"tool_calls":[{"index":0,"function":{"name":"list_files"}}]}}]}"#,
            r#"{"choices":[{"delta":{"tool_calls":[{"index":0,"function":{"name":"list_files","arguments":""}}]}}]}"#,
            r#"{"choices":[{"delta":{"tool_calls":[{"index":1,"id":"","function":{"arguments":"{}"}}]}}]}"#,
        ]);
        // The nameless call is dropped; the first gets an id and `{}`.
        assert_eq!(got, [call("call_0", "list_files", "{}")]);
    }
}
