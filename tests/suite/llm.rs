//! The LLM client against the fake OpenAI server over real HTTP: streaming, every injected fault,
//! structured output, cancellation, and `agentmux doctor`.

use std::time::{Duration, Instant};

use llm::{ApiKey, ChatRequest, ChatResponse, Endpoint, LlmClient, LlmError, RETRY_MARKER};
use protocol::config::{LlmConfig, RetriesConfig, StructuredOutput, TimeoutsConfig};
use protocol::{ChatMessage, OutputSpec};
use serde_json::json;
use tokio_util::sync::CancellationToken;

use super::support::fake_openai::{FakeOpenAi, FakeReply, Fault, RandomFaults};

const KEY: &str = "sk-test-do-not-print-4242";

fn config(max_retries: u32) -> LlmConfig {
    LlmConfig {
        timeouts: TimeoutsConfig {
            connect_secs: 2,
            first_token_secs: 3,
            idle_secs: 2,
            total_secs: 60,
        },
        retries: RetriesConfig {
            max_retries,
            initial_backoff_ms: 5,
            max_backoff_ms: 20,
        },
        ..LlmConfig::default()
    }
}

fn client_for(url: &str, cfg: &LlmConfig) -> LlmClient {
    let endpoint = Endpoint {
        base_url: url.to_string(),
        model: "test-model".into(),
        api_key: Some(ApiKey::new(KEY)),
        is_local: false,
    };
    LlmClient::new(endpoint, cfg).unwrap()
}

fn ask(text: &str) -> ChatRequest {
    ChatRequest::text(vec![
        ChatMessage::system("You are terse."),
        ChatMessage::user(text),
    ])
}

fn json_request(text: &str) -> ChatRequest {
    ChatRequest {
        output: OutputSpec::Json {
            name: "answer".into(),
            schema: json!({"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]}),
        },
        ..ask(text)
    }
}

/// Runs one chat call; returns the result and every token the callback saw.
async fn chat(
    client: &LlmClient,
    req: &ChatRequest,
) -> (Result<ChatResponse, LlmError>, Vec<String>) {
    let mut tokens = Vec::new();
    let cancel = CancellationToken::new();
    let r = client
        .chat(req, &mut |t: &str| tokens.push(t.to_string()), &cancel)
        .await;
    (r, tokens)
}

#[tokio::test]
async fn streams_chunk_by_chunk_with_usage() {
    let fake = FakeOpenAi::fixed("one two three");
    // A pause before each chunk, as a model generating: each is drawn as it arrives (a burst
    // of chunks already received would be drawn at once).
    fake.configure(|s| s.chunk_delay = Duration::from_millis(20));
    let client = client_for(&fake.url(), &config(0));
    let (r, tokens) = chat(&client, &ask("hello")).await;
    let r = r.unwrap();
    assert_eq!(tokens, vec!["one ", "two ", "three"]);
    assert_eq!(r.text, "one two three");
    assert_eq!(r.finish_reason.as_deref(), Some("stop"));
    assert_eq!(r.retries, 0);
    assert_eq!(r.model, "test-model");
    assert!(!r.usage.estimated);
    assert_eq!(r.usage.completion_tokens, 3);
    assert_eq!(r.json, None);

    let reqs = fake.requests();
    assert_eq!(reqs.len(), 1);
    let req = &reqs[0];
    // The typed streaming request: `stream: true` must be sent (guards against async-openai's
    // `byot` feature, which drops it) and usage asked for.
    assert!(req.stream);
    assert!(req.wants_stream_usage());
    assert_eq!(req.model.as_deref(), Some("test-model"));
    assert_eq!(req.last_user(), "hello");
    assert_eq!(req.messages[0].role, "system");
    assert_eq!(
        req.authorization.as_deref(),
        Some(format!("Bearer {KEY}").as_str())
    );
    assert_eq!(req.response_format, None);
}

#[tokio::test]
async fn server_error_is_retried_then_succeeds() {
    let fake = FakeOpenAi::fixed("fine");
    fake.push_fault(Fault::server_error());
    let client = client_for(&fake.url(), &config(3));
    let (r, tokens) = chat(&client, &ask("x")).await;
    let r = r.unwrap();
    assert_eq!(r.text, "fine");
    assert_eq!(r.retries, 1);
    assert_eq!(tokens, vec![RETRY_MARKER, "fine"]);
    assert_eq!(fake.request_count(), 2);
}

#[tokio::test]
async fn rate_limit_honours_retry_after() {
    let fake = FakeOpenAi::fixed("after the wait");
    fake.push_fault(Fault::RateLimited {
        retry_after_secs: 1,
    });
    // Backoff alone would wait at most 20 ms; only Retry-After explains a wait of a second.
    let client = client_for(&fake.url(), &config(2));
    let started = Instant::now();
    let (r, _) = chat(&client, &ask("x")).await;
    let r = r.unwrap();
    assert_eq!(r.retries, 1);
    assert_eq!(r.text, "after the wait");
    assert!(
        started.elapsed() >= Duration::from_millis(950),
        "the retry did not wait for Retry-After: {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn dropped_stream_is_restarted_and_counted() {
    let fake = FakeOpenAi::fixed("alpha beta gamma");
    fake.push_fault(Fault::DropMidStream { after_chunks: 2 });
    let client = client_for(&fake.url(), &config(2));
    let (r, tokens) = chat(&client, &ask("x")).await;
    let r = r.unwrap();
    assert_eq!(r.text, "alpha beta gamma", "the retry's text only");
    assert_eq!(r.retries, 1);
    // Drawn as it arrived (text that comes together is drawn together): the dropped
    // attempt's text, the marker that voids it, the retry's.
    assert_eq!(
        tokens.concat(),
        ["alpha beta ", RETRY_MARKER, "alpha beta gamma"].concat()
    );
    let marker = tokens.iter().position(|t| t == RETRY_MARKER).unwrap();
    assert_eq!(tokens[..marker].concat(), "alpha beta ");
    assert_eq!(fake.request_count(), 2);
}

#[tokio::test]
async fn hang_before_first_token_times_out() {
    let fake = FakeOpenAi::fixed("never");
    fake.push_fault(Fault::Hang);
    let mut cfg = config(0);
    cfg.timeouts.first_token_secs = 1;
    let client = client_for(&fake.url(), &cfg);
    let (r, tokens) = chat(&client, &ask("x")).await;
    let e = r.unwrap_err();
    assert!(
        matches!(e.root(), LlmError::FirstTokenTimeout { secs: 1, .. }),
        "{e:?}"
    );
    assert!(e.to_string().contains(&fake.url()), "{e}");
    assert!(e.to_string().contains("first_token_secs"), "{e}");
    assert!(tokens.is_empty());
}

#[tokio::test]
async fn stall_mid_stream_hits_the_idle_timeout_then_retries() {
    let fake = FakeOpenAi::fixed("slow and then stuck");
    fake.push_fault(Fault::HangMidStream { after_chunks: 1 });
    let mut cfg = config(0);
    cfg.timeouts.idle_secs = 1;
    let client = client_for(&fake.url(), &cfg);
    let (r, tokens) = chat(&client, &ask("x")).await;
    let e = r.unwrap_err();
    assert!(
        matches!(e.root(), LlmError::IdleTimeout { secs: 1, .. }),
        "{e:?}"
    );
    assert_eq!(tokens, vec!["slow "]);

    // With retries allowed, the stall is survived.
    fake.push_fault(Fault::HangMidStream { after_chunks: 1 });
    cfg.retries.max_retries = 1;
    let client = client_for(&fake.url(), &cfg);
    let (r, _) = chat(&client, &ask("x")).await;
    let r = r.unwrap();
    assert_eq!((r.text.as_str(), r.retries), ("slow and then stuck", 1));
}

#[tokio::test]
async fn malformed_chunk_restarts_the_request() {
    let fake = FakeOpenAi::fixed("good text here");
    fake.push_fault(Fault::MalformedChunk { after_chunks: 1 });
    let client = client_for(&fake.url(), &config(2));
    let (r, _) = chat(&client, &ask("x")).await;
    let r = r.unwrap();
    assert_eq!(r.text, "good text here");
    assert_eq!(r.retries, 1);

    // Without retries: a clear error naming the server.
    fake.push_fault(Fault::MalformedChunk { after_chunks: 0 });
    let client = client_for(&fake.url(), &config(0));
    let (r, _) = chat(&client, &ask("x")).await;
    let e = r.unwrap_err();
    assert!(matches!(e.root(), LlmError::Malformed { .. }), "{e:?}");
    assert!(e.to_string().contains(&fake.url()), "{e}");
}

#[tokio::test]
async fn unknown_finish_reason_is_accepted() {
    let fake = FakeOpenAi::fixed("done");
    fake.push_fault(Fault::FinishReason("eos_token".into()));
    let client = client_for(&fake.url(), &config(0));
    let (r, _) = chat(&client, &ask("x")).await;
    let r = r.unwrap();
    assert_eq!(r.finish_reason.as_deref(), Some("eos_token"));
    assert_eq!(r.text, "done");
}

#[tokio::test]
async fn error_object_mid_stream_is_a_clear_error() {
    let fake = FakeOpenAi::fixed("partial answer that fails");
    fake.push_fault(Fault::ErrorMidStream {
        after_chunks: 1,
        message: "the model ran out of memory".into(),
    });
    let client = client_for(&fake.url(), &config(3));
    let (r, _) = chat(&client, &ask("x")).await;
    let e = r.unwrap_err();
    assert!(matches!(e, LlmError::Server { .. }), "{e:?}");
    let msg = e.to_string();
    assert!(msg.contains("the model ran out of memory"), "{msg}");
    assert!(msg.contains(&fake.url()), "{msg}");
    assert!(!msg.contains("missing field"), "{msg}");
    assert_eq!(
        fake.request_count(),
        1,
        "a server-reported error is not retried"
    );
}

#[tokio::test]
async fn missing_usage_is_estimated() {
    let fake = FakeOpenAi::fixed("twelve chars");
    fake.push_fault(Fault::NoUsage);
    let client = client_for(&fake.url(), &config(0));
    let (r, _) = chat(&client, &ask("x")).await;
    let r = r.unwrap();
    assert!(r.usage.estimated);
    assert_eq!(r.usage.completion_tokens, 3, "12 chars / 4");
    assert!(r.usage.prompt_tokens > 0);
}

#[tokio::test]
async fn cached_prompt_tokens_are_read_from_streamed_and_whole_replies() {
    let fake = FakeOpenAi::fixed("a cached answer");
    fake.configure(|s| s.cached_prompt_tokens = Some(3));
    let client = client_for(&fake.url(), &config(0));
    let (r, _) = chat(&client, &ask("a prompt long enough to have some tokens")).await;
    let r = r.unwrap();
    assert!(r.usage.prompt_tokens > 3, "{:?}", r.usage);
    assert_eq!(r.usage.cached_prompt_tokens, 3);
    assert!(!r.usage.estimated);
    fake.push_fault(Fault::NotStreamed);
    let (r, _) = chat(&client, &ask("a prompt long enough to have some tokens")).await;
    assert_eq!(
        r.unwrap().usage.cached_prompt_tokens,
        3,
        "non-streamed reply"
    );
    // A remote endpoint never gets llama-server's `cache_prompt`.
    assert!(
        fake.requests()
            .iter()
            .all(|r| r.body.get("cache_prompt").is_none())
    );
}

#[tokio::test]
async fn without_details_no_prompt_tokens_are_cached() {
    let fake = FakeOpenAi::fixed("plain");
    let client = client_for(&fake.url(), &config(0));
    let (r, _) = chat(&client, &ask("x")).await;
    assert_eq!(r.unwrap().usage.cached_prompt_tokens, 0);
}

#[tokio::test]
async fn the_local_model_is_asked_to_keep_its_prompt_cache() {
    let fake = FakeOpenAi::fixed("local");
    let endpoint = Endpoint {
        base_url: fake.url(),
        model: "smollm2-135m".into(),
        api_key: None,
        is_local: true,
    };
    let client = LlmClient::new(endpoint, &config(0)).unwrap();
    let (r, _) = chat(&client, &ask("x")).await;
    r.unwrap();
    let reqs = fake.requests();
    assert_eq!(reqs.len(), 1);
    assert_eq!(reqs[0].body["cache_prompt"], true);
}

#[tokio::test]
async fn cancellation_aborts_a_hanging_request() {
    let fake = FakeOpenAi::fixed("never");
    fake.push_fault(Fault::Hang);
    let mut cfg = config(5);
    cfg.timeouts.first_token_secs = 120;
    let client = client_for(&fake.url(), &cfg);
    let cancel = CancellationToken::new();
    let trigger = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(200)).await;
        trigger.cancel();
    });
    let req = ask("x");
    let mut ignore = |_: &str| {};
    let call = client.chat(&req, &mut ignore, &cancel);
    // The guard only keeps a broken client from hanging the suite; the first-token timeout (120 s)
    // cannot be what ends the call.
    let r = tokio::time::timeout(Duration::from_secs(30), call)
        .await
        .expect("chat did not return after cancel");
    assert!(matches!(r, Err(LlmError::Cancelled)), "{r:?}");
}

#[tokio::test]
async fn cancellation_interrupts_a_backoff_sleep() {
    let fake = FakeOpenAi::fixed("x");
    fake.push_fault(Fault::RateLimited {
        retry_after_secs: 300,
    });
    let client = client_for(&fake.url(), &config(5));
    let cancel = CancellationToken::new();
    let trigger = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        trigger.cancel();
    });
    let req = ask("x");
    let r = tokio::time::timeout(
        Duration::from_secs(30),
        client.chat(&req, &mut |_: &str| {}, &cancel),
    )
    .await
    .expect("chat did not return after cancel");
    assert!(matches!(r, Err(LlmError::Cancelled)), "{r:?}");
    assert_eq!(fake.request_count(), 1);
}

#[tokio::test]
async fn json_schema_is_sent_and_parsed() {
    let fake = FakeOpenAi::fixed(r#"{"a": 7}"#);
    let mut cfg = config(0);
    cfg.structured_output = StructuredOutput::JsonSchema;
    let client = client_for(&fake.url(), &cfg);
    let (r, _) = chat(&client, &json_request("give a")).await;
    let r = r.unwrap();
    assert_eq!(r.json, Some(json!({"a": 7})));
    let rf = fake.requests()[0].response_format.clone().unwrap();
    assert_eq!(rf["type"], "json_schema");
    assert_eq!(rf["json_schema"]["name"], "answer");
    assert_eq!(rf["json_schema"]["schema"]["required"], json!(["a"]));
}

#[tokio::test]
async fn rejected_response_format_falls_back_to_prompt_and_extraction() {
    let fake =
        FakeOpenAi::start(|_| FakeReply::text("Sure:\n```json\n{\"a\": 1}\n```\nanything else?"));
    fake.configure(|s| s.reject_response_format = true);
    let client = client_for(&fake.url(), &config(0));

    let (r, _) = chat(&client, &json_request("give a")).await;
    let r = r.unwrap();
    assert_eq!(r.json, Some(json!({"a": 1})));
    assert_eq!(r.retries, 0, "a fallback is not a retry");
    let reqs = fake.requests();
    assert_eq!(reqs.len(), 2);
    assert!(reqs[0].response_format.is_some());
    assert!(reqs[1].response_format.is_none());
    assert!(
        reqs[1].prompt_contains("JSON Schema"),
        "{:?}",
        reqs[1].messages
    );
    assert!(reqs[1].prompt_contains("\"required\""));

    // The answer is remembered for this endpoint: no second probe.
    let (r, _) = chat(&client, &json_request("again")).await;
    assert_eq!(r.unwrap().json, Some(json!({"a": 1})));
    let reqs = fake.requests();
    assert_eq!(reqs.len(), 3);
    assert!(reqs[2].response_format.is_none());
}

#[tokio::test]
async fn unparseable_json_returns_text_without_error() {
    let fake = FakeOpenAi::fixed("I cannot produce JSON today.");
    let client = client_for(&fake.url(), &config(0));
    let (r, _) = chat(&client, &json_request("give a")).await;
    let r = r.unwrap();
    assert_eq!(r.json, None);
    assert_eq!(r.text, "I cannot produce JSON today.");
}

#[tokio::test]
async fn server_that_does_not_stream_is_accepted() {
    let fake = FakeOpenAi::fixed("all at once");
    fake.push_fault(Fault::NotStreamed);
    let client = client_for(&fake.url(), &config(0));
    let (r, tokens) = chat(&client, &ask("x")).await;
    let r = r.unwrap();
    assert_eq!(r.text, "all at once");
    assert_eq!(tokens, vec!["all at once"]);
    assert!(!r.usage.estimated);
}

#[tokio::test]
async fn reasoning_model_parameters_are_learnt_once() {
    let fake = FakeOpenAi::fixed("thought about it");
    fake.configure(|s| s.reasoning_model_params = true);
    let client = client_for(&fake.url(), &config(0));
    let (r, _) = chat(&client, &ask("x")).await;
    let r = r.unwrap();
    assert_eq!((r.text.as_str(), r.retries), ("thought about it", 0));
    let reqs = fake.requests();
    assert_eq!(reqs.len(), 3, "max_tokens, then temperature, then accepted");
    assert_eq!(reqs[2].body["max_completion_tokens"], 4096);
    assert!(reqs[2].body.get("temperature").is_none());
    // Remembered for this endpoint and model.
    let (r, _) = chat(&client, &ask("y")).await;
    r.unwrap();
    assert_eq!(fake.request_count(), 4);
}

#[tokio::test]
async fn client_errors_are_not_retried_and_never_show_the_key() {
    let fake = FakeOpenAi::fixed("x");
    fake.push_fault(Fault::Status {
        code: 401,
        message: "invalid api key".into(),
    });
    let client = client_for(&fake.url(), &config(3));
    let (r, _) = chat(&client, &ask("x")).await;
    let e = r.unwrap_err();
    assert!(matches!(e, LlmError::Http { status: 401, .. }), "{e:?}");
    assert_eq!(fake.request_count(), 1);
    let shown = format!("{e} {e:?} {client:?}");
    assert!(shown.contains("invalid api key"), "{shown}");
    assert!(shown.contains("llm.api_key_env"), "{shown}");
    assert!(!shown.contains(KEY), "the key leaked: {shown}");
}

#[tokio::test]
async fn retries_are_bounded() {
    let fake = FakeOpenAi::fixed("x");
    for _ in 0..3 {
        fake.push_fault(Fault::server_error());
    }
    let client = client_for(&fake.url(), &config(2));
    let (r, tokens) = chat(&client, &ask("x")).await;
    let e = r.unwrap_err();
    assert!(
        matches!(
            e,
            LlmError::RetriesExhausted {
                attempts: 3,
                max_retries: 2,
                ..
            }
        ),
        "{e:?}"
    );
    assert!(e.to_string().contains("HTTP 500"), "{e}");
    assert_eq!(tokens, vec![RETRY_MARKER, RETRY_MARKER]);
    assert_eq!(fake.request_count(), 3);
}

#[tokio::test]
async fn dead_endpoint_is_a_connect_error_naming_the_address() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let url = format!("http://127.0.0.1:{port}/v1");
    let client = client_for(&url, &config(1));
    let (r, _) = chat(&client, &ask("x")).await;
    let e = r.unwrap_err();
    assert!(matches!(e.root(), LlmError::Connect { .. }), "{e:?}");
    assert!(e.to_string().contains(&url), "{e}");
}

#[tokio::test]
async fn survives_random_faults() {
    let fake = FakeOpenAi::start(|r| FakeReply::text(format!("answer to {}", r.last_user())));
    fake.set_random_faults(Some(RandomFaults {
        pct_5xx: 15,
        pct_429: 10,
        pct_drop: 10,
        retry_after_secs: 0,
        seed: 7,
    }));
    let client = client_for(&fake.url(), &config(8));
    let mut retries = 0;
    for i in 0..20 {
        let (r, _) = chat(&client, &ask(&format!("q{i}"))).await;
        let r = r.unwrap();
        assert_eq!(r.text, format!("answer to q{i}"));
        retries += r.retries as usize;
    }
    assert_eq!(retries, fake.injected_faults().len());
    assert!(retries > 0, "the seed injected no fault");
}

#[test]
fn fake_server_works_from_a_plain_test() {
    let fake = FakeOpenAi::fixed("sync");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let client = client_for(&fake.url(), &config(0));
    let (r, _) = rt.block_on(chat(&client, &ask("x")));
    assert_eq!(r.unwrap().text, "sync");
}

mod doctor {
    use super::super::support::fake_openai::{FakeOpenAi, FakeReply};
    use super::super::support::{AgentmuxCmd as _, Project};
    use predicates::prelude::*;

    fn fake() -> FakeOpenAi {
        FakeOpenAi::start(|r| {
            if r.prompt_contains("ready") {
                FakeReply::text(r#"{"ready": true}"#)
            } else {
                FakeReply::text("one two three four")
            }
        })
    }

    #[test]
    fn passes_against_a_working_endpoint_without_showing_the_key() {
        let fake = fake();
        let project = Project::new();
        project
            .cmd()
            .env("OPENAI_API_KEY", super::KEY)
            .args(["doctor", "--set"])
            .arg(format!("llm.base_url={}", fake.url()))
            .args(["--set", "llm.model=fake-model"])
            .assert()
            .success()
            .stdout(predicate::str::contains(format!("{} answers", fake.url())))
            .stdout(predicate::str::contains("fake-model is served"))
            .stdout(predicate::str::contains(
                "valid JSON with response_format json_schema",
            ))
            .stdout(predicate::str::contains("all checks passed"))
            .stdout(predicate::str::contains(super::KEY).not())
            .stderr(predicate::str::contains(super::KEY).not());
        let reqs = fake.requests();
        assert!(reqs.iter().all(|r| r.stream), "every check streams");
        assert!(reqs.iter().any(|r| r.response_format.is_some()));
    }

    #[test]
    fn fails_naming_the_address_of_a_dead_endpoint() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let url = format!("http://127.0.0.1:{port}/v1");
        Project::new()
            .cmd()
            .args(["doctor", "--set"])
            .arg(format!("llm.base_url={url}"))
            .assert()
            .code(1)
            .stdout(predicate::str::contains(format!(
                "FAIL  endpoint           {url} is unreachable"
            )))
            .stdout(predicate::str::contains("fix:"))
            .stdout(predicate::str::contains("skip  completion"));
    }

    #[test]
    fn fails_when_the_model_is_not_served() {
        let fake = fake();
        Project::new()
            .cmd()
            .args(["doctor", "--set"])
            .arg(format!("llm.base_url={}", fake.url()))
            .args(["--set", "llm.model=no-such-model"])
            .assert()
            .code(1)
            .stdout(predicate::str::contains(
                "no-such-model is not among the server's models (fake-model)",
            ));
    }

    #[test]
    fn falls_back_to_prompt_json_on_a_server_without_response_format() {
        let fake = fake();
        fake.configure(|s| s.reject_response_format = true);
        Project::new()
            .cmd()
            .args(["doctor", "--set"])
            .arg(format!("llm.base_url={}", fake.url()))
            .args(["--set", "llm.model=fake-model"])
            .assert()
            .success()
            .stdout(predicate::str::contains("valid JSON from the prompt"));
    }
}
