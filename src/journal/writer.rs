//! The journal's background writer: the supervisor's disk work, off its event loop.
//!
//! An fsync is usually quick but sometimes stalls for far longer; done inline, a stall delays
//! the handling of every result that arrives meanwhile. The supervisor therefore
//! hands its journal (and the syncs of the files the journal mentions) to this thread and goes
//! on. Operations run strictly in order, and a record is written to the journal only after the
//! files written before it are synced, so even after a power loss the journal never names a file
//! that is not on disk. A killed supervisor loses at most the records still queued: nothing it
//! acted on is lost, because tasks and results are files of their own and are reused on resume.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use protocol::error::{Error, Result};

enum Op {
    /// fsync these files and their directories.
    SyncFiles(Vec<PathBuf>),
    /// Append these bytes to the journal.
    Append(Vec<u8>),
    /// fdatasync the journal.
    Sync,
    /// Write a file atomically (see [`osutil::write_atomic`]).
    WriteFile(PathBuf, Vec<u8>),
    /// Acknowledge once everything before it is done.
    Barrier(Sender<()>),
}

/// The writer thread of one journal file.
pub(crate) struct Writer {
    tx: Option<Sender<Op>>,
    thread: Option<JoinHandle<()>>,
    failed: Arc<Mutex<Option<String>>>,
}

impl Writer {
    /// Starts the thread; it owns `file` from now on.
    pub(crate) fn start(path: &Path, file: File) -> Result<Writer> {
        let (tx, rx) = mpsc::channel();
        let failed = Arc::new(Mutex::new(None));
        let thread = std::thread::Builder::new()
            .name("journal-writer".into())
            .spawn({
                let failed = failed.clone();
                let path = path.to_owned();
                move || run(&path, file, rx, &failed)
            })
            .map_err(|e| Error::Other(format!("cannot start the journal writer: {e}")))?;
        Ok(Writer {
            tx: Some(tx),
            thread: Some(thread),
            failed,
        })
    }

    pub(crate) fn append(&self, line: Vec<u8>) -> Result<()> {
        self.send(Op::Append(line))
    }

    pub(crate) fn write_file(&self, path: PathBuf, bytes: Vec<u8>) -> Result<()> {
        self.send(Op::WriteFile(path, bytes))
    }

    pub(crate) fn sync_files(&self, paths: Vec<PathBuf>) -> Result<()> {
        self.send(Op::SyncFiles(paths))
    }

    /// Queues a journal flush and returns at once.
    pub(crate) fn sync_soon(&self) -> Result<()> {
        self.send(Op::Sync)
    }

    /// Flushes the journal and waits until everything queued so far is on disk.
    pub(crate) fn sync(&self) -> Result<()> {
        self.send(Op::Sync)?;
        let (ack_tx, ack_rx) = mpsc::channel();
        self.send(Op::Barrier(ack_tx))?;
        let _ = ack_rx.recv();
        self.check()
    }

    /// The first error the thread met, if any: every later operation was skipped.
    pub(crate) fn check(&self) -> Result<()> {
        match &*self.failed.lock().unwrap_or_else(|e| e.into_inner()) {
            Some(msg) => Err(Error::Other(msg.clone())),
            None => Ok(()),
        }
    }

    fn send(&self, op: Op) -> Result<()> {
        self.check()?;
        let tx = self.tx.as_ref().ok_or_else(stopped)?;
        tx.send(op).map_err(|_| stopped())
    }
}

fn stopped() -> Error {
    Error::Other("internal: the journal writer has stopped".into())
}

impl Drop for Writer {
    fn drop(&mut self) {
        if let Some(tx) = self.tx.take() {
            let _ = tx.send(Op::Sync);
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn run(path: &Path, mut file: File, rx: Receiver<Op>, failed: &Mutex<Option<String>>) {
    let mut ok = true;
    for op in rx {
        let result = match op {
            Op::Barrier(ack) => {
                let _ = ack.send(());
                continue;
            }
            _ if !ok => continue,
            Op::SyncFiles(paths) => osutil::sync_paths(&paths),
            Op::Append(line) => file.write_all(&line).map_err(|e| Error::io(path, e)),
            Op::Sync => file.sync_data().map_err(|e| Error::io(path, e)),
            Op::WriteFile(to, bytes) => osutil::write_atomic(&to, &bytes),
        };
        if let Err(e) = result {
            tracing::error!("journal writer: {e}");
            *failed.lock().unwrap_or_else(|e| e.into_inner()) = Some(e.to_string());
            ok = false;
        }
    }
}
