//! Waiting in tests: the one polling loop ([`try_wait_for`]) and the `wait_for*` helpers on top
//! of it. A test never sleeps in a loop of its own: it says what it waits for and for how long,
//! and fails naming it when the time is up.

use std::process::{Child, ExitStatus};
use std::time::{Duration, Instant};

/// How often the `wait_for*` helpers try again.
pub const POLL: Duration = Duration::from_millis(20);

/// Tries `f` every `every` until it returns `Some`; `None` once `timeout` has passed. `f` runs at
/// least once, and once more at the deadline.
pub fn try_wait_for<T>(
    timeout: Duration,
    every: Duration,
    mut f: impl FnMut() -> Option<T>,
) -> Option<T> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        let now = Instant::now();
        if now >= deadline {
            return None;
        }
        std::thread::sleep(every.min(deadline - now));
    }
}

/// Tries `f` every [`POLL`] until it returns `Some`; panics naming `what` after `timeout`.
#[track_caller]
pub fn wait_for<T>(timeout: Duration, what: &str, f: impl FnMut() -> Option<T>) -> T {
    match try_wait_for(timeout, POLL, f) {
        Some(v) => v,
        None => panic!("timed out after {timeout:?} waiting for {what}"),
    }
}

/// True once process `pid` has exited: it is gone, or a zombie its parent has not reaped yet (its
/// files and locks are released either way).
pub fn has_exited(pid: u32) -> bool {
    matches!(osutil::process::process_state(pid), None | Some('Z' | 'X'))
}

/// Waits until process `pid` has exited ([`has_exited`]); panics with its state after `timeout`.
/// A process killed in the middle of an fsync exits only when the disk answers, which on a busy
/// machine can take longer than any fixed sleep.
#[track_caller]
pub fn wait_for_exit(pid: u32, timeout: Duration) {
    if try_wait_for(timeout, POLL, || has_exited(pid).then_some(())).is_none() {
        panic!(
            "process {pid} still runs after {timeout:?} (state {:?})",
            osutil::process::process_state(pid)
        );
    }
}

/// Waits until `child` has exited and returns its status; panics after `timeout`.
#[track_caller]
pub fn wait_for_child(child: &mut Child, timeout: Duration) -> ExitStatus {
    let what = format!("process {} to exit", child.id());
    wait_for(timeout, &what, || child.try_wait().expect("try_wait"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wait_for_returns_the_first_value_and_fails_naming_what_it_waited_for() {
        let mut n = 0;
        let got = wait_for(Duration::from_secs(5), "the third try", || {
            n += 1;
            (n == 3).then_some(n)
        });
        assert_eq!(got, 3);
        let t0 = Instant::now();
        let none: Option<()> = try_wait_for(Duration::from_millis(50), POLL, || None);
        assert!(none.is_none() && t0.elapsed() >= Duration::from_millis(50));
        let err = std::panic::catch_unwind(|| {
            wait_for(Duration::from_millis(10), "nothing", || None::<()>)
        })
        .unwrap_err();
        let msg = err.downcast_ref::<String>().unwrap();
        assert!(msg.contains("waiting for nothing"), "{msg}");
    }

    #[test]
    fn a_child_that_exits_is_waited_for() {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        assert!(wait_for_child(&mut child, Duration::from_secs(10)).success());
        wait_for_exit(pid, Duration::from_secs(10));
        assert!(has_exited(pid));
        assert!(!has_exited(std::process::id()));
    }
}
