//! The supervisor's waiting steps: for results, when every request is out and nothing is ready,
//! and for a human, when a gate waits for approval.
//!
//! Waiting for results is the time for the work that must not delay a result or the tasks it
//! unblocks: the one-off warm-up, drawing the dashboard, checking the disk and the agents. Both
//! steps start the journal's sync before they sleep, so the disk work overlaps the wait.

use std::ops::ControlFlow;
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

use crate::supervisor::host::HostProblem;
use crate::supervisor::limits::disk_full;
use crate::supervisor::notify::Occasion;
use crate::supervisor::run::Supervisor;
use protocol::error::Result;
use protocol::{Event, SessionStatus, Stage};

/// How often the supervisor checks that its agents live (it also wakes at least this often).
const HEALTH_CHECK_EVERY: Duration = Duration::from_secs(1);

/// How often the dashboard is drawn while the supervisor waits.
const RENDER_EVERY: Duration = Duration::from_millis(500);

/// How often the supervisor looks for new files when it has no directory watcher.
const RESCAN_EVERY: Duration = Duration::from_millis(200);

impl Supervisor {
    /// Waits for the next result or request. Breaks with the final status when the disk is full
    /// or the agents cannot be kept running.
    pub(super) async fn await_results(
        &mut self,
        cancel: &CancellationToken,
    ) -> Result<ControlFlow<SessionStatus>> {
        self.warm_up_once();
        self.render_now_and_then();
        if let Some(msg) = disk_full(&self.ctx.paths.dir) {
            return self.pause(msg).map(ControlFlow::Break);
        }
        if let ControlFlow::Break(status) = self.check_agents_now_and_then()? {
            return Ok(ControlFlow::Break(status));
        }
        self.flush()?;
        self.wait(cancel).await;
        Ok(ControlFlow::Continue(()))
    }

    /// Waits for a human to approve the gate of `stage` (or to give feedback), announcing the
    /// gate the first time.
    pub(super) async fn await_gate(
        &mut self,
        stage: Stage,
        cancel: &CancellationToken,
    ) -> Result<()> {
        if self.state.gate_waiting != Some(stage) {
            self.record(Event::GateWaiting { stage })?;
            let msg = format!(
                "waiting for your approval of the {stage} (`agentmux approve{}` or `agentmux feedback \"...\"`)",
                if stage == Stage::Options {
                    " [--option X]"
                } else {
                    ""
                }
            );
            self.view.message(&msg);
            self.notify(Occasion::NeedsInput, &msg);
        }
        self.live.waiting_for = Some(format!("human approval of the {stage}"));
        self.view.render(&self.state, &self.live);
        self.flush()?;
        self.wait(cancel).await;
        Ok(())
    }

    /// At the first wait the first requests are out, so the CPU is free to build what checking
    /// documents needs (schemas, the mermaid parser) and to compile the templates before the
    /// first document arrives; any earlier, it would slow the start-up.
    fn warm_up_once(&mut self) {
        if self.live.warmed_up {
            return;
        }
        self.live.warmed_up = true;
        let _ = std::thread::Builder::new()
            .name("warm-up".into())
            .spawn(crate::supervisor::results::warm_up);
        // Checked before the first result is handled (see `Supervisor::turn`).
        self.ctx.templates.compile_in_background();
    }

    /// The dashboard is drawn here, with the next requests already out, rather than between a
    /// result and the tasks it unblocks.
    fn render_now_and_then(&mut self) {
        if self
            .live
            .last_render
            .is_none_or(|t| t.elapsed() >= RENDER_EVERY)
        {
            self.view.render(&self.state, &self.live);
            self.live.last_render = Some(Instant::now());
        }
    }

    /// Checks the agents, at most every [`HEALTH_CHECK_EVERY`].
    fn check_agents_now_and_then(&mut self) -> Result<ControlFlow<SessionStatus>> {
        if self
            .live
            .last_health_check
            .is_some_and(|t| t.elapsed() < HEALTH_CHECK_EVERY)
        {
            return Ok(ControlFlow::Continue(()));
        }
        self.live.last_health_check = Some(Instant::now());
        self.check_agents()
    }

    /// Journals the agents restarted since the last check; fails the session when one crashes
    /// too often, and pauses it when their tmux server is gone.
    fn check_agents(&mut self) -> Result<ControlFlow<SessionStatus>> {
        match self.host.check() {
            Ok(restarted) => {
                for (role, n) in restarted {
                    self.note_error(format!(
                        "the {role} agent died; restarted it ({n} in a row)"
                    ));
                    self.record(Event::AgentRestarted {
                        role,
                        consecutive_crashes: n,
                    })?;
                }
                Ok(ControlFlow::Continue(()))
            }
            Err(HostProblem::CrashedOut(msg)) => self.fail(msg).map(ControlFlow::Break),
            Err(HostProblem::Gone(msg)) => self
                .pause(format!("the agents' tmux server is gone ({msg})"))
                .map(ControlFlow::Break),
        }
    }

    /// Sleeps until a result or control file appears, a health check is due (it also ticks the
    /// dashboard clock) or the session is cancelled.
    async fn wait(&mut self, cancel: &CancellationToken) {
        match self.watcher.as_mut() {
            Some(w) => {
                tokio::select! {
                    _ = w.recv() => {}
                    _ = tokio::time::sleep(HEALTH_CHECK_EVERY) => {}
                    _ = cancel.cancelled() => {}
                }
                // Drain what else arrived: one pass of the loop handles them all.
                while w.try_recv().is_some() {}
            }
            None => {
                tokio::select! {
                    _ = tokio::time::sleep(RESCAN_EVERY) => {}
                    _ = cancel.cancelled() => {}
                }
            }
        }
    }
}
