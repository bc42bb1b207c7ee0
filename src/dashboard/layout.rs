//! Stacking titled sections in a column: who gets how many rows when the pane is too small.
//!
//! Each section asks for its core rows first (a stage timeline must show every stage before a
//! list of deliverables gets a second row), then the spare rows go to sections that want more,
//! top to bottom. The arithmetic is done by hand rather than by the constraint solver so that it
//! is obvious, deterministic and safe on a 10x3 pane.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

/// Which end of a section's lines stays visible when they do not fit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Keep {
    /// The first lines, with a last line saying how many more there are.
    Head,
    /// The newest (last) lines, e.g. errors and messages.
    Tail,
}

/// A titled block of lines.
pub(super) struct Section {
    pub title: Line<'static>,
    pub lines: Vec<Line<'static>>,
    /// How many lines the section needs before any other section gets extra rows.
    pub core: usize,
    pub keep: Keep,
}

impl Section {
    pub(super) fn new(
        title: Line<'static>,
        lines: Vec<Line<'static>>,
        core: usize,
        keep: Keep,
    ) -> Self {
        let core = core.min(lines.len());
        Section {
            title,
            lines,
            core,
            keep,
        }
    }

    fn want(&self) -> usize {
        1 + self.lines.len()
    }
}

/// Rows per section (title row included) for a column of `height` rows. The last section also
/// gets whatever is left, so the column is always filled.
pub(super) fn allocate(sections: &[Section], height: usize) -> Vec<usize> {
    let mut rows = vec![0usize; sections.len()];
    let mut left = height;
    for (r, s) in rows.iter_mut().zip(sections) {
        let take = (1 + s.core).min(left);
        *r = take;
        left -= take;
    }
    for (r, s) in rows.iter_mut().zip(sections) {
        let more = s.want().saturating_sub(*r).min(left);
        *r += more;
        left -= more;
    }
    if let Some(last) = rows.last_mut() {
        *last += left;
    }
    rows
}

/// Renders sections stacked top to bottom in `area`.
pub(super) fn render_column(frame: &mut Frame, area: Rect, sections: Vec<Section>) {
    let rows = allocate(&sections, area.height as usize);
    let mut y = area.y;
    for (s, h) in sections.into_iter().zip(rows) {
        let h = h as u16;
        if h == 0 {
            continue;
        }
        render_section(frame, Rect::new(area.x, y, area.width, h), s);
        y = y.saturating_add(h);
    }
}

/// The style of section rules and titles.
fn rule_style() -> Style {
    Style::new().fg(Color::DarkGray)
}

fn render_section(frame: &mut Frame, area: Rect, s: Section) {
    let block = Block::new()
        .borders(Borders::TOP)
        .border_style(rule_style())
        .title(
            s.title
                .patch_style(Style::new().add_modifier(Modifier::BOLD)),
        );
    let rows = area.height.saturating_sub(1) as usize;
    let lines = visible(s.lines, rows, s.keep);
    frame.render_widget(Paragraph::new(lines).block(block), area);
}

/// The lines that fit in `rows`, with a marker for what was left out.
pub(super) fn visible(
    mut lines: Vec<Line<'static>>,
    rows: usize,
    keep: Keep,
) -> Vec<Line<'static>> {
    if lines.len() <= rows {
        return lines;
    }
    if rows == 0 {
        return Vec::new();
    }
    let dim = Style::new().fg(Color::DarkGray);
    match keep {
        Keep::Head => {
            let hidden = lines.len() - (rows - 1);
            lines.truncate(rows - 1);
            lines.push(Line::from(Span::styled(format!("… {hidden} more"), dim)));
            lines
        }
        Keep::Tail => {
            let hidden = lines.len() - (rows - 1);
            let mut out = vec![Line::from(Span::styled(format!("… {hidden} earlier"), dim))];
            out.extend(lines.split_off(lines.len() - (rows - 1)));
            out
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn section(n: usize, core: usize) -> Section {
        let lines = (0..n).map(|i| Line::from(i.to_string())).collect();
        Section::new(Line::from("t"), lines, core, Keep::Head)
    }

    #[test]
    fn core_rows_come_first_then_spare_rows_top_down() {
        let s = [section(8, 8), section(6, 2), section(10, 1)];
        // Plenty of room: everyone gets all, the last takes the rest.
        assert_eq!(allocate(&s, 40), vec![9, 7, 24]);
        // Tight: cores (9 + 3 + 2 = 14), then 2 spare rows to the second section.
        assert_eq!(allocate(&s, 16), vec![9, 5, 2]);
        // Tighter than the cores: top sections win.
        assert_eq!(allocate(&s, 10), vec![9, 1, 0]);
        assert_eq!(allocate(&s, 0), vec![0, 0, 0]);
        assert!(allocate(&[], 5).is_empty());
    }

    #[test]
    fn visible_marks_what_is_left_out() {
        let lines: Vec<Line> = (0..5).map(|i| Line::from(i.to_string())).collect();
        let text = |v: Vec<Line>| v.iter().map(|l| l.to_string()).collect::<Vec<_>>();
        assert_eq!(
            text(visible(lines.clone(), 3, Keep::Head)),
            ["0", "1", "… 3 more"]
        );
        assert_eq!(
            text(visible(lines.clone(), 3, Keep::Tail)),
            ["… 3 earlier", "3", "4"]
        );
        assert_eq!(text(visible(lines.clone(), 5, Keep::Tail)).len(), 5);
        assert!(visible(lines, 0, Keep::Head).is_empty());
    }
}
