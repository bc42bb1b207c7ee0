//! Roles run by coding-agent CLIs (`roles.<name>.backend`), in real tmux sessions on a private
//! server: the real Codex and Claude Code against the fake Messages and Responses APIs on
//! 127.0.0.1, mixed with an API role on the fake OpenAI server; pause and resume with a CLI
//! mid-task; and each failure (not installed, non-zero exit, timeout, unparseable output)
//! through the generic `command` backend, whose programs are small shell scripts.
//!
//! The tests that need the real CLIs skip with a message when they are not installed (run
//! `scripts/install-agent-clis.sh`), unless `AGENTMUX_REQUIRE_AGENT_CLIS=1` (set by CI).

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;
use test_support::design_team::{self, Script};
use test_support::fake_agent_apis::{self, Api, FakeAgentApis};
use test_support::wait::wait_for;

use super::support::{Rig, agentmux_bin};

/// The directory holding `claude` and `codex`, or None (test skipped) when they are missing.
fn agent_clis() -> Option<PathBuf> {
    cli_dir(&["claude", "codex"])
}

/// The directory holding every one of `names`, or None (test skipped) when one is missing.
fn cli_dir(names: &[&str]) -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    let home = std::env::var_os("AGENTMUX_HOME")
        .map(PathBuf::from)
        .or_else(|| dirs_home().map(|h| h.join(".local/share/agentmux")));
    if let Some(h) = home {
        dirs.insert(0, h.join("bin"));
    }
    let found = dirs
        .into_iter()
        .find(|d| names.iter().all(|n| d.join(n).is_file()));
    if found.is_none() {
        let names = names.join(", ");
        if std::env::var("AGENTMUX_REQUIRE_AGENT_CLIS").as_deref() == Ok("1") {
            panic!("AGENTMUX_REQUIRE_AGENT_CLIS=1 but one of {names} is not installed");
        }
        eprintln!(
            "SKIPPED cli_backends test: one of {names} is not installed; run \
             scripts/install-agent-clis.sh, or set AGENTMUX_REQUIRE_AGENT_CLIS=1 to make this a failure"
        );
    }
    found
}

fn dirs_home() -> Option<PathBuf> {
    std::env::var_os("HOME").map(PathBuf::from)
}

/// A project whose architect runs on Codex and principal-engineer on Claude Code, both against
/// `apis`, and whose code-reviewer stays on the API (the rig's fake OpenAI server).
struct Mixed {
    rig: Rig,
    apis: FakeAgentApis,
    /// PATH, HOME and the CLIs' settings for the agents' panes.
    env: Vec<(String, String)>,
}

impl Mixed {
    fn new(bin: &Path, extra_config: &str) -> Self {
        let apis = FakeAgentApis::start(design_team::responder(Script::default()));
        let rig = Rig::new(
            Script::default(),
            &format!(
                "workflow:\n  review_rounds: 1\nroles:\n  architect:\n    backend: codex\n    \
                 model: fake-codex\n  principal-engineer:\n    backend: claude\n{extra_config}"
            ),
        );
        let home = rig.project.path().join(".test-home");
        let codex_home = home.join(".codex");
        std::fs::create_dir_all(&codex_home).unwrap();
        std::fs::write(
            codex_home.join("config.toml"),
            format!(
                "model_provider = \"fake\"\n\n[model_providers.fake]\nname = \"fake\"\n\
                 base_url = \"{}\"\nwire_api = \"responses\"\nenv_key = \"FAKE_CODEX_KEY\"\n",
                apis.v1_url()
            ),
        )
        .unwrap();
        let path = path_with(bin);
        let env = vec![
            ("PATH".into(), path),
            ("HOME".into(), home.display().to_string()),
            ("CODEX_HOME".into(), codex_home.display().to_string()),
            ("FAKE_CODEX_KEY".into(), "test-key".into()),
            ("ANTHROPIC_BASE_URL".into(), apis.base_url()),
            ("ANTHROPIC_API_KEY".into(), "test-key".into()),
        ];
        Self { rig, apis, env }
    }

    fn cmd(&self) -> assert_cmd::Command {
        let mut c = self.rig.cmd();
        c.envs(self.env.iter().map(|(k, v)| (k, v)));
        c
    }

    fn start(&self) {
        self.cmd()
            .args(["start", "--detach", "--goal", "A team link shortener"])
            .assert()
            .success();
    }

    /// `wait` until the session ends; panics with the status and logs when it did not complete.
    fn wait_completed(&self, secs: u64) {
        let (code, out) = self.rig.wait(secs);
        assert_eq!(code, 0, "{out}\n--- agents ---\n{}", self.agent_logs());
    }

    fn agent_logs(&self) -> String {
        let dir = self.rig.session_dir();
        ["architect", "principal-engineer", "code-reviewer"]
            .iter()
            .map(|r| {
                format!(
                    "== {r}\n{}",
                    std::fs::read_to_string(dir.join("agents").join(r).join("transcript.log"))
                        .unwrap_or_default()
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// `PATH` with the CLIs' directory first.
fn path_with(bin: &Path) -> String {
    format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

/// A private `HOME` in the project where Gemini CLI authenticates with an API key (the only
/// way to give it a base URL).
fn gemini_home(rig: &Rig) -> PathBuf {
    let home = rig.project.path().join(".test-home");
    std::fs::create_dir_all(home.join(".gemini")).unwrap();
    std::fs::write(
        home.join(".gemini/settings.json"),
        r#"{"security": {"auth": {"selectedType": "gemini-api-key"}}}"#,
    )
    .unwrap();
    home
}

/// Completed tasks in the journal, by role: (calls, prompt tokens, cost or None when unknown).
fn completed_by_role(journal: &[Value], role: &str) -> Vec<(u64, Option<f64>)> {
    journal
        .iter()
        .filter(|e| e["type"] == "task_completed" && e["role"] == role)
        .map(|e| {
            (
                e["usage"]["prompt_tokens"].as_u64().unwrap_or(0),
                e["cost_usd"].as_f64(),
            )
        })
        .collect()
}

#[test]
fn a_mixed_team_on_codex_claude_code_and_the_api_completes_a_session() {
    let Some(bin) = agent_clis() else { return };
    let m = Mixed::new(&bin, "");
    m.start();
    m.wait_completed(600);
    // Each CLI answered through its own API, the reviewer through the OpenAI one.
    let reqs = m.apis.requests();
    assert!(
        reqs.iter().any(|r| r.api == Api::Responses),
        "codex asked nothing"
    );
    assert!(
        reqs.iter().any(|r| r.api == Api::Messages),
        "claude asked nothing"
    );
    // Codex got the schema through --output-schema, Claude Code through its StructuredOutput tool.
    assert!(
        reqs.iter()
            .any(|r| r.api == Api::Responses && r.body["text"]["format"]["type"] == "json_schema")
    );
    assert!(reqs.iter().any(|r| {
        r.api == Api::Messages
            && r.body["tools"]
                .as_array()
                .is_some_and(|ts| ts.iter().any(|t| t["name"] == "StructuredOutput"))
    }));
    // Read-only: Claude Code was offered no tool that writes or runs commands.
    for r in reqs.iter().filter(|r| r.api == Api::Messages) {
        for t in r.body["tools"].as_array().into_iter().flatten() {
            let name = t["name"].as_str().unwrap_or_default();
            assert!(
                !["Bash", "Edit", "Write", "NotebookEdit", "MultiEdit"].contains(&name),
                "claude was offered {name}"
            );
        }
    }
    assert!(
        m.rig.server.request_count() > 0,
        "the API reviewer asked nothing"
    );
    // Usage and cost: Claude Code's own cost, Codex's usage with the cost unknown.
    let journal = m.rig.journal();
    let architect = completed_by_role(&journal, "architect");
    assert!(!architect.is_empty());
    assert!(
        architect
            .iter()
            .all(|(p, c)| *p == fake_agent_apis::INPUT_TOKENS && c.is_none()),
        "{architect:?}"
    );
    let engineer = completed_by_role(&journal, "principal-engineer");
    assert!(!engineer.is_empty());
    assert!(engineer.iter().all(|(p, _)| *p > 0), "{engineer:?}");
    // The pane's transcript shows the CLI's progress; the raw output is kept per task.
    let log = m.agent_logs();
    assert!(log.contains("codex: done"), "{log}");
    assert!(log.contains("claude: done"), "{log}");
    let raw = m.rig.session_dir().join("agents/architect/cli");
    assert!(
        std::fs::read_dir(&raw)
            .unwrap()
            .filter_map(|e| e.ok())
            .any(|e| e.file_name().to_string_lossy().ends_with(".jsonl")),
        "no raw output in {raw:?}"
    );
    // status --json: Claude Code's reported cost is counted; Codex's calls are unknown, not $0.
    let status = m.rig.status();
    assert_eq!(status["state"], "completed");
    let agent = |role: &str| {
        status["agents"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|a| a["role"] == role)
            .cloned()
            .unwrap_or_else(|| panic!("no {role} in status --json: {status}"))
    };
    let (eng, arch) = (agent("principal-engineer"), agent("architect"));
    assert!(eng["cost_usd"].as_f64().unwrap() > 0.0, "{eng}");
    assert_eq!(eng["cost_unknown_calls"], 0, "{eng}");
    assert_eq!(arch["cost_usd"], 0.0, "{arch}");
    assert_eq!(
        arch["cost_unknown_calls"].as_u64(),
        Some(architect.len() as u64),
        "{arch}"
    );
    assert!(status["cost_unknown_calls"].as_u64().unwrap() >= architect.len() as u64);
    assert!(status["cost_usd"].as_f64().unwrap() >= eng["cost_usd"].as_f64().unwrap());
}

#[test]
fn pausing_ends_a_cli_mid_task_and_resume_reuses_the_answered_tasks() {
    let Some(bin) = agent_clis() else { return };
    let m = Mixed::new(&bin, "");
    m.start();
    // Hold the CLIs' API once the first Codex task has been answered: the next CLI call waits.
    wait_for(Duration::from_secs(180), "a codex answer", || {
        (m.apis.count(Api::Responses, "") > 0).then_some(())
    });
    m.apis.hold();
    wait_for(Duration::from_secs(180), "a CLI waiting mid-task", || {
        (m.apis.waiting() > 0).then_some(())
    });
    let project = m.rig.project.path().canonicalize().unwrap();
    let running = cli_pids(&project);
    assert!(!running.is_empty(), "no CLI process while one is mid-task");
    m.cmd().arg("pause").assert().success();
    wait_for(Duration::from_secs(30), "the CLIs to end", || {
        cli_pids(&project)
            .iter()
            .all(|p| !running.contains(p))
            .then_some(())
    });
    let answered = m
        .rig
        .journal()
        .iter()
        .filter(|e| e["type"] == "task_completed")
        .count();
    let before = m.apis.requests().len();
    m.apis.release();
    m.cmd().args(["resume", "--detach"]).assert().success();
    m.wait_completed(600);
    // Every task answered before the pause kept its result: the journal holds each once.
    let journal = m.rig.journal();
    let mut ids: Vec<&str> = journal
        .iter()
        .filter(|e| e["type"] == "task_completed")
        .filter_map(|e| e["task_id"].as_str())
        .collect();
    let total = ids.len();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), total, "a task completed twice");
    assert!(total > answered && answered > 0);
    assert!(m.apis.requests().len() > before);
}

/// Pids of the `claude` and `codex` processes running now in `project`.
fn cli_pids(project: &Path) -> Vec<u32> {
    let Ok(rd) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    rd.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read_link(format!("/proc/{pid}/cwd")).is_ok_and(|d| d == project)
                && std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|c| {
                    let c = String::from_utf8_lossy(&c);
                    c.contains("claude") || c.contains("codex")
                })
        })
        .collect()
}

/// A project whose architect runs the `command` backend with `script` (a shell script body).
fn command_rig(script: &str, extra: &str) -> Rig {
    let rig = Rig::new(Script::default(), "");
    let path = rig.project.write(".bin/agent.sh", script);
    let cfg = format!(
        "llm:\n  base_url: {}\n  model: fake-model\n  structured_output: json_schema\n\
         workflow:\n  task_attempts: 1\nroles:\n  architect:\n    backend: command\n    \
         command: sh {}\n{extra}",
        rig.server.url(),
        path.display()
    );
    rig.project.write(".agentmux/config.yaml", &cfg);
    rig
}

/// Starts the session, waits for it to stop, and returns the architect's failure as journaled.
fn failure_of(rig: &Rig) -> String {
    rig.cmd()
        .args(["start", "--detach", "--goal", "A team link shortener"])
        .assert()
        .success();
    rig.wait_journal(120, "a failed architect task", |j| {
        j.iter()
            .any(|e| e["type"] == "task_failed" && e["role"] == "architect")
    });
    let j = rig.journal();
    let e = j
        .iter()
        .find(|e| e["type"] == "task_failed" && e["role"] == "architect")
        .unwrap();
    e["error"].as_str().unwrap_or_default().to_string()
}

#[test]
fn a_command_backend_that_exits_non_zero_names_the_role_the_command_and_its_stderr() {
    let rig = command_rig("echo 'please log in first' >&2\nexit 3\n", "");
    let e = failure_of(&rig);
    assert!(e.contains("role architect"), "{e}");
    assert!(e.contains("backend `command`"), "{e}");
    assert!(e.contains("agent.sh"), "{e}");
    assert!(e.contains("status 3"), "{e}");
    assert!(e.contains("please log in first"), "{e}");
}

#[test]
fn a_command_backend_past_its_timeout_is_ended_with_its_children() {
    let rig = command_rig(
        "sleep 300 &\necho $! > \"$AGENTMUX_ROLE.child\"\nwait\n",
        "    timeout_secs: 2\n",
    );
    let e = failure_of(&rig);
    assert!(e.contains("no answer within 2s"), "{e}");
    assert!(e.contains("roles.architect.timeout_secs"), "{e}");
    // The background `sleep` (same process group) was ended too.
    let pid: u32 = std::fs::read_to_string(rig.project.path().join("architect.child"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    wait_for(Duration::from_secs(10), "the child to end", || {
        (!std::path::Path::new(&format!("/proc/{pid}")).exists()
            || std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .is_ok_and(|s| s.contains(") Z")))
        .then_some(())
    });
}

#[test]
fn a_command_backend_that_prints_no_json_is_an_output_error() {
    let rig = command_rig("cat > /dev/null\necho 'I would rather chat'\n", "");
    let e = failure_of(&rig);
    assert!(e.contains("not what agentmux expects"), "{e}");
    assert!(e.contains("holds no JSON object"), "{e}");
}

#[test]
fn a_cli_that_is_not_installed_says_how_to_install_it() {
    let rig = Rig::new(Script::default(), "");
    let cfg = format!(
        "llm:\n  base_url: {}\n  model: fake-model\n  structured_output: json_schema\n\
         workflow:\n  task_attempts: 1\nroles:\n  architect:\n    backend: gemini\n",
        rig.server.url()
    );
    rig.project.write(".agentmux/config.yaml", &cfg);
    let mut c = rig.cmd();
    // A PATH with tmux and sh but no gemini.
    let empty = rig.project.path().join(".empty-bin");
    std::fs::create_dir_all(&empty).unwrap();
    for tool in ["tmux", "sh"] {
        let found = which(tool).unwrap();
        std::os::unix::fs::symlink(found, empty.join(tool)).unwrap();
    }
    std::os::unix::fs::symlink(agentmux_bin(), empty.join("agentmux")).unwrap();
    c.env("PATH", &empty)
        .args(["start", "--detach", "--goal", "A team link shortener"])
        .assert()
        .success();
    rig.wait_journal(120, "a failed architect task", |j| {
        j.iter()
            .any(|e| e["type"] == "task_failed" && e["role"] == "architect")
    });
    let j = rig.journal();
    let e = j
        .iter()
        .find(|e| e["type"] == "task_failed")
        .and_then(|e| e["error"].as_str())
        .unwrap_or_default()
        .to_string();
    assert!(e.contains("cannot run it"), "{e}");
    assert!(e.contains("@google/gemini-cli"), "{e}");
    assert!(e.contains("roles.architect.backend: api"), "{e}");
    // The session pauses (nothing is lost) and says why.
    rig.wait_journal(60, "the session to pause", |j| {
        j.iter().any(|e| e["type"] == "paused")
    });
    let status = rig.status();
    assert_eq!(status["state"], "paused", "{status}");
    let reason = status["pause_reason"].as_str().unwrap_or_default();
    assert!(reason.contains("@google/gemini-cli"), "{reason}");
}

fn which(tool: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|d| d.join(tool))
        .find(|p| p.is_file())
}

#[test]
fn a_command_backend_answer_goes_through_the_validators_and_its_cost_is_unknown() {
    // The script asks the fake OpenAI server's design team for the answer its schema wants:
    // the same validators then accept it, and a session completes with the architect on it.
    let rig = Rig::new(Script::default(), "");
    let script = format!(
        "python3 - \"$AGENTMUX_SCHEMA_FILE\" <<'PY'\n\
         import json, sys, urllib.request\n\
         schema = json.load(open(sys.argv[1]))\n\
         prompt = open('/dev/stdin').read()\n\
         body = {{'model': 'fake-model', 'messages': [{{'role': 'user', 'content': prompt}}],\n\
                 'response_format': {{'type': 'json_schema', 'json_schema': {{'name': 'a', 'schema': schema}}}}}}\n\
         req = urllib.request.Request('{}/chat/completions', json.dumps(body).encode(), {{'Content-Type': 'application/json'}})\n\
         print(json.load(urllib.request.urlopen(req))['choices'][0]['message']['content'])\n\
         PY\n",
        rig.server.url()
    );
    let path = rig.project.write(".bin/agent.sh", &script);
    let _ = std::fs::remove_file(rig.project.path().join(".agentmux/config.yaml"));
    rig.project.write(
        ".agentmux/config.yaml",
        &format!(
            "llm:\n  base_url: {}\n  model: fake-model\n  structured_output: json_schema\n\
             workflow:\n  review_rounds: 1\nroles:\n  architect:\n    backend: command\n    \
             command: sh {}\n",
            rig.server.url(),
            path.display()
        ),
    );
    rig.cmd()
        .args(["start", "--detach", "--goal", "A team link shortener"])
        .assert()
        .success();
    let (code, out) = rig.wait(300);
    assert_eq!(code, 0, "{out}");
    let journal = rig.journal();
    let architect = completed_by_role(&journal, "architect");
    assert!(!architect.is_empty());
    assert!(architect.iter().all(|(_, c)| c.is_none()), "{architect:?}");
    let status = rig.status();
    assert_eq!(status["state"], "completed", "{status}");
}

/// A `command` script that answers through the fake OpenAI server's design team, or fails like
/// a CLI that is not logged in while `.agent-broken` exists in the project.
fn answering_script(url: &str) -> String {
    format!(
        "if [ -e .agent-broken ]; then echo 'not logged in: run `agent login`' >&2; exit 3; fi\n\
         python3 - \"$AGENTMUX_SCHEMA_FILE\" <<'PY'\n\
         import json, sys, urllib.request\n\
         schema = json.load(open(sys.argv[1]))\n\
         prompt = open('/dev/stdin').read()\n\
         body = {{'model': 'fake-model', 'messages': [{{'role': 'user', 'content': prompt}}],\n\
                 'response_format': {{'type': 'json_schema', 'json_schema': {{'name': 'a', 'schema': schema}}}}}}\n\
         req = urllib.request.Request('{url}/chat/completions', json.dumps(body).encode(), {{'Content-Type': 'application/json'}})\n\
         print(json.load(urllib.request.urlopen(req))['choices'][0]['message']['content'])\n\
         PY\n"
    )
}

#[test]
fn a_failing_cli_pauses_the_session_and_resume_after_the_fix_reuses_the_answered_tasks() {
    // The architect (API) answers first; the principal-engineer's CLI then fails on every try.
    let rig = Rig::new(Script::default(), "");
    let path = rig
        .project
        .write(".bin/agent.sh", &answering_script(&rig.server.url()));
    rig.project.write(".agent-broken", "");
    let _ = std::fs::remove_file(rig.project.path().join(".agentmux/config.yaml"));
    rig.project.write(
        ".agentmux/config.yaml",
        &format!(
            "llm:\n  base_url: {}\n  model: fake-model\n  structured_output: json_schema\n\
             workflow:\n  review_rounds: 1\n  task_attempts: 2\nroles:\n  principal-engineer:\n    \
             backend: command\n    command: sh {}\n",
            rig.server.url(),
            path.display()
        ),
    );
    rig.cmd()
        .args(["start", "--detach", "--goal", "A team link shortener"])
        .assert()
        .success();
    let (code, out) = rig.wait(300);
    assert_ne!(code, 0, "{out}");
    let status = rig.status();
    assert_eq!(status["state"], "paused", "{status}");
    let reason = status["pause_reason"].as_str().unwrap_or_default();
    for part in [
        "principal-engineer",
        "failed 2 times",
        "backend `command`",
        "agent.sh",
        "not logged in",
        "agentmux resume",
    ] {
        assert!(reason.contains(part), "{part:?} missing from: {reason}");
    }
    // Plain `status` shows it too.
    let plain = rig.cmd().arg("status").output().unwrap();
    let plain = String::from_utf8_lossy(&plain.stdout).to_string()
        + &String::from_utf8_lossy(&plain.stderr);
    assert!(plain.contains("not logged in"), "{plain}");
    let journal = rig.journal();
    let answered: Vec<String> = journal
        .iter()
        .filter(|e| e["type"] == "task_completed")
        .filter_map(|e| e["task_id"].as_str().map(String::from))
        .collect();
    assert!(
        !answered.is_empty(),
        "nothing was answered before the CLI failed"
    );
    assert!(!journal.iter().any(|e| e["type"] == "failed"));

    // The user fixes the CLI and resumes: the session completes and asks nothing twice.
    std::fs::remove_file(rig.project.path().join(".agent-broken")).unwrap();
    rig.cmd().args(["resume", "--detach"]).assert().success();
    let (code, out) = rig.wait(300);
    assert_eq!(code, 0, "{out}");
    let journal = rig.journal();
    let dispatched: Vec<&str> = journal
        .iter()
        .filter(|e| e["type"] == "task_dispatched")
        .filter_map(|e| e["task_id"].as_str())
        .collect();
    for id in &answered {
        assert_eq!(
            dispatched.iter().filter(|d| *d == id).count(),
            1,
            "{id} was dispatched again"
        );
    }
    let pe = completed_by_role(&journal, "principal-engineer");
    assert!(!pe.is_empty());
    assert_eq!(rig.status()["state"], "completed");
    // No call here has a price (the CLI reports none, fake-model has none): not shown as $0.
    let out = rig.cmd().arg("status").output().unwrap();
    let out = String::from_utf8_lossy(&out.stdout);
    let usage = out
        .lines()
        .find(|l| l.starts_with("usage"))
        .unwrap_or_default();
    assert!(usage.contains("cost unknown ("), "{out}");
    assert!(usage.contains("calls unpriced)"), "{out}");
    assert!(!usage.contains("$0"), "{out}");
}

#[test]
fn doctor_checks_each_configured_cli_with_one_structured_call() {
    let Some(bin) = agent_clis() else { return };
    let m = Mixed::new(&bin, "");
    let out = m.cmd().arg("doctor").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for line in [
        "architect (codex)",
        "codex-cli 0.",
        "architect call",
        "principal-engineer (claude)",
        "(Claude Code)",
        "principal-engineer call",
    ] {
        assert!(text.contains(line), "missing `{line}`:\n{text}");
    }
    assert!(text.contains("structured answer from fake-codex"), "{text}");
    assert!(
        m.apis.count(Api::Responses, "connection check") == 1,
        "{text}"
    );
    assert!(
        m.apis.count(Api::Messages, "connection check") >= 1,
        "{text}"
    );
}

#[test]
fn doctor_fails_a_cli_that_is_not_on_path_and_says_how_to_fix_it() {
    let rig = Rig::new(
        Script::default(),
        "roles:\n  architect:\n    backend: gemini\n",
    );
    let empty = rig.project.path().join(".empty-bin");
    std::fs::create_dir_all(&empty).unwrap();
    std::os::unix::fs::symlink(which("tmux").unwrap(), empty.join("tmux")).unwrap();
    let out = rig
        .cmd()
        .env("PATH", &empty)
        .args(["doctor", "--no-llm"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(!out.status.success(), "{text}");
    assert!(text.contains("FAIL  architect (gemini)"), "{text}");
    assert!(text.contains("@google/gemini-cli"), "{text}");
    assert!(text.contains("roles.architect.backend: api"), "{text}");
}

#[test]
fn a_role_on_the_real_gemini_cli_answers_a_structured_call_read_only() {
    let Some(bin) = cli_dir(&["gemini"]) else {
        return;
    };
    let apis = FakeAgentApis::start(design_team::responder(Script::default()));
    let rig = Rig::new(
        Script::default(),
        "roles:\n  architect:\n    backend: gemini\n",
    );
    let home = gemini_home(&rig);
    let path = path_with(&bin);
    let out = rig
        .cmd()
        .env("PATH", path)
        .env("HOME", &home)
        .env("GEMINI_API_KEY", "test-key")
        .env("GOOGLE_GEMINI_BASE_URL", apis.base_url())
        .arg("doctor")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        text.contains("ok    architect (gemini) `gemini` 0."),
        "{text}"
    );
    assert!(
        text.contains("ok    architect call     structured answer from fake-gemini"),
        "{text}"
    );
    assert!(text.contains("cost unknown"), "{text}");
    let reqs = apis.requests();
    assert!(reqs.iter().any(|r| r.api == Api::Gemini), "{text}");
    // Plan mode: Gemini CLI offered its model no tool that writes files or runs commands.
    for r in &reqs {
        for decl in r.body["tools"].as_array().into_iter().flatten() {
            for f in decl["functionDeclarations"]
                .as_array()
                .into_iter()
                .flatten()
            {
                let name = f["name"].as_str().unwrap_or_default();
                assert!(
                    !["write_file", "replace", "run_shell_command"].contains(&name),
                    "gemini was offered {name}"
                );
            }
        }
    }
}

#[test]
fn the_real_gemini_cli_accepts_every_flag_agentmux_passes() {
    let Some(bin) = cli_dir(&["gemini"]) else {
        return;
    };
    let help = std::process::Command::new(bin.join("gemini"))
        .arg("--help")
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    for flag in [
        "--output-format",
        "stream-json",
        "--approval-mode",
        "\"plan\"",
        "--skip-trust",
        "--policy",
        "--model",
        "--prompt",
    ] {
        assert!(help.contains(flag), "gemini --help lacks {flag}:\n{help}");
    }
}

#[test]
fn claude_code_refused_by_its_endpoint_fails_the_task_naming_the_role_and_the_login_fix() {
    let Some(bin) = cli_dir(&["claude"]) else {
        return;
    };
    let apis = FakeAgentApis::start(design_team::responder(Script::default()));
    apis.fail_with(Some((401, "invalid x-api-key")));
    let rig = Rig::new(
        Script::default(),
        "workflow:\n  task_attempts: 1\nroles:\n  principal-engineer:\n    backend: claude\n",
    );
    let home = rig.project.path().join(".test-home");
    std::fs::create_dir_all(&home).unwrap();
    let path = path_with(&bin);
    rig.cmd()
        .env("PATH", path)
        .env("HOME", &home)
        .env("ANTHROPIC_BASE_URL", apis.base_url())
        .env("ANTHROPIC_API_KEY", "wrong-key")
        // Claude Code retries a refused request for minutes by default.
        .env("CLAUDE_CODE_MAX_RETRIES", "0")
        .args(["start", "--detach", "--goal", "A team link shortener"])
        .assert()
        .success();
    rig.wait_journal(300, "a failed principal-engineer task", |j| {
        j.iter()
            .any(|e| e["type"] == "task_failed" && e["role"] == "principal-engineer")
    });
    let j = rig.journal();
    let e = j
        .iter()
        .find(|e| e["type"] == "task_failed" && e["role"] == "principal-engineer")
        .and_then(|e| e["error"].as_str())
        .unwrap_or_default()
        .to_string();
    assert!(
        e.contains("role principal-engineer (backend `claude`, command `claude`)"),
        "{e}"
    );
    assert!(e.contains("ANTHROPIC_API_KEY"), "{e}");
    assert!(
        e.contains("HTTP 401") && e.contains("Invalid API key"),
        "{e}"
    );
    assert!(e.contains("/cli/"), "the raw output's place: {e}");
}

/// A full session with the architect on the real Gemini CLI (against the fake Gemini API) and
/// the reviewers on the API: every architect task is answered through Gemini CLI.
#[test]
fn a_mixed_team_with_the_architect_on_gemini_cli_completes_a_session() {
    let Some(bin) = cli_dir(&["gemini"]) else {
        return;
    };
    let apis = FakeAgentApis::start(design_team::responder(Script::default()));
    let rig = Rig::new(
        Script::default(),
        "workflow:\n  review_rounds: 1\nroles:\n  architect:\n    backend: gemini\n",
    );
    let home = gemini_home(&rig);
    let path = path_with(&bin);
    rig.cmd()
        .env("PATH", path)
        .env("HOME", &home)
        .env("GEMINI_API_KEY", "test-key")
        .env("GOOGLE_GEMINI_BASE_URL", apis.base_url())
        .args(["start", "--detach", "--goal", "A team link shortener"])
        .assert()
        .success();
    let (code, out) = rig.wait(600);
    let transcript =
        std::fs::read_to_string(rig.session_dir().join("agents/architect/transcript.log"))
            .unwrap_or_default();
    assert_eq!(code, 0, "{out}\n--- architect ---\n{transcript}");
    let journal = rig.journal();
    let architect = completed_by_role(&journal, "architect");
    assert!(architect.len() >= 4, "{architect:?}");
    // Gemini CLI reports no cost: unknown, not $0.
    assert!(architect.iter().all(|(_, c)| c.is_none()), "{architect:?}");
    // Every request Gemini CLI made was the task itself (with its schema): no recovery turn
    // from its loop detection, which once cancelled a long answer as "repeating content".
    let gemini: Vec<_> = apis
        .requests()
        .into_iter()
        .filter(|r| r.api == Api::Gemini)
        .collect();
    assert!(
        gemini.len() >= architect.len(),
        "{} Gemini requests",
        gemini.len()
    );
    for r in &gemini {
        assert!(
            r.chat.response_format.is_some(),
            "a request without the schema: {}",
            r.body
        );
    }
    assert_eq!(rig.status()["state"], "completed");
}
