//! The session lock: two supervisors never run one session.
//!
//! An advisory lock (`File::try_lock`, flock on Unix) on `session.lock`. The OS releases it when
//! the holder dies, so a lock left by a killed process is simply free again: taking it over is
//! safe. The file also records the holder's pid and role so a refused caller can say who holds it.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;

use protocol::error::{Error, Result};

/// A held session lock; released on drop.
#[derive(Debug)]
pub(crate) struct SessionLock {
    file: File,
}

impl SessionLock {
    /// Takes the lock or explains who holds it.
    pub(crate) fn acquire(path: &Path, holder: &str) -> Result<SessionLock> {
        let mut file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(path)
            .map_err(|e| Error::io(path, e))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                let mut who = String::new();
                let _ = file.read_to_string(&mut who);
                let who = who.trim();
                let who = if who.is_empty() {
                    "another process".to_string()
                } else {
                    who.to_string()
                };
                return Err(Error::Locked(format!(
                    "the session is in use by {who} (lock {}); stop it with `agentmux stop` or wait for it to exit",
                    path.display()
                )));
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(Error::io(path, e)),
        }
        file.set_len(0).map_err(|e| Error::io(path, e))?;
        file.seek(SeekFrom::Start(0))
            .map_err(|e| Error::io(path, e))?;
        // Who holds the lock, for the message of the next process that finds it taken. Not
        // synced: the lock itself (flock) does not outlive a crash, and neither need its words.
        let _ = write!(file, "{holder} (pid {})", std::process::id());
        Ok(SessionLock { file })
    }

    /// [`acquire`](Self::acquire), waiting up to `patience` for a holder to let go: the
    /// supervisor of a new session starts while `agentmux start`, holding the lock, still
    /// writes the session's first files.
    pub(crate) fn acquire_waiting(
        path: &Path,
        holder: &str,
        patience: std::time::Duration,
    ) -> Result<SessionLock> {
        let deadline = std::time::Instant::now() + patience;
        loop {
            match Self::acquire(path, holder) {
                Err(Error::Locked(_)) if std::time::Instant::now() < deadline => {
                    std::thread::sleep(std::time::Duration::from_millis(1));
                }
                taken => return taken,
            }
        }
    }

    /// Whether some process holds the lock right now (without taking it for long).
    pub(crate) fn is_held(path: &Path) -> bool {
        let Ok(file) = OpenOptions::new().read(true).write(true).open(path) else {
            return false;
        };
        match file.try_lock() {
            Ok(()) => {
                let _ = file.unlock();
                false
            }
            Err(_) => true,
        }
    }

    /// [`is_held`](Self::is_held), except that a lock whose recorded holder has been killed is
    /// waited for, up to `patience`: a killed process keeps its lock until its last thread has
    /// exited, and one in the middle of an fsync exits only when the disk answers (`resume` right
    /// after a crash would otherwise say the session is still running).
    pub(crate) fn is_held_by_a_live_process(path: &Path, patience: std::time::Duration) -> bool {
        if !Self::is_held(path) {
            return false;
        }
        let Some(pid) = Self::holder_pid(path) else {
            return true;
        };
        let deadline = std::time::Instant::now() + patience;
        while !osutil::process::alive_not_zombie(pid) && std::time::Instant::now() < deadline {
            if !Self::is_held(path) {
                return false;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        Self::is_held(path)
    }

    /// The pid the holder wrote into the lock file (`<holder> (pid N)`).
    fn holder_pid(path: &Path) -> Option<u32> {
        let text = std::fs::read_to_string(path).ok()?;
        let (_, rest) = text.rsplit_once("(pid ")?;
        rest.trim_end().strip_suffix(')')?.parse().ok()
    }
}

impl Drop for SessionLock {
    fn drop(&mut self) {
        let _ = self.file.set_len(0);
        let _ = self.file.unlock();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_acquire_is_refused_with_the_holder_named() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("session.lock");
        let held = SessionLock::acquire(&p, "supervisor").unwrap();
        assert!(SessionLock::is_held(&p));
        let err = SessionLock::acquire(&p, "cli").unwrap_err().to_string();
        assert!(err.contains("supervisor (pid"), "{err}");
        drop(held);
        assert!(!SessionLock::is_held(&p));
        let _again = SessionLock::acquire(&p, "cli").unwrap();
    }

    #[test]
    fn a_lock_whose_holder_was_killed_is_waited_for_and_a_live_holders_is_not() {
        use std::time::Duration;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("session.lock");
        assert!(!SessionLock::is_held_by_a_live_process(
            &p,
            Duration::from_secs(10)
        ));
        // Held by a running process (this one): held.
        let held = SessionLock::acquire(&p, "supervisor").unwrap();
        assert_eq!(SessionLock::holder_pid(&p), Some(std::process::id()));
        assert!(SessionLock::is_held_by_a_live_process(
            &p,
            Duration::from_secs(10)
        ));
        // The recorded holder has exited but the lock is still held for a moment (a thread of
        // the killed process finishing an fsync): waited for, then free.
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let gone = child.id();
        child.wait().unwrap();
        std::fs::write(&p, format!("supervisor (pid {gone})")).unwrap();
        let release = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(100));
            drop(held);
        });
        assert!(!SessionLock::is_held_by_a_live_process(
            &p,
            Duration::from_secs(10)
        ));
        release.join().unwrap();
    }

    #[test]
    fn a_waiting_acquire_gets_the_lock_once_released_and_gives_up_after_its_patience() {
        use std::time::{Duration, Instant};
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("session.lock");
        let held = SessionLock::acquire(&p, "agentmux start").unwrap();
        let release = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(100));
            drop(held);
        });
        let t = Instant::now();
        let lock = SessionLock::acquire_waiting(&p, "supervisor", Duration::from_secs(10)).unwrap();
        assert!(
            t.elapsed() >= Duration::from_millis(90),
            "{:?}",
            t.elapsed()
        );
        release.join().unwrap();
        let t = Instant::now();
        let err = SessionLock::acquire_waiting(&p, "another", Duration::from_millis(50))
            .unwrap_err()
            .to_string();
        assert!(t.elapsed() >= Duration::from_millis(50));
        assert!(err.contains("supervisor (pid"), "{err}");
        drop(lock);
    }
}
