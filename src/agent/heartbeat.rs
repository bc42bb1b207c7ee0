//! `agents/<role>/heartbeat`: "I am alive" from an agent, for the supervisor's hang detection.
//!
//! One line, `<pid> <RFC 3339 time>`, rewritten atomically every [`INTERVAL`]. The supervisor
//! judges an agent hung when the beat of the pane's current process is older than its timeout.
//! The pid tells a fresh process apart from the beat its crashed predecessor left behind.

use std::path::Path;
use std::time::Duration;

use jiff::Timestamp;

use protocol::error::{Error, Result};

/// How often an agent beats.
pub(crate) const INTERVAL: Duration = Duration::from_secs(2);

/// One beat.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Heartbeat {
    pub pid: u32,
    pub at: Timestamp,
}

impl Heartbeat {
    /// A beat of this process, now.
    pub(crate) fn now() -> Self {
        Self {
            pid: std::process::id(),
            at: Timestamp::now(),
        }
    }

    /// The file's line.
    pub(crate) fn to_line(self) -> String {
        format!("{} {}\n", self.pid, self.at)
    }

    /// Parses a line written by [`Heartbeat::to_line`].
    pub(crate) fn parse(text: &str) -> Option<Self> {
        let mut words = text.split_whitespace();
        let pid = words.next()?.parse().ok()?;
        let at = words.next()?.parse().ok()?;
        Some(Self { pid, at })
    }
}

/// Writes a beat atomically (temp file + rename, creating the directory). No fsync: a beat lost
/// to a power cut does not matter, and a slow disk must not stall the beat.
pub(crate) fn write(path: &Path, beat: Heartbeat) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let tmp = dir.join(format!(".heartbeat.{}.tmp", beat.pid));
    std::fs::write(&tmp, beat.to_line()).map_err(|e| Error::io(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| Error::io(path, e))
}

/// Reads the last beat; None when there is none or it cannot be read.
pub(crate) fn read(path: &Path) -> Option<Heartbeat> {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|t| Heartbeat::parse(&t))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_beat_round_trips_through_its_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("agents/architect/heartbeat");
        assert_eq!(read(&path), None);
        let beat = Heartbeat {
            pid: 77,
            at: "2026-11-22T03:15:00Z".parse().unwrap(),
        };
        write(&path, beat).unwrap();
        assert_eq!(read(&path), Some(beat));
        std::fs::write(&path, "garbage").unwrap();
        assert_eq!(read(&path), None);
    }
}
