//! The tmux implementation of [`Multiplexer`], built on the `tmux_interface` crate.
//!
//! Every call is one `tmux` client invocation (a few milliseconds). Commands whose arguments carry
//! a pane's environment go through `source-file -` on stdin instead of argv (see `script.rs`);
//! the crate builds those commands too, and we only serialise them. Everything else runs as a
//! plain argv command built by the crate, several commands chained with `;` where they belong
//! together.
//!
//! Where the crate falls short (tmux_interface 0.4):
//! - it runs commands only as argv, which every local user can read: environment-carrying
//!   commands are serialised from its `TmuxCommand` into a script for `source-file -`;
//! - `split-window` / `respawn-pane` take a single `-e` and the command as one shell string that
//!   tmux would hand to `sh -c`: [`with_process`] appends `-c`, every `-e`, `--` and the argv words
//!   to the crate-built command, so the program is executed directly with nothing to quote.
//!
//! Verified against tmux 3.3a; everything used exists since 3.2 ([`super::MIN_VERSION`]).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Output;

use tmux_interface::{
    AttachSession, CapturePane, DisplayMessage, HasSession, KillSession, ListPanes, NewSession,
    NewWindow, RespawnPane, RunShell, SelectLayout, SelectPane, SetHook, SetOption, SourceFile,
    SplitWindow, StartServer, StdIO, SwitchClient, TmuxCommand,
};

use super::script::{argv_text, line, no_format};
use super::version::{INSTALL_HINT, require_supported};
use super::{Multiplexer, PaneInfo, PaneSpec};
use protocol::config::{Config, InsideTmux};
use protocol::error::{Error, Result};

/// The user option holding a pane's title: programs cannot overwrite it with escape sequences,
/// unlike `pane_title`.
const TITLE_OPTION: &str = "@agentmux_title";

/// `list-panes` / `-P` output: id, pid, dead flag, our title, tmux's title; tab-separated.
const PANE_FORMAT: &str =
    "#{pane_id}\t#{pane_pid}\t#{pane_dead}\t#{@agentmux_title}\t#{pane_title}";

/// The pane border: the title in bold, and the exit status once the process has ended.
const BORDER_FORMAT: &str = " #[bold]#{?#{@agentmux_title},#{@agentmux_title},#{pane_title}}#[default]\
#{?pane_dead, #[fg=red](exited #{pane_dead_status})#[default],} ";

/// The commands that set a pane's title (border) both as `pane_title` and as our user option.
fn title_commands(pane_id: &str, title: &str) -> Vec<TmuxCommand<'static>> {
    let title = argv_text(title).into_owned();
    vec![
        SelectPane::new()
            .target_pane(pane_id.to_string())
            .title(title.clone())
            .build(),
        SetOption::new()
            .pane()
            .target_pane(pane_id.to_string())
            .option(TITLE_OPTION)
            .value(title)
            .build(),
    ]
}

/// The options and hook of a new session's window (never global ones), and its first pane's
/// title. `target` is the first pane: its id, or `=NAME:` (the active pane of a new session).
fn window_setup(target: &str, title: &str) -> Vec<TmuxCommand<'static>> {
    let p = target.to_string();
    let wopt = |name: &str, value: &str| {
        SetOption::new()
            .window()
            .target_pane(p.clone())
            .option(name.to_string())
            .value(value.to_string())
            .build()
    };
    let mut cmds = vec![
        wopt("remain-on-exit", "on"),
        wopt("pane-border-status", "top"),
        wopt("pane-border-format", BORDER_FORMAT),
        wopt("main-pane-width", "50%"),
        wopt("main-pane-height", "50%"),
        // A detached session that a user attaches and detaches must survive (a session
        // option: tmux finds the session from the pane).
        SetOption::new()
            .target_pane(p.clone())
            .option("destroy-unattached")
            .value("off")
            .build(),
        // Re-apply the preset layout when a client of another size attaches.
        SetHook::new()
            .window()
            .target_session(p.clone())
            .hook_name("window-resized")
            .command("select-layout")
            .build(),
    ];
    cmds.extend(title_commands(target, title));
    cmds
}

/// A tmux server: the user's default one, or a private one (`tmux -L NAME`).
#[derive(Clone, Debug)]
pub struct Tmux {
    socket: Option<String>,
    config_file: Option<PathBuf>,
    inside: InsideTmux,
}

impl Tmux {
    /// `socket`: a private server name (`tmux -L NAME`); None: the user's default server.
    pub fn new(socket: Option<String>) -> Self {
        Self {
            socket,
            config_file: None,
            inside: InsideTmux::Switch,
        }
    }

    /// The server and behaviour the config asks for (`tmux.socket`, `tmux.inside_tmux`).
    pub fn from_config(cfg: &Config) -> Self {
        Self {
            socket: cfg.tmux.socket.clone().filter(|s| !s.is_empty()),
            config_file: None,
            inside: cfg.tmux.inside_tmux,
        }
    }

    /// `tmux -f FILE`: the config file read when this client starts the server (tests use it to
    /// set `base-index 1`).
    pub fn with_config_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.config_file = Some(path.into());
        self
    }

    /// The same behaviour on another server (a session's recorded `tmux_socket`).
    pub fn on_socket(mut self, socket: Option<String>) -> Self {
        self.socket = socket.filter(|s| !s.is_empty());
        self
    }

    /// The private server name, if any.
    pub fn socket(&self) -> Option<&str> {
        self.socket.as_deref()
    }

    /// A `tmux` invocation for this server.
    fn base(&self) -> tmux_interface::Tmux<'static> {
        let mut t = tmux_interface::Tmux::new();
        if let Some(s) = &self.socket {
            t = t.socket_name(s.clone());
        }
        if let Some(f) = &self.config_file {
            t = t.file(f.to_string_lossy().into_owned());
        }
        t
    }

    /// Runs commands as argv (chained with `;`), returns stdout.
    fn run(&self, what: &str, cmds: Vec<TmuxCommand<'static>>) -> Result<String> {
        let mut t = self.base();
        for c in cmds {
            t = t.add_command(c);
        }
        let out = t
            .stdin(Some(StdIO::Null))
            .output()
            .map_err(|e| spawn_error(&e.to_string()))?
            .into_inner();
        check(what, out)
    }

    /// Runs commands read by tmux from stdin (`start-server ; source-file -`), returns stdout.
    /// Used for every command that carries a pane's environment. The commands form one command
    /// list (one line, joined by ` ; `): the first that fails skips the rest, as on a command
    /// line (separate lines would each run).
    fn run_script(&self, what: &str, cmds: &[TmuxCommand<'static>]) -> Result<String> {
        let mut text = cmds.iter().map(line).collect::<Vec<_>>().join(" ; ");
        text.push('\n');
        // The commands go through a socket rather than a pipe: if tmux exits without reading
        // them, writing fails with EPIPE (std sends with MSG_NOSIGNAL) instead of raising
        // SIGPIPE, which agentmux leaves fatal so that `agentmux ... | head` ends quietly.
        let (mut ours, theirs) = std::os::unix::net::UnixStream::pair()
            .map_err(|e| Error::Tmux(format!("tmux {what}: cannot make a socket: {e}")))?;
        let mut cmd = self
            .base()
            .add_command(StartServer::new().build())
            .add_command(SourceFile::new().path("-").build())
            .into_command();
        cmd.stdin(std::process::Stdio::from(std::os::fd::OwnedFd::from(
            theirs,
        )))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
        let child = cmd.spawn().map_err(|e| spawn_error(&e.to_string()))?;
        // tmux reads until end of file: no copy of its end may stay open here.
        drop(cmd);
        let written = ours.write_all(text.as_bytes());
        drop(ours);
        let out = child
            .wait_with_output()
            .map_err(|e| Error::Tmux(format!("tmux {what}: {e}")))?;
        let stdout = check(what, out)?;
        match written {
            Ok(()) => Ok(stdout),
            Err(e) => Err(Error::Tmux(format!(
                "tmux {what}: it ended before reading its commands ({e})"
            ))),
        }
    }

    /// Window options and hooks of a new session, set on its window (never globally), and the
    /// first pane's title: one tmux call.
    fn setup_window(&self, first_pane: &str, title: &str) -> Result<()> {
        self.run("set-option", window_setup(first_pane, title))
            .map(drop)
    }

    /// Sets the pane's title (border) both as `pane_title` and as our user option.
    fn set_title(&self, pane_id: &str, title: &str) -> Result<()> {
        self.run("select-pane -T", title_commands(pane_id, title))
            .map(drop)
    }

    /// The socket path of this server, asked of the server itself.
    fn socket_path(&self, session: &str) -> Result<String> {
        let out = self.run(
            "display-message",
            vec![
                DisplayMessage::new()
                    .print()
                    .target_pane(format!("{}:", exact(session)))
                    .message("#{socket_path}")
                    .build(),
            ],
        )?;
        Ok(out.trim().to_string())
    }

    /// [`Multiplexer::attach`] as if `$TMUX` were `tmux_var` (None: not inside tmux).
    pub fn attach_from(&self, session: &str, tmux_var: Option<&str>) -> Result<()> {
        let target = exact(session);
        let Some(current) = tmux_var.filter(|v| !v.is_empty()) else {
            let status = self
                .base()
                .add_command(AttachSession::new().target_session(target.clone()).build())
                .status()
                .map_err(|e| spawn_error(&e.to_string()))?;
            return if status.success() {
                Ok(())
            } else {
                Err(Error::Tmux(format!(
                    "tmux attach-session -t '{target}' failed ({status})"
                )))
            };
        };
        // `$TMUX` is `socket_path,pid,session id`: the server and session this client runs in.
        let mut fields = current.split(',');
        let current_socket = fields.next().unwrap_or("");
        let current_session = fields.nth(1).filter(|id| id.parse::<u32>().is_ok());
        let same_server = same_path(current_socket, &self.socket_path(session)?);
        if same_server && self.inside == InsideTmux::Switch {
            return self
                .run(
                    "switch-client",
                    vec![SwitchClient::new().target_session(target).build()],
                )
                .map(drop);
        }
        // Another server (a private socket), or a window was asked for: a new window of the
        // user's current session that attaches to ours. `tmux` refuses to nest while `TMUX` is
        // set, hence `env -u TMUX`.
        let mut argv = vec!["env", "-u", "TMUX", "tmux"];
        if let Some(s) = &self.socket {
            argv.extend(["-L", s.as_str()]);
        }
        argv.extend(["attach-session", "-t", target.as_str()]);
        let mut window = NewWindow::new().window_name(format!("agentmux:{session}"));
        if let Some(id) = current_session {
            window = window.target_window(format!("${id}:"));
        }
        let mut cmd = window.build();
        cmd.push_param("--");
        for a in argv {
            cmd.push_param(a.to_string());
        }
        // The server of the client we run in, not ours.
        let out = tmux_interface::Tmux::new()
            .socket_path(current_socket.to_string())
            .add_command(cmd)
            .stdin(Some(StdIO::Null))
            .output()
            .map_err(|e| spawn_error(&e.to_string()))?
            .into_inner();
        check("new-window", out).map(drop)
    }
}

/// `=NAME`: exact session match (tmux otherwise matches a prefix).
fn exact(session: &str) -> String {
    format!("={session}")
}

fn spawn_error(e: &str) -> Error {
    Error::Tmux(format!("cannot run tmux ({e}); {INSTALL_HINT}"))
}

fn check(what: &str, out: Output) -> Result<String> {
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    if out.status.success() {
        return Ok(stdout);
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    let msg = stderr.trim();
    let msg = if msg.is_empty() { stdout.trim() } else { msg };
    Err(Error::Tmux(format!("tmux {what} failed: {msg}")))
}

/// Appends `-c DIR`, each `-e NAME=VALUE` and `-- argv` to a pane-creating command (the crate's
/// builders allow one `-e` and a shell-command string only; see the module docs).
fn with_process(mut cmd: TmuxCommand<'static>, spec: &PaneSpec) -> TmuxCommand<'static> {
    cmd.push_option("-c", no_format(&spec.cwd.to_string_lossy()));
    for (k, v) in &spec.env {
        cmd.push_option("-e", format!("{k}={v}"));
    }
    cmd.push_param("--");
    for a in &spec.argv {
        cmd.push_param(a.clone());
    }
    cmd
}

fn check_spec(spec: &PaneSpec) -> Result<()> {
    if spec.argv.is_empty() {
        return Err(Error::Tmux(format!(
            "pane `{}` has no command to run",
            spec.title
        )));
    }
    if let Some((k, _)) = spec
        .env
        .iter()
        .find(|(k, _)| k.is_empty() || k.contains('='))
    {
        return Err(Error::Tmux(format!(
            "pane `{}`: invalid environment variable name `{k}`",
            spec.title
        )));
    }
    Ok(())
}

/// Parses one line of [`PANE_FORMAT`] output.
fn parse_pane(line: &str) -> Option<PaneInfo> {
    let mut f = line.split('\t');
    let id = f.next()?.trim().to_string();
    if !id.starts_with('%') {
        return None;
    }
    let pid = f.next().and_then(|p| p.trim().parse().ok());
    let dead = f.next().map(str::trim) == Some("1");
    let ours = f.next().unwrap_or("").to_string();
    let theirs = f.next().unwrap_or("").to_string();
    Some(PaneInfo {
        id,
        pid,
        dead,
        title: if ours.is_empty() { theirs } else { ours },
    })
}

fn first_pane(what: &str, out: &str) -> Result<PaneInfo> {
    out.lines()
        .find_map(parse_pane)
        .ok_or_else(|| Error::Tmux(format!("tmux {what}: no pane id in its output `{out}`")))
}

/// Numeric part of `%N`, for ordering panes by creation.
fn pane_number(id: &str) -> u64 {
    id.trim_start_matches('%').parse().unwrap_or(0)
}

fn same_path(a: &str, b: &str) -> bool {
    let canon = |p: &str| std::fs::canonicalize(p).unwrap_or_else(|_| Path::new(p).to_path_buf());
    canon(a) == canon(b)
}

impl Multiplexer for Tmux {
    fn check_version(&self) -> Result<(u32, u32)> {
        // `tmux -V` once per process: the tmux binary does not change under a running command.
        static VERSION: std::sync::OnceLock<String> = std::sync::OnceLock::new();
        if let Some(v) = VERSION.get() {
            return require_supported(v);
        }
        let out = tmux_interface::Tmux::new()
            .version()
            .stdin(Some(StdIO::Null))
            .output()
            .map_err(|e| spawn_error(&e.to_string()))?;
        require_supported(VERSION.get_or_init(|| out.to_string()))
    }

    fn has_session(&self, name: &str) -> Result<bool> {
        // Exit status 1 means "no such session" as well as "no server running".
        let out = self
            .base()
            .add_command(HasSession::new().target_session(exact(name)).build())
            .stdin(Some(StdIO::Null))
            .output()
            .map_err(|e| spawn_error(&e.to_string()))?;
        Ok(out.success())
    }

    fn new_session(&self, name: &str, first: &PaneSpec, size: (u16, u16)) -> Result<PaneInfo> {
        check_spec(first)?;
        if self.has_session(name)? {
            return Err(duplicate_session(name));
        }
        let cmd = new_session_cmd(name, size);
        let out = self.run_script("new-session", &[with_process(cmd, first)])?;
        let mut pane = first_pane("new-session", &out)?;
        if let Err(e) = self.setup_window(&pane.id, &first.title) {
            let _ = self.kill_session(name);
            return Err(e);
        }
        pane.title = first.title.clone();
        Ok(pane)
    }

    fn add_pane(&self, session: &str, after: Option<&str>, spec: &PaneSpec) -> Result<PaneInfo> {
        check_spec(spec)?;
        // Split the newest pane so that panes keep the order they were added in.
        let target = match after {
            Some(id) => id.to_string(),
            None => {
                self.list_panes(session)?
                    .into_iter()
                    .max_by_key(|p| pane_number(&p.id))
                    .ok_or_else(|| Error::Tmux(format!("tmux session `{session}` has no pane")))?
                    .id
            }
        };
        let cmd = SplitWindow::new()
            .detached()
            .target_pane(target)
            .print()
            .format(PANE_FORMAT)
            .build();
        let out = self.run_script("split-window", &[with_process(cmd, spec)])?;
        let mut pane = first_pane("split-window", &out)?;
        // The title, and the window's last preset layout again so the next split finds room:
        // one tmux call.
        let mut cmds = title_commands(&pane.id, &spec.title);
        cmds.push(SelectLayout::new().target_pane(pane.id.clone()).build());
        self.run("select-pane -T ; select-layout", cmds)?;
        pane.title = spec.title.clone();
        Ok(pane)
    }

    /// One tmux call: `new-session`, the window's options, then each further pane split off the
    /// last one (`.-`: the pane before the active first one, wrapping round to the last) with
    /// `-d`, so the panes start and end in the order given and the first stays active; every
    /// split re-applies the preset layout to make room for the next. All of it is one command
    /// list: if anything fails (an existing session of that name, no room), the rest is
    /// skipped, and a session made here is killed.
    fn open_window(
        &self,
        name: &str,
        panes: &[PaneSpec],
        size: (u16, u16),
        layout: &str,
    ) -> Result<Vec<PaneInfo>> {
        let (first, rest) = super::first_and_rest(name, panes)?;
        for spec in panes {
            check_spec(spec)?;
        }
        super::layout::check_layout(layout).map_err(bad_layout)?;
        // `=NAME:` is the session's window and, as a pane, its active pane: the first one.
        let window = format!("{}:", exact(name));
        let new = new_session_cmd(name, size);
        let mut cmds = vec![with_process(new, first)];
        cmds.extend(window_setup(&window, &first.title));
        cmds.push(select_layout_cmd(&window, Some(layout)));
        // The last pane: the one before the active (first) pane, wrapping round.
        let last = format!("{window}.-");
        for spec in rest {
            if let Some(d) = spec.start_delay {
                // With no shell command, `run-shell -d` only waits, inside the server (3.2+),
                // and the commands after it in the list wait with it.
                cmds.push(
                    RunShell::new()
                        .delay(format!("{:.3}", d.as_secs_f64()))
                        .build(),
                );
            }
            let split = SplitWindow::new()
                .detached()
                .target_pane(last.clone())
                .print()
                .format(PANE_FORMAT)
                .build();
            cmds.push(with_process(split, spec));
            cmds.extend(title_commands(&last, &spec.title));
            cmds.push(select_layout_cmd(&window, None));
        }
        cmds.push(select_layout_cmd(&window, Some(layout)));
        // A session made here is ours to kill when anything after `new-session` fails; a
        // duplicate name fails `new-session` itself, and the rest of the list never runs.
        let out = match self.run_script("new-session", &cmds) {
            Ok(out) => out,
            Err(Error::Tmux(msg)) if msg.contains("duplicate session") => {
                return Err(duplicate_session(name));
            }
            Err(e) => {
                let _ = self.kill_session(name);
                return Err(e);
            }
        };
        let listed: Vec<PaneInfo> = out.lines().filter_map(parse_pane).collect();
        if listed.len() != panes.len() {
            let _ = self.kill_session(name);
            return Err(Error::Tmux(format!(
                "tmux new-session: asked for {} panes, tmux printed {}: `{}`",
                panes.len(),
                listed.len(),
                out.trim()
            )));
        }
        // Printed in creation order, which is the order given.
        let mut out = listed;
        for (pane, spec) in out.iter_mut().zip(panes) {
            pane.title = spec.title.clone();
        }
        Ok(out)
    }

    fn respawn_pane(&self, pane_id: &str, spec: &PaneSpec) -> Result<()> {
        check_spec(spec)?;
        let cmd = RespawnPane::new()
            .kill()
            .target_pane(pane_id.to_string())
            .build();
        self.run_script("respawn-pane", &[with_process(cmd, spec)])?;
        self.set_title(pane_id, &spec.title)
    }

    fn kill_session(&self, name: &str) -> Result<()> {
        if !self.has_session(name)? {
            return Ok(());
        }
        self.run(
            "kill-session",
            vec![KillSession::new().target_session(exact(name)).build()],
        )
        .map(drop)
    }

    fn list_panes(&self, session: &str) -> Result<Vec<PaneInfo>> {
        let out = self.run(
            "list-panes",
            vec![
                ListPanes::new()
                    .session()
                    .target(exact(session))
                    .format(PANE_FORMAT)
                    .build(),
            ],
        )?;
        Ok(out.lines().filter_map(parse_pane).collect())
    }

    fn capture(&self, pane_id: &str) -> Result<String> {
        self.run(
            "capture-pane",
            vec![
                CapturePane::new()
                    .stdout()
                    .target_pane(pane_id.to_string())
                    .build(),
            ],
        )
    }

    fn attach(&self, session: &str) -> Result<()> {
        let current = std::env::var("TMUX").ok();
        self.attach_from(session, current.as_deref())
    }

    fn display_message(&self, session: &str, msg: &str) -> Result<()> {
        let msg = argv_text(&no_format(msg)).into_owned();
        self.run(
            "display-message",
            vec![
                DisplayMessage::new()
                    .target_pane(format!("{}:", exact(session)))
                    .message(msg)
                    .build(),
            ],
        )
        .map(drop)
    }

    fn select_layout(&self, session: &str, layout: &str) -> Result<()> {
        super::layout::check_layout(layout).map_err(bad_layout)?;
        let window = format!("{}:", exact(session));
        self.run(
            "select-layout",
            vec![select_layout_cmd(&window, Some(layout))],
        )
        .map(drop)
        .map_err(|e| layout_error(e.to_string()))
    }
}

/// `new-session -d` of `size` printing its first pane ([`PANE_FORMAT`]); the process is added by
/// [`with_process`].
fn new_session_cmd(name: &str, size: (u16, u16)) -> TmuxCommand<'static> {
    NewSession::new()
        .detached()
        .session_name(name.to_string())
        .window_name("agentmux")
        .width(usize::from(size.0.max(20)))
        .height(usize::from(size.1.max(8)))
        .print()
        .format(PANE_FORMAT)
        .build()
}

/// `select-layout -t TARGET [LAYOUT]`; without a layout, tmux re-applies the window's last preset.
fn select_layout_cmd(target: &str, layout: Option<&str>) -> TmuxCommand<'static> {
    let cmd = SelectLayout::new().target_pane(target.to_string());
    match layout {
        Some(l) => cmd.layout_name(l.to_string()).build(),
        None => cmd.build(),
    }
}

fn layout_error(msg: String) -> Error {
    Error::Tmux(format!(
        "{msg}\n  check `tmux.layout`: use {}, or a tmux layout string",
        super::layout::PRESETS.join(", ")
    ))
}

/// A `tmux.layout` that [`super::layout::check_layout`] refused (tmux never saw it).
fn bad_layout(msg: String) -> Error {
    Error::Tmux(format!("check `tmux.layout`: {msg}"))
}

fn duplicate_session(name: &str) -> Error {
    Error::Tmux(format!(
        "a tmux session named `{name}` already exists; stop it with `agentmux stop` or `tmux kill-session -t '={name}'`"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_pane_lines_and_prefers_our_title() {
        let p = parse_pane("%12\t4242\t0\tarchitect\thost").unwrap();
        assert_eq!(
            p,
            PaneInfo {
                id: "%12".into(),
                pid: Some(4242),
                dead: false,
                title: "architect".into()
            }
        );
        let dead = parse_pane("%3\t17\t1\t\thost").unwrap();
        assert!(dead.dead);
        assert_eq!(dead.title, "host");
        assert!(parse_pane("garbage").is_none());
    }

    #[test]
    fn process_arguments_come_after_the_options() {
        let spec = PaneSpec {
            title: "t".into(),
            argv: vec!["-weird".into(), "x".into()],
            env: vec![("K".into(), "v w".into())],
            cwd: PathBuf::from("/p#1"),
            start_delay: None,
        };
        let cmd = with_process(RespawnPane::new().kill().target_pane("%1").build(), &spec);
        let words: Vec<String> = cmd.to_vec().into_iter().map(|w| w.into_owned()).collect();
        let tail = &words[words.len() - 7..];
        assert_eq!(tail, ["-c", "/p##1", "-e", "K=v w", "--", "-weird", "x"]);
    }

    #[test]
    fn specs_without_a_command_or_with_bad_variable_names_are_refused() {
        let mut spec = PaneSpec {
            title: "t".into(),
            argv: vec![],
            env: vec![],
            cwd: PathBuf::from("/"),
            start_delay: None,
        };
        assert!(check_spec(&spec).is_err());
        spec.argv = vec!["true".into()];
        spec.env = vec![("A=B".into(), "x".into())];
        assert!(check_spec(&spec).is_err());
    }
}
