//! The file transport between the supervisor and the agents.
//!
//! The supervisor writes `tasks/<task-id>.json`, the agent of the task's role writes
//! `results/<task-id>.json`; both are written as a temp file (in the session's `tmp/`, which nobody
//! watches) plus a rename, so a reader sees a whole file or none, and a watcher one event. Files rather than pipes or sockets: they are durable (a crash loses nothing, a
//! resumed session finds every finished result), readable by people, and an external CLI agent can
//! take part through the same contract. [`DirWatcher`] tells a process when a file appears:
//! inotify (through `notify`) for speed, plus a periodic rescan because file system events can be
//! lost (network file systems, overflowing queues, watchers set up late). Events are not
//! debounced: every file appears by one rename, so the first event already sees it whole, and a
//! debounce window would add its length to every hop between the supervisor and an agent.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::mpsc as std_mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use notify::{RecommendedWatcher, RecursiveMode, Watcher};
use tokio::sync::mpsc;

use crate::paths::SessionPaths;
use osutil::{Deferred, json_bytes, read_json, write_json_atomic, write_staged_unsynced};
use protocol::error::{Error, Result};
use protocol::{Task, TaskResult};

/// How often [`DirWatcher`] rescans its directories by default.
pub(crate) const DEFAULT_RESCAN: Duration = Duration::from_secs(1);

/// Writes `tasks/<id>.json` atomically.
pub fn write_task(paths: &SessionPaths, task: &Task) -> Result<()> {
    check_id(&task.id)?;
    write_json_atomic(&paths.task(&task.id), task)
}

/// Writes `tasks/<id>.json` atomically without waiting for the disk; `deferred` syncs it later
/// (the supervisor's journal sync), so the agent can start on it at once.
pub(crate) fn write_task_deferred(
    paths: &SessionPaths,
    task: &Task,
    deferred: &Deferred,
) -> Result<()> {
    check_id(&task.id)?;
    let path = paths.task(&task.id);
    deferred.write_staged(&path, &paths.staging(), &json_bytes(&path, task)?)
}

/// Writes `results/<id>.json` atomically, unsynced: the supervisor syncs a result before its
/// journal records it (a process crash loses nothing; the page cache survives it).
pub fn write_result(paths: &SessionPaths, result: &TaskResult) -> Result<()> {
    check_id(&result.task_id)?;
    let path = paths.result(&result.task_id);
    write_staged_unsynced(&path, &paths.staging(), &json_bytes(&path, result)?)
}

/// Reads `tasks/<id>.json`: None when absent; an error naming the file when it cannot be parsed
/// or holds another task.
pub(crate) fn read_task(paths: &SessionPaths, id: &str) -> Result<Option<Task>> {
    read_own(&paths.task(id), id, |t: &Task| {
        (t.id != id).then(|| format!("holds task `{}`, expected `{id}`", t.id))
    })
}

/// Reads `results/<id>.json`: None when absent; an error naming the file when it cannot be parsed
/// or holds the result of another task.
pub fn read_result(paths: &SessionPaths, id: &str) -> Result<Option<TaskResult>> {
    read_own(&paths.result(id), id, |r: &TaskResult| {
        (r.task_id != id).then(|| format!("holds the result of `{}`, expected `{id}`", r.task_id))
    })
}

/// Reads the transport file of task `id` at `path`: None when absent; an error naming the file
/// when `mismatch` finds it holds another task's.
fn read_own<T: serde::de::DeserializeOwned>(
    path: &Path,
    id: &str,
    mismatch: impl Fn(&T) -> Option<String>,
) -> Result<Option<T>> {
    check_id(id)?;
    let Some(value) = read_optional::<T>(path)? else {
        return Ok(None);
    };
    match mismatch(&value) {
        Some(message) => Err(Error::Input {
            path: path.to_owned(),
            message,
        }),
        None => Ok(Some(value)),
    }
}

/// Reads a task file by path (as delivered by [`DirWatcher`]); None when it is gone.
pub(crate) fn read_task_file(path: &Path) -> Result<Option<Task>> {
    read_optional(path)
}

/// Whether `results/<id>.json` exists.
pub(crate) fn result_exists(paths: &SessionPaths, id: &str) -> bool {
    paths.result(id).is_file()
}

/// The task id a transport file stands for: its name without `.json`. None for anything else
/// (temp files start with `.`, other extensions).
pub fn file_id(path: &Path) -> Option<String> {
    let name = path.file_name()?.to_str()?;
    let id = name.strip_suffix(".json")?;
    if id.is_empty() || name.starts_with('.') {
        return None;
    }
    Some(id.to_string())
}

fn read_optional<T: serde::de::DeserializeOwned>(path: &Path) -> Result<Option<T>> {
    match std::fs::metadata(path) {
        Ok(_) => read_json(path).map(Some),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io(path, e)),
    }
}

/// Task ids become file names: no separators, no leading dot.
fn check_id(id: &str) -> Result<()> {
    let ok = !id.is_empty()
        && !id.starts_with('.')
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
    if ok {
        Ok(())
    } else {
        Err(Error::Invalid(format!(
            "task id `{id}` cannot be a file name: use letters, digits, `.`, `-` and `_`, not starting with `.`"
        )))
    }
}

/// What identifies one version of a file, to report a path once per change.
type Stamp = (Option<SystemTime>, u64);

/// Reports each new or changed `*.json` file of some directories (temp files are ignored), once
/// per version, including the files present when it starts. Stops when dropped.
pub struct DirWatcher {
    rx: mpsc::UnboundedReceiver<PathBuf>,
    _events: Option<RecommendedWatcher>,
    _stop: std_mpsc::Sender<()>,
}

/// The shared "have we reported this version" filter.
#[derive(Clone)]
struct Reporter {
    seen: Arc<Mutex<HashMap<PathBuf, Stamp>>>,
    tx: mpsc::UnboundedSender<PathBuf>,
}

impl Reporter {
    fn offer(&self, path: &Path) {
        if file_id(path).is_none() {
            return;
        }
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        let Ok(meta) = std::fs::metadata(path) else {
            seen.remove(path);
            return;
        };
        if !meta.is_file() {
            return;
        }
        let stamp = (meta.modified().ok(), meta.len());
        if seen.get(path) != Some(&stamp) {
            seen.insert(path.to_path_buf(), stamp);
            let _ = self.tx.send(path.to_path_buf());
        }
    }

    fn scan(&self, dirs: &[PathBuf]) {
        for dir in dirs {
            let Ok(entries) = std::fs::read_dir(dir) else {
                continue;
            };
            let mut paths: Vec<PathBuf> =
                entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
            paths.sort();
            for p in paths {
                self.offer(&p);
            }
        }
    }
}

impl DirWatcher {
    /// Watches `dirs` (created when missing) with file system events and a rescan every second.
    pub fn new(dirs: &[PathBuf]) -> Result<Self> {
        Self::with_options(dirs, DEFAULT_RESCAN, true)
    }

    /// `rescan`: the fallback interval. `events`: false to rely on the rescan alone (tests of the
    /// fallback, file systems without inotify).
    pub fn with_options(dirs: &[PathBuf], rescan: Duration, events: bool) -> Result<Self> {
        for d in dirs {
            std::fs::create_dir_all(d).map_err(|e| Error::io(d, e))?;
        }
        let (tx, rx) = mpsc::unbounded_channel();
        let reporter = Reporter {
            seen: Arc::new(Mutex::new(HashMap::new())),
            tx,
        };
        let watcher = if events {
            match watch_events(dirs, reporter.clone()) {
                Ok(d) => Some(d),
                Err(e) => {
                    tracing::warn!("file events unavailable ({e}); rescanning every {rescan:?}");
                    None
                }
            }
        } else {
            None
        };
        // Files already there: reported before `new` returns, in name order.
        reporter.scan(dirs);
        let (stop_tx, stop_rx) = std_mpsc::channel::<()>();
        let dirs = dirs.to_vec();
        std::thread::Builder::new()
            .name("agentmux-rescan".into())
            .spawn(move || {
                while let Err(std_mpsc::RecvTimeoutError::Timeout) = stop_rx.recv_timeout(rescan) {
                    reporter.scan(&dirs);
                }
            })
            .map_err(|e| Error::Other(format!("cannot start the rescan thread: {e}")))?;
        Ok(Self {
            rx,
            _events: watcher,
            _stop: stop_tx,
        })
    }

    /// The next new or changed file.
    pub async fn recv(&mut self) -> Option<PathBuf> {
        self.rx.recv().await
    }

    /// A file that is already waiting, without blocking.
    pub fn try_recv(&mut self) -> Option<PathBuf> {
        self.rx.try_recv().ok()
    }
}

fn watch_events(
    dirs: &[PathBuf],
    reporter: Reporter,
) -> std::result::Result<RecommendedWatcher, String> {
    let handler = move |res: notify::Result<notify::Event>| match res {
        Ok(event) => {
            for p in &event.paths {
                reporter.offer(p);
            }
        }
        Err(e) => tracing::warn!("file watcher: {e}"),
    };
    let mut watcher = notify::recommended_watcher(handler).map_err(|e| e.to_string())?;
    for d in dirs {
        watcher
            .watch(d, RecursiveMode::NonRecursive)
            .map_err(|e| format!("{}: {e}", d.display()))?;
    }
    Ok(watcher)
}

#[cfg(test)]
mod tests {
    use jiff::Timestamp;

    use super::*;
    use protocol::{ChatMessage, OutputSpec, Stage, TaskKind, TaskOutcome, Usage};

    fn task(id: &str) -> Task {
        Task {
            id: id.into(),
            session_id: "s".into(),
            role: "architect".into(),
            stage: Stage::Options,
            round: 1,
            attempt: 1,
            kind: TaskKind::Draft,
            title: "Draft the options".into(),
            messages: vec![ChatMessage::user("hi")],
            output: OutputSpec::Text,
            model: None,
            temperature: None,
            max_tokens: None,
            item_ids: vec![],
            parts: vec![],
            tools: None,
            created_at: Timestamp::UNIX_EPOCH,
        }
    }

    fn result(id: &str) -> TaskResult {
        TaskResult {
            task_id: id.into(),
            role: "architect".into(),
            started_at: Timestamp::UNIX_EPOCH,
            finished_at: Timestamp::UNIX_EPOCH,
            outcome: TaskOutcome::Completed {
                text: "ok".into(),
                json: None,
                usage: Usage::default(),
                model: "m".into(),
                finish_reason: None,
                retries: 0,
                cost_usd: None,
            },
        }
    }

    fn session() -> (tempfile::TempDir, SessionPaths) {
        let dir = tempfile::tempdir().unwrap();
        let paths = SessionPaths::new(dir.path().join("s"));
        paths.create_all().unwrap();
        (dir, paths)
    }

    #[test]
    fn tasks_and_results_round_trip_and_absent_files_are_none() {
        let (_d, paths) = session();
        assert_eq!(read_task(&paths, "a.b").unwrap(), None);
        assert_eq!(read_result(&paths, "a.b").unwrap(), None);
        write_task(&paths, &task("a.b")).unwrap();
        write_result(&paths, &result("a.b")).unwrap();
        assert_eq!(read_task(&paths, "a.b").unwrap(), Some(task("a.b")));
        assert_eq!(read_result(&paths, "a.b").unwrap(), Some(result("a.b")));
        assert!(result_exists(&paths, "a.b"));
        let names: Vec<String> = std::fs::read_dir(paths.tasks())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["a.b.json"], "no temp file may stay behind");
    }

    #[test]
    fn staged_writes_show_the_watched_directories_only_the_final_files() {
        let (_d, paths) = session();
        // A session made before `tmp/` existed: the first write creates it.
        let _ = std::fs::remove_dir(paths.staging());
        let seen = Arc::new(Mutex::new(Vec::<PathBuf>::new()));
        let sink = seen.clone();
        let mut watcher = notify::recommended_watcher(move |e: notify::Result<notify::Event>| {
            if let Ok(e) = e {
                sink.lock().unwrap().extend(e.paths);
            }
        })
        .unwrap();
        for d in [paths.tasks(), paths.results()] {
            watcher.watch(&d, RecursiveMode::NonRecursive).unwrap();
        }
        let deferred = Deferred::default();
        write_task_deferred(&paths, &task("s.t"), &deferred).unwrap();
        write_result(&paths, &result("s.t")).unwrap();
        assert_eq!(deferred.take(), [paths.task("s.t")]);
        assert_eq!(read_task(&paths, "s.t").unwrap(), Some(task("s.t")));
        assert_eq!(read_result(&paths, "s.t").unwrap(), Some(result("s.t")));
        // Time for both events to arrive, then for any stray one; what they name is checked below.
        let _ = test_support::wait::try_wait_for(
            Duration::from_secs(5),
            test_support::wait::POLL,
            || (seen.lock().unwrap().len() >= 2).then_some(()),
        );
        std::thread::sleep(Duration::from_millis(100));
        let seen = seen.lock().unwrap().clone();
        assert!(!seen.is_empty());
        for p in &seen {
            assert!(
                *p == paths.task("s.t") || *p == paths.result("s.t"),
                "a watcher saw {}",
                p.display()
            );
        }
        assert_eq!(std::fs::read_dir(paths.staging()).unwrap().count(), 0);
    }

    #[test]
    fn a_half_written_file_is_an_error_naming_it() {
        let (_d, paths) = session();
        std::fs::write(paths.result("x"), "{\"task_id\": \"x\", \"ro").unwrap();
        let err = read_result(&paths, "x").unwrap_err().to_string();
        assert!(err.contains("results/x.json"), "{err}");
        write_task(&paths, &task("y")).unwrap();
        std::fs::rename(paths.task("y"), paths.task("z")).unwrap();
        let err = read_task(&paths, "z").unwrap_err().to_string();
        assert!(err.contains("holds task `y`"), "{err}");
    }

    #[test]
    fn unsafe_ids_are_refused() {
        let (_d, paths) = session();
        for bad in ["../x", ".hidden", "a/b", ""] {
            assert!(write_task(&paths, &task(bad)).is_err(), "{bad}");
        }
        assert_eq!(file_id(Path::new("/t/.tmp-abc")), None);
        assert_eq!(file_id(Path::new("/t/x.json.tmp")), None);
        assert_eq!(file_id(Path::new("/t/x.json")), Some("x".into()));
    }

    async fn next(w: &mut DirWatcher) -> PathBuf {
        tokio::time::timeout(Duration::from_secs(10), w.recv())
            .await
            .expect("the watcher reported nothing within 10 s")
            .expect("watcher closed")
    }

    #[tokio::test]
    async fn the_watcher_reports_existing_then_new_files_once_and_skips_temp_files() {
        let (_d, paths) = session();
        write_task(&paths, &task("old")).unwrap();
        // Long rescan interval: the new file must come from file system events.
        let mut w =
            DirWatcher::with_options(&[paths.tasks()], Duration::from_secs(3600), true).unwrap();
        assert_eq!(next(&mut w).await, paths.task("old"));
        std::fs::write(paths.tasks().join(".tmp-123"), "{").unwrap();
        write_task(&paths, &task("new")).unwrap();
        assert_eq!(next(&mut w).await, paths.task("new"));
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(w.try_recv(), None, "each version is reported once");
    }

    #[tokio::test]
    async fn the_rescan_finds_files_without_file_system_events() {
        let (_d, paths) = session();
        let mut w =
            DirWatcher::with_options(&[paths.results()], Duration::from_millis(50), false).unwrap();
        assert_eq!(w.try_recv(), None);
        write_result(&paths, &result("r1")).unwrap();
        assert_eq!(next(&mut w).await, paths.result("r1"));
        // A rewrite with different content is a new version.
        let mut r = result("r1");
        r.role = "code-reviewer".into();
        write_result(&paths, &r).unwrap();
        assert_eq!(next(&mut w).await, paths.result("r1"));
    }
}
