//! The supervisor pane's view: the live dashboard when stdout is a terminal, else plain lines.

use std::time::Instant;

use crate::dashboard::{self, AgentWatch, Dashboard};
use crate::journal::SessionState;
use crate::paths::SessionPaths;
use crate::supervisor::run::{Live, View};
use protocol::Stage;

/// Progress as plain lines (headless runs, or a pane that is not a terminal).
pub(crate) struct LineView {
    last: String,
    to_stderr: bool,
}

impl LineView {
    pub(crate) fn new(to_stderr: bool) -> Self {
        Self {
            last: String::new(),
            to_stderr,
        }
    }
    fn out(&self, s: &str) {
        if self.to_stderr {
            eprintln!("{s}");
        } else {
            println!("{s}");
        }
    }
}

impl View for LineView {
    fn render(&mut self, state: &SessionState, live: &Live) {
        let inflight: Vec<String> = state.in_flight().iter().map(|t| t.id.clone()).collect();
        let line = format!(
            "[{}] stage {} | in flight: {} | items {} | tokens {}{}",
            state.status().as_str(),
            state.stage.map(|s| s.as_str()).unwrap_or("-"),
            if inflight.is_empty() {
                "-".to_string()
            } else {
                inflight.join(", ")
            },
            state.items.len(),
            state.totals.tokens(),
            live.waiting_for
                .as_ref()
                .map(|w| format!(" | waiting for {w}"))
                .unwrap_or_default()
        );
        if line != self.last {
            self.out(&line);
            self.last = line;
        }
    }
    fn message(&mut self, line: &str) {
        self.out(&format!("agentmux: {line}"));
    }
}

/// Makes a view; None when it cannot be had (no terminal).
pub(crate) type BuildView = Box<dyn FnOnce() -> Option<Box<dyn View>> + Send>;

/// A view built when it is first used: the supervisor's first requests go out before the
/// dashboard takes over the terminal, so clearing and measuring the terminal does not delay them.
pub(crate) struct LazyView {
    build: Option<BuildView>,
    view: Box<dyn View>,
}

impl LazyView {
    /// `build` makes the view; when it gives None (no terminal), `fallback` is used.
    pub(crate) fn new(build: BuildView, fallback: Box<dyn View>) -> Self {
        Self {
            build: Some(build),
            view: fallback,
        }
    }

    fn get(&mut self) -> &mut dyn View {
        if let Some(build) = self.build.take()
            && let Some(v) = build()
        {
            self.view = v;
        }
        self.view.as_mut()
    }
}

impl View for LazyView {
    fn render(&mut self, state: &SessionState, live: &Live) {
        self.get().render(state, live);
    }
    fn message(&mut self, line: &str) {
        self.get().message(line);
    }
}

/// The ratatui dashboard of the supervisor pane.
pub(crate) struct DashboardView {
    dash: Dashboard,
    watch: AgentWatch,
    paths: SessionPaths,
    roles: Vec<String>,
    stages: Vec<Stage>,
    budget_usd: Option<f64>,
    max_total_tokens: Option<u64>,
    specs_dir: String,
    report: String,
    started: Instant,
}

impl DashboardView {
    /// The dashboard, or None when stdout is not a terminal.
    pub(crate) fn new(
        paths: SessionPaths,
        roles: Vec<String>,
        stages: Vec<Stage>,
        cfg: &crate::config::Config,
        specs_dir: String,
        report: String,
    ) -> Option<Self> {
        let dash = Dashboard::new().ok()?;
        Some(Self {
            dash,
            watch: AgentWatch::new(),
            paths,
            roles,
            stages,
            budget_usd: cfg.llm.budget_usd,
            max_total_tokens: cfg.llm.max_total_tokens,
            specs_dir,
            report,
            started: Instant::now(),
        })
    }
}

impl View for DashboardView {
    fn render(&mut self, state: &SessionState, live: &Live) {
        let agents = self.watch.sample(&self.paths, state, &self.roles);
        let dl = dashboard::Live {
            elapsed: live.started.unwrap_or(self.started).elapsed(),
            errors: live.errors.iter().cloned().collect(),
            waiting_for: live.waiting_for.clone(),
            agents,
            budget_usd: self.budget_usd,
            max_total_tokens: self.max_total_tokens,
            specs_dir: self.specs_dir.clone(),
            report: self.report.clone(),
        };
        if let Err(e) = self.dash.render(state, &dl, &self.stages) {
            tracing::warn!("dashboard: {e}");
        }
    }
    fn message(&mut self, line: &str) {
        self.dash.message(line);
    }
}
