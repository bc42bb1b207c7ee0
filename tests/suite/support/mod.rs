//! Helpers of the suites that drive the `agentmux` binary. The generic ones (the project, the
//! private tmux server, the fake model server, `wait_for`) are in the `test-support` crate.

use std::path::{Path, PathBuf};
use std::time::Duration;

pub(crate) use test_support::project::Project;
pub(crate) use test_support::tmux_server::TmuxServer;
use test_support::wait::{POLL, try_wait_for};
pub(crate) use test_support::{design_team, fake_openai};

/// `agentmux` commands in a project.
pub(crate) trait AgentmuxCmd {
    /// An `agentmux` command run in the project, isolated from the user's config and keys.
    fn cmd(&self) -> assert_cmd::Command;
    /// The same on a private tmux server.
    fn cmd_on(&self, tmux: &TmuxServer) -> assert_cmd::Command;
}

impl AgentmuxCmd for Project {
    fn cmd(&self) -> assert_cmd::Command {
        assert_cmd::Command::from_std(agentmux(self.path()))
    }
    fn cmd_on(&self, tmux: &TmuxServer) -> assert_cmd::Command {
        agentmux_on(self.path(), tmux)
    }
}

/// The `agentmux` binary under test: this profile's build, or `BENCH_AGENTMUX_BIN` (benchmarks
/// drive the release binary from the quicker debug harness; cargo sets `CARGO_BIN_EXE_*` itself).
pub(crate) fn agentmux_bin() -> PathBuf {
    std::env::var_os("BENCH_AGENTMUX_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| assert_cmd::cargo::cargo_bin("agentmux"))
}

/// An `agentmux` command run in `dir`, without the caller's agentmux/OpenAI environment or
/// tmux, and with XDG pointing at an empty directory.
pub(crate) fn agentmux(dir: &Path) -> std::process::Command {
    let mut c = std::process::Command::new(agentmux_bin());
    c.current_dir(dir);
    for (k, _) in std::env::vars() {
        if k.starts_with("AGENTMUX_") || k.starts_with("OPENAI_") || k == "TMUX" {
            c.env_remove(&k);
        }
    }
    c.env("XDG_CONFIG_HOME", dir.join(".xdg-config-empty"));
    c
}

/// [`agentmux`] on the private tmux server `tmux`.
pub(crate) fn agentmux_on(dir: &Path, tmux: &TmuxServer) -> assert_cmd::Command {
    let mut c = assert_cmd::Command::from_std(agentmux(dir));
    c.env("AGENTMUX_TMUX_SOCKET", &tmux.socket);
    c
}

/// Copies the directory `rel` (relative to the repository root, e.g. a fixture project) into `to`.
pub(crate) fn copy_dir_into(rel: &str, to: &Path) {
    let from = Path::new(env!("CARGO_MANIFEST_DIR")).join(rel);
    let ok = std::process::Command::new("cp")
        .arg("-r")
        .arg(format!("{}/.", from.display()))
        .arg(to)
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "copy {from:?}");
}

/// A project wired to a fake OpenAI server and a private tmux server.
pub(crate) struct Rig {
    pub project: Project,
    pub tmux: TmuxServer,
    pub server: fake_openai::FakeOpenAi,
}

impl Rig {
    /// `agentmux run --goal ...` headless in the project: asserts its exit code, returns stderr.
    pub(crate) fn run_headless(&self, exit_code: i32) -> String {
        let out = self
            .cmd()
            .args(["run", "--goal", "A team link shortener"])
            .output()
            .expect("run agentmux");
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(out.status.code(), Some(exit_code), "{stderr}");
        stderr
    }

    pub(crate) fn new(script: design_team::Script, extra_config: &str) -> Self {
        Self::with_server(
            fake_openai::FakeOpenAi::start(design_team::responder(script)),
            extra_config,
        )
    }

    /// A project wired to `server` (a fake with a responder of the test's own).
    pub(crate) fn with_server(server: fake_openai::FakeOpenAi, extra_config: &str) -> Self {
        let project = Project::new();
        project.write(
            ".agentmux/config.yaml",
            &format!(
                "llm:\n  base_url: {}\n  model: fake-model\n  structured_output: json_schema\n{extra_config}",
                server.url()
            ),
        );
        Self {
            project,
            tmux: TmuxServer::new(),
            server,
        }
    }

    /// An `agentmux` command in the project, on the private tmux server.
    pub(crate) fn cmd(&self) -> assert_cmd::Command {
        self.project.cmd_on(&self.tmux)
    }

    /// The only session id of the project.
    pub(crate) fn session_id(&self) -> String {
        let dir = self.project.path().join(".agentmux/sessions");
        let mut ids: Vec<String> = std::fs::read_dir(&dir)
            .expect("sessions dir")
            .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
            .collect();
        ids.sort();
        ids.pop().expect("a session")
    }

    pub(crate) fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.project.path().join(rel))
            .unwrap_or_else(|e| panic!("{rel}: {e}"))
    }
}

impl Rig {
    /// The session's directory.
    pub(crate) fn session_dir(&self) -> PathBuf {
        self.project
            .path()
            .join(".agentmux/sessions")
            .join(self.session_id())
    }

    /// The LLM calls the task `id` asks for: one per part, or one (read from its task file).
    pub(crate) fn task_calls(&self, id: &str) -> u64 {
        let path = self.session_dir().join("tasks").join(format!("{id}.json"));
        let task: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}")),
        )
        .unwrap_or_else(|e| panic!("{path:?}: {e}"));
        task["parts"]
            .as_array()
            .map_or(1, |p| p.len().max(1) as u64)
    }

    /// The journal's events (type and the whole record), skipping unreadable lines.
    pub(crate) fn journal(&self) -> Vec<serde_json::Value> {
        let text =
            std::fs::read_to_string(self.session_dir().join("journal.jsonl")).unwrap_or_default();
        text.lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }

    /// Waits until `cond` holds for the journal (panics after `secs`, listing its events).
    #[track_caller]
    pub(crate) fn wait_journal(
        &self,
        secs: u64,
        what: &str,
        cond: impl Fn(&[serde_json::Value]) -> bool,
    ) {
        let journal = || cond(&self.journal()).then_some(());
        if try_wait_for(Duration::from_secs(secs), POLL, journal).is_none() {
            panic!(
                "timed out waiting for {what}; journal: {:#?}",
                self.journal()
                    .iter()
                    .map(|e| e["type"].clone())
                    .collect::<Vec<_>>()
            );
        }
    }

    /// The pid of the process holding the session lock (`supervisor (pid N)`).
    pub(crate) fn lock_holder_pid(&self) -> Option<i32> {
        let text = std::fs::read_to_string(self.session_dir().join("session.lock")).ok()?;
        let start = text.find("pid ")? + 4;
        text[start..].trim_end_matches(')').trim().parse().ok()
    }

    /// SIGKILLs the supervisor that holds the session's lock and waits until it is gone.
    pub(crate) fn kill_supervisor(&self) {
        let pid = self.lock_holder_pid().expect("a supervisor holds the lock");
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGKILL,
        )
        .unwrap();
        test_support::wait::wait_for_exit(pid as u32, std::time::Duration::from_secs(30));
    }

    /// `wait` with a timeout; returns (exit code, stdout + stderr, supervisor log).
    pub(crate) fn wait(&self, secs: u64) -> (i32, String) {
        let out = self
            .cmd()
            .args(["wait", "--timeout", &secs.to_string()])
            .output()
            .expect("wait");
        let log = std::fs::read_to_string(self.session_dir().join("logs/supervisor.log"))
            .unwrap_or_default();
        (
            out.status.code().unwrap_or(-1),
            format!(
                "{}{}\n--- supervisor log ---\n{log}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        )
    }

    /// `status --json`.
    pub(crate) fn status(&self) -> serde_json::Value {
        let out = self
            .cmd()
            .args(["status", "--json"])
            .output()
            .expect("status");
        serde_json::from_slice(&out.stdout).expect("status --json")
    }

    /// The deliverables, with the project path replaced, for comparing two runs.
    pub(crate) fn deliverables(&self) -> std::collections::BTreeMap<String, String> {
        let root = self.project.path().join(".agentmux");
        let mut out = std::collections::BTreeMap::new();
        let mut files = vec![
            "options.md".to_string(),
            "design_proposal.md".to_string(),
            "implementation_plan.md".to_string(),
        ];
        if let Ok(rd) = std::fs::read_dir(root.join("specs")) {
            for e in rd.filter_map(|e| e.ok()) {
                files.push(format!("specs/{}", e.file_name().to_string_lossy()));
            }
        }
        let proj = self.project.path().display().to_string();
        let name = protocol::slug(&self.project.path().file_name().unwrap().to_string_lossy());
        for f in files {
            if let Ok(t) = std::fs::read_to_string(root.join(&f)) {
                out.insert(f, t.replace(&proj, "<project>").replace(&name, "<name>"));
            }
        }
        out
    }
}

/// Requests whose whole message list was sent more than once.
pub(crate) fn repeated_requests(server: &fake_openai::FakeOpenAi) -> usize {
    let mut seen = std::collections::HashMap::new();
    for r in server.requests() {
        *seen.entry(r.body["messages"].to_string()).or_insert(0usize) += 1;
    }
    seen.values().filter(|n| **n > 1).count()
}
