//! Client overhead per call against the fake OpenAI server with zero latency, and memory.
//!
//! Not a test: run `scripts/bench-llm.sh` (or `cargo bench --bench llm_client`). Prints calls/s and
//! µs per call for `LlmClient::chat` (sequential and 8 in flight), the same for a bare reqwest
//! request reading the same SSE body (the floor: HTTP + the fake server), and the process RSS
//! before and after, which shows whether memory grows with the number of calls.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use futures::StreamExt;
use llm::{ChatRequest, Endpoint, LlmClient};
use protocol::ChatMessage;
use protocol::config::LlmConfig;
use tokio_util::sync::CancellationToken;

use test_support::fake_openai::FakeOpenAi;

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

/// CPU time of the whole process (user + system), from /proc/self/stat (10 ms ticks).
fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or_default();
    let f: Vec<u64> = rest
        .split_whitespace()
        .map(|x| x.parse().unwrap_or(0))
        .collect();
    let ticks = f.get(11).copied().unwrap_or(0) + f.get(12).copied().unwrap_or(0);
    Duration::from_millis(ticks * 10)
}

/// Runs `f`, then prints wall-clock and CPU figures per call and the RSS.
fn measure(label: &str, calls: usize, f: impl FnOnce()) {
    let cpu0 = cpu_time();
    let start = Instant::now();
    f();
    let elapsed = start.elapsed();
    let cpu = cpu_time() - cpu0;
    let per = elapsed.as_secs_f64() * 1e6 / calls as f64;
    let cpu_per = cpu.as_secs_f64() * 1e6 / calls as f64;
    let (rss, _) = rss_kib();
    println!(
        "{label:<40} {calls:>6} calls {:>7.0} calls/s {per:>8.1} µs/call wall {cpu_per:>7.1} µs/call CPU  RSS {rss} KiB",
        calls as f64 / elapsed.as_secs_f64()
    );
}

fn main() {
    let calls: usize = std::env::var("BENCH_CALLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000);
    // `BENCH_REPLY_WORDS=n`: a reply of n words (one SSE event each) instead of the short one, as
    // a design document arriving in a burst (~1,500 words for 9 KB).
    let long_reply = std::env::var("BENCH_REPLY_WORDS")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .map(|n| {
            REPLY
                .split_inclusive(' ')
                .cycle()
                .take(n)
                .collect::<String>()
        });
    let reply: &str = long_reply.as_deref().unwrap_or(REPLY);
    let fake = FakeOpenAi::fixed(reply);
    fake.configure(|s| s.record = false);
    let url = fake.url();
    // `BENCH_RT=multi`: the client on a two-thread runtime instead of the agent's one thread.
    let rt = if std::env::var("BENCH_RT").as_deref() == Ok("multi") {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap()
    } else {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    };
    let client = client_for(&url);
    let req = ChatRequest::text(vec![
        ChatMessage::system("You are a benchmark."),
        ChatMessage::user("Say something."),
    ]);
    let chunks = reply.split_inclusive(' ').count();
    println!(
        "reply: {} chars in {chunks} SSE chunks (+ role, finish, usage, [DONE]); CPU and RSS include the fake server",
        reply.len()
    );

    if std::env::var("BENCH_ONLY").as_deref() == Ok("burst") {
        let http = reqwest::Client::new();
        let body = serde_json::json!({"model": "bench", "stream": true, "messages": []});
        burst(&rt, &req, &http, &body, reply, calls);
        return;
    }

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
    println!("RSS after warm-up: {rss0} KiB");

    // The floor: a bare reqwest POST reading the same streamed body.
    let http = reqwest::Client::builder()
        .tcp_nodelay(true)
        .build()
        .unwrap();
    let body = serde_json::json!({
        "model": "bench",
        "stream": true,
        "stream_options": {"include_usage": true},
        "messages": [{"role": "system", "content": "You are a benchmark."},
                     {"role": "user", "content": "Say something."}],
    });
    measure("bare reqwest (HTTP + fake server floor)", calls, || {
        rt.block_on(async {
            for _ in 0..calls {
                read_bare(&http, &url, &body).await;
            }
        })
    });

    measure("LlmClient::chat, sequential", calls, || {
        rt.block_on(async {
            let cancel = CancellationToken::new();
            for _ in 0..calls {
                let mut n = 0usize;
                let r = client
                    .chat(&req, &mut |_: &str| n += 1, &cancel)
                    .await
                    .unwrap();
                assert_eq!(r.text.len(), reply.len());
                assert!(n >= 1 && n <= chunks, "{n} draws for {chunks} chunks");
            }
        })
    });

    measure("LlmClient::chat, 8 in flight", calls / 8 * 8, || {
        rt.block_on(async {
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
        })
    });

    measure("LlmClient::chat, sequential again", calls, || {
        rt.block_on(async {
            let cancel = CancellationToken::new();
            for _ in 0..calls {
                client.chat(&req, &mut |_: &str| {}, &cancel).await.unwrap();
            }
        })
    });
    burst(&rt, &req, &http, &body, reply, calls);

    let (_, hwm) = rss_kib();
    println!(
        "peak RSS {hwm} KiB; requests served by the fake: {}",
        fake.request_count()
    );
}

/// A client of the endpoint at `url`, with the default settings.
fn client_for(url: &str) -> LlmClient {
    LlmClient::new(
        Endpoint {
            base_url: url.to_string(),
            model: "bench".into(),
            api_key: None,
            is_local: false,
        },
        &LlmConfig::default(),
    )
    .unwrap()
}

/// The floor: a bare reqwest POST of `body`, its streamed response read to the end.
async fn read_bare(http: &reqwest::Client, url: &str, body: &serde_json::Value) {
    let resp = http
        .post(format!("{url}/chat/completions"))
        .json(body)
        .send()
        .await
        .unwrap();
    let mut s = resp.bytes_stream();
    while let Some(b) = s.next().await {
        b.unwrap();
    }
}

/// The reply as a streamed HTTP/1.1 response, every SSE event its own HTTP chunk, as servers send
/// them, ready to be written in one go.
fn burst_response(reply: &str) -> Vec<u8> {
    let mut events: Vec<String> = reply
        .split_inclusive(' ')
        .map(|w| {
            let c = serde_json::json!({
                "id": "chatcmpl-burst", "object": "chat.completion.chunk", "created": 0,
                "model": "bench",
                "choices": [{"index": 0, "delta": {"content": w}, "finish_reason": null}],
            });
            format!("data: {c}\n\n")
        })
        .collect();
    events.push(
        "data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n".into(),
    );
    events.push("data: [DONE]\n\n".into());
    let mut out =
        b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"
            .to_vec();
    for e in events {
        out.extend_from_slice(format!("{:x}\r\n{e}\r\n", e.len()).as_bytes());
    }
    out.extend_from_slice(b"0\r\n\r\n");
    out
}

/// The reply sent as one burst (a server or proxy that delivers the completion when it is done):
/// a plain TCP server writes the whole response at once, so the figures are the client's cost of
/// reading and parsing the events, with no server pacing in them.
fn burst(
    rt: &tokio::runtime::Runtime,
    req: &ChatRequest,
    http: &reqwest::Client,
    body: &serde_json::Value,
    reply: &str,
    calls: usize,
) {
    use std::io::{BufRead, BufReader, Read, Write};
    let response = burst_response(reply);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/v1", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(conn) = conn else { continue };
            let response = response.clone();
            std::thread::spawn(move || {
                let _ = conn.set_nodelay(true);
                let mut reader = BufReader::new(conn.try_clone().unwrap());
                let mut conn = conn;
                loop {
                    // Headers, then a body of content-length bytes.
                    let mut len = 0usize;
                    loop {
                        let mut line = String::new();
                        if reader.read_line(&mut line).unwrap_or(0) == 0 {
                            return;
                        }
                        let l = line.to_ascii_lowercase();
                        if let Some(v) = l.strip_prefix("content-length:") {
                            len = v.trim().parse().unwrap_or(0);
                        }
                        if line == "\r\n" {
                            break;
                        }
                    }
                    let mut buf = vec![0; len];
                    if reader.read_exact(&mut buf).is_err() || conn.write_all(&response).is_err() {
                        return;
                    }
                }
            });
        }
    });
    let client = client_for(&url);
    let events = reply.split_inclusive(' ').count();
    println!("burst: {events} events written in one go by a plain TCP server");
    // Inside a spawned task, as in an agent: the future given to `block_on` is polled outside the
    // run queue, and waking it parks the runtime (an epoll_wait) for every event.
    measure("burst: bare reqwest (HTTP floor)", calls, || {
        let (http, body, url) = (http.clone(), body.clone(), url.clone());
        rt.block_on(async move {
            tokio::spawn(async move {
                for _ in 0..calls {
                    read_bare(&http, &url, &body).await;
                }
            })
            .await
            .unwrap();
        })
    });
    measure("burst: LlmClient::chat", calls, || {
        let (client, req, len) = (client.clone(), req.clone(), reply.len());
        rt.block_on(async move {
            tokio::spawn(async move {
                let cancel = CancellationToken::new();
                for _ in 0..calls {
                    let r = client.chat(&req, &mut |_: &str| {}, &cancel).await.unwrap();
                    assert_eq!(r.text.len(), len);
                }
            })
            .await
            .unwrap();
        })
    });
}
