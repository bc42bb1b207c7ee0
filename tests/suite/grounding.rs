//! Designs grounded in the code: on the real readtime library (BSD, written outside this project;
//! `crates/repo/tests/fixtures/readtime/NOTICE`), a model that calls tools reads the repository
//! through them (refusals come back as tool errors and the session goes on), every prompt carries
//! the context pack, the documents cite real lines, and the tool rounds are on record.

use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};

use super::support::{Rig, copy_dir_into, design_team::Script, fake_openai};
use test_support::design_team;
use test_support::fake_openai::{FakeReply, FakeToolCall, RecordedRequest};

/// The real readtime library, copied into `to`.
pub(super) fn copy_readtime(to: &Path) {
    copy_dir_into("crates/repo/tests/fixtures/readtime", to);
}

const CITE: &str = "readtime/utils.py:66-93";

/// The architect's options draft first calls three tools: a real read, a search and a refused
/// read; every other request is the fake design team's.
fn responder() -> impl Fn(&RecordedRequest) -> FakeReply + Send + Sync + 'static {
    let team = design_team::responder(Script {
        cite: Some(CITE),
        ..Script::default()
    });
    move |req: &RecordedRequest| {
        let options_draft = req.last_user().contains("Propose at least three");
        if options_draft && !req.tool_names().is_empty() && req.tool_results().is_empty() {
            return FakeReply::tool_calls(vec![
                FakeToolCall::new(
                    "read_file",
                    json!({"path": "readtime/utils.py", "start_line": 60, "end_line": 95}),
                ),
                FakeToolCall::new("search", json!({"pattern": "def read_time"})),
                FakeToolCall::new("read_file", json!({"path": ".env"})),
            ]);
        }
        team(req)
    }
}

#[test]
fn a_capable_model_reads_the_code_with_tools_and_the_documents_cite_real_lines() {
    let server = fake_openai::FakeOpenAi::start(responder());
    let rig = Rig::with_server(
        server,
        "  context_window: 128000\n  max_output_tokens: 16384\n  tools: true\nworkflow:\n  review_rounds: 1\n",
    );
    let root = rig.project.path();
    copy_readtime(root);
    rig.project
        .write(".env", "OPENAI_API_KEY=sk-not-for-models\n");
    rig.run_headless(0);

    let requests = rig.server.requests();
    // Tools are offered to the capable model, by name.
    let offered = requests[0].tool_names();
    for t in ["list_files", "read_file", "search", "outline"] {
        assert!(offered.contains(&t.to_string()), "{offered:?}");
    }
    // The request after the tool calls carries their results: the real lines, numbered; the
    // search hit; the refusal of the secret file as an error the model reads.
    let answered: Vec<&RecordedRequest> = requests
        .iter()
        .filter(|r| !r.tool_results().is_empty())
        .collect();
    assert_eq!(answered.len(), 1, "one request carries the tool results");
    let results: Vec<&str> = answered[0]
        .tool_results()
        .iter()
        .map(|m| m.content.as_str())
        .collect();
    assert_eq!(results.len(), 3, "{results:#?}");
    let utils = std::fs::read_to_string(root.join("readtime/utils.py")).unwrap();
    let line66 = utils.lines().nth(65).unwrap();
    assert!(line66.starts_with("def read_time_as_seconds"), "{line66}");
    assert!(
        results[0].contains(&format!("66\t{line66}")),
        "{}",
        results[0]
    );
    assert!(
        results[1].contains("readtime/utils.py:66:"),
        "{}",
        results[1]
    );
    assert!(
        results[2].contains(".env") && !results[2].contains("sk-not-for-models"),
        "{}",
        results[2]
    );
    assert!(
        requests.iter().all(|r| !serde_json::to_string(&r.body)
            .unwrap()
            .contains("sk-not-for-models")),
        "the secret never reaches the model"
    );
    // The tool rounds are on record for the task.
    let record = rig
        .session_dir()
        .join("tool-rounds/options.draft.r0.architect.a1.jsonl");
    let lines = std::fs::read_to_string(&record).unwrap();
    assert_eq!(
        lines.lines().count(),
        4,
        "one answer with calls, three results: {lines}"
    );

    // Every prompt after intake carries the context pack, with the function that computes the
    // reading time, its path and its lines; authors are asked to cite.
    // (The proposal is asked for in parts: the task's prompt is the first user message.)
    let user = requests
        .iter()
        .filter_map(|r| r.messages.iter().find(|m| m.role == "user"))
        .map(|m| m.content.as_str())
        .find(|u| u.contains("Write the full design proposal"))
        .unwrap();
    assert!(user.contains("## Code from the repository"), "{user}");
    assert!(user.contains("readtime/utils.py:"), "{user}");
    assert!(user.contains("def read_time_as_seconds"), "{user}");
    assert!(user.contains("cite it as `path:line`"), "{user}");

    // The documents cite real lines, and validate checks them.
    let manifest: Value = serde_json::from_str(&rig.read(".agentmux/specs/manifest.json")).unwrap();
    for doc in manifest["selected_docs"].as_array().unwrap() {
        let f = doc.as_str().unwrap();
        let md = rig.read(&format!(".agentmux/specs/{f}"));
        assert!(md.contains(CITE), "{f}");
    }
    assert_eq!(
        manifest["baseline"]["files"]
            .as_object()
            .unwrap()
            .keys()
            .collect::<Vec<_>>(),
        ["readtime/utils.py"]
    );
    let v = rig.cmd().args(["validate"]).output().unwrap();
    assert!(v.status.success(), "{}", String::from_utf8_lossy(&v.stdout));
}

#[test]
fn a_greenfield_project_gets_no_pack_no_citation_rule() {
    let rig = Rig::new(
        Script::default(),
        "  context_window: 128000\n  max_output_tokens: 16384\n  tools: true\nworkflow:\n  review_rounds: 1\n",
    );
    rig.run_headless(0);
    for r in rig.server.requests() {
        let user = r.last_user();
        assert!(!user.contains("## Code from the repository"), "{user}");
        assert!(!user.contains("cite it as"), "{user}");
    }
}

/// The crash case: the architect's agent and the supervisor are killed with SIGKILL while
/// the options draft is in a tool round (its calls answered and recorded, the request with their
/// results on its way), the tmux server goes with them, then `resume`: the session completes,
/// the request the model answered with tool calls is never sent again, and the tools' results
/// are not recomputed (the resumed request carries the recorded ones).
#[test]
fn kill_9_during_a_tool_round_then_resume_completes_without_asking_again() {
    let server = fake_openai::FakeOpenAi::start(responder());
    server.configure(|s| s.latency = std::time::Duration::from_millis(1500));
    let rig = Rig::with_server(
        server,
        "  context_window: 128000\n  max_output_tokens: 16384\n  tools: true\nworkflow:\n  review_rounds: 1\n",
    );
    copy_readtime(rig.project.path());
    rig.cmd()
        .args(["start", "--detach", "--goal", "Reading time for CJK text"])
        .assert()
        .success();
    let record = |rig: &Rig| {
        std::fs::read_to_string(
            rig.session_dir()
                .join("tool-rounds/options.draft.r0.architect.a1.jsonl"),
        )
        .unwrap_or_default()
    };
    test_support::wait::wait_for(
        Duration::from_secs(60),
        "the tool results on record",
        || (record(&rig).lines().count() >= 4).then_some(()),
    );
    let heartbeat =
        std::fs::read_to_string(rig.session_dir().join("agents/architect/heartbeat")).unwrap();
    let agent: i32 = heartbeat
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let supervisor = rig.lock_holder_pid().expect("a supervisor holds the lock");
    for pid in [agent, supervisor] {
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGKILL,
        )
        .unwrap();
        test_support::wait::wait_for_exit(pid as u32, Duration::from_secs(30));
    }
    rig.tmux.tmux(&["kill-server"]);
    let before = rig.server.requests().len();
    rig.cmd().args(["resume", "--detach"]).assert().success();
    let (code, out) = rig.wait(180);
    assert_eq!(code, 0, "{out}");

    let requests = rig.server.requests();
    assert!(requests.len() > before);
    let options_draft = |r: &&RecordedRequest| {
        r.messages
            .iter()
            .any(|m| m.role == "user" && m.content.contains("Propose at least three"))
    };
    let asked: Vec<&RecordedRequest> = requests.iter().filter(options_draft).collect();
    let first_round = asked.iter().filter(|r| r.tool_results().is_empty()).count();
    assert_eq!(
        first_round, 1,
        "the request answered with tool calls was sent again"
    );
    // Every later request of the task carries the same recorded results.
    let with_results: Vec<Vec<String>> = asked
        .iter()
        .filter(|r| !r.tool_results().is_empty())
        .map(|r| r.tool_results().iter().map(|m| m.content.clone()).collect())
        .collect();
    assert!(!with_results.is_empty());
    assert!(
        with_results.windows(2).all(|w| w[0] == w[1]),
        "{with_results:#?}"
    );
    assert_eq!(record(&rig).lines().count(), 4, "no tool ran twice");
    rig.cmd().arg("validate").assert().success();
}
