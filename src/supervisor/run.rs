//! The supervisor loop: the one stateful process of a session.
//!
//! Each turn it applies control requests (pause, stop, human feedback, approval), collects the
//! results agents have written, asks the workflow machine what is next and does it: journals a
//! stage, dispatches tasks (task file first, then the journal), writes deliverables, pauses or
//! finishes. Every state change is journaled before it is acted on, and results already on disk
//! are reused, so a supervisor killed at any point resumes without repeating an answered call.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

use crate::config::OnInvalid;
use crate::journal::lock::SessionLock;
use crate::journal::{Journal, SessionState};
use crate::supervisor::control::{self, ControlRequest};
use crate::supervisor::deliverables;
use crate::supervisor::host::{AgentHost, HostProblem};
use crate::supervisor::notify::{self, Occasion};
use crate::supervisor::results::{Verdict, process};
use crate::supervisor::session::SessionContext;
use protocol::error::Result;
use protocol::{Event, SessionStatus, Stage, TaskOutcome};
use workflow::machine::{Next, StepTask, next};
use workflow::state::{StepKey, TaskState};

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
    /// When the agents' health was last checked (at most once a second: in tmux a check runs
    /// `tmux list-panes`, a few milliseconds that would otherwise delay a result arriving then).
    pub last_health_check: Option<Instant>,
    /// The document checkers' warm-up has been started (at the first wait).
    pub warmed_up: bool,
    /// The document templates compiled (or the session failed because they do not).
    pub templates_checked: bool,
}

/// How often the supervisor checks that its agents live (it also wakes at least this often).
const HEALTH_CHECK_EVERY: Duration = Duration::from_secs(1);

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
    fn flush(&mut self) -> Result<()> {
        self.journal
            .sync_files_first(self.ctx.store.deferred().take())?;
        self.journal.sync_soon()
    }

    fn note_error(&mut self, msg: String) {
        tracing::warn!("{msg}");
        self.view.message(&msg);
        self.live.errors.push_back(msg);
        while self.live.errors.len() > 5 {
            self.live.errors.pop_front();
        }
    }

    fn notify(&self, occasion: Occasion, message: &str) {
        let tmux = self.tmux_notify.as_deref().map(|f| f as &dyn Fn(&str));
        notify::send(
            &self.ctx.config.notify,
            &self.ctx.session_id,
            occasion,
            message,
            tmux,
        );
    }

    /// Runs the session until it completes, fails, pauses or is stopped.
    pub(crate) async fn run(&mut self, cancel: CancellationToken) -> Result<SessionStatus> {
        self.live.started = Some(Instant::now());
        match self.state.status() {
            SessionStatus::Completed | SessionStatus::Failed => return Ok(self.state.status()),
            SessionStatus::Paused | SessionStatus::Stopped => self.record(Event::Resumed)?,
            SessionStatus::Running => {
                if self.journal_has_run_before() {
                    self.record(Event::Resumed)?;
                }
            }
        }
        // A resumed session may accept a result at once: its templates must be usable first.
        if self.journal_has_run_before()
            && let Some(status) = self.check_templates()?
        {
            return Ok(status);
        }
        let mut last_render = Instant::now() - Duration::from_secs(5);
        loop {
            if cancel.is_cancelled() {
                return self.stop();
            }
            if let Some(status) = self.apply_control()? {
                return Ok(status);
            }
            // The templates compiled during the first wait: a broken override fails the session
            // here, naming the file, before any document is rendered with them.
            if self.live.warmed_up
                && !self.live.templates_checked
                && let Some(status) = self.check_templates()?
            {
                return Ok(status);
            }
            let t = Instant::now();
            self.collect_results()?;
            let collected = t.elapsed();
            if let Some(msg) = self.over_budget() {
                return self.pause(msg);
            }
            let decision = next(&self.ctx.plan, &self.state);
            self.live.waiting_for = None;
            let label = decision.label();
            let t = Instant::now();
            match decision {
                Next::EnterStage(stage) => self.record(Event::StageEntered { stage })?,
                Next::Dispatch(tasks) => self.dispatch(&tasks)?,
                Next::Wait => {
                    // The first wait: the first requests are out, so the CPU is free to build
                    // what checking documents needs (schemas, the mermaid parser; ~10 ms) before
                    // the first document arrives. Earlier it would slow the start-up.
                    if !self.live.warmed_up {
                        self.live.warmed_up = true;
                        let _ = std::thread::Builder::new()
                            .name("warm-up".into())
                            .spawn(crate::supervisor::results::warm_up);
                        // Checked before the first result is handled (see the loop's top).
                        self.ctx.templates.compile_in_background();
                    }
                    // The dashboard is drawn here, with the next requests already out, rather
                    // than between a result and the tasks it unblocks.
                    if last_render.elapsed() >= Duration::from_millis(500) {
                        self.view.render(&self.state, &self.live);
                        last_render = Instant::now();
                    }
                    if let Some(msg) = disk_full(&self.ctx.paths.dir) {
                        return self.pause(msg);
                    }
                    if self
                        .live
                        .last_health_check
                        .is_none_or(|t| t.elapsed() >= HEALTH_CHECK_EVERY)
                    {
                        self.live.last_health_check = Some(Instant::now());
                        self.check_agents()?;
                    }
                    match self.state.status() {
                        SessionStatus::Failed => {
                            self.host.shutdown();
                            return Ok(SessionStatus::Failed);
                        }
                        SessionStatus::Paused => return Ok(SessionStatus::Paused),
                        _ => {}
                    }
                    self.flush()?;
                    self.wait(&cancel).await;
                }
                Next::AwaitGate(stage) => {
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
                    self.wait(&cancel).await;
                }
                Next::CompleteStage(stage) => {
                    let journal = &mut self.journal;
                    let events = deliverables::write_stage(
                        &self.ctx,
                        &self.state,
                        stage,
                        &mut |path, bytes| journal.write_file(path, bytes),
                    )?;
                    for e in events {
                        self.record(e)?;
                    }
                    self.record(Event::StageCompleted { stage })?;
                }
                Next::Finish => {
                    self.record_durable(Event::Completed)?;
                    self.view.render(&self.state, &self.live);
                    self.host.shutdown();
                    let msg = format!(
                        "completed: {} design documents in {}",
                        self.state.design_docs.len(),
                        self.ctx.project.specs.display()
                    );
                    self.view.message(&msg);
                    self.notify(Occasion::Completed, &msg);
                    return Ok(SessionStatus::Completed);
                }
                Next::Pause(msg) => return self.pause(msg),
                Next::Fail(msg) => return self.fail(msg),
            }
            // AGENTMUX_LOG=debug: where a step's time goes (see BENCHMARKS.md, idle share).
            if label != "wait" || !collected.is_zero() {
                tracing::debug!(
                    collect_us = collected.as_micros() as u64,
                    step = label,
                    step_us = t.elapsed().as_micros() as u64,
                    "supervisor turn"
                );
            }
        }
    }

    /// Fails the session when the document templates cannot be compiled.
    fn check_templates(&mut self) -> Result<Option<SessionStatus>> {
        self.live.templates_checked = true;
        match self.ctx.templates.get() {
            Ok(_) => Ok(None),
            Err(e) => Ok(Some(
                self.fail(format!("the document templates cannot be used: {e}"))?,
            )),
        }
    }

    /// Whether this journal shows an earlier supervisor run (it dispatched anything).
    fn journal_has_run_before(&self) -> bool {
        self.state.stage.is_some()
    }

    /// Sleeps until a result or control file appears, a second passes (health checks, the
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
                    _ = tokio::time::sleep(Duration::from_millis(200)) => {}
                    _ = cancel.cancelled() => {}
                }
            }
        }
    }

    fn pause(&mut self, reason: String) -> Result<SessionStatus> {
        self.host.shutdown();
        self.record_durable(Event::Paused {
            reason: reason.clone(),
        })?;
        self.view.render(&self.state, &self.live);
        self.view
            .message(&format!("paused: {reason}. Resume with `agentmux resume`."));
        self.notify(Occasion::Paused, &reason);
        Ok(SessionStatus::Paused)
    }

    fn stop(&mut self) -> Result<SessionStatus> {
        self.host.shutdown();
        self.record_durable(Event::Stopped)?;
        Ok(SessionStatus::Stopped)
    }

    fn fail(&mut self, reason: String) -> Result<SessionStatus> {
        self.host.shutdown();
        self.record_durable(Event::Failed {
            reason: reason.clone(),
        })?;
        self.view.render(&self.state, &self.live);
        self.view.message(&format!("failed: {reason}"));
        self.notify(Occasion::Failed, &reason);
        Ok(SessionStatus::Failed)
    }

    fn check_agents(&mut self) -> Result<()> {
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
                Ok(())
            }
            Err(HostProblem::CrashedOut(msg)) => {
                self.fail(msg)?;
                Ok(())
            }
            Err(HostProblem::Gone(msg)) => {
                self.pause(format!("the agents' tmux server is gone ({msg})"))?;
                Ok(())
            }
        }
    }

    fn over_budget(&self) -> Option<String> {
        let llm = &self.ctx.config.llm;
        let t = &self.state.totals;
        if let Some(b) = llm.budget_usd
            && t.cost_usd >= b
        {
            return Some(format!(
                "the cost budget is reached (${:.4} of llm.budget_usd ${b:.4}); raise it, e.g. \
                 `agentmux resume --set llm.budget_usd={:.2}`",
                t.cost_usd,
                b * 2.0
            ));
        }
        if let Some(m) = llm.max_total_tokens
            && t.tokens() >= m
        {
            return Some(format!(
                "the token budget is reached ({} of llm.max_total_tokens {m}); raise it, e.g. \
                 `agentmux resume --set llm.max_total_tokens={}`",
                t.tokens(),
                m * 2
            ));
        }
        None
    }

    fn dispatch(&mut self, tasks: &[StepTask]) -> Result<()> {
        for st in tasks {
            let id = protocol::task_id(st.stage, &st.kind, st.round, &st.role, st.attempt);
            // A task file left by a crash before it was journaled is reused as it is.
            if crate::transport::read_task(&self.ctx.paths, &id)
                .ok()
                .flatten()
                .is_none()
            {
                let t = Instant::now();
                let task = crate::supervisor::dispatch::build_task(
                    &self.ctx,
                    &self.state,
                    st,
                    self.local_model,
                )?;
                let built = t.elapsed();
                self.dispatched_items
                    .insert(id.clone(), task.item_ids.clone());
                crate::transport::write_task_deferred(
                    &self.ctx.paths,
                    &task,
                    self.ctx.store.deferred(),
                )?;
                // AGENTMUX_LOG=debug: building the prompt against writing the task file.
                tracing::debug!(
                    task = %id,
                    build_us = built.as_micros() as u64,
                    write_us = (t.elapsed() - built).as_micros() as u64,
                    "task written"
                );
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

    /// Processes every in-flight task whose result is on disk.
    fn collect_results(&mut self) -> Result<()> {
        let ids: Vec<String> = self
            .state
            .in_flight()
            .iter()
            .map(|t| t.id.clone())
            .collect();
        for id in ids {
            let t0 = Instant::now();
            let result = match crate::transport::read_result(&self.ctx.paths, &id) {
                Ok(Some(r)) => r,
                Ok(None) => continue,
                Err(e) => {
                    self.note_error(format!("unreadable result for {id}: {e}"));
                    continue;
                }
            };
            let Some(rec) = self.state.tasks.get(&id).cloned() else {
                continue;
            };
            // Agents write results unsynced: sync it before the journal records its outcome.
            self.ctx.store.deferred().add(&self.ctx.paths.result(&id));
            let elapsed_ms = (result.finished_at.as_millisecond()
                - result.started_at.as_millisecond())
            .max(0) as u64;
            match result.outcome {
                TaskOutcome::Failed { error, .. } => {
                    self.note_error(format!("{id} failed: {error}"));
                    self.record(Event::TaskFailed {
                        task_id: id,
                        role: rec.role.clone(),
                        error,
                    })?;
                }
                TaskOutcome::Completed {
                    text,
                    json,
                    usage,
                    model,
                    ..
                } => {
                    let t_read = t0.elapsed();
                    let item_ids = match self.dispatched_items.remove(&id) {
                        Some(ids) => ids,
                        None => match crate::transport::read_task(&self.ctx.paths, &id) {
                            Ok(Some(t)) => t.item_ids,
                            _ => {
                                self.note_error(format!(
                                    "the task file of {id} is missing; dispatching it again"
                                ));
                                self.record(Event::TaskFailed {
                                    task_id: id,
                                    role: rec.role.clone(),
                                    error: "task file missing".into(),
                                })?;
                                continue;
                            }
                        },
                    };
                    let key = StepKey::new(rec.stage, &rec.kind, rec.round, &rec.role);
                    let invalid_so_far = self
                        .state
                        .step_tasks(&key)
                        .iter()
                        .filter(|t| matches!(t.state, TaskState::Invalid { .. }))
                        .count() as u32;
                    let force = self.ctx.config.workflow.on_invalid == OnInvalid::Continue
                        && invalid_so_far >= self.ctx.config.workflow.repair_attempts;
                    let t_task = t0.elapsed();
                    let verdict = process(
                        &self.ctx,
                        &self.state,
                        &rec,
                        &item_ids,
                        &text,
                        json.as_ref(),
                        force,
                    );
                    let t_process = t0.elapsed();
                    match verdict {
                        Verdict::Invalid(findings) => {
                            self.note_error(format!(
                                "{id}: output invalid ({}); asking for a repair",
                                findings.first().cloned().unwrap_or_default()
                            ));
                            self.record(Event::ValidationFailed {
                                task_id: id,
                                findings,
                            })?;
                        }
                        Verdict::Accepted(p) => {
                            // Kept in memory for the next prompt; written to disk by the
                            // journal's writer thread before the records that name them.
                            let journal = &mut self.journal;
                            for f in &p.files {
                                self.ctx.store.save(
                                    f.stage,
                                    &f.name,
                                    f.revision,
                                    &f.md,
                                    f.json.as_ref(),
                                    &mut |path, bytes| journal.write_file(path, bytes),
                                )?;
                            }
                            for e in p.events {
                                self.record(e)?;
                            }
                            let cost = llm::cost_usd(&self.ctx.config.llm.prices, &model, &usage);
                            self.record(Event::TaskCompleted {
                                task_id: id,
                                role: rec.role.clone(),
                                stage: rec.stage,
                                usage,
                                cost_usd: cost,
                                elapsed_ms,
                            })?;
                            self.host.task_completed(&rec.role);
                            // AGENTMUX_LOG=debug: where accepting a result spends its time.
                            tracing::debug!(
                                read_us = t_read.as_micros() as u64,
                                items_us = (t_task - t_read).as_micros() as u64,
                                process_us = (t_process - t_task).as_micros() as u64,
                                store_us = (t0.elapsed() - t_process).as_micros() as u64,
                                "result accepted"
                            );
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// Applies pending control requests; returns a final status when the session must end.
    fn apply_control(&mut self) -> Result<Option<SessionStatus>> {
        for (path, req) in control::pending(&self.ctx.paths) {
            let outcome = control::apply(&self.ctx.plan, &mut self.state, &mut self.journal, &req)?;
            control::done(&path);
            match req {
                ControlRequest::Pause { reason } => {
                    self.host.shutdown();
                    self.view.render(&self.state, &self.live);
                    self.view
                        .message(&format!("paused: {reason}. Resume with `agentmux resume`."));
                    return Ok(Some(SessionStatus::Paused));
                }
                ControlRequest::Stop => {
                    self.host.shutdown();
                    return Ok(Some(SessionStatus::Stopped));
                }
                ControlRequest::Feedback { .. } | ControlRequest::Approve { .. } => {
                    if let Some(msg) = outcome {
                        self.view.message(&msg);
                    }
                }
            }
        }
        Ok(None)
    }
}

/// Free bytes below which the session pauses: agents could no longer write heartbeats or results
/// and would be restarted until the session fails with a misleading crash message.
const MIN_FREE_BYTES: u64 = 256 * 1024;

/// A pause reason when the file system holding `dir` is (nearly) full.
fn disk_full(dir: &std::path::Path) -> Option<String> {
    let st = nix::sys::statvfs::statvfs(dir).ok()?;
    let free = st.blocks_available() as u64 * st.fragment_size() as u64;
    (free < MIN_FREE_BYTES).then(|| {
        format!(
            "no space left on the device holding {} ({free} bytes free); free some space, then `agentmux resume`",
            dir.display()
        )
    })
}
