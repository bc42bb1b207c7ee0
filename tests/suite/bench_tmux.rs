//! Benchmark (ignored by default; run by `scripts/bench-tmux.sh`): how fast a session comes up in
//! tmux, and the latency of the file transport. It prints figures and asserts nothing about time.
//!
//! - start: `open_session` with 4 panes (supervisor stand-in + 3 agents) until the panes exist,
//!   and until every agent process beats (it runs its loop);
//! - dispatch: task file written -> the agent's request reaches the (zero-latency) fake server;
//! - delivery: result file written (its mtime) -> a `DirWatcher` on `results/` reports it, as the
//!   supervisor's watcher does;
//! - burst: all tasks written at once, three roles, until the last result.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use agentmux::{DirWatcher, file_id, write_task};
use protocol::TaskKind;
use test_support::wait::wait_for;
use tmux::Multiplexer;

use super::agent::Fixture;
use super::support::fake_openai::{FakeOpenAi, FakeReply};

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn report(what: &str, mut samples: Vec<Duration>) {
    samples.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "{what:<44} n={:<4} p50={:>8.2} ms  p99={:>8.2} ms  max={:>8.2} ms",
        samples.len(),
        ms(percentile(&samples, 50.0)),
        ms(percentile(&samples, 99.0)),
        ms(samples.last().copied().unwrap_or_default()),
    );
}

/// Request arrival times at the fake server, by prompt.
type Arrivals = Arc<Mutex<HashMap<String, Instant>>>;

fn recording_fake() -> (FakeOpenAi, Arrivals) {
    let arrivals: Arrivals = Arc::default();
    let seen = arrivals.clone();
    let fake = FakeOpenAi::start(move |req| {
        seen.lock()
            .unwrap()
            .insert(req.last_user().to_string(), Instant::now());
        FakeReply::text("ok")
    });
    (fake, arrivals)
}

#[test]
#[ignore = "benchmark: run scripts/bench-tmux.sh"]
fn bench_tmux_start_and_transport_latency() {
    let starts = env_usize("BENCH_STARTS", 5);
    let tasks = env_usize("BENCH_TASKS", 200);
    let roles = ["architect", "principal-engineer", "code-reviewer"];

    // 1. Session start.
    let mut created = Vec::new();
    let mut running = Vec::new();
    for _ in 0..starts {
        let (fake, _) = recording_fake();
        let f = Fixture::new(fake, 2);
        let t0 = Instant::now();
        f.open(&roles);
        created.push(t0.elapsed());
        for r in roles {
            f.wait_heartbeat(r);
        }
        running.push(t0.elapsed());
    }
    println!();
    report("start: 4 panes created (open_session)", created);
    report("start: every agent process running", running);

    // 2. Dispatch and delivery, one task at a time.
    let (fake, arrivals) = recording_fake();
    let f = Fixture::new(fake, 2);
    f.open(&roles);
    for r in roles {
        f.wait_heartbeat(r);
    }
    let mut results = DirWatcher::new(&[f.paths.results()]).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut dispatch = Vec::new();
    let mut delivery = Vec::new();
    for i in 0..tasks {
        let role = roles[i % roles.len()];
        let mut task = f.task(role, TaskKind::Review, &format!("seq-{i}"));
        task.id = format!("bench.seq.{i}.{role}");
        let written = Instant::now();
        write_task(&f.paths, &task).unwrap();
        let path = rt.block_on(async {
            loop {
                let p = tokio::time::timeout(Duration::from_secs(30), results.recv())
                    .await
                    .expect("no result within 30 s")
                    .expect("watcher closed");
                if file_id(&p).as_deref() == Some(task.id.as_str()) {
                    return p;
                }
            }
        });
        let delivered = SystemTime::now();
        let mtime = std::fs::metadata(&path).unwrap().modified().unwrap();
        delivery.push(delivered.duration_since(mtime).unwrap_or_default());
        let arrived = wait_for(Duration::from_secs(5), "the request time", || {
            arrivals.lock().unwrap().get(&format!("seq-{i}")).copied()
        });
        dispatch.push(arrived.duration_since(written));
    }
    report("dispatch: task written -> request at server", dispatch);
    report("delivery: result written -> watcher reports it", delivery);

    // 3. Burst: every task at once, all roles (llm.concurrency = 2 per agent).
    let t0 = Instant::now();
    let mut pending: std::collections::HashSet<String> = std::collections::HashSet::new();
    for i in 0..tasks {
        let role = roles[i % roles.len()];
        let mut task = f.task(role, TaskKind::Review, &format!("burst-{i}"));
        task.id = format!("bench.burst.{i}.{role}");
        pending.insert(task.id.clone());
        write_task(&f.paths, &task).unwrap();
    }
    let written = t0.elapsed();
    rt.block_on(async {
        while !pending.is_empty() {
            let p = tokio::time::timeout(Duration::from_secs(60), results.recv())
                .await
                .expect("burst stalled for 60 s")
                .expect("watcher closed");
            if let Some(id) = file_id(&p) {
                pending.remove(&id);
            }
        }
    });
    let total = t0.elapsed();
    println!(
        "burst: {tasks} tasks written in {:.1} ms, all results in {:.1} ms ({:.0} tasks/s)",
        written.as_secs_f64() * 1000.0,
        total.as_secs_f64() * 1000.0,
        tasks as f64 / total.as_secs_f64()
    );
    assert!(f.server.mux().has_session(&f.tmux_session).unwrap());
}
