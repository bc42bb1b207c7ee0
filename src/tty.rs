//! The size of the terminal agentmux runs in (for the session's first layout and the agents'
//! line width).

/// The caller's terminal size, else [`tmux::layout::DEFAULT_SIZE`]; the session is created at this size so the
/// layout is right before anyone attaches.
pub(crate) fn terminal_size() -> (u16, u16) {
    match tty_size() {
        Some((w, h)) if w >= 20 && h >= 8 => (w, h),
        _ => tmux::layout::DEFAULT_SIZE,
    }
}

/// The size of the process's terminal, or None without one. Asks only when a standard stream is
/// a terminal: without one, crossterm falls back to running `tput cols` and `tput lines`, two
/// processes per call (in `start --detach` from a script, and in a headless agent at every
/// width check).
pub(crate) fn tty_size() -> Option<(u16, u16)> {
    use std::io::IsTerminal;
    let any_tty = std::io::stdout().is_terminal()
        || std::io::stderr().is_terminal()
        || std::io::stdin().is_terminal();
    if !any_tty {
        return None;
    }
    ratatui::crossterm::terminal::size().ok()
}
