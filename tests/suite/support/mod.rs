//! Test helpers shared by the suites.

use std::path::{Path, PathBuf};

/// A temporary project directory, deleted on drop.
pub(crate) struct Project {
    pub dir: tempfile::TempDir,
}

impl Project {
    pub(crate) fn new() -> Self {
        Self {
            dir: tempfile::tempdir().expect("tempdir"),
        }
    }
    /// A project in `dir` that is left in place (benchmarks: the caller removes `dir` once it
    /// has measured everything).
    pub(crate) fn kept_in(dir: &Path) -> Self {
        std::fs::create_dir_all(dir).expect("mkdir");
        Self {
            dir: tempfile::Builder::new()
                .prefix("project-")
                .disable_cleanup(true)
                .tempdir_in(dir)
                .expect("tempdir"),
        }
    }
    pub(crate) fn path(&self) -> &Path {
        self.dir.path()
    }
    /// Writes a file relative to the project.
    pub(crate) fn write(&self, rel: &str, text: &str) -> PathBuf {
        let p = self.dir.path().join(rel);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(&p, text).expect("write");
        p
    }
    /// An `agentmux` command run in this project, isolated from the user's config and keys.
    pub(crate) fn cmd(&self) -> assert_cmd::Command {
        let mut c = assert_cmd::Command::new(agentmux_bin());
        c.current_dir(self.path());
        isolate(&mut c, self.path());
        c
    }
}

/// The `agentmux` binary under test: this profile's build, or `BENCH_AGENTMUX_BIN` (benchmarks
/// drive the release binary from the quicker debug harness; cargo sets `CARGO_BIN_EXE_*` itself).
pub(crate) fn agentmux_bin() -> PathBuf {
    std::env::var_os("BENCH_AGENTMUX_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| assert_cmd::cargo::cargo_bin("agentmux"))
}

/// Removes the caller's agentmux/OpenAI environment and points XDG at an empty directory.
pub(crate) fn isolate(c: &mut assert_cmd::Command, root: &Path) {
    for (k, _) in std::env::vars() {
        if k.starts_with("AGENTMUX_") || k.starts_with("OPENAI_") || k == "TMUX" {
            c.env_remove(&k);
        }
    }
    c.env("XDG_CONFIG_HOME", root.join(".xdg-config-empty"));
}

pub(crate) use test_support::{design_team, fake_openai};

/// A private tmux server for one test (`tmux -L agentmux-test-<unique>`), killed on drop even
/// when the test fails. Never the user's default server.
pub(crate) struct TmuxServer {
    pub socket: String,
}

impl TmuxServer {
    pub(crate) fn new() -> Self {
        let socket = format!("agentmux-test-{}", uuid::Uuid::new_v4().simple());
        Self { socket }
    }

    /// Runs a tmux command on this server and returns its stdout.
    pub(crate) fn tmux(&self, args: &[&str]) -> String {
        let out = std::process::Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .args(args)
            .output()
            .expect("run tmux");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Session names on this server.
    pub(crate) fn sessions(&self) -> Vec<String> {
        self.tmux(&["list-sessions", "-F", "#{session_name}"])
            .lines()
            .map(str::to_string)
            .collect()
    }
}

impl Drop for TmuxServer {
    fn drop(&mut self) {
        let _ = std::process::Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .arg("kill-server")
            .output();
        // tmux leaves its socket file behind when the server is killed.
        use std::os::unix::fs::MetadataExt as _;
        let Ok(uid) = std::fs::metadata("/proc/self").map(|m| m.uid()) else {
            return;
        };
        let dir = std::env::var_os("TMUX_TMPDIR").unwrap_or_else(|| "/tmp".into());
        let socket = PathBuf::from(dir)
            .join(format!("tmux-{uid}"))
            .join(&self.socket);
        let _ = std::fs::remove_file(socket);
    }
}

/// A project wired to a fake OpenAI server and a private tmux server.
pub(crate) struct Rig {
    pub project: Project,
    pub tmux: TmuxServer,
    pub server: fake_openai::FakeOpenAi,
}

impl Rig {
    pub(crate) fn new(script: design_team::Script, extra_config: &str) -> Self {
        let server = fake_openai::FakeOpenAi::start(design_team::responder(script));
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
        let mut c = self.project.cmd();
        c.env("AGENTMUX_TMUX_SOCKET", &self.tmux.socket);
        c
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

    /// The journal's events (type and the whole record), skipping unreadable lines.
    pub(crate) fn journal(&self) -> Vec<serde_json::Value> {
        let text =
            std::fs::read_to_string(self.session_dir().join("journal.jsonl")).unwrap_or_default();
        text.lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }

    /// Waits until `cond` holds for the journal (panics after `secs`).
    pub(crate) fn wait_journal(
        &self,
        secs: u64,
        what: &str,
        cond: impl Fn(&[serde_json::Value]) -> bool,
    ) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
        while std::time::Instant::now() < deadline {
            if cond(&self.journal()) {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        panic!(
            "timed out waiting for {what}; journal: {:#?}",
            self.journal()
                .iter()
                .map(|e| e["type"].clone())
                .collect::<Vec<_>>()
        );
    }

    /// The pid of the process holding the session lock (`supervisor (pid N)`).
    pub(crate) fn lock_holder_pid(&self) -> Option<i32> {
        let text = std::fs::read_to_string(self.session_dir().join("session.lock")).ok()?;
        let start = text.find("pid ")? + 4;
        text[start..].trim_end_matches(')').trim().parse().ok()
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

/// Waits until process `pid` has exited (gone, or a zombie its parent has not reaped yet: its
/// files and locks are released either way). A process killed in the middle of an fsync exits
/// only when the disk answers, which on a busy machine can take longer than any fixed sleep.
pub(crate) fn wait_until_exited(pid: i32, secs: u64) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    loop {
        let state = std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .ok()
            .and_then(|s| {
                s.rsplit_once(')')
                    .map(|(_, r)| r.trim_start().chars().next())
            })
            .flatten();
        if matches!(state, None | Some('Z') | Some('X')) {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "process {pid} still runs {secs} s after it was killed (state {state:?})"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}
