//! A private tmux server for one test (`tmux -L agentmux-test-<uuid>`), never the user's default
//! server, killed on drop (its socket file removed) even when the test fails.

use std::path::{Path, PathBuf};
use std::process::Command;

use tmux::{PaneSpec, Tmux};

/// A config as many users have: windows and panes counted from 1.
pub const BASE_INDEX_1: &str = "set -g base-index 1\nset -g pane-base-index 1\n";

/// The session that keeps a server started by the test up between its other sessions.
pub const KEEPALIVE: &str = "keepalive";

pub struct TmuxServer {
    /// The server's name (`tmux -L`), `agentmux-test-<uuid>`.
    pub socket: String,
    /// The config file the test started the server with; None when the program under test
    /// starts it.
    config: Option<PathBuf>,
    _dir: Option<tempfile::TempDir>,
}

impl Default for TmuxServer {
    fn default() -> Self {
        Self::new()
    }
}

impl TmuxServer {
    /// A server that does not run yet: the program under test starts it on [`Self::socket`]
    /// (`AGENTMUX_TMUX_SOCKET`), with the caller's environment and no config file.
    pub fn new() -> Self {
        Self {
            socket: unique_socket(),
            config: None,
            _dir: None,
        }
    }

    /// A server started now with [`BASE_INDEX_1`].
    pub fn started() -> Self {
        Self::with_config(BASE_INDEX_1)
    }

    /// A server started now with this config and a clean environment (panes see only what a
    /// test passes them); a [`KEEPALIVE`] session keeps it up.
    pub fn with_config(config: &str) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let conf = dir.path().join("tmux.conf");
        std::fs::write(&conf, config).expect("write tmux.conf");
        let server = Self {
            socket: unique_socket(),
            config: Some(conf.clone()),
            _dir: Some(dir),
        };
        let mut start = Command::new("tmux");
        start
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", std::env::var_os("HOME").unwrap_or_default())
            .env("TERM", "xterm-256color");
        // Where the socket goes: the same directory as for every later command.
        if let Some(tmpdir) = std::env::var_os("TMUX_TMPDIR") {
            start.env("TMUX_TMPDIR", tmpdir);
        }
        let status = start
            .args(["-L", &server.socket, "-f"])
            .arg(&conf)
            .args(["new-session", "-d", "-s", KEEPALIVE, "sleep", "86400"])
            .status()
            .expect("run tmux");
        assert!(status.success(), "cannot start a private tmux server");
        server
    }

    /// The `Multiplexer` for this server (with its config file, if the test started it).
    pub fn mux(&self) -> Tmux {
        let mux = Tmux::new(Some(self.socket.clone()));
        match &self.config {
            Some(conf) => mux.with_config_file(conf),
            None => mux,
        }
    }

    /// Runs a tmux command on this server; its stdout (panics when tmux fails).
    #[track_caller]
    pub fn tmux(&self, args: &[&str]) -> String {
        let out = self.command(args).output().expect("run tmux");
        assert!(
            out.status.success(),
            "tmux {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Runs a tmux command on this server; its stdout, or None when tmux fails (no server).
    pub fn try_tmux(&self, args: &[&str]) -> Option<String> {
        let out = self.command(args).output().expect("run tmux");
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Session names on this server; none when it does not run.
    pub fn sessions(&self) -> Vec<String> {
        self.try_tmux(&["list-sessions", "-F", "#{session_name}"])
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }

    /// The server's socket file: `$TMUX_TMPDIR/tmux-<uid>/<socket>` (`/tmp` by default).
    pub fn socket_path(&self) -> Option<PathBuf> {
        use std::os::unix::fs::MetadataExt as _;
        let uid = std::fs::metadata("/proc/self").ok()?.uid();
        let dir = std::env::var_os("TMUX_TMPDIR").unwrap_or_else(|| "/tmp".into());
        Some(
            PathBuf::from(dir)
                .join(format!("tmux-{uid}"))
                .join(&self.socket),
        )
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new("tmux");
        c.args(["-L", &self.socket]).args(args);
        c
    }
}

/// `agentmux-test-<uuid>`: no two tests, and no user server, share it.
fn unique_socket() -> String {
    format!("agentmux-test-{}", uuid::Uuid::new_v4().simple())
}

impl Drop for TmuxServer {
    fn drop(&mut self) {
        let _ = self
            .command(&["kill-server"])
            .stderr(std::process::Stdio::null())
            .status();
        // tmux (3.3) leaves its socket file behind when the server is killed.
        if let Some(path) = self.socket_path() {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// A pane running `argv` in `cwd`, titled `title`, with no environment of its own.
pub fn pane_spec(title: &str, argv: &[&str], cwd: &Path) -> PaneSpec {
    PaneSpec {
        title: title.into(),
        argv: argv.iter().map(|s| s.to_string()).collect(),
        env: vec![],
        cwd: cwd.to_path_buf(),
        start_delay: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tmux::Multiplexer as _;

    #[test]
    fn a_started_server_runs_until_dropped_and_leaves_no_socket() {
        let server = TmuxServer::started();
        assert!(server.socket.starts_with("agentmux-test-"));
        assert_eq!(server.sessions(), [KEEPALIVE]);
        let listed = server.tmux(&["display", "-p", "-t", "=keepalive:", "#{socket_path}"]);
        let path = server.socket_path().unwrap();
        assert_eq!(
            std::fs::canonicalize(listed.trim()).unwrap(),
            std::fs::canonicalize(&path).unwrap()
        );
        assert!(server.mux().has_session(KEEPALIVE).unwrap());
        drop(server);
        assert!(!path.exists(), "{} is left", path.display());
    }

    #[test]
    fn a_server_not_started_has_no_sessions() {
        let server = TmuxServer::new();
        assert!(server.sessions().is_empty());
        assert_eq!(server.try_tmux(&["list-sessions"]), None);
        assert!(!server.mux().has_session("anything").unwrap());
    }
}
