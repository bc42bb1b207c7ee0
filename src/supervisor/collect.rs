//! Collecting results: each in-flight task whose result is on disk is turned into journal
//! records. A failed call is recorded as failed (the machine decides on a retry); a completed one
//! is checked by [`process`] and either accepted, its artifacts saved before the records that
//! name them, or sent back for repair with the findings.

use std::time::Instant;

use crate::config::OnInvalid;
use crate::supervisor::results::{Processed, Verdict, process};
use crate::supervisor::run::Supervisor;
use protocol::config::Backend;
use protocol::error::Result;
use protocol::{Event, TaskOutcome, TaskResult, Usage};
use workflow::state::{StepKey, TaskRecord, TaskState};

/// What a completed call returned, as the supervisor uses it.
struct Reply {
    text: String,
    json: Option<serde_json::Value>,
    usage: Usage,
    model: String,
    /// The cost the backend reported (a coding-agent CLI); None: priced from `llm.prices`.
    cost_usd: Option<f64>,
    elapsed_ms: u64,
}

impl Supervisor {
    /// Processes every in-flight task whose result is on disk.
    pub(super) fn collect_results(&mut self) -> Result<()> {
        let ids: Vec<String> = self
            .state
            .in_flight()
            .iter()
            .map(|t| t.id.clone())
            .collect();
        for id in ids {
            self.collect(id)?;
        }
        Ok(())
    }

    /// The cost of a call its backend did not price: from `llm.prices`, except that a call to the
    /// bundled local model costs nothing (it runs on this machine); None: unknown.
    fn priced(&self, role: &str, reply: &Reply) -> Option<f64> {
        let config = &self.ctx.config;
        let on_api = config
            .roles
            .get(role)
            .is_none_or(|r| r.backend() == Backend::Api);
        if on_api && llm::uses_local_model(config) {
            return Some(0.0);
        }
        llm::cost_usd(&config.llm.prices, &reply.model, &reply.usage)
    }

    /// Processes the result of task `id`, if it is on disk.
    fn collect(&mut self, id: String) -> Result<()> {
        let started = Instant::now();
        let result = match crate::transport::read_result(&self.ctx.paths, &id) {
            Ok(Some(r)) => r,
            Ok(None) => return Ok(()),
            Err(e) => {
                self.note_error(format!("unreadable result for {id}: {e}"));
                return Ok(());
            }
        };
        let Some(rec) = self.state.tasks.get(&id).cloned() else {
            return Ok(());
        };
        // Agents write results unsynced: sync it before the journal records its outcome.
        self.ctx.store.deferred().add(&self.ctx.paths.result(&id));
        let elapsed_ms = call_time_ms(&result);
        match result.outcome {
            TaskOutcome::Failed { error, .. } => {
                self.note_error(format!("{id} failed: {error}"));
                self.record_failure(id, &rec, error)
            }
            TaskOutcome::Completed {
                text,
                json,
                usage,
                model,
                cost_usd,
                ..
            } => {
                let reply = Reply {
                    text,
                    json,
                    usage,
                    model,
                    cost_usd,
                    elapsed_ms,
                };
                self.completed(id, &rec, reply, started)
            }
        }
    }

    /// Checks a completed call's reply and accepts it or asks for a repair. `started`: when
    /// collecting this result began, for the debug log of where accepting it spends its time.
    fn completed(
        &mut self,
        id: String,
        rec: &TaskRecord,
        reply: Reply,
        started: Instant,
    ) -> Result<()> {
        let t_read = started.elapsed();
        let Some(item_ids) = self.task_items(&id) else {
            self.note_error(format!(
                "the task file of {id} is missing; dispatching it again"
            ));
            return self.record_failure(id, rec, "task file missing".into());
        };
        let force = self.accepts_invalid(rec);
        let t_task = started.elapsed();
        let verdict = process(
            &self.ctx,
            &self.state,
            rec,
            &item_ids,
            &reply.text,
            reply.json.as_ref(),
            force,
        );
        let t_process = started.elapsed();
        match verdict {
            Verdict::Invalid(findings) => self.ask_for_repair(id, findings),
            Verdict::Accepted(processed) => {
                self.accept(id, rec, processed, reply)?;
                // AGENTMUX_LOG=debug: where accepting a result spends its time.
                tracing::debug!(
                    read_us = t_read.as_micros() as u64,
                    items_us = (t_task - t_read).as_micros() as u64,
                    process_us = (t_process - t_task).as_micros() as u64,
                    store_us = (started.elapsed() - t_process).as_micros() as u64,
                    "result accepted"
                );
                Ok(())
            }
        }
    }

    /// The review items task `id` was given: remembered when this run dispatched it, else read
    /// from its task file. None when that file is gone.
    fn task_items(&mut self, id: &str) -> Option<Vec<String>> {
        match self.dispatched_items.remove(id) {
            Some(ids) => Some(ids),
            None => match crate::transport::read_task(&self.ctx.paths, id) {
                Ok(Some(t)) => Some(t.item_ids),
                Ok(None) | Err(_) => None,
            },
        }
    }

    /// Whether an invalid reply to `rec` is accepted as it is: `workflow.on_invalid` is
    /// `continue` and its step has used up its repair attempts.
    fn accepts_invalid(&self, rec: &TaskRecord) -> bool {
        let workflow = &self.ctx.config.workflow;
        let key = StepKey::new(rec.stage, &rec.kind, rec.round, &rec.role);
        let invalid_so_far = self
            .state
            .step_tasks(&key)
            .iter()
            .filter(|t| matches!(t.state, TaskState::Invalid { .. }))
            .count() as u32;
        workflow.on_invalid == OnInvalid::Continue && invalid_so_far >= workflow.repair_attempts
    }

    fn record_failure(&mut self, id: String, rec: &TaskRecord, error: String) -> Result<()> {
        self.record(Event::TaskFailed {
            task_id: id,
            role: rec.role.clone(),
            error,
        })
    }

    fn ask_for_repair(&mut self, id: String, findings: Vec<String>) -> Result<()> {
        self.note_error(format!(
            "{id}: output invalid ({}); asking for a repair",
            findings.first().cloned().unwrap_or_default()
        ));
        self.record(Event::ValidationFailed {
            task_id: id,
            findings,
        })
    }

    /// Saves the artifacts of an accepted reply, journals its events, then `TaskCompleted`.
    fn accept(
        &mut self,
        id: String,
        rec: &TaskRecord,
        processed: Processed,
        reply: Reply,
    ) -> Result<()> {
        // Kept in memory for the next prompt; written to disk by the journal's writer thread
        // before the records that name them.
        let journal = &mut self.journal;
        for f in &processed.files {
            self.ctx.store.save(
                f.stage,
                &f.name,
                f.revision,
                &f.md,
                f.json.as_ref(),
                &mut |path, bytes| journal.write_file(path, bytes),
            )?;
        }
        for e in processed.events {
            self.record(e)?;
        }
        let cost = reply.cost_usd.or_else(|| self.priced(&rec.role, &reply));
        self.record(Event::TaskCompleted {
            task_id: id,
            role: rec.role.clone(),
            stage: rec.stage,
            usage: reply.usage,
            cost_usd: cost,
            elapsed_ms: reply.elapsed_ms,
        })?;
        self.host.task_completed(&rec.role);
        Ok(())
    }
}

/// How long the agent's call took, from the result's own timestamps.
fn call_time_ms(result: &TaskResult) -> u64 {
    (result.finished_at.as_millisecond() - result.started_at.as_millisecond()).max(0) as u64
}
