//! The dashboard's sections, each built from the session state and live facts as lines of text:
//! stage timeline, agents, feedback, tokens and cost, deliverables, errors and messages.
//!
//! Widths are the column's width in cells; lines longer than that are clipped by the renderer,
//! so these functions only decide what is worth saying at a given width.

use std::collections::BTreeSet;

use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};

use super::format::{bar, cost_cell, cost_words, fit, pad, percent, share, tokens, usd};
use super::layout::{Keep, Section};
use super::live::task_label;
use super::{AgentState, Live};
use crate::journal::SessionState;
use protocol::{Category, ItemStatus, SessionStatus, Stage};
use workflow::state::TaskState;

fn dim() -> Style {
    Style::new().fg(Color::DarkGray)
}

fn title(text: String) -> Line<'static> {
    Line::from(format!(" {text} "))
}

/// The planned stages, or (when the caller has no plan) the stages the journal knows about.
fn planned(state: &SessionState, stages: &[Stage]) -> Vec<Stage> {
    if !stages.is_empty() {
        return stages.to_vec();
    }
    let mut known: BTreeSet<Stage> = state.stages_completed.clone();
    known.extend(state.stage);
    known.into_iter().collect()
}

/// The highest round of the stage's tasks so far (0: only drafting).
fn stage_round(state: &SessionState, stage: Stage) -> u32 {
    state
        .tasks
        .values()
        .filter(|t| t.stage == stage)
        .map(|t| t.round)
        .max()
        .unwrap_or(0)
}

/// The words after a stage's name: its round and what is in flight, shortened to fit `room`.
fn stage_note(round: u32, show_round: bool, doing: &[String], room: usize) -> String {
    let doing = doing.join("+");
    let round_words = (show_round && round > 0).then(|| format!("round {round}"));
    let long = match (&round_words, doing.is_empty()) {
        (Some(r), false) => format!("{r} · {doing}"),
        (Some(r), true) => r.clone(),
        (None, _) => doing.clone(),
    };
    if long.chars().count() <= room || round_words.is_none() {
        return long;
    }
    if doing.is_empty() {
        format!("r{round}")
    } else {
        format!("r{round} {doing}")
    }
}

/// Stage timeline: done, current (with round and what is in flight), pending.
pub(super) fn stages(state: &SessionState, stages: &[Stage], width: usize) -> Section {
    let plan = planned(state, stages);
    let done = plan
        .iter()
        .filter(|s| state.stages_completed.contains(s))
        .count();
    let wide = width >= 56;
    let name_w = 20;
    let mut lines = Vec::new();
    for &stage in &plan {
        let completed = state.stages_completed.contains(&stage);
        let current = !completed && state.stage == Some(stage);
        let (mark, style) = if completed {
            ("✓", Style::new().fg(Color::Green))
        } else if current {
            (
                "▶",
                Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD),
            )
        } else {
            ("○", dim())
        };
        let mut spans = vec![
            Span::styled(format!("{mark} "), style),
            Span::styled(pad(stage.as_str(), name_w), style),
        ];
        let round = stage_round(state, stage);
        let room = width.saturating_sub(name_w + 2);
        if current && state.gate_waiting == Some(stage) {
            spans.push(Span::styled(
                "AWAITING YOU",
                Style::new()
                    .fg(Color::Black)
                    .bg(Color::Yellow)
                    .add_modifier(Modifier::BOLD),
            ));
            lines.push(Line::from(spans));
            continue;
        }
        let doing: Vec<String> = if current {
            let kinds: BTreeSet<String> = state
                .in_flight()
                .into_iter()
                .filter(|t| t.stage == stage)
                .map(|t| t.kind.slug())
                .map(|s| s.split('-').next().unwrap_or_default().to_string())
                .collect();
            kinds.into_iter().collect()
        } else {
            Vec::new()
        };
        let note = stage_note(round, completed || current, &doing, room);
        let stage_cost = state.by_stage.get(&stage).copied().unwrap_or_default();
        if wide && stage_cost.calls > 0 {
            spans.push(Span::raw(pad(&note, width.saturating_sub(name_w + 2 + 17))));
            spans.push(Span::styled(
                format!(
                    "{:>7} {:>9}",
                    tokens(stage_cost.tokens()),
                    cost_cell(
                        stage_cost.cost_usd,
                        stage_cost.calls,
                        stage_cost.unpriced_calls
                    )
                ),
                dim(),
            ));
        } else {
            spans.push(Span::raw(note));
        }
        lines.push(Line::from(spans));
    }
    if lines.is_empty() {
        lines.push(Line::styled("not started yet", dim()));
    }
    let core = lines.len();
    Section::new(
        title(format!("Stages {done}/{}", plan.len())),
        lines,
        core,
        Keep::Head,
    )
}

/// One line per agent: state, speed, task in hand, restarts.
pub(super) fn agents(state: &SessionState, live: &Live, width: usize) -> Section {
    let role_w = live
        .agents
        .iter()
        .map(|a| a.role.chars().count())
        .max()
        .unwrap_or(0)
        .clamp(4, 18);
    let mut lines = Vec::new();
    for a in &live.agents {
        let style = match a.state {
            AgentState::Idle => dim(),
            AgentState::WaitingForModel => Style::new().fg(Color::Yellow),
            AgentState::Streaming => Style::new().fg(Color::Green),
            AgentState::Failed | AgentState::Down => {
                Style::new().fg(Color::Red).add_modifier(Modifier::BOLD)
            }
        };
        let mut label = a.state.label().to_string();
        if a.state == AgentState::Streaming
            && let Some(tps) = a.tokens_per_sec
        {
            label.push_str(&format!(" {tps:.1} tok/s"));
        }
        let mut spans = vec![
            Span::raw(format!("{} ", pad(&a.role, role_w))),
            Span::styled(label, style),
        ];
        if let Some(n) = state.agent_restarts.get(&a.role).filter(|n| **n > 0) {
            spans.push(Span::styled(
                format!(" restarted {n}x"),
                Style::new().fg(Color::Red),
            ));
        }
        // The model and its limits (window/output budget), when the line has room for them.
        if let Some(p) = state.profile(&a.role) {
            let used: usize = spans.iter().map(|s| s.width()).sum();
            let text = format!(
                "  {} {}/{}",
                p.model,
                tokens(u64::from(p.context_window.value)),
                tokens(u64::from(p.max_output_tokens.value))
            );
            if used + text.chars().count() + 10 <= width {
                spans.push(Span::styled(text, dim()));
            }
        }
        if let Some(task) = &a.task {
            let used: usize = spans.iter().map(|s| s.width()).sum();
            let room = width.saturating_sub(used + 2);
            if room >= 8 {
                spans.push(Span::styled(format!("  {}", fit(task, room)), dim()));
            }
        }
        lines.push(Line::from(spans));
    }
    if lines.is_empty() {
        lines.push(Line::styled("no agents yet", dim()));
    }
    let core = lines.len();
    Section::new(title("Agents".into()), lines, core, Keep::Head)
}

fn category_style(c: Category) -> Style {
    match c {
        Category::Critical => Style::new().fg(Color::Red),
        Category::Important => Style::new().fg(Color::Yellow),
        Category::NiceToHave => Style::new().fg(Color::Blue),
        Category::Question => Style::new().fg(Color::Magenta),
    }
}

fn category_short(c: Category) -> &'static str {
    match c {
        Category::Critical => "crit",
        Category::Important => "imp",
        Category::NiceToHave => "nice",
        Category::Question => "q",
    }
}

/// Feedback items by category (open, addressed, closed), then the unresolved items themselves
/// when there is room.
pub(super) fn feedback(state: &SessionState, width: usize) -> Section {
    let count = |c: Option<Category>, st: ItemStatus| {
        state
            .items
            .iter()
            .filter(|i| c.is_none_or(|c| i.item.category == c) && i.status == st)
            .count()
    };
    let mut lines = vec![Line::styled(
        format!("{:<13}{:>5}{:>10}{:>7}", "", "open", "addressed", "closed"),
        dim(),
    )];
    for c in Category::ALL {
        let open = count(Some(c), ItemStatus::Open);
        let open_style = if open > 0 {
            category_style(c).add_modifier(Modifier::BOLD)
        } else {
            dim()
        };
        lines.push(Line::from(vec![
            Span::styled(format!("{:<13}", c.as_str()), category_style(c)),
            Span::styled(format!("{open:>5}"), open_style),
            Span::raw(format!(
                "{:>10}{:>7}",
                count(Some(c), ItemStatus::Addressed),
                count(Some(c), ItemStatus::Closed)
            )),
        ]));
    }
    lines.push(Line::from(Span::styled(
        format!(
            "{:<13}{:>5}{:>10}{:>7}",
            "total",
            count(None, ItemStatus::Open),
            count(None, ItemStatus::Addressed),
            count(None, ItemStatus::Closed)
        ),
        Style::new().add_modifier(Modifier::BOLD),
    )));
    let core = lines.len();
    // The unresolved items, most severe first: what the architect is working through.
    let mut unresolved: Vec<_> = state
        .items
        .iter()
        .enumerate()
        .filter(|(_, i)| i.status != ItemStatus::Closed)
        .collect();
    unresolved.sort_by_key(|(n, i)| (i.item.category, *n));
    for (_, i) in unresolved {
        let mark = match i.status {
            ItemStatus::Open => "○",
            ItemStatus::Addressed => "◐",
            ItemStatus::Closed => "●",
        };
        let head = format!(
            "{mark} {} {:<4} ",
            i.item.id,
            category_short(i.item.category)
        );
        let room = width.saturating_sub(head.chars().count());
        let text = format!("{}: {}", i.item.section, i.item.comment);
        lines.push(Line::from(vec![
            Span::styled(head, category_style(i.item.category)),
            Span::raw(fit(&text, room)),
        ]));
    }
    let total = state.items.len();
    Section::new(
        title(format!("Feedback ({total} items)")),
        lines,
        core,
        Keep::Head,
    )
}

/// Tokens and cost per role and in total (with the share of prompt tokens served from the
/// prompt cache), against the budget and the token cap.
pub(super) fn usage(state: &SessionState, live: &Live, width: usize) -> Section {
    let mut roles: Vec<String> = live.agents.iter().map(|a| a.role.clone()).collect();
    for r in state.by_role.keys() {
        if !roles.contains(r) {
            roles.push(r.clone());
        }
    }
    let role_w = roles
        .iter()
        .map(|r| r.chars().count())
        .max()
        .unwrap_or(0)
        .clamp(5, 18);
    let wide = width >= role_w + 51;
    let mut lines = Vec::new();
    let header = if wide {
        format!(
            "{:<role_w$} {:>7} {:>7} {:>7} {:>6} {:>5} {:>9}",
            "", "prompt", "output", "total", "cached", "calls", "cost"
        )
    } else {
        format!(
            "{:<role_w$} {:>7} {:>6} {:>9}",
            "", "tokens", "cached", "cost"
        )
    };
    lines.push(Line::styled(header, dim()));
    let row = |name: &str, t: &workflow::state::Totals| {
        let cost = format!(
            "{}{}",
            if t.estimated { "~" } else { "" },
            cost_cell(t.cost_usd, t.calls, t.unpriced_calls)
        );
        if wide {
            format!(
                "{:<role_w$} {:>7} {:>7} {:>7} {:>6} {:>5} {:>9}",
                fit(name, role_w),
                tokens(t.prompt_tokens),
                tokens(t.completion_tokens),
                tokens(t.tokens()),
                share(t.cached_share()),
                t.calls,
                cost
            )
        } else {
            format!(
                "{:<role_w$} {:>7} {:>6} {:>9}",
                fit(name, role_w),
                tokens(t.tokens()),
                share(t.cached_share()),
                cost
            )
        }
    };
    for r in &roles {
        let t = state.by_role.get(r).copied().unwrap_or_default();
        lines.push(Line::raw(row(r, &t)));
    }
    lines.push(Line::styled(
        row("total", &state.totals),
        Style::new().add_modifier(Modifier::BOLD),
    ));
    let bar_w = width.saturating_sub(36).clamp(4, 30);
    let mut limit_line = |label: &str, used: f64, limit: f64, text: String| {
        let pct = percent(used, limit).unwrap_or(0);
        let style = if pct >= 100 {
            Style::new().fg(Color::Red).add_modifier(Modifier::BOLD)
        } else if pct >= 80 {
            Style::new().fg(Color::Yellow)
        } else {
            Style::new().fg(Color::Green)
        };
        lines.push(Line::from(vec![
            Span::raw(format!("{label:<7}")),
            Span::styled(bar(used, limit, bar_w), style),
            Span::styled(format!(" {pct:>3}%"), style),
            Span::raw(format!(" {text}")),
        ]));
    };
    let unpriced = state.totals.unpriced_calls;
    if let Some(b) = live.budget_usd {
        // Unpriced calls cannot count against the budget: say so rather than imply $0.
        let note = if unpriced > 0 {
            format!(" ({unpriced} unpriced not counted)")
        } else {
            String::new()
        };
        limit_line(
            "budget",
            state.totals.cost_usd,
            b,
            format!("{} of {}{note}", usd(state.totals.cost_usd), usd(b)),
        );
    }
    if let Some(m) = live.max_total_tokens {
        let used = state.totals.tokens();
        limit_line(
            "tokens",
            used as f64,
            m as f64,
            format!("{} of {}", tokens(used), tokens(m)),
        );
    }
    if live.budget_usd.is_none() && live.max_total_tokens.is_none() {
        lines.push(Line::styled("no budget set (llm.budget_usd)", dim()));
    }
    if state.totals.estimated {
        lines.push(Line::styled("~ some counts are estimated", dim()));
    }
    if unpriced > 0 {
        let t = &state.totals;
        lines.push(Line::styled(
            format!(
                "cost {}: no price in llm.prices or from the CLI",
                cost_words(t.cost_usd, t.calls, unpriced)
            ),
            dim(),
        ));
    }
    let core = lines.len();
    Section::new(title("Tokens & cost".into()), lines, core, Keep::Head)
}

/// Deliverables written so far, with the design documents' progress in the title.
pub(super) fn deliverables(state: &SessionState, width: usize) -> Section {
    let mut t = format!("Deliverables ({})", state.deliverables.len());
    if !state.design_docs.is_empty() {
        let written = state
            .design_docs
            .iter()
            .filter(|d| {
                state
                    .deliverables
                    .iter()
                    .any(|p| p.rsplit('/').next() == Some(d.as_str()))
            })
            .count();
        t.push_str(&format!(
            " · design docs {written}/{}",
            state.design_docs.len()
        ));
    }
    let mut lines: Vec<Line<'static>> = state
        .deliverables
        .iter()
        .map(|p| {
            // The `.agentmux/` prefix says nothing new; drop it before cutting the file name.
            let shown = if p.chars().count() > width {
                p.strip_prefix(".agentmux/").unwrap_or(p)
            } else {
                p
            };
            Line::raw(fit(shown, width))
        })
        .collect();
    if lines.is_empty() {
        lines.push(Line::styled("none yet", dim()));
    }
    let core = lines.len().min(3);
    Section::new(title(t), lines, core, Keep::Head)
}

/// Messages (oldest first), then errors (newest last, so they stay visible when space is short).
pub(super) fn errors(
    state: &SessionState,
    live: &Live,
    messages: &[String],
    width: usize,
) -> Section {
    let mut errs: Vec<String> = Vec::new();
    // The journal's last error (a failed task or the failure reason) is not always among the
    // supervisor's recent errors, e.g. after a resume.
    // A failed session shows it in the banner already.
    if let Some(e) = &state.last_error
        && state.status != Some(SessionStatus::Failed)
        && !live.errors.iter().any(|x| x == e)
    {
        errs.push(e.clone());
    }
    errs.extend(live.errors.iter().cloned());
    let mut lines: Vec<Line<'static>> = messages
        .iter()
        .map(|m| Line::styled(fit(m, width), dim()))
        .collect();
    // Outputs that failed validation are not errors of the session (a repair task follows), but
    // a user watching wants to know why a step takes another round trip.
    let mut invalid: Vec<_> = state
        .tasks
        .values()
        .filter_map(|t| match &t.state {
            TaskState::Invalid { findings } => Some((t, findings)),
            _ => None,
        })
        .collect();
    invalid.sort_by_key(|(t, _)| t.dispatched_at);
    for (t, findings) in invalid.iter().skip(invalid.len().saturating_sub(3)) {
        let first = findings
            .first()
            .map(String::as_str)
            .unwrap_or("no findings");
        lines.push(Line::styled(
            fit(&format!("! {} invalid: {first}", task_label(t)), width),
            Style::new().fg(Color::Yellow),
        ));
    }
    let err_style = Style::new().fg(Color::Red);
    for e in &errs {
        lines.push(Line::styled(fit(&format!("✗ {e}"), width), err_style));
    }
    let t = if errs.is_empty() {
        "Errors & messages".to_string()
    } else {
        format!("Errors & messages ({})", errs.len())
    };
    if lines.is_empty() {
        let quiet = match state.status {
            Some(SessionStatus::Failed) => "no error recorded",
            _ => "no errors",
        };
        lines.push(Line::styled(quiet, dim()));
    }
    let core = lines.len().min(2);
    Section::new(title(t), lines, core, Keep::Tail)
}

/// Every task so far, oldest first, with its time since the session started and its outcome.
pub(super) fn tasks(state: &SessionState, width: usize) -> Section {
    let mut all: Vec<_> = state.tasks.values().collect();
    all.sort_by_key(|t| (t.dispatched_at, t.id.clone()));
    let role_w = all
        .iter()
        .map(|t| t.role.chars().count())
        .max()
        .unwrap_or(0)
        .min(18);
    let lines = all
        .into_iter()
        .map(|t| {
            let since = state
                .started_at
                .and_then(|s| t.dispatched_at.duration_since(s).try_into().ok())
                .unwrap_or_default();
            let (mark, style, outcome) = match &t.state {
                TaskState::InFlight => ("▶", Style::new().fg(Color::Cyan), String::new()),
                TaskState::Completed => ("✓", Style::new().fg(Color::Green), String::new()),
                TaskState::Failed { error } => {
                    ("✗", Style::new().fg(Color::Red), format!(": {error}"))
                }
                TaskState::Invalid { findings } => (
                    "!",
                    Style::new().fg(Color::Yellow),
                    format!(": invalid ({} findings)", findings.len()),
                ),
            };
            let mark = Span::styled(format!("{mark} "), style);
            if width < 60 {
                // Narrow: what and who, no clock.
                let body = format!("{}{outcome} · {}", task_label(t), t.role);
                return Line::from(vec![mark, Span::raw(fit(&body, width.saturating_sub(2)))]);
            }
            let head = format!("{} ", super::format::elapsed(since));
            let body = format!("{} {}{outcome}", pad(&t.role, role_w), task_label(t));
            let room = width.saturating_sub(head.chars().count() + 2);
            Line::from(vec![
                Span::styled(head, dim()),
                mark,
                Span::raw(fit(&body, room)),
            ])
        })
        .collect();
    Section::new(title("Tasks".into()), lines, 0, Keep::Tail)
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::{Event, JournalRecord};

    #[test]
    fn a_stage_list_without_a_plan_shows_what_the_journal_knows() {
        let at = jiff::Timestamp::UNIX_EPOCH;
        let rec = |seq, event| JournalRecord { seq, at, event };
        let s = SessionState::fold(&[
            rec(
                1,
                Event::StageEntered {
                    stage: Stage::Intake,
                },
            ),
            rec(
                2,
                Event::StageCompleted {
                    stage: Stage::Intake,
                },
            ),
            rec(
                3,
                Event::StageEntered {
                    stage: Stage::Options,
                },
            ),
        ]);
        assert_eq!(planned(&s, &[]), vec![Stage::Intake, Stage::Options]);
        assert_eq!(planned(&s, &[Stage::Proposal]), vec![Stage::Proposal]);
    }

    #[test]
    fn an_agent_line_shows_its_model_and_limits_when_there_is_room() {
        use protocol::profile::{ModelProfile, RoleProfile, Source, Sourced, StructuredMode};
        let at = jiff::Timestamp::UNIX_EPOCH;
        let profile = ModelProfile {
            model: "gpt-4o".into(),
            context_window: Sourced::new(128_000, Source::BuiltIn),
            max_output_tokens: Sourced::new(16_000, Source::Endpoint),
            structured_output: Sourced::new(StructuredMode::JsonSchema, Source::BuiltIn),
            tools: Sourced::new(true, Source::BuiltIn),
            reasoning_effort: Sourced::new(None, Source::Default),
            prices: Sourced::new(None, Source::Default),
            local: false,
        };
        let s = SessionState::fold(&[JournalRecord {
            seq: 1,
            at,
            event: Event::ModelProfiles {
                profiles: vec![RoleProfile {
                    role: "architect".into(),
                    profile,
                }],
            },
        }]);
        let live = Live {
            elapsed: std::time::Duration::ZERO,
            errors: Vec::new(),
            waiting_for: None,
            agents: vec![crate::dashboard::AgentLive {
                role: "architect".into(),
                state: AgentState::Idle,
                tokens_per_sec: None,
                task: None,
            }],
            budget_usd: None,
            max_total_tokens: None,
            specs_dir: String::new(),
            report: String::new(),
        };
        let text = |width| {
            agents(&s, &live, width).lines[0]
                .spans
                .iter()
                .map(|s| s.content.to_string())
                .collect::<String>()
        };
        assert!(text(80).contains("gpt-4o 128k/16.0k"), "{}", text(80));
        assert!(!text(24).contains("gpt-4o"), "{}", text(24));
    }

    #[test]
    fn stage_notes_shorten_to_fit() {
        let doing = vec!["rereview".to_string()];
        assert_eq!(stage_note(2, true, &doing, 40), "round 2 · rereview");
        assert_eq!(stage_note(2, true, &doing, 14), "r2 rereview");
        assert_eq!(stage_note(0, true, &doing, 14), "rereview");
        assert_eq!(stage_note(3, true, &[], 14), "round 3");
        assert_eq!(stage_note(3, false, &[], 14), "");
    }
}
