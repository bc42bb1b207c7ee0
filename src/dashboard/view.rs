//! Composes a frame: header, banner, two columns of sections, hint line.
//!
//! Rows are handed out by hand, most important first: the header, then the banner (a waiting
//! gate shows even on a 10x3 pane), then the hint, then the body. From 60 columns the body has
//! two columns (timeline, feedback and deliverables on the left; agents, cost and errors on the
//! right); narrower panes stack the sections in one column.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::widgets::Paragraph;

use super::Live;
use super::chrome;
use super::layout::{Section, render_column};
use super::sections;
use crate::journal::SessionState;
use protocol::Stage;

/// Draws the dashboard, with the supervisor's own messages in the errors section.
pub(super) fn render(
    frame: &mut Frame,
    state: &SessionState,
    live: &Live,
    stages: &[Stage],
    messages: &[String],
) {
    let area = frame.area();
    if area.width == 0 || area.height == 0 {
        return;
    }
    let width = area.width as usize;
    let mut y = area.y;
    let mut rows_left = area.height;

    // Header.
    frame.render_widget(
        Paragraph::new(chrome::header(state, live)),
        Rect::new(area.x, y, area.width, 1),
    );
    y += 1;
    rows_left -= 1;

    // Banner: up to 4 rows, but never more than half of a small pane unless it is a gate.
    let cap = if state.gate_waiting.is_some() {
        rows_left as usize
    } else {
        (area.height as usize / 2).max(1)
    };
    let (banner, style) = chrome::banner(state, live, width, cap.min(4));
    let banner_rows = (banner.len() as u16).min(rows_left);
    if banner_rows > 0 {
        let lines: Vec<_> = banner.into_iter().map(ratatui::text::Line::from).collect();
        frame.render_widget(
            Paragraph::new(lines).style(style),
            Rect::new(area.x, y, area.width, banner_rows),
        );
        y += banner_rows;
        rows_left -= banner_rows;
    }

    // Hint line at the bottom.
    if rows_left >= 2 {
        frame.render_widget(
            Paragraph::new(chrome::hint(state, width)),
            Rect::new(area.x, area.bottom() - 1, area.width, 1),
        );
        rows_left -= 1;
    }

    // Goal on tall panes.
    if area.height >= 40
        && rows_left > 0
        && let Some(goal) = chrome::goal(state, width)
    {
        frame.render_widget(Paragraph::new(goal), Rect::new(area.x, y, area.width, 1));
        y += 1;
        rows_left -= 1;
    }

    if rows_left == 0 {
        return;
    }
    body(
        frame,
        Rect::new(area.x, y, area.width, rows_left),
        state,
        live,
        stages,
        messages,
    );
}

/// The left column's width: room for the feedback table on 80 columns, two fifths when wide.
fn left_width(width: u16) -> u16 {
    if width >= 120 {
        (u32::from(width) * 2 / 5).min(80) as u16
    } else {
        36
    }
}

fn body(
    frame: &mut Frame,
    area: Rect,
    state: &SessionState,
    live: &Live,
    stages: &[Stage],
    messages: &[String],
) {
    if area.width < 60 {
        let w = area.width as usize;
        let column: Vec<Section> = vec![
            sections::stages(state, stages, w),
            sections::agents(state, live, w),
            sections::feedback(state, w),
            sections::usage(state, live, w),
            sections::deliverables(state, w),
            sections::errors(state, live, messages, w),
            sections::tasks(state, w),
        ];
        render_column(frame, area, column);
        return;
    }
    let lw = left_width(area.width);
    let left = Rect::new(area.x, area.y, lw, area.height);
    let right = Rect::new(area.x + lw + 1, area.y, area.width - lw - 1, area.height);
    let (lw, rw) = (left.width as usize, right.width as usize);
    render_column(
        frame,
        left,
        vec![
            sections::stages(state, stages, lw),
            sections::feedback(state, lw),
            sections::deliverables(state, lw),
        ],
    );
    render_column(
        frame,
        right,
        vec![
            sections::agents(state, live, rw),
            sections::usage(state, live, rw),
            sections::errors(state, live, messages, rw),
            sections::tasks(state, rw),
        ],
    );
}
