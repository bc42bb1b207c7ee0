//! Model profiles end to end: a headless session against a fake server that reports its model's
//! limits journals the profile it resolved, asks for answers as long as the profile allows, and
//! keeps that profile when it is resumed with a different config.

use serde_json::{Value, json};

use predicates::prelude::*;

use super::support::design_team::Script;
use super::support::fake_openai::FakeOpenAi;
use super::support::{AgentmuxCmd as _, Project, Rig};

/// A rig whose fake server reports a 128k window and a 16k output limit for `fake-model`.
fn rig_with_a_large_model(extra_config: &str) -> Rig {
    let rig = Rig::new(Script::default(), extra_config);
    rig.server.configure(|s| {
        s.model_fields
            .insert("context_length".into(), json!(128_000));
        s.model_fields
            .insert("max_completion_tokens".into(), json!(16_384));
    });
    rig
}

/// The `model_profiles` records of the journal.
fn profile_records(rig: &Rig) -> Vec<Value> {
    rig.journal()
        .into_iter()
        .filter(|e| e["type"] == "model_profiles")
        .collect()
}

/// The `max_tokens` (or `max_completion_tokens`) of every chat request the server received.
fn requested_max_tokens(rig: &Rig) -> Vec<u64> {
    rig.server
        .requests()
        .iter()
        .map(|r| {
            r.body["max_tokens"]
                .as_u64()
                .or_else(|| r.body["max_completion_tokens"].as_u64())
                .unwrap_or(0)
        })
        .collect()
}

fn architect_profile(status: &Value) -> Value {
    status["profiles"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["role"] == "architect")
        .unwrap_or_else(|| panic!("no architect profile: {status}"))["profile"]
        .clone()
}

#[test]
fn a_session_records_the_endpoint_profile_and_asks_for_its_output_budget() {
    let rig = rig_with_a_large_model("workflow:\n  review_rounds: 1\n");
    rig.run_headless(0);
    assert_eq!(profile_records(&rig).len(), 1);
    let p = architect_profile(&rig.status());
    assert_eq!(p["model"], "fake-model");
    assert_eq!(
        p["context_window"],
        json!({"value": 128000, "source": "endpoint"})
    );
    assert_eq!(
        p["max_output_tokens"],
        json!({"value": 16384, "source": "endpoint"})
    );
    assert_eq!(p["local"], false);
    let asked = requested_max_tokens(&rig);
    assert!(!asked.is_empty());
    assert!(asked.iter().all(|n| *n >= 16_000), "{asked:?}");
}

#[test]
fn a_resumed_session_keeps_its_profile_when_the_config_changed() {
    let rig = rig_with_a_large_model("  max_total_tokens: 50\n");
    rig.run_headless(3);
    let before = architect_profile(&rig.status());
    let asked_before = requested_max_tokens(&rig).len();
    rig.cmd()
        .args([
            "--set",
            "llm.max_total_tokens=100000000",
            "--set",
            "llm.context_window=1000",
            "--set",
            "llm.max_output_tokens=500",
            "resume",
            "--detach",
        ])
        .assert()
        .success();
    let (code, out) = rig.wait(120);
    assert_eq!(code, 0, "{out}");
    assert_eq!(profile_records(&rig).len(), 1, "resolved once");
    assert_eq!(architect_profile(&rig.status()), before);
    let asked = requested_max_tokens(&rig);
    assert!(asked.len() > asked_before);
    assert!(asked.iter().all(|n| *n >= 16_000), "{asked:?}");
}

#[test]
fn doctor_prints_each_roles_profile_with_what_the_server_reports() {
    let fake = FakeOpenAi::fixed("{\"ok\": true}");
    fake.configure(|s| s.props = Some(json!({"default_generation_settings": {"n_ctx": 32768}})));
    Project::new()
        .cmd()
        .args(["doctor", "--set"])
        .arg(format!("llm.base_url={}", fake.url()))
        .args(["--set", "llm.model=fake-model"])
        .assert()
        .stdout(predicate::str::contains(
            "architect: fake-model, window 32768 (endpoint), output 4096 (default)",
        ));
}

#[test]
fn config_show_prints_each_roles_profile_and_its_sources_without_asking_the_endpoint() {
    let p = Project::new();
    p.write(
        ".agentmux/config.yaml",
        "llm:\n  base_url: http://127.0.0.1:9/v1\n  model: gpt-4o\n  context_window: 64000\nroles:\n  code-reviewer:\n    model: o3\n",
    );
    p.cmd()
        .args(["config", "show"])
        .assert()
        .success()
        .stdout(predicate::str::contains("`agentmux doctor`"))
        .stdout(predicate::str::contains(
            "architect: gpt-4o, window 64000 (config), output 16384 (built-in)",
        ))
        .stdout(predicate::str::contains(
            "code-reviewer: o3, window 200000 (built-in), output 100000 (built-in), json json_schema (built-in), tools yes (built-in), reasoning medium (built-in), prices none (default)",
        ));
}
