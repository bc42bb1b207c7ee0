//! A role run by a coding-agent CLI (Claude Code, Codex, Gemini CLI, or any program under the
//! `command` contract) instead of the built-in API client.
//!
//! Each task runs the CLI once, non-interactively, in the project directory, in a process group
//! of its own (so pause, stop and a timeout end it together with everything it started). The
//! prompt goes in on stdin; the answer's JSON Schema through the CLI's own structured-output
//! option where it has one. The CLI's event stream is read line by line: each event becomes at
//! most one short progress line in the pane, every raw line is kept in
//! `agents/<role>/cli/<task id>.jsonl`, and the final event gives the answer, the usage and (when
//! the CLI reports it) the cost. The answer is then a [`TaskOutcome`] like an API answer, so the
//! supervisor's validators and repair loop treat both the same.
//!
//! The flavours differ only in their command line and their event format (one module each);
//! this module owns the process, the timeout and the errors.

mod claude;
mod codex;
mod command;
mod gemini;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio_util::sync::CancellationToken;

use protocol::config::{Backend, Config};
use protocol::{ChatMessage, MessageRole, OutputSpec, Task, TaskOutcome, Usage};

/// How long a CLI's process group gets between SIGTERM and SIGKILL.
const END_GRACE: Duration = Duration::from_secs(2);

/// Most bytes of the CLI's stderr quoted in an error.
const STDERR_QUOTE: usize = 600;

/// One run of a CLI for a task.
pub(crate) struct Invocation<'a> {
    pub role: &'a str,
    pub backend: Backend,
    /// `roles.<name>.command` (backend `command` only).
    pub command: Option<&'a str>,
    /// The role's model (`roles.<name>.model`), passed where the CLI takes one.
    pub model: Option<&'a str>,
    /// The whole prompt: the task's messages as one text.
    pub prompt: String,
    /// The answer's JSON Schema (None: a text answer).
    pub schema: Option<Value>,
    pub project_dir: &'a Path,
    /// Where the raw output is kept (`agents/<role>/cli/<task id>.jsonl`).
    pub raw_log: PathBuf,
    /// A file the schema is written to for CLIs that take one (next to `raw_log`).
    pub schema_file: PathBuf,
    pub timeout: Duration,
}

/// What a flavour makes of a CLI's output.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Answer {
    pub text: String,
    pub json: Option<Value>,
    pub usage: Usage,
    /// The cost the CLI reported (None: it reports none, so the cost is unknown).
    pub cost_usd: Option<f64>,
    /// The model that answered, as the CLI named it (else the configured one, else the CLI).
    pub model: String,
}

/// A CLI's event format.
pub(crate) trait Events: Send {
    /// One line of stdout: the progress lines to show for it (usually zero or one).
    fn line(&mut self, line: &str) -> Vec<String>;
    /// The answer once the CLI has exited 0; Err: what was wrong with the output.
    fn finish(&mut self) -> std::result::Result<Answer, String>;
}

/// The command line of one flavour.
pub(crate) struct CommandLine {
    pub program: String,
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
    /// Text written on stdin after the prompt (a schema too large for an argument).
    pub stdin_suffix: Option<String>,
    /// Files the command line names, written before it runs (path, contents).
    pub files: Vec<(PathBuf, String)>,
}

/// The command line and event parser of `inv`'s backend.
fn flavour(inv: &Invocation<'_>) -> Option<(CommandLine, Box<dyn Events>)> {
    let schema_file = inv.schema.as_ref().map(|_| inv.schema_file.as_path());
    Some(match inv.backend {
        Backend::Api => return None,
        Backend::Claude => (
            claude::command_line(inv),
            Box::new(claude::Events::default()),
        ),
        Backend::Codex => (
            codex::command_line(inv, schema_file),
            Box::new(codex::Events::default()),
        ),
        Backend::Gemini => (
            gemini::command_line(inv),
            Box::new(gemini::Events::new(inv.schema.is_some())),
        ),
        Backend::Command => (
            command::command_line(inv, schema_file),
            Box::new(command::Events::new(inv.schema.is_some())),
        ),
    })
}

/// The invocation of `task` for `role` under `config`; None when the role's backend is `api`.
pub(crate) fn invocation<'a>(
    config: &'a Config,
    task: &Task,
    project_dir: &'a Path,
    agent_dir: &Path,
) -> Option<Invocation<'a>> {
    let (role, rc) = config.roles.get_key_value(&task.role)?;
    let backend = rc.backend();
    if backend == Backend::Api {
        return None;
    }
    let schema = match &task.output {
        OutputSpec::Json { schema, .. } => Some(schema.clone()),
        OutputSpec::Text => None,
    };
    let dir = agent_dir.join("cli");
    Some(Invocation {
        role,
        backend,
        command: rc.command.as_deref(),
        model: rc.model.as_deref(),
        prompt: prompt_text(&task.messages, &task.output),
        schema,
        project_dir,
        raw_log: dir.join(format!("{}.jsonl", task.id)),
        schema_file: dir.join(format!("{}.schema.json", task.id)),
        timeout: Duration::from_secs(
            rc.timeout_secs
                .unwrap_or(config.llm.timeouts.total_secs)
                .max(1),
        ),
    })
}

/// The task's messages as one prompt (a CLI takes one input, and its own system prompt stays).
/// A task in parts is asked in one go: a CLI's model writes the whole document in one answer.
fn prompt_text(messages: &[ChatMessage], output: &OutputSpec) -> String {
    let mut out = String::new();
    for m in messages {
        let head = match m.role {
            MessageRole::System => "Instructions",
            MessageRole::User => "Task",
            MessageRole::Assistant => "Your earlier answer",
            MessageRole::Tool => "Tool result",
        };
        out.push_str(&format!("## {head}\n\n{}\n\n", m.content.trim()));
    }
    out.push_str(
        "## How to work\n\nYou may read and search the files of the repository in the current \
         directory to ground your answer; do not change any file.",
    );
    if let OutputSpec::Json { name, .. } = output {
        out.push_str(&format!(
            " Your final answer is one JSON object (the `{name}`) that conforms to the JSON Schema \
             you were given; nothing else goes in it."
        ));
    }
    out.push('\n');
    out
}

/// Runs the CLI for `inv`, showing progress through `on_progress`; None when cancelled.
pub(crate) async fn run(
    inv: &Invocation<'_>,
    on_progress: &mut (dyn FnMut(&str) + Send),
    cancel: &CancellationToken,
) -> Option<TaskOutcome> {
    match run_inner(inv, on_progress, cancel).await {
        Ok(Some(answer)) => Some(TaskOutcome::Completed {
            text: answer.text,
            json: answer.json,
            usage: answer.usage,
            model: answer.model,
            finish_reason: Some("stop".into()),
            retries: 0,
            cost_usd: answer.cost_usd,
        }),
        Ok(None) => None,
        Err(failure) => Some(TaskOutcome::Failed {
            error: failure.message(inv),
            retryable: failure.retryable(),
            retries: 0,
        }),
    }
}

/// Why a CLI run gave no answer.
#[derive(Debug)]
enum Failure {
    /// The program is not on PATH (or cannot be run).
    NotFound(String),
    /// The raw log or schema file cannot be written.
    Io(String),
    /// Exited with a status other than 0.
    Exit { code: Option<i32>, detail: String },
    /// Still running at the timeout.
    Timeout,
    /// Exited 0 but its output was not what the flavour expects.
    Output(String),
}

impl Failure {
    /// The error for the pane and the journal: role, command, what happened, and the fix.
    fn message(&self, inv: &Invocation<'_>) -> String {
        let program = match inv.backend {
            Backend::Command => inv.command.unwrap_or_default().to_string(),
            b => b.program().unwrap_or_default().to_string(),
        };
        let head = format!(
            "role {} (backend `{}`, command `{program}`)",
            inv.role,
            inv.backend.as_str()
        );
        match self {
            Failure::NotFound(e) => format!(
                "{head}: cannot run it: {e}; install it ({}) or set `roles.{}.backend: api`",
                install_hint(inv.backend),
                inv.role
            ),
            Failure::Io(e) => format!("{head}: {e}"),
            Failure::Exit { code, detail } => {
                let code = code.map_or("a signal".to_string(), |c| format!("status {c}"));
                format!(
                    "{head}: exited with {code}: {detail}\n  fix: {}; the raw output is in {}",
                    login_hint(inv.backend),
                    inv.raw_log.display()
                )
            }
            Failure::Timeout => format!(
                "{head}: no answer within {}s, so its process group was ended; raise \
                 `roles.{}.timeout_secs` or check the CLI by hand (the raw output is in {})",
                inv.timeout.as_secs(),
                inv.role,
                inv.raw_log.display()
            ),
            Failure::Output(e) => format!(
                "{head}: its output is not what agentmux expects: {e}; check that the installed \
                 version is one the README lists (the raw output is in {})",
                inv.raw_log.display()
            ),
        }
    }

    /// Whether the supervisor's next attempt may succeed: a timeout or a crash may be
    /// transient; a missing program, a failed login or an unknown output format is not.
    fn retryable(&self) -> bool {
        match self {
            Failure::Timeout | Failure::Io(_) => true,
            Failure::Exit { detail, .. } => !looks_like_auth(detail),
            Failure::NotFound(_) | Failure::Output(_) => false,
        }
    }
}

fn install_hint(backend: Backend) -> &'static str {
    match backend {
        Backend::Claude => {
            "`npm install -g @anthropic-ai/claude-code`, or scripts/install-agent-clis.sh"
        }
        Backend::Codex => "`npm install -g @openai/codex`, or scripts/install-agent-clis.sh",
        Backend::Gemini => "`npm install -g @google/gemini-cli`, or scripts/install-agent-clis.sh",
        Backend::Command | Backend::Api => "check `roles.<name>.command`",
    }
}

fn login_hint(backend: Backend) -> &'static str {
    match backend {
        Backend::Claude => "run `claude` once to log in, or set ANTHROPIC_API_KEY",
        Backend::Codex => "run `codex login`, or set OPENAI_API_KEY",
        Backend::Gemini => "run `gemini` once to log in, or set GEMINI_API_KEY",
        Backend::Command | Backend::Api => "run the command by hand to see why it fails",
    }
}

fn looks_like_auth(detail: &str) -> bool {
    let d = detail.to_ascii_lowercase();
    [
        "log in",
        "login",
        "api key",
        "api_key",
        "unauthorized",
        "401",
        "authentication",
    ]
    .iter()
    .any(|w| d.contains(w))
}

async fn run_inner(
    inv: &Invocation<'_>,
    on_progress: &mut (dyn FnMut(&str) + Send),
    cancel: &CancellationToken,
) -> std::result::Result<Option<Answer>, Failure> {
    let Some((cmd, mut events)) = flavour(inv) else {
        return Err(Failure::Io("internal: the `api` backend has no CLI".into()));
    };
    if let Some(dir) = inv.raw_log.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| Failure::Io(format!("cannot create {}: {e}", dir.display())))?;
    }
    if let Some(schema) = &inv.schema {
        let bytes = serde_json::to_vec_pretty(schema).unwrap_or_default();
        osutil::write_atomic_unsynced(&inv.schema_file, &bytes)
            .map_err(|e| Failure::Io(e.to_string()))?;
    }
    for (path, text) in &cmd.files {
        osutil::write_atomic_unsynced(path, text.as_bytes())
            .map_err(|e| Failure::Io(e.to_string()))?;
    }
    let mut raw = tokio::fs::File::create(&inv.raw_log)
        .await
        .map_err(|e| Failure::Io(format!("cannot write {}: {e}", inv.raw_log.display())))?;
    let mut child = tokio::process::Command::new(&cmd.program)
        .args(&cmd.args)
        .envs(cmd.env.iter().map(|(k, v)| (k, v)))
        .current_dir(inv.project_dir)
        .process_group(0)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| Failure::NotFound(format!("{}: {e}", cmd.program)))?;
    let pgid = child.id();
    // Ends the group however this function returns (cancelled, timed out, or an early error).
    let _group = GroupGuard(pgid);
    let (Some(mut stdin), Some(stdout), Some(stderr)) =
        (child.stdin.take(), child.stdout.take(), child.stderr.take())
    else {
        return Err(Failure::Io("internal: the CLI's pipes are missing".into()));
    };
    let prompt = match &cmd.stdin_suffix {
        Some(suffix) => format!("{}{suffix}", inv.prompt),
        None => inv.prompt.clone(),
    };
    // The prompt is written while the output is read: a large prompt must not block on a CLI
    // that writes before it has read all of its input.
    let feed = tokio::spawn(async move {
        let _ = stdin.write_all(prompt.as_bytes()).await;
        let _ = stdin.shutdown().await;
    });
    let err_tail = tokio::spawn(async move {
        let mut lines = BufReader::new(stderr).lines();
        let mut tail = String::new();
        while let Ok(Some(l)) = lines.next_line().await {
            tail.push_str(&l);
            tail.push('\n');
            if tail.len() > 4 * STDERR_QUOTE {
                tail.drain(..tail.len() - 2 * STDERR_QUOTE);
            }
        }
        tail
    });
    let mut lines = BufReader::new(stdout).lines();
    let mut out_tail = String::new();
    let deadline = tokio::time::sleep(inv.timeout);
    tokio::pin!(deadline);
    loop {
        tokio::select! {
            _ = cancel.cancelled() => {
                feed.abort();
                return Ok(None);
            }
            _ = &mut deadline => {
                feed.abort();
                return Err(Failure::Timeout);
            }
            line = lines.next_line() => {
                let Ok(Some(line)) = line else { break };
                let _ = raw.write_all(line.as_bytes()).await;
                let _ = raw.write_all(b"\n").await;
                if !line.trim().is_empty() {
                    out_tail = line.clone();
                }
                for p in events.line(&line) {
                    on_progress(&p);
                }
            }
        }
    }
    let _ = raw.flush().await;
    let status = tokio::select! {
        _ = cancel.cancelled() => return Ok(None),
        _ = &mut deadline => return Err(Failure::Timeout),
        s = child.wait() => s.map_err(|e| Failure::Io(format!("cannot wait for the CLI: {e}")))?,
    };
    let stderr = err_tail.await.unwrap_or_default();
    if !status.success() {
        let detail = quote(if stderr.trim().is_empty() {
            &out_tail
        } else {
            &stderr
        });
        return Err(Failure::Exit {
            code: status.code(),
            detail: events.finish().err().map_or(detail.clone(), |e| {
                if detail.is_empty() {
                    e
                } else {
                    format!("{detail} ({e})")
                }
            }),
        });
    }
    let mut answer = events.finish().map_err(Failure::Output)?;
    if answer.model.is_empty() {
        answer.model = inv
            .model
            .map(str::to_string)
            .unwrap_or_else(|| inv.backend.as_str().to_string());
    }
    Ok(Some(answer))
}

/// The last lines of `text`, at most [`STDERR_QUOTE`] bytes, on one line.
fn quote(text: &str) -> String {
    let t = text.trim();
    let mut start = t.len().saturating_sub(STDERR_QUOTE);
    while !t.is_char_boundary(start) {
        start += 1;
    }
    t[start..].split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Ends the CLI's process group on drop (a no-op when it has exited and left nothing behind).
struct GroupGuard(Option<u32>);

impl Drop for GroupGuard {
    fn drop(&mut self) {
        if let Some(pgid) = self.0 {
            osutil::process::end_group(pgid, END_GRACE);
        }
    }
}

/// A short one-line form of `text` for a progress line.
pub(crate) fn short(text: &str, max: usize) -> String {
    let one = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if one.chars().count() <= max {
        return one;
    }
    let cut: String = one.chars().take(max.saturating_sub(1)).collect();
    format!("{cut}…")
}

/// The one argument of a tool call worth showing: a path, a pattern or a command.
pub(crate) fn tool_arg(input: &Value) -> String {
    for key in [
        "file_path",
        "path",
        "pattern",
        "query",
        "command",
        "dir_path",
        "absolute_path",
    ] {
        if let Some(v) = input.get(key).and_then(Value::as_str) {
            return short(v, 80);
        }
    }
    String::new()
}

/// The JSON answer of a CLI that has no structured-output option: the text's JSON, checked to
/// be an object.
pub(crate) fn json_in(text: &str) -> std::result::Result<Value, String> {
    match llm::extract_json(text) {
        Some(v @ Value::Object(_)) => Ok(v),
        Some(_) => Err("the answer's JSON is not an object".into()),
        None => Err(format!(
            "the answer holds no JSON object (it starts: `{}`)",
            short(text, 120)
        )),
    }
}

/// `doctor`: the CLI of `backend` on PATH and its version (`--version`); Err: what is wrong
/// and the fix. The `command` backend has no version to ask.
pub(crate) fn version(backend: Backend) -> std::result::Result<String, String> {
    let Some(program) = backend.program().filter(|_| backend != Backend::Command) else {
        return Ok("a command of your own (no version to check)".into());
    };
    match std::process::Command::new(program)
        .arg("--version")
        .stdin(Stdio::null())
        .output()
    {
        Ok(out) if out.status.success() => {
            let v = String::from_utf8_lossy(&out.stdout);
            Ok(format!(
                "`{program}` {}",
                v.lines().next().unwrap_or("").trim()
            ))
        }
        Ok(out) => Err(format!(
            "`{program} --version` exited with {}: {}",
            out.status,
            quote(&String::from_utf8_lossy(&out.stderr))
        )),
        Err(e) => Err(format!(
            "`{program}` is not on PATH ({e}); install it ({})",
            install_hint(backend)
        )),
    }
}

/// `doctor`: one minimal structured call of `role`'s CLI in `project_dir`, its files under
/// `scratch`. Ok: the model and usage; Err: the error a task would get.
pub(crate) async fn probe(
    config: &Config,
    role: &str,
    project_dir: &Path,
    scratch: &Path,
) -> std::result::Result<String, String> {
    let schema = serde_json::json!({
        "type": "object",
        "properties": {"ok": {"type": "boolean"}},
        "required": ["ok"],
        "additionalProperties": false
    });
    let task_messages = [ChatMessage::user(
        "This is a connection check. Answer with the JSON object {\"ok\": true} and do nothing else.",
    )];
    let output = OutputSpec::Json {
        name: "check".into(),
        schema: schema.clone(),
    };
    let Some(rc) = config.roles.get(role) else {
        return Err(format!("no role `{role}` in the configuration"));
    };
    let inv = Invocation {
        role,
        backend: rc.backend(),
        command: rc.command.as_deref(),
        model: rc.model.as_deref(),
        prompt: prompt_text(&task_messages, &output),
        schema: Some(schema),
        project_dir,
        raw_log: scratch.join(format!("{role}.jsonl")),
        schema_file: scratch.join(format!("{role}.schema.json")),
        timeout: Duration::from_secs(rc.timeout_secs.unwrap_or(120).min(300)),
    };
    match run(&inv, &mut |_| {}, &CancellationToken::new()).await {
        Some(TaskOutcome::Completed {
            json: Some(v),
            model,
            usage,
            cost_usd,
            ..
        }) if v.get("ok").is_some() => Ok(format!(
            "structured answer from {model} ({} tokens, {})",
            usage.total(),
            cost_usd.map_or("cost unknown".into(), |c| format!("${c:.4}"))
        )),
        Some(TaskOutcome::Completed { text, .. }) => Err(format!(
            "the answer is not the JSON asked for: `{}`",
            short(&text, 120)
        )),
        Some(TaskOutcome::Failed { error, .. }) => Err(error),
        None => Err("cancelled".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_prompt_keeps_every_message_in_order_and_asks_for_json() {
        let p = prompt_text(
            &[
                ChatMessage::system("be brief"),
                ChatMessage::user("write it"),
            ],
            &OutputSpec::Json {
                name: "options".into(),
                schema: serde_json::json!({"type": "object"}),
            },
        );
        let (sys, user) = (p.find("be brief"), p.find("write it"));
        assert!(sys.is_some() && user.is_some() && sys < user, "{p}");
        assert!(p.contains("`options`"), "{p}");
        assert!(p.contains("do not change any file"), "{p}");
    }

    #[test]
    fn an_auth_failure_is_not_retried_and_a_timeout_is() {
        let auth = Failure::Exit {
            code: Some(1),
            detail: "Invalid API key · Please run /login".into(),
        };
        assert!(!auth.retryable());
        assert!(Failure::Timeout.retryable());
        assert!(!Failure::Output("x".into()).retryable());
    }

    #[test]
    fn quote_keeps_the_end_on_one_line() {
        let long = format!("{}\nthe end", "x".repeat(2000));
        let q = quote(&long);
        assert!(q.ends_with("the end") && q.len() <= STDERR_QUOTE, "{q}");
    }
}
