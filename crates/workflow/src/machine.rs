//! The workflow state machine. Pure: given the plan (from config) and the session state (a fold
//! of the journal), it says what happens next. The supervisor does the I/O and journals the
//! outcome, which changes the state, and asks again.
//!
//! Stages run in plan order. Within a stage, work is a sequence of *steps* (a step is one logical
//! task: all attempts and repairs of it share a [`StepKey`]); steps in a group run in parallel
//! (reviewers, design documents). A step is done when one of its tasks completed (the supervisor
//! journals `TaskCompleted` only after the result was validated and its effects recorded).
//!
//! Review loop of a document stage (seed 001 feedback-integration protocol), rounds 1..=R:
//! reviewers review in parallel (round 1) or re-review their own addressed items (later rounds);
//! if items are open, the author integrates them all (a disposition per item, a revised document);
//! the loop ends when a round leaves no open item, when the items integrated in a round held no
//! blocking category (`stop_when`), or at round R. Items raised afterwards (human feedback at a
//! gate) get further integration rounds, so no item is ever dropped.

use crate::state::{SessionState, StepKey, TaskState};
use protocol::config::{Config, Gate, StopWhen};
use protocol::{Category, ItemStatus, Stage, TaskKind};

/// Everything the machine needs from config and inputs, fixed for a session.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    pub stages: Vec<Stage>,
    pub author: String,
    pub reviewers: Vec<String>,
    pub helpers: Vec<String>,
    pub review_rounds: u32,
    /// Review rounds of the options (0: not reviewed).
    pub options_review_rounds: u32,
    pub stop_when: StopWhen,
    pub options_gate: Gate,
    pub proposal_gate: Gate,
    pub prd_needs_summary: bool,
    pub repair_attempts: u32,
    pub task_attempts: u32,
    /// The final review re-reviews the design documents once after integrating blocking items
    /// (seed 001's protocol, step 5): on a capable model; the bundled local model keeps one round.
    pub design_doc_rereview: bool,
    /// An update session: it revises existing specs (see [`Plan::for_update`]).
    pub update: bool,
}

impl Plan {
    /// Builds the plan. `has_prd`: a PRD was given or found (else the requirements stage runs).
    /// `local_model`: the session runs on the bundled local model (the supervisor asks
    /// `llm::uses_local_model`); it decides `stop_when` when the config leaves it unset.
    pub fn new(
        cfg: &Config,
        local_model: bool,
        author: &str,
        reviewers: Vec<String>,
        helpers: Vec<String>,
        has_prd: bool,
        prd_needs_summary: bool,
    ) -> Plan {
        let stages = cfg
            .workflow
            .stages
            .iter()
            .filter_map(|s| Stage::parse(s))
            .filter(|s| match s {
                Stage::Requirements => !has_prd,
                Stage::Helpers => !helpers.is_empty(),
                Stage::FinalReview => !reviewers.is_empty(),
                _ => true,
            })
            .collect();
        Plan {
            stages,
            author: author.to_string(),
            reviewers,
            helpers,
            review_rounds: cfg.workflow.review_rounds.max(1),
            options_review_rounds: cfg
                .workflow
                .options_review_rounds
                .unwrap_or(cfg.workflow.review_rounds.max(1)),
            stop_when: cfg.workflow.stop_when_for(local_model),
            options_gate: cfg.workflow.gates.options,
            proposal_gate: cfg.workflow.gates.proposal,
            prd_needs_summary,
            repair_attempts: cfg.workflow.repair_attempts,
            task_attempts: cfg.workflow.task_attempts.max(1),
            design_doc_rereview: !local_model,
            update: false,
        }
    }

    /// The plan of an update session: no requirements, options or proposal of its own (the
    /// existing specs are the design); the design documents stage starts with a change proposal
    /// instead of a manifest, which the reviewers review and the author integrates as they do
    /// the proposal, and then writes only the documents the integrated change names, which the
    /// final review reviews. The implementation plan gains the change's additions in place
    /// (written with the deliverables), so its stage does not run.
    pub fn for_update(mut self) -> Plan {
        self.stages
            .retain(|s| matches!(s, Stage::Intake | Stage::DesignDocs | Stage::FinalReview));
        self.update = true;
        self
    }

    fn gate(&self, stage: Stage) -> Gate {
        match stage {
            Stage::Options => self.options_gate,
            Stage::Proposal => self.proposal_gate,
            _ => Gate::Auto,
        }
    }

    fn blocking(&self, c: Category) -> bool {
        match self.stop_when {
            StopWhen::NoCritical => c == Category::Critical,
            StopWhen::NoCriticalOrImportant => {
                matches!(c, Category::Critical | Category::Important)
            }
        }
    }

    /// The stage a human feedback item goes to: the current review stage if its loop may still
    /// run, else the next review stage of the plan. None when no review stage is left.
    pub fn human_feedback_stage(&self, state: &SessionState) -> Option<Stage> {
        self.stages
            .iter()
            .copied()
            .filter(|s| matches!(s, Stage::Options | Stage::Proposal | Stage::FinalReview))
            .find(|s| !state.stages_completed.contains(s))
    }
}

/// One task to dispatch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StepTask {
    pub stage: Stage,
    pub kind: TaskKind,
    pub round: u32,
    pub role: String,
    pub attempt: u32,
}

/// What the supervisor should do next.
#[derive(Clone, Debug, PartialEq)]
pub enum Next {
    /// Journal `StageEntered`.
    EnterStage(Stage),
    /// Build, write and journal these tasks.
    Dispatch(Vec<StepTask>),
    /// Tasks are in flight: wait for a result (or a control request).
    Wait,
    /// A human gate: journal `GateWaiting` once, then wait for `approve`.
    AwaitGate(Stage),
    /// Write the stage's deliverables, then journal `StageCompleted`.
    CompleteStage(Stage),
    /// Every stage is complete: journal `Completed`.
    Finish,
    /// Pause the session with this message.
    Pause(String),
    /// Fail the session with this message.
    Fail(String),
}

impl Next {
    /// A short name for logs.
    pub fn label(&self) -> &'static str {
        match self {
            Next::EnterStage(_) => "enter-stage",
            Next::Dispatch(_) => "dispatch",
            Next::Wait => "wait",
            Next::AwaitGate(_) => "await-gate",
            Next::CompleteStage(_) => "complete-stage",
            Next::Finish => "finish",
            Next::Pause(_) => "pause",
            Next::Fail(_) => "fail",
        }
    }
}

/// The outcome of evaluating a step or a group of steps.
enum Eval {
    Done,
    Pending(Next),
}

/// Decides what happens next.
pub fn next(plan: &Plan, state: &SessionState) -> Next {
    for &stage in &plan.stages {
        if state.stages_completed.contains(&stage) {
            continue;
        }
        if state.stage != Some(stage) {
            return Next::EnterStage(stage);
        }
        return match stage_next(plan, state, stage) {
            Eval::Done => Next::CompleteStage(stage),
            Eval::Pending(n) => n,
        };
    }
    Next::Finish
}

fn stage_next(plan: &Plan, state: &SessionState, stage: Stage) -> Eval {
    let author = plan.author.as_str();
    match stage {
        Stage::Intake => {
            if plan.prd_needs_summary {
                step(plan, state, stage, TaskKind::Summarize, 0, author)
            } else {
                Eval::Done
            }
        }
        Stage::Requirements | Stage::ImplementationPlan => {
            step(plan, state, stage, TaskKind::Draft, 0, author)
        }
        Stage::Options | Stage::Proposal => seq([
            &|| step(plan, state, stage, TaskKind::Draft, 0, author),
            &|| review_loop(plan, state, stage),
            &|| gate(plan, state, stage),
        ]),
        // Seed 002: the helpers run one after another in their configured order (data structures
        // first, then idioms), so each one's prompt carries the contributions before it.
        Stage::Helpers => {
            for h in &plan.helpers {
                if let Eval::Pending(n) = step(plan, state, stage, TaskKind::Contribute, 0, h) {
                    return Eval::Pending(n);
                }
            }
            Eval::Done
        }
        Stage::DesignDocs => seq([
            &|| {
                let kind = if plan.update {
                    TaskKind::Change
                } else {
                    TaskKind::Manifest
                };
                step(plan, state, stage, kind, 0, author)
            },
            // An update's change proposal is reviewed like the options and the proposal (its
            // items are the stage's only ones) before any document is revised from it.
            &|| {
                if plan.update {
                    review_loop(plan, state, stage)
                } else {
                    Eval::Done
                }
            },
            &|| {
                if state.design_docs.is_empty() && plan.update {
                    // A change that only retires documents writes none.
                    return Eval::Done;
                }
                if state.design_docs.is_empty() {
                    return Eval::Pending(Next::Fail(
                        "the accepted manifest selected no design documents".to_string(),
                    ));
                }
                let steps: Vec<_> = state
                    .design_docs
                    .iter()
                    .map(|f| (TaskKind::DesignDoc { file: f.clone() }, 0, author))
                    .collect();
                group(plan, state, stage, &steps)
            },
        ]),
        Stage::FinalReview => final_review(plan, state),
    }
}

/// Runs evaluations in order; the first that is not done decides.
fn seq<const N: usize>(parts: [&dyn Fn() -> Eval; N]) -> Eval {
    for p in parts {
        if let Eval::Pending(n) = p() {
            return Eval::Pending(n);
        }
    }
    Eval::Done
}

/// Evaluates one step.
fn step(
    plan: &Plan,
    state: &SessionState,
    stage: Stage,
    kind: TaskKind,
    round: u32,
    role: &str,
) -> Eval {
    group(plan, state, stage, &[(kind, round, role)])
}

/// Evaluates steps that run in parallel.
fn group(plan: &Plan, state: &SessionState, stage: Stage, steps: &[(TaskKind, u32, &str)]) -> Eval {
    let mut dispatch = Vec::new();
    let mut waiting = false;
    for (kind, round, role) in steps {
        let key = StepKey::new(stage, kind, *round, role);
        let tasks = state.step_tasks(&key);
        let Some(last) = tasks.last() else {
            dispatch.push(StepTask {
                stage,
                kind: kind.clone(),
                round: *round,
                role: role.to_string(),
                attempt: 1,
            });
            continue;
        };
        if tasks.iter().any(|t| t.state == TaskState::Completed) {
            continue;
        }
        match &last.state {
            TaskState::Completed => {}
            TaskState::InFlight => waiting = true,
            TaskState::Failed { error } => {
                // Failures before the last resume do not count: the user fixed the cause.
                let failures = tasks
                    .iter()
                    .filter(|t| matches!(t.state, TaskState::Failed { .. }))
                    .filter(|t| !state.failed_before_resume.contains(&t.id))
                    .count() as u32;
                // A call that keeps failing is a backend or environment problem (a CLI not
                // installed or logged in, a network or key problem): pause with nothing lost, so
                // that `resume` continues once it is fixed.
                if failures >= plan.task_attempts {
                    return Eval::Pending(Next::Pause(format!(
                        "task {} ({role}) failed {failures} times; last error: {error}. Fix the cause, then \
                         `agentmux resume` (answered tasks are kept)",
                        last.id
                    )));
                }
                dispatch.push(StepTask {
                    stage,
                    kind: last.kind.clone(),
                    round: *round,
                    role: role.to_string(),
                    attempt: last.attempt + 1,
                });
            }
            TaskState::Invalid { findings } => {
                let invalid = tasks
                    .iter()
                    .filter(|t| matches!(t.state, TaskState::Invalid { .. }))
                    .count() as u32;
                if invalid > plan.repair_attempts {
                    return Eval::Pending(Next::Pause(format!(
                        "the output of {} is still invalid after {} repair attempts ({}); fix the model or raise \
                         workflow.repair_attempts, then `agentmux resume`",
                        last.id,
                        plan.repair_attempts,
                        findings.first().cloned().unwrap_or_default()
                    )));
                }
                dispatch.push(StepTask {
                    stage,
                    kind: TaskKind::Repair {
                        of: Box::new(kind.clone()),
                    },
                    round: *round,
                    role: role.to_string(),
                    attempt: last.attempt + 1,
                });
            }
        }
    }
    if !dispatch.is_empty() {
        Eval::Pending(Next::Dispatch(dispatch))
    } else if waiting {
        Eval::Pending(Next::Wait)
    } else {
        Eval::Done
    }
}

/// Whether an item was given a disposition in integration round `round`.
fn addressed_in(i: &crate::state::ItemRecord, round: u32) -> bool {
    i.dispositions.iter().any(|d| d.round == round)
}

/// Reviewers with items the author addressed in `round` (they re-review in the next round).
fn reviewers_to_recheck(
    plan: &Plan,
    state: &SessionState,
    stage: Stage,
    round: u32,
) -> Vec<String> {
    plan.reviewers
        .iter()
        .filter(|r| {
            state
                .stage_items(stage)
                .any(|i| &i.item.author == *r && addressed_in(i, round))
        })
        .cloned()
        .collect()
}

/// Whether review round `round` left items to integrate: items raised by a reviewer in that round,
/// or items a reviewer reopened in it. Decided from history, so the answer never changes later.
fn raised_or_reopened_in(plan: &Plan, state: &SessionState, stage: Stage, round: u32) -> bool {
    state.stage_items(stage).any(|i| {
        (i.item.round == round && plan.reviewers.contains(&i.item.author))
            || i.history
                .iter()
                .any(|(r, st, _)| *r == round && *st == ItemStatus::Open)
    })
}

fn review_loop(plan: &Plan, state: &SessionState, stage: Stage) -> Eval {
    let author = plan.author.as_str();
    let mut last_round = 0;
    let rounds = if stage == Stage::Options {
        plan.options_review_rounds
    } else {
        plan.review_rounds
    };
    for r in 1..=rounds {
        let (kind, reviewers) = if r == 1 {
            (TaskKind::Review, plan.reviewers.clone())
        } else {
            (
                TaskKind::ReReview,
                reviewers_to_recheck(plan, state, stage, r - 1),
            )
        };
        let steps: Vec<_> = reviewers
            .iter()
            .map(|rv| (kind.clone(), r, rv.as_str()))
            .collect();
        if let Eval::Pending(n) = group(plan, state, stage, &steps) {
            return Eval::Pending(n);
        }
        last_round = r;
        if !raised_or_reopened_in(plan, state, stage, r) {
            break;
        }
        if let Eval::Pending(n) = step(plan, state, stage, TaskKind::Integrate, r, author) {
            return Eval::Pending(n);
        }
        let blocking = state
            .stage_items(stage)
            .any(|i| plan.blocking(i.item.category) && addressed_in(i, r));
        if !blocking {
            break;
        }
    }
    leftovers(plan, state, stage, last_round, |_| TaskKind::Integrate)
}

/// Items still open after the loop (human feedback, late items) get further integration rounds,
/// numbered after the loop's last round, so no item is ever dropped.
fn leftovers(
    plan: &Plan,
    state: &SessionState,
    stage: Stage,
    last_round: u32,
    kind_for: impl Fn(&str) -> TaskKind,
) -> Eval {
    let author = plan.author.as_str();
    let mut round = last_round;
    loop {
        round += 1;
        // Integration steps already started in this round.
        let mut started: Vec<TaskKind> = Vec::new();
        for t in state
            .tasks
            .values()
            .filter(|t| t.stage == stage && t.round == round && t.role == author)
        {
            let base = t.kind.base();
            if matches!(base, TaskKind::Integrate | TaskKind::IntegrateDoc { .. })
                && !started.contains(base)
            {
                started.push(base.clone());
            }
        }
        if started.is_empty() {
            let mut kinds: Vec<TaskKind> = Vec::new();
            for i in state
                .stage_items(stage)
                .filter(|i| i.status == ItemStatus::Open)
            {
                let k = kind_for(&i.item.section);
                if !kinds.contains(&k) {
                    kinds.push(k);
                }
            }
            if kinds.is_empty() {
                return Eval::Done;
            }
            let steps: Vec<_> = kinds.into_iter().map(|k| (k, round, author)).collect();
            return group(plan, state, stage, &steps);
        }
        let steps: Vec<_> = started.into_iter().map(|k| (k, round, author)).collect();
        if let Eval::Pending(n) = group(plan, state, stage, &steps) {
            return Eval::Pending(n);
        }
    }
}

fn gate(plan: &Plan, state: &SessionState, stage: Stage) -> Eval {
    if plan.gate(stage) == Gate::Human && !state.gates_approved.contains_key(&stage) {
        return Eval::Pending(Next::AwaitGate(stage));
    }
    Eval::Done
}

fn final_review(plan: &Plan, state: &SessionState) -> Eval {
    let stage = Stage::FinalReview;
    let docs = &state.design_docs;
    if plan.update && docs.is_empty() {
        return Eval::Done;
    }
    let steps: Vec<_> = plan
        .reviewers
        .iter()
        .map(|rv| (TaskKind::Review, 1, rv.as_str()))
        .collect();
    if let Eval::Pending(n) = group(plan, state, stage, &steps) {
        return Eval::Pending(n);
    }
    let kind_for = |section: &str| TaskKind::IntegrateDoc {
        file: doc_for_section(section, docs),
    };
    if let Eval::Pending(n) = leftovers(plan, state, stage, 0, kind_for) {
        return Eval::Pending(n);
    }
    // One re-review round (2) by the reviewers whose blocking items round 1 integrated; what
    // they reopen is integrated in the rounds after it.
    let blocking = state
        .stage_items(stage)
        .any(|i| plan.blocking(i.item.category) && addressed_in(i, 1));
    if !plan.design_doc_rereview || plan.review_rounds < 2 || !blocking {
        return Eval::Done;
    }
    let reviewers = reviewers_to_recheck(plan, state, stage, 1);
    let steps: Vec<_> = reviewers
        .iter()
        .map(|rv| (TaskKind::ReReview, 2, rv.as_str()))
        .collect();
    if let Eval::Pending(n) = group(plan, state, stage, &steps) {
        return Eval::Pending(n);
    }
    leftovers(plan, state, stage, 2, kind_for)
}

/// The design document a final-review item is about: the one its section names, else the one
/// sharing the most words with it, else the first.
pub fn doc_for_section(section: &str, docs: &[String]) -> String {
    let lower = section.to_ascii_lowercase();
    if let Some(d) = docs
        .iter()
        .find(|d| lower.contains(d.as_str()) || lower.contains(d.trim_end_matches(".md")))
    {
        return d.clone();
    }
    let words: Vec<&str> = lower
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| w.len() > 2)
        .collect();
    let score = |d: &String| {
        d.trim_end_matches("_design.md")
            .split('_')
            .filter(|p| words.contains(p))
            .count()
    };
    docs.iter()
        .max_by_key(|d| {
            (
                score(d),
                std::cmp::Reverse(docs.iter().position(|x| x == *d)),
            )
        })
        .cloned()
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::{
        Decision, Disposition, Event, FeedbackItem, JournalRecord, SessionInputs, Usage, task_id,
    };

    /// Drives the machine like a supervisor would, with scripted outcomes.
    struct Driver {
        plan: Plan,
        state: SessionState,
        seq: u64,
        /// Every task dispatched, as (stage, kind slug, round, role, attempt).
        log: Vec<(Stage, String, u32, String, u32)>,
        /// Items a reviewer raises: (stage, reviewer, round) -> categories.
        raise: Vec<(Stage, &'static str, u32, Vec<Category>)>,
        /// Re-review verdicts: reopen every item of these categories.
        reopen: Vec<Category>,
        /// Outcome overrides per task id: "fail" or "invalid".
        outcome: Vec<(String, &'static str)>,
        docs: Vec<String>,
    }

    impl Driver {
        fn new(plan: Plan) -> Self {
            let mut d = Driver {
                plan,
                state: SessionState::default(),
                seq: 0,
                log: Vec::new(),
                raise: Vec::new(),
                reopen: Vec::new(),
                outcome: Vec::new(),
                docs: vec!["api_design.md".into(), "storage_design.md".into()],
            };
            d.apply(Event::SessionStarted {
                session_id: "s".into(),
                inputs: SessionInputs::default(),
                config: serde_json::Value::Null,
            });
            d
        }

        fn apply(&mut self, event: Event) {
            self.seq += 1;
            let at = jiff::Timestamp::from_second(1_700_000_000 + self.seq as i64).unwrap();
            self.state.apply(&JournalRecord {
                seq: self.seq,
                at,
                event,
            });
        }

        /// Dispatches tasks without completing them.
        fn dispatch(&mut self, tasks: &[StepTask]) -> Vec<String> {
            let mut ids = Vec::new();
            for t in tasks {
                let id = task_id(t.stage, &t.kind, t.round, &t.role, t.attempt);
                self.log
                    .push((t.stage, t.kind.slug(), t.round, t.role.clone(), t.attempt));
                self.apply(Event::TaskDispatched {
                    task_id: id.clone(),
                    role: t.role.clone(),
                    stage: t.stage,
                    round: t.round,
                    attempt: t.attempt,
                    kind: t.kind.clone(),
                });
                ids.push(id);
            }
            ids
        }

        fn complete(&mut self, t: &StepTask, id: &str) {
            if let Some((_, what)) = self.outcome.iter().find(|(i, _)| i == id).cloned() {
                match what {
                    "fail" => self.apply(Event::TaskFailed {
                        task_id: id.into(),
                        role: t.role.clone(),
                        error: "boom".into(),
                    }),
                    _ => self.apply(Event::ValidationFailed {
                        task_id: id.into(),
                        findings: vec!["bad".into()],
                    }),
                }
                return;
            }
            let base = t.kind.base();
            match base {
                TaskKind::Review => {
                    let cats = self
                        .raise
                        .iter()
                        .find(|(s, r, rd, _)| *s == t.stage && *r == t.role && *rd == t.round)
                        .map(|x| x.3.clone())
                        .unwrap_or_default();
                    for (n, c) in cats.into_iter().enumerate() {
                        self.apply(Event::FeedbackRecorded {
                            item: FeedbackItem {
                                id: format!("{}-{}-r{}-{}", t.stage, t.role, t.round, n + 1),
                                author: t.role.clone(),
                                stage: t.stage,
                                round: t.round,
                                category: c,
                                section: "api_design".into(),
                                comment: "c".into(),
                                suggestion: None,
                            },
                        });
                    }
                }
                TaskKind::ReReview => {
                    let mine: Vec<_> = self
                        .state
                        .stage_items(t.stage)
                        .filter(|i| i.item.author == t.role && i.status == ItemStatus::Addressed)
                        .map(|i| (i.item.id.clone(), i.item.category))
                        .collect();
                    for (id, c) in mine {
                        let status = if self.reopen.contains(&c) {
                            ItemStatus::Open
                        } else {
                            ItemStatus::Closed
                        };
                        self.apply(Event::ItemStatusChanged {
                            item_id: id,
                            status,
                            round: t.round,
                            note: None,
                        });
                    }
                }
                TaskKind::Integrate | TaskKind::IntegrateDoc { .. } => {
                    let open: Vec<String> = self
                        .state
                        .stage_items(t.stage)
                        .filter(|i| i.status == ItemStatus::Open)
                        .map(|i| i.item.id.clone())
                        .collect();
                    for id in open {
                        self.apply(Event::DispositionRecorded {
                            disposition: Disposition {
                                item_id: id,
                                decision: Decision::Accepted,
                                rationale: "ok".into(),
                                change: None,
                                acknowledgement: None,
                                round: t.round,
                            },
                        });
                    }
                }
                TaskKind::Manifest => self.apply(Event::DesignDocsSelected {
                    files: self.docs.clone(),
                }),
                // The change revises the first document.
                TaskKind::Change => self.apply(Event::DesignDocsSelected {
                    files: self.docs[..1].to_vec(),
                }),
                _ => {}
            }
            self.apply(Event::TaskCompleted {
                task_id: id.into(),
                role: t.role.clone(),
                stage: t.stage,
                usage: Usage::default(),
                cost_usd: None,
                elapsed_ms: 1,
            });
        }

        /// Runs until the machine stops asking for work; returns the final decision.
        fn run(&mut self) -> Next {
            for _ in 0..500 {
                match next(&self.plan, &self.state) {
                    Next::EnterStage(s) => self.apply(Event::StageEntered { stage: s }),
                    Next::CompleteStage(s) => self.apply(Event::StageCompleted { stage: s }),
                    Next::Dispatch(tasks) => {
                        let ids = self.dispatch(&tasks);
                        for (t, id) in tasks.iter().zip(ids) {
                            self.complete(t, &id);
                        }
                    }
                    other => return other,
                }
            }
            panic!("the machine did not settle in 500 steps");
        }

        fn tasks_of(&self, stage: Stage) -> Vec<String> {
            self.log
                .iter()
                .filter(|l| l.0 == stage)
                .map(|l| format!("{}.r{}.{}.a{}", l.1, l.2, l.3, l.4))
                .collect()
        }
    }

    /// A plan for the bundled local model (the tests below were written for its defaults).
    fn plan_with(f: impl FnOnce(&mut Config)) -> Plan {
        plan_for(true, f)
    }

    fn plan_for(local_model: bool, f: impl FnOnce(&mut Config)) -> Plan {
        let mut cfg = Config::default();
        f(&mut cfg);
        Plan::new(
            &cfg,
            local_model,
            "architect",
            vec!["principal-engineer".into(), "code-reviewer".into()],
            vec![],
            true,
            false,
        )
    }

    #[test]
    fn an_update_proposes_a_change_and_writes_and_reviews_only_the_documents_it_names() {
        let mut d = Driver::new(plan_with(|_| {}).for_update());
        d.raise.push((
            Stage::DesignDocs,
            "principal-engineer",
            1,
            vec![Category::Critical],
        ));
        d.raise.push((
            Stage::DesignDocs,
            "code-reviewer",
            1,
            vec![Category::Question],
        ));
        d.raise.push((
            Stage::FinalReview,
            "code-reviewer",
            1,
            vec![Category::Critical],
        ));
        assert_eq!(d.run(), Next::Finish);
        for s in [
            Stage::Requirements,
            Stage::Options,
            Stage::Proposal,
            Stage::ImplementationPlan,
        ] {
            assert!(d.tasks_of(s).is_empty(), "{s} does not run in an update");
        }
        assert_eq!(
            d.tasks_of(Stage::DesignDocs),
            [
                "change.r0.architect.a1",
                // Both reviewers review the change; the author integrates every item; a
                // critical item was among them, so both re-review their answered items; only
                // then is the document revised.
                "review.r1.principal-engineer.a1",
                "review.r1.code-reviewer.a1",
                "integrate.r1.architect.a1",
                "rereview.r2.principal-engineer.a1",
                "rereview.r2.code-reviewer.a1",
                "doc-api-design.r0.architect.a1"
            ]
        );
        assert!(
            d.state
                .stage_items(Stage::DesignDocs)
                .all(|i| i.status == ItemStatus::Closed),
            "every item of the change is closed"
        );
        assert_eq!(
            d.tasks_of(Stage::FinalReview),
            [
                "review.r1.principal-engineer.a1",
                "review.r1.code-reviewer.a1",
                "integrate-api-design.r1.architect.a1"
            ]
        );
    }

    #[test]
    fn happy_path_without_feedback_runs_every_stage_once() {
        let mut d = Driver::new(plan_with(|_| {}));
        assert_eq!(d.run(), Next::Finish);
        assert!(
            d.tasks_of(Stage::Requirements).is_empty(),
            "a PRD exists: no requirements stage"
        );
        assert_eq!(
            d.tasks_of(Stage::Options),
            vec![
                "draft.r0.architect.a1",
                "review.r1.principal-engineer.a1",
                "review.r1.code-reviewer.a1"
            ]
        );
        assert_eq!(
            d.tasks_of(Stage::DesignDocs),
            vec![
                "manifest.r0.architect.a1",
                "doc-api-design.r0.architect.a1",
                "doc-storage-design.r0.architect.a1"
            ]
        );
        assert_eq!(
            d.tasks_of(Stage::ImplementationPlan),
            vec!["draft.r0.architect.a1"]
        );
        assert_eq!(d.state.stages_completed.len(), d.plan.stages.len());
    }

    #[test]
    fn without_a_prd_the_architect_writes_requirements_first() {
        let cfg = Config::default();
        let plan = Plan::new(
            &cfg,
            true,
            "architect",
            vec!["code-reviewer".into()],
            vec![],
            false,
            false,
        );
        assert_eq!(plan.stages[1], Stage::Requirements);
        let mut d = Driver::new(plan);
        assert_eq!(d.run(), Next::Finish);
        assert_eq!(
            d.tasks_of(Stage::Requirements),
            vec!["draft.r0.architect.a1"]
        );
    }

    #[test]
    fn reviewers_are_dispatched_together_and_the_stage_waits_for_both() {
        let plan = plan_with(|_| {});
        let mut d = Driver::new(plan);
        // Drive to the options review.
        loop {
            match next(&d.plan, &d.state) {
                Next::EnterStage(s) => d.apply(Event::StageEntered { stage: s }),
                Next::CompleteStage(s) => d.apply(Event::StageCompleted { stage: s }),
                Next::Dispatch(tasks) if tasks[0].kind == TaskKind::Review => {
                    assert_eq!(tasks.len(), 2, "both reviewers at once");
                    let ids = d.dispatch(&tasks);
                    d.complete(&tasks[0], &ids[0]);
                    assert_eq!(
                        next(&d.plan, &d.state),
                        Next::Wait,
                        "fan-in waits for the second reviewer"
                    );
                    d.complete(&tasks[1], &ids[1]);
                    assert!(matches!(
                        next(&d.plan, &d.state),
                        Next::Dispatch(_) | Next::CompleteStage(_)
                    ));
                    break;
                }
                Next::Dispatch(tasks) => {
                    let ids = d.dispatch(&tasks);
                    for (t, id) in tasks.iter().zip(ids) {
                        d.complete(t, &id);
                    }
                }
                other => panic!("unexpected {other:?}"),
            }
        }
    }

    #[test]
    fn options_review_rounds_zero_accepts_the_options_draft_and_reviews_the_rest() {
        let mut d = Driver::new(plan_with(|c| c.workflow.options_review_rounds = Some(0)));
        d.raise.push((
            Stage::Proposal,
            "principal-engineer",
            1,
            vec![Category::Critical],
        ));
        assert_eq!(d.run(), Next::Finish);
        assert_eq!(d.tasks_of(Stage::Options), vec!["draft.r0.architect.a1"]);
        let proposal = d.tasks_of(Stage::Proposal);
        assert!(
            proposal.contains(&"review.r1.principal-engineer.a1".to_string())
                && proposal.contains(&"integrate.r1.architect.a1".to_string()),
            "{proposal:?}"
        );
        // Unset, the options get `review_rounds`.
        let mut d = Driver::new(plan_with(|_| {}));
        assert_eq!(d.run(), Next::Finish);
        assert!(d.tasks_of(Stage::Options).len() > 1);
    }

    #[test]
    fn critical_items_trigger_integration_and_a_re_review_by_their_author_only() {
        let mut d = Driver::new(plan_with(|c| c.workflow.review_rounds = 3));
        d.raise.push((
            Stage::Options,
            "principal-engineer",
            1,
            vec![Category::Critical, Category::Question],
        ));
        assert_eq!(d.run(), Next::Finish);
        assert_eq!(
            d.tasks_of(Stage::Options),
            vec![
                "draft.r0.architect.a1",
                "review.r1.principal-engineer.a1",
                "review.r1.code-reviewer.a1",
                "integrate.r1.architect.a1",
                "rereview.r2.principal-engineer.a1",
            ]
        );
        assert!(
            d.state
                .stage_items(Stage::Options)
                .all(|i| i.status == ItemStatus::Closed)
        );
    }

    #[test]
    fn non_blocking_items_are_integrated_without_a_re_review() {
        let mut d = Driver::new(plan_with(|_| {}));
        d.raise.push((
            Stage::Proposal,
            "code-reviewer",
            1,
            vec![Category::Important, Category::NiceToHave],
        ));
        d.run();
        assert_eq!(
            d.tasks_of(Stage::Proposal),
            vec![
                "draft.r0.architect.a1",
                "review.r1.principal-engineer.a1",
                "review.r1.code-reviewer.a1",
                "integrate.r1.architect.a1",
            ]
        );
        // With stop_when no_critical_or_important, an important item needs a re-review.
        let mut d = Driver::new(plan_with(|c| {
            c.workflow.stop_when = Some(StopWhen::NoCriticalOrImportant)
        }));
        d.raise.push((
            Stage::Proposal,
            "code-reviewer",
            1,
            vec![Category::Important],
        ));
        d.run();
        assert!(
            d.tasks_of(Stage::Proposal)
                .contains(&"rereview.r2.code-reviewer.a1".to_string())
        );
    }

    #[test]
    fn stop_when_defaults_by_model_and_an_explicit_setting_wins() {
        let rereviewed = |plan: Plan| {
            let mut d = Driver::new(plan);
            d.raise.push((
                Stage::Proposal,
                "code-reviewer",
                1,
                vec![Category::Important],
            ));
            d.run();
            d.tasks_of(Stage::Proposal)
                .contains(&"rereview.r2.code-reviewer.a1".to_string())
        };
        // A capable (remote) model: an addressed important item is re-reviewed.
        let remote = plan_for(false, |_| {});
        assert_eq!(remote.stop_when, StopWhen::NoCriticalOrImportant);
        assert!(rereviewed(remote));
        // The bundled local model keeps today's behaviour: only critical items block.
        let local = plan_for(true, |_| {});
        assert_eq!(local.stop_when, StopWhen::NoCritical);
        assert!(!rereviewed(local));
        // An explicit setting wins either way.
        let remote_set = plan_for(false, |c| c.workflow.stop_when = Some(StopWhen::NoCritical));
        assert!(!rereviewed(remote_set));
        let local_set = plan_for(true, |c| {
            c.workflow.stop_when = Some(StopWhen::NoCriticalOrImportant)
        });
        assert!(rereviewed(local_set));
    }

    #[test]
    fn reopened_items_loop_until_the_round_limit_and_stay_listed() {
        let mut d = Driver::new(plan_with(|c| c.workflow.review_rounds = 3));
        d.raise
            .push((Stage::Options, "code-reviewer", 1, vec![Category::Critical]));
        d.reopen.push(Category::Critical);
        assert_eq!(d.run(), Next::Finish);
        let opts = d.tasks_of(Stage::Options);
        assert_eq!(
            opts[3..].to_vec(),
            vec![
                "integrate.r1.architect.a1",
                "rereview.r2.code-reviewer.a1",
                "integrate.r2.architect.a1",
                "rereview.r3.code-reviewer.a1",
                "integrate.r3.architect.a1",
            ]
        );
        let item = d.state.stage_items(Stage::Options).next().unwrap();
        assert_eq!(
            item.dispositions.len(),
            3,
            "one disposition per integration round"
        );
        assert_ne!(
            item.status,
            ItemStatus::Closed,
            "unresolved after the round limit, but not dropped"
        );
    }

    #[test]
    fn a_human_gate_waits_for_approval() {
        let mut d = Driver::new(plan_with(|c| c.workflow.gates.options = Gate::Human));
        assert_eq!(d.run(), Next::AwaitGate(Stage::Options));
        assert_eq!(d.run(), Next::AwaitGate(Stage::Options), "still waiting");
        d.apply(Event::GateApproved {
            stage: Stage::Options,
            option: Some("B".into()),
        });
        assert_eq!(d.run(), Next::Finish);
    }

    #[test]
    fn human_feedback_at_a_gate_gets_its_own_integration_round() {
        let mut d = Driver::new(plan_with(|c| c.workflow.gates.proposal = Gate::Human));
        assert_eq!(d.run(), Next::AwaitGate(Stage::Proposal));
        d.apply(Event::FeedbackRecorded {
            item: FeedbackItem {
                id: "HU-1".into(),
                author: "human".into(),
                stage: Stage::Proposal,
                round: 1,
                category: Category::Important,
                section: "API".into(),
                comment: "use gRPC".into(),
                suggestion: None,
            },
        });
        let n = next(&d.plan, &d.state);
        assert!(
            matches!(&n, Next::Dispatch(t) if t[0].kind == TaskKind::Integrate && t[0].round == 2),
            "{n:?}"
        );
        assert_eq!(d.run(), Next::AwaitGate(Stage::Proposal));
        assert!(d.state.items[0].disposition.is_some());
        d.apply(Event::GateApproved {
            stage: Stage::Proposal,
            option: None,
        });
        assert_eq!(d.run(), Next::Finish);
    }

    #[test]
    fn design_documents_fan_out_in_parallel() {
        let mut d = Driver::new(plan_with(|_| {}));
        d.docs = vec![
            "a_design.md".into(),
            "b_design.md".into(),
            "c_design.md".into(),
        ];
        loop {
            match next(&d.plan, &d.state) {
                Next::EnterStage(s) => d.apply(Event::StageEntered { stage: s }),
                Next::CompleteStage(s) => d.apply(Event::StageCompleted { stage: s }),
                Next::Dispatch(tasks) => {
                    if matches!(tasks[0].kind, TaskKind::DesignDoc { .. }) {
                        assert_eq!(tasks.len(), 3);
                        return;
                    }
                    let ids = d.dispatch(&tasks);
                    for (t, id) in tasks.iter().zip(ids) {
                        d.complete(t, &id);
                    }
                }
                other => panic!("unexpected {other:?}"),
            }
        }
    }

    #[test]
    fn failed_tasks_are_retried_then_pause_the_session_until_resumed() {
        let mut d = Driver::new(plan_with(|c| c.workflow.task_attempts = 2));
        d.outcome
            .push(("options.draft.r0.architect.a1".into(), "fail"));
        d.outcome
            .push(("options.draft.r0.architect.a2".into(), "fail"));
        let n = d.run();
        assert!(
            matches!(&n, Next::Pause(m) if m.contains("failed 2 times") && m.contains("(architect)")),
            "{n:?}"
        );
        // A resume gives the step its attempts again and keeps what was answered.
        d.apply(Event::Paused { reason: "x".into() });
        d.apply(Event::Resumed);
        assert_eq!(d.run(), Next::Finish);
        assert_eq!(
            d.tasks_of(Stage::Options)[..3],
            [
                "draft.r0.architect.a1",
                "draft.r0.architect.a2",
                "draft.r0.architect.a3"
            ]
        );
        let mut d = Driver::new(plan_with(|c| c.workflow.task_attempts = 2));
        d.outcome
            .push(("options.draft.r0.architect.a1".into(), "fail"));
        assert_eq!(d.run(), Next::Finish);
        assert_eq!(
            d.tasks_of(Stage::Options)[..2],
            ["draft.r0.architect.a1", "draft.r0.architect.a2"]
        );
    }

    #[test]
    fn invalid_output_is_repaired_then_pauses_at_the_limit() {
        let mut d = Driver::new(plan_with(|c| c.workflow.repair_attempts = 1));
        d.outcome
            .push(("options.draft.r0.architect.a1".into(), "invalid"));
        assert_eq!(d.run(), Next::Finish);
        assert_eq!(
            d.tasks_of(Stage::Options)[1],
            "repair-draft.r0.architect.a2"
        );

        let mut d = Driver::new(plan_with(|c| c.workflow.repair_attempts = 1));
        d.outcome
            .push(("options.draft.r0.architect.a1".into(), "invalid"));
        d.outcome
            .push(("options.repair-draft.r0.architect.a2".into(), "invalid"));
        let n = d.run();
        assert!(
            matches!(&n, Next::Pause(m) if m.contains("still invalid after 1 repair")),
            "{n:?}"
        );
    }

    #[test]
    fn final_review_integrates_per_document() {
        let mut d = Driver::new(plan_with(|_| {}));
        d.raise.push((
            Stage::FinalReview,
            "principal-engineer",
            1,
            vec![Category::Important],
        ));
        assert_eq!(d.run(), Next::Finish);
        assert_eq!(
            d.tasks_of(Stage::FinalReview),
            vec![
                "review.r1.principal-engineer.a1",
                "review.r1.code-reviewer.a1",
                "integrate-api-design.r1.architect.a1",
            ]
        );
    }

    /// On a capable model, the reviewer whose blocking item the final review integrated checks
    /// the revised design document once more (round 2); a reopened item is integrated again.
    #[test]
    fn a_capable_final_review_re_reviews_integrated_blocking_items() {
        let mut d = Driver::new(plan_for(false, |_| {}));
        d.raise.push((
            Stage::FinalReview,
            "principal-engineer",
            1,
            vec![Category::Important],
        ));
        d.reopen = vec![Category::Important];
        assert_eq!(d.run(), Next::Finish);
        assert_eq!(
            d.tasks_of(Stage::FinalReview),
            vec![
                "review.r1.principal-engineer.a1",
                "review.r1.code-reviewer.a1",
                "integrate-api-design.r1.architect.a1",
                "rereview.r2.principal-engineer.a1",
                "integrate-api-design.r2.architect.a1",
            ]
        );
    }

    #[test]
    fn helpers_contribute_in_sequence_only_when_enabled() {
        let cfg = Config::default();
        let plan = Plan::new(
            &cfg,
            true,
            "architect",
            vec!["code-reviewer".into()],
            vec!["data-modeler".into(), "language-idioms".into()],
            true,
            false,
        );
        assert!(plan.stages.contains(&Stage::Helpers));
        let mut d = Driver::new(plan);
        // Each helper's task is dispatched alone, after the one before it completed.
        loop {
            match next(&d.plan, &d.state) {
                Next::EnterStage(s) => d.apply(Event::StageEntered { stage: s }),
                Next::CompleteStage(s) => d.apply(Event::StageCompleted { stage: s }),
                Next::Dispatch(tasks) => {
                    if tasks[0].stage == Stage::Helpers {
                        assert_eq!(tasks.len(), 1, "{tasks:?}");
                    }
                    let ids = d.dispatch(&tasks);
                    for (t, id) in tasks.iter().zip(ids) {
                        d.complete(t, &id);
                    }
                }
                _ => break,
            }
        }
        assert_eq!(
            d.tasks_of(Stage::Helpers),
            vec![
                "contribute.r0.data-modeler.a1",
                "contribute.r0.language-idioms.a1"
            ]
        );
        assert!(!plan_with(|_| {}).stages.contains(&Stage::Helpers));
    }

    #[test]
    fn an_oversized_prd_is_summarised_at_intake() {
        let cfg = Config::default();
        let plan = Plan::new(&cfg, true, "architect", vec![], vec![], true, true);
        let mut d = Driver::new(plan);
        d.run();
        assert_eq!(d.tasks_of(Stage::Intake), vec!["summarize.r0.architect.a1"]);
    }

    #[test]
    fn doc_for_section_prefers_named_then_overlapping_docs() {
        let docs = vec![
            "order_backend_design.md".to_string(),
            "auth_security_design.md".to_string(),
        ];
        assert_eq!(
            doc_for_section("auth_security_design.md: threat model", &docs),
            docs[1]
        );
        assert_eq!(doc_for_section("Security of tokens", &docs), docs[1]);
        assert_eq!(doc_for_section("general", &docs), docs[0]);
    }

    #[test]
    fn human_feedback_goes_to_the_current_or_next_review_stage() {
        let plan = plan_with(|_| {});
        let mut d = Driver::new(plan.clone());
        assert_eq!(plan.human_feedback_stage(&d.state), Some(Stage::Options));
        d.apply(Event::StageCompleted {
            stage: Stage::Options,
        });
        assert_eq!(plan.human_feedback_stage(&d.state), Some(Stage::Proposal));
    }
}
