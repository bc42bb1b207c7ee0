//! A crossterm backend that never clears the whole screen at once.
//!
//! tmux (`scroll-on-clear`, on by default) copies the screen into the pane's history when it is
//! cleared as a whole, so every ratatui full clear (on each resize, a pane zoom included) would
//! add a stale copy of the dashboard to the scrollback. Erasing the rows one by one looks the
//! same and leaves the history alone. Everything else is passed through.

use std::io::{self, Stdout, Write};

use ratatui::backend::{Backend, ClearType, CrosstermBackend, WindowSize};
use ratatui::buffer::Cell;
use ratatui::crossterm::{cursor::MoveTo, queue, terminal::Clear};
use ratatui::layout::{Position, Size};

pub(super) struct PaneBackend {
    inner: CrosstermBackend<Stdout>,
}

impl PaneBackend {
    pub(super) fn new(stdout: Stdout) -> Self {
        PaneBackend {
            inner: CrosstermBackend::new(stdout),
        }
    }

    /// Erases every row, then puts the cursor home.
    fn erase_rows(&mut self) -> io::Result<()> {
        let height = self.inner.size()?.height;
        let mut out = io::stdout().lock();
        for y in 0..height {
            queue!(
                out,
                MoveTo(0, y),
                Clear(ratatui::crossterm::terminal::ClearType::CurrentLine)
            )?;
        }
        queue!(out, MoveTo(0, 0))?;
        out.flush()
    }
}

impl Backend for PaneBackend {
    type Error = io::Error;

    fn draw<'a, I>(&mut self, content: I) -> io::Result<()>
    where
        I: Iterator<Item = (u16, u16, &'a Cell)>,
    {
        self.inner.draw(content)
    }
    fn append_lines(&mut self, n: u16) -> io::Result<()> {
        self.inner.append_lines(n)
    }
    fn hide_cursor(&mut self) -> io::Result<()> {
        self.inner.hide_cursor()
    }
    fn show_cursor(&mut self) -> io::Result<()> {
        self.inner.show_cursor()
    }
    fn get_cursor_position(&mut self) -> io::Result<Position> {
        self.inner.get_cursor_position()
    }
    fn set_cursor_position<P: Into<Position>>(&mut self, position: P) -> io::Result<()> {
        self.inner.set_cursor_position(position)
    }
    fn clear(&mut self) -> io::Result<()> {
        Backend::flush(&mut self.inner)?;
        self.erase_rows()
    }
    fn clear_region(&mut self, clear_type: ClearType) -> io::Result<()> {
        match clear_type {
            ClearType::All => {
                Backend::flush(&mut self.inner)?;
                self.erase_rows()
            }
            other => self.inner.clear_region(other),
        }
    }
    fn size(&self) -> io::Result<Size> {
        self.inner.size()
    }
    fn window_size(&mut self) -> io::Result<WindowSize> {
        self.inner.window_size()
    }
    fn flush(&mut self) -> io::Result<()> {
        Backend::flush(&mut self.inner)
    }
}
