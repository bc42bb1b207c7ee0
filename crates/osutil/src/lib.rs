//! Operating-system helpers: durable file writes (temp file + rename, so no reader ever sees half a
//! file), JSON files, and processes ([`process`]: liveness, process trees, ending them). Depends
//! only on `protocol` (for its error type).

// A dependency no code uses is an error (dev-dependencies are checked by the test builds' use).
#![cfg_attr(not(test), deny(unused_crate_dependencies))]

pub mod process;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use protocol::error::{Error, Result};

/// Writes `bytes` to `path` atomically: a temp file in the same directory, fsync, then rename.
/// Creates the parent directory when missing.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    write_replacing(path, bytes, true, None)
}

/// [`write_atomic`] without the fsync: readers still see the whole old or the whole new file,
/// but the new content reaches the disk when the kernel decides, or at a [`sync_paths`].
pub fn write_atomic_unsynced(path: &Path, bytes: &[u8]) -> Result<()> {
    write_replacing(path, bytes, false, None)
}

/// [`write_atomic_unsynced`] with the temp file in `staging` (a directory on the same file
/// system, created when missing) instead of beside `path`: a watcher of `path`'s directory then
/// sees a single event, the rename, rather than the temp file's creation, writes and close too.
pub fn write_staged_unsynced(path: &Path, staging: &Path, bytes: &[u8]) -> Result<()> {
    write_replacing(path, bytes, false, Some(staging))
}

fn write_replacing(path: &Path, bytes: &[u8], sync: bool, staging: Option<&Path>) -> Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let tmp_dir = match staging {
        Some(s) => {
            std::fs::create_dir_all(s).map_err(|e| Error::io(s, e))?;
            s
        }
        None => dir,
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".tmp-")
        .tempfile_in(tmp_dir)
        .map_err(|e| Error::io(tmp_dir, e))?;
    tmp.write_all(bytes).map_err(|e| Error::io(path, e))?;
    if sync {
        tmp.as_file().sync_all().map_err(|e| Error::io(path, e))?;
    }
    tmp.persist(path).map_err(|e| Error::io(path, e.error))?;
    Ok(())
}

/// Syncs files, then the directories holding them (which makes their renames durable). A file
/// that is gone by now (archived, replaced) needs nothing.
pub fn sync_paths(paths: &[PathBuf]) -> Result<()> {
    let mut dirs: Vec<&Path> = Vec::new();
    for p in paths {
        match std::fs::File::open(p) {
            Ok(f) => f.sync_all().map_err(|e| Error::io(p, e))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(Error::io(p, e)),
        }
        if let Some(d) = p.parent().filter(|d| !d.as_os_str().is_empty())
            && !dirs.contains(&d)
        {
            dirs.push(d);
        }
    }
    for d in dirs {
        if let Ok(f) = std::fs::File::open(d) {
            f.sync_all().map_err(|e| Error::io(d, e))?;
        }
    }
    Ok(())
}

/// Files written without fsync whose durability is due later, all at once.
///
/// The supervisor writes a step's files (artifacts, deliverables, the next task) unsynced, so the
/// next request starts without waiting for the disk, and has them synced before the journal
/// records that mention them are written (see `journal::writer`). A process crash loses nothing
/// either way (the page cache survives it); after a power loss the journal never names a file
/// that is not on disk.
#[derive(Debug, Default)]
pub struct Deferred {
    paths: Mutex<Vec<PathBuf>>,
}

impl Deferred {
    /// Writes `path` atomically through a temp file in `staging` ([`write_staged_unsynced`])
    /// and remembers to sync it.
    pub fn write_staged(&self, path: &Path, staging: &Path, bytes: &[u8]) -> Result<()> {
        write_staged_unsynced(path, staging, bytes)?;
        self.add(path);
        Ok(())
    }

    /// Remembers to sync a file written by someone else (an agent's result).
    pub fn add(&self, path: &Path) {
        self.lock().push(path.to_path_buf());
    }

    /// Forgets the remembered files and returns them, for the caller to sync.
    pub fn take(&self) -> Vec<PathBuf> {
        std::mem::take(&mut *self.lock())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<PathBuf>> {
        self.paths.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Removes the temp files (`.tmp-*`) that [`write_atomic`] leaves in `dir` when its process is
/// killed between creating one and renaming it; returns how many. Only for directories whose
/// writer is the caller (the supervisor, holding the session lock).
pub fn remove_stale_temps(dir: &Path) -> usize {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return 0;
    };
    rd.filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with(".tmp-"))
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .filter(|e| std::fs::remove_file(e.path()).is_ok())
        .count()
}

/// Serialises `value` as pretty JSON and writes it atomically.
pub fn write_json_atomic<T: serde::Serialize>(path: &Path, value: &T) -> Result<()> {
    write_atomic(path, &json_bytes(path, value)?)
}

/// `value` as pretty JSON with a final newline, the form of every JSON file agentmux writes;
/// `path` (where it goes) names the error.
pub fn json_bytes<T: serde::Serialize>(path: &Path, value: &T) -> Result<Vec<u8>> {
    let mut bytes = serde_json::to_vec_pretty(value)
        .map_err(|e| Error::Other(format!("{}: cannot serialise: {e}", path.display())))?;
    bytes.push(b'\n');
    Ok(bytes)
}

/// Reads and parses a JSON file.
pub fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    serde_json::from_slice(&bytes).map_err(|e| Error::Input {
        path: path.to_owned(),
        message: format!("invalid JSON: {e}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_atomic_creates_parent_and_replaces_content() -> Result<()> {
        let dir = tempfile::tempdir().map_err(|e| Error::io("tmp", e))?;
        let path = dir.path().join("a/b/c.json");
        write_atomic(&path, b"one")?;
        write_atomic(&path, b"two")?;
        assert_eq!(
            std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?,
            "two"
        );
        let leftovers: Vec<_> = std::fs::read_dir(path.parent().unwrap_or(dir.path()))
            .map_err(|e| Error::io(dir.path(), e))?
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().starts_with(".tmp-"))
            .collect();
        assert!(
            leftovers.is_empty(),
            "temp files left behind: {leftovers:?}"
        );
        Ok(())
    }

    #[test]
    fn stale_temp_files_are_removed_and_nothing_else() -> Result<()> {
        let dir = tempfile::tempdir().map_err(|e| Error::io("tmp", e))?;
        let keep = dir.path().join("options.md");
        write_atomic(&keep, b"kept")?;
        std::fs::write(dir.path().join(".tmp-AbC123"), "half").map_err(|e| Error::io("w", e))?;
        std::fs::write(dir.path().join(".hidden"), "mine").map_err(|e| Error::io("w", e))?;
        assert_eq!(remove_stale_temps(dir.path()), 1);
        let mut names: Vec<String> = std::fs::read_dir(dir.path())
            .map_err(|e| Error::io(dir.path(), e))?
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, [".hidden", "options.md"]);
        assert_eq!(remove_stale_temps(&dir.path().join("missing")), 0);
        Ok(())
    }

    #[test]
    fn deferred_writes_are_visible_at_once_and_synced_together() -> Result<()> {
        let dir = tempfile::tempdir().map_err(|e| Error::io("tmp", e))?;
        let d = Deferred::default();
        let a = dir.path().join("x/a.md");
        let b = dir.path().join("b.json");
        d.write_staged(&a, &dir.path().join("tmp"), b"alpha")?;
        std::fs::write(&b, "{}").map_err(|e| Error::io(&b, e))?;
        d.add(&b);
        d.add(&dir.path().join("gone.json"));
        assert_eq!(std::fs::read(&a).map_err(|e| Error::io(&a, e))?, b"alpha");
        let taken = d.take();
        assert_eq!(taken.len(), 3);
        sync_paths(&taken)?;
        assert!(d.take().is_empty(), "taking forgets what was taken");
        sync_paths(&[])?;
        Ok(())
    }
}
