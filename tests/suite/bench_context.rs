//! Benchmarks of what prompts carry and how much of it a prefix cache can serve, run by
//! `scripts/bench-context.sh` (ignored in the test suite):
//!
//! - `bench_context_remote`: a session on the fake server advertising a 128k window and 16k
//!   answers, on the readtime project (its real code and DevBench PRD);
//! - `bench_context_local`: the README's local demo, `start --goal --journey` with the default
//!   configuration on the real local model (llama-server + SmolLM2-135M), timed.
//!
//! Per stage: requests, prompt tokens, completion tokens, and the prompt tokens an automatic
//! prefix cache could serve: for each request, the longest prefix its messages share with any
//! earlier request of the session, counted as OpenAI's prompt caching counts it (nothing under
//! 1,024 tokens, then in steps of 128). Tokens are agentmux's estimate (4 characters a token);
//! the messages are compared as sent, role by role, in order.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde_json::{Value, json};

use protocol::estimate_tokens;

use super::support::design_team::Script;
use super::support::{AgentmuxCmd as _, Project, Rig, TmuxServer};

/// One request as the model saw it.
struct Sent {
    stage: String,
    /// The messages, role by role, as one text.
    prompt: String,
}

fn joined(messages: &[(String, String)]) -> String {
    messages
        .iter()
        .map(|(role, content)| format!("<{role}>\n{content}\n"))
        .collect()
}

/// The tokens OpenAI's automatic prompt caching serves of a prompt that shares `shared` tokens
/// with an earlier one: none under 1,024, then 1,024 plus whole steps of 128.
fn cacheable(shared: u32) -> u32 {
    if shared < 1024 {
        0
    } else {
        1024 + (shared - 1024) / 128 * 128
    }
}

/// Characters `a` and `b` share from the start.
fn common_prefix(a: &str, b: &str) -> usize {
    a.chars().zip(b.chars()).take_while(|(x, y)| x == y).count()
}

/// (stage, requests, prompt tokens, completion tokens, cacheable tokens) per stage, in the order
/// stages first appear, and the totals.
fn table(sent: &[Sent], completion: &BTreeMap<String, u64>) -> String {
    let mut order: Vec<String> = Vec::new();
    let mut rows: BTreeMap<String, (u32, u64, u64)> = BTreeMap::new();
    for (i, s) in sent.iter().enumerate() {
        let tokens = estimate_tokens(&s.prompt);
        let shared_chars = sent[..i]
            .iter()
            .map(|e| common_prefix(&e.prompt, &s.prompt))
            .max()
            .unwrap_or(0);
        let shared = (shared_chars / 4) as u32;
        let cached = cacheable(shared).min(tokens);
        if std::env::var_os("BENCH_CONTEXT_DEBUG").is_some() {
            let at: String = s.prompt.chars().skip(shared_chars).take(60).collect();
            let role: String = s.prompt.chars().skip(9).take(30).collect();
            eprintln!(
                "{:>20} {role:30} {tokens:>6} shared {shared:>6}: {at:?}",
                s.stage
            );
        }
        if !order.contains(&s.stage) {
            order.push(s.stage.clone());
        }
        let row = rows.entry(s.stage.clone()).or_default();
        row.0 += 1;
        row.1 += u64::from(tokens);
        row.2 += u64::from(cached);
    }
    let mut out = String::from(
        "| stage | requests | prompt tokens | completion tokens | prompt tokens a prefix cache serves |\n|---|---|---|---|---|\n",
    );
    let (mut n, mut p, mut c, mut k) = (0, 0, 0, 0);
    for stage in &order {
        let (reqs, prompt, cached) = rows[stage];
        let done = completion.get(stage).copied().unwrap_or(0);
        out.push_str(&format!(
            "| {stage} | {reqs} | {prompt} | {done} | {cached} ({:.0} %) |\n",
            pct(cached, prompt)
        ));
        (n, p, c, k) = (n + reqs, p + prompt, c + done, k + cached);
    }
    out.push_str(&format!(
        "| **session** | {n} | {p} | {c} | {k} ({:.0} %) |\n",
        pct(k, p)
    ));
    out
}

fn pct(a: u64, b: u64) -> f64 {
    if b == 0 {
        0.0
    } else {
        a as f64 * 100.0 / b as f64
    }
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap_or_default()).unwrap_or(Value::Null)
}

fn messages_of(v: &Value) -> Vec<(String, String)> {
    v.as_array()
        .into_iter()
        .flatten()
        .map(|m| {
            (
                m["role"].as_str().unwrap_or_default().to_string(),
                m["content"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

/// The session's tasks in dispatch order: (id, stage, task JSON).
fn tasks(session: &Path) -> Vec<(String, String, Value)> {
    let journal = std::fs::read_to_string(session.join("journal.jsonl")).unwrap_or_default();
    journal
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|e| e["type"] == "task_dispatched")
        .map(|e| {
            let id = e["task_id"].as_str().unwrap_or_default().to_string();
            let task = read_json(&session.join("tasks").join(format!("{id}.json")));
            (
                id,
                e["stage"].as_str().unwrap_or_default().to_string(),
                task,
            )
        })
        .collect()
}

/// Completion tokens per stage, from the results' usage.
fn completion_by_stage(session: &Path) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    for (id, stage, _) in tasks(session) {
        let r = read_json(&session.join("results").join(format!("{id}.json")));
        let n = r
            .pointer("/outcome/usage/completion_tokens")
            .and_then(Value::as_u64);
        *out.entry(stage).or_default() += n.unwrap_or(0);
    }
    out
}

fn session_dir(project: &Path) -> PathBuf {
    let sessions = project.join(".agentmux/sessions");
    std::fs::read_dir(&sessions)
        .expect("a session")
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .find(|p| p.join("journal.jsonl").is_file())
        .expect("a session with a journal")
}

/// Copies the readtime project (its code and README) into `to`.
fn copy_readtime(to: &Path) {
    super::support::copy_dir_into("tests/fixtures/project/readtime", to);
}

#[test]
#[ignore = "benchmark: run by scripts/bench-context.sh"]
fn bench_context_remote() {
    for (name, prd, code) in [
        (
            "readtime",
            include_str!("../fixtures/prd/readtime.md"),
            true,
        ),
        ("ledger", include_str!("../fixtures/prd/ledger.md"), false),
    ] {
        let (requests, table) = remote_session(prd, code);
        println!("CONTEXT-REMOTE-BEGIN {name} {requests}");
        print!("{table}");
        println!("CONTEXT-REMOTE-END");
    }
}

/// A session on the fake 128k model on `prd`, in the readtime project when `code`, else in an
/// empty one: the number of requests and the table.
fn remote_session(prd: &str, code: bool) -> (usize, String) {
    let rig = Rig::new(Script::default(), "");
    rig.server.configure(|s| {
        s.model_fields
            .insert("context_length".into(), json!(128_000));
        s.model_fields
            .insert("max_completion_tokens".into(), json!(16_384));
    });
    if code {
        copy_readtime(rig.project.path());
    }
    let prd = rig.project.write("PRD.md", prd);
    let out = rig.cmd().args(["run", "--prd"]).arg(&prd).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let session = rig.session_dir();
    // Which task each request belongs to: the system and first user message identify it (a part
    // continues its task's conversation, or carries messages of its own).
    let mut stage_of: BTreeMap<String, String> = BTreeMap::new();
    for (_, stage, task) in tasks(&session) {
        let mut keys = vec![task["messages"].clone()];
        for p in task["parts"].as_array().into_iter().flatten() {
            keys.push(p["messages"].clone());
        }
        for k in keys {
            let m = messages_of(&k);
            if m.len() >= 2 {
                stage_of.insert(joined(&m[..2]), stage.clone());
            }
        }
    }
    let sent: Vec<Sent> = rig
        .server
        .requests()
        .iter()
        .map(|r| {
            let m: Vec<(String, String)> = r
                .messages
                .iter()
                .map(|m| (m.role.clone(), m.content.clone()))
                .collect();
            let stage = stage_of
                .get(&joined(&m[..2.min(m.len())]))
                .cloned()
                .unwrap_or_else(|| "?".into());
            Sent {
                stage,
                prompt: joined(&m),
            }
        })
        .collect();
    (sent.len(), table(&sent, &completion_by_stage(&session)))
}

#[test]
#[ignore = "benchmark: run by scripts/bench-context.sh --local"]
fn bench_context_local() {
    llm::local::LocalRuntime::locate(&Default::default())
        .expect("the local model runtime (scripts/install-local-llm.sh)");
    let project = Project::new();
    copy_readtime(project.path());
    let tmux = TmuxServer::new();
    let cmd = || project.cmd_on(&tmux);
    let t0 = Instant::now();
    cmd()
        .args([
            "start",
            "--detach",
            "--goal",
            "A command-line tool that estimates the reading time of an HTML, markdown or text article",
            "--journey",
            "A developer passes an article file to the tool and reads its reading time in minutes",
        ])
        .assert()
        .success();
    let waited = cmd().args(["wait", "--timeout", "3600"]).output().unwrap();
    let wall = t0.elapsed().as_secs_f64();
    let session = session_dir(project.path());
    assert!(
        waited.status.success(),
        "{}{}\nkept: {}",
        String::from_utf8_lossy(&waited.stdout),
        String::from_utf8_lossy(&waited.stderr),
        keep(project.path())
    );
    let v = cmd().args(["validate"]).output().unwrap();
    let sent: Vec<Sent> = tasks(&session)
        .into_iter()
        .map(|(_, stage, task)| Sent {
            stage,
            prompt: joined(&messages_of(&task["messages"])),
        })
        .collect();
    let status: Value =
        serde_json::from_slice(&cmd().args(["status", "--json"]).output().unwrap().stdout)
            .unwrap_or_default();
    println!(
        "LOCAL-DEMO wall {wall:.0} s, {} tokens, {} requests, validate {}",
        status["tokens"]["total"],
        sent.len(),
        if v.status.success() {
            "passed"
        } else {
            "FAILED"
        }
    );
    println!("CONTEXT-LOCAL-BEGIN");
    print!("{}", table(&sent, &completion_by_stage(&session)));
    println!("CONTEXT-LOCAL-END");
    eprintln!("session kept in {}", keep(project.path()));
}

/// Copies the project's `.agentmux/` under cargo's target tmp dir, for reading afterwards.
fn keep(project: &Path) -> String {
    let to =
        Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("bench-local-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&to);
    let _ = std::process::Command::new("cp")
        .arg("-r")
        .arg(project.join(".agentmux"))
        .arg(&to)
        .status();
    to.display().to_string()
}

#[test]
fn the_prefix_cache_rule_counts_from_1024_in_steps_of_128() {
    assert_eq!(cacheable(1023), 0);
    assert_eq!(cacheable(1024), 1024);
    assert_eq!(cacheable(1151), 1024);
    assert_eq!(cacheable(1152), 1152);
    let a = "x".repeat(8000);
    let sent = vec![
        Sent {
            stage: "a".into(),
            prompt: format!("{a}one"),
        },
        Sent {
            stage: "b".into(),
            prompt: format!("{a}two"),
        },
    ];
    let t = table(&sent, &BTreeMap::new());
    // The second request shares 2,000 tokens: 1,024 + 7 × 128 = 1,920 cacheable.
    assert!(t.contains("| b | 1 | 2001 | 0 | 1920 (96 %) |"), "{t}");
    assert!(t.contains("| a | 1 | 2001 | 0 | 0 (0 %) |"), "{t}");
}
