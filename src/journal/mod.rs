//! The session journal: `journal.jsonl`, append-only typed events, one writer.
//!
//! The supervisor is the only writer while it runs (it holds the session lock, see [`lock`]);
//! short-lived commands write only after taking the same lock. Every event is flushed to disk
//! (`fsync`) before the writer acts on it, so after a crash the journal never claims more than
//! happened. Session state is a fold of the events ([`state::SessionState`]); a torn or corrupted
//! line is skipped with a warning, never fatal.

pub(crate) mod lock;
pub(crate) mod writer;

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use jiff::Timestamp;

use protocol::error::{Error, Result};
use protocol::{Event, JournalRecord};

pub(crate) use workflow::state::SessionState;

/// A line of the journal that could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SkippedLine {
    pub line: usize,
    pub reason: String,
}

/// Reads every record; bad lines are returned separately instead of failing.
pub(crate) fn read(path: &Path) -> Result<(Vec<JournalRecord>, Vec<SkippedLine>)> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((Vec::new(), Vec::new())),
        Err(e) => return Err(Error::io(path, e)),
    };
    let mut records = Vec::new();
    let mut skipped = Vec::new();
    for (i, line) in BufReader::new(file).split(b'\n').enumerate() {
        let line = line.map_err(|e| Error::io(path, e))?;
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match serde_json::from_slice::<JournalRecord>(&line) {
            Ok(r) => records.push(r),
            Err(e) => skipped.push(SkippedLine {
                line: i + 1,
                reason: e.to_string(),
            }),
        }
    }
    Ok((records, skipped))
}

/// Folds a journal file into session state, logging skipped lines.
pub(crate) fn load_state(path: &Path) -> Result<(SessionState, Vec<SkippedLine>)> {
    let (records, skipped) = read(path)?;
    for s in &skipped {
        tracing::warn!(
            "{}:{}: skipped an unreadable journal line ({})",
            path.display(),
            s.line,
            s.reason
        );
    }
    Ok((SessionState::fold(&records), skipped))
}

/// The single writer of a journal.
pub(crate) struct Journal {
    path: PathBuf,
    sink: Sink,
    next_seq: u64,
    /// Records written (readers see them) but not yet flushed to the disk.
    unsynced: bool,
}

/// Where appended records go.
enum Sink {
    /// Written by the caller's thread (short-lived commands).
    Direct(File),
    /// Queued for a [`writer::Writer`] thread (the supervisor).
    Background(writer::Writer),
}

impl Journal {
    /// Opens (creating if needed) a journal for appending. The caller must hold the session lock.
    pub(crate) fn open(path: &Path) -> Result<(Journal, Vec<JournalRecord>, Vec<SkippedLine>)> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        }
        let (records, skipped) = read(path)?;
        let mut file = OpenOptions::new()
            .create(true)
            .read(true)
            .append(true)
            .open(path)
            .map_err(|e| Error::io(path, e))?;
        // A torn last line (crash mid-write) has no newline: start the next record on a fresh line.
        let len = file.metadata().map_err(|e| Error::io(path, e))?.len();
        if len > 0 {
            let mut last = [0u8; 1];
            file.seek(SeekFrom::Start(len - 1))
                .map_err(|e| Error::io(path, e))?;
            file.read_exact(&mut last).map_err(|e| Error::io(path, e))?;
            if last[0] != b'\n' {
                file.write_all(b"\n").map_err(|e| Error::io(path, e))?;
                file.sync_data().map_err(|e| Error::io(path, e))?;
            }
        }
        let next_seq = records.last().map(|r| r.seq + 1).unwrap_or(1);
        Ok((
            Journal {
                path: path.to_owned(),
                sink: Sink::Direct(file),
                next_seq,
                unsynced: false,
            },
            records,
            skipped,
        ))
    }

    /// Hands the file to a writer thread: from now on appends and syncs are queued and the
    /// caller never waits for the disk, except in [`Journal::sync`].
    pub(crate) fn write_in_background(&mut self) -> Result<()> {
        if let Sink::Direct(file) = &self.sink {
            let file = file.try_clone().map_err(|e| Error::io(&self.path, e))?;
            self.sink = Sink::Background(writer::Writer::start(&self.path, file)?);
        }
        Ok(())
    }

    /// Makes `paths` durable before any record appended after this call is written.
    pub(crate) fn sync_files_first(&mut self, paths: Vec<std::path::PathBuf>) -> Result<()> {
        if paths.is_empty() {
            return Ok(());
        }
        match &self.sink {
            Sink::Direct(_) => osutil::sync_paths(&paths),
            Sink::Background(w) => w.sync_files(paths),
        }
    }

    /// Writes a file atomically (temp file, fsync, rename) before any record appended after
    /// this call: on the writer thread when there is one, so a slow disk never holds up the
    /// caller (replacing a file can wait for the disk on ext4).
    pub(crate) fn write_file(&mut self, path: PathBuf, bytes: Vec<u8>) -> Result<()> {
        match &self.sink {
            Sink::Direct(_) => osutil::write_atomic(&path, &bytes),
            Sink::Background(w) => w.write_file(path, bytes),
        }
    }

    /// Appends one event and flushes it durably before returning.
    pub(crate) fn append(&mut self, event: Event) -> Result<JournalRecord> {
        let record = self.append_unsynced(event)?;
        self.sync()?;
        Ok(record)
    }

    /// Appends one event without waiting for the disk: readers of the file see it at once, a
    /// killed process loses nothing (the kernel holds it), and [`Journal::sync`] makes it
    /// survive a power loss too. The supervisor writes the events of one step this way and
    /// syncs once before it waits: one flush per step instead of one per event.
    pub(crate) fn append_unsynced(&mut self, event: Event) -> Result<JournalRecord> {
        let record = JournalRecord {
            seq: self.next_seq,
            at: Timestamp::now(),
            event,
        };
        let mut line = serde_json::to_vec(&record).map_err(|e| {
            Error::Other(format!("internal: cannot serialise a journal event: {e}"))
        })?;
        line.push(b'\n');
        match &mut self.sink {
            Sink::Direct(file) => file
                .write_all(&line)
                .map_err(|e| Error::io(&self.path, e))?,
            Sink::Background(w) => w.append(line)?,
        }
        self.unsynced = true;
        self.next_seq += 1;
        Ok(record)
    }

    /// Flushes every record appended so far to the disk and waits for it (nothing to do when
    /// all are).
    pub(crate) fn sync(&mut self) -> Result<()> {
        if self.unsynced {
            match &self.sink {
                Sink::Direct(file) => file.sync_data().map_err(|e| Error::io(&self.path, e))?,
                Sink::Background(w) => w.sync()?,
            }
            self.unsynced = false;
        }
        Ok(())
    }

    /// Starts flushing every record appended so far without waiting for it (the same as
    /// [`Journal::sync`] without a writer thread). An error of an earlier background write is
    /// returned here.
    pub(crate) fn sync_soon(&mut self) -> Result<()> {
        match &self.sink {
            Sink::Direct(_) => self.sync(),
            Sink::Background(w) => {
                if self.unsynced {
                    w.sync_soon()?;
                    self.unsynced = false;
                }
                w.check()
            }
        }
    }
}

impl Drop for Journal {
    fn drop(&mut self) {
        if let Err(e) = self.sync() {
            tracing::warn!("{e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::Stage;

    #[test]
    fn appends_are_read_back_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("journal.jsonl");
        let (mut j, recs, _) = Journal::open(&p).unwrap();
        assert!(recs.is_empty());
        j.append(Event::StageEntered {
            stage: Stage::Options,
        })
        .unwrap();
        j.append(Event::Resumed).unwrap();
        let (recs, skipped) = read(&p).unwrap();
        assert!(skipped.is_empty());
        assert_eq!(recs.iter().map(|r| r.seq).collect::<Vec<_>>(), vec![1, 2]);
        assert_eq!(recs[1].event, Event::Resumed);
    }

    #[test]
    fn unsynced_appends_are_visible_at_once_and_numbered_with_the_synced_ones() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("journal.jsonl");
        let (mut j, _, _) = Journal::open(&p).unwrap();
        j.append_unsynced(Event::Resumed).unwrap();
        assert!(j.unsynced);
        // Another process (status, wait) reads it before any flush.
        assert_eq!(read(&p).unwrap().0.len(), 1);
        j.append(Event::Completed).unwrap();
        assert!(!j.unsynced, "append flushes what came before it too");
        j.append_unsynced(Event::Resumed).unwrap();
        j.sync().unwrap();
        assert!(!j.unsynced);
        let seqs: Vec<u64> = read(&p).unwrap().0.iter().map(|r| r.seq).collect();
        assert_eq!(seqs, vec![1, 2, 3]);
    }

    #[test]
    fn a_background_journal_writes_files_first_then_records_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("journal.jsonl");
        let (mut j, _, _) = Journal::open(&p).unwrap();
        j.append(Event::Resumed).unwrap();
        j.write_in_background().unwrap();
        let artifact = dir.path().join("a.md");
        osutil::write_atomic_unsynced(&artifact, b"doc").unwrap();
        j.sync_files_first(vec![artifact, dir.path().join("gone.md")])
            .unwrap();
        let deliverable = dir.path().join("specs/options.md");
        j.write_file(deliverable.clone(), b"options".to_vec())
            .unwrap();
        for _ in 0..50 {
            j.append_unsynced(Event::StageEntered {
                stage: Stage::Options,
            })
            .unwrap();
        }
        j.sync_soon().unwrap();
        j.append_unsynced(Event::Completed).unwrap();
        j.sync().unwrap();
        let seqs: Vec<u64> = read(&p).unwrap().0.iter().map(|r| r.seq).collect();
        assert_eq!(seqs, (1..=52).collect::<Vec<_>>(), "every record, in order");
        assert_eq!(std::fs::read(&deliverable).unwrap(), b"options");
        j.append_unsynced(Event::Stopped).unwrap();
        drop(j);
        let (recs, skipped) = read(&p).unwrap();
        assert!(skipped.is_empty());
        assert_eq!(
            recs.last().unwrap().event,
            Event::Stopped,
            "drop flushes the queue"
        );
    }

    #[test]
    fn torn_last_line_is_skipped_and_the_next_append_starts_fresh() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("journal.jsonl");
        {
            let (mut j, _, _) = Journal::open(&p).unwrap();
            j.append(Event::Resumed).unwrap();
        }
        // Simulate a crash in the middle of writing the second record.
        let mut f = OpenOptions::new().append(true).open(&p).unwrap();
        f.write_all(br#"{"seq":2,"at":"2026-11-22T00:00:00Z","type":"stage_ent"#)
            .unwrap();
        drop(f);
        let (mut j, recs, skipped) = Journal::open(&p).unwrap();
        assert_eq!(recs.len(), 1);
        assert_eq!(skipped.len(), 1);
        assert_eq!(skipped[0].line, 2);
        j.append(Event::Stopped).unwrap();
        let (recs, skipped) = read(&p).unwrap();
        assert_eq!(recs.len(), 2, "the new record must survive the torn line");
        assert_eq!(recs[1].event, Event::Stopped);
        assert_eq!(recs[1].seq, 2);
        assert_eq!(skipped.len(), 1);
    }

    #[test]
    fn a_corrupted_middle_line_is_skipped_not_fatal() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("journal.jsonl");
        {
            let (mut j, _, _) = Journal::open(&p).unwrap();
            j.append(Event::Resumed).unwrap();
        }
        let mut f = OpenOptions::new().append(true).open(&p).unwrap();
        f.write_all(b"\x00\xffgarbage\n").unwrap();
        drop(f);
        {
            let (mut j, _, _) = Journal::open(&p).unwrap();
            j.append(Event::Completed).unwrap();
        }
        let (state, skipped) = load_state(&p).unwrap();
        assert_eq!(skipped.len(), 1);
        assert_eq!(state.status(), protocol::SessionStatus::Completed);
    }
}
