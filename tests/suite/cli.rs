//! The binary's command surface and config errors.

use predicates::prelude::*;

use super::logs::session;
use super::support::{AgentmuxCmd as _, Project};

#[test]
fn help_lists_every_command() {
    let p = Project::new();
    let out = p
        .cmd()
        .arg("--help")
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(out).unwrap();
    insta::assert_snapshot!("help", text);
    for c in [
        "init",
        "start",
        "resume",
        "pause",
        "stop",
        "status",
        "list",
        "attach",
        "logs",
        "feedback",
        "approve",
        "wait",
        "validate",
        "doctor",
        "config",
        "completions",
        "run",
    ] {
        assert!(text.contains(&format!("\n  {c} ")), "--help misses {c}");
    }
    assert!(
        !text.contains("supervise"),
        "hidden commands must not be listed"
    );
}

#[test]
fn config_show_works_in_an_empty_directory_and_shows_origins() {
    let p = Project::new();
    p.cmd()
        .args(["config", "show"])
        .assert()
        .success()
        .stdout(predicate::str::contains("llm.temperature"))
        .stdout(predicate::str::contains("# default"));
}

#[test]
fn config_show_reports_each_layer_as_origin() {
    let p = Project::new();
    p.write(
        ".xdg-config-empty/agentmux/config.yaml",
        "llm:\n  temperature: 0.4\n",
    );
    p.write(".agentmux/config.yaml", "llm:\n  max_tokens: 1000\n");
    let out = p
        .cmd()
        .args(["config", "show", "--set", "workflow.review_rounds=3"])
        .env("AGENTMUX_MODEL", "m1")
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(out).unwrap();
    let line = |k: &str| {
        text.lines()
            .find(|l| l.starts_with(k))
            .unwrap_or_default()
            .to_string()
    };
    assert!(line("llm.temperature ").contains("user file"), "{text}");
    assert!(line("llm.max_tokens ").contains("project file"), "{text}");
    assert!(line("llm.model ").contains("env AGENTMUX_MODEL"), "{text}");
    assert!(
        line("workflow.review_rounds ").contains("flag --set"),
        "{text}"
    );
}

#[test]
fn the_bundled_local_model_gets_the_quick_demo_defaults_and_a_capable_one_does_not() {
    let p = Project::new();
    let show = |args: &[&str]| {
        let out = p
            .cmd()
            .args(["config", "show"])
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success());
        String::from_utf8(out.stdout).unwrap()
    };
    let line = |text: &str, k: &str| {
        text.lines()
            .find(|l| l.starts_with(k))
            .unwrap_or_default()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    };
    let local = show(&[]);
    assert_eq!(
        line(&local, "workflow.review_rounds "),
        "workflow.review_rounds 1 # default for the bundled local model"
    );
    assert!(line(&local, "workflow.design_docs.max ").starts_with("workflow.design_docs.max 1 #"));
    assert!(line(&local, "workflow.context_tokens ").starts_with("workflow.context_tokens 300 #"));
    // Seed 002's helpers are on by default, but not on the bundled model.
    for helper in ["data-modeler", "language-idioms"] {
        let key = format!("roles.{helper}.enabled ");
        assert_eq!(
            line(&local, &key),
            format!("{key}false # default for the bundled local model"),
            "{local}"
        );
    }
    // The user's own setting wins over the local default.
    let set = show(&["--set", "workflow.review_rounds=3"]);
    assert!(line(&set, "workflow.review_rounds ").starts_with("workflow.review_rounds 3 # flag"));
    // A configured endpoint is a capable model: the plain defaults.
    let remote = show(&["--set", "llm.base_url=http://127.0.0.1:9/v1"]);
    assert_eq!(
        line(&remote, "workflow.review_rounds "),
        "workflow.review_rounds 2 # default"
    );
    assert!(
        line(&remote, "workflow.context_tokens ").starts_with("workflow.context_tokens null #")
    );
    assert!(!remote.contains("roles.data-modeler.enabled"), "{remote}");
}

#[test]
fn api_key_is_masked_in_config_show() {
    let p = Project::new();
    p.cmd()
        .args(["config", "show", "--json"])
        .env("OPENAI_API_KEY", "sk-secret-value-123")
        .assert()
        .success()
        .stdout(predicate::str::contains("sk-secret-value-123").not())
        .stdout(predicate::str::contains("set (hidden)"));
}

#[test]
fn invalid_yaml_names_file_line_and_column() {
    let p = Project::new();
    p.write(".agentmux/config.yaml", "llm:\n  model: [oops\n");
    p.cmd()
        .args(["config", "show"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(".agentmux/config.yaml:2:"))
        .stderr(predicate::str::contains("invalid YAML"));
}

#[test]
fn unknown_key_suggests_the_closest_valid_key() {
    let p = Project::new();
    p.write(".agentmux/config.yaml", "llm:\n  modle: gpt-4o\n");
    p.cmd()
        .args(["config", "show"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "unknown key `llm.modle`, did you mean `llm.model`?",
        ))
        .stderr(predicate::str::contains("config.yaml:2"));
}

#[test]
fn wrong_type_names_the_key_and_expected_type() {
    let p = Project::new();
    p.write(
        ".agentmux/config.yaml",
        "workflow:\n  review_rounds: many\n",
    );
    p.cmd()
        .args(["config", "show"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("`workflow.review_rounds`"))
        .stderr(predicate::str::contains("non-negative integer"));
}

#[test]
fn a_layout_tmux_would_crash_on_is_refused_naming_the_key() {
    let p = Project::new();
    p.write(".agentmux/config.yaml", "tmux:\n  layout: spiral\n");
    p.cmd()
        .args(["config", "show"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("tmux.layout"))
        .stderr(predicate::str::contains("`spiral`"))
        .stderr(predicate::str::contains("main-vertical"));
}

#[test]
fn bad_env_and_flag_keys_name_their_origin() {
    let p = Project::new();
    p.cmd()
        .args(["config", "show"])
        .env("AGENTMUX_LLM__MODLE", "x")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("env AGENTMUX_LLM__MODLE"))
        .stderr(predicate::str::contains("did you mean `llm.model`?"));
    p.cmd()
        .args(["config", "show", "--set", "tmux.sokcet=x"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("did you mean `tmux.socket`?"));
}

#[test]
fn init_creates_config_and_specs_and_never_overwrites() {
    let p = Project::new();
    std::fs::create_dir(p.path().join(".git")).unwrap();
    p.cmd().arg("init").assert().success();
    let cfg = p.path().join(".agentmux/config.yaml");
    assert!(cfg.is_file());
    assert!(p.path().join(".agentmux/specs").is_dir());
    let gi = std::fs::read_to_string(p.path().join(".gitignore")).unwrap();
    assert!(gi.lines().any(|l| l == ".agentmux/sessions/"), "{gi}");
    // The example config it writes is itself a valid config.
    p.cmd().args(["config", "show"]).assert().success();
    std::fs::write(&cfg, "llm:\n  model: mine\n").unwrap();
    p.cmd()
        .arg("init")
        .assert()
        .success()
        .stdout(predicate::str::contains("kept"));
    assert_eq!(
        std::fs::read_to_string(&cfg).unwrap(),
        "llm:\n  model: mine\n"
    );
    let gi2 = std::fs::read_to_string(p.path().join(".gitignore")).unwrap();
    assert_eq!(gi, gi2, "init must not add the ignore entry twice");
}

#[test]
fn completions_print_a_script() {
    let p = Project::new();
    p.cmd()
        .args(["completions", "bash"])
        .assert()
        .success()
        .stdout(predicate::str::contains("agentmux"));
}

/// `start` with a tmux older than 3.2 on PATH: the error names the version and how to install a
/// newer one, and no session is left behind for the next `start` to trip over.
#[test]
fn start_with_an_old_tmux_fails_and_leaves_no_session() {
    use std::os::unix::fs::PermissionsExt;
    let p = Project::new();
    p.write(
        ".agentmux/config.yaml",
        "llm:\n  base_url: http://127.0.0.1:9/v1\n  model: m\n",
    );
    let bin = tempfile::tempdir().unwrap();
    let tmux = bin.path().join("tmux");
    std::fs::write(&tmux, "#!/bin/sh\necho 'tmux 3.1c'\n").unwrap();
    std::fs::set_permissions(&tmux, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!(
        "{}:{}",
        bin.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    for _ in 0..2 {
        p.cmd()
            .env("PATH", &path)
            .args(["start", "--detach", "--goal", "a todo app"])
            .assert()
            .failure()
            .stderr(predicate::str::contains("tmux 3.1 is too old"))
            .stderr(predicate::str::contains("apt install tmux"))
            .stderr(predicate::str::contains("resume").not());
    }
    let sessions = p.path().join(".agentmux/sessions");
    let left = std::fs::read_dir(&sessions).map(|d| d.count()).unwrap_or(0);
    assert_eq!(left, 0, "a session was left in {}", sessions.display());
}

/// What one command printed, both streams, and whether it succeeded.
fn said(p: &Project, args: &[&str]) -> (bool, String) {
    let out = p.cmd().args(args).output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// `stop`, `attach`, `status` and `logs` mean the same session: the one given, else the latest
/// started, whatever the names and the directories' modification times say; an unknown id is
/// the same error for each.
#[test]
fn every_command_resolves_the_same_session() {
    let p = Project::new();
    session(&p, "a-latest", "2020-02-01T00:00:00Z");
    // Created after the latest one, so its directory is the most recently modified.
    session(&p, "b-older", "2020-01-01T00:00:00Z");
    let with_id = |command: &'static str, id: &'static str| -> Vec<&'static str> {
        // `logs` takes the session as an option: its positional argument is a role.
        if command == "logs" {
            vec![command, "--session", id]
        } else {
            vec![command, id]
        }
    };
    for c in ["stop", "attach", "status", "logs"] {
        let (_, text) = said(&p, &[c]);
        assert!(text.contains("a-latest"), "{c:?}: {text}");
        assert!(!text.contains("b-older"), "{c:?}: {text}");
        let (_, text) = said(&p, &with_id(c, "b-older"));
        assert!(text.contains("b-older"), "{c:?} b-older: {text}");
        assert!(!text.contains("a-latest"), "{c:?} b-older: {text}");
        let (ok, text) = said(&p, &with_id(c, "nope"));
        assert!(!ok, "{c:?} nope: {text}");
        assert!(text.contains("no session `nope`"), "{c:?} nope: {text}");
        assert!(text.contains("`agentmux list`"), "{c:?} nope: {text}");
    }
}
