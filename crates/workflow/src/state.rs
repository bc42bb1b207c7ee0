//! Session state as a fold of journal events. Pure: no I/O.

use std::collections::{BTreeMap, BTreeSet};

use jiff::Timestamp;
use serde::Serialize;
use serde_json::Value;

use protocol::profile::RoleProfile;
use protocol::{
    Category, ContextCut, Disposition, Event, FeedbackItem, ItemStatus, JournalRecord,
    RevisionEntry, SessionInputs, SessionStatus, Stage, TaskKind, Usage,
};

/// Where a dispatched task stands.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "snake_case", tag = "state")]
pub enum TaskState {
    InFlight,
    Completed,
    Failed { error: String },
    Invalid { findings: Vec<String> },
}

/// One dispatched task.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TaskRecord {
    pub id: String,
    pub role: String,
    pub stage: Stage,
    pub round: u32,
    pub attempt: u32,
    pub kind: TaskKind,
    pub state: TaskState,
    pub dispatched_at: Timestamp,
}

impl TaskRecord {
    /// The logical step this task belongs to (repairs belong to the step they repair).
    pub(crate) fn step(&self) -> StepKey {
        StepKey::new(self.stage, &self.kind, self.round, &self.role)
    }
}

/// A logical unit of work: all attempts and repairs of the same task share it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct StepKey {
    pub stage: Stage,
    pub kind: String,
    pub round: u32,
    pub role: String,
}

impl StepKey {
    pub fn new(stage: Stage, kind: &TaskKind, round: u32, role: &str) -> Self {
        let base = kind.base();
        StepKey {
            stage,
            kind: base.slug(),
            round,
            role: role.to_string(),
        }
    }
}

/// A feedback item and what became of it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ItemRecord {
    pub item: FeedbackItem,
    pub status: ItemStatus,
    /// The latest disposition.
    pub disposition: Option<Disposition>,
    /// Every disposition given, in order (an item reopened and integrated again has several).
    pub dispositions: Vec<Disposition>,
    /// Status changes by the reviewer, with notes, in order.
    pub history: Vec<(u32, ItemStatus, Option<String>)>,
}

/// Token and cost totals.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct Totals {
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    /// The part of `prompt_tokens` served from the servers' prompt caches.
    pub cached_prompt_tokens: u64,
    pub cost_usd: f64,
    pub calls: u64,
    /// Calls whose cost is unknown: no price for the model in `llm.prices` and none reported by
    /// the backend (Codex and Gemini CLI report none). `cost_usd` leaves them out.
    pub unpriced_calls: u64,
    pub estimated: bool,
}

impl Totals {
    fn add(&mut self, usage: &Usage, cost: Option<f64>) {
        self.prompt_tokens += usage.prompt_tokens;
        self.completion_tokens += usage.completion_tokens;
        self.cached_prompt_tokens += usage.cached_prompt_tokens.min(usage.prompt_tokens);
        self.cost_usd += cost.unwrap_or(0.0);
        self.unpriced_calls += u64::from(cost.is_none());
        self.calls += 1;
        self.estimated |= usage.estimated;
    }
    pub fn tokens(&self) -> u64 {
        self.prompt_tokens + self.completion_tokens
    }
    /// Cached prompt tokens as a share of all prompt tokens (0 to 1); None before any prompt.
    pub fn cached_share(&self) -> Option<f64> {
        (self.prompt_tokens > 0)
            .then(|| self.cached_prompt_tokens as f64 / self.prompt_tokens as f64)
    }
}

/// The state of a session, rebuilt from its journal.
#[derive(Clone, Debug, Default, Serialize)]
pub struct SessionState {
    pub session_id: String,
    pub inputs: SessionInputs,
    pub config: Value,
    pub status: Option<SessionStatus>,
    pub started_at: Option<Timestamp>,
    pub updated_at: Option<Timestamp>,
    pub stage: Option<Stage>,
    pub stages_completed: BTreeSet<Stage>,
    pub tasks: BTreeMap<String, TaskRecord>,
    /// Items in the order they were raised.
    pub items: Vec<ItemRecord>,
    /// Latest accepted revision of each artifact, by (stage, name).
    pub artifacts: BTreeMap<(Stage, String), u32>,
    pub revisions: Vec<(Stage, RevisionEntry)>,
    pub gate_waiting: Option<Stage>,
    pub gates_approved: BTreeMap<Stage, Option<String>>,
    pub selected_option: Option<String>,
    /// The design documents chosen by the accepted manifest.
    pub design_docs: Vec<String>,
    pub deliverables: Vec<String>,
    pub totals: Totals,
    pub by_role: BTreeMap<String, Totals>,
    pub by_stage: BTreeMap<Stage, Totals>,
    pub agent_restarts: BTreeMap<String, u32>,
    pub last_error: Option<String>,
    pub pause_reason: Option<String>,
    /// Each role's model profile, as journaled when the session first ran (empty before).
    pub profiles: Vec<RoleProfile>,
    /// What did not fit the window whole, by task id (see `Event::ContextShrunk`).
    pub context_cuts: BTreeMap<String, Vec<ContextCut>>,
    /// Tasks that had failed when the session last resumed: a resume gives every step its
    /// `workflow.task_attempts` again (the user has fixed the backend), so these no longer count.
    #[serde(skip)]
    pub failed_before_resume: BTreeSet<String>,
}

impl SessionState {
    /// Folds records in order.
    pub fn fold(records: &[JournalRecord]) -> SessionState {
        let mut s = SessionState::default();
        for r in records {
            s.apply(r);
        }
        s
    }

    /// The session status; a journal without a start event counts as failed.
    pub fn status(&self) -> SessionStatus {
        self.status.unwrap_or(SessionStatus::Failed)
    }

    /// Applies one record. Every event is handled explicitly (no catch-all arm), so a new event
    /// type forces a decision here.
    pub fn apply(&mut self, rec: &JournalRecord) {
        self.updated_at = Some(rec.at);
        match &rec.event {
            Event::SessionStarted {
                session_id,
                inputs,
                config,
            } => {
                self.session_id = session_id.clone();
                self.inputs = inputs.clone();
                self.config = config.clone();
                self.status = Some(SessionStatus::Running);
                self.started_at = Some(rec.at);
            }
            Event::ModelProfiles { profiles } => self.profiles = profiles.clone(),
            Event::ContextShrunk { task_id, cuts, .. } => {
                self.context_cuts.insert(task_id.clone(), cuts.clone());
            }
            Event::StageEntered { stage } => self.stage = Some(*stage),
            Event::StageCompleted { stage } => {
                self.stages_completed.insert(*stage);
            }
            Event::OptionSelected { option, .. } => self.selected_option = Some(option.clone()),
            Event::DesignDocsSelected { files } => self.design_docs = files.clone(),
            Event::TaskDispatched {
                task_id,
                role,
                stage,
                round,
                attempt,
                kind,
            } => {
                self.tasks.insert(
                    task_id.clone(),
                    TaskRecord {
                        id: task_id.clone(),
                        role: role.clone(),
                        stage: *stage,
                        round: *round,
                        attempt: *attempt,
                        kind: kind.clone(),
                        state: TaskState::InFlight,
                        dispatched_at: rec.at,
                    },
                );
            }
            Event::TaskCompleted {
                task_id,
                role,
                stage,
                usage,
                cost_usd,
                ..
            } => {
                if let Some(t) = self.tasks.get_mut(task_id) {
                    t.state = TaskState::Completed;
                }
                self.account(role, *stage, usage, *cost_usd);
                self.agent_restarts.remove(role);
            }
            Event::TaskFailed { task_id, error, .. } => {
                if let Some(t) = self.tasks.get_mut(task_id) {
                    t.state = TaskState::Failed {
                        error: error.clone(),
                    };
                }
                self.last_error = Some(error.clone());
            }
            Event::ValidationFailed { task_id, findings } => {
                if let Some(t) = self.tasks.get_mut(task_id) {
                    t.state = TaskState::Invalid {
                        findings: findings.clone(),
                    };
                }
            }
            Event::AgentRestarted {
                role,
                consecutive_crashes,
            } => {
                self.agent_restarts
                    .insert(role.clone(), *consecutive_crashes);
            }
            Event::FeedbackRecorded { item } => {
                if !self.items.iter().any(|i| i.item.id == item.id) {
                    self.items.push(ItemRecord {
                        item: item.clone(),
                        status: ItemStatus::Open,
                        disposition: None,
                        dispositions: Vec::new(),
                        history: Vec::new(),
                    });
                }
            }
            Event::DispositionRecorded { disposition } => {
                if let Some(i) = self
                    .items
                    .iter_mut()
                    .find(|i| i.item.id == disposition.item_id)
                {
                    i.disposition = Some(disposition.clone());
                    i.dispositions.push(disposition.clone());
                    i.status = ItemStatus::Addressed;
                }
            }
            Event::ItemStatusChanged {
                item_id,
                status,
                round,
                note,
            } => {
                if let Some(i) = self.items.iter_mut().find(|i| &i.item.id == item_id) {
                    i.status = *status;
                    i.history.push((*round, *status, note.clone()));
                }
            }
            Event::ArtifactAccepted {
                stage,
                name,
                revision,
            } => {
                self.artifacts.insert((*stage, name.clone()), *revision);
            }
            Event::RevisionLogged { stage, entry } => self.revisions.push((*stage, entry.clone())),
            Event::GateWaiting { stage } => self.gate_waiting = Some(*stage),
            Event::GateApproved { stage, option } => {
                self.gates_approved.insert(*stage, option.clone());
                if self.gate_waiting == Some(*stage) {
                    self.gate_waiting = None;
                }
            }
            Event::DeliverableWritten { path } => {
                if !self.deliverables.contains(path) {
                    self.deliverables.push(path.clone());
                }
            }
            Event::Paused { reason } => {
                self.status = Some(SessionStatus::Paused);
                self.pause_reason = Some(reason.clone());
            }
            Event::Resumed => {
                self.status = Some(SessionStatus::Running);
                self.pause_reason = None;
                let failed = self
                    .tasks
                    .values()
                    .filter(|t| matches!(t.state, TaskState::Failed { .. }))
                    .map(|t| t.id.clone());
                self.failed_before_resume.extend(failed);
            }
            Event::Stopped => self.status = Some(SessionStatus::Stopped),
            Event::Completed => self.status = Some(SessionStatus::Completed),
            Event::Failed { reason } => {
                self.status = Some(SessionStatus::Failed);
                self.last_error = Some(reason.clone());
            }
        }
    }

    fn account(&mut self, role: &str, stage: Stage, usage: &Usage, cost: Option<f64>) {
        self.totals.add(usage, cost);
        self.by_role
            .entry(role.to_string())
            .or_default()
            .add(usage, cost);
        self.by_stage.entry(stage).or_default().add(usage, cost);
    }

    /// Tasks of a step, in dispatch order.
    /// The model profile journaled for `role`, if any.
    pub fn profile(&self, role: &str) -> Option<&protocol::profile::ModelProfile> {
        self.profiles
            .iter()
            .find(|p| p.role == role)
            .map(|p| &p.profile)
    }

    pub fn step_tasks(&self, key: &StepKey) -> Vec<&TaskRecord> {
        let mut v: Vec<&TaskRecord> = self.tasks.values().filter(|t| &t.step() == key).collect();
        v.sort_by_key(|t| (t.attempt, t.dispatched_at));
        v
    }

    /// Tasks dispatched and not yet finished.
    pub fn in_flight(&self) -> Vec<&TaskRecord> {
        self.tasks
            .values()
            .filter(|t| t.state == TaskState::InFlight)
            .collect()
    }

    /// Items about one stage's document.
    pub fn stage_items(&self, stage: Stage) -> impl Iterator<Item = &ItemRecord> {
        self.items.iter().filter(move |i| i.item.stage == stage)
    }

    /// Open items by category (all stages).
    pub fn open_by_category(&self) -> BTreeMap<Category, usize> {
        let mut m = BTreeMap::new();
        for i in self.items.iter().filter(|i| i.status != ItemStatus::Closed) {
            *m.entry(i.item.category).or_insert(0) += 1;
        }
        m
    }

    /// The latest accepted revision of an artifact.
    pub fn artifact_revision(&self, stage: Stage, name: &str) -> Option<u32> {
        self.artifacts.get(&(stage, name.to_string())).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn totals_count_cached_prompt_tokens_and_their_share() {
        let mut t = Totals::default();
        assert_eq!(t.cached_share(), None);
        t.add(
            &Usage {
                prompt_tokens: 1_000,
                completion_tokens: 10,
                cached_prompt_tokens: 0,
                estimated: false,
            },
            Some(0.01),
        );
        t.add(
            &Usage {
                prompt_tokens: 1_000,
                completion_tokens: 10,
                cached_prompt_tokens: 900,
                estimated: false,
            },
            Some(0.005),
        );
        assert_eq!(t.cached_prompt_tokens, 900);
        assert_eq!(t.cached_share(), Some(0.45));
        assert_eq!(t.tokens(), 2_020);
    }

    #[test]
    fn usage_written_before_cached_tokens_loads_with_zero() {
        let u: Usage =
            serde_json::from_str(r#"{"prompt_tokens":5,"completion_tokens":2,"estimated":false}"#)
                .unwrap();
        assert_eq!(u.cached_prompt_tokens, 0);
        assert_eq!(u.uncached_prompt_tokens(), 5);
    }
}
