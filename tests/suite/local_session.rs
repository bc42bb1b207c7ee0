//! A whole design session in tmux against the real local model (llama-server + SmolLM2-135M) on
//! a real PRD (DevBench `readtime`). Skipped with a message when the runtime is not installed,
//! unless `AGENTMUX_REQUIRE_LOCAL_MODEL=1` (CI), which makes a missing runtime a failure.

use serde_json::Value;

use super::support::{AgentmuxCmd as _, Project, TmuxServer};

fn runtime_installed() -> bool {
    match llm::local::LocalRuntime::locate(&Default::default()) {
        Ok(_) => true,
        Err(e) => {
            if std::env::var("AGENTMUX_REQUIRE_LOCAL_MODEL").as_deref() == Ok("1") {
                panic!(
                    "AGENTMUX_REQUIRE_LOCAL_MODEL=1 but the local model runtime is missing: {e}"
                );
            }
            eprintln!("SKIPPED local_session: the local model runtime is not installed ({e})");
            false
        }
    }
}

/// 9 to 11 minutes and 39k to 43k tokens on an idle 2-core machine (two runs: 552 s / 42,723
/// tokens and about 620 s / 38,612 tokens); `scripts/test.sh` runs the `suite::local_` tests on
/// their own, one at a time, so nothing else starves the model. A build running beside it slows
/// llama-server's spinning threads several times over.
#[test]
fn local_model_session_on_a_real_prd_produces_valid_deliverables() {
    if !runtime_installed() {
        return;
    }
    let project = Project::new();
    // The PRD's own library is the project's code (the real readtime, BSD).
    super::grounding::copy_readtime(project.path());
    project.write("PRD.md", include_str!("../fixtures/prd/readtime.md"));
    let tokens = run_session(
        &project,
        &[
            "--prd",
            "PRD.md",
            "--journey",
            "A developer passes an HTML article to the tool and gets its reading time in minutes",
        ],
    );
    eprintln!("local session: {tokens} tokens");
    // The bundled model reads no code through tools: its proposal and design-document drafts
    // get the context pack, with the function that computes the reading time (`read_time`), its
    // path and lines.
    let tasks = std::fs::read_dir(project.path().join(".agentmux/sessions"))
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.path().join("tasks"))
        .next()
        .unwrap();
    let drafts: Vec<_> = std::fs::read_dir(&tasks)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            let n = p.file_name().unwrap().to_string_lossy().into_owned();
            n.starts_with("proposal.draft.") || n.starts_with("design_docs.doc-")
        })
        .collect();
    assert!(drafts.len() >= 3, "{drafts:?}");
    for p in drafts {
        let task: Value = serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
        let user = task["messages"][1]["content"].as_str().unwrap_or_default();
        assert!(
            user.contains("## Code from the repository")
                && user.contains("readtime/utils.py:")
                && user.contains("def read_time"),
            "{}: no context pack with the reading-time function:\n{user}",
            p.display()
        );
    }
}

/// The issue's "done when": `start --detach --goal ... --journey ...` then `wait`, with no PRD,
/// so the architect first writes the PRD (`specs/project.md`) on the local model.
///
/// Passed on an idle 2-core machine in 1,654 s / 53,941 tokens (with builds beside it part of the
/// time), after the manifest draft began to trace every PRD item by document position (before
/// that, 870-1,546 s and `validate` failed on traceability). Opt-in only because CI already runs
/// the PRD session above and this one adds 15-30 minutes:
/// `AGENTMUX_REQUIRE_LOCAL_MODEL=1 cargo test --test all local_model_session_from_goal -- --ignored`.
#[test]
#[ignore = "15-30 minutes on 2 cores; CI runs the PRD session instead"]
fn local_model_session_from_goal_and_journey_writes_the_prd_and_every_deliverable() {
    if !runtime_installed() {
        return;
    }
    let project = Project::new();
    let tokens = run_session(
        &project,
        &[
            "--goal",
            "A command-line tool that estimates the reading time of an HTML, markdown or text article",
            "--journey",
            "A developer passes an article file to the tool and reads its reading time in minutes",
        ],
    );
    let prd = std::fs::read_to_string(project.path().join(".agentmux/specs/project.md")).unwrap();
    assert!(prd.starts_with("# "), "{prd}");
    eprintln!("local goal session: {tokens} tokens");
}

/// Keeps a failed run's `.agentmux/` for reading: copied under cargo's target tmp dir when the
/// test panics (the project's temp dir is removed with it).
struct KeepOnFailure<'a>(&'a Project);

impl Drop for KeepOnFailure<'_> {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            return;
        }
        let to = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("local-session-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&to);
        let copied = std::process::Command::new("cp")
            .arg("-r")
            .arg(self.0.path().join(".agentmux"))
            .arg(&to)
            .status()
            .is_ok_and(|s| s.success());
        if copied {
            eprintln!(
                "the failed session's .agentmux/ is kept in {}",
                to.display()
            );
        }
    }
}

/// The traceability items of the ledger with their dispositions, for a failure message.
fn traceability_items(root: &std::path::Path) -> String {
    let Ok(text) = std::fs::read_to_string(root.join("feedback.json")) else {
        return "no feedback.json".into();
    };
    let ledger: Value = serde_json::from_str(&text).unwrap_or_default();
    ledger["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|i| i["author"] == "traceability")
        .map(|i| format!("{} {} -> {}\n", i["id"], i["comment"], i["disposition"]))
        .collect()
}

/// Starts a session in tmux with `start_args`, waits for it, checks every deliverable with
/// `agentmux validate` and the feedback ledger; returns the tokens used.
fn run_session(project: &Project, start_args: &[&str]) -> u64 {
    let tmux = TmuxServer::new();
    let _keep = KeepOnFailure(project);
    // One review round and two design documents keep the run to minutes on 2 cores.
    project.write(
        ".agentmux/config.yaml",
        "workflow:\n  review_rounds: 1\n  repair_attempts: 3\n  design_docs: { min: 2, max: 2 }\n",
    );
    let cmd = || project.cmd_on(&tmux);
    cmd()
        .arg("start")
        .arg("--detach")
        .args(start_args)
        .assert()
        .success();
    let out = cmd().args(["wait", "--timeout", "2400"]).output().unwrap();
    let status = cmd().args(["status", "--json"]).output().unwrap();
    let sessions = project.path().join(".agentmux/sessions");
    let log = std::fs::read_dir(&sessions)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| std::fs::read_to_string(e.path().join("logs/supervisor.log")).unwrap_or_default())
        .collect::<String>();
    assert!(
        out.status.success(),
        "wait: {}{}\nstatus: {}\nlog:\n{log}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&status.stdout)
    );
    // Every deliverable passes the validators (after repairs where the model needed them).
    let v = cmd().args(["validate", "--json"]).output().unwrap();
    let root = project.path().join(".agentmux");
    assert!(
        v.status.success(),
        "{}\ntraceability items:\n{}",
        String::from_utf8_lossy(&v.stdout),
        traceability_items(&root)
    );
    let manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(root.join("specs/manifest.json")).unwrap())
            .unwrap();
    assert_eq!(manifest["selected_docs"].as_array().unwrap().len(), 2);
    for f in [
        "options.md",
        "design_proposal.md",
        "implementation_plan.md",
        "feedback.md",
    ] {
        assert!(root.join(f).is_file(), "{f}");
    }
    let ledger: Value =
        serde_json::from_str(&std::fs::read_to_string(root.join("feedback.json")).unwrap())
            .unwrap();
    let items = ledger["items"].as_array().unwrap();
    for reviewer in ["principal-engineer", "code-reviewer"] {
        assert!(
            items.iter().any(|i| i["author"] == reviewer),
            "no items from {reviewer}"
        );
    }
    for i in items
        .iter()
        .filter(|i| i["author"] == "principal-engineer" || i["author"] == "code-reviewer")
    {
        assert!(!i["disposition"].is_null(), "item without disposition: {i}");
    }
    let s: Value = serde_json::from_slice(&status.stdout).unwrap();
    // The bundled model runs here: its calls are free, not unpriced.
    assert_eq!(s["cost_unknown_calls"], 0, "{s}");
    assert_eq!(s["cost_usd"], 0.0, "{s}");
    s["tokens"]["total"].as_u64().unwrap_or(0)
}
