//! The supervisor loop: the one stateful process of a session.
//!
//! Each turn it applies control requests (pause, stop, human feedback, approval), collects the
//! results agents have written, asks the workflow machine what is next and does it: journals a
//! stage, dispatches tasks (task file first, then the journal), writes deliverables, pauses or
//! finishes. Every state change is journaled before it is acted on, and results already on disk
//! are reused, so a supervisor killed at any point resumes without repeating an answered call.
//!
//! This file holds the loop and the short steps; the longer ones have files of their own:
//! collecting results (`collect`), waiting for results or a human (`wait`), the limits that
//! pause a session (`limits`) and the control requests (`control`).

use std::collections::VecDeque;
use std::ops::ControlFlow::{self, Break, Continue};
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

use crate::journal::lock::SessionLock;
use crate::journal::{Journal, SessionState};
use crate::supervisor::control::{self, ControlRequest};
use crate::supervisor::deliverables;
use crate::supervisor::host::AgentHost;
use crate::supervisor::limits::over_budget;
use crate::supervisor::notify::{self, Occasion};
use crate::supervisor::session::SessionContext;
use protocol::error::Result;
use protocol::{Event, SessionStatus, Stage};
use workflow::machine::{Next, StepTask, next};

/// How the supervisor presents progress.
pub(crate) trait View: Send {
    /// Called after every change and once a second.
    fn render(&mut self, state: &SessionState, live: &Live);
    /// A one-line message (errors, notices).
    fn message(&mut self, line: &str);
}

/// Live facts that are not in the journal.
#[derive(Debug, Default, Clone)]
pub(crate) struct Live {
    pub started: Option<Instant>,
    pub errors: VecDeque<String>,
    pub waiting_for: Option<String>,
    /// When the agents' health was last checked: at most once a second, because in tmux a check
    /// runs `tmux list-panes`, a subprocess that would otherwise delay a result arriving then.
    pub last_health_check: Option<Instant>,
    /// When the dashboard was last drawn while the supervisor waited for results.
    pub last_render: Option<Instant>,
    /// The document checkers' warm-up has been started (at the first wait).
    pub warmed_up: bool,
    /// The document templates compiled (or the session failed because they do not).
    pub templates_checked: bool,
}

/// Shows a message inside the session's tmux session (display-message and bell).
pub(crate) type TmuxNotify = Box<dyn Fn(&str) + Send>;

pub(crate) struct Supervisor {
    pub ctx: SessionContext,
    pub journal: Journal,
    pub state: SessionState,
    /// Held while the supervisor lives; released on drop.
    pub _lock: SessionLock,
    pub host: Box<dyn AgentHost>,
    pub view: Box<dyn View>,
    /// Shows a notification inside tmux (display-message + bell), when in tmux.
    pub tmux_notify: Option<TmuxNotify>,
    /// True when the local default model is used (bounds JSON schemas for small models).
    pub local_model: bool,
    pub live: Live,
    /// Wakes the loop when a result or control file appears (inotify with a rescan fallback).
    pub watcher: Option<crate::transport::DirWatcher>,
    /// The review items of each task this run dispatched, so that accepting its result does not
    /// read its task file back (a task from an earlier run is read from disk).
    pub dispatched_items: std::collections::HashMap<String, Vec<String>>,
}

impl Supervisor {
    /// Runs the session until it completes, fails, pauses or is stopped.
    pub(crate) async fn run(&mut self, cancel: CancellationToken) -> Result<SessionStatus> {
        if let Break(status) = self.start()? {
            return Ok(status);
        }
        if self.state.profiles.is_empty() {
            self.resolve_profiles().await?;
        }
        loop {
            if let Break(status) = self.turn(&cancel).await? {
                return Ok(status);
            }
        }
    }

    /// Journals that an earlier run resumes and checks the templates a resumed session needs at
    /// once. Breaks for a session that has already ended.
    fn start(&mut self) -> Result<ControlFlow<SessionStatus>> {
        self.live.started = Some(Instant::now());
        match self.state.status() {
            SessionStatus::Completed | SessionStatus::Failed => {
                return Ok(Break(self.state.status()));
            }
            SessionStatus::Paused | SessionStatus::Stopped => self.record(Event::Resumed)?,
            SessionStatus::Running => {
                if self.journal_has_run_before() {
                    self.record(Event::Resumed)?;
                }
            }
        }
        // A resumed session may accept a result at once: its templates must be usable first.
        if self.journal_has_run_before() {
            return self.check_templates();
        }
        Ok(Continue(()))
    }

    /// Resolves every role's model profile and journals it: once per session, when it first
    /// runs, so that a resumed session keeps the limits it started with.
    async fn resolve_profiles(&mut self) -> Result<()> {
        let r = &self.ctx.roles;
        let roles: Vec<String> = [
            r.enabled_authors(),
            r.enabled_reviewers(),
            r.enabled_helpers(),
        ]
        .concat()
        .iter()
        .map(|r| r.name.clone())
        .collect();
        let profiles = llm::profile::resolve_roles(&self.ctx.config, &roles).await;
        self.record(Event::ModelProfiles { profiles })
    }

    /// One turn of the loop: apply the control requests, collect the results, then take the
    /// step the workflow machine decides. Breaks when the session ends.
    async fn turn(&mut self, cancel: &CancellationToken) -> Result<ControlFlow<SessionStatus>> {
        if cancel.is_cancelled() {
            return self.stop().map(Break);
        }
        if let Break(status) = self.apply_control()? {
            return Ok(Break(status));
        }
        // The templates compiled during the first wait: a broken override fails the session
        // here, naming the file, before any document is rendered with them.
        if self.live.warmed_up
            && !self.live.templates_checked
            && let Break(status) = self.check_templates()?
        {
            return Ok(Break(status));
        }
        let t = Instant::now();
        self.collect_results()?;
        let collected = t.elapsed();
        if let Some(msg) = over_budget(&self.ctx.config.llm, &self.state.totals) {
            return self.pause(msg).map(Break);
        }
        let decision = next(&self.ctx.plan, &self.state);
        self.live.waiting_for = None;
        let label = decision.label();
        let t = Instant::now();
        let flow = self.step(decision, cancel).await?;
        if flow.is_continue() {
            trace_turn(label, collected, t.elapsed());
        }
        Ok(flow)
    }

    /// Takes the step the workflow machine decided.
    async fn step(
        &mut self,
        decision: Next,
        cancel: &CancellationToken,
    ) -> Result<ControlFlow<SessionStatus>> {
        match decision {
            Next::EnterStage(stage) => self.record(Event::StageEntered { stage })?,
            Next::Dispatch(tasks) => self.dispatch(&tasks)?,
            Next::Wait => return self.await_results(cancel).await,
            Next::AwaitGate(stage) => self.await_gate(stage, cancel).await?,
            Next::CompleteStage(stage) => self.complete_stage(stage)?,
            Next::Finish => return self.finish().map(Break),
            Next::Pause(msg) => return self.pause(msg).map(Break),
            Next::Fail(msg) => return self.fail(msg).map(Break),
        }
        Ok(Continue(()))
    }

    /// Dispatches `tasks`: each task file is written before the journal records the dispatch.
    fn dispatch(&mut self, tasks: &[StepTask]) -> Result<()> {
        for st in tasks {
            let id = protocol::task_id(st.stage, &st.kind, st.round, &st.role, st.attempt);
            // A task file left by a crash before it was journaled is reused as it is.
            let left_by_crash = crate::transport::read_task(&self.ctx.paths, &id)
                .ok()
                .flatten()
                .is_some();
            if !left_by_crash {
                self.write_task(st, &id)?;
            }
            self.record(Event::TaskDispatched {
                task_id: id,
                role: st.role.clone(),
                stage: st.stage,
                round: st.round,
                attempt: st.attempt,
                kind: st.kind.clone(),
            })?;
        }
        Ok(())
    }

    /// Builds task `id` and writes its file, to be synced before the journal that records it.
    fn write_task(&mut self, st: &StepTask, id: &str) -> Result<()> {
        let t = Instant::now();
        let crate::supervisor::dispatch::Built {
            task,
            cuts,
            budget_tokens,
        } = crate::supervisor::dispatch::build_task(&self.ctx, &self.state, st, self.local_model)?;
        let built = t.elapsed();
        self.dispatched_items
            .insert(id.to_string(), task.item_ids.clone());
        crate::transport::write_task_deferred(&self.ctx.paths, &task, self.ctx.store.deferred())?;
        // AGENTMUX_LOG=debug: building the prompt against writing the task file.
        tracing::debug!(
            task = %id,
            build_us = built.as_micros() as u64,
            write_us = (t.elapsed() - built).as_micros() as u64,
            "task written"
        );
        if !cuts.is_empty() {
            self.record(Event::ContextShrunk {
                task_id: id.to_string(),
                budget_tokens,
                cuts,
            })?;
        }
        Ok(())
    }

    /// Writes what a completed stage delivers, then journals the stage as completed.
    fn complete_stage(&mut self, stage: Stage) -> Result<()> {
        let journal = &mut self.journal;
        let events =
            deliverables::write_stage(&self.ctx, &self.state, stage, &mut |path, bytes| {
                journal.write_file(path, bytes)
            })?;
        for e in events {
            self.record(e)?;
        }
        self.record(Event::StageCompleted { stage })
    }

    fn finish(&mut self) -> Result<SessionStatus> {
        self.record_durable(Event::Completed)?;
        let report = self.write_report();
        self.view.render(&self.state, &self.live);
        self.host.shutdown();
        let msg = format!(
            "completed: {} design documents in {}{report}",
            self.state.design_docs.len(),
            self.ctx.project.specs.display()
        );
        self.view.message(&msg);
        self.notify(Occasion::Completed, &msg);
        Ok(SessionStatus::Completed)
    }

    /// Applies pending control requests; breaks when one ends the session.
    fn apply_control(&mut self) -> Result<ControlFlow<SessionStatus>> {
        for (path, req) in control::pending(&self.ctx.paths) {
            let outcome = control::apply(&self.ctx.plan, &mut self.state, &mut self.journal, &req)?;
            control::done(&path);
            match req {
                ControlRequest::Pause { reason } => {
                    self.host.shutdown();
                    self.show_paused(&reason);
                    return Ok(Break(SessionStatus::Paused));
                }
                ControlRequest::Stop => {
                    self.host.shutdown();
                    return Ok(Break(SessionStatus::Stopped));
                }
                ControlRequest::Feedback { .. } | ControlRequest::Approve { .. } => {
                    if let Some(msg) = outcome {
                        self.view.message(&msg);
                    }
                }
            }
        }
        Ok(Continue(()))
    }

    /// Fails the session when the document templates cannot be compiled.
    fn check_templates(&mut self) -> Result<ControlFlow<SessionStatus>> {
        self.live.templates_checked = true;
        match self.ctx.templates.get() {
            Ok(_) => Ok(Continue(())),
            Err(e) => self
                .fail(format!("the document templates cannot be used: {e}"))
                .map(Break),
        }
    }

    /// Whether this journal shows an earlier supervisor run (it dispatched anything).
    fn journal_has_run_before(&self) -> bool {
        self.state.stage.is_some()
    }

    pub(super) fn pause(&mut self, reason: String) -> Result<SessionStatus> {
        self.host.shutdown();
        self.record_durable(Event::Paused {
            reason: reason.clone(),
        })?;
        self.show_paused(&reason);
        self.notify(Occasion::Paused, &reason);
        Ok(SessionStatus::Paused)
    }

    fn show_paused(&mut self, reason: &str) {
        self.view.render(&self.state, &self.live);
        self.view
            .message(&format!("paused: {reason}. Resume with `agentmux resume`."));
    }

    fn stop(&mut self) -> Result<SessionStatus> {
        self.host.shutdown();
        self.record_durable(Event::Stopped)?;
        Ok(SessionStatus::Stopped)
    }

    pub(super) fn fail(&mut self, reason: String) -> Result<SessionStatus> {
        self.host.shutdown();
        self.record_durable(Event::Failed {
            reason: reason.clone(),
        })?;
        let report = self.write_report();
        self.view.render(&self.state, &self.live);
        self.view.message(&format!("failed: {reason}{report}"));
        self.notify(Occasion::Failed, &reason);
        Ok(SessionStatus::Failed)
    }

    /// Writes `.agentmux/report.html` at the end of the session; `; report: PATH` for the last
    /// message. It reads the journal just made durable; a report that cannot be written does not
    /// fail the session (`agentmux report` writes it again).
    fn write_report(&self) -> String {
        match crate::report::write(&self.ctx.project, &self.ctx.paths) {
            Ok(p) => format!("; report: {}", p.display()),
            Err(e) => {
                tracing::warn!("cannot write the report: {e}");
                String::new()
            }
        }
    }

    /// Journals an event and folds it into the state. The files written so far (artifacts,
    /// deliverables, tasks, results read) are synced before the record is written.
    pub(crate) fn record(&mut self, event: Event) -> Result<()> {
        self.journal
            .sync_files_first(self.ctx.store.deferred().take())?;
        let rec = self.journal.append_unsynced(event)?;
        self.state.apply(&rec);
        Ok(())
    }

    /// Records `event` and waits until the journal is on disk: for the last event before the
    /// supervisor stops.
    fn record_durable(&mut self, event: Event) -> Result<()> {
        self.record(event)?;
        self.journal.sync()
    }

    /// Starts making everything so far durable (the files written unsynced during this step,
    /// then the journal that names them) on the journal's writer thread, and returns at once:
    /// called before the supervisor waits, so the disk work overlaps the requests just
    /// dispatched and a slow fsync never delays the next result.
    pub(super) fn flush(&mut self) -> Result<()> {
        self.journal
            .sync_files_first(self.ctx.store.deferred().take())?;
        self.journal.sync_soon()
    }

    pub(super) fn note_error(&mut self, msg: String) {
        tracing::warn!("{msg}");
        self.view.message(&msg);
        self.live.errors.push_back(msg);
        while self.live.errors.len() > 5 {
            self.live.errors.pop_front();
        }
    }

    pub(super) fn notify(&self, occasion: Occasion, message: &str) {
        let tmux = self.tmux_notify.as_deref().map(|f| f as &dyn Fn(&str));
        notify::send(
            &self.ctx.config.notify,
            &self.ctx.session_id,
            occasion,
            message,
            tmux,
        );
    }
}

/// AGENTMUX_LOG=debug: where a turn's time goes (see BENCHMARKS.md, idle share). A wait that
/// collected nothing is not logged: the loop passes through it every time it wakes.
fn trace_turn(step: &str, collected: Duration, stepped: Duration) {
    if step != "wait" || !collected.is_zero() {
        tracing::debug!(
            collect_us = collected.as_micros() as u64,
            step,
            step_us = stepped.as_micros() as u64,
            "supervisor turn"
        );
    }
}
