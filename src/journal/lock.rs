//! The session lock: two supervisors never run one session.
//!
//! An advisory lock (`File::try_lock`, flock on Unix) on `session.lock`. The OS releases it when
//! the holder dies, so a lock left by a killed process is simply free again: taking it over is
//! safe. The file also records the holder's pid and role so a refused caller can say who holds it.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// A held session lock; released on drop.
#[derive(Debug)]
pub struct SessionLock {
    file: File,
    path: PathBuf,
}

impl SessionLock {
    /// Takes the lock or explains who holds it.
    pub fn acquire(path: &Path, holder: &str) -> Result<SessionLock> {
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
        Ok(SessionLock {
            file,
            path: path.to_owned(),
        })
    }

    /// [`acquire`](Self::acquire), waiting up to `patience` for a holder to let go: the
    /// supervisor of a new session starts while `agentmux start`, holding the lock, still
    /// writes the session's first files.
    pub fn acquire_waiting(
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
    pub fn is_held(path: &Path) -> bool {
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

    pub fn path(&self) -> &Path {
        &self.path
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
