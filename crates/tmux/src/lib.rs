//! The terminal multiplexer behind a trait. Depends only on `protocol`.
//!
//! agentmux shows each agent in its own tmux pane, but nothing outside this crate knows it is tmux:
//! the CLI and the supervisor talk to a [`Multiplexer`]. Production uses [`Tmux`] (the
//! `tmux_interface` crate, one tmux command per call); unit tests use the recording fake of the
//! `test-support` crate; integration tests use a real tmux on a private socket.
//!
//! Panes are always addressed by id (`%N`), never by index, so a user's `base-index` or
//! `pane-base-index` cannot break anything. Sessions are addressed by exact name (`=NAME`), so
//! `agentmux-x` never matches a user's `agentmux-x-old`.

// A dependency no code uses is an error (dev-dependencies are checked by the test builds' use).
#![cfg_attr(not(test), deny(unused_crate_dependencies))]

pub mod layout;
mod script;
mod tmux;
mod version;

use std::path::PathBuf;

use protocol::error::Result;

pub use tmux::Tmux;
pub use version::{INSTALL_HINT, MIN_VERSION, parse_version, require_supported};

/// One pane as tmux reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PaneInfo {
    /// The pane id, `%N`: stable for the pane's lifetime, independent of indexes.
    pub id: String,
    /// The pid of the process tmux started in the pane (our process: argv is executed directly).
    pub pid: Option<u32>,
    /// True when the pane's process has exited and the pane is kept (`remain-on-exit on`).
    pub dead: bool,
    /// The title shown in the pane border (the role, `supervisor` or `model`).
    pub title: String,
}

/// What to run in a pane.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PaneSpec {
    /// Shown in the pane border.
    pub title: String,
    /// The program and its arguments, executed directly (no shell), so nothing needs quoting.
    pub argv: Vec<String>,
    /// Extra environment of the pane's process. Secrets go here, never into `argv`.
    pub env: Vec<(String, String)>,
    /// The working directory of the pane's process.
    pub cwd: PathBuf,
    /// Open this pane that long after the one before it (a wait inside the tmux server, between
    /// the splits of one command list). A session's reviewers have nothing to do before the
    /// author's first document: starting them a little later leaves the cores to the processes
    /// the first request waits for.
    pub start_delay: Option<std::time::Duration>,
}

/// The operations agentmux needs from a terminal multiplexer.
pub trait Multiplexer: Send + Sync {
    /// The multiplexer's version; an error with an install hint when it is missing or too old.
    fn check_version(&self) -> Result<(u32, u32)>;
    /// Whether a session of exactly this name exists (false when no server runs).
    fn has_session(&self, name: &str) -> Result<bool>;
    /// Creates a detached session of `size` (columns, rows) whose first pane runs `first`. With
    /// tmux, `first.env` also becomes the session's environment (later panes inherit it).
    fn new_session(&self, name: &str, first: &PaneSpec, size: (u16, u16)) -> Result<PaneInfo>;
    /// Adds a pane running `spec` to the session's window, after the pane `after` (an id), or
    /// after its newest pane when None (one more question to the multiplexer).
    fn add_pane(&self, session: &str, after: Option<&str>, spec: &PaneSpec) -> Result<PaneInfo>;
    /// Kills whatever runs in the pane (dead or alive) and starts `spec` in it.
    fn respawn_pane(&self, pane_id: &str, spec: &PaneSpec) -> Result<()>;
    /// Kills the session and every process in its panes. No error when it does not exist.
    fn kill_session(&self, name: &str) -> Result<()>;
    /// The session's panes in layout order.
    fn list_panes(&self, session: &str) -> Result<Vec<PaneInfo>>;
    /// The visible text of a pane.
    fn capture(&self, pane_id: &str) -> Result<String>;
    /// Shows the session to the user: attach outside tmux; inside tmux switch the client (or open
    /// a window, per config). Blocks while attached.
    fn attach(&self, session: &str) -> Result<()>;
    /// Shows a short message in the status line of the clients attached to the session.
    fn display_message(&self, session: &str, msg: &str) -> Result<()>;
    /// Arranges the session's panes: `tiled`, `main-vertical`, ... or a tmux layout string.
    fn select_layout(&self, session: &str, layout: &str) -> Result<()>;

    /// Creates a detached session of `size` running `panes` in this order (the first gets the
    /// session's first pane and stays the active one), arranged by `layout`, and returns the
    /// panes in the same order. On failure nothing it made is left: a session it created is
    /// killed, an existing session of that name is untouched. This default asks one pane at a
    /// time; [`Tmux`] does it all in one tmux command list.
    fn open_window(
        &self,
        name: &str,
        panes: &[PaneSpec],
        size: (u16, u16),
        layout: &str,
    ) -> Result<Vec<PaneInfo>> {
        let (first, rest) = first_and_rest(name, panes)?;
        let info = self.new_session(name, first, size)?;
        let mut out = vec![info];
        let filled = (|| {
            // The layout first: it fails fast on a bad `tmux.layout`, and each split re-applies it.
            self.select_layout(name, layout)?;
            for spec in rest {
                if let Some(d) = spec.start_delay {
                    std::thread::sleep(d);
                }
                let last = out.last().map(|p: &PaneInfo| p.id.clone());
                let info = self.add_pane(name, last.as_deref(), spec)?;
                out.push(info);
            }
            // Again at the end: a layout string (not a preset) is not re-applied by the splits.
            self.select_layout(name, layout)
        })();
        if let Err(e) = filled {
            let _ = self.kill_session(name);
            return Err(e);
        }
        Ok(out)
    }
}

/// The first pane of a window and the others; an error naming the session when there is none.
fn first_and_rest<'a>(name: &str, panes: &'a [PaneSpec]) -> Result<(&'a PaneSpec, &'a [PaneSpec])> {
    panes.split_first().ok_or_else(|| {
        protocol::error::Error::Tmux(format!("tmux session `{name}`: no panes to open"))
    })
}
