//! `agentmux doctor`: checks everything a session needs and says how to fix what is missing.
//!
//! Checks, in order: tmux (present, version >= 3.2); the configuration loads; for the local default
//! the runtime files and a server that starts and answers; then against the endpoint: reachable
//! (naming the URL), the model listed by `/v1/models` (servers without that route are tolerated),
//! a one-token completion, streaming, and structured output. A check that depends on a failed one is
//! skipped. Every role on a coding-agent CLI: the CLI on PATH, its version, and (unless
//! `--no-llm`) one minimal structured call through it. Exit 0 only when every check passes. The API key is never printed; only whether the
//! variable holding it is set.

use std::process::Command;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::Ctx;
use crate::agent::cli;
use crate::cli::DoctorArgs;
use crate::config::{Backend, Config, StructuredOutput};
use llm::local::{LocalRuntime, LocalServer};
use llm::structured::{self, Support};
use llm::{ChatRequest, Endpoint, LlmClient, resolve_endpoint};
use protocol::error::{Error, Result, exit};
use protocol::{ChatMessage, OutputSpec};

/// The outcome of one check.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Status {
    Pass,
    /// Works, with a caveat worth reading; does not fail the run.
    Warn,
    Fail,
    /// Not run because an earlier check failed.
    Skip,
}

/// One line of the report.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Check {
    pub status: Status,
    pub name: String,
    pub detail: String,
    /// What to do, for `Fail` and `Warn`.
    pub fix: Option<String>,
}

impl Check {
    pub(crate) fn pass(name: &str, detail: impl Into<String>) -> Self {
        Self {
            status: Status::Pass,
            name: name.into(),
            detail: detail.into(),
            fix: None,
        }
    }
    pub(crate) fn fail(name: &str, detail: impl Into<String>, fix: impl Into<String>) -> Self {
        Self {
            status: Status::Fail,
            name: name.into(),
            detail: detail.into(),
            fix: Some(fix.into()),
        }
    }
    pub(crate) fn warn(name: &str, detail: impl Into<String>, fix: impl Into<String>) -> Self {
        Self {
            status: Status::Warn,
            name: name.into(),
            detail: detail.into(),
            fix: Some(fix.into()),
        }
    }
    /// A failure from an error: its first line says what failed, the lines after it the fix
    /// (the form of our errors).
    fn error(name: &str, e: &impl std::fmt::Display) -> Self {
        let message = e.to_string();
        Self::fail(name, first_line(&message), fix_of(&message))
    }
    fn skip(name: &str, why: &str) -> Self {
        Self {
            status: Status::Skip,
            name: name.into(),
            detail: why.into(),
            fix: None,
        }
    }
}

/// Prints checks as they complete and remembers whether any failed.
#[derive(Default)]
struct Report {
    failed: usize,
}

impl Report {
    fn add(&mut self, c: Check) -> bool {
        let tag = match c.status {
            Status::Pass => "ok  ",
            Status::Warn => "warn",
            Status::Fail => "FAIL",
            Status::Skip => "skip",
        };
        println!("{tag}  {:<18} {}", c.name, c.detail);
        if let Some(fix) = &c.fix {
            for (i, line) in fix.lines().enumerate() {
                let lead = if i == 0 { "fix:" } else { "    " };
                println!("      {:<18} {lead} {line}", "");
            }
        }
        let ok = c.status != Status::Fail;
        if !ok {
            self.failed += 1;
        }
        ok
    }
}

/// Runs every check; exit 0 when all pass, 1 otherwise.
pub(crate) fn run(ctx: &Ctx, args: &DoctorArgs) -> Result<u8> {
    let mut report = Report::default();
    report.add(check_tmux());
    let config = match ctx.load_config() {
        Ok(l) => {
            report.add(Check::pass("config", "loaded"));
            report.add(check_tmux_socket(l.config.tmux.socket.as_deref()));
            report.add(check_terminal());
            Some(l.config)
        }
        Err(e) => {
            report.add(Check::fail(
                "config",
                e.to_string(),
                "fix the configuration (`agentmux config show` prints every key and its origin)",
            ));
            None
        }
    };
    if let Some(config) = &config {
        cli_checks(ctx, config, args.no_llm, &mut report)?;
    }
    if !args.no_llm {
        match &config {
            Some(config) => {
                let rt = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                    .map_err(|e| Error::Other(format!("cannot start the async runtime: {e}")))?;
                rt.block_on(async {
                    llm_checks(config, &mut report).await;
                    profile_checks(ctx, config, &mut report).await;
                });
            }
            None => {
                report.add(Check::skip("llm", "the configuration did not load"));
            }
        }
    }
    if report.failed == 0 {
        println!("all checks passed");
        Ok(exit::SUCCESS)
    } else {
        println!(
            "{} check{} failed",
            report.failed,
            if report.failed == 1 { "" } else { "s" }
        );
        Ok(exit::SESSION_FAILED)
    }
}

/// Every role on a coding-agent CLI: the CLI found and its version, and unless `no_llm` one
/// minimal structured call through it (as a task would make it, in the project directory).
fn cli_checks(ctx: &Ctx, config: &Config, no_llm: bool, report: &mut Report) -> Result<()> {
    let roles: Vec<(&String, Backend)> = config
        .roles
        .iter()
        .map(|(name, rc)| (name, rc.backend()))
        .filter(|(_, b)| *b != Backend::Api)
        .collect();
    if roles.is_empty() {
        return Ok(());
    }
    // The calls' raw output and schema files; removed after the checks.
    let scratch = std::env::temp_dir().join(format!("agentmux-doctor-{}", std::process::id()));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Other(format!("cannot start the async runtime: {e}")))?;
    for (role, backend) in roles {
        let name = format!("{role} ({})", backend.as_str());
        match cli::version(backend) {
            Ok(v) => report.add(Check::pass(&name, v)),
            Err(e) => {
                report.add(Check::fail(
                    &name,
                    e,
                    format!("or run the role on the API: `roles.{role}.backend: api`"),
                ));
                continue;
            }
        };
        if no_llm {
            continue;
        }
        let call = format!("{role} call");
        match rt.block_on(cli::probe(config, role, &ctx.project_dir, &scratch)) {
            Ok(detail) => report.add(Check::pass(&call, detail)),
            Err(e) => report.add(Check::error(&call, &e)),
        };
    }
    let _ = std::fs::remove_dir_all(&scratch);
    Ok(())
}

async fn llm_checks(config: &Config, report: &mut Report) {
    // The endpoint is checked with the model of a role that uses it (not one on a CLI).
    let api_role = ["architect", "principal-engineer", "code-reviewer"]
        .into_iter()
        .find(|r| {
            config
                .roles
                .get(*r)
                .is_none_or(|rc| rc.backend() == Backend::Api)
        });
    let Some(api_role) = api_role else {
        report.add(Check::skip("llm", "every role runs on a coding-agent CLI"));
        return;
    };
    let key_env = &config.llm.api_key_env;
    let key_set = std::env::var(key_env).is_ok_and(|k| !k.trim().is_empty());
    let local = config.llm.base_url.is_none() && !key_set;

    // Held until the end so the server answers the checks below; a server doctor started stops on drop.
    let mut _local_server: Option<LocalServer> = None;
    let endpoint = if local {
        let rt = match LocalRuntime::locate(&config.llm.local) {
            Ok(rt) => {
                report.add(Check::pass(
                    "local runtime",
                    format!(
                        "{} with {}",
                        rt.server_bin.display(),
                        rt.model_path.display()
                    ),
                ));
                rt
            }
            Err(e) => {
                report.add(Check::fail(
                    "local runtime",
                    first_line(&e.to_string()),
                    llm::local::INSTALL_HINT,
                ));
                return skip_endpoint_checks(report, "the local runtime is missing");
            }
        };
        let log = rt.run_dir.join("doctor-llama-server.log");
        match rt.ensure_running(Some(&log)).await {
            Ok(server) => {
                let how = match &server {
                    LocalServer::Reused { .. } => "running (reused)",
                    LocalServer::Started(_) => "started and healthy",
                };
                report.add(Check::pass(
                    "local server",
                    format!("{how} at {}", server.base_url()),
                ));
                let url = server.base_url().to_string();
                _local_server = Some(server);
                resolve_endpoint(config, api_role, Some(&url))
            }
            Err(e) => {
                report.add(Check::fail(
                    "local server",
                    first_line(&e.to_string()),
                    format!(
                        "see {} for the server's output; {}",
                        log.display(),
                        llm::local::INSTALL_HINT
                    ),
                ));
                return skip_endpoint_checks(report, "the local server is not running");
            }
        }
    } else {
        let key = if key_set { "set" } else { "not set" };
        report.add(Check::pass("api key", format!("${key_env} is {key}")));
        resolve_endpoint(config, api_role, None)
    };
    let endpoint = match endpoint {
        Ok(e) => e,
        Err(e) => {
            report.add(Check::fail(
                "endpoint",
                first_line(&e.to_string()),
                "set llm.base_url (including /v1), e.g. `--set llm.base_url=http://localhost:11434/v1`",
            ));
            return skip_endpoint_checks(report, "no endpoint");
        }
    };
    endpoint_checks(config, endpoint, report).await;
}

/// Each role's model profile, asking the endpoint as a session's start does.
async fn profile_checks(ctx: &Ctx, config: &Config, report: &mut Report) {
    let project = crate::paths::ProjectPaths::new(&ctx.project_dir, config);
    let roles = match super::launch::agent_roles(&project, config) {
        Ok(r) => r,
        Err(e) => {
            report.add(Check::fail(
                "profiles",
                first_line(&e.to_string()),
                fix_of(&e.to_string()),
            ));
            return;
        }
    };
    let profiles = llm::profile::resolve_roles(config, &roles).await;
    for line in super::profiles::lines(&profiles) {
        report.add(Check::pass("profile", line));
    }
}

fn skip_endpoint_checks(report: &mut Report, why: &str) {
    for name in [
        "endpoint",
        "model",
        "completion",
        "streaming",
        "structured output",
    ] {
        report.add(Check::skip(name, why));
    }
}

async fn endpoint_checks(config: &Config, endpoint: Endpoint, report: &mut Report) {
    let url = endpoint.base_url.clone();
    let model = endpoint.model.clone();

    // Reachable, and the model listed.
    match list_models(&endpoint, config.llm.timeouts.connect_secs).await {
        Err(detail) => {
            report.add(Check::fail(
                "endpoint",
                format!("{url} is unreachable: {detail}"),
                "start the server or fix llm.base_url (it must include /v1); for the local default unset llm.base_url",
            ));
            for name in ["model", "completion", "streaming", "structured output"] {
                report.add(Check::skip(name, "the endpoint is unreachable"));
            }
            return;
        }
        Ok(Models::Listed(names)) => {
            report.add(Check::pass("endpoint", format!("{url} answers")));
            if endpoint.is_local || names.contains(&model) {
                report.add(Check::pass("model", format!("{model} is served")));
            } else {
                let some: Vec<&str> = names.iter().take(8).map(String::as_str).collect();
                report.add(Check::fail(
                    "model",
                    format!(
                        "{model} is not among the server's models ({})",
                        some.join(", ")
                    ),
                    "set llm.model (or roles.<role>.model) to one of the listed models",
                ));
            }
        }
        Ok(Models::NotListed(why)) => {
            report.add(Check::pass("endpoint", format!("{url} answers")));
            report.add(Check::pass(
                "model",
                format!("{model} (not verified: {why})"),
            ));
        }
        Ok(Models::Denied(status)) => {
            report.add(Check::pass("endpoint", format!("{url} answers")));
            report.add(Check::fail(
                "model",
                format!("{url}/models answered HTTP {status}"),
                format!(
                    "put a valid API key into ${}, the variable named by llm.api_key_env",
                    config.llm.api_key_env
                ),
            ));
        }
    }

    let mut llm = config.llm.clone();
    llm.retries.max_retries = llm.retries.max_retries.min(1);
    llm.timeouts.first_token_secs = llm.timeouts.first_token_secs.min(120);
    let client = match LlmClient::new(endpoint, &llm) {
        Ok(c) => c,
        Err(e) => {
            report.add(Check::fail(
                "completion",
                e.to_string(),
                "see the message above",
            ));
            return;
        }
    };
    let cancel = CancellationToken::new();

    // A one-token completion.
    let one = ChatRequest {
        max_tokens: Some(1),
        temperature: Some(0.0),
        ..ChatRequest::text(vec![ChatMessage::user("Say OK.")])
    };
    let ok = match client.chat(&one, &mut |_: &str| {}, &cancel).await {
        Ok(r) => report.add(Check::pass(
            "completion",
            format!(
                "{} answered ({} prompt + {} completion tokens{})",
                r.model,
                r.usage.prompt_tokens,
                r.usage.completion_tokens,
                if r.usage.estimated { ", estimated" } else { "" }
            ),
        )),
        Err(e) => report.add(Check::error("completion", &e)),
    };
    if !ok {
        report.add(Check::skip("streaming", "the completion failed"));
        report.add(Check::skip("structured output", "the completion failed"));
        return;
    }

    // Streaming: several deltas.
    let count = ChatRequest {
        max_tokens: Some(24),
        temperature: Some(0.0),
        ..ChatRequest::text(vec![ChatMessage::user(
            "Count from one to ten in words, separated by spaces.",
        )])
    };
    let mut deltas = 0usize;
    match client
        .chat(
            &count,
            &mut |t: &str| {
                if !llm::is_retry_marker(t) {
                    deltas += 1;
                }
            },
            &cancel,
        )
        .await
    {
        Ok(_) if deltas > 1 => {
            report.add(Check::pass("streaming", format!("{deltas} chunks")));
        }
        Ok(_) => {
            report.add(Check::warn(
                "streaming",
                "the answer arrived in one piece",
                "agents still work, but panes show each answer only when it is complete; check the server's streaming support",
            ));
        }
        Err(e) => {
            report.add(Check::error("streaming", &e));
        }
    }

    // Structured output.
    let schema = serde_json::json!({
        "type": "object",
        "properties": {"ready": {"type": "boolean"}},
        "required": ["ready"],
        "additionalProperties": false
    });
    let json = ChatRequest {
        output: OutputSpec::Json {
            name: "readiness".into(),
            schema,
        },
        max_tokens: Some(48),
        temperature: Some(0.0),
        ..ChatRequest::text(vec![ChatMessage::user(
            "Are you ready? Answer with a JSON object {\"ready\": true} or {\"ready\": false}.",
        )])
    };
    let base_url = client.endpoint().base_url.clone();
    match client.chat(&json, &mut |_: &str| {}, &cancel).await {
        Ok(r) if r.json.as_ref().is_some_and(|v| v["ready"].is_boolean()) => {
            let how = match (llm.structured_output, structured::support(&base_url)) {
                (StructuredOutput::Prompt, _) => "from the prompt (llm.structured_output: prompt)",
                (_, Support::Supported) => "with response_format json_schema",
                _ => "from the prompt (the server rejects response_format json_schema)",
            };
            report.add(Check::pass(
                "structured output",
                format!("valid JSON {how}"),
            ));
        }
        Ok(r) => {
            report.add(Check::fail(
                "structured output",
                format!(
                    "the model's answer is not the requested JSON: {}",
                    llm::wire::shorten(r.text.trim(), 120)
                ),
                "use a model that follows JSON instructions (llm.model), or a server with response_format json_schema support",
            ));
        }
        Err(e) => {
            report.add(Check::error("structured output", &e));
        }
    }
}

/// What `GET /models` said.
enum Models {
    Listed(Vec<String>),
    /// The server has no such route (or answered something else): not an error.
    NotListed(String),
    /// 401/403: the key is wrong or missing.
    Denied(u16),
}

async fn list_models(
    endpoint: &Endpoint,
    connect_secs: u64,
) -> std::result::Result<Models, String> {
    let http = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(connect_secs.max(1)))
        .timeout(Duration::from_secs(connect_secs.max(1) + 20))
        .build()
        .map_err(|e| e.to_string())?;
    let mut req = http.get(endpoint.url("models"));
    if let Some(k) = &endpoint.api_key {
        req = req.bearer_auth(k.expose());
    }
    let resp = req.send().await.map_err(|e| {
        let mut msg = e.to_string();
        let mut src = std::error::Error::source(&e);
        while let Some(s) = src {
            msg = format!("{msg}: {s}");
            src = s.source();
        }
        msg
    })?;
    let status = resp.status().as_u16();
    if status == 401 || status == 403 {
        return Ok(Models::Denied(status));
    }
    if !resp.status().is_success() {
        return Ok(Models::NotListed(format!("/models answered HTTP {status}")));
    }
    let body: serde_json::Value = match resp.json().await {
        Ok(v) => v,
        Err(_) => return Ok(Models::NotListed("/models is not JSON".into())),
    };
    let names: Vec<String> = body["data"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|m| m["id"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    if names.is_empty() {
        Ok(Models::NotListed("/models lists no model".into()))
    } else {
        Ok(Models::Listed(names))
    }
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or_default().to_string()
}

/// The lines after the first of an error message (our errors put the fix there).
fn fix_of(s: &str) -> String {
    let rest: Vec<&str> = s.lines().skip(1).map(str::trim).collect();
    if rest.is_empty() {
        "check the server's logs and `agentmux config show`".into()
    } else {
        rest.join("\n")
    }
}

/// Starts and stops a throw-away server on the configured socket's directory, which proves the
/// socket directory is writable (a private server on `tmux -L`, else the default socket dir).
pub(crate) fn check_tmux_socket(socket: Option<&str>) -> Check {
    let probe = format!("agentmux-doctor-{}", std::process::id());
    let name = socket
        .map(|s| format!("{s} (probed as {probe})"))
        .unwrap_or_else(|| format!("default dir (probed as {probe})"));
    let out = std::process::Command::new("tmux")
        .args([
            "-L",
            &probe,
            "-f",
            "/dev/null",
            "new-session",
            "-d",
            "-s",
            "probe",
            "true",
        ])
        .output();
    let _ = std::process::Command::new("tmux")
        .args(["-L", &probe, "kill-server"])
        .output();
    // tmux 3.3 leaves the socket file behind.
    let dir = std::env::var_os("TMUX_TMPDIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| "/tmp".into());
    let _ = std::fs::remove_file(
        dir.join(format!("tmux-{}", {
            use std::os::unix::fs::MetadataExt;
            std::fs::metadata("/proc/self")
                .map(|m| m.uid())
                .unwrap_or(0)
        }))
        .join(&probe),
    );
    match out {
        Ok(o) if o.status.success() => {
            Check::pass("tmux socket", format!("{name}: a server starts"))
        }
        Ok(o) => Check::fail(
            "tmux socket",
            format!("{name}: {}", String::from_utf8_lossy(&o.stderr).trim()),
            "make the tmux socket directory writable (TMUX_TMPDIR, default /tmp/tmux-$UID)",
        ),
        Err(e) => Check::fail(
            "tmux socket",
            format!("cannot run tmux: {e}"),
            tmux::INSTALL_HINT,
        ),
    }
}

/// Whether the dashboard can draw: a terminal on stdout and a TERM it knows.
pub(crate) fn check_terminal() -> Check {
    use std::io::IsTerminal;
    let term = std::env::var("TERM").unwrap_or_default();
    if !std::io::stdout().is_terminal() {
        return Check::warn(
            "terminal",
            "stdout is not a terminal",
            "attach from a terminal to watch the session; `agentmux run` works without one",
        );
    }
    if term.is_empty() || term == "dumb" {
        return Check::warn(
            "terminal",
            format!("TERM is `{term}`"),
            "set TERM (e.g. xterm-256color) so the panes and the dashboard can draw",
        );
    }
    let (cols, rows) = crate::tty::terminal_size();
    Check::pass("terminal", format!("TERM={term}, {cols}x{rows}"))
}

/// tmux as `start` judges it: `tmux -V` through [`tmux::require_supported`], so doctor fails
/// exactly when `start` would refuse the tmux on PATH.
pub(crate) fn check_tmux() -> Check {
    match Command::new("tmux").arg("-V").output() {
        Ok(out) => tmux_version_check(String::from_utf8_lossy(&out.stdout).trim()),
        Err(_) => Check::fail("tmux", "tmux is not installed", tmux::INSTALL_HINT),
    }
}

/// The check for the output of `tmux -V`.
fn tmux_version_check(version: &str) -> Check {
    let (major, minor) = tmux::MIN_VERSION;
    match tmux::require_supported(version) {
        // `parse_version`'s mark for builds without a release number (`master`, `openbsd-*`).
        Ok((u32::MAX, _)) => Check::pass(
            "tmux",
            format!("{version} (no release number: taken as newer than {major}.{minor})"),
        ),
        Ok(_) => Check::pass("tmux", format!("{version} (>= {major}.{minor})")),
        Err(e) => Check::error("tmux", &e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tmux_check_passes_what_start_accepts_and_fails_what_it_refuses() {
        for accepted in ["tmux 3.3a", "tmux 3.2", "tmux next-3.5", "tmux 10.0"] {
            let c = tmux_version_check(accepted);
            assert_eq!(c.status, Status::Pass, "{accepted}: {c:?}");
            assert!(tmux::require_supported(accepted).is_ok());
        }
        for build in ["tmux master", "tmux openbsd-7.5"] {
            let c = tmux_version_check(build);
            assert_eq!(c.status, Status::Pass, "{build}: {c:?}");
            assert!(c.detail.contains("no release number"), "{c:?}");
        }
        let old = tmux_version_check("tmux 2.9a");
        assert_eq!(old.status, Status::Fail);
        assert!(old.detail.contains("too old"), "{old:?}");
        assert!(
            old.fix
                .as_deref()
                .unwrap_or_default()
                .contains("install tmux")
        );
        let odd = tmux_version_check("screen 4");
        assert_eq!(odd.status, Status::Fail);
        assert!(
            odd.detail.contains("cannot read the tmux version"),
            "{odd:?}"
        );
    }

    #[test]
    fn fix_is_the_rest_of_the_message() {
        assert_eq!(fix_of("bad\n  do this"), "do this");
        assert!(fix_of("bad").contains("config show"));
        assert_eq!(first_line("a\nb"), "a");
    }
}
