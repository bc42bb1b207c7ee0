//! The local default model: a managed `llama-server` running SmolLM2-135M.
//!
//! With no endpoint and no API key configured, agentmux runs a small model itself so a new user
//! gets a working session without an account. This module finds the runtime that
//! `scripts/install-local-llm.sh` installed, builds the server's command line (the tmux layer runs
//! it in a pane), checks `/health`, starts it as a child process for headless runs and tests
//! ([`ChildServer`], killed on drop), and reuses a healthy server another agentmux process started
//! (recorded in `$AGENTMUX_HOME/run/llama-server.json`).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::endpoint::DEFAULT_LOCAL_MODEL;
use protocol::config::LocalLlmConfig;
use protocol::error::Error;

/// The model file the install script puts under `$AGENTMUX_HOME/models/`.
pub(crate) const MODEL_FILE: &str = "SmolLM2-135M-Instruct.Q4_1.gguf";
/// The fix printed whenever the runtime is missing.
pub const INSTALL_HINT: &str = "run `scripts/install-local-llm.sh` (installs llama-server and SmolLM2 into $AGENTMUX_HOME, default ~/.local/share/agentmux), or set llm.base_url to use another server";

/// The located local runtime and its settings.
#[derive(Clone, Debug, PartialEq)]
pub struct LocalRuntime {
    pub server_bin: PathBuf,
    pub model_path: PathBuf,
    pub ctx_size: u32,
    pub parallel: u32,
    pub threads: Option<u32>,
    pub startup_timeout: Duration,
    /// Where the running server is recorded for reuse: `$AGENTMUX_HOME/run`.
    pub run_dir: PathBuf,
}

impl LocalRuntime {
    /// Finds the server binary and the model: the configured paths, else `$AGENTMUX_HOME/bin` and
    /// `$AGENTMUX_HOME/models`, else (for the binary) `llama-server` on PATH.
    pub fn locate(cfg: &LocalLlmConfig) -> Result<Self, Error> {
        let home = agentmux_home();
        let server_bin = match &cfg.server_bin {
            Some(p) => {
                let p = PathBuf::from(p);
                if !is_executable(&p) {
                    return Err(Error::Llm(format!(
                        "llm.local.server_bin is {}, which is not an executable file\n  fix the path or remove the key; {INSTALL_HINT}",
                        p.display()
                    )));
                }
                p
            }
            None => {
                let in_home = home.join("bin").join("llama-server");
                if is_executable(&in_home) {
                    in_home
                } else if let Some(p) = find_on_path("llama-server") {
                    p
                } else {
                    return Err(Error::Llm(format!(
                        "the local model server is not installed: no {} and no llama-server on PATH\n  {INSTALL_HINT}",
                        in_home.display()
                    )));
                }
            }
        };
        let model_path = match &cfg.model_path {
            Some(p) => PathBuf::from(p),
            None => home.join("models").join(MODEL_FILE),
        };
        if !model_path.is_file() {
            let key = if cfg.model_path.is_some() {
                "llm.local.model_path"
            } else {
                "the default model"
            };
            return Err(Error::Llm(format!(
                "{key}: {} does not exist\n  {INSTALL_HINT}",
                model_path.display()
            )));
        }
        Ok(Self {
            server_bin,
            model_path,
            ctx_size: cfg.ctx_size.max(512),
            parallel: cfg.parallel.max(1),
            threads: cfg.threads,
            startup_timeout: Duration::from_secs(cfg.startup_timeout_secs.max(1)),
            run_dir: home.join("run"),
        })
    }

    /// The program and arguments that serve the model on `127.0.0.1:port`. `--jinja` applies the
    /// model's chat template and enables `response_format` json_schema (grammar-constrained);
    /// the context is per slot, so llama-server gets `ctx_size * parallel`.
    pub fn server_command(&self, port: u16) -> (PathBuf, Vec<String>) {
        let mut args = vec![
            "--host".to_string(),
            "127.0.0.1".into(),
            "--port".into(),
            port.to_string(),
            "-m".into(),
            self.model_path.display().to_string(),
            "-c".into(),
            (u64::from(self.ctx_size) * u64::from(self.parallel)).to_string(),
            "--parallel".into(),
            self.parallel.to_string(),
            "--jinja".into(),
            "--alias".into(),
            DEFAULT_LOCAL_MODEL.into(),
            // On CPU, llama-server's default (`auto`: on) flash attention makes each generated
            // token much slower once the context holds a few thousand tokens (see BENCHMARKS.md).
            "--flash-attn".into(),
            "off".into(),
        ];
        if let Some(t) = self.threads {
            args.push("--threads".into());
            args.push(t.to_string());
        }
        (self.server_bin.clone(), args)
    }

    /// Reuses a healthy server recorded in `$AGENTMUX_HOME/run/llama-server.json`, else starts one
    /// as a child process (logging to `log_file`, if given).
    pub async fn ensure_running(&self, log_file: Option<&Path>) -> Result<LocalServer, Error> {
        if let Some(url) = find_running(self).await {
            return Ok(LocalServer::Reused { base_url: url });
        }
        Ok(LocalServer::Started(
            ChildServer::start(self, log_file).await?,
        ))
    }
}

/// A usable local server: one already running, or one this process started.
#[derive(Debug)]
pub enum LocalServer {
    Reused { base_url: String },
    Started(ChildServer),
}

impl LocalServer {
    /// `http://127.0.0.1:PORT/v1`.
    pub fn base_url(&self) -> &str {
        match self {
            LocalServer::Reused { base_url } => base_url,
            LocalServer::Started(c) => c.base_url(),
        }
    }
}

/// `http://127.0.0.1:PORT/v1` for a port.
pub(crate) fn base_url_for(port: u16) -> String {
    format!("http://127.0.0.1:{port}/v1")
}

/// A free loopback TCP port (bound and released; the server binds it right after).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(8080)
}

/// The `/health` URL of a server given its base URL (with or without `/v1`).
fn health_url(base_url: &str) -> String {
    let root = base_url.trim_end_matches('/');
    let root = root.strip_suffix("/v1").unwrap_or(root);
    format!("{root}/health")
}

/// True when `GET /health` answers 2xx within two seconds (llama-server answers 503 while it
/// loads the model).
pub async fn is_healthy(base_url: &str) -> bool {
    let Ok(http) = reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()
    else {
        return false;
    };
    matches!(http.get(health_url(base_url)).send().await, Ok(r) if r.status().is_success())
}

/// Waits until [`is_healthy`], polling; an error naming the URL after `timeout`.
pub async fn wait_healthy(base_url: &str, timeout: Duration) -> Result<(), Error> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if is_healthy(base_url).await {
            return Ok(());
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(Error::Llm(format!(
                "the local model server at {} did not become healthy within {} s\n  raise llm.local.startup_timeout_secs, or check its output",
                health_url(base_url),
                timeout.as_secs()
            )));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// A llama-server child process; killed (and its record removed) on drop.
#[derive(Debug)]
pub struct ChildServer {
    child: Child,
    base_url: String,
    record: PathBuf,
}

impl ChildServer {
    /// Starts the server on a free port and waits for `/health`. Its output goes to `log_file`
    /// (appended) or nowhere.
    pub async fn start(rt: &LocalRuntime, log_file: Option<&Path>) -> Result<Self, Error> {
        let port = free_port();
        let (program, args) = rt.server_command(port);
        let (stdout, stderr) = match log_file {
            Some(p) => {
                if let Some(dir) = p.parent() {
                    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
                }
                let f = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(p)
                    .map_err(|e| Error::io(p, e))?;
                let g = f.try_clone().map_err(|e| Error::io(p, e))?;
                (Stdio::from(f), Stdio::from(g))
            }
            None => (Stdio::null(), Stdio::null()),
        };
        let child = Command::new(&program)
            .args(&args)
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr)
            .spawn()
            .map_err(|e| {
                Error::Llm(format!(
                    "cannot start {}: {e}\n  {INSTALL_HINT}",
                    program.display()
                ))
            })?;
        let mut server = Self {
            child,
            base_url: base_url_for(port),
            record: record_path(&rt.run_dir),
        };
        server.wait_started(rt.startup_timeout, log_file).await?;
        write_record(
            &rt.run_dir,
            &ServerRecord {
                pid: server.pid(),
                port,
                model: rt.model_path.display().to_string(),
            },
        );
        tracing::info!(pid = server.pid(), port, "started the local model server");
        Ok(server)
    }

    async fn wait_started(
        &mut self,
        timeout: Duration,
        log_file: Option<&Path>,
    ) -> Result<(), Error> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                let log = log_file
                    .map(|p| format!("; its output is in {}", p.display()))
                    .unwrap_or_default();
                return Err(Error::Llm(format!(
                    "the local model server exited during start-up ({status}){log}\n  run `agentmux doctor`; {INSTALL_HINT}"
                )));
            }
            if is_healthy(&self.base_url).await {
                return Ok(());
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(Error::Llm(format!(
                    "the local model server at {} did not become healthy within {} s\n  raise llm.local.startup_timeout_secs",
                    health_url(&self.base_url),
                    timeout.as_secs()
                )));
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// `http://127.0.0.1:PORT/v1`.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }
}

impl Drop for ChildServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if read_record_at(&self.record).is_some_and(|r| r.pid == self.child.id()) {
            let _ = std::fs::remove_file(&self.record);
        }
    }
}

/// A running server other agentmux processes may reuse.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct ServerRecord {
    pub pid: u32,
    pub port: u16,
    /// The model file it serves.
    pub model: String,
}

/// `<run_dir>/llama-server.json` (`run_dir` is [`LocalRuntime::run_dir`]).
pub(crate) fn record_path(run_dir: &Path) -> PathBuf {
    run_dir.join("llama-server.json")
}

/// Records a running server so other agentmux processes reuse it (best effort: reuse is an
/// optimisation). The tmux layer calls this after starting the server in a pane.
pub(crate) fn write_record(run_dir: &Path, rec: &ServerRecord) {
    let path = record_path(run_dir);
    if let Err(e) = osutil::write_json_atomic(&path, rec) {
        tracing::warn!(error = %e, "cannot record the local model server");
    }
}

/// The recorded server, if any.
pub fn read_record(run_dir: &Path) -> Option<ServerRecord> {
    read_record_at(&record_path(run_dir))
}

fn read_record_at(path: &Path) -> Option<ServerRecord> {
    let text = std::fs::read_to_string(path).ok()?;
    serde_json::from_str(&text).ok()
}

/// The base URL of a recorded server serving the same model whose process exists and whose port
/// answers `/health`. The health check decides: a pid that exists may have been reused.
pub(crate) async fn find_running(rt: &LocalRuntime) -> Option<String> {
    let rec = read_record(&rt.run_dir)?;
    if rec.model != rt.model_path.display().to_string() || !osutil::process::pid_alive(rec.pid) {
        return None;
    }
    let url = base_url_for(rec.port);
    is_healthy(&url).await.then_some(url)
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

fn find_on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| is_executable(p))
}

/// `$AGENTMUX_HOME`, else `~/.local/share/agentmux`: the local model runtime lives here.
pub(crate) fn agentmux_home() -> PathBuf {
    if let Some(h) = std::env::var_os("AGENTMUX_HOME").filter(|h| !h.is_empty()) {
        return PathBuf::from(h);
    }
    dirs::data_local_dir()
        .unwrap_or_else(|| PathBuf::from(".local/share"))
        .join("agentmux")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn runtime() -> LocalRuntime {
        LocalRuntime {
            server_bin: "/opt/llama-server".into(),
            model_path: "/m/model.gguf".into(),
            ctx_size: 4096,
            parallel: 3,
            threads: Some(2),
            startup_timeout: Duration::from_secs(5),
            run_dir: "/tmp/unused".into(),
        }
    }

    #[test]
    fn command_line_has_loopback_port_context_and_slots() {
        let (prog, args) = runtime().server_command(4567);
        assert_eq!(prog, PathBuf::from("/opt/llama-server"));
        let joined = args.join(" ");
        assert!(
            joined.starts_with("--host 127.0.0.1 --port 4567 -m /m/model.gguf"),
            "{joined}"
        );
        assert!(joined.contains("-c 12288 --parallel 3"), "{joined}");
        assert!(joined.contains("--jinja"), "{joined}");
        assert!(joined.contains("--flash-attn off"), "{joined}");
        assert!(joined.ends_with("--threads 2"), "{joined}");
    }

    #[test]
    fn health_url_strips_v1() {
        assert_eq!(
            health_url("http://127.0.0.1:9/v1"),
            "http://127.0.0.1:9/health"
        );
        assert_eq!(
            health_url("http://127.0.0.1:9/v1/"),
            "http://127.0.0.1:9/health"
        );
        assert_eq!(health_url("http://h:1"), "http://h:1/health");
    }

    #[test]
    fn missing_configured_binary_says_how_to_install() {
        let cfg = LocalLlmConfig {
            server_bin: Some("/nonexistent/llama-server".into()),
            ..Default::default()
        };
        let e = LocalRuntime::locate(&cfg).unwrap_err().to_string();
        assert!(e.contains("llm.local.server_bin"), "{e}");
        assert!(e.contains("install-local-llm.sh"), "{e}");
    }

    #[test]
    fn missing_model_names_the_key_and_path() {
        let cfg = LocalLlmConfig {
            server_bin: Some("/bin/sh".into()),
            model_path: Some("/nonexistent/model.gguf".into()),
            ..Default::default()
        };
        let e = LocalRuntime::locate(&cfg).unwrap_err().to_string();
        assert!(e.contains("llm.local.model_path"), "{e}");
        assert!(e.contains("/nonexistent/model.gguf"), "{e}");
    }

    #[test]
    fn free_ports_are_nonzero() {
        assert_ne!(free_port(), 0);
    }
}
