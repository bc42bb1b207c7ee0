//! The agent's loop: watch `tasks/`, run the tasks of this role, write their results.
//!
//! Up to `llm.concurrency` tasks run at once. A task is skipped when its result exists (a resumed
//! or restarted agent never repeats an LLM call) and claimed in memory once started, so the
//! watcher's rescans cannot start it twice. SIGTERM, SIGINT and SIGHUP cancel the requests in
//! flight and end the process with status 0; a cancelled task gets no result, so the supervisor
//! dispatches it again later. A task with parts (a document too long for one reply) makes one
//! call per part and merges the parts' JSON into one answer. A task with tools runs the tool
//! loop, recording each step so that a restarted agent continues it (see [`super::tools`]).

use std::collections::HashSet;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use jiff::Timestamp;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::cli;
use super::heartbeat::{self, Heartbeat};
use super::pipe::{Drain, Pipe};
use super::render::{Display, SlotId};
use super::tools::{ToolLog, ToolSource};
use crate::config::Config;
use crate::paths::SessionPaths;
use crate::runtime::SessionRuntime;
use crate::transport::{self, DirWatcher};
use llm::{self, ChatRequest, ChatResponse, LlmClient, LlmError, ToolEvent, ToolSpec};
use protocol::error::{Error, Result};
use protocol::{ChatMessage, OutputSpec, Task, TaskOutcome, TaskResult, Usage, tool_rounds};
use serde_json::{Map, Value};

/// How long in-flight tasks get to wind down after a signal.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(3);

/// What an agent process needs.
#[derive(Clone, Debug)]
pub(crate) struct AgentOptions {
    pub session_id: String,
    pub role: String,
    pub config: Config,
    pub paths: SessionPaths,
    /// The project directory: where a coding-agent CLI runs.
    pub project_dir: PathBuf,
    /// The tools offered to the model of a task with `tools` set.
    pub tools: Arc<dyn ToolSource>,
}

/// Runs the agent until a signal (or `cancel`) stops it.
pub(crate) async fn run(opts: AgentOptions) -> Result<()> {
    let cancel = CancellationToken::new();
    listen_for_signals(cancel.clone())?;
    run_until(opts, cancel).await
}

/// The loop, stopped by `cancel`.
pub(crate) async fn run_until(opts: AgentOptions, cancel: CancellationToken) -> Result<()> {
    let (display, drains) = pane_display(&opts)?;
    let display = Arc::new(Mutex::new(display));
    lock(&display).note(
        &format!(
            "{} agent · session {} · pid {} · waiting for tasks",
            opts.role,
            opts.session_id,
            std::process::id()
        ),
        true,
    );
    let beat = tokio::spawn(beat_until(opts.paths.heartbeat(&opts.role), cancel.clone()));
    let mut watcher = DirWatcher::new(&[opts.paths.tasks()])?;
    tracing::debug!("agent watching for tasks");
    let concurrency = opts.config.llm.concurrency.max(1) as usize;
    let shared = Arc::new(Shared {
        clients: Clients::new(&opts),
        opts,
        display: display.clone(),
        slots: Semaphore::new(concurrency),
    });
    // Build the HTTP client now rather than at the first task: loading the TLS roots takes a few
    // milliseconds that would otherwise sit between the task and its request.
    let warm = shared.clone();
    tokio::task::spawn_blocking(move || {
        let _ = warm.clients.get();
    });
    let mut running: JoinSet<()> = JoinSet::new();
    let mut claimed: HashSet<String> = HashSet::new();
    loop {
        tokio::select! {
            _ = cancel.cancelled() => break,
            path = watcher.recv() => {
                let Some(path) = path else { break };
                if let Some(task) = claim(&shared, &path, &mut claimed) {
                    running.spawn(run_task(shared.clone(), task, cancel.clone()));
                }
            }
            Some(joined) = running.join_next(), if !running.is_empty() => {
                if let Err(e) = joined {
                    tracing::error!("a task of the agent ended abnormally: {e}");
                }
            }
        }
    }
    let drained = tokio::time::timeout(SHUTDOWN_GRACE, async {
        while running.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        running.abort_all();
    }
    beat.abort();
    lock(&display).note("stopped", false);
    for d in drains {
        d.wait(SHUTDOWN_GRACE);
    }
    Ok(())
}

/// State shared by the tasks of one agent.
struct Shared {
    opts: AgentOptions,
    clients: Clients,
    display: Arc<Mutex<Display>>,
    /// `llm.concurrency` permits.
    slots: Semaphore,
}

fn lock(display: &Mutex<Display>) -> MutexGuard<'_, Display> {
    display.lock().unwrap_or_else(|e| e.into_inner())
}

/// The task at `path` when it is this role's, has no result and was not started yet.
fn claim(shared: &Shared, path: &Path, claimed: &mut HashSet<String>) -> Option<Task> {
    let id = transport::file_id(path)?;
    if claimed.contains(&id)
        || !maybe_for(&id, &shared.opts.role)
        || transport::result_exists(&shared.opts.paths, &id)
    {
        return None;
    }
    let task = match transport::read_task_file(path) {
        Ok(Some(t)) => t,
        Ok(None) => return None,
        Err(e) => {
            tracing::warn!("{e}");
            lock(&shared.display).note(&format!("cannot read a task: {e}"), true);
            return None;
        }
    };
    if task.role != shared.opts.role {
        return None;
    }
    claimed.insert(id);
    Some(task)
}

/// False when the task id says the task is another role's, so that the agents do not all read
/// and parse every task file. Ids are `<stage>.<kind>.r<round>.<role>.a<attempt>`
/// ([`protocol::task_id`]); an id of another shape is read (the file's `role` decides).
fn maybe_for(id: &str, role: &str) -> bool {
    let Some((rest, attempt)) = id.rsplit_once(".a") else {
        return true;
    };
    if attempt.is_empty() || !attempt.bytes().all(|b| b.is_ascii_digit()) {
        return true;
    }
    // Role names have no `.` (see `roles`), so the role is the whole segment before the attempt.
    rest.strip_suffix(role).is_some_and(|r| r.ends_with('.'))
}

async fn run_task(shared: Arc<Shared>, task: Task, cancel: CancellationToken) {
    let Ok(_permit) = shared.slots.acquire().await else {
        return;
    };
    if cancel.is_cancelled() || transport::result_exists(&shared.opts.paths, &task.id) {
        return;
    }
    let started_at = Timestamp::now();
    let slot = lock(&shared.display).begin(&task);
    tracing::info!(task = %task.id, "task started");
    let outcome = match cli::invocation(
        &shared.opts.config,
        &task,
        &shared.opts.project_dir,
        &shared.opts.paths.agent_dir(&task.role),
    ) {
        // A coding-agent CLI answers (its own process group; the same result file after).
        Some(inv) => {
            let display = shared.display.clone();
            let mut on_progress = move |line: &str| lock(&display).tool_call(slot, line);
            cli::run(&inv, &mut on_progress, &cancel).await
        }
        None => match shared.clients.get() {
            Ok(client) => chat(&shared, &client, &task, slot, &cancel).await,
            Err(failed) => Some(*failed),
        },
    };
    let Some(outcome) = outcome else {
        lock(&shared.display).finish(slot, None);
        tracing::info!(task = %task.id, "task cancelled");
        return;
    };
    let _idle = Idle(&shared.display);
    let result = TaskResult {
        task_id: task.id.clone(),
        role: task.role.clone(),
        started_at,
        finished_at: Timestamp::now(),
        outcome,
    };
    let written = transport::write_result(&shared.opts.paths, &result);
    let mut display = lock(&shared.display);
    display.finish(slot, Some(&result.outcome));
    match written {
        Ok(()) => tracing::info!(task = %task.id, "result written"),
        Err(e) => {
            tracing::error!(task = %task.id, "cannot write the result: {e}");
            display.note(
                &format!("cannot write the result of {}: {e}", task.id),
                true,
            );
        }
    }
}

/// Says "waiting" in the pane when the last running task has been shown (on drop, so after the
/// footer and any error line).
struct Idle<'a>(&'a Mutex<Display>);

impl Drop for Idle<'_> {
    fn drop(&mut self) {
        let mut d = lock(self.0);
        if d.idle() {
            d.note("waiting for the next task", false);
        }
    }
}

/// The LLM call for `task` (one per part when it has parts); None when cancelled.
async fn chat(
    shared: &Shared,
    client: &LlmClient,
    task: &Task,
    slot: SlotId,
    cancel: &CancellationToken,
) -> Option<TaskOutcome> {
    if !task.parts.is_empty() {
        return chat_in_parts(shared, client, task, slot, cancel).await;
    }
    let req = request(shared, task, task.messages.clone(), task.output.clone());
    let tools = task
        .tools
        .and_then(|t| Some((t, shared.opts.tools.tools_for(task)?)));
    let answer = match tools {
        Some((t, toolbox)) => {
            let req = ChatRequest {
                tools: Some(ToolSpec {
                    definitions: toolbox.definitions,
                    max_rounds: t.max_rounds,
                }),
                ..req
            };
            call_with_tools(shared, client, task, &req, toolbox.executor, slot, cancel).await
        }
        None => call(shared, client, &req, slot, cancel).await,
    };
    match answer {
        Ok(resp) => Some(TaskOutcome::Completed {
            text: resp.text,
            json: resp.json,
            usage: resp.usage,
            model: resp.model,
            finish_reason: resp.finish_reason,
            retries: resp.retries,
            cost_usd: None,
        }),
        Err(e) => failed(e, 0),
    }
}

/// A task in parts: one call per part, each seeing the JSON of the parts before it, merged into
/// one object in schema order. Usage and retries are summed; `finish_reason` is `length` when
/// any part was cut off, else the last part's. A failed part fails the task (as one call would);
/// a part whose reply holds no JSON object ends the task there with no JSON, for the validator
/// to reject and the supervisor to repair.
async fn chat_in_parts(
    shared: &Shared,
    client: &LlmClient,
    task: &Task,
    slot: SlotId,
    cancel: &CancellationToken,
) -> Option<TaskOutcome> {
    let name = match &task.output {
        OutputSpec::Json { name, .. } => name.clone(),
        OutputSpec::Text => "answer".into(),
    };
    let count = task.parts.len();
    let mut written = Map::new();
    let mut usage = Usage::default();
    let (mut retries, mut cut_off) = (0u32, false);
    let (mut model, mut finish_reason) = (String::new(), None);
    // The text of a part whose reply held no JSON object: the last part asked for.
    let mut unparsed = None;
    for (i, part) in task.parts.iter().enumerate() {
        lock(&shared.display).part(
            slot,
            &format!("part {}/{count}: {}", i + 1, part.fields.join(", ")),
        );
        let mut messages = if part.messages.is_empty() {
            let mut m = task.messages.clone();
            if i > 0 {
                m.push(ChatMessage::assistant(written_so_far(
                    &written,
                    part.prior_tokens,
                )));
            }
            m
        } else {
            part.messages.clone()
        };
        if !part.instruction.is_empty() {
            messages.push(ChatMessage::user(part.instruction.clone()));
        }
        let output = OutputSpec::Json {
            name: name.clone(),
            schema: part.schema.clone(),
        };
        let req = request(shared, task, messages, output);
        let resp = match call(shared, client, &req, slot, cancel).await {
            Ok(resp) => resp,
            Err(e) => return failed(e, retries),
        };
        usage.prompt_tokens += resp.usage.prompt_tokens;
        usage.completion_tokens += resp.usage.completion_tokens;
        usage.cached_prompt_tokens += resp.usage.cached_prompt_tokens;
        usage.estimated |= resp.usage.estimated;
        retries += resp.retries;
        cut_off |= resp.finish_reason.as_deref() == Some("length");
        model = resp.model;
        finish_reason = resp.finish_reason;
        let Some(Value::Object(mut obj)) = resp.json else {
            unparsed = Some(resp.text);
            break;
        };
        for f in &part.fields {
            let Some(v) = obj.remove(f) else { continue };
            match (written.get_mut(f), v) {
                // A fanned-out review: each part's items join the earlier ones.
                (Some(Value::Array(have)), Value::Array(more)) => have.extend(more),
                (_, v) => {
                    written.insert(f.clone(), v);
                }
            }
        }
    }
    let written = Value::Object(written);
    let (text, json) = match unparsed {
        None => (written.to_string(), Some(written)),
        // Nothing to build on: the task ends there, its text what there is.
        Some(text) => (format!("{written}\n{text}"), None),
    };
    Some(TaskOutcome::Completed {
        text,
        json,
        usage,
        model,
        finish_reason: if cut_off {
            Some("length".into())
        } else {
            finish_reason
        },
        retries,
        cost_usd: None,
    })
}

/// The earlier parts' JSON as the next part's request repeats it: whole within `prior_tokens`,
/// else the latest fields whole while they fit and the older ones named only.
fn written_so_far(written: &Map<String, Value>, prior_tokens: Option<u32>) -> String {
    let whole = Value::Object(written.clone()).to_string();
    let Some(limit) = prior_tokens else {
        return whole;
    };
    if protocol::estimate_tokens(&whole) <= limit {
        return whole;
    }
    let mut room = limit.saturating_sub(60);
    let mut keep = Vec::new();
    for (k, v) in written.iter().rev() {
        let t = protocol::estimate_tokens(&v.to_string()) + 4;
        if t > room {
            break;
        }
        room -= t;
        keep.push(k.as_str());
    }
    let short = Map::from_iter(written.iter().map(|(k, v)| {
        let v = if keep.contains(&k.as_str()) {
            v.clone()
        } else {
            Value::String("(written earlier; not repeated here to fit the context window)".into())
        };
        (k.clone(), v)
    }));
    Value::Object(short).to_string()
}

/// The request of `task` with these messages and output.
fn request(
    shared: &Shared,
    task: &Task,
    messages: Vec<ChatMessage>,
    output: OutputSpec,
) -> ChatRequest {
    let role = shared.opts.config.roles.get(&task.role);
    ChatRequest {
        messages,
        output,
        model: task.model.clone(),
        temperature: task.temperature.or(role.and_then(|r| r.temperature)),
        max_tokens: task.max_tokens.or(role.and_then(|r| r.max_tokens)),
        tools: None,
    }
}

/// One LLM call, streamed into the task's slot of the pane.
async fn call(
    shared: &Shared,
    client: &LlmClient,
    req: &ChatRequest,
    slot: SlotId,
    cancel: &CancellationToken,
) -> std::result::Result<ChatResponse, LlmError> {
    let display = shared.display.clone();
    let mut on_token = move |t: &str| {
        lock(&display).token(slot, t, llm::is_retry_marker(t));
    };
    client.chat(req, &mut on_token, cancel).await
}

/// The tool loop of `task`, continued from its record: tokens and tool calls go to the task's
/// slot of the pane, each step to the record (a record that cannot be written is reported and
/// the task goes on: only a restart would miss it).
async fn call_with_tools(
    shared: &Shared,
    client: &LlmClient,
    task: &Task,
    req: &ChatRequest,
    executor: Arc<dyn llm::ToolExecutor>,
    slot: SlotId,
    cancel: &CancellationToken,
) -> std::result::Result<ChatResponse, LlmError> {
    let (mut log, records) = match ToolLog::open(&shared.opts.paths, &task.id) {
        Ok((log, records)) => (Some(log), records),
        Err(e) => {
            tracing::warn!(task = %task.id, "{e}");
            (None, Vec::new())
        }
    };
    let rounds = tool_rounds(&records);
    if !rounds.is_empty() {
        tracing::info!(task = %task.id, rounds = rounds.len(), "continuing the task's recorded tool rounds");
    }
    let display = shared.display.clone();
    let mut on_event = |e: ToolEvent<'_>| match e {
        ToolEvent::Token(t) => lock(&display).token(slot, t, llm::is_retry_marker(t)),
        ToolEvent::Call {
            call,
            result,
            replayed,
        } => lock(&display).tool_call(slot, &llm::tools::call_line(call, result, replayed)),
        ToolEvent::Record(r) => {
            if let Some(Err(e)) = log.as_mut().map(|l| l.append(r)) {
                tracing::warn!(task = %task.id, "cannot record a tool step: {e}");
                lock(&display).note(
                    &format!("cannot record a tool step of {}: {e}", task.id),
                    true,
                );
                log = None;
            }
        }
    };
    client
        .chat_with_tools(req, &rounds, executor, &mut on_event, cancel)
        .await
}

/// The outcome of a call that failed (None: cancelled); `earlier_retries`: the retries of the
/// parts before it.
fn failed(e: LlmError, earlier_retries: u32) -> Option<TaskOutcome> {
    if matches!(e, LlmError::Cancelled) {
        return None;
    }
    let retries = match &e {
        LlmError::RetriesExhausted { attempts, .. } => attempts.saturating_sub(1),
        _ => 0,
    };
    Some(TaskOutcome::Failed {
        error: e.to_string(),
        retryable: e.root().retryable(),
        retries: earlier_retries + retries,
    })
}

/// The LLM client, rebuilt only when the local model's URL in `runtime.json` changes (the local
/// server may start after the agent).
struct Clients {
    config: Config,
    role: String,
    paths: SessionPaths,
    cached: Mutex<Option<(Option<String>, LlmClient)>>,
}

impl Clients {
    fn new(opts: &AgentOptions) -> Self {
        Self {
            config: opts.config.clone(),
            role: opts.role.clone(),
            paths: opts.paths.clone(),
            cached: Mutex::new(None),
        }
    }

    /// The client, or the Failed outcome that explains why there is none.
    fn get(&self) -> std::result::Result<LlmClient, Box<TaskOutcome>> {
        let local_url = match SessionRuntime::load(&self.paths) {
            Ok(rt) => rt.and_then(|r| r.local_llm_url),
            Err(e) => {
                tracing::warn!("{e}");
                None
            }
        };
        let mut cached = self.cached.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((url, client)) = cached.as_ref()
            && *url == local_url
        {
            return Ok(client.clone());
        }
        let failed = |error: String, retryable: bool| {
            Box::new(TaskOutcome::Failed {
                error,
                retryable,
                retries: 0,
            })
        };
        let endpoint = llm::resolve_endpoint(&self.config, &self.role, local_url.as_deref())
            .map_err(|e| {
                // No endpoint yet (the local model still starting) may heal; bad config does not.
                let retryable = matches!(e, Error::Llm(_));
                failed(e.to_string(), retryable)
            })?;
        let client = LlmClient::new(endpoint, &self.config.llm)
            .map_err(|e| failed(e.to_string(), e.retryable()))?;
        *cached = Some((local_url, client.clone()));
        Ok(client)
    }
}

/// Beats every [`heartbeat::INTERVAL`] until cancelled.
async fn beat_until(path: PathBuf, cancel: CancellationToken) {
    let mut tick = tokio::time::interval(heartbeat::INTERVAL);
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tick.tick() => {
                if let Err(e) = heartbeat::write(&path, Heartbeat::now()) {
                    tracing::warn!("heartbeat: {e}");
                }
            }
        }
    }
}

/// Cancels `cancel` on SIGTERM, SIGINT or SIGHUP (tmux sends SIGHUP when it closes the pane).
fn listen_for_signals(cancel: CancellationToken) -> Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut streams = Vec::new();
    for kind in [
        SignalKind::terminate(),
        SignalKind::interrupt(),
        SignalKind::hangup(),
    ] {
        streams
            .push(signal(kind).map_err(|e| Error::Other(format!("cannot handle signals: {e}")))?);
    }
    for mut s in streams {
        let cancel = cancel.clone();
        tokio::spawn(async move {
            if s.recv().await.is_some() {
                cancel.cancel();
            }
        });
    }
    Ok(())
}

/// The pane (stdout, coloured on a terminal unless `NO_COLOR`), `transcript.log` (what the pane
/// shows, plain) and `raw.log` (the replies as they came), each written by its own thread (see
/// [`Pipe`]) so that a slow pane never holds up a task.
fn pane_display(opts: &AgentOptions) -> Result<(Display, [Drain; 3])> {
    let path = opts.paths.transcript(&opts.role);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    let append = |path: &std::path::Path| {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| Error::io(path, e))
    };
    let transcript = append(&path)?;
    let raw = append(&opts.paths.raw_transcript(&opts.role))?;
    let stdout = std::io::stdout();
    let colour = stdout.is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let pipe_err = |e| Error::Other(format!("cannot start the pane writer: {e}"));
    let (pane, pane_drain) = Pipe::spawn("pane", Box::new(stdout)).map_err(pipe_err)?;
    let (log, log_drain) = Pipe::spawn("transcript", Box::new(transcript)).map_err(pipe_err)?;
    let (raw, raw_drain) = Pipe::spawn("raw", Box::new(raw)).map_err(pipe_err)?;
    let display = Display::new(
        &opts.role,
        colour,
        Box::new(pane),
        Some(Box::new(log)),
        Box::new(pane_width()),
    )
    .with_raw(Box::new(raw));
    Ok((display, [pane_drain, log_drain, raw_drain]))
}

/// The pane width, asked of the terminal at most twice a second.
fn pane_width() -> impl Fn() -> usize + Send {
    let cache: Mutex<Option<(Instant, usize)>> = Mutex::new(None);
    move || {
        let mut c = cache.lock().unwrap_or_else(|e| e.into_inner());
        match *c {
            Some((at, w)) if at.elapsed() < Duration::from_millis(500) => w,
            _ => {
                let w = crate::tty::tty_size()
                    .map(|(w, _)| usize::from(w))
                    .unwrap_or(100);
                *c = Some((Instant::now(), w));
                w
            }
        }
    }
}

#[cfg(test)]
mod resume_tests;

#[cfg(test)]
mod tests {
    use super::maybe_for;
    use protocol::{Stage, TaskKind, task_id};

    #[test]
    fn a_task_id_names_its_role_and_only_that_role_skips_nothing() {
        let kinds = [
            TaskKind::Review,
            TaskKind::DesignDoc {
                file: "a.b_design.md".into(),
            },
            TaskKind::Repair {
                of: Box::new(TaskKind::Draft),
            },
        ];
        for kind in &kinds {
            for (role, other) in [
                ("architect", "code-reviewer"),
                ("code-reviewer", "reviewer"),
                ("principal-engineer", "engineer"),
                ("a2", "2"),
            ] {
                let id = task_id(Stage::Options, kind, 12, role, 3);
                assert!(maybe_for(&id, role), "{id} is {role}'s");
                assert!(!maybe_for(&id, other), "{id} is not {other}'s");
            }
        }
        // An id of another shape is read, whatever it says.
        for id in ["hand-written", "x.architect.a", "x.architect.a1b", "a1"] {
            assert!(maybe_for(id, "code-reviewer"), "{id}");
        }
    }
}
