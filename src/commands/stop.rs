//! `agentmux stop [SESSION]`: end a session's tmux session and every process it started, and
//! keep its state on disk so that `agentmux resume` carries on where it stopped.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use super::{Ctx, select};
use crate::cli::SessionArg;
use crate::paths::ProjectPaths;
use crate::runtime::SessionRuntime;
use crate::supervisor::agents::{alive_not_zombie, pid_alive};
use protocol::error::{Result, exit};
use tmux::Multiplexer;

/// How long processes get to exit after SIGHUP/SIGTERM before SIGKILL.
const GRACE: Duration = Duration::from_secs(5);

pub(super) fn run(ctx: &Ctx, args: &SessionArg) -> Result<u8> {
    let loaded = ctx.load_config()?;
    let project = ProjectPaths::new(&ctx.project_dir, &loaded.config);
    let id = select::session_id(&project, args.session.as_deref())?;
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
        && is_agentmux(pid)
    {
        roots.insert(pid);
    }
    // Children (a llama-server the supervisor started, say) are found before anything is killed.
    let pids = with_descendants(&roots);
    mux.kill_session(&rt.tmux_session)?;
    let survivors = terminate(&pids);
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

/// `roots` and every process descended from them.
pub(crate) fn with_descendants(roots: &BTreeSet<u32>) -> BTreeSet<u32> {
    let mut pids = roots.clone();
    pids.extend(descendants(roots));
    pids
}

/// SIGTERM to each live process, SIGKILL to those still alive after [`GRACE`]; returns the pids
/// that survived even that.
pub(crate) fn terminate(pids: &BTreeSet<u32>) -> Vec<u32> {
    let signal = |pid: u32, sig: Signal| {
        if let Ok(raw) = i32::try_from(pid) {
            let _ = kill(Pid::from_raw(raw), sig);
        }
    };
    for &pid in pids {
        if pid_alive(pid) {
            signal(pid, Signal::SIGTERM);
        }
    }
    let deadline = Instant::now() + GRACE;
    while Instant::now() < deadline && pids.iter().any(|&p| alive_not_zombie(p)) {
        std::thread::sleep(Duration::from_millis(50));
    }
    for &pid in pids {
        if alive_not_zombie(pid) {
            signal(pid, Signal::SIGKILL);
        }
    }
    std::thread::sleep(Duration::from_millis(100));
    pids.iter()
        .copied()
        .filter(|&p| alive_not_zombie(p))
        .collect()
}

fn parent_of(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit_once(')')?
        .1
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// Whether the process runs agentmux (its command line names it).
fn is_agentmux(pid: u32) -> bool {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|c| String::from_utf8_lossy(&c).contains("agentmux"))
        .unwrap_or(false)
}

/// Every descendant of `roots`, from `/proc` (empty where there is no `/proc`).
fn descendants(roots: &BTreeSet<u32>) -> BTreeSet<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return BTreeSet::new();
    };
    let all: Vec<(u32, u32)> = entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|pid| Some((pid, parent_of(pid)?)))
        .collect();
    let mut found: BTreeSet<u32> = BTreeSet::new();
    let mut frontier: Vec<u32> = roots.iter().copied().collect();
    while let Some(p) = frontier.pop() {
        for &(child, parent) in &all {
            if parent == p && !roots.contains(&child) && found.insert(child) {
                frontier.push(child);
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descendants_and_termination_cover_a_process_tree() {
        let mut child = std::process::Command::new("sh")
            .args(["-c", "sleep 30 & sleep 30 & wait"])
            .spawn()
            .unwrap();
        let root = child.id();
        let roots = BTreeSet::from([root]);
        let kids = test_support::wait::wait_for(Duration::from_secs(2), "both sleeps", || {
            Some(descendants(&roots)).filter(|kids| kids.len() == 2)
        });
        let mut all = roots.clone();
        all.extend(&kids);
        assert_eq!(terminate(&all), Vec::<u32>::new());
        child.wait().unwrap();
        assert!(kids.iter().all(|&k| !alive_not_zombie(k)));
    }
}
