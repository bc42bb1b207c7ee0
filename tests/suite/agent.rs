//! Agents in tmux panes against the fake OpenAI server: task files in, results out, crashes
//! recovered by the `AgentPool`, signals, and `agentmux stop` / `attach`.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Child, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use agentmux::SessionPaths;
use agentmux::SessionRuntime;
use agentmux::{AgentPool, DownReason, PaneCommand};
use agentmux::{read_result, write_result, write_task};
use predicates::prelude::*;
use protocol::{ChatMessage, OutputSpec, Stage, Task, TaskKind, TaskOutcome, TaskResult, task_id};
use tmux::layout::open_session;
use tmux::{Multiplexer, PaneInfo, PaneSpec};

use test_support::tmux_server::{TmuxServer, pane_spec};
use test_support::wait::{has_exited, wait_for, wait_for_child, wait_for_exit};

use super::support::fake_openai::{FakeOpenAi, FakeReply, Fault};
use super::support::{AgentmuxCmd as _, Project, agentmux};

static NEXT: AtomicU32 = AtomicU32::new(0);
const KEY: &str = "sk-agent-test-key-7";

/// A project with a session directory, a private tmux server and a fake model server.
pub(super) struct Fixture {
    /// Unique per fixture, so that tests running at once never see each other's processes.
    pub session: String,
    pub project: Project,
    pub server: TmuxServer,
    pub fake: FakeOpenAi,
    pub paths: SessionPaths,
    pub tmux_session: String,
}

impl Fixture {
    pub(super) fn new(fake: FakeOpenAi, concurrency: u32) -> Self {
        let project = Project::new();
        project.write(
            ".agentmux/config.yaml",
            &format!(
                "llm:\n  base_url: {}\n  concurrency: {concurrency}\n  retries:\n    max_retries: 0\n",
                fake.url()
            ),
        );
        let n = NEXT.fetch_add(1, Ordering::SeqCst);
        let session = format!("20261122-031500-{}-{n}", std::process::id());
        let paths = SessionPaths::new(project.path().join(".agentmux/sessions").join(&session));
        paths.create_all().unwrap();
        Self {
            tmux_session: format!("agentmux-test-{}-{n}", std::process::id()),
            session,
            project,
            server: TmuxServer::started(),
            fake,
            paths,
        }
    }

    /// What a pane needs: the test key and an empty user config directory.
    pub(super) fn env(&self) -> Vec<(String, String)> {
        vec![
            ("OPENAI_API_KEY".into(), KEY.into()),
            (
                "XDG_CONFIG_HOME".into(),
                self.project
                    .path()
                    .join(".xdg-config-empty")
                    .display()
                    .to_string(),
            ),
        ]
    }

    pub(super) fn agent_spec(&self, role: &str) -> PaneSpec {
        PaneCommand::new(
            Path::new(env!("CARGO_BIN_EXE_agentmux")),
            self.project.path(),
            &[],
            self.env(),
        )
        .agent(&self.session, role)
    }

    /// Opens the session: a stand-in supervisor pane, then one agent pane per role.
    pub(super) fn open(&self, roles: &[&str]) -> BTreeMap<String, PaneInfo> {
        let mut panes = vec![(
            "supervisor".to_string(),
            pane_spec("supervisor", &["sleep", "600"], self.project.path()),
        )];
        for r in roles {
            panes.push((r.to_string(), self.agent_spec(r)));
        }
        open_session(
            &self.server.mux(),
            &self.tmux_session,
            &panes,
            tmux::layout::DEFAULT_SIZE,
            "main-vertical",
        )
        .unwrap()
    }

    pub(super) fn task(&self, role: &str, kind: TaskKind, prompt: &str) -> Task {
        Task {
            id: task_id(Stage::Options, &kind, 1, role, 1),
            session_id: self.session.clone(),
            role: role.into(),
            stage: Stage::Options,
            round: 1,
            attempt: 1,
            kind,
            title: format!("{role} works on the options"),
            messages: vec![ChatMessage::system("Be brief."), ChatMessage::user(prompt)],
            output: OutputSpec::Text,
            model: None,
            temperature: None,
            max_tokens: None,
            item_ids: vec![],
            parts: vec![],
            tools: None,
            created_at: jiff::Timestamp::now(),
        }
    }

    pub(super) fn wait_result(&self, id: &str, secs: u64) -> TaskResult {
        wait_for(
            Duration::from_secs(secs),
            &format!("the result of {id}"),
            || read_result(&self.paths, id).ok().flatten(),
        )
    }

    pub(super) fn wait_heartbeat(&self, role: &str) {
        wait_for(
            Duration::from_secs(30),
            &format!("the {role} agent's heartbeat"),
            || self.paths.heartbeat(role).is_file().then_some(()),
        );
    }
}

fn completed_text(r: &TaskResult) -> &str {
    match &r.outcome {
        TaskOutcome::Completed { text, .. } => text,
        TaskOutcome::Failed { error, .. } => panic!("task failed: {error}"),
    }
}

fn answering() -> FakeOpenAi {
    FakeOpenAi::start(|req| FakeReply::text(format!("answer to {}", req.last_user())))
}

#[test]
fn task_files_reach_their_agents_and_the_results_come_back() {
    let f = Fixture::new(answering(), 2);
    // Answered before the agents start: never sent to the model again.
    let done = f.task("architect", TaskKind::Summarize, "already answered");
    write_task(&f.paths, &done).unwrap();
    write_result(
        &f.paths,
        &TaskResult {
            task_id: done.id.clone(),
            role: "architect".into(),
            started_at: jiff::Timestamp::now(),
            finished_at: jiff::Timestamp::now(),
            outcome: TaskOutcome::Failed {
                error: "kept".into(),
                retryable: false,
                retries: 0,
            },
        },
    )
    .unwrap();
    let panes = f.open(&["architect", "code-reviewer"]);
    let draft = f.task("architect", TaskKind::Draft, "draft the options");
    let contribute = f.task("architect", TaskKind::Contribute, "add a second thought");
    let review = f.task("code-reviewer", TaskKind::Review, "review the options");
    for t in [&draft, &contribute, &review] {
        write_task(&f.paths, t).unwrap();
    }
    for (t, prompt) in [
        (&draft, "draft the options"),
        (&contribute, "add a second thought"),
        (&review, "review the options"),
    ] {
        let r = f.wait_result(&t.id, 60);
        assert_eq!(completed_text(&r), format!("answer to {prompt}"));
        assert_eq!(r.role, t.role);
    }
    assert_eq!(f.fake.count_containing("already answered"), 0);
    assert_eq!(f.fake.request_count(), 3);
    for req in f.fake.requests() {
        assert_eq!(
            req.authorization.as_deref(),
            Some(format!("Bearer {KEY}").as_str())
        );
    }
    // What the pane showed, and the same in the transcript without colour. The transcript is
    // written once a frame, so its last lines may follow the result file by a few milliseconds.
    let transcript = wait_for(
        Duration::from_secs(10),
        "both footers in the transcript",
        || {
            let t = std::fs::read_to_string(f.paths.transcript("architect")).ok()?;
            (t.matches("── done · ").count() >= 2).then_some(t)
        },
    );
    assert!(
        transcript.contains("━━ architect · options · round 1 · attempt 1"),
        "{transcript}"
    );
    assert!(
        transcript.contains("answer to draft the options"),
        "{transcript}"
    );
    assert_eq!(transcript.matches("── done · ").count(), 2, "{transcript}");
    assert!(!transcript.contains('\x1b'));
    assert!(!transcript.contains(KEY));
    let shown = wait_for(Duration::from_secs(10), "the footer in the pane", || {
        let c = f.server.mux().capture(&panes["code-reviewer"].id).ok()?;
        c.contains("── done").then_some(c)
    });
    assert!(shown.contains("code-reviewer · options"), "{shown}");
    assert!(shown.contains("answer to review the"), "{shown}");
}

#[test]
fn a_killed_agent_is_respawned_by_the_pool_and_completes_its_task() {
    let long: String = (0..60).map(|i| format!("word{i} ")).collect();
    let fake = FakeOpenAi::start(move |_| FakeReply::text(long.clone()));
    fake.configure(|s| s.chunk_delay = Duration::from_millis(200));
    let f = Fixture::new(fake, 1);
    let panes = f.open(&["architect"]);
    let mux: Arc<dyn Multiplexer> = Arc::new(f.server.mux());
    let mut pool = AgentPool::new(mux.clone(), f.tmux_session.clone(), f.paths.clone());
    pool.insert(
        "architect",
        panes["architect"].id.clone(),
        f.agent_spec("architect"),
    );

    let task = f.task("architect", TaskKind::Draft, "a long answer please");
    write_task(&f.paths, &task).unwrap();
    wait_for(Duration::from_secs(30), "the first request", || {
        (f.fake.request_count() >= 1).then_some(())
    });
    let pid = panes["architect"].pid.unwrap();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    let down = wait_for(Duration::from_secs(10), "the pool to notice", || {
        let d = pool.check();
        (!d.is_empty()).then_some(d)
    });
    assert_eq!(down[0].role, "architect");
    assert!(
        matches!(
            down[0].reason,
            DownReason::PaneDead | DownReason::ProcessGone { .. }
        ),
        "{down:?}"
    );
    assert!(read_result(&f.paths, &task.id).unwrap().is_none());

    f.fake.configure(|s| s.chunk_delay = Duration::ZERO);
    pool.respawn("architect").unwrap();
    assert_eq!(
        pool.pane_id("architect"),
        Some(panes["architect"].id.as_str())
    );
    let r = f.wait_result(&task.id, 60);
    assert!(completed_text(&r).starts_with("word0 word1"));
    assert_eq!(
        f.fake.request_count(),
        2,
        "the task ran again in the new process"
    );
    assert_eq!(pool.consecutive_crashes("architect"), 1);
    pool.task_completed("architect");
    assert_eq!(pool.consecutive_crashes("architect"), 0);
    let now = mux.list_panes(&f.tmux_session).unwrap();
    let pane = now.iter().find(|p| p.id == panes["architect"].id).unwrap();
    assert!(!pane.dead && pane.pid != Some(pid), "{pane:?}");
}

#[test]
fn stop_leaves_no_tmux_session_and_no_agentmux_process_but_keeps_the_state() {
    let f = Fixture::new(answering(), 1);
    let panes = f.open(&["architect", "code-reviewer"]);
    SessionRuntime {
        tmux_socket: Some(f.server.socket.clone()),
        tmux_session: f.tmux_session.clone(),
        panes: panes
            .iter()
            .map(|(k, p)| (k.clone(), p.id.clone()))
            .collect(),
        local_llm_url: None,
        supervisor_pid: None,
    }
    .save(&f.paths)
    .unwrap();
    f.wait_heartbeat("architect");
    f.wait_heartbeat("code-reviewer");
    let pids: Vec<u32> = panes.values().filter_map(|p| p.pid).collect();
    assert_eq!(pids.len(), 3);

    f.project
        .cmd()
        .arg("stop")
        .assert()
        .success()
        .stdout(predicate::str::contains(format!(
            "stopped session {}",
            f.session
        )))
        .stdout(predicate::str::contains(format!(
            "agentmux resume {}",
            f.session
        )));

    let mux = f.server.mux();
    assert!(!mux.has_session(&f.tmux_session).unwrap());
    for pid in pids {
        wait_for_exit(pid, Duration::from_secs(10));
    }
    assert_eq!(session_processes(&f.session), Vec::<u32>::new());
    assert!(f.paths.tasks().is_dir() && f.paths.transcript("architect").is_file());
    // Stopping again is harmless.
    f.project
        .cmd()
        .args(["stop", &f.session])
        .assert()
        .success()
        .stdout(predicate::str::contains("already gone"));
}

/// Live processes whose command line names the session.
fn session_processes(session: &str) -> Vec<u32> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let cmd = std::fs::read(e.path().join("cmdline")).unwrap_or_default();
        let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
        if cmd.contains("agentmux") && cmd.contains(session) && !has_exited(pid) {
            out.push(pid);
        }
    }
    out
}

/// Starts `agentmux agent` as a plain child process (no tmux), with the test key.
fn spawn_agent(f: &Fixture, role: &str) -> Child {
    spawn_agent_env(f, role, &[("OPENAI_API_KEY", KEY)])
}

#[test]
fn sigterm_cancels_the_request_in_flight_and_exits_cleanly_without_a_result() {
    let fake = FakeOpenAi::fixed("one two three four five six");
    fake.push_fault(Fault::HangMidStream { after_chunks: 2 });
    let f = Fixture::new(fake, 1);
    let mut agent = spawn_agent(&f, "architect");
    let task = f.task("architect", TaskKind::Draft, "hang please");
    write_task(&f.paths, &task).unwrap();
    wait_for(
        Duration::from_secs(30),
        "the streamed start in the transcript",
        || {
            let t = std::fs::read_to_string(f.paths.transcript("architect")).ok()?;
            t.contains("one two").then_some(())
        },
    );
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(agent.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let status = wait_for_child(&mut agent, Duration::from_secs(15));
    assert_eq!(status.code(), Some(0));
    assert!(read_result(&f.paths, &task.id).unwrap().is_none());
    let t = std::fs::read_to_string(f.paths.transcript("architect")).unwrap();
    assert!(t.contains(&format!("⊘ {} cancelled", task.id)), "{t}");
}

#[test]
fn a_task_without_a_usable_endpoint_gets_a_failed_result_naming_the_cause() {
    let f = Fixture::new(answering(), 1);
    // No base URL, no key, no local model: nothing to talk to.
    f.project
        .write(".agentmux/config.yaml", "llm:\n  concurrency: 1\n");
    let mut c = spawn_agent_env(&f, "code-reviewer", &[]);
    let task = f.task("code-reviewer", TaskKind::Review, "review");
    write_task(&f.paths, &task).unwrap();
    let r = f.wait_result(&task.id, 30);
    match r.outcome {
        TaskOutcome::Failed {
            error, retryable, ..
        } => {
            assert!(error.contains("no LLM endpoint"), "{error}");
            assert!(retryable, "the local model may still be starting");
        }
        other => panic!("{other:?}"),
    }
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(c.id() as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .unwrap();
    assert_eq!(
        wait_for_child(&mut c, Duration::from_secs(15)).code(),
        Some(0)
    );
}

/// Starts `agentmux agent` as a plain child process with only `env` from the LLM side.
fn spawn_agent_env(f: &Fixture, role: &str, env: &[(&str, &str)]) -> Child {
    let mut c = agentmux(f.project.path());
    c.args(["agent", "--session", &f.session, "--role", role])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    c.envs(env.iter().copied());
    c.spawn().unwrap()
}

#[test]
fn attach_and_stop_explain_what_to_do_when_nothing_runs() {
    let p = Project::new();
    p.cmd()
        .arg("attach")
        .assert()
        .failure()
        .stderr(predicate::str::contains("agentmux start"));
    std::fs::create_dir_all(p.path().join(".agentmux/sessions/s-1")).unwrap();
    p.cmd()
        .arg("attach")
        .assert()
        .failure()
        .stderr(predicate::str::contains("agentmux resume s-1"));
    p.cmd()
        .args(["stop", "s-1"])
        .assert()
        .success()
        .stdout(predicate::str::contains("not running"));
    p.cmd()
        .args(["stop", "nope"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("agentmux list"));
}
