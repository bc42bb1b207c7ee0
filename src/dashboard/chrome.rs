//! The frame around the sections: the header (status, elapsed time, session), the banner that
//! announces what needs the user (a human gate above all), and the hint line of commands.

use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};

use super::Live;
use super::format::{elapsed, fit, wrap};
use crate::journal::SessionState;
use protocol::{SessionStatus, Stage};

fn dim() -> Style {
    Style::new().fg(Color::DarkGray)
}

/// The style of the gate banner: black on yellow, bold, the whole width.
pub(super) fn gate_style() -> Style {
    Style::new()
        .fg(Color::Black)
        .bg(Color::Yellow)
        .add_modifier(Modifier::BOLD)
}

/// The session's status word and its style.
fn status_label(state: &SessionState) -> (&'static str, Style) {
    if state.gate_waiting.is_some() && state.status == Some(SessionStatus::Running) {
        return ("WAITING FOR YOU", gate_style());
    }
    let bold = Modifier::BOLD;
    match state.status {
        None => ("STARTING", dim().add_modifier(bold)),
        Some(SessionStatus::Running) => {
            ("RUNNING", Style::new().fg(Color::Green).add_modifier(bold))
        }
        Some(SessionStatus::Paused) => {
            ("PAUSED", Style::new().fg(Color::Yellow).add_modifier(bold))
        }
        Some(SessionStatus::Stopped) => {
            ("STOPPED", Style::new().fg(Color::Yellow).add_modifier(bold))
        }
        Some(SessionStatus::Completed) => (
            "COMPLETED",
            Style::new().fg(Color::Green).add_modifier(bold),
        ),
        Some(SessionStatus::Failed) => ("FAILED", Style::new().fg(Color::Red).add_modifier(bold)),
    }
}

/// The first row: status and elapsed time first (they survive the narrowest pane), then the
/// project, the session id and what the supervisor waits for.
pub(super) fn header(state: &SessionState, live: &Live) -> Line<'static> {
    let (label, style) = status_label(state);
    let mut spans = vec![
        Span::styled(format!(" {label} "), style),
        Span::raw(format!(" {} ", elapsed(live.elapsed))),
    ];
    let mut rest = Vec::new();
    if !state.inputs.project_name.is_empty() {
        rest.push(state.inputs.project_name.clone());
    }
    if !state.session_id.is_empty() {
        rest.push(format!("session {}", state.session_id));
    }
    if !rest.is_empty() {
        spans.push(Span::styled(format!("· {}", rest.join(" · ")), dim()));
    }
    if let Some(w) = &live.waiting_for
        && state.status == Some(SessionStatus::Running)
    {
        spans.push(Span::raw(format!(" · waiting for {w}")));
    }
    Line::from(spans)
}

/// The goal, shown under the header on tall panes; an update session says what it revises.
pub(super) fn goal(state: &SessionState, width: usize) -> Option<Line<'static>> {
    let g = state.inputs.goal.as_deref()?;
    let text = match &state.inputs.update {
        Some(u) => format!(" update of {}: {g}", u.documents.join(", ")),
        None => format!(" goal: {g}"),
    };
    Some(Line::styled(fit(&text, width), dim()))
}

/// What the user must know first, as full-width lines with one style, at most `max` lines.
/// Empty while the session runs without needing anyone.
pub(super) fn banner(
    state: &SessionState,
    live: &Live,
    width: usize,
    max: usize,
) -> (Vec<String>, Style) {
    let w = width.saturating_sub(2).max(1);
    let with_text = |head: &str, text: &str| -> Vec<String> {
        let mut lines = vec![format!(" {head}")];
        lines.extend(wrap(text, w).into_iter().map(|l| format!(" {l}")));
        lines
    };
    let (mut lines, style) = match (state.status, state.gate_waiting) {
        (Some(SessionStatus::Running), Some(stage)) => (gate_lines(stage), gate_style()),
        (Some(SessionStatus::Paused), _) => (
            with_text(
                "PAUSED: `agentmux resume` continues where it stopped",
                state
                    .pause_reason
                    .as_deref()
                    .unwrap_or("no reason recorded"),
            ),
            Style::new()
                .fg(Color::Black)
                .bg(Color::Magenta)
                .add_modifier(Modifier::BOLD),
        ),
        (Some(SessionStatus::Stopped), _) => (
            vec![" STOPPED: `agentmux resume` continues where it stopped".to_string()],
            Style::new()
                .fg(Color::Black)
                .bg(Color::Magenta)
                .add_modifier(Modifier::BOLD),
        ),
        (Some(SessionStatus::Failed), _) => (
            wrap(
                &format!(
                    "FAILED: {}",
                    state.last_error.as_deref().unwrap_or("no reason recorded")
                ),
                w,
            )
            .into_iter()
            .map(|l| format!(" {l}"))
            .collect(),
            Style::new()
                .fg(Color::White)
                .bg(Color::Red)
                .add_modifier(Modifier::BOLD),
        ),
        (Some(SessionStatus::Completed), _) => {
            let n = state.deliverables.len();
            let where_ = if live.specs_dir.is_empty() {
                String::new()
            } else {
                format!(", specs in {}", live.specs_dir)
            };
            let mut lines = vec![format!(" COMPLETED: {n} deliverables written{where_}")];
            if !live.report.is_empty() {
                lines.push(format!(" report: {}", live.report));
            }
            (
                lines,
                Style::new()
                    .fg(Color::Black)
                    .bg(Color::Green)
                    .add_modifier(Modifier::BOLD),
            )
        }
        (Some(SessionStatus::Running), None) | (None, _) => (Vec::new(), Style::new()),
    };
    lines.truncate(max);
    (lines, style)
}

/// The gate banner: what waits, and the exact commands that answer it.
fn gate_lines(stage: Stage) -> Vec<String> {
    let what = match stage {
        Stage::Options => "the options are ready: choose one to take forward",
        Stage::Proposal => "the design proposal is ready for your approval",
        _ => "this stage waits for your approval",
    };
    let approve = match stage {
        Stage::Options => "agentmux approve --option X   (no --option: the recommended one)",
        _ => "agentmux approve",
    };
    vec![
        format!(" >>> YOUR TURN at {stage}: {what}"),
        format!("     {approve}"),
        "     agentmux feedback \"...\"   first, to send the architect another item".to_string(),
    ]
}

/// The commands that make sense now, as a single line that fits `width` when it can.
pub(super) fn hint(state: &SessionState, width: usize) -> Line<'static> {
    let key = Style::new().add_modifier(Modifier::BOLD);
    let gate = state.gate_waiting.is_some() && state.status == Some(SessionStatus::Running);
    let long = width >= 110;
    let items: Vec<(&str, Style)> = match state.status {
        Some(SessionStatus::Paused) | Some(SessionStatus::Stopped) => vec![
            ("agentmux resume", key),
            ("agentmux status", key),
            ("agentmux logs ROLE", key),
        ],
        Some(SessionStatus::Completed) => vec![
            ("agentmux validate", key),
            ("agentmux status", key),
            ("agentmux logs ROLE", key),
        ],
        Some(SessionStatus::Failed) => vec![
            ("agentmux logs ROLE", key),
            ("agentmux status", key),
            ("agentmux start --new", key),
        ],
        Some(SessionStatus::Running) | None => {
            let approve = if gate { gate_style() } else { key };
            if long {
                vec![
                    ("agentmux feedback \"text\" [--category C]", key),
                    ("agentmux approve [--option X]", approve),
                    ("agentmux pause", key),
                    ("agentmux status", key),
                    ("agentmux logs ROLE", key),
                ]
            } else {
                vec![
                    ("agentmux feedback \"…\"", key),
                    ("approve [--option X]", approve),
                    ("pause", key),
                    ("status", key),
                    ("logs", key),
                ]
            }
        }
    };
    let mut spans = vec![Span::raw(" ")];
    for (i, (text, style)) in items.into_iter().enumerate() {
        if i > 0 {
            spans.push(Span::styled(" · ", dim()));
        }
        spans.push(Span::styled(text.to_string(), style));
    }
    Line::from(spans)
}
