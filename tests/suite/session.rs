//! End to end: a whole design session in tmux (private server) against the fake model server.

use std::time::Duration;

use serde_json::Value;
use test_support::wait::try_wait_for;

use super::support::Rig;
use super::support::design_team::Script;
#[allow(unused_imports)]
use predicates::prelude::*;

fn assert_deliverables(rig: &Rig) -> Value {
    let manifest: Value = serde_json::from_str(&rig.read(".agentmux/specs/manifest.json")).unwrap();
    let docs: Vec<String> = manifest["selected_docs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    assert_eq!(docs.len(), 2, "{manifest}");
    let mut on_disk: Vec<String> = std::fs::read_dir(rig.project.path().join(".agentmux/specs"))
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .filter(|n| n.ends_with("_design.md"))
        .collect();
    on_disk.sort();
    let mut sorted = docs.clone();
    sorted.sort();
    assert_eq!(
        on_disk, sorted,
        "the manifest lists exactly the files written"
    );
    for d in &docs {
        let text = rig.read(&format!(".agentmux/specs/{d}"));
        assert!(text.contains("```mermaid"), "{d} has a diagram");
    }
    for f in [
        "options.md",
        "design_proposal.md",
        "implementation_plan.md",
        "feedback.md",
    ] {
        assert!(
            !rig.read(&format!(".agentmux/{f}")).trim().is_empty(),
            "{f}"
        );
    }
    let ledger: Value = serde_json::from_str(&rig.read(".agentmux/feedback.json")).unwrap();
    let items = ledger["items"].as_array().unwrap();
    for reviewer in ["principal-engineer", "code-reviewer"] {
        assert!(
            items.iter().any(|i| i["author"] == reviewer),
            "items from {reviewer}: {ledger}"
        );
    }
    for i in items.iter().filter(|i| i["author"] != "traceability") {
        assert!(
            !i["disposition"].is_null(),
            "every item has a disposition: {i}"
        );
    }
    assert!(
        rig.read(".agentmux/design_proposal.md")
            .contains("Revision History")
    );
    ledger
}

#[test]
fn a_detached_session_produces_every_deliverable_on_the_fake_server() {
    let rig = Rig::new(Script::default(), "workflow:\n  review_rounds: 2\n");
    rig.cmd()
        .args([
            "start",
            "--detach",
            "--goal",
            "A team link shortener with click statistics",
            "--journey",
        ])
        .arg("Alice shortens a URL, shares it, and reads the clicks on Friday")
        .assert()
        .success();
    let out = rig
        .cmd()
        .args(["wait", "--timeout", "180"])
        .output()
        .unwrap();
    let status = rig.cmd().args(["status", "--json"]).output().unwrap();
    assert!(
        out.status.success(),
        "wait: {}\n{}\nstatus: {}\nsupervisor log: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&status.stdout),
        std::fs::read_to_string(
            rig.project
                .path()
                .join(".agentmux/sessions")
                .join(rig.session_id())
                .join("logs/supervisor.log")
        )
        .unwrap_or_default()
    );
    assert_deliverables(&rig);
    let status: Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(status["state"], "completed");
    // The validators accept what the session wrote.
    rig.cmd().arg("validate").assert().success();
    // The session's tmux session is gone once it completed.
    let closed = try_wait_for(Duration::from_secs(15), Duration::from_millis(200), || {
        rig.tmux.sessions().is_empty().then_some(())
    });
    assert!(
        closed.is_some(),
        "tmux sessions left: {:?}",
        rig.tmux.sessions()
    );
}

#[test]
fn the_supervisor_pane_shows_the_stage_and_the_agents() {
    let rig = Rig::new(Script::default(), "");
    rig.server
        .configure(|s| s.latency = Duration::from_millis(400));
    rig.cmd()
        .args(["start", "--detach", "--goal", "A team link shortener"])
        .assert()
        .success();
    let runtime: Value = serde_json::from_str(
        &std::fs::read_to_string(rig.session_dir().join("runtime.json")).unwrap(),
    )
    .unwrap();
    let pane = runtime["panes"]["supervisor"].as_str().unwrap().to_string();
    let capture = || {
        rig.tmux
            .try_tmux(&["capture-pane", "-p", "-t", &pane])
            .unwrap_or_default()
    };
    let screen = try_wait_for(Duration::from_secs(60), Duration::from_millis(200), || {
        let s = capture();
        (s.contains("architect") && s.contains("principal-engineer") && s.contains("options"))
            .then_some(s)
    })
    .unwrap_or_else(capture);
    for needle in [
        "architect",
        "principal-engineer",
        "code-reviewer",
        "options",
        "proposal",
    ] {
        assert!(
            screen.contains(needle),
            "the supervisor pane lacks `{needle}`:\n{screen}"
        );
    }
    rig.cmd().arg("stop").assert().success();
}

#[test]
fn a_human_gate_waits_for_feedback_and_approval_with_helper_roles_on() {
    let rig = Rig::new(
        Script::default(),
        "workflow:\n  gates: { options: human }\nroles:\n  data-modeler: { enabled: true }\n  language-idioms: { enabled: true }\n",
    );
    rig.cmd()
        .args(["start", "--detach", "--goal", "A team link shortener"])
        .assert()
        .success();
    rig.wait_journal(60, "the options gate", |j| {
        j.iter().any(|e| e["type"] == "gate_waiting")
    });
    let status = rig.status();
    assert_eq!(status["waiting_for_approval"], "options", "{status}");
    // Human feedback at the gate becomes an item of the options review and gets a disposition.
    rig.cmd()
        .args([
            "feedback",
            "Prefer one PostgreSQL database over two stores",
            "--category",
            "critical",
            "--section",
            "Options",
        ])
        .assert()
        .success();
    rig.wait_journal(60, "the human item's disposition", |j| {
        j.iter().any(|e| {
            e["type"] == "disposition_recorded"
                && e["disposition"]["item_id"]
                    .as_str()
                    .is_some_and(|i| i.contains("-HU-"))
        })
    });
    rig.cmd()
        .args(["approve", "--option", "B"])
        .assert()
        .success();
    let (code, out) = rig.wait(120);
    assert_eq!(code, 0, "{out}");
    let j = rig.journal();
    assert!(
        j.iter()
            .any(|e| e["type"] == "option_selected" && e["option"] == "B" && e["by"] == "human")
    );
    // The helper roles contributed before the proposal.
    for role in ["data-modeler", "language-idioms"] {
        assert!(
            j.iter().any(|e| e["type"] == "task_completed"
                && e["role"] == role
                && e["stage"] == "helpers"),
            "{role} did not contribute"
        );
    }
    let ledger: Value = serde_json::from_str(&rig.read(".agentmux/feedback.json")).unwrap();
    let human = ledger["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["author"] == "human")
        .expect("human item");
    assert_eq!(human["category"], "critical");
    assert!(!human["disposition"].is_null());
    // The session is listed, and its transcripts outlive the panes.
    let list: Value =
        serde_json::from_slice(&rig.cmd().args(["list", "--json"]).output().unwrap().stdout)
            .unwrap();
    assert_eq!(list[0]["state"], "completed");
    rig.cmd()
        .args(["logs", "architect"])
        .assert()
        .success()
        .stdout(predicates::str::contains("options"));
}

/// `agentmux run --goal ...` (one review round) to completion; the rig and the run's stderr.
fn headless_run(script: Script) -> (Rig, String) {
    let rig = Rig::new(script, "workflow:\n  review_rounds: 1\n");
    let stderr = rig.run_headless(0);
    (rig, stderr)
}

#[test]
fn headless_run_completes_without_tmux_and_exits_zero() {
    let (rig, stderr) = headless_run(Script::default());
    assert!(stderr.contains("completed"));
    assert!(rig.tmux.sessions().is_empty(), "run uses no tmux");
    rig.cmd().arg("validate").assert().success();
}

#[test]
fn cached_prompt_tokens_reach_the_journal_status_and_cost() {
    // Prices per million tokens: 1 for uncached prompt, 0.25 for cached prompt, 2 for output.
    let rig = Rig::new(
        Script::default(),
        "  prices:\n    fake-model: { input_per_mtok: 1.0, cached_input_per_mtok: 0.25, output_per_mtok: 2.0 }\nworkflow:\n  review_rounds: 1\n",
    );
    rig.server.configure(|s| s.cached_prompt_tokens = Some(40));
    rig.run_headless(0);

    let (mut prompt, mut cached, mut cost) = (0u64, 0u64, 0f64);
    for e in rig
        .journal()
        .iter()
        .filter(|e| e["type"] == "task_completed")
    {
        let u = &e["usage"];
        let (p, c, o) = (
            u["prompt_tokens"].as_u64().unwrap(),
            u["cached_prompt_tokens"].as_u64().unwrap(),
            u["completion_tokens"].as_u64().unwrap(),
        );
        // 40 cached tokens a call; a document asked for in parts makes one call per part.
        let calls = rig.task_calls(e["task_id"].as_str().unwrap());
        assert_eq!(c, (40 * calls).min(p), "{e}");
        let expected = ((p - c) as f64 * 1.0 + c as f64 * 0.25 + o as f64 * 2.0) / 1e6;
        let recorded = e["cost_usd"].as_f64().unwrap();
        assert!(
            (recorded - expected).abs() < 1e-12,
            "{recorded} != {expected}: {e}"
        );
        prompt += p;
        cached += c;
        cost += expected;
    }
    assert!(cached > 0);

    let status = rig.cmd().args(["status", "--json"]).output().unwrap();
    let v: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(v["tokens"]["prompt"], prompt);
    assert_eq!(v["tokens"]["cached_prompt"], cached);
    let share = v["tokens"]["cached_share"].as_f64().unwrap();
    assert!(
        (share - cached as f64 / prompt as f64).abs() < 1e-4,
        "{share}"
    );
    assert!((v["cost_usd"].as_f64().unwrap() - cost).abs() < 1e-6, "{v}");
    let by_role: u64 = v["agents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["cached_prompt_tokens"].as_u64().unwrap())
        .sum();
    assert_eq!(by_role, cached);
    let by_stage: u64 = v["by_stage"]
        .as_object()
        .unwrap()
        .values()
        .map(|s| s["cached_prompt"].as_u64().unwrap())
        .sum();
    assert_eq!(by_stage, cached);
}

#[test]
fn a_broken_template_override_fails_the_session_naming_the_file() {
    let rig = Rig::new(Script::default(), "workflow:\n  review_rounds: 1\n");
    rig.project
        .write(".agentmux/templates/options.md.j2", "# Options\n{% if %}\n");
    let out = rig
        .cmd()
        .args(["run", "--goal", "A team link shortener"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_ne!(out.status.code(), Some(0), "{stderr}");
    let failed = rig
        .journal()
        .into_iter()
        .find(|e| e["type"] == "failed")
        .unwrap_or_else(|| panic!("no `failed` record: {stderr}"));
    let reason = failed["reason"].as_str().unwrap();
    assert!(
        reason.contains("options.md.j2") && reason.contains("line 2"),
        "{reason}"
    );
    // Failed before accepting any document.
    assert!(
        !rig.journal()
            .iter()
            .any(|e| e["type"] == "artifact_accepted")
    );
    // A failed session still ends with its report, saying so.
    let report = rig.read(".agentmux/report.html");
    assert!(report.contains(" · failed · "), "the report's status");
    assert!(stderr.contains("report: "), "{stderr}");
}

#[test]
fn the_token_budget_pauses_the_session_and_says_which_limit() {
    let rig = Rig::new(Script::default(), "  max_total_tokens: 50\n");
    rig.run_headless(3);
    let status = rig.status();
    assert_eq!(status["state"], "paused");
    let reason = status["pause_reason"].as_str().unwrap();
    assert!(reason.contains("llm.max_total_tokens"), "{reason}");
    let before = rig.server.request_count();
    // Raising the limit on resume continues the session.
    rig.cmd()
        .args([
            "--set",
            "llm.max_total_tokens=100000000",
            "resume",
            "--detach",
        ])
        .assert()
        .success();
    let (code, out) = rig.wait(120);
    assert_eq!(code, 0, "{out}");
    assert!(rig.server.request_count() > before);
}

/// A PRD item the manifest leaves out becomes a critical item; once the architect accepts it in
/// a design document, the manifest maps the item to that document and `validate` passes.
#[test]
fn an_untraced_prd_item_is_raised_accepted_and_mapped_in_the_manifest() {
    // The fake architect's PRD has O1, FR-1, J1 and J2.
    let script = Script {
        untraced: vec!["FR-1", "J2"],
        ..Script::default()
    };
    let (rig, _) = headless_run(script);
    let ledger: Value = serde_json::from_str(&rig.read(".agentmux/feedback.json")).unwrap();
    let raised: Vec<&Value> = ledger["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["author"] == "traceability")
        .collect();
    for id in ["FR-1", "J2"] {
        let item = raised
            .iter()
            .find(|i| i["comment"].as_str().unwrap().contains(id))
            .unwrap_or_else(|| panic!("no traceability item for {id}: {ledger}"));
        assert_eq!(item["category"], "critical", "{item}");
        assert_eq!(item["disposition"]["decision"], "accepted", "{item}");
    }
    let manifest: Value = serde_json::from_str(&rig.read(".agentmux/specs/manifest.json")).unwrap();
    let docs = manifest["selected_docs"].as_array().unwrap();
    for id in ["FR-1", "J2"] {
        let mapped = manifest["traceability"][id].as_array().unwrap();
        assert!(
            !mapped.is_empty() && mapped.iter().all(|d| docs.contains(d)),
            "{manifest}"
        );
    }
    rig.cmd().arg("validate").assert().success();
}

/// On a capable (remote) model, `stop_when` defaults to no_critical_or_important: an addressed
/// important item gets a re-review; an explicit `stop_when: no_critical` keeps one round.
#[test]
fn a_remote_session_re_reviews_important_items_unless_configured_otherwise() {
    let rereviews = |config: &str| {
        let script = Script {
            review_items: vec!["important"],
            ..Script::default()
        };
        let rig = Rig::new(script, config);
        rig.run_headless(0);
        rig.journal()
            .iter()
            .filter(|e| e["type"] == "task_dispatched" && e["kind"]["kind"] == "re_review")
            .count()
    };
    assert!(rereviews("workflow:\n  review_rounds: 2\n") > 0);
    assert_eq!(
        rereviews("workflow:\n  review_rounds: 2\n  stop_when: no_critical\n"),
        0
    );
}
