//! `agentmux stop [SESSION]`: end a session's tmux session and every process it started, and
//! keep its state on disk so that `agentmux resume` carries on where it stopped.

use std::collections::BTreeSet;
use std::time::Duration;

use super::{Ctx, sessions};
use crate::cli::SessionArg;
use crate::paths::ProjectPaths;
use crate::runtime::SessionRuntime;
use osutil::process::{command_line_names, terminate, with_descendants};
use protocol::error::{Result, exit};
use tmux::Multiplexer;

/// How long processes get to exit after SIGHUP/SIGTERM before SIGKILL.
pub(super) const GRACE: Duration = Duration::from_secs(5);

pub(super) fn run(ctx: &Ctx, args: &SessionArg) -> Result<u8> {
    let loaded = ctx.load_config()?;
    let project = ProjectPaths::new(&ctx.project_dir, &loaded.config);
    let id = sessions::select(&project, args.session.as_deref())?.id;
    let paths = project.session(&id);
    let Some(rt) = SessionRuntime::load(&paths)? else {
        println!(
            "session {id} is not running (it never opened a tmux session); its state is in {}",
            paths.dir.display()
        );
        return Ok(exit::SUCCESS);
    };
    let mux = rt.tmux();
    let mut roots: BTreeSet<u32> = BTreeSet::new();
    let open = mux.has_session(&rt.tmux_session)?;
    if open {
        for pane in mux.list_panes(&rt.tmux_session)? {
            if let (Some(pid), false) = (pane.pid, pane.dead) {
                roots.insert(pid);
            }
        }
    }
    // The supervisor's pid is recorded when it runs; after a crash the pid may belong to another
    // program by now, so only an agentmux process is taken.
    if let Some(pid) = rt.supervisor_pid
        && command_line_names(pid, "agentmux")
    {
        roots.insert(pid);
    }
    // Children (a llama-server the supervisor started, say) are found before anything is killed.
    let pids = with_descendants(&roots);
    mux.kill_session(&rt.tmux_session)?;
    let survivors = terminate(&pids, GRACE);
    // A supervisor that got SIGTERM journaled `stopped` itself; one that was already dead (or
    // was killed) did not: record it now, under the session lock.
    if let Ok(_lock) = crate::journal::lock::SessionLock::acquire(&paths.lock(), "agentmux stop")
        && let Ok((mut journal, records, _)) = crate::journal::Journal::open(&paths.journal())
    {
        let state = crate::journal::SessionState::fold(&records);
        if state.status() == protocol::SessionStatus::Running {
            let _ = journal.append(protocol::Event::Stopped);
        }
    }
    println!(
        "stopped session {id}{}; its state stays in {}",
        if open {
            format!(" (tmux session {})", rt.tmux_session)
        } else {
            " (its tmux session was already gone)".to_string()
        },
        paths.dir.display()
    );
    if !survivors.is_empty() {
        println!("warning: processes still alive after SIGKILL: {survivors:?}");
    }
    println!("resume it with: agentmux resume {id}");
    Ok(exit::SUCCESS)
}
