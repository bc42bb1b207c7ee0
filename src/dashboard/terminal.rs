//! The supervisor pane's terminal: a full-frame dashboard redrawn in place on the main screen.
//!
//! Why not the alternate screen: tmux keeps no scrollback for it, and everything drawn there
//! vanishes when the supervisor exits, taking the final state with it. Why not an inline
//! viewport with messages scrolling above it: ratatui re-anchors an inline viewport to the cursor
//! on resize, which leaves torn copies of the frame in the pane's history when the window changes
//! size. So: the screen is cleared once (the shell's previous output goes to tmux's history, where
//! it belongs), then every redraw writes only the cells that changed, with absolute cursor moves;
//! nothing scrolls, so a session of hours adds nothing to the scrollback and a tick that changes
//! one clock costs the bytes of that clock. After a resize the whole frame is repainted once, erasing row by row rather than
//! clearing the screen, so tmux does not copy the old frame into the history (see `backend`).
//! Supervisor messages appear in the frame's errors-and-messages section (the newest that fit)
//! and go to the log.
//!
//! Raw mode is not enabled: the dashboard reads no keys, and Ctrl-C keeps reaching the
//! supervisor as SIGINT, which the supervisor handles.

use std::collections::VecDeque;
use std::io::IsTerminal;

use ratatui::Terminal;
use ratatui::crossterm::{cursor::MoveTo, execute, terminal::Clear, terminal::ClearType};

use super::backend::PaneBackend;
use super::{Live, view};
use crate::journal::SessionState;
use protocol::Stage;

/// How many supervisor messages are kept for display.
const MAX_MESSAGES: usize = 50;

/// The live dashboard on stdout. Call [`Dashboard::render`] on every state change, on a tick
/// (about once a second, for the elapsed time and agent speeds) and on `SIGWINCH`; a size change
/// is picked up at the next render.
pub(crate) struct Dashboard {
    terminal: Terminal<PaneBackend>,
    messages: VecDeque<String>,
}

impl Dashboard {
    /// Takes over stdout. Fails when stdout is not a terminal (use plain progress lines then).
    pub(crate) fn new() -> std::io::Result<Self> {
        let stdout = std::io::stdout();
        if !stdout.is_terminal() {
            return Err(std::io::Error::other(
                "stdout is not a terminal: the dashboard needs one (headless runs print progress lines instead)",
            ));
        }
        // One real clear: what the shell printed before goes to the history, where it belongs.
        execute!(std::io::stdout(), Clear(ClearType::All), MoveTo(0, 0))?;
        let mut terminal = Terminal::new(PaneBackend::new(stdout))?;
        terminal.hide_cursor()?;
        Ok(Dashboard {
            terminal,
            messages: VecDeque::new(),
        })
    }

    /// Draws the current state; only changed cells are written.
    pub(crate) fn render(
        &mut self,
        state: &SessionState,
        live: &Live,
        stages: &[Stage],
    ) -> std::io::Result<()> {
        let messages = self.messages.make_contiguous();
        self.terminal
            .draw(|frame| view::render(frame, state, live, stages, messages))?;
        // Park the (hidden) cursor top left: when the pane gets shorter, tmux drops the rows
        // below the cursor instead of pushing rows above it into the history.
        self.terminal.set_cursor_position((0, 0))?;
        Ok(())
    }

    /// Adds a line to the dashboard's messages (stamped with the local time) and to the log.
    /// Shown at the next render.
    pub(crate) fn message(&mut self, line: &str) {
        tracing::info!(target: "agentmux::dashboard", "{line}");
        push_message(&mut self.messages, stamped(line));
    }
}

impl Drop for Dashboard {
    /// Gives the terminal back: cursor visible, below the last frame, so what follows (the
    /// supervisor's exit message, a shell prompt) does not overwrite the final state.
    fn drop(&mut self) {
        let _ = self.terminal.show_cursor();
        if let Ok(size) = self.terminal.size() {
            let _ = self
                .terminal
                .set_cursor_position((0, size.height.saturating_sub(1)));
        }
        println!();
    }
}

fn stamped(line: &str) -> String {
    let now = crate::localtime::now();
    format!("{} {line}", now.strftime("%H:%M:%S"))
}

fn push_message(messages: &mut VecDeque<String>, line: String) {
    messages.push_back(line);
    while messages.len() > MAX_MESSAGES {
        messages.pop_front();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_bounded_and_keep_the_newest() {
        let mut m = VecDeque::new();
        for i in 0..(MAX_MESSAGES + 5) {
            push_message(&mut m, i.to_string());
        }
        assert_eq!(m.len(), MAX_MESSAGES);
        assert_eq!(m.front().map(String::as_str), Some("5"));
        assert_eq!(
            m.back().map(String::as_str),
            Some((MAX_MESSAGES + 4).to_string().as_str())
        );
    }

    #[test]
    fn messages_carry_a_clock_time() {
        let s = stamped("agent architect restarted");
        let (time, rest) = s.split_once(' ').unwrap();
        assert_eq!(time.len(), 8, "{s}");
        assert_eq!(time.matches(':').count(), 2, "{s}");
        assert_eq!(rest, "agent architect restarted");
    }
}
