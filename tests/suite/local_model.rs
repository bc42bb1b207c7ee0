//! End to end against the real local default: llama-server + SmolLM2-135M, installed by
//! `scripts/install-local-llm.sh`. Skipped (with a message) when the runtime is not installed,
//! unless `AGENTMUX_REQUIRE_LOCAL_MODEL=1` (set by CI), which turns a missing runtime into a failure.

use llm::local::{ChildServer, LocalRuntime, LocalServer, read_record};
use llm::{ChatRequest, Endpoint, LlmClient};
use protocol::config::{LlmConfig, LocalLlmConfig};
use protocol::{ChatMessage, OutputSpec};
use serde_json::json;
use tokio_util::sync::CancellationToken;

/// The runtime with a private run directory, or None (test skipped) when it is not installed.
fn runtime(run_dir: &std::path::Path) -> Option<LocalRuntime> {
    let cfg = LocalLlmConfig {
        // Small and quick to start; two slots as in the default.
        ctx_size: 2048,
        parallel: 2,
        startup_timeout_secs: 120,
        ..LocalLlmConfig::default()
    };
    match LocalRuntime::locate(&cfg) {
        Ok(mut rt) => {
            rt.run_dir = run_dir.to_path_buf();
            Some(rt)
        }
        Err(e) => {
            if std::env::var("AGENTMUX_REQUIRE_LOCAL_MODEL").as_deref() == Ok("1") {
                panic!(
                    "AGENTMUX_REQUIRE_LOCAL_MODEL=1 but the local model runtime is missing: {e}"
                );
            }
            eprintln!(
                "SKIPPED local_model test: the local model runtime is not installed ({e}); \
                 run scripts/install-local-llm.sh, or set AGENTMUX_REQUIRE_LOCAL_MODEL=1 to make this a failure"
            );
            None
        }
    }
}

fn client(base_url: &str) -> LlmClient {
    let mut llm = LlmConfig {
        max_tokens: 48,
        temperature: 0.0,
        ..LlmConfig::default()
    };
    llm.timeouts.first_token_secs = 120;
    let endpoint = Endpoint {
        base_url: base_url.to_string(),
        model: "smollm2-135m".into(),
        api_key: None,
        is_local: true,
    };
    LlmClient::new(endpoint, &llm).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_model_streams_and_follows_a_json_schema() {
    let run = tempfile::tempdir().unwrap();
    let Some(rt) = runtime(run.path()) else {
        return;
    };
    let log = run.path().join("llama-server.log");
    let server = ChildServer::start(&rt, Some(&log))
        .await
        .unwrap_or_else(|e| {
            panic!(
                "{e}\n--- server log ---\n{}",
                std::fs::read_to_string(&log).unwrap_or_default()
            )
        });
    let url = server.base_url().to_string();
    let client = client(&url);
    let cancel = CancellationToken::new();

    // Streaming: several deltas arrive, and together they are the text.
    let mut tokens = Vec::new();
    let req = ChatRequest::text(vec![
        ChatMessage::system("You are a helpful assistant."),
        ChatMessage::user("Name three colours."),
    ]);
    let r = client
        .chat(&req, &mut |t: &str| tokens.push(t.to_string()), &cancel)
        .await
        .unwrap();
    assert!(!r.text.trim().is_empty());
    assert!(tokens.len() > 1, "not streamed: {tokens:?}");
    assert_eq!(tokens.concat(), r.text);
    assert!(!r.usage.estimated, "llama-server reports usage");
    assert!(r.usage.completion_tokens > 0);

    // Structured output: json_schema, grammar-constrained by llama-server.
    let schema = json!({
        "type": "object",
        "properties": {
            "colour": {"type": "string", "enum": ["red", "green", "blue"]},
            "bright": {"type": "boolean"}
        },
        "required": ["colour", "bright"],
        "additionalProperties": false
    });
    let req = ChatRequest {
        output: OutputSpec::Json {
            name: "pick".into(),
            schema,
        },
        max_tokens: Some(64),
        ..ChatRequest::text(vec![ChatMessage::user(
            "Pick a colour and say whether it is bright.",
        )])
    };
    let r = client.chat(&req, &mut |_: &str| {}, &cancel).await.unwrap();
    let v = r.json.unwrap_or_else(|| panic!("no JSON in {:?}", r.text));
    assert!(
        ["red", "green", "blue"].contains(&v["colour"].as_str().unwrap()),
        "{v}"
    );
    assert!(v["bright"].is_boolean(), "{v}");
    assert_eq!(
        llm::structured::support(&url),
        llm::structured::Support::Supported
    );

    // A second runtime user finds the healthy server through the record instead of starting one.
    assert_eq!(read_record(run.path()).unwrap().pid, server.pid());
    let again = rt.ensure_running(None).await.unwrap();
    assert!(matches!(&again, LocalServer::Reused { base_url } if *base_url == url));

    drop(server);
    assert!(
        read_record(run.path()).is_none(),
        "the record outlived the server"
    );
    assert!(
        !llm::local::is_healthy(&url).await,
        "the server outlived its ChildServer"
    );
}
