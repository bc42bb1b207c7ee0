//! Opening a session's supervisor: taking the session lock, reading the journal back, and
//! assembling the [`Supervisor`] from it. The commands that run a supervisor (`supervise` in a
//! tmux pane, `run` headless) only say where the agents run and how progress is shown.

use std::time::Duration;

use crate::config::Config;
use crate::journal::lock::SessionLock;
use crate::journal::{Journal, SessionState};
use crate::paths::ProjectPaths;
use crate::supervisor::host::AgentHost;
use crate::supervisor::run::{Supervisor, TmuxNotify, View};
use crate::supervisor::session::SessionContext;
use crate::transport::DirWatcher;
use protocol::error::{Error, Result};

/// How long a new supervisor waits for the session lock: `agentmux start` holds it while it
/// writes the session's files, and the panes open meanwhile.
const LOCK_PATIENCE: Duration = Duration::from_secs(10);

impl Supervisor {
    /// The supervisor of session `id`, holding its lock, its state folded from the journal.
    /// `host` runs the agents, `view` shows the progress, `tmux_notify` (in tmux) notifies.
    pub(crate) fn open(
        project: &ProjectPaths,
        id: &str,
        cfg: Config,
        host: Box<dyn AgentHost>,
        view: Box<dyn View>,
        tmux_notify: Option<TmuxNotify>,
    ) -> Result<Supervisor> {
        let paths = project.session(id);
        let lock = SessionLock::acquire_waiting(&paths.lock(), "supervisor", LOCK_PATIENCE)?;
        let (mut journal, records, skipped) = Journal::open(&paths.journal())?;
        for s in &skipped {
            tracing::warn!("journal line {} skipped: {}", s.line, s.reason);
        }
        journal.write_in_background()?;
        // A supervisor killed while writing leaves a temp file beside the deliverable it was
        // replacing; it would show in specs/ (and fail `agentmux validate`) until someone
        // removed it.
        for dir in [&project.specs, &project.root] {
            let n = osutil::remove_stale_temps(dir);
            if n > 0 {
                tracing::info!(
                    "removed {n} temp file(s) left by an interrupted write in {}",
                    dir.display()
                );
            }
        }
        let state = SessionState::fold(&records);
        if state.session_id.is_empty() {
            return Err(Error::Input {
                path: paths.journal(),
                message: "the journal has no session start; the session cannot be resumed".into(),
            });
        }
        let ctx = SessionContext::load(&project.project_dir, cfg, &state)?;
        ctx.code.start();
        let local_model = ctx.local_model;
        tracing::debug!("session context loaded");
        let watcher = DirWatcher::new(&[paths.results(), paths.control()])?;
        Ok(Supervisor {
            ctx,
            journal,
            state,
            _lock: lock,
            host,
            view,
            tmux_notify,
            local_model,
            live: Default::default(),
            watcher: Some(watcher),
            dispatched_items: Default::default(),
        })
    }
}
