//! `agentmux attach [SESSION]`: show a running session's tmux session (attach outside tmux;
//! inside tmux switch the client or open a window, per `tmux.inside_tmux`).

use super::{Ctx, sessions};
use crate::cli::SessionArg;
use crate::paths::ProjectPaths;
use crate::runtime::SessionRuntime;
use protocol::error::{Error, Result, exit};
use tmux::{Multiplexer, Tmux};

pub(super) fn run(ctx: &Ctx, args: &SessionArg) -> Result<u8> {
    let loaded = ctx.load_config()?;
    let project = ProjectPaths::new(&ctx.project_dir, &loaded.config);
    let id = sessions::select(&project, args.session.as_deref())?.id;
    let paths = project.session(&id);
    let not_running = || {
        Error::NoSession(format!(
            "session {id} is not running in tmux; resume it with `agentmux resume {id}`"
        ))
    };
    let rt = SessionRuntime::load(&paths)?.ok_or_else(not_running)?;
    let mux = Tmux::from_config(&loaded.config).on_socket(rt.tmux_socket.clone());
    mux.check_version()?;
    if !mux.has_session(&rt.tmux_session)? {
        return Err(not_running());
    }
    mux.attach(&rt.tmux_session)?;
    Ok(exit::SUCCESS)
}
