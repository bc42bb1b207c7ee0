//! An agent killed with SIGKILL in the middle of a tool round, and the task run again: the
//! conversation continues from the task's tool record and no answered request is sent again.
//!
//! The first agent runs in a process of its own, so that the kill is a real one: this test binary
//! started again, running only [`tool_agent_child`] (ignored in normal runs), which runs the
//! worker with the fake tools below against the fake server of the parent.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde_json::{Value, json};
use test_support::fake_openai::{FakeOpenAi, FakeReply, FakeToolCall, Fault};
use test_support::wait::{POLL, try_wait_for, wait_for, wait_for_exit};
use tokio_util::sync::CancellationToken;

use super::{AgentOptions, run_until};
use crate::agent::tools::{TaskToolBox, ToolSource};
use crate::config::Config;
use crate::paths::SessionPaths;
use crate::transport;
use llm::{ToolExecutor, ToolOutcome};
use protocol::{
    ChatMessage, OutputSpec, Stage, Task, TaskKind, TaskOutcome, TaskTools, ToolRecord, task_id,
};

const SESSION_ENV: &str = "AGENTMUX_TEST_TOOL_CHILD_SESSION";
const URL_ENV: &str = "AGENTMUX_TEST_TOOL_CHILD_URL";
const ROLE: &str = "architect";

/// Tools that answer `read_file` with `contents of <path>` and log each call to a file (the
/// calls of both processes end up in it).
#[derive(Debug)]
struct LoggedTools {
    log: PathBuf,
}

impl ToolSource for LoggedTools {
    fn tools_for(&self, _task: &Task) -> Option<TaskToolBox> {
        Some(TaskToolBox {
            definitions: vec![json!({"type": "function", "function": {
                "name": "read_file",
                "description": "Read a file of the repository.",
                "parameters": {"type": "object", "properties": {"path": {"type": "string"}}},
            }})],
            executor: Arc::new(LoggedExecutor {
                log: self.log.clone(),
            }),
        })
    }
}

struct LoggedExecutor {
    log: PathBuf,
}

impl ToolExecutor for LoggedExecutor {
    fn call(&self, name: &str, arguments: &str) -> ToolOutcome {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .unwrap();
        writeln!(f, "{name} {arguments}").unwrap();
        let args: Value = serde_json::from_str(arguments).unwrap_or(Value::Null);
        let path = args["path"].as_str().unwrap_or("?");
        ToolOutcome {
            content: format!("contents of {path}"),
            is_error: false,
            summary: format!("read {path}"),
        }
    }
}

fn options(session: &Path, url: &str) -> AgentOptions {
    let mut config = Config::default();
    config.llm.base_url = Some(url.to_string());
    config.llm.retries.max_retries = 0;
    config.llm.concurrency = 1;
    AgentOptions {
        session_id: "s".into(),
        role: ROLE.into(),
        config,
        paths: SessionPaths::new(session.to_owned()),
        project_dir: session.to_owned(),
        tools: Arc::new(LoggedTools {
            log: session.join("tool-calls.log"),
        }),
    }
}

fn task() -> Task {
    let kind = TaskKind::Draft;
    Task {
        id: task_id(Stage::Options, &kind, 1, ROLE, 1),
        session_id: "s".into(),
        role: ROLE.into(),
        stage: Stage::Options,
        round: 1,
        attempt: 1,
        kind,
        title: "Options, read from the code".into(),
        messages: vec![
            ChatMessage::system("Read the code first."),
            ChatMessage::user("Draft the options."),
        ],
        output: OutputSpec::Text,
        model: None,
        temperature: None,
        max_tokens: None,
        item_ids: vec![],
        parts: vec![],
        tools: Some(TaskTools { max_rounds: 4 }),
        created_at: jiff::Timestamp::UNIX_EPOCH,
    }
}

/// The agent of the first run (a child process of the test below; not a test of its own).
#[test]
#[ignore = "the child process of a_tool_round_killed_with_sigkill_resumes_without_asking_again"]
fn tool_agent_child() {
    let session = std::env::var(SESSION_ENV).expect("run by the parent test");
    let url = std::env::var(URL_ENV).expect("run by the parent test");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    // Runs until killed.
    rt.block_on(run_until(
        options(Path::new(&session), &url),
        CancellationToken::new(),
    ))
    .unwrap();
}

#[test]
fn a_tool_round_killed_with_sigkill_resumes_without_asking_again() {
    // Round 1: the model reads two files. The request with their results hangs until the test
    // lets it through, so the first agent is killed while it waits for it.
    let hang = Arc::new(AtomicBool::new(true));
    let fake = FakeOpenAi::start({
        let hang = hang.clone();
        move |req| match req.tool_results().len() {
            0 => FakeReply::tool_calls(vec![
                FakeToolCall::new("read_file", json!({"path": "readtime/api.py"})),
                FakeToolCall::new("read_file", json!({"path": "readtime/result.py"})),
            ]),
            _ if hang.load(Ordering::SeqCst) => {
                FakeReply::text("never sent").with_fault(Fault::Hang)
            }
            _ => FakeReply::text("Option A extends readtime/api.py."),
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let session = dir.path().join("session");
    let paths = SessionPaths::new(session.clone());
    paths.create_all().unwrap();
    let task = task();
    transport::write_task(&paths, &task).unwrap();

    let mut child = agent_process(&session, &fake.url());
    wait_for(
        Duration::from_secs(60),
        "the request carrying the tool results",
        || (fake.request_count() >= 2).then_some(()),
    );
    child.kill().unwrap(); // SIGKILL
    let pid = child.id();
    let _ = child.wait();
    wait_for_exit(pid, Duration::from_secs(10));
    assert!(transport::read_result(&paths, &task.id).unwrap().is_none());
    let (_, records) = super::ToolLog::open(&paths, &task.id).unwrap();
    assert!(
        matches!(
            records.as_slice(),
            [
                ToolRecord::Calls { round: 1, .. },
                ToolRecord::Result { .. },
                ToolRecord::Result { .. }
            ]
        ),
        "{records:?}"
    );

    // The task runs again in a new agent process, the model answering now.
    hang.store(false, Ordering::SeqCst);
    let mut again = agent_process(&session, &fake.url());
    let result = wait_for(Duration::from_secs(60), "the task's result", || {
        transport::read_result(&paths, &task.id).unwrap()
    });
    // The pane showed the replayed calls (the transcript is written by a thread of its own).
    let replay_shown = try_wait_for(Duration::from_secs(10), POLL, || {
        let t = std::fs::read_to_string(paths.transcript(ROLE)).ok()?;
        t.contains("↺ read readtime/api.py (recorded)\n↺ read readtime/result.py (recorded)")
            .then_some(())
    });
    again.kill().unwrap();
    let _ = again.wait();

    let TaskOutcome::Completed { text, usage, .. } = &result.outcome else {
        panic!("{result:?}");
    };
    assert_eq!(text, "Option A extends readtime/api.py.");
    let reqs = fake.requests();
    assert_eq!(
        reqs.len(),
        3,
        "round 1's request, the killed one, the resumed one"
    );
    assert_eq!(
        reqs.iter().filter(|r| r.tool_results().is_empty()).count(),
        1,
        "the answered request was not sent again"
    );
    assert_eq!(
        reqs[2].messages, reqs[1].messages,
        "the resumed request continues the recorded conversation"
    );
    assert_eq!(
        reqs[2].tool_results()[1].content,
        "contents of readtime/result.py"
    );
    let calls = std::fs::read_to_string(session.join("tool-calls.log")).unwrap();
    assert_eq!(calls.lines().count(), 2, "each tool ran once: {calls}");
    // The usage counts round 1's request (recorded by the killed agent) and the last one.
    let prompt = |i: usize| (reqs[i].prompt().chars().count() as u64).div_ceil(4);
    assert_eq!(usage.prompt_tokens, prompt(0) + prompt(2));
    assert!(
        replay_shown.is_some(),
        "no replayed call in the transcript:\n{}",
        std::fs::read_to_string(paths.transcript(ROLE)).unwrap_or_default()
    );
}

/// An agent in a process of its own: this test binary running only [`tool_agent_child`].
fn agent_process(session: &Path, url: &str) -> std::process::Child {
    let child_test = module_path!()
        .split_once("::")
        .map(|(_, rest)| format!("{rest}::tool_agent_child"))
        .unwrap();
    Command::new(std::env::current_exe().unwrap())
        .args([
            child_test.as_str(),
            "--exact",
            "--ignored",
            "--test-threads=1",
        ])
        .env(SESSION_ENV, session)
        .env(URL_ENV, url)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}
