//! `agentmux start`, `resume`, `run` (headless) and the hidden `supervise`: creating a session,
//! opening its tmux session (or child processes), and running its supervisor.

use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::Ctx;
use super::sessions;
use crate::cli::{ResumeArgs, StartArgs, SuperviseArgs};
use crate::config::{AttachMode, Config};
use crate::journal::Journal;
use crate::journal::lock::SessionLock;
use crate::paths::{ProjectPaths, SessionPaths};
use crate::runtime::SessionRuntime;
use crate::supervisor::host::ChildAgents;
use crate::supervisor::pane::PaneCommand;
use crate::supervisor::run::Supervisor;
use crate::supervisor::session::{INPUT_DIGEST, INPUT_PRD};
use osutil::write_atomic;
use protocol::error::{Error, Result, exit};
use protocol::{Event, SessionInputs, SessionStatus};
use tmux::{Multiplexer, PaneSpec, Tmux};

/// A new session id: `YYYYMMDD-HHMMSS-xxxx`.
pub(crate) fn new_session_id() -> String {
    let now = crate::localtime::now();
    let rand = uuid::Uuid::new_v4().simple().to_string();
    format!("{}-{}", now.strftime("%Y%m%d-%H%M%S"), &rand[..4])
}

/// The resolved config as JSON with secrets masked (for the journal and `config show`).
pub(crate) fn masked_config(cfg: &Config) -> serde_json::Value {
    // The config never holds the key itself (only the variable's name), so nothing to mask
    // beyond URLs with credentials in them.
    let mut v = serde_json::to_value(cfg).unwrap_or_default();
    if let Some(url) = v.pointer_mut("/llm/base_url")
        && let Some(s) = url.as_str()
        && let Some((scheme, rest)) = s.split_once("://")
        && let Some((_, host)) = rest.split_once('@')
    {
        *url = serde_json::Value::String(format!("{scheme}://***@{host}"));
    }
    v
}

/// A session about to be created: its inputs checked, nothing written yet.
struct NewSession {
    id: String,
    prd: Option<crate::intake::Prd>,
    inputs: SessionInputs,
    /// The specs an update session revises (see `supervisor::update`).
    baseline: Option<crate::supervisor::update::Baseline>,
}

/// Checks what a new session needs (no unfinished session in the way, something to design, a
/// readable PRD) and picks its id; writes nothing.
fn prepare_session(
    ctx: &Ctx,
    cfg: &Config,
    project: &ProjectPaths,
    args: &StartArgs,
) -> Result<NewSession> {
    if !args.new
        && let Some(s) = sessions::latest_unfinished(project)?
    {
        return Err(Error::Usage(format!(
            "session {} is {} (stage {}); continue it with `agentmux resume` or start another with `agentmux start --new`",
            s.id,
            s.state.status().as_str(),
            s.state.stage.map(|s| s.as_str()).unwrap_or("-")
        )));
    }
    let baseline = crate::supervisor::update::detect(cfg, project, args)?;
    let goal = args
        .goal
        .clone()
        .filter(|g| !g.trim().is_empty())
        .or_else(|| baseline.as_ref().and_then(|b| b.derived_goal.clone()));
    let prd_path: Option<PathBuf> = match &args.prd {
        Some(p) => Some(if p.is_absolute() {
            p.clone()
        } else {
            ctx.project_dir.join(p)
        }),
        None => Some(project.specs.join("project.md")).filter(|p| p.is_file()),
    };
    if goal.is_none() && prd_path.is_none() {
        return Err(Error::Usage(
            "nothing to design: give --goal \"...\" (and --journey \"...\"), or --prd FILE, or write .agentmux/specs/project.md"
                .into(),
        ));
    }
    let prd = match &prd_path {
        Some(p) => Some(crate::intake::load_prd(p)?),
        None => None,
    };
    if let Some(prd) = &prd
        && let over = cfg.workflow.prd_summary_over(llm::uses_local_model(cfg))
        && crate::intake::needs_summary(prd, over)
    {
        eprintln!(
            "warning: the PRD (~{} tokens) is larger than {over} tokens; the architect will summarise it first",
            prd.tokens
        );
    }
    Ok(NewSession {
        id: new_session_id(),
        prd,
        inputs: SessionInputs {
            goal,
            journey: args.journey.clone().filter(|g| !g.trim().is_empty()),
            prd_path: prd_path.map(|p| p.display().to_string()),
            project_dir: ctx.project_dir.display().to_string(),
            project_name: project.project_name(),
            update: baseline.as_ref().map(|b| b.of.clone()),
        },
        baseline,
    })
}

/// Writes a new session's inputs (the PRD, the project digest) and journals its start. The
/// caller holds the session lock and created the session's directories.
fn write_session(ctx: &Ctx, cfg: &Config, project: &ProjectPaths, new: NewSession) -> Result<()> {
    let paths = project.session(&new.id);
    let store = crate::supervisor::store::Store::new(paths.artifacts());
    if let Some(prd) = &new.prd {
        write_atomic(&store.input_path(INPUT_PRD), prd.text.as_bytes())?;
    }
    let digest = crate::intake::digest(
        &ctx.project_dir,
        cfg.workflow.digest_tokens(llm::uses_local_model(cfg)),
    );
    write_atomic(&store.input_path(INPUT_DIGEST), digest.text.as_bytes())?;
    if let Some(b) = &new.baseline {
        crate::supervisor::update::write(&store, b)?;
    }
    let (mut journal, _, _) = Journal::open(&paths.journal())?;
    journal.append(Event::SessionStarted {
        session_id: new.id,
        inputs: new.inputs,
        config: masked_config(cfg),
    })?;
    Ok(())
}

/// Creates a session: validates inputs, freezes them under the session, journals the start.
fn create_session(
    ctx: &Ctx,
    cfg: &Config,
    project: &ProjectPaths,
    args: &StartArgs,
) -> Result<String> {
    let new = prepare_session(ctx, cfg, project, args)?;
    let id = new.id.clone();
    let paths = project.session(&id);
    paths.create_all().map_err(|e| Error::io(&paths.dir, e))?;
    let _lock = SessionLock::acquire(&paths.lock(), "agentmux start")?;
    write_session(ctx, cfg, project, new)?;
    Ok(id)
}

/// The roles that get an agent (authors, reviewers, enabled helpers).
pub(super) fn agent_roles(project: &ProjectPaths, cfg: &Config) -> Result<Vec<String>> {
    Ok(crate::roles::load_roles(&project.agents, cfg)?.enabled_names())
}

/// How long after the author's pane `start` opens the other agents' panes (see
/// [`PaneSpec::start_delay`]): the supervisor and the author start, and the first request goes
/// out, in about this time on a two-core machine.
const LATER_AGENTS_DELAY: Duration = Duration::from_millis(25);

/// The tmux session a session runs in, ready to open: the server, its name and its panes
/// (supervisor, one per agent, the local model).
struct TmuxPlan {
    mux: Tmux,
    name: String,
    panes: Vec<(String, PaneSpec)>,
    layout: String,
    runtime: SessionRuntime,
}

impl TmuxPlan {
    /// The panes of session `id`, its supervisor's first. Writes `runtime.json` (unsynced: the
    /// pane ids follow in a synced write) for the processes that start in them.
    fn new(cfg: &Config, project: &ProjectPaths, id: &str, command: &PaneCommand) -> Result<Self> {
        let name =
            tmux::layout::session_name(&cfg.tmux.session_prefix, &project.project_name(), id);
        let mut panes: Vec<(String, PaneSpec)> =
            vec![("supervisor".into(), command.supervisor(id))];
        let roles = crate::roles::load_roles(&project.agents, cfg)?;
        let authors = roles.enabled_authors().len();
        let local = llm::uses_local_model(cfg);
        for (i, role) in roles.enabled_names().into_iter().enumerate() {
            let mut spec = command.agent(id, &role);
            // The first request is the author's: the other agents start once the supervisor
            // and the author have had the cores for it. Not with the local model, whose pane
            // comes last and is what the first request waits for.
            if i == authors && !local {
                spec.start_delay = Some(LATER_AGENTS_DELAY);
            }
            panes.push((role, spec));
        }
        let mut local_llm_url = None;
        if local {
            let rt = llm::local::LocalRuntime::locate(&cfg.llm.local)?;
            let port = llm::local::free_port();
            let (bin, args) = rt.server_command(port);
            let mut argv = vec![bin.display().to_string()];
            argv.extend(args);
            panes.push((
                "model".into(),
                command.program("model: llama-server (local)", argv),
            ));
            local_llm_url = Some(format!("http://127.0.0.1:{port}/v1"));
        }
        let runtime = SessionRuntime {
            tmux_socket: cfg.tmux.socket.clone(),
            tmux_session: name.clone(),
            panes: Default::default(),
            local_llm_url,
            supervisor_pid: None,
        };
        runtime.save_unsynced(&project.session(id))?;
        Ok(Self {
            mux: Tmux::from_config(cfg),
            name,
            panes,
            layout: cfg.tmux.layout.clone(),
            runtime,
        })
    }

    /// Opens the window: every pane's process starts.
    fn open(&self) -> Result<std::collections::BTreeMap<String, tmux::PaneInfo>> {
        tracing::debug!("start: opening the tmux session");
        let opened = tmux::layout::open_session(
            &self.mux,
            &self.name,
            &self.panes,
            crate::tty::terminal_size(),
            &self.layout,
        );
        tracing::debug!("start: tmux session open");
        opened
    }

    /// Closes the tmux session just opened and waits for its panes' processes (and theirs) to
    /// end. Killing the tmux session alone was not enough before the session directory is
    /// removed: a pane process outlived it (most likely one still between tmux's fork and its
    /// exec when the pty hung up) and created its log directory again.
    fn close(&self, panes: &std::collections::BTreeMap<String, tmux::PaneInfo>) {
        let roots = panes.values().filter_map(|p| p.pid).collect();
        let pids = osutil::process::with_descendants(&roots);
        let _ = self.mux.kill_session(&self.name);
        let survivors = osutil::process::terminate(&pids, super::stop::GRACE);
        if !survivors.is_empty() {
            tracing::warn!("start: processes still alive after SIGKILL: {survivors:?}");
        }
    }

    /// Records the opened panes in `runtime.json`, says where the session runs and attaches
    /// (unless `detach`).
    fn finish(
        mut self,
        opened: std::collections::BTreeMap<String, tmux::PaneInfo>,
        paths: &SessionPaths,
        id: &str,
        cfg: &Config,
        detach: bool,
    ) -> Result<()> {
        let name = &self.name;
        self.runtime.panes = opened.into_iter().map(|(k, p)| (k, p.id)).collect();
        self.runtime.save(paths)?;
        println!("session {id} is running in tmux session `{name}`");
        if let Some(sock) = &cfg.tmux.socket {
            println!("  attach: agentmux attach   (or: tmux -L {sock} attach -t {name})");
        } else {
            println!("  attach: agentmux attach   (or: tmux attach -t {name})");
        }
        println!("  status: agentmux status   wait: agentmux wait   pause: agentmux pause");
        if !detach && cfg.tmux.attach == AttachMode::Auto {
            self.mux.attach(name)?;
        }
        Ok(())
    }
}

/// Opens the tmux session of an existing session (`resume`). When it still runs with only its
/// supervisor gone (killed, crashed), restarts the supervisor in its pane and leaves the agents
/// and the model running, so no request in flight is interrupted.
fn reopen_tmux(
    ctx: &Ctx,
    cfg: &Config,
    project: &ProjectPaths,
    id: &str,
    detach: bool,
) -> Result<()> {
    let mux = Tmux::from_config(cfg);
    mux.check_version()?;
    let paths = project.session(id);
    let name = tmux::layout::session_name(&cfg.tmux.session_prefix, &project.project_name(), id);
    let command = PaneCommand::current(cfg, &ctx.project_dir, &ctx.sets)?;
    if mux.has_session(&name)? {
        let sup_pane =
            SessionRuntime::load(&paths)?.and_then(|rt| rt.panes.get("supervisor").cloned());
        let listed = mux.list_panes(&name)?;
        if let Some(pane) = sup_pane.filter(|p| listed.iter().any(|l| &l.id == p)) {
            mux.respawn_pane(&pane, &command.supervisor(id))?;
            println!("session {id}: restarted its supervisor in tmux session `{name}`");
            if !detach && cfg.tmux.attach == AttachMode::Auto {
                mux.attach(&name)?;
            }
            return Ok(());
        }
        mux.kill_session(&name)?;
    }
    let plan = TmuxPlan::new(cfg, project, id, &command)?;
    let opened = plan.open()?;
    plan.finish(opened, &paths, id, cfg, detach)
}

/// `agentmux start`. The tmux session opens (its server starting, its panes' processes loading)
/// while the session's files are written: `start` holds the session lock until the journal
/// records the start, and the supervisor waits for that lock before it reads them.
pub(crate) fn start(ctx: &Ctx, args: &StartArgs) -> Result<u8> {
    // `tmux -V` (a process, a few ms) runs while everything else does, up to the panes opening;
    // its verdict is awaited before `start` reports anything.
    let version = std::thread::spawn(|| Tmux::new(None).check_version().map(drop));
    let loaded = ctx.load_config()?;
    let cfg = loaded.config;
    let project = ProjectPaths::new(&ctx.project_dir, &cfg);
    if llm::uses_local_model(&cfg) {
        // Fail early on a broken runtime rather than in the panes.
        llm::local::LocalRuntime::locate(&cfg.llm.local)?;
    }
    // `-vv start`: where the start-up goes, up to the panes.
    tracing::debug!("start: config loaded");
    let new = prepare_session(ctx, &cfg, &project, args)?;
    let id = new.id.clone();
    tracing::debug!("start: inputs checked");
    let paths = project.session(&id);
    // From here on a failure removes what was written (and the tmux session, if it opened), so
    // no half-made session is left for the next `start` to offer to resume.
    let discard = |e: Error| {
        let _ = std::fs::remove_dir_all(&paths.dir);
        e
    };
    paths
        .create_all()
        .map_err(|e| discard(Error::io(&paths.dir, e)))?;
    let lock = SessionLock::acquire(&paths.lock(), "agentmux start").map_err(discard)?;
    let plan = PaneCommand::current(&cfg, &ctx.project_dir, &ctx.sets)
        .and_then(|command| TmuxPlan::new(&cfg, &project, &id, &command))
        .map_err(discard)?;
    let opening = std::thread::spawn(move || {
        let opened = plan.open();
        (plan, opened)
    });
    let written = write_session(ctx, &cfg, &project, new);
    tracing::debug!("start: session files written");
    // Written: the supervisor may go on. Not written: the lock is kept until the panes' processes
    // are gone, so that none of them starts work on a session being removed.
    let lock = written.is_err().then_some(lock);
    let Ok((plan, opened)) = opening.join() else {
        return Err(discard(Error::Other(
            "opening the tmux session panicked".into(),
        )));
    };
    // A tmux too old (or missing) is said before anything else, even if the panes opened.
    let checked = match version.join() {
        Ok(checked) => checked,
        Err(_) => Tmux::from_config(&cfg).check_version().map(drop),
    };
    if let Err(e) = checked.and(written) {
        if let Ok(panes) = &opened {
            plan.close(panes);
        }
        let e = discard(e);
        drop(lock);
        return Err(e);
    }
    // The session is journaled: a tmux failure leaves it to `agentmux resume`.
    plan.finish(opened?, &paths, &id, &cfg, args.detach)?;
    Ok(exit::SUCCESS)
}

pub(crate) fn resume(ctx: &Ctx, args: &ResumeArgs) -> Result<u8> {
    let loaded = ctx.load_config()?;
    let cfg = loaded.config;
    let project = ProjectPaths::new(&ctx.project_dir, &cfg);
    let s = match &args.session {
        Some(id) => sessions::select(&project, Some(id))?,
        None => sessions::latest_unfinished(&project)?.ok_or_else(|| {
            Error::NoSession(
                "no unfinished session to resume; `agentmux list` shows the sessions".into(),
            )
        })?,
    };
    match s.state.status() {
        SessionStatus::Completed => {
            println!("session {} is already completed", s.id);
            return Ok(exit::SUCCESS);
        }
        SessionStatus::Failed => {
            return Err(Error::SessionFailed(format!(
                "session {} failed ({}); start a new one with `agentmux start --new`",
                s.id,
                s.state.last_error.clone().unwrap_or_default()
            )));
        }
        _ => {}
    }
    let paths = project.session(&s.id);
    if SessionLock::is_held_by_a_live_process(&paths.lock(), Duration::from_secs(10)) {
        return Err(Error::Locked(format!(
            "session {} is running (its supervisor holds {}); attach with `agentmux attach`",
            s.id,
            paths.lock().display()
        )));
    }
    // Journal the resumption before the panes open, so `status` and `wait` right after this
    // command already see a running session (the supervisor carries on from here).
    if matches!(
        s.state.status(),
        SessionStatus::Paused | SessionStatus::Stopped
    ) {
        let _lock = SessionLock::acquire(&paths.lock(), "agentmux resume")?;
        let (mut journal, _, _) = Journal::open(&paths.journal())?;
        journal.append(Event::Resumed)?;
    }
    reopen_tmux(ctx, &cfg, &project, &s.id, args.detach)?;
    if args.detach {
        // Return once the new supervisor runs, so an `agentmux wait` right after this does not
        // read the old paused/stopped state and exit before the session continued.
        let before = s.state.status();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while std::time::Instant::now() < deadline {
            let now = crate::journal::load_state(&paths.journal())
                .map(|(st, _)| st.status())
                .unwrap_or(before);
            if SessionLock::is_held(&paths.lock()) || now != before {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }
    Ok(exit::SUCCESS)
}

/// Kills a session's tmux session (if any) after its supervisor stopped.
pub(crate) fn teardown(cfg: &Config, paths: &SessionPaths) {
    if let Ok(Some(rt)) = SessionRuntime::load(paths) {
        let mux = Tmux::new(rt.tmux_socket.clone().or_else(|| cfg.tmux.socket.clone()));
        if mux.has_session(&rt.tmux_session).unwrap_or(false) {
            let _ = mux.kill_session(&rt.tmux_session);
        }
    }
}

/// Cancelled on SIGTERM, SIGINT or SIGHUP.
fn signal_token() -> CancellationToken {
    let token = CancellationToken::new();
    let t = token.clone();
    tokio::spawn(async move {
        use tokio::signal::unix::{SignalKind, signal};
        let (Ok(mut term), Ok(mut int), Ok(mut hup)) = (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
            signal(SignalKind::hangup()),
        ) else {
            return;
        };
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
            _ = hup.recv() => {}
        }
        t.cancel();
    });
    token
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Error::Other(format!("cannot start the async runtime: {e}")))
}

/// Waits for the local model of a session to answer.
async fn wait_local_model(paths: &SessionPaths, cfg: &Config) -> Result<()> {
    if let Ok(Some(rt)) = SessionRuntime::load(paths)
        && let Some(url) = rt.local_llm_url
    {
        llm::local::wait_healthy(
            &url,
            Duration::from_secs(cfg.llm.local.startup_timeout_secs),
        )
        .await?;
    }
    Ok(())
}

/// The hidden `supervise` command: the supervisor pane of a tmux session.
pub(crate) fn supervise(ctx: &Ctx, args: &SuperviseArgs) -> Result<u8> {
    let loaded = ctx.load_config()?;
    let cfg = loaded.config;
    let project = ProjectPaths::new(&ctx.project_dir, &cfg);
    let paths = project.session(&args.session);
    crate::logging::init(Some(&paths.logs().join("supervisor.log")), ctx.verbose);
    // AGENTMUX_LOG=debug: the supervisor's start-up, up to its first turn.
    tracing::debug!("supervisor starting");
    let rt = runtime()?;
    let status = rt.block_on(async {
        wait_local_model(&paths, &cfg).await?;
        // Written by the CLI before it opens tmux; the agents' pane ids come later (TmuxAgents).
        let runtime = SessionRuntime::load(&paths)?.ok_or_else(|| Error::Input {
            path: paths.dir.join("runtime.json"),
            message: "missing: the supervisor runs inside a session opened by `agentmux start` or `resume`".into(),
        })?;
        let mux = Tmux::new(runtime.tmux_socket.clone());
        let host = crate::supervisor::host::TmuxAgents::new(
            std::sync::Arc::new(mux.clone()),
            &paths,
            &runtime,
            PaneCommand::current(&cfg, &ctx.project_dir, &ctx.sets)?,
            &args.session,
        );
        tracing::debug!("supervisor host ready");
        let session_name = runtime.tmux_session.clone();
        let notify_mux = mux.clone();
        let notify: Box<dyn Fn(&str) + Send> = Box::new(move |m: &str| {
            let _ = notify_mux.display_message(&session_name, m);
            // A bell in the supervisor pane: tmux flags the window and rings attached clients.
            use std::io::Write;
            let mut out = std::io::stdout();
            let _ = out.write_all(b"\x07");
            let _ = out.flush();
        });
        let mut sup = Supervisor::open(
            &project,
            &args.session,
            cfg.clone(),
            Box::new(host),
            Box::new(crate::supervisor::view::LineView::new(false)),
            Some(notify),
        )?;
        tracing::debug!("supervisor built");
        let roles = sup.ctx.roles.enabled_names();
        let (dash_paths, stages, dash_cfg) = (paths.clone(), sup.ctx.plan.stages.clone(), cfg.clone());
        let specs = project.specs.display().to_string();
        let report = crate::report::path(&project).display().to_string();
        sup.view = Box::new(crate::supervisor::view::LazyView::new(
            Box::new(move || {
                crate::supervisor::view::DashboardView::new(dash_paths, roles, stages, &dash_cfg, specs, report)
                    .map(|v| Box::new(v) as Box<dyn crate::supervisor::run::View>)
            }),
            Box::new(crate::supervisor::view::LineView::new(false)),
        ));
        tracing::debug!("supervisor ready");
        let cancel = signal_token();
        sup.run(cancel).await
    })?;
    // The session is over for now: close the panes. A finished session keeps its supervisor
    // pane a moment so an attached user sees the outcome.
    if matches!(status, SessionStatus::Completed | SessionStatus::Failed) {
        std::thread::sleep(Duration::from_secs(2));
    }
    teardown(&cfg, &paths);
    Ok(exit::SUCCESS)
}

/// `agentmux run`: the whole session headless, agents as child processes; exit code by outcome.
pub(crate) fn run_headless(ctx: &Ctx, args: &StartArgs) -> Result<u8> {
    let loaded = ctx.load_config()?;
    let cfg = loaded.config;
    let project = ProjectPaths::new(&ctx.project_dir, &cfg);
    let id = create_session(ctx, &cfg, &project, args)?;
    let paths = project.session(&id);
    crate::logging::init(Some(&paths.logs().join("supervisor.log")), ctx.verbose);
    eprintln!("agentmux: session {id} (headless)");
    let rt = runtime()?;
    let status = rt.block_on(async {
        let mut _server = None;
        let mut local_llm_url = None;
        if llm::uses_local_model(&cfg) {
            let rt = llm::local::LocalRuntime::locate(&cfg.llm.local)?;
            let server = rt
                .ensure_running(Some(&paths.logs().join("llama-server.log")))
                .await?;
            local_llm_url = Some(server.base_url().to_string());
            _server = Some(server);
        }
        SessionRuntime {
            tmux_socket: None,
            tmux_session: String::new(),
            panes: Default::default(),
            local_llm_url,
            supervisor_pid: Some(std::process::id()),
        }
        .save(&paths)?;
        let command = PaneCommand::current(&cfg, &ctx.project_dir, &ctx.sets)?;
        let exe = command.exe().to_owned();
        let roles = agent_roles(&project, &cfg)?;
        let host = ChildAgents::start(command, &id, &roles).map_err(|e| Error::io(&exe, e))?;
        let mut sup = Supervisor::open(
            &project,
            &id,
            cfg.clone(),
            Box::new(host),
            Box::new(crate::supervisor::view::LineView::new(true)),
            None,
        )?;
        let cancel = signal_token();
        sup.run(cancel).await
    })?;
    Ok(exit_for(status, &project.specs))
}

fn exit_for(status: SessionStatus, specs: &Path) -> u8 {
    match status {
        SessionStatus::Completed => {
            eprintln!("agentmux: completed; deliverables in {}", specs.display());
            exit::SUCCESS
        }
        SessionStatus::Failed => exit::SESSION_FAILED,
        SessionStatus::Paused | SessionStatus::Stopped => exit::PAUSED,
        SessionStatus::Running => exit::SESSION_FAILED,
    }
}
