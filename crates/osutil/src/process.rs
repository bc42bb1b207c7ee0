//! Processes: whether one is alive, the tree below it, and ending a set of them.
//!
//! One rule for liveness everywhere: a process exists when signal 0 reaches it, and also when the
//! kernel refuses the signal with `EPERM` (the process is there, it belongs to another user).
//! Callers that must not touch such a process (a recorded pid reused by someone else) check what
//! the process runs ([`command_line_names`]) or ask it over its own channel, never liveness alone.
//!
//! The process tree and the zombie state come from `/proc` (Linux); where there is none, a
//! process has no known descendants and is never taken for a zombie.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sys::signal::{Signal, kill, killpg};
use nix::unistd::Pid;

/// Whether a process exists (signal 0). A process we may not signal (another user's) exists.
pub fn pid_alive(pid: u32) -> bool {
    let Some(pid) = as_pid(pid) else {
        return false;
    };
    match kill(pid, None) {
        Ok(()) => true,
        Err(e) => e == Errno::EPERM,
    }
}

/// Whether a process runs: it exists and is not a zombie (a process whose main thread has
/// exited, waiting for its parent; another of its threads may still finish a system call).
pub fn alive_not_zombie(pid: u32) -> bool {
    pid_alive(pid) && process_state(pid) != Some('Z')
}

/// Asks a process to end (SIGTERM). A process that is gone needs nothing, so errors are ignored.
pub fn sigterm(pid: u32) {
    send(pid, Signal::SIGTERM);
}

/// Whether the command line of a process contains `word` (false when it cannot be read).
pub fn command_line_names(pid: u32, word: &str) -> bool {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|c| String::from_utf8_lossy(&c).contains(word))
        .unwrap_or(false)
}

/// `roots` and every process descended from them.
pub fn with_descendants(roots: &BTreeSet<u32>) -> BTreeSet<u32> {
    let mut pids = roots.clone();
    pids.extend(descendants(roots));
    pids
}

/// SIGTERM to each live process, SIGKILL to those still running after `grace`; returns the pids
/// that survived even that.
pub fn terminate(pids: &BTreeSet<u32>, grace: Duration) -> Vec<u32> {
    for &pid in pids {
        if pid_alive(pid) {
            send(pid, Signal::SIGTERM);
        }
    }
    let deadline = Instant::now() + grace;
    while Instant::now() < deadline && pids.iter().any(|&p| alive_not_zombie(p)) {
        std::thread::sleep(Duration::from_millis(50));
    }
    for &pid in pids {
        if alive_not_zombie(pid) {
            send(pid, Signal::SIGKILL);
        }
    }
    std::thread::sleep(Duration::from_millis(100));
    pids.iter()
        .copied()
        .filter(|&p| alive_not_zombie(p))
        .collect()
}

/// Signals a whole process group (a CLI started with its own group and every process it
/// started): SIGTERM, then SIGKILL to what is left after `grace`. Returns when the group is
/// gone or after the SIGKILL. A group that is already gone needs nothing.
pub fn end_group(pgid: u32, grace: Duration) {
    let Some(group) = as_pid(pgid) else { return };
    if killpg(group, Signal::SIGTERM).is_err() {
        return;
    }
    let deadline = Instant::now() + grace;
    while Instant::now() < deadline {
        // Signal 0: only whether any process of the group is left (zombies count until reaped).
        if killpg(group, None).is_err() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = killpg(group, Signal::SIGKILL);
}

fn as_pid(pid: u32) -> Option<Pid> {
    i32::try_from(pid).ok().map(Pid::from_raw)
}

fn send(pid: u32, signal: Signal) {
    if let Some(pid) = as_pid(pid) {
        let _ = kill(pid, signal);
    }
}

/// The fields of `/proc/<pid>/stat` after the command name: `pid (comm) S ppid ...`, where comm
/// may contain spaces and parentheses, so the fields start after the last `)`.
fn stat_fields(pid: u32) -> Option<String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    Some(stat.rsplit_once(')')?.1.to_string())
}

/// The state letter of a process (`R`, `S`, `Z`, ...).
/// The state of process `pid` (`R`, `S`, `Z`, ... from `/proc/<pid>/stat`); None once it is gone.
pub fn process_state(pid: u32) -> Option<char> {
    stat_fields(pid)?.trim_start().chars().next()
}

fn parent_of(pid: u32) -> Option<u32> {
    stat_fields(pid)?.split_whitespace().nth(1)?.parse().ok()
}

/// Every descendant of `roots`.
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
    use test_support::wait::wait_for;

    #[test]
    fn own_pid_is_alive_and_impossible_pids_are_not() {
        assert!(pid_alive(std::process::id()));
        assert!(alive_not_zombie(std::process::id()));
        assert!(!pid_alive(u32::MAX));
        assert!(!pid_alive(0x7fff_ffff));
    }

    #[test]
    fn a_process_of_another_user_is_alive() {
        // pid 1 belongs to root: an unprivileged signal 0 gets EPERM, and it still exists.
        if std::path::Path::new("/proc/1").exists() {
            assert!(pid_alive(1));
        }
    }

    #[test]
    fn an_exited_child_is_a_zombie_until_reaped_then_gone() -> std::io::Result<()> {
        let mut child = std::process::Command::new("true").spawn()?;
        let pid = child.id();
        wait_for(Duration::from_secs(10), "the child to be a zombie", || {
            (process_state(pid) == Some('Z')).then_some(())
        });
        assert!(pid_alive(pid), "a zombie still exists");
        assert!(!alive_not_zombie(pid), "but it does not run");
        child.wait()?;
        assert!(!pid_alive(pid));
        Ok(())
    }

    #[test]
    fn descendants_and_termination_cover_a_process_tree() -> std::io::Result<()> {
        let mut child = std::process::Command::new("sh")
            .args(["-c", "sleep 30 & sleep 30 & wait"])
            .spawn()?;
        let root = child.id();
        let roots = BTreeSet::from([root]);
        let all = wait_for(Duration::from_secs(10), "the shell's two children", || {
            Some(with_descendants(&roots)).filter(|all| all.len() == 3)
        });
        assert!(command_line_names(root, "sleep 30"));
        assert_eq!(terminate(&all, Duration::from_secs(5)), Vec::<u32>::new());
        child.wait()?;
        assert!(all.iter().all(|&p| !alive_not_zombie(p)));
        Ok(())
    }
}
