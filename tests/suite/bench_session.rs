//! Benchmarks of whole sessions (ignored by default; run by `scripts/bench.sh`). They print
//! markdown for `BENCHMARKS.md` between `BEGIN-MD` and `END-MD` and assert nothing about time.
//!
//! - overhead, parallelism, start-up and memory: sessions against a fake model answering every
//!   call after a fixed latency; the fake records when each request was in flight, the journal
//!   when the session completed, and `/proc` the processes' peak RSS and CPU time;
//! - scale: N concurrent sessions against one fake server, with the supervisors' CPU use.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use test_support::wait::{try_wait_for, wait_for};

use super::support::design_team::{Script, responder};
use super::support::fake_openai::{FakeOpenAi, Span};
use super::support::{AgentmuxCmd as _, Project, TmuxServer};

const GOAL: &str = "A team link shortener with click statistics";
const JOURNEY: &str = "Alice shortens a URL, shares it, and reads the clicks on Friday";
const ROLES: [&str; 3] = ["architect", "principal-engineer", "code-reviewer"];

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

fn since(a: SystemTime, b: SystemTime) -> Duration {
    b.duration_since(a).unwrap_or_default()
}

fn clock_ticks() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100.0)
}

/// `VmHWM` (peak RSS) of a process, in KiB.
/// `VmHWM` (peak RSS) and `RssAnon` (resident private memory: heap and stacks, not the mapped
/// binary) in KiB, from one read of `/proc/<pid>/status`.
fn memory_kib(pid: i32) -> Option<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kib = |key: &str| -> Option<u64> {
        let line = status.lines().find(|l| l.starts_with(key))?;
        line.split_whitespace().nth(1)?.parse().ok()
    };
    Some((kib("VmHWM:")?, kib("RssAnon:")?))
}

/// utime + stime of a process, in clock ticks.
fn cpu_ticks(pid: i32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
}

/// CPU time of every thread of a process so far, from `/proc/<pid>/task/*/schedstat` (ns; the
/// clock ticks of `stat` are 10 ms).
fn cpu_ns(pid: i32) -> Option<u64> {
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).ok()?;
    let mut total = 0;
    for t in tasks.flatten() {
        let stat = std::fs::read_to_string(t.path().join("schedstat")).unwrap_or_default();
        total += stat
            .split_whitespace()
            .next()
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0);
    }
    Some(total)
}

/// A project of its own on a shared fake server and tmux server.
struct Bench {
    project: Project,
}

impl Bench {
    /// Under `BENCH_PROJECTS` (set by bench.sh, which removes it at the end) when it is set.
    /// Nothing is deleted while sessions are measured: on an ext4 file system without a
    /// journal (this VM's), creating an inode skips every inode of its block group freed in
    /// the last 60 s (360 s while the inode's table block is dirty: `recently_deleted` in
    /// fs/ext4/ialloc.c), so removing a finished session's few hundred files slowed the task
    /// and result files of the sessions after it.
    fn new(server_url: &str) -> Self {
        let project = match std::env::var_os("BENCH_PROJECTS") {
            Some(dir) => Project::kept_in(Path::new(&dir)),
            None => Project::new(),
        };
        project.write(
            ".agentmux/config.yaml",
            &format!(
                "llm:\n  base_url: {server_url}\n  model: fake-model\n  structured_output: json_schema\nworkflow:\n  review_rounds: 2\n"
            ),
        );
        Self { project }
    }

    fn cmd(&self, tmux: &TmuxServer) -> assert_cmd::Command {
        let mut c = self.project.cmd_on(tmux);
        // BENCH_LOG=debug: the session logs every supervisor turn (kept with BENCH_GAPS).
        if let Ok(filter) = std::env::var("BENCH_LOG") {
            c.env("AGENTMUX_LOG", filter);
        }
        c
    }

    fn session_dir(&self) -> Option<PathBuf> {
        let rd = std::fs::read_dir(self.project.path().join(".agentmux/sessions")).ok()?;
        rd.filter_map(|e| e.ok()).map(|e| e.path()).next()
    }
}

fn supervisor_pid(dir: &Path) -> Option<i32> {
    let text = std::fs::read_to_string(dir.join("session.lock")).ok()?;
    let start = text.find("pid ")? + 4;
    text[start..].trim_end_matches(')').trim().parse().ok()
}

fn agent_pid(dir: &Path, role: &str) -> Option<i32> {
    let text = std::fs::read_to_string(dir.join("agents").join(role).join("heartbeat")).ok()?;
    text.split_whitespace().next()?.parse().ok()
}

/// The journal's `completed` time, or its terminal event when it ended otherwise.
/// The journal's terminal record, read as the journal grows: polled every 20 ms beside the
/// session it measures, so each look reads only the bytes added since the last one and parses
/// only the lines that can be terminal (the journal carries whole documents).
#[derive(Default)]
struct JournalTail {
    read: u64,
    partial: String,
}

impl JournalTail {
    fn finished(&mut self, dir: &Path) -> Option<(String, SystemTime)> {
        use std::io::{Read, Seek, SeekFrom};
        const TERMINAL: [&str; 4] = ["completed", "failed", "paused", "stopped"];
        let mut f = std::fs::File::open(dir.join("journal.jsonl")).ok()?;
        f.seek(SeekFrom::Start(self.read)).ok()?;
        let mut new = String::new();
        self.read += f.read_to_string(&mut new).ok()? as u64;
        self.partial.push_str(&new);
        let end = self.partial.rfind('\n').map(|i| i + 1).unwrap_or(0);
        let lines: String = self.partial.drain(..end).collect();
        lines.lines().find_map(|l| {
            let ty = TERMINAL
                .iter()
                .find(|t| l.contains(&format!("\"type\":\"{t}\"")))?;
            let v: serde_json::Value = serde_json::from_str(l).ok()?;
            (v["type"].as_str()? == *ty).then_some(())?;
            let at: jiff::Timestamp = v["at"].as_str()?.parse().ok()?;
            Some((ty.to_string(), SystemTime::from(at)))
        })
    }
}

/// What one session measured.
#[derive(Default)]
struct Sample {
    outcome: String,
    /// `start --detach` returned.
    start_cmd: Duration,
    /// From `start` until the supervisor holds its lock and every agent has beaten.
    all_running: Option<Duration>,
    /// From `start` until the journal says completed.
    wall: Duration,
    sup_rss_kib: u64,
    agent_rss_kib: u64,
    /// Peak `RssAnon` sampled.
    sup_anon_kib: u64,
    agent_anon_kib: u64,
    sup_ticks: u64,
    /// The supervisor's life as sampled (first to last sighting).
    sup_life: Duration,
    /// CPU time of each agent (in `ROLES` order) at its last sighting.
    agent_cpu: Vec<Duration>,
}

/// Watches one session's processes until it ends.
struct Watch {
    t0: SystemTime,
    sup: Option<i32>,
    sup_first_ticks: Option<(u64, Instant)>,
    sup_last_ticks: Option<(u64, Instant)>,
    agents: Vec<i32>,
    journal: JournalTail,
    s: Sample,
}

impl Watch {
    fn new(t0: SystemTime) -> Self {
        Self {
            t0,
            sup: None,
            sup_first_ticks: None,
            sup_last_ticks: None,
            agents: Vec::new(),
            journal: JournalTail::default(),
            s: Sample::default(),
        }
    }

    /// One look at the session; true once it has ended.
    fn poll(&mut self, dir: &Path) -> bool {
        if self.sup.is_none() {
            self.sup = supervisor_pid(dir);
        }
        if self.s.all_running.is_none() && self.sup.is_some() {
            let pids: Vec<i32> = ROLES.iter().filter_map(|r| agent_pid(dir, r)).collect();
            if pids.len() == ROLES.len() {
                self.s.all_running = Some(since(self.t0, SystemTime::now()));
                self.s.agent_cpu = vec![Duration::ZERO; pids.len()];
                self.agents = pids;
            }
        }
        if let Some(pid) = self.sup {
            if let Some(t) = cpu_ticks(pid) {
                let now = Instant::now();
                self.sup_first_ticks.get_or_insert((t, now));
                self.sup_last_ticks = Some((t, now));
            }
            if let Some((peak, anon)) = memory_kib(pid) {
                self.s.sup_rss_kib = self.s.sup_rss_kib.max(peak);
                self.s.sup_anon_kib = self.s.sup_anon_kib.max(anon);
            }
        }
        for (i, &pid) in self.agents.iter().enumerate() {
            if let Some(ns) = cpu_ns(pid) {
                self.s.agent_cpu[i] = Duration::from_nanos(ns);
            }
            if let Some((peak, anon)) = memory_kib(pid) {
                self.s.agent_rss_kib = self.s.agent_rss_kib.max(peak);
                self.s.agent_anon_kib = self.s.agent_anon_kib.max(anon);
            }
        }
        if let Some((outcome, at)) = self.journal.finished(dir) {
            self.s.outcome = outcome;
            self.s.wall = since(self.t0, at);
            if let (Some((a, ta)), Some((b, tb))) = (self.sup_first_ticks, self.sup_last_ticks) {
                self.s.sup_ticks = b - a;
                self.s.sup_life = tb - ta;
            }
            return true;
        }
        false
    }
}

/// Time with at least one request in flight, within `[from, to]`.
fn busy(spans: &[Span], from: SystemTime, to: SystemTime) -> Duration {
    let mut iv: Vec<(SystemTime, SystemTime)> = spans
        .iter()
        .filter_map(|s| Some((s.start.max(from), s.end?.min(to))))
        .filter(|(a, b)| a < b)
        .collect();
    iv.sort();
    let mut total = Duration::ZERO;
    let mut cur: Option<(SystemTime, SystemTime)> = None;
    for (a, b) in iv {
        match cur {
            Some((ca, cb)) if a <= cb => cur = Some((ca, cb.max(b))),
            Some((ca, cb)) => {
                total += since(ca, cb);
                cur = Some((a, b));
            }
            None => cur = Some((a, b)),
        }
    }
    if let Some((ca, cb)) = cur {
        total += since(ca, cb);
    }
    total
}

/// The critical path of the calls: overlapping calls form one parallel step (the reviewers, the
/// design documents); each step counts its longest call; steps add up.
fn critical_path(spans: &[Span]) -> (Duration, usize) {
    let mut iv: Vec<(SystemTime, SystemTime)> = spans
        .iter()
        .filter_map(|s| Some((s.start, s.end?)))
        .collect();
    iv.sort();
    let mut total = Duration::ZERO;
    let mut steps = 0;
    let mut cur: Option<(SystemTime, Duration)> = None;
    for (a, b) in iv {
        let d = since(a, b);
        match cur {
            Some((end, longest)) if a < end => cur = Some((end.max(b), longest.max(d))),
            Some((_, longest)) => {
                total += longest;
                steps += 1;
                cur = Some((b, d));
            }
            None => cur = Some((b, d)),
        }
    }
    if let Some((_, longest)) = cur {
        total += longest;
        steps += 1;
    }
    (total, steps)
}

/// Prints every stretch over 30 ms with no request in flight, with the journal events in it
/// (diagnostics: where the orchestration time goes).
fn print_gaps(spans: &[Span], dir: &Path, t0: SystemTime, end: SystemTime) {
    let mut iv: Vec<(SystemTime, SystemTime)> = spans
        .iter()
        .filter_map(|s| Some((s.start, s.end?)))
        .collect();
    iv.sort();
    let mut gaps = Vec::new();
    let mut reach = t0;
    for (a, b) in iv {
        if a > reach {
            gaps.push((reach, a));
        }
        reach = reach.max(b);
    }
    if end > reach {
        gaps.push((reach, end));
    }
    if std::env::var("BENCH_SPANS").is_ok() {
        // Absolute times, to line the requests up with the session's logs.
        for s in spans {
            println!(
                "span {} -> {}",
                jiff::Timestamp::try_from(s.start).unwrap(),
                s.end
                    .map(|e| jiff::Timestamp::try_from(e).unwrap().to_string())
                    .unwrap_or_default()
            );
        }
    }
    let journal = std::fs::read_to_string(dir.join("journal.jsonl")).unwrap_or_default();
    let events: Vec<(SystemTime, String)> = journal
        .lines()
        .filter_map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).ok()?;
            let at: jiff::Timestamp = v["at"].as_str()?.parse().ok()?;
            Some((SystemTime::from(at), v["type"].as_str()?.to_string()))
        })
        .collect();
    // BENCH_GAPS=<ms>: the shortest gap to list (30 ms when not a number).
    let min_ms = std::env::var("BENCH_GAPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(30);
    for (a, b) in gaps
        .into_iter()
        .filter(|(a, b)| since(*a, *b) > Duration::from_millis(min_ms))
    {
        let inside: Vec<String> = events
            .iter()
            .filter(|(t, _)| *t >= a && *t <= b)
            .map(|(t, e)| format!("{e}@+{:.0}", secs(since(a, *t)) * 1e3))
            .collect();
        println!(
            "gap at {:>7.3} s: {:>5.0} ms  {}",
            secs(since(t0, a)),
            secs(since(a, b)) * 1e3,
            inside.join(" ")
        );
    }
}

/// Copies a session's logs (with `AGENTMUX_LOG=debug`: every supervisor turn and its duration)
/// to `target/tmp/bench-logs/<session>/` for a closer look at the gaps.
fn keep_logs(dir: &Path) {
    let Some(name) = dir.file_name() else { return };
    let to = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("target/tmp/bench-logs")
        .join(name);
    let _ = std::fs::create_dir_all(&to);
    for e in std::fs::read_dir(dir.join("logs"))
        .into_iter()
        .flatten()
        .flatten()
    {
        let _ = std::fs::copy(e.path(), to.join(e.file_name()));
    }
    println!("logs kept in {}", to.display());
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

#[test]
#[ignore = "benchmark: run by scripts/bench.sh"]
fn bench_session_overhead_parallelism_memory() {
    let runs = env_u64("BENCH_SESSIONS", 3);
    let latency = env_u64("BENCH_LATENCY_MS", 300);
    // BENCH_STREAM_MS=N: the reply streams over the last N ms of each call, as a model's tokens
    // do; 0: the whole reply at once when the latency is up (the harder case for the client).
    let stream_ms = env_u64("BENCH_STREAM_MS", 0).min(latency);
    let mode = if stream_ms == 0 {
        format!("{latency} ms per call, the whole reply at once at the end")
    } else {
        format!(
            "{latency} ms per call: first chunk after {} ms, the reply streamed over the last {stream_ms} ms",
            latency - stream_ms
        )
    };
    let tck = clock_ticks();
    let mut rows = Vec::new();
    let mut projects = Vec::new();
    for _ in 0..runs {
        let server = FakeOpenAi::start(responder(Script::default()));
        server.configure(|s| {
            s.latency = Duration::from_millis(latency - stream_ms);
            s.stream_time = Duration::from_millis(stream_ms);
        });
        let tmux = TmuxServer::new();
        let b = Bench::new(&server.url());
        let t0 = SystemTime::now();
        b.cmd(&tmux)
            .args(["start", "--detach", "--goal", GOAL, "--journey", JOURNEY])
            .assert()
            .success();
        let start_cmd = since(t0, SystemTime::now());
        let dir = b.session_dir().expect("a session");
        let mut w = Watch::new(t0);
        wait_for(Duration::from_secs(300), "the session to end", || {
            w.poll(&dir).then_some(())
        });
        w.s.start_cmd = start_cmd;
        assert_eq!(w.s.outcome, "completed");
        let spans = server.spans();
        let end = t0 + w.s.wall;
        let first = spans.iter().map(|s| s.start).min().expect("requests");
        let busy_all = busy(&spans, t0, end);
        let busy_llm = busy(&spans, first, end);
        let window = since(first, end);
        let (cp, steps) = critical_path(&spans);
        if std::env::var("BENCH_GAPS").is_ok() {
            print_gaps(&spans, &dir, t0, end);
            keep_logs(&dir);
        }
        rows.push((w.s, spans.len(), busy_all, busy_llm, window, cp, steps));
        // Removed (without BENCH_PROJECTS) once every session is measured; see `Bench::new`.
        projects.push(b);
    }
    drop(projects);
    println!("BEGIN-MD");
    println!("Sessions against a fake model ({mode}; review_rounds 2).\n");
    println!(
        "| run | calls | wall (start → completed) | LLM busy | idle share (whole) | idle share (first call → completed) | critical path (steps) | wall / critical path | start → all panes running | supervisor peak RSS | agent peak RSS | supervisor CPU | agents' CPU ({}) |",
        ROLES.join(" / ")
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    for (i, (s, calls, busy_all, busy_llm, window, cp, steps)) in rows.iter().enumerate() {
        println!(
            "| {} | {calls} | {:.3} s | {:.3} s | {:.2} % | {:.2} % | {:.3} s ({steps}) | {:.3} | {} | {:.1} MB | {:.1} MB | {:.2} s ({:.1} %) | {} |",
            i + 1,
            secs(s.wall),
            secs(*busy_all),
            100.0 * (1.0 - secs(*busy_all) / secs(s.wall)),
            100.0 * (1.0 - secs(*busy_llm) / secs(*window)),
            secs(*cp),
            secs(s.wall) / secs(*cp),
            s.all_running
                .map(|d| format!(
                    "{:.0} ms (start cmd {:.0} ms)",
                    secs(d) * 1e3,
                    secs(s.start_cmd) * 1e3
                ))
                .unwrap_or_else(|| "?".into()),
            s.sup_rss_kib as f64 / 1024.0,
            s.agent_rss_kib as f64 / 1024.0,
            s.sup_ticks as f64 / tck,
            100.0 * (s.sup_ticks as f64 / tck) / secs(s.sup_life).max(1e-9),
            s.agent_cpu
                .iter()
                .map(|d| format!("{:.0}", secs(*d) * 1e3))
                .collect::<Vec<_>>()
                .join(" / ")
                + " ms",
        );
    }
    println!("END-MD");
    // Headlines: the median run.
    let med = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        percentile(&v, 50.0)
    };
    // The median run, and the range over the runs (the machine's noise is of the same order).
    let spread = |v: Vec<f64>| {
        let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        format!("{:.1} % (runs {lo:.1}–{hi:.1} %)", med(v))
    };
    let idle = spread(
        rows.iter()
            .map(|(s, _, b, _, _, _, _)| 100.0 * (1.0 - secs(*b) / secs(s.wall)))
            .collect(),
    );
    let idle_llm = spread(
        rows.iter()
            .map(|(_, _, _, b, w, _, _)| 100.0 * (1.0 - secs(*b) / secs(*w)))
            .collect(),
    );
    // Both session runs print these; the reply mode tells their rows apart.
    let tag = if stream_ms == 0 {
        "reply at once"
    } else {
        "reply streamed"
    };
    let ratio = med(rows
        .iter()
        .map(|(s, _, _, _, _, cp, _)| secs(s.wall) / secs(*cp))
        .collect());
    let up = med(rows
        .iter()
        .filter_map(|(s, ..)| s.all_running.map(|d| secs(d) * 1e3))
        .collect());
    let peak =
        |f: fn(&Sample) -> u64| rows.iter().map(|(s, ..)| f(s)).max().unwrap_or(0) as f64 / 1024.0;
    let sup = peak(|s| s.sup_rss_kib);
    let agent = peak(|s| s.agent_rss_kib);
    let sup_anon = peak(|s| s.sup_anon_kib);
    let agent_anon = peak(|s| s.agent_anon_kib);
    println!(
        "HEADLINE | Orchestration overhead: share of a session with no LLM request in flight (fake model, {mode}; target < 2 %) | {idle} from `start`; {idle_llm} from the first call |"
    );
    println!(
        "HEADLINE | Parallelism: session wall time / critical path of its LLM calls ({tag}; target ≤ 1.05) | {ratio:.2} |"
    );
    println!(
        "HEADLINE | `start --detach` until the supervisor and every agent process run ({tag}; target < 300 ms) | {up:.0} ms |"
    );
    println!(
        "HEADLINE | Peak RSS: supervisor / agent ({tag}; targets 25 MB / 15 MB) | {sup:.1} MB / {agent:.1} MB |"
    );
    println!(
        "HEADLINE | Peak private memory (RssAnon: heap and stacks, without the shared binary): supervisor / agent ({tag}) | {sup_anon:.1} MB / {agent_anon:.1} MB |"
    );
}

#[test]
#[ignore = "benchmark: run by scripts/bench.sh"]
fn bench_concurrent_sessions() {
    let n = env_u64("BENCH_CONCURRENT", 20) as usize;
    let latency = env_u64("BENCH_SCALE_LATENCY_MS", 1000);
    let tck = clock_ticks();
    let server = FakeOpenAi::start(responder(Script::default()));
    server.configure(|s| {
        s.latency = Duration::from_millis(latency);
        s.record = false;
    });
    let tmux = TmuxServer::new();
    let benches: Vec<Bench> = (0..n).map(|_| Bench::new(&server.url())).collect();
    let load = |_| std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let t0 = SystemTime::now();
    let mut watches = Vec::new();
    for b in &benches {
        let t = SystemTime::now();
        b.cmd(&tmux)
            .args(["start", "--detach", "--goal", GOAL, "--journey", JOURNEY])
            .assert()
            .success();
        watches.push((Watch::new(t), b.session_dir().expect("a session"), false));
    }
    let started_all = since(t0, SystemTime::now());
    let timeout = Duration::from_secs(env_u64("BENCH_SCALE_TIMEOUT_SECS", 900));
    let mut max_load = String::new();
    // Sessions still running at the timeout are reported as such.
    let _ = try_wait_for(timeout, Duration::from_millis(200), || {
        for (w, dir, done) in watches.iter_mut().filter(|(_, _, d)| !*d) {
            *done = w.poll(dir);
        }
        max_load = load(());
        watches.iter().all(|(_, _, done)| *done).then_some(())
    });
    let total = since(t0, SystemTime::now());
    let completed = watches
        .iter()
        .filter(|(w, _, _)| w.s.outcome == "completed")
        .count();
    let mut walls: Vec<f64> = watches
        .iter()
        .filter(|(_, _, d)| *d)
        .map(|(w, _, _)| secs(w.s.wall))
        .collect();
    walls.sort_by(f64::total_cmp);
    let mut cpu: Vec<f64> = watches
        .iter()
        .filter(|(w, _, _)| !w.s.sup_life.is_zero())
        .map(|(w, _, _)| 100.0 * (w.s.sup_ticks as f64 / tck) / secs(w.s.sup_life))
        .collect();
    cpu.sort_by(f64::total_cmp);
    let mut rss: Vec<f64> = watches
        .iter()
        .map(|(w, _, _)| w.s.sup_rss_kib as f64 / 1024.0)
        .collect();
    rss.sort_by(f64::total_cmp);
    println!("BEGIN-MD");
    println!(
        "{n} sessions started one after another (all started in {:.1} s) on one private tmux server, against one fake server answering after {latency} ms.\n",
        secs(started_all)
    );
    println!("| figure | value |\n|---|---|");
    println!("| sessions completed | {completed} of {n} |");
    println!("| LLM calls served | {} |", server.request_count());
    println!("| all done after | {:.1} s |", secs(total));
    println!(
        "| session wall time p50 / max | {:.1} s / {:.1} s |",
        percentile(&walls, 50.0),
        walls.last().copied().unwrap_or_default()
    );
    println!(
        "| supervisor CPU over its life p50 / max | {:.2} % / {:.2} % of one core |",
        percentile(&cpu, 50.0),
        cpu.last().copied().unwrap_or_default()
    );
    println!(
        "| supervisor peak RSS p50 / max | {:.1} MB / {:.1} MB |",
        percentile(&rss, 50.0),
        rss.last().copied().unwrap_or_default()
    );
    println!("| load average near the end | {} |", max_load.trim());
    println!("END-MD");
    println!(
        "HEADLINE | Scale: concurrent sessions on one machine against one fake server ({latency} ms per call) | {completed} of {n} completed, p50 wall {:.1} s |",
        percentile(&walls, 50.0)
    );
    println!(
        "HEADLINE | Supervisor CPU while waiting on the model (p50 over {n} concurrent sessions) | {:.2} % of one core |",
        percentile(&cpu, 50.0)
    );
    for b in &benches {
        let _ = b.cmd(&tmux).arg("stop").output();
    }
}
