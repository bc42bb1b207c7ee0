//! Dashboard frames, rendered on ratatui's `TestBackend` from states folded out of journal
//! events (never hand-set), snapshot-tested at 80x24 and 200x50; tiny panes must not panic.

use std::time::Duration;

use agentmux::{AgentLive, AgentState, Live, draw};
use protocol::{
    Category, Decision, Disposition, Event, FeedbackItem, ItemStatus, JournalRecord, SessionInputs,
    Stage, TaskKind, Usage, task_id,
};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::style::Color;
use workflow::state::SessionState;

const PLAN: [Stage; 6] = [
    Stage::Intake,
    Stage::Options,
    Stage::Proposal,
    Stage::DesignDocs,
    Stage::FinalReview,
    Stage::ImplementationPlan,
];

const ARCH: &str = "architect";
const PE: &str = "principal-engineer";
const CR: &str = "code-reviewer";

/// Builds a journal event by event, one second apart.
struct J {
    recs: Vec<JournalRecord>,
}

impl J {
    fn start() -> J {
        J { recs: Vec::new() }.ev(Event::SessionStarted {
            session_id: "20261122-031500-ab12".into(),
            inputs: SessionInputs {
                goal: Some("An order service for a small web shop, with payments and stock".into()),
                journey: Some("A customer orders and pays".into()),
                prd_path: Some(".agentmux/specs/project.md".into()),
                project_dir: "/home/dev/webshop".into(),
                project_name: "webshop".into(),
                update: None,
            },
            config: serde_json::json!({}),
        })
    }

    fn ev(mut self, event: Event) -> J {
        let seq = self.recs.len() as u64 + 1;
        self.recs.push(JournalRecord {
            seq,
            at: jiff::Timestamp::from_second(1_795_000_000 + seq as i64).unwrap(),
            event,
        });
        self
    }

    fn enter(self, stage: Stage) -> J {
        self.ev(Event::StageEntered { stage })
    }

    fn complete(self, stage: Stage) -> J {
        self.ev(Event::StageCompleted { stage })
    }

    fn dispatch(self, stage: Stage, kind: TaskKind, round: u32, role: &str) -> J {
        self.dispatch_attempt(stage, kind, round, role, 1)
    }

    fn dispatch_attempt(
        self,
        stage: Stage,
        kind: TaskKind,
        round: u32,
        role: &str,
        attempt: u32,
    ) -> J {
        self.ev(Event::TaskDispatched {
            task_id: task_id(stage, &kind, round, role, attempt),
            role: role.into(),
            stage,
            round,
            attempt,
            kind,
        })
    }

    /// Completes attempt 1 of a task with `tokens` prompt and `tokens / 4` completion tokens.
    fn done(self, stage: Stage, kind: TaskKind, round: u32, role: &str, tokens: u64) -> J {
        self.ev(Event::TaskCompleted {
            task_id: task_id(stage, &kind, round, role, 1),
            role: role.into(),
            stage,
            usage: Usage {
                prompt_tokens: tokens,
                completion_tokens: tokens / 4,
                cached_prompt_tokens: tokens / 2,
                estimated: false,
            },
            cost_usd: Some(tokens as f64 * 0.000_003),
            elapsed_ms: 20_000,
        })
    }

    fn run(self, stage: Stage, kind: TaskKind, round: u32, role: &str, tokens: u64) -> J {
        self.dispatch(stage, kind.clone(), round, role)
            .done(stage, kind, round, role, tokens)
    }

    fn item(
        self,
        id: &str,
        author: &str,
        stage: Stage,
        cat: Category,
        section: &str,
        comment: &str,
    ) -> J {
        self.ev(Event::FeedbackRecorded {
            item: FeedbackItem {
                id: id.into(),
                author: author.into(),
                stage,
                round: 1,
                category: cat,
                section: section.into(),
                comment: comment.into(),
                suggestion: None,
            },
        })
    }

    fn dispose(self, id: &str, decision: Decision, round: u32) -> J {
        self.ev(Event::DispositionRecorded {
            disposition: Disposition {
                item_id: id.into(),
                decision,
                rationale: "see the revised section".into(),
                change: None,
                acknowledgement: None,
                round,
            },
        })
    }

    fn set_status(self, id: &str, status: ItemStatus, round: u32) -> J {
        self.ev(Event::ItemStatusChanged {
            item_id: id.into(),
            status,
            round,
            note: None,
        })
    }

    fn deliver(self, path: &str) -> J {
        self.ev(Event::DeliverableWritten { path: path.into() })
    }

    fn state(&self) -> SessionState {
        SessionState::fold(&self.recs)
    }
}

fn intake_started() -> J {
    J::start()
        .enter(Stage::Intake)
        .dispatch(Stage::Intake, TaskKind::Summarize, 0, ARCH)
}

/// Options drafted, reviewed in round 1 (items), integrated, re-review of round 2 under way.
fn options_in_review() -> J {
    J::start()
        .enter(Stage::Intake)
        .run(Stage::Intake, TaskKind::Summarize, 0, ARCH, 2_400)
        .complete(Stage::Intake)
        .deliver(".agentmux/specs/project_summary.md")
        .enter(Stage::Options)
        .run(Stage::Options, TaskKind::Draft, 0, ARCH, 5_200)
        .ev(Event::ArtifactAccepted {
            stage: Stage::Options,
            name: "options.md".into(),
            revision: 1,
        })
        .dispatch(Stage::Options, TaskKind::Review, 1, PE)
        .dispatch(Stage::Options, TaskKind::Review, 1, CR)
        .item(
            "PE-r1-1",
            PE,
            Stage::Options,
            Category::Critical,
            "Option B",
            "The saga has no compensation for a failed payment capture",
        )
        .item(
            "PE-r1-2",
            PE,
            Stage::Options,
            Category::Important,
            "Comparison",
            "Effort of option C is understated: it needs a second datastore",
        )
        .done(Stage::Options, TaskKind::Review, 1, PE, 6_100)
        .item(
            "CR-r1-1",
            CR,
            Stage::Options,
            Category::Question,
            "Option A",
            "Which queue does the outbox relay publish to?",
        )
        .item(
            "CR-r1-2",
            CR,
            Stage::Options,
            Category::NiceToHave,
            "Diagrams",
            "Label the arrows of the option B diagram",
        )
        .done(Stage::Options, TaskKind::Review, 1, CR, 5_900)
        .dispatch(Stage::Options, TaskKind::Integrate, 1, ARCH)
        .dispose("PE-r1-1", Decision::Accepted, 1)
        .dispose("PE-r1-2", Decision::Accepted, 1)
        .dispose("CR-r1-1", Decision::Accepted, 1)
        .dispose("CR-r1-2", Decision::Deferred, 1)
        .done(Stage::Options, TaskKind::Integrate, 1, ARCH, 9_800)
        .dispatch(Stage::Options, TaskKind::ReReview, 2, PE)
        .dispatch(Stage::Options, TaskKind::ReReview, 2, CR)
        .set_status("CR-r1-1", ItemStatus::Closed, 2)
        .set_status("CR-r1-2", ItemStatus::Closed, 2)
        .done(Stage::Options, TaskKind::ReReview, 2, CR, 3_300)
}

/// The options review is over and the options gate waits for a human.
fn options_at_gate() -> J {
    options_in_review()
        .set_status("PE-r1-1", ItemStatus::Closed, 2)
        .set_status("PE-r1-2", ItemStatus::Closed, 2)
        .done(Stage::Options, TaskKind::ReReview, 2, PE, 3_900)
        .ev(Event::GateWaiting {
            stage: Stage::Options,
        })
}

/// Proposal drafted, then the cost budget ran out during the review.
fn paused_for_budget() -> J {
    options_at_gate()
        .ev(Event::GateApproved {
            stage: Stage::Options,
            option: Some("B".into()),
        })
        .ev(Event::OptionSelected {
            option: "B".into(),
            by: "human".into(),
        })
        .complete(Stage::Options)
        .deliver(".agentmux/options.md")
        .enter(Stage::Proposal)
        .run(Stage::Proposal, TaskKind::Draft, 0, ARCH, 48_000)
        .dispatch(Stage::Proposal, TaskKind::Review, 1, PE)
        .dispatch(Stage::Proposal, TaskKind::Review, 1, CR)
        .ev(Event::Paused {
            reason: "the cost budget of $0.25 is used up ($0.2611 spent); raise llm.budget_usd, then `agentmux resume`".into(),
        })
}

fn completed() -> J {
    let mut j = paused_for_budget()
        .ev(Event::Resumed)
        .done(Stage::Proposal, TaskKind::Review, 1, PE, 30_000)
        .done(Stage::Proposal, TaskKind::Review, 1, CR, 29_000)
        .complete(Stage::Proposal)
        .deliver(".agentmux/design_proposal.md")
        .enter(Stage::DesignDocs)
        .run(Stage::DesignDocs, TaskKind::Manifest, 0, ARCH, 20_000)
        .ev(Event::DesignDocsSelected {
            files: vec![
                "order_domain_backend_design.md".into(),
                "payment_integration_design.md".into(),
                "stock_reservation_design.md".into(),
            ],
        });
    for f in [
        "order_domain_backend_design.md",
        "payment_integration_design.md",
        "stock_reservation_design.md",
    ] {
        j = j
            .run(
                Stage::DesignDocs,
                TaskKind::DesignDoc { file: f.into() },
                0,
                ARCH,
                25_000,
            )
            .deliver(&format!(".agentmux/specs/{f}"));
    }
    j.deliver(".agentmux/specs/manifest.json")
        .complete(Stage::DesignDocs)
        .enter(Stage::FinalReview)
        .run(Stage::FinalReview, TaskKind::Review, 1, PE, 60_000)
        .run(Stage::FinalReview, TaskKind::Review, 1, CR, 58_000)
        .complete(Stage::FinalReview)
        .enter(Stage::ImplementationPlan)
        .run(Stage::ImplementationPlan, TaskKind::Draft, 0, ARCH, 70_000)
        .deliver(".agentmux/implementation_plan.md")
        .complete(Stage::ImplementationPlan)
        .ev(Event::Completed)
}

/// The reviewers' endpoint kept failing during the proposal review.
fn failed() -> J {
    let mut j = paused_for_budget().ev(Event::Resumed);
    let kind = TaskKind::Review;
    let error =
        "HTTP 503 from http://127.0.0.1:8080/v1/chat/completions after 3 retries: model is loading";
    j = j.ev(Event::TaskFailed {
        task_id: task_id(Stage::Proposal, &kind, 1, CR, 1),
        role: CR.into(),
        error: error.into(),
    });
    for attempt in 2..=3 {
        j = j
            .dispatch_attempt(Stage::Proposal, kind.clone(), 1, CR, attempt)
            .ev(Event::TaskFailed {
                task_id: task_id(Stage::Proposal, &kind, 1, CR, attempt),
                role: CR.into(),
                error: error.into(),
            });
    }
    j.ev(Event::Failed {
        reason: format!(
            "task {} failed 3 times; last error: {error}",
            task_id(Stage::Proposal, &kind, 1, CR, 3)
        ),
    })
}

fn agent(role: &str, state: AgentState, tps: Option<f64>, task: Option<&str>) -> AgentLive {
    AgentLive {
        role: role.into(),
        state,
        tokens_per_sec: tps,
        task: task.map(String::from),
    }
}

fn idle_agents() -> Vec<AgentLive> {
    [ARCH, PE, CR]
        .into_iter()
        .map(|r| agent(r, AgentState::Idle, None, None))
        .collect()
}

fn live(secs: u64, agents: Vec<AgentLive>) -> Live {
    Live {
        elapsed: Duration::from_secs(secs),
        errors: Vec::new(),
        waiting_for: None,
        agents,
        budget_usd: None,
        max_total_tokens: None,
        specs_dir: ".agentmux/specs".into(),
        report: ".agentmux/report.html".into(),
    }
}

/// The frame as text, one line per row, trailing spaces trimmed.
fn text(buf: &Buffer) -> String {
    let area = buf.area;
    let mut out = String::new();
    for y in area.top()..area.bottom() {
        let mut line = String::new();
        for x in area.left()..area.right() {
            line.push_str(buf[(x, y)].symbol());
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

fn frame(state: &SessionState, live: &Live, w: u16, h: u16) -> Buffer {
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    t.draw(|f| draw(f, state, live, &PLAN)).unwrap();
    t.backend().buffer().clone()
}

fn render(state: &SessionState, live: &Live, w: u16, h: u16) -> String {
    text(&frame(state, live, w, h))
}

#[test]
fn just_started_at_intake() {
    let s = intake_started().state();
    let l = live(
        12,
        vec![
            agent(
                ARCH,
                AgentState::Streaming,
                Some(41.3),
                Some("intake summary"),
            ),
            agent(PE, AgentState::Idle, None, None),
            agent(CR, AgentState::Down, None, None),
        ],
    );
    let out = render(&s, &l, 80, 24);
    insta::assert_snapshot!("dashboard_intake_80x24", out);
    assert!(out.contains("▶ intake"));
    assert!(out.contains("streaming 41.3 tok/s"));
}

fn review_live() -> Live {
    let mut l = live(
        14 * 60 + 5,
        vec![
            agent(ARCH, AgentState::Idle, None, None),
            agent(
                PE,
                AgentState::Streaming,
                Some(18.25),
                Some("options re-review r2"),
            ),
            agent(CR, AgentState::Idle, None, None),
        ],
    );
    l.budget_usd = Some(1.0);
    l.max_total_tokens = Some(200_000);
    l.waiting_for = Some("principal-engineer".into());
    l
}

#[test]
fn options_review_in_progress_at_80x24() {
    let s = options_in_review().state();
    let out = render(&s, &review_live(), 80, 24);
    insta::assert_snapshot!("dashboard_review_80x24", out);
    assert!(
        out.contains("▶ options             r2 rereview"),
        "current stage shows its round"
    );
    assert!(out.contains("budget"));
}

#[test]
fn options_review_in_progress_at_200x50() {
    let s = options_in_review().state();
    let out = render(&s, &review_live(), 200, 50);
    insta::assert_snapshot!("dashboard_review_200x50", out);
    // There is room for the unresolved items themselves.
    assert!(out.contains("PE-r1-1"));
    assert!(out.contains("goal: An order service"));
}

#[test]
fn waiting_at_the_options_gate_is_impossible_to_miss() {
    let s = options_at_gate().state();
    let mut l = live(20 * 60, idle_agents());
    l.budget_usd = Some(1.0);
    let buf = frame(&s, &l, 80, 24);
    let out = text(&buf);
    insta::assert_snapshot!("dashboard_gate_80x24", out);
    assert!(out.contains("WAITING FOR YOU"));
    assert!(out.contains("agentmux approve --option X"));
    // The banner is painted across the full width, in the gate colour.
    let row = out.lines().position(|l| l.contains("YOUR TURN")).unwrap() as u16;
    for x in [0, 40, 79] {
        assert_eq!(buf[(x, row)].bg, Color::Yellow, "cell {x},{row}");
    }
}

#[test]
fn the_gate_banner_survives_a_tiny_pane() {
    let s = options_at_gate().state();
    let out = render(&s, &live(1, idle_agents()), 30, 3);
    assert!(out.contains("WAITING FOR YOU"), "{out}");
    assert!(out.contains("YOUR TURN"), "{out}");
}

#[test]
fn paused_for_the_budget() {
    let s = paused_for_budget().state();
    let mut l = live(
        31 * 60,
        [ARCH, PE, CR]
            .into_iter()
            .map(|r| agent(r, AgentState::Down, None, None))
            .collect(),
    );
    l.budget_usd = Some(0.25);
    let out = render(&s, &l, 80, 24);
    insta::assert_snapshot!("dashboard_paused_budget_80x24", out);
    assert!(out.contains("PAUSED"));
    assert!(out.contains("agentmux resume"));
}

#[test]
fn completed_session() {
    let s = completed().state();
    let mut l = live(2 * 3600 + 5 * 60 + 9, idle_agents());
    l.budget_usd = Some(5.0);
    let out = render(&s, &l, 80, 24);
    insta::assert_snapshot!("dashboard_completed_80x24", out);
    assert!(out.contains("COMPLETED"));
    assert!(out.contains("Stages 6/6"));
    assert!(out.contains("design docs 3/3"));
    assert!(out.contains("report: .agentmux/report.html"), "{out}");
}

#[test]
fn failed_with_an_error() {
    let s = failed().state();
    let mut l = live(
        40 * 60,
        vec![
            agent(ARCH, AgentState::Idle, None, None),
            agent(PE, AgentState::Idle, None, None),
            agent(CR, AgentState::Failed, None, None),
        ],
    );
    l.errors = vec![
        "code-reviewer: HTTP 503 (attempt 1), retrying".into(),
        "code-reviewer: HTTP 503 (attempt 2), retrying".into(),
    ];
    let out = render(&s, &l, 80, 24);
    insta::assert_snapshot!("dashboard_failed_80x24", out);
    assert!(out.contains("FAILED"));
    assert!(out.contains("HTTP 503"));
}

#[test]
fn no_size_and_no_state_panics() {
    let states = [
        SessionState::default(),
        intake_started().state(),
        options_in_review().state(),
        options_at_gate().state(),
        paused_for_budget().state(),
        completed().state(),
        failed().state(),
    ];
    let mut l = review_live();
    l.errors = vec!["x".repeat(500), "multi\nline\nerror".into()];
    for s in &states {
        for (w, h) in [
            (10, 3),
            (1, 1),
            (2, 1),
            (1, 40),
            (300, 1),
            (59, 24),
            (60, 24),
            (61, 12),
            (119, 30),
            (120, 30),
            (200, 50),
            (500, 200),
            (u16::MAX, 2),
        ] {
            let out = render(s, &l, w, h);
            assert_eq!(out.lines().count(), h as usize);
        }
    }
}

#[test]
fn a_resized_terminal_is_redrawn_at_the_new_size() {
    let s = options_in_review().state();
    let l = review_live();
    let mut t = Terminal::new(TestBackend::new(80, 24)).unwrap();
    t.draw(|f| draw(f, &s, &l, &PLAN)).unwrap();
    t.backend_mut().resize(120, 40);
    t.draw(|f| draw(f, &s, &l, &PLAN)).unwrap();
    let after = text(t.backend().buffer());
    assert_eq!(
        after,
        render(&s, &l, 120, 40),
        "same as a fresh 120x40 frame"
    );
    t.backend_mut().resize(70, 20);
    t.draw(|f| draw(f, &s, &l, &PLAN)).unwrap();
    assert_eq!(text(t.backend().buffer()), render(&s, &l, 70, 20));
}

#[test]
fn narrow_panes_stack_the_sections_in_one_column() {
    let s = options_in_review().state();
    let out = render(&s, &review_live(), 50, 60);
    let pos = |needle: &str| {
        out.find(needle)
            .unwrap_or_else(|| panic!("{needle} in\n{out}"))
    };
    assert!(pos(" Stages ") < pos(" Agents "));
    assert!(pos(" Agents ") < pos(" Feedback "));
    assert!(pos(" Feedback ") < pos(" Tokens & cost "));
}

/// A role on a CLI that reports no cost (Codex, Gemini CLI): its cost shows as unpriced, the
/// total as a lower bound, and the budget line says those calls do not count; never $0.
#[test]
fn unpriced_calls_are_never_shown_as_free() {
    let kind = TaskKind::Review;
    let s = options_in_review()
        .dispatch_attempt(Stage::Options, kind.clone(), 1, PE, 2)
        .ev(Event::TaskCompleted {
            task_id: task_id(Stage::Options, &kind, 1, PE, 2),
            role: PE.into(),
            stage: Stage::Options,
            usage: Usage {
                prompt_tokens: 9_000,
                completion_tokens: 2_000,
                cached_prompt_tokens: 0,
                estimated: false,
            },
            cost_usd: None,
            elapsed_ms: 20_000,
        })
        .state();
    assert_eq!(s.totals.unpriced_calls, 1);
    let mut l = review_live();
    l.budget_usd = Some(1.0);
    let out = render(&s, &l, 200, 50);
    insta::assert_snapshot!("dashboard_unpriced_200x50", out);
    assert!(out.contains("≥$"), "{out}");
    assert!(out.contains("1 unpriced not counted"), "{out}");
    assert!(out.contains("+ 1 call unpriced"), "{out}");
    // The reviewer's earlier calls were priced: its row is a lower bound.
    let pe_row = out
        .lines()
        .find(|l| l.contains(&format!("{PE} ")) && l.contains("≥$"));
    assert!(pe_row.is_some(), "{out}");
}
