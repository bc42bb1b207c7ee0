//! The supervisor pane's live dashboard: what a user glances at to know where the session stands.
//!
//! Rendering is a pure function of the session state (the fold of the journal), a few live facts
//! the supervisor knows but the journal does not ([`Live`]: elapsed time, agent liveness, recent
//! errors, limits) and the planned stages. That keeps every frame reproducible on ratatui's
//! `TestBackend`, so the layout is snapshot-tested at the sizes people use (80x24, 200x50) and at
//! absurd ones (10x3) without a terminal.
//!
//! - [`draw`]: one frame, used by [`Dashboard`] and by tests.
//! - [`agent_live`] / [`AgentWatch`]: an agent's state from its heartbeat file's age, the journal's
//!   in-flight tasks and the growth of its transcript (never the heartbeat's content, whose format
//!   belongs to the agent).
//! - [`Dashboard`]: owns the terminal of the supervisor pane and redraws in place.

mod backend;
mod chrome;
pub(crate) mod format;
mod layout;
mod live;
mod sections;
mod terminal;
mod view;

use std::time::Duration;

use crate::journal::SessionState;
use protocol::Stage;

pub(crate) use live::AgentWatch;
pub(crate) use terminal::Dashboard;

/// Facts the journal does not hold, supplied by the supervisor at each redraw.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Live {
    /// Time since the session (or this run of it) started.
    pub elapsed: Duration,
    /// Recent errors, oldest first (the dashboard shows the newest that fit).
    pub errors: Vec<String>,
    /// What the supervisor is waiting for right now, e.g. `2 reviewers`.
    pub waiting_for: Option<String>,
    /// One entry per role agent, in pane order.
    pub agents: Vec<AgentLive>,
    /// `llm.budget_usd`, when set.
    pub budget_usd: Option<f64>,
    /// `llm.max_total_tokens`, when set.
    pub max_total_tokens: Option<u64>,
    /// Where the deliverables go, as shown to the user (e.g. `.agentmux/specs`).
    pub specs_dir: String,
    /// Where the HTML report is written when the session completes (empty: not offered).
    pub report: String,
}

/// What one agent is doing.
#[derive(Clone, Debug, PartialEq)]
pub struct AgentLive {
    pub role: String,
    pub state: AgentState,
    /// Estimated output speed while streaming.
    pub tokens_per_sec: Option<f64>,
    /// A short description of the task in hand, e.g. `options review r1`.
    pub task: Option<String>,
}

/// An agent's state as the dashboard shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AgentState {
    /// Alive, no task.
    Idle,
    /// Alive with a task, no output yet (or none for a while).
    WaitingForModel,
    /// Alive with a task, output arriving.
    Streaming,
    /// Alive; its last task failed.
    Failed,
    /// No fresh heartbeat: the agent process is not running (or hangs).
    Down,
}

impl AgentState {
    /// The words the dashboard uses.
    pub fn label(self) -> &'static str {
        match self {
            AgentState::Idle => "idle",
            AgentState::WaitingForModel => "waiting for the model",
            AgentState::Streaming => "streaming",
            AgentState::Failed => "failed",
            AgentState::Down => "down",
        }
    }
}

/// Draws one dashboard frame over the whole frame area. Never panics, whatever the size.
pub fn draw(frame: &mut ratatui::Frame, state: &SessionState, live: &Live, stages: &[Stage]) {
    view::render(frame, state, live, stages, &[]);
}
