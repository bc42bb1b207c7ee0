//! The agents' panes as the supervisor sees them: which pane runs which role, whether each agent
//! is still alive, and bringing a dead one back.
//!
//! An agent is down when its pane is gone or dead (`remain-on-exit` keeps it visible), when the
//! pane's process no longer exists, or when its heartbeat is older than the timeout (hung). The
//! supervisor respawns the pane (same pane id, same spec) and re-dispatches the role's task; the
//! task file is still there, so the new process picks it up. Crashes are counted per role and
//! reset when a task of that role completes: after [`MAX_CONSECUTIVE_CRASHES`] in a row the role is
//! crashed out and the session must fail rather than loop.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;

use crate::agent::heartbeat;
use crate::paths::SessionPaths;
use protocol::error::{Error, Result};
use tmux::{Multiplexer, PaneInfo, PaneSpec};

/// Crashes of one role in a row after which the session fails, in tmux panes and headless alike.
pub(crate) const MAX_CONSECUTIVE_CRASHES: u32 = 3;

/// A heartbeat older than this means the agent hangs (agents beat every 2 s).
pub(crate) const DEFAULT_HEARTBEAT_TIMEOUT: Duration = Duration::from_secs(20);

/// Why an agent is considered down.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DownReason {
    /// The pane no longer exists (closed by hand).
    PaneGone,
    /// The pane's process exited; tmux keeps the pane.
    PaneDead,
    /// tmux reports the pane alive but its process does not exist.
    ProcessGone { pid: u32 },
    /// No heartbeat from the pane's process for this many seconds.
    HeartbeatStale { secs: u64 },
    /// tmux could not be asked (the session is gone, say).
    Unreachable { message: String },
}

impl fmt::Display for DownReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DownReason::PaneGone => f.write_str("its pane was closed"),
            DownReason::PaneDead => f.write_str("its process exited"),
            DownReason::ProcessGone { pid } => write!(f, "its process {pid} is gone"),
            DownReason::HeartbeatStale { secs } => write!(f, "no heartbeat for {secs} s"),
            DownReason::Unreachable { message } => write!(f, "tmux cannot be asked: {message}"),
        }
    }
}

/// One agent found down by [`AgentPool::check`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AgentDown {
    pub role: String,
    pub pane_id: String,
    pub reason: DownReason,
}

#[derive(Clone, Debug)]
struct Agent {
    pane_id: String,
    spec: PaneSpec,
    crashes: u32,
    /// When the pane's current process was started: the heartbeat grace period counts from here.
    spawned_at: Timestamp,
    last_reason: Option<DownReason>,
}

/// The role agents of one tmux session.
pub struct AgentPool {
    mux: Arc<dyn Multiplexer>,
    session: String,
    paths: SessionPaths,
    agents: BTreeMap<String, Agent>,
    heartbeat_timeout: Duration,
}

impl AgentPool {
    /// `session`: the tmux session name; `paths`: the session directory (for heartbeats).
    pub fn new(mux: Arc<dyn Multiplexer>, session: impl Into<String>, paths: SessionPaths) -> Self {
        Self {
            mux,
            session: session.into(),
            paths,
            agents: BTreeMap::new(),
            heartbeat_timeout: DEFAULT_HEARTBEAT_TIMEOUT,
        }
    }

    pub fn with_heartbeat_timeout(mut self, timeout: Duration) -> Self {
        self.heartbeat_timeout = timeout;
        self
    }

    /// Registers the pane that runs `role` (just opened, or found in `runtime.json`).
    pub fn insert(&mut self, role: impl Into<String>, pane_id: impl Into<String>, spec: PaneSpec) {
        self.agents.insert(
            role.into(),
            Agent {
                pane_id: pane_id.into(),
                spec,
                crashes: 0,
                spawned_at: Timestamp::now(),
                last_reason: None,
            },
        );
    }

    /// The registered roles.
    pub fn roles(&self) -> Vec<String> {
        self.agents.keys().cloned().collect()
    }

    /// The pane running `role`.
    pub fn pane_id(&self, role: &str) -> Option<&str> {
        self.agents.get(role).map(|a| a.pane_id.as_str())
    }

    /// Pane ids by role, e.g. to update `runtime.json` after a respawn replaced a closed pane.
    pub fn pane_ids(&self) -> BTreeMap<String, String> {
        self.agents
            .iter()
            .map(|(r, a)| (r.clone(), a.pane_id.clone()))
            .collect()
    }

    /// Finds the agents that are down now. Crashed-out roles are not reported again.
    pub fn check(&mut self) -> Vec<AgentDown> {
        self.check_at(Timestamp::now())
    }

    /// [`AgentPool::check`] as of `now` (tests).
    pub fn check_at(&mut self, now: Timestamp) -> Vec<AgentDown> {
        let panes = self.mux.list_panes(&self.session);
        let mut down = Vec::new();
        for (role, agent) in &mut self.agents {
            if agent.crashes >= MAX_CONSECUTIVE_CRASHES {
                continue;
            }
            let reason = match &panes {
                Err(e) => Some(DownReason::Unreachable {
                    message: e.to_string(),
                }),
                Ok(panes) => match panes.iter().find(|p| p.id == agent.pane_id) {
                    None => Some(DownReason::PaneGone),
                    Some(p) => judge(
                        p,
                        agent,
                        &self.paths.heartbeat(role),
                        self.heartbeat_timeout,
                        now,
                    ),
                },
            };
            if let Some(reason) = reason {
                agent.last_reason = Some(reason.clone());
                down.push(AgentDown {
                    role: role.clone(),
                    pane_id: agent.pane_id.clone(),
                    reason,
                });
            }
        }
        down
    }

    /// Counts a crash of `role` and restarts its agent: the same pane (killing whatever hangs in
    /// it), or a new pane when it was closed. The third crash in a row does not restart: it is an
    /// error, and [`AgentPool::crashed_out`] names the role from then on.
    pub fn respawn(&mut self, role: &str) -> Result<()> {
        let agent = self.agents.get_mut(role).ok_or_else(|| {
            Error::Invalid(format!("no agent pane for role `{role}` in this session"))
        })?;
        agent.crashes += 1;
        if agent.crashes >= MAX_CONSECUTIVE_CRASHES {
            return Err(crashed_out_error(
                role,
                agent.crashes,
                agent.last_reason.as_ref(),
                &self.paths,
            ));
        }
        // The old beat belongs to the old process; the new one gets a fresh grace period.
        let _ = std::fs::remove_file(self.paths.heartbeat(role));
        let exists = self
            .mux
            .list_panes(&self.session)?
            .iter()
            .any(|p| p.id == agent.pane_id);
        if exists {
            self.mux.respawn_pane(&agent.pane_id, &agent.spec)?;
        } else {
            let pane = self.mux.add_pane(&self.session, None, &agent.spec)?;
            agent.pane_id = pane.id;
        }
        agent.spawned_at = Timestamp::now();
        Ok(())
    }

    /// A task of `role` completed: its crash count starts again from zero.
    pub fn task_completed(&mut self, role: &str) {
        if let Some(a) = self.agents.get_mut(role) {
            a.crashes = 0;
        }
    }

    /// Crashes of `role` since its last completed task.
    pub fn consecutive_crashes(&self, role: &str) -> u32 {
        self.agents.get(role).map_or(0, |a| a.crashes)
    }

    /// The first role that crashed [`MAX_CONSECUTIVE_CRASHES`] times in a row, with its count.
    pub fn crashed_out(&self) -> Option<(String, u32)> {
        self.agents
            .iter()
            .find(|(_, a)| a.crashes >= MAX_CONSECUTIVE_CRASHES)
            .map(|(r, a)| (r.clone(), a.crashes))
    }

    /// The error that ends the session when `role` crashed out.
    pub fn crashed_out_error(&self, role: &str) -> Option<Error> {
        let a = self.agents.get(role)?;
        (a.crashes >= MAX_CONSECUTIVE_CRASHES)
            .then(|| crashed_out_error(role, a.crashes, a.last_reason.as_ref(), &self.paths))
    }
}

fn crashed_out_error(
    role: &str,
    crashes: u32,
    last: Option<&DownReason>,
    paths: &SessionPaths,
) -> Error {
    let last = last
        .map(|r| format!(" (last time {r})"))
        .unwrap_or_default();
    Error::SessionFailed(format!(
        "the {role} agent crashed {crashes} times in a row{last}; see {} and {} for the cause, fix it, then `agentmux resume`",
        paths.transcript(role).display(),
        paths.logs().display()
    ))
}

/// Whether one existing pane's agent is down.
fn judge(
    pane: &PaneInfo,
    agent: &Agent,
    heartbeat_file: &Path,
    timeout: Duration,
    now: Timestamp,
) -> Option<DownReason> {
    if pane.dead {
        return Some(DownReason::PaneDead);
    }
    if let Some(pid) = pane.pid
        && !osutil::process::pid_alive(pid)
    {
        return Some(DownReason::ProcessGone { pid });
    }
    // The beat of the pane's current process; before its first beat, the time since the spawn.
    let since = match heartbeat::read(heartbeat_file) {
        Some(beat) if pane.pid.is_none_or(|pid| pid == beat.pid) => beat.at,
        _ => agent.spawned_at,
    };
    let age = now.duration_since(since);
    let secs = age.as_secs().max(0).unsigned_abs();
    (age.as_secs_f64() > timeout.as_secs_f64()).then_some(DownReason::HeartbeatStale { secs })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agent::heartbeat::Heartbeat;
    use crate::supervisor::pane::PaneCommand;
    use test_support::fake_mux::{FakeMux, MuxCall};
    use tmux::layout;

    struct Fixture {
        _dir: tempfile::TempDir,
        mux: Arc<FakeMux>,
        pool: AgentPool,
        paths: SessionPaths,
    }

    fn fixture() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let paths = SessionPaths::new(dir.path().join("s1"));
        let mux = Arc::new(FakeMux::new());
        let command = PaneCommand::new(Path::new("/bin/agentmux"), Path::new("/p"), &[], vec![]);
        let panes: Vec<(String, PaneSpec)> = ["supervisor", "architect", "code-reviewer"]
            .iter()
            .map(|r| (r.to_string(), command.agent("s1", r)))
            .collect();
        let opened = layout::open_session(
            mux.as_ref(),
            "agentmux-p-s1",
            &panes,
            layout::DEFAULT_SIZE,
            "tiled",
        )
        .unwrap();
        let mut pool = AgentPool::new(mux.clone(), "agentmux-p-s1", paths.clone());
        for (role, spec) in &panes[1..] {
            pool.insert(role.clone(), opened[role].id.clone(), spec.clone());
        }
        Fixture {
            _dir: dir,
            mux,
            pool,
            paths,
        }
    }

    fn beat(paths: &SessionPaths, role: &str, at: Timestamp) {
        heartbeat::write(
            &paths.heartbeat(role),
            Heartbeat {
                pid: std::process::id(),
                at,
            },
        )
        .unwrap();
    }

    #[test]
    fn healthy_agents_are_not_reported() {
        let mut f = fixture();
        let now = Timestamp::now();
        beat(&f.paths, "architect", now);
        beat(&f.paths, "code-reviewer", now);
        assert_eq!(f.pool.check_at(now), vec![]);
    }

    #[test]
    fn a_dead_pane_is_down_and_respawned_in_place_with_its_spec() {
        let mut f = fixture();
        let pane = f.pool.pane_id("architect").unwrap().to_string();
        f.mux.kill_pane_process(&pane);
        let down = f.pool.check();
        assert_eq!(
            down,
            vec![AgentDown {
                role: "architect".into(),
                pane_id: pane.clone(),
                reason: DownReason::PaneDead
            }]
        );
        f.pool.respawn("architect").unwrap();
        let (info, spec) = f.mux.pane(&pane).unwrap();
        assert!(!info.dead);
        assert_eq!(
            spec.argv[1..],
            ["agent", "--session", "s1", "--role", "architect"]
        );
        assert!(f.mux.calls().contains(&MuxCall::RespawnPane {
            pane_id: pane.clone(),
            spec
        }));
        assert_eq!(f.pool.consecutive_crashes("architect"), 1);
    }

    #[test]
    fn three_crashes_in_a_row_crash_out_and_a_completed_task_resets_the_count() {
        let mut f = fixture();
        let pane = f.pool.pane_id("code-reviewer").unwrap().to_string();
        for _ in 0..2 {
            f.mux.kill_pane_process(&pane);
            assert_eq!(f.pool.check().len(), 1);
            f.pool.respawn("code-reviewer").unwrap();
        }
        f.pool.task_completed("code-reviewer");
        assert_eq!(f.pool.consecutive_crashes("code-reviewer"), 0);
        for _ in 0..2 {
            f.mux.kill_pane_process(&pane);
            f.pool.check();
            f.pool.respawn("code-reviewer").unwrap();
        }
        assert_eq!(f.pool.crashed_out(), None);
        f.mux.kill_pane_process(&pane);
        f.pool.check();
        let respawns_before = count_respawns(&f.mux);
        let err = f.pool.respawn("code-reviewer").unwrap_err().to_string();
        assert!(
            err.contains("code-reviewer agent crashed 3 times in a row"),
            "{err}"
        );
        assert!(err.contains("its process exited"), "{err}");
        assert!(err.contains("transcript.log"), "{err}");
        assert_eq!(count_respawns(&f.mux), respawns_before, "no fourth start");
        assert_eq!(f.pool.crashed_out(), Some(("code-reviewer".into(), 3)));
        assert!(f.pool.crashed_out_error("code-reviewer").is_some());
        assert!(
            f.pool.check().iter().all(|d| d.role != "code-reviewer"),
            "a crashed-out role is not reported again"
        );
    }

    fn count_respawns(mux: &FakeMux) -> usize {
        mux.calls()
            .iter()
            .filter(|c| matches!(c, MuxCall::RespawnPane { .. }))
            .count()
    }

    #[test]
    fn a_stale_heartbeat_or_none_after_the_grace_period_is_a_hang() {
        let mut f = fixture();
        let now = Timestamp::now();
        beat(
            &f.paths,
            "architect",
            now - jiff::SignedDuration::from_secs(60),
        );
        beat(&f.paths, "code-reviewer", now);
        let down = f.pool.check_at(now);
        assert_eq!(down.len(), 1);
        assert_eq!(down[0].role, "architect");
        assert!(matches!(down[0].reason, DownReason::HeartbeatStale { secs } if secs >= 59));
        // A beat from another pid (the crashed predecessor) does not count; the grace period does.
        heartbeat::write(
            &f.paths.heartbeat("architect"),
            Heartbeat { pid: 1, at: now },
        )
        .unwrap();
        let later = now + jiff::SignedDuration::from_secs(30);
        beat(&f.paths, "code-reviewer", later);
        let down = f.pool.check_at(later);
        assert_eq!(
            down.iter().map(|d| d.role.as_str()).collect::<Vec<_>>(),
            ["architect"]
        );
    }

    #[test]
    fn a_gone_process_or_closed_pane_is_down_and_a_closed_pane_is_replaced() {
        let mut f = fixture();
        let pane = f.pool.pane_id("architect").unwrap().to_string();
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let gone = child.id();
        child.wait().unwrap();
        f.mux.set_pid(&pane, Some(gone));
        let down = f.pool.check();
        assert_eq!(down[0].reason, DownReason::ProcessGone { pid: gone });

        // Closing the whole session: every agent is down, and a respawn adds a new pane.
        f.mux.kill_session("agentmux-p-s1").unwrap();
        let down = f.pool.check();
        assert_eq!(down.len(), 2);
        assert!(matches!(down[0].reason, DownReason::Unreachable { .. }));
        assert!(f.pool.respawn("architect").is_err());
        let supervisor =
            PaneCommand::new(Path::new("x"), Path::new("/"), &[], vec![]).supervisor("s1");
        f.mux
            .new_session("agentmux-p-s1", &supervisor, (80, 24))
            .unwrap();
        let down = f.pool.check();
        assert!(down.iter().all(|d| d.reason == DownReason::PaneGone));
        f.pool.respawn("architect").unwrap();
        assert_ne!(f.pool.pane_id("architect").unwrap(), pane);
        assert!(f.mux.pane(f.pool.pane_id("architect").unwrap()).is_some());
    }

    #[test]
    fn unknown_roles_are_an_error() {
        let mut f = fixture();
        assert!(f.pool.respawn("nobody").is_err());
        assert_eq!(f.pool.crashed_out(), None);
        assert_eq!(f.pool.roles(), ["architect", "code-reviewer"]);
    }
}
