//! Client overhead per call against the fake OpenAI server with zero latency, and memory.
//!
//! Not a test: run `scripts/bench-llm.sh` (or `cargo bench --bench llm_client`). Prints calls/s and
//! µs per call for `LlmClient::chat` (sequential and 8 in flight), the same for a bare reqwest
//! request reading the same SSE body (the floor: HTTP + the fake server), and the process RSS
//! before and after, which shows whether memory grows with the number of calls.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/suite/support/fake_openai.rs"]
mod fake_openai;

use std::time::{Duration, Instant};

use agentmux::config::LlmConfig;
use agentmux::llm::{ChatRequest, Endpoint, LlmClient};
use agentmux::protocol::ChatMessage;
use futures::StreamExt;
use tokio_util::sync::CancellationToken;

use fake_openai::FakeOpenAi;

const REPLY: &str = "The quick brown fox jumps over the lazy dog and keeps on running far away.";

fn rss_kib() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

fn report(label: &str, calls: usize, elapsed: Duration) {
    let per = elapsed.as_secs_f64() * 1e6 / calls as f64;
    println!(
        "{label:<44} {calls:>6} calls  {:>9.0} calls/s  {per:>8.1} µs/call",
        calls as f64 / elapsed.as_secs_f64()
    );
}

fn main() {
    let calls: usize = std::env::var("BENCH_CALLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000);
    let fake = FakeOpenAi::fixed(REPLY);
    let url = fake.url();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let client = LlmClient::new(
        Endpoint {
            base_url: url.clone(),
            model: "bench".into(),
            api_key: None,
            is_local: false,
        },
        &LlmConfig::default(),
    )
    .unwrap();
    let req = ChatRequest::text(vec![
        ChatMessage::system("You are a benchmark."),
        ChatMessage::user("Say something."),
    ]);
    let chunks = REPLY.split_inclusive(' ').count();
    println!(
        "reply: {} chars in {chunks} SSE chunks (+ role, finish, usage, [DONE])",
        REPLY.len()
    );

    // Warm-up: connection pool, allocator.
    rt.block_on(async {
        for _ in 0..50 {
            client
                .chat(&req, &mut |_: &str| {}, &CancellationToken::new())
                .await
                .unwrap();
        }
    });
    let (rss0, _) = rss_kib();

    // LlmClient, sequential.
    let elapsed = rt.block_on(async {
        let cancel = CancellationToken::new();
        let start = Instant::now();
        for _ in 0..calls {
            let mut n = 0usize;
            let r = client
                .chat(&req, &mut |_: &str| n += 1, &cancel)
                .await
                .unwrap();
            assert_eq!(r.text.len(), REPLY.len());
            assert_eq!(n, chunks);
        }
        start.elapsed()
    });
    report("LlmClient::chat, sequential", calls, elapsed);

    // LlmClient, 8 in flight.
    let elapsed = rt.block_on(async {
        let start = Instant::now();
        let mut tasks = Vec::new();
        for _ in 0..8 {
            let client = client.clone();
            let req = req.clone();
            tasks.push(tokio::spawn(async move {
                let cancel = CancellationToken::new();
                for _ in 0..calls / 8 {
                    client.chat(&req, &mut |_: &str| {}, &cancel).await.unwrap();
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        start.elapsed()
    });
    report("LlmClient::chat, 8 in flight", calls / 8 * 8, elapsed);

    // The floor: a bare reqwest POST reading the same streamed body.
    let http = reqwest::Client::new();
    let body = serde_json::json!({
        "model": "bench",
        "stream": true,
        "stream_options": {"include_usage": true},
        "messages": [{"role": "system", "content": "You are a benchmark."},
                     {"role": "user", "content": "Say something."}],
    });
    let elapsed = rt.block_on(async {
        let start = Instant::now();
        for _ in 0..calls {
            let resp = http
                .post(format!("{url}/chat/completions"))
                .json(&body)
                .send()
                .await
                .unwrap();
            let mut s = resp.bytes_stream();
            while let Some(b) = s.next().await {
                b.unwrap();
            }
        }
        start.elapsed()
    });
    report("bare reqwest (HTTP + fake server floor)", calls, elapsed);

    let (rss1, hwm) = rss_kib();
    println!(
        "RSS: {rss0} KiB after warm-up, {rss1} KiB after {} calls (peak {hwm} KiB; includes the fake server)",
        calls * 3
    );
    println!("requests served by the fake: {}", fake.request_count());
}
