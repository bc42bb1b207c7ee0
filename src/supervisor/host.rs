//! Where the agents run. In tmux each role has a pane ([`crate::supervisor::agents::AgentPool`]);
//! headless (`agentmux run`) each role is a child process. The supervisor loop only sees this trait.

use crate::supervisor::agents::{DownReason, MAX_CONSECUTIVE_CRASHES};
use std::collections::BTreeMap;
use std::process::Child;

use crate::supervisor::pane::PaneCommand;

/// Why the agents cannot go on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum HostProblem {
    /// A role crashed too often in a row, or cannot be started: the session fails.
    CrashedOut(String),
    /// Where the agents run is gone (the tmux server was killed): nothing is wrong with the
    /// session, which pauses so that `agentmux resume` opens it again.
    Gone(String),
}

/// Agent processes, restarted when they die.
pub(crate) trait AgentHost: Send {
    /// Restarts dead agents. Returns (role, consecutive crashes) for each restart.
    fn check(&mut self) -> Result<Vec<(String, u32)>, HostProblem>;
    /// A task of `role` completed: its crash counter starts again.
    fn task_completed(&mut self, role: &str);
    /// Stops every agent (SIGTERM, so in-flight requests are cancelled).
    fn shutdown(&mut self);
}

/// Headless agents: child processes of the supervisor.
pub(crate) struct ChildAgents {
    command: PaneCommand,
    session_id: String,
    children: BTreeMap<String, Child>,
    crashes: BTreeMap<String, u32>,
}

impl ChildAgents {
    pub(crate) fn start(
        command: PaneCommand,
        session_id: &str,
        roles: &[String],
    ) -> std::io::Result<Self> {
        let mut me = ChildAgents {
            command,
            session_id: session_id.to_string(),
            children: BTreeMap::new(),
            crashes: BTreeMap::new(),
        };
        for r in roles {
            let child = me.spawn(r)?;
            me.children.insert(r.clone(), child);
        }
        Ok(me)
    }

    fn spawn(&self, role: &str) -> std::io::Result<Child> {
        self.command.agent_process(&self.session_id, role).spawn()
    }
}

impl AgentHost for ChildAgents {
    fn check(&mut self) -> Result<Vec<(String, u32)>, HostProblem> {
        let mut restarted = Vec::new();
        let roles: Vec<String> = self.children.keys().cloned().collect();
        for role in roles {
            let dead = matches!(
                self.children.get_mut(&role).map(|c| c.try_wait()),
                Some(Ok(Some(_)) | Err(_))
            );
            if !dead {
                continue;
            }
            let n = self.crashes.entry(role.clone()).or_insert(0);
            *n += 1;
            let n = *n;
            if n >= MAX_CONSECUTIVE_CRASHES {
                return Err(HostProblem::CrashedOut(format!(
                    "the {role} agent crashed {n} times in a row; see its log under the session's agents/{role}/ and `agentmux logs {role}`"
                )));
            }
            match self.spawn(&role) {
                Ok(c) => {
                    self.children.insert(role.clone(), c);
                    restarted.push((role, n));
                }
                Err(e) => {
                    return Err(HostProblem::CrashedOut(format!(
                        "cannot restart the {role} agent: {e}"
                    )));
                }
            }
        }
        Ok(restarted)
    }

    fn task_completed(&mut self, role: &str) {
        self.crashes.remove(role);
    }

    fn shutdown(&mut self) {
        for c in self.children.values() {
            osutil::process::sigterm(c.id());
        }
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(3);
        for c in self.children.values_mut() {
            while std::time::Instant::now() < deadline {
                if let Ok(Some(_)) = c.try_wait() {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            let _ = c.kill();
            let _ = c.wait();
        }
        self.children.clear();
    }
}

impl Drop for ChildAgents {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Agents in tmux panes, watched and respawned by an [`AgentPool`].
///
/// The supervisor pane starts while `agentmux start` is still opening the agents' panes, and the
/// CLI records their ids in `runtime.json` only when all are open. Rather than wait for that (it
/// would delay the first request by the whole pane set-up), the supervisor starts dispatching at
/// once and the panes are registered at the first health check that finds them.
pub(crate) struct TmuxAgents {
    pool: crate::supervisor::agents::AgentPool,
    mux: std::sync::Arc<dyn tmux::Multiplexer>,
    paths: crate::paths::SessionPaths,
    session: String,
    /// How to (re)start a role's agent, and the session it works on.
    command: PaneCommand,
    session_id: String,
    /// None until the agent panes are registered; then when the host was made.
    unregistered_since: Option<std::time::Instant>,
}

/// How long the supervisor waits for `runtime.json` to list the agents' panes.
const PANES_DEADLINE: std::time::Duration = std::time::Duration::from_secs(10);

impl TmuxAgents {
    /// Agents of the session's `runtime.json`: registered at once when it lists their panes,
    /// else at a later [`AgentHost::check`].
    pub(crate) fn new(
        mux: std::sync::Arc<dyn tmux::Multiplexer>,
        paths: &crate::paths::SessionPaths,
        runtime: &crate::runtime::SessionRuntime,
        command: PaneCommand,
        session_id: &str,
    ) -> Self {
        let pool = crate::supervisor::agents::AgentPool::new(
            mux.clone(),
            runtime.tmux_session.clone(),
            paths.clone(),
        );
        let mut me = Self {
            pool,
            mux,
            paths: paths.clone(),
            session: runtime.tmux_session.clone(),
            command,
            session_id: session_id.to_string(),
            unregistered_since: Some(std::time::Instant::now()),
        };
        me.register(runtime);
        me
    }

    /// Registers the agent panes `runtime` lists; false when it lists none yet.
    fn register(&mut self, runtime: &crate::runtime::SessionRuntime) -> bool {
        let agents: Vec<(&String, &String)> = runtime
            .panes
            .iter()
            .filter(|(role, _)| *role != "supervisor" && *role != "model")
            .collect();
        if agents.is_empty() {
            return false;
        }
        for (role, pane) in agents {
            let spec = self.command.agent(&self.session_id, role);
            self.pool.insert(role.clone(), pane.clone(), spec);
        }
        self.unregistered_since = None;
        true
    }

    /// Registers the panes if `runtime.json` lists them by now. Err after [`PANES_DEADLINE`].
    fn ensure_registered(&mut self) -> Result<bool, HostProblem> {
        let Some(since) = self.unregistered_since else {
            return Ok(true);
        };
        if let Ok(Some(rt)) = crate::runtime::SessionRuntime::load(&self.paths)
            && self.register(&rt)
        {
            return Ok(true);
        }
        if since.elapsed() > PANES_DEADLINE {
            return Err(HostProblem::CrashedOut(format!(
                "{}: runtime.json lists no agent panes after {} s (did `agentmux start` fail?)",
                self.paths.dir.display(),
                PANES_DEADLINE.as_secs()
            )));
        }
        Ok(false)
    }
}

impl AgentHost for TmuxAgents {
    fn check(&mut self) -> Result<Vec<(String, u32)>, HostProblem> {
        if !self.ensure_registered()? {
            return Ok(Vec::new());
        }
        let mut restarted = Vec::new();
        let down = self.pool.check();
        // tmux cannot be asked about any pane: the server is gone, not an agent.
        if let Some(d) = down
            .iter()
            .find(|d| matches!(d.reason, DownReason::Unreachable { .. }))
        {
            return Err(HostProblem::Gone(d.reason.to_string()));
        }
        for down in down {
            tracing::warn!("agent {} is down: {}", down.role, down.reason);
            if let Err(e) = self.pool.respawn(&down.role) {
                // `tmux kill-server` ends the panes first and the server a moment later: a
                // check in between sees dead agents, and the respawn then finds no server.
                // That is the host going away, not the agent crashing out.
                if !self.mux.has_session(&self.session).unwrap_or(false) {
                    return Err(HostProblem::Gone(format!(
                        "restarting the {} agent failed: {e}",
                        down.role
                    )));
                }
                return Err(HostProblem::CrashedOut(e.to_string()));
            }
            restarted.push((down.role.clone(), self.pool.consecutive_crashes(&down.role)));
        }
        if let Some((role, _)) = self.pool.crashed_out()
            && let Some(e) = self.pool.crashed_out_error(&role)
        {
            return Err(HostProblem::CrashedOut(e.to_string()));
        }
        if !restarted.is_empty()
            && let Ok(Some(mut rt)) = crate::runtime::SessionRuntime::load(&self.paths)
        {
            for (role, pane) in self.pool.pane_ids() {
                rt.panes.insert(role, pane);
            }
            let _ = rt.save(&self.paths);
        }
        Ok(restarted)
    }

    fn task_completed(&mut self, role: &str) {
        self.pool.task_completed(role);
    }

    fn shutdown(&mut self) {
        // Agents exit cleanly on SIGTERM: their in-flight requests are cancelled at once.
        let _ = self.ensure_registered();
        let ids = self.pool.pane_ids();
        let Ok(panes) = self.mux.list_panes(&self.session) else {
            return;
        };
        for p in panes.iter().filter(|p| ids.values().any(|id| *id == p.id)) {
            if let Some(pid) = p.pid {
                osutil::process::sigterm(pid);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use std::path::Path;

    use super::*;
    use crate::paths::SessionPaths;
    use test_support::fake_mux::FakeMux;
    use tmux::{Multiplexer, layout};

    fn command(project_dir: &Path) -> PaneCommand {
        PaneCommand::new(Path::new("/bin/agentmux"), project_dir, &[], Vec::new())
    }

    fn tmux_agents(dir: &Path) -> (Arc<FakeMux>, TmuxAgents) {
        let paths = SessionPaths::new(dir.join("s1"));
        let mux = Arc::new(FakeMux::new());
        let panes: Vec<(String, tmux::PaneSpec)> = ["supervisor", "architect"]
            .iter()
            .map(|r| (r.to_string(), command(dir).agent("s1", r)))
            .collect();
        let opened =
            layout::open_session(mux.as_ref(), "am-s1", &panes, layout::DEFAULT_SIZE, "tiled")
                .unwrap();
        let runtime = crate::runtime::SessionRuntime {
            tmux_socket: None,
            tmux_session: "am-s1".into(),
            panes: opened.into_iter().map(|(k, p)| (k, p.id)).collect(),
            local_llm_url: None,
            supervisor_pid: None,
        };
        let agents = TmuxAgents::new(mux.clone(), &paths, &runtime, command(dir), "s1");
        assert_eq!(
            agents.pool.pane_ids().len(),
            1,
            "the architect is registered"
        );
        (mux, agents)
    }

    #[test]
    fn panes_recorded_after_the_supervisor_started_are_registered_at_a_check() {
        let dir = tempfile::tempdir().unwrap();
        let paths = SessionPaths::new(dir.path().join("s1"));
        paths.create_all().unwrap();
        let mux = Arc::new(FakeMux::new());
        // What `agentmux start` writes before it opens tmux: the session, no panes yet.
        let mut runtime = crate::runtime::SessionRuntime {
            tmux_socket: None,
            tmux_session: "am-s1".into(),
            panes: Default::default(),
            local_llm_url: None,
            supervisor_pid: None,
        };
        runtime.save(&paths).unwrap();
        let mut agents = TmuxAgents::new(mux.clone(), &paths, &runtime, command(dir.path()), "s1");
        assert_eq!(agents.check(), Ok(vec![]), "nothing to check yet");
        assert!(agents.pool.pane_ids().is_empty());
        assert!(
            mux.calls().is_empty(),
            "tmux is not asked before the panes exist"
        );
        let spec = command(dir.path()).agent("s1", "architect");
        let opened = layout::open_session(
            mux.as_ref(),
            "am-s1",
            &[("architect".to_string(), spec)],
            layout::DEFAULT_SIZE,
            "tiled",
        )
        .unwrap();
        runtime.panes = opened.into_iter().map(|(k, p)| (k, p.id)).collect();
        runtime.save(&paths).unwrap();
        assert_eq!(agents.check(), Ok(vec![]), "a live agent needs no restart");
        assert_eq!(
            agents.pool.pane_ids().keys().collect::<Vec<_>>(),
            ["architect"]
        );
    }

    #[test]
    fn a_vanished_tmux_server_is_gone_not_a_crash() {
        let dir = tempfile::tempdir().unwrap();
        let (mux, mut agents) = tmux_agents(dir.path());
        mux.kill_session("am-s1").unwrap();
        // However often it is checked, the session is never failed for it.
        for _ in 0..MAX_CONSECUTIVE_CRASHES + 1 {
            assert_gone(&mut agents, "tmux");
        }
    }

    /// The next check finds the host gone, with a message naming `what`.
    fn assert_gone(agents: &mut TmuxAgents, what: &str) {
        match agents.check() {
            Err(HostProblem::Gone(msg)) => assert!(msg.contains(what), "{msg}"),
            other => panic!("expected Gone, got {other:?}"),
        }
    }

    #[test]
    fn a_server_killed_between_the_check_and_the_respawn_is_gone_not_a_crash() {
        let dir = tempfile::tempdir().unwrap();
        let (mux, mut agents) = tmux_agents(dir.path());
        let pane = agents.pool.pane_ids()["architect"].clone();
        mux.kill_pane_process(&pane);
        mux.set_vanish_on_respawn(true);
        assert_gone(&mut agents, "architect");
    }

    #[test]
    fn a_respawn_failing_while_tmux_is_up_is_a_crash() {
        let dir = tempfile::tempdir().unwrap();
        let (mux, mut agents) = tmux_agents(dir.path());
        let pane = agents.pool.pane_ids()["architect"].clone();
        mux.kill_pane_process(&pane);
        mux.set_fail_respawn(true);
        assert!(matches!(agents.check(), Err(HostProblem::CrashedOut(_))));
    }
}
