//! The tool loop against the fake OpenAI server over real HTTP, and its helpers.

use std::sync::Mutex;

use serde_json::{Value, json};
use test_support::fake_openai::{FakeOpenAi, FakeReply, FakeToolCall, RecordedRequest};

use super::*;
use crate::endpoint::Endpoint;
use crate::{ChatRequest, ToolSpec};
use protocol::config::{LlmConfig, RetriesConfig};
use protocol::{ChatMessage, ToolRecord, tool_rounds};

fn client(fake: &FakeOpenAi) -> LlmClient {
    let endpoint = Endpoint {
        base_url: fake.url(),
        model: "tool-model".into(),
        api_key: None,
        is_local: false,
    };
    let cfg = LlmConfig {
        retries: RetriesConfig {
            max_retries: 0,
            ..RetriesConfig::default()
        },
        ..LlmConfig::default()
    };
    LlmClient::new(endpoint, &cfg).unwrap()
}

fn definitions() -> Vec<Value> {
    ["read_file", "search"]
        .iter()
        .map(|name| {
            json!({"type": "function", "function": {
                "name": name,
                "description": format!("{name} in the repository"),
                "parameters": {"type": "object", "properties": {"path": {"type": "string"}}},
            }})
        })
        .collect()
}

/// A JSON request with the two tools and `max_rounds`.
fn request(max_rounds: u32) -> ChatRequest {
    ChatRequest {
        output: OutputSpec::Json {
            name: "answer".into(),
            schema: json!({"type": "object", "properties": {"files": {"type": "integer"}}}),
        },
        tools: Some(ToolSpec {
            definitions: definitions(),
            max_rounds,
        }),
        ..ChatRequest::text(vec![
            ChatMessage::system("You read code."),
            ChatMessage::user("How long is a.py?"),
        ])
    }
}

/// Answers `read_file` with `contents of <path>`, refuses `.env`, and counts its calls.
#[derive(Default)]
struct FakeTools {
    calls: Mutex<Vec<(String, String)>>,
}

impl FakeTools {
    fn calls(&self) -> Vec<(String, String)> {
        self.calls.lock().unwrap().clone()
    }
}

impl ToolExecutor for FakeTools {
    fn call(&self, name: &str, arguments: &str) -> ToolOutcome {
        self.calls
            .lock()
            .unwrap()
            .push((name.to_string(), arguments.to_string()));
        let args: Value = serde_json::from_str(arguments).unwrap_or(Value::Null);
        let path = args["path"].as_str().unwrap_or("?");
        if path == ".env" {
            return ToolOutcome {
                content: "error: `.env` looks like a secret; it is not readable".into(),
                is_error: true,
                summary: format!("{name} {path}"),
            };
        }
        ToolOutcome {
            content: format!("contents of {path}"),
            is_error: false,
            summary: format!("{name} {path}"),
        }
    }
}

fn read(path: &str) -> FakeToolCall {
    FakeToolCall::new("read_file", json!({"path": path}))
}

/// What the loop reported: the records, the call lines and the text.
#[derive(Default)]
struct Seen {
    records: Vec<ToolRecord>,
    lines: Vec<String>,
    text: String,
}

async fn run(
    client: &LlmClient,
    req: &ChatRequest,
    recorded: &[ToolRound],
    tools: Arc<FakeTools>,
) -> (Result<ChatResponse, LlmError>, Seen) {
    let mut seen = Seen::default();
    let mut on_event = |e: ToolEvent<'_>| match e {
        ToolEvent::Token(t) => seen.text.push_str(t),
        ToolEvent::Call {
            call,
            result,
            replayed,
        } => seen.lines.push(call_line(call, result, replayed)),
        ToolEvent::Record(r) => seen.records.push(r.clone()),
    };
    let r = client
        .chat_with_tools(
            req,
            recorded,
            tools,
            &mut on_event,
            &CancellationToken::new(),
        )
        .await;
    (r, seen)
}

/// The fake server's usage for these requests (prompt: a token per four characters).
fn prompt_tokens_of(requests: &[RecordedRequest]) -> u64 {
    requests
        .iter()
        .map(|r| (r.prompt().chars().count() as u64).div_ceil(4))
        .sum()
}

/// Two rounds of calls (two calls, then one), then the answer.
fn two_rounds_then_answer() -> FakeOpenAi {
    FakeOpenAi::start(|req| match req.tool_results().len() {
        0 => FakeReply::tool_calls(vec![read("a.py"), read("b.py").with_id("call_b")])
            .with_text("Let me look. "),
        2 => FakeReply::tool_calls(vec![read("c.py")]),
        _ => FakeReply::text(r#"{"files": 3}"#),
    })
}

#[tokio::test]
async fn two_rounds_then_the_answer_with_every_result_sent_back() {
    let fake = two_rounds_then_answer();
    let tools = Arc::new(FakeTools::default());
    let (r, seen) = run(&client(&fake), &request(8), &[], tools.clone()).await;
    let resp = r.unwrap();
    assert_eq!(resp.json, Some(json!({"files": 3})));
    assert_eq!(resp.text, r#"{"files": 3}"#);
    assert_eq!(resp.tool_rounds, 2);
    assert!(resp.tool_calls.is_empty());
    let reqs = fake.requests();
    assert_eq!(reqs.len(), 3);
    for r in &reqs {
        assert_eq!(r.tool_names(), ["read_file", "search"]);
        assert_eq!(r.body["tool_choice"], "auto");
        assert_eq!(r.response_format.as_ref().unwrap()["type"], "json_schema");
    }
    // The second request: the assistant's calls, then one tool message per call, in order.
    let m = &reqs[1].messages;
    assert_eq!(m.len(), 5);
    assert_eq!(m[2].role, "assistant");
    assert_eq!(m[2].content, "Let me look. ");
    let ids: Vec<_> = m[2].tool_calls.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids, ["call_0", "call_b"]);
    assert_eq!(m[2].tool_calls[0].arguments, r#"{"path":"a.py"}"#);
    assert_eq!(
        (m[3].role.as_str(), m[3].tool_call_id.as_deref()),
        ("tool", Some("call_0"))
    );
    assert_eq!(m[3].content, "contents of a.py");
    assert_eq!(m[4].tool_call_id.as_deref(), Some("call_b"));
    assert_eq!(m[4].content, "contents of b.py");
    assert_eq!(reqs[2].tool_results().len(), 3);
    assert_eq!(reqs[2].tool_results()[2].content, "contents of c.py");
    // Each call ran once, with the arguments the model streamed in fragments.
    let calls = tools.calls();
    assert_eq!(
        calls,
        [
            ("read_file".into(), r#"{"path":"a.py"}"#.into()),
            ("read_file".into(), r#"{"path":"b.py"}"#.into()),
            ("read_file".into(), r#"{"path":"c.py"}"#.into()),
        ]
    );
    assert_eq!(
        seen.lines,
        ["→ read_file a.py", "→ read_file b.py", "→ read_file c.py"]
    );
    assert_eq!(seen.text, r#"Let me look. {"files": 3}"#);
    // Records: the model's answer before the results it led to.
    let kinds: Vec<_> = seen
        .records
        .iter()
        .map(|r| match r {
            ToolRecord::Calls { round, calls, .. } => format!("calls {round} ×{}", calls.len()),
            ToolRecord::Result { round, result } => format!("result {round} {}", result.call_id),
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "calls 1 ×2",
            "result 1 call_0",
            "result 1 call_b",
            "calls 2 ×1",
            "result 2 call_0"
        ]
    );
    // Usage is that of the three requests together.
    assert_eq!(resp.usage.prompt_tokens, prompt_tokens_of(&reqs));
    let recorded_prompt: u64 = seen
        .records
        .iter()
        .filter_map(|r| match r {
            ToolRecord::Calls { usage, .. } => Some(usage.prompt_tokens),
            ToolRecord::Result { .. } => None,
        })
        .sum();
    assert_eq!(recorded_prompt, prompt_tokens_of(&reqs[..2]));
    assert!(resp.usage.completion_tokens > 3, "{:?}", resp.usage);
}

#[tokio::test]
async fn a_tool_error_goes_back_to_the_model_and_the_task_goes_on() {
    let fake = FakeOpenAi::start(|req| match req.tool_results().first() {
        None => FakeReply::tool_calls(vec![read(".env")]),
        Some(r) if r.content.contains("secret") => FakeReply::text(r#"{"files": 0}"#),
        Some(_) => FakeReply::text("the error was not passed on"),
    });
    let tools = Arc::new(FakeTools::default());
    let (r, seen) = run(&client(&fake), &request(8), &[], tools).await;
    let resp = r.unwrap();
    assert_eq!(resp.json, Some(json!({"files": 0})));
    let reqs = fake.requests();
    assert_eq!(
        reqs[1].tool_results()[0].content,
        "error: `.env` looks like a secret; it is not readable"
    );
    assert_eq!(
        seen.lines,
        ["→ read_file .env ✗ error: `.env` looks like a secret; it is not readable"]
    );
    assert!(matches!(
        &seen.records[1],
        ToolRecord::Result { result, .. } if result.is_error
    ));
}

#[tokio::test]
async fn the_round_limit_ends_with_one_request_without_tools() {
    // A model that would call tools forever; without tools offered it answers.
    let fake = FakeOpenAi::start(|req| {
        if req.tool_names().is_empty() {
            FakeReply::text(r#"{"files": 2}"#)
        } else {
            let n = req.tool_results().len();
            FakeReply::tool_calls(vec![read(&format!("f{n}.py"))])
        }
    });
    let tools = Arc::new(FakeTools::default());
    let (r, _) = run(&client(&fake), &request(2), &[], tools.clone()).await;
    let resp = r.unwrap();
    assert_eq!(resp.json, Some(json!({"files": 2})));
    assert_eq!(resp.tool_rounds, 2);
    assert_eq!(tools.calls().len(), 2);
    let reqs = fake.requests();
    assert_eq!(reqs.len(), 3);
    let last = &reqs[2];
    assert!(last.body.get("tools").is_none() && last.body.get("tool_choice").is_none());
    assert_eq!(last.tool_results().len(), 2);
    assert_eq!(last.last_user(), ANSWER_NOW);
    assert_eq!(last.messages.last().unwrap().role, "user");
    assert_eq!(resp.usage.prompt_tokens, prompt_tokens_of(&reqs));
}

#[tokio::test]
async fn resume_from_recorded_rounds_sends_no_answered_request_again() {
    // A first run, to have its records.
    let first = two_rounds_then_answer();
    let (r, seen) = run(
        &client(&first),
        &request(8),
        &[],
        Arc::new(FakeTools::default()),
    )
    .await;
    r.unwrap();
    let first_reqs = first.requests();

    // Stopped after round 1's results were recorded: round 2's request was not answered.
    let upto_round_1: Vec<_> = seen.records[..3].to_vec();
    let rounds = tool_rounds(&upto_round_1);
    assert_eq!(rounds.len(), 1);
    let again = two_rounds_then_answer();
    let tools = Arc::new(FakeTools::default());
    let (r, resumed) = run(&client(&again), &request(8), &rounds, tools.clone()).await;
    let resp = r.unwrap();
    assert_eq!(resp.json, Some(json!({"files": 3})));
    assert_eq!(resp.tool_rounds, 2);
    let reqs = again.requests();
    assert_eq!(reqs.len(), 2, "round 1's request is not sent again");
    assert_eq!(
        reqs[0].messages, first_reqs[1].messages,
        "the conversation continues from the recorded round"
    );
    assert_eq!(
        tools.calls(),
        [("read_file".into(), r#"{"path":"c.py"}"#.into())],
        "only round 2's call ran"
    );
    assert_eq!(
        resumed.lines,
        [
            "↺ read_file a.py (recorded)",
            "↺ read_file b.py (recorded)",
            "→ read_file c.py"
        ]
    );
    // Only the new steps are recorded again.
    assert_eq!(resumed.records, seen.records[3..]);
    // Usage: the recorded round's request and the two new ones.
    assert_eq!(
        resp.usage.prompt_tokens,
        prompt_tokens_of(&first_reqs[..1]) + prompt_tokens_of(&reqs)
    );

    // Stopped between the model's answer and the second result: the missing call runs again,
    // the model is not asked again.
    let rounds = tool_rounds(&seen.records[..2]);
    assert_eq!(rounds[0].results.len(), 1);
    let third = two_rounds_then_answer();
    let tools = Arc::new(FakeTools::default());
    let (r, _) = run(&client(&third), &request(8), &rounds, tools.clone()).await;
    r.unwrap();
    assert_eq!(third.request_count(), 2);
    assert_eq!(third.requests()[0].messages, first_reqs[1].messages);
    assert_eq!(tools.calls()[0].1, r#"{"path":"b.py"}"#);
}

#[tokio::test]
async fn tool_calls_sent_whole_in_one_chunk_or_not_streamed_work_the_same() {
    for whole in [true, false] {
        let fake = two_rounds_then_answer();
        if whole {
            fake.configure(|s| s.whole_tool_calls = true);
        } else {
            for _ in 0..3 {
                fake.push_fault(test_support::fake_openai::Fault::NotStreamed);
            }
        }
        let tools = Arc::new(FakeTools::default());
        let (r, _) = run(&client(&fake), &request(8), &[], tools.clone()).await;
        assert_eq!(r.unwrap().json, Some(json!({"files": 3})), "whole: {whole}");
        assert_eq!(tools.calls().len(), 3, "whole: {whole}");
        assert_eq!(
            fake.requests()[1].tool_results()[1].content,
            "contents of b.py"
        );
    }
}

#[tokio::test]
async fn an_endpoint_that_refuses_tools_is_asked_without_them() {
    let fake = FakeOpenAi::fixed(r#"{"files": 1}"#);
    fake.configure(|s| s.reject_tools = true);
    let tools = Arc::new(FakeTools::default());
    let (r, _) = run(&client(&fake), &request(8), &[], tools.clone()).await;
    let resp = r.unwrap();
    assert_eq!(resp.json, Some(json!({"files": 1})));
    assert_eq!(resp.tool_rounds, 0);
    let reqs = fake.requests();
    assert_eq!(reqs.len(), 2);
    assert!(reqs[1].body.get("tools").is_none());
    assert_eq!(
        reqs[1].last_user(),
        "How long is a.py?",
        "no answer-now message"
    );
}

#[tokio::test]
async fn without_tools_it_is_one_plain_request() {
    let fake = FakeOpenAi::fixed(r#"{"files": 5}"#);
    let mut req = request(8);
    req.tools = None;
    let tools = Arc::new(FakeTools::default());
    let (r, seen) = run(&client(&fake), &req, &[], tools.clone()).await;
    assert_eq!(r.unwrap().json, Some(json!({"files": 5})));
    assert_eq!(fake.request_count(), 1);
    assert!(fake.requests()[0].body.get("tools").is_none());
    assert!(seen.records.is_empty() && tools.calls().is_empty());
}

#[test]
fn refusals_of_tools_are_told_from_errors_in_the_conversation() {
    assert!(refuses_tools("tools param requires --jinja flag"));
    assert!(refuses_tools(
        "\"auto\" tool choice requires --enable-auto-tool-choice and --tool-call-parser to be set"
    ));
    assert!(refuses_tools("This model does not support tools."));
    assert!(!refuses_tools(
        "Invalid parameter: messages with role 'tool' must be a response to a preceeding message with 'tool_calls'."
    ));
    assert!(!refuses_tools("messages must not be empty"));
}

#[test]
fn call_lines_show_the_summary_errors_and_replays() {
    let call = ToolCall {
        id: "c".into(),
        name: "read_file".into(),
        arguments: r#"{"path":"a.py"}"#.into(),
    };
    let mut result = ToolResult {
        call_id: "c".into(),
        content: "1: import os".into(),
        is_error: false,
        summary: String::new(),
    };
    assert_eq!(
        call_line(&call, &result, false),
        r#"→ read_file {"path":"a.py"}"#
    );
    result.summary = "read a.py:1-80".into();
    assert_eq!(
        call_line(&call, &result, true),
        "↺ read a.py:1-80 (recorded)"
    );
    result.is_error = true;
    result.content = "no such file: a.py\ntry list_files".into();
    assert_eq!(
        call_line(&call, &result, false),
        "→ read a.py:1-80 ✗ no such file: a.py"
    );
}

#[test]
fn repeated_ids_in_a_round_are_made_unique() {
    let c = |id: &str| ToolCall {
        id: id.into(),
        name: "n".into(),
        arguments: "{}".into(),
    };
    let ids: Vec<_> = unique_ids(vec![c("x"), c("x"), c("y")], 3)
        .into_iter()
        .map(|c| c.id)
        .collect();
    assert_eq!(ids, ["x", "call_3_1", "y"]);
}
