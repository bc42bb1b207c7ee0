//! What each agent is doing right now, from facts on disk that need no cooperation from it.
//!
//! - Alive: `agents/<role>/heartbeat` was modified less than [`HEARTBEAT_FRESH`] ago. Only the
//!   file's modification time is used, never its content (the agent owns that format).
//! - Working: the journal has an in-flight task for the role.
//! - Streaming rather than waiting for the model: `agents/<role>/transcript.log` was written to
//!   in the last [`STREAMING_FRESH`] (stateless), or grew since the previous sample ([`AgentWatch`]),
//!   which also estimates tokens/s as (bytes grown / 4) per second.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant, SystemTime};

use super::{AgentLive, AgentState};
use crate::journal::SessionState;
use crate::paths::SessionPaths;
use protocol::TaskKind;
use workflow::state::{TaskRecord, TaskState};

/// A heartbeat younger than this means the agent process is alive (agents beat every few seconds).
pub(crate) const HEARTBEAT_FRESH: Duration = Duration::from_secs(15);

/// A transcript written to within this window means tokens are arriving.
pub(crate) const STREAMING_FRESH: Duration = Duration::from_secs(3);

/// How old a file's last modification is; `None` when it does not exist or has no mtime.
fn age(path: &Path, now: SystemTime) -> Option<Duration> {
    let modified = std::fs::metadata(path).ok()?.modified().ok()?;
    // A clock step backwards makes the file look modified in the future: count it as fresh.
    Some(now.duration_since(modified).unwrap_or(Duration::ZERO))
}

fn kind_words(kind: &TaskKind) -> String {
    match kind {
        TaskKind::Summarize => "summary".into(),
        TaskKind::Draft => "draft".into(),
        TaskKind::Contribute => "contribution".into(),
        TaskKind::Manifest => "manifest".into(),
        TaskKind::Change => "change proposal".into(),
        TaskKind::DesignDoc { file } => file.clone(),
        TaskKind::Review => "review".into(),
        TaskKind::Integrate => "integration".into(),
        TaskKind::IntegrateDoc { file } => format!("integration of {file}"),
        TaskKind::ReReview => "re-review".into(),
        TaskKind::Repair { of } => format!("repair of {}", kind_words(of)),
    }
}

/// A short human description of a task, e.g. `options review r1` or
/// `proposal repair of draft (attempt 2)`.
pub(crate) fn task_label(t: &TaskRecord) -> String {
    let mut s = format!("{} {}", t.stage, kind_words(&t.kind));
    if t.round > 0 {
        s.push_str(&format!(" r{}", t.round));
    }
    if t.attempt > 1 {
        s.push_str(&format!(" (attempt {})", t.attempt));
    }
    s
}

/// The role's in-flight task, the most recently dispatched one if there are several.
fn in_flight_task<'a>(state: &'a SessionState, role: &str) -> Option<&'a TaskRecord> {
    state
        .tasks
        .values()
        .filter(|t| t.role == role && t.state == TaskState::InFlight)
        .max_by_key(|t| t.dispatched_at)
}

/// Whether the role's most recently dispatched task failed.
fn last_task_failed(state: &SessionState, role: &str) -> bool {
    state
        .tasks
        .values()
        .filter(|t| t.role == role)
        .max_by_key(|t| (t.dispatched_at, t.attempt))
        .is_some_and(|t| matches!(t.state, TaskState::Failed { .. }))
}

/// The decision itself, separated from the file system so it is unit-tested on plain values.
fn decide(
    state: &SessionState,
    role: &str,
    heartbeat_age: Option<Duration>,
    streaming: bool,
) -> AgentLive {
    let alive = heartbeat_age.is_some_and(|a| a < HEARTBEAT_FRESH);
    let task = in_flight_task(state, role);
    let agent_state = if !alive {
        AgentState::Down
    } else if task.is_some() {
        if streaming {
            AgentState::Streaming
        } else {
            AgentState::WaitingForModel
        }
    } else if last_task_failed(state, role) {
        AgentState::Failed
    } else {
        AgentState::Idle
    };
    AgentLive {
        role: role.to_string(),
        state: agent_state,
        tokens_per_sec: None,
        task: task.map(task_label),
    }
}

/// One agent's live state from its heartbeat's age, the journal and its transcript's age.
/// Stateless, so it cannot measure speed: `tokens_per_sec` is `None` (see [`AgentWatch`]).
pub(crate) fn agent_live(paths: &SessionPaths, state: &SessionState, role: &str) -> AgentLive {
    let now = SystemTime::now();
    let heartbeat = age(&paths.heartbeat(role), now);
    let streaming = age(&paths.transcript(role), now).is_some_and(|a| a < STREAMING_FRESH);
    decide(state, role, heartbeat, streaming)
}

/// The transcript size seen at the previous sample.
#[derive(Clone, Copy, Debug)]
struct Sample {
    bytes: u64,
    at: Instant,
}

/// Samples agents over time, adding a tokens/s estimate from each transcript's growth between
/// two calls (bytes / 4 per second: a rough but honest rate for English text and code).
#[derive(Debug, Default)]
pub(crate) struct AgentWatch {
    last: BTreeMap<String, Sample>,
}

impl AgentWatch {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// The live state of each role, in the given order.
    pub(crate) fn sample(
        &mut self,
        paths: &SessionPaths,
        state: &SessionState,
        roles: &[String],
    ) -> Vec<AgentLive> {
        let now = Instant::now();
        roles
            .iter()
            .map(|role| {
                let bytes = std::fs::metadata(paths.transcript(role))
                    .map(|m| m.len())
                    .unwrap_or(0);
                let mut live = agent_live(paths, state, role);
                let prev = self.last.insert(role.clone(), Sample { bytes, at: now });
                let rate = prev.and_then(|p| rate(p, Sample { bytes, at: now }));
                if live.state == AgentState::WaitingForModel && rate.is_some_and(|r| r > 0.0) {
                    live.state = AgentState::Streaming;
                }
                if live.state == AgentState::Streaming {
                    live.tokens_per_sec = rate;
                }
                live
            })
            .collect()
    }
}

/// Tokens per second between two samples; `None` when too close in time or the file shrank.
fn rate(prev: Sample, cur: Sample) -> Option<f64> {
    let secs = cur.at.checked_duration_since(prev.at)?.as_secs_f64();
    if secs < 0.2 || cur.bytes < prev.bytes {
        return None;
    }
    Some((cur.bytes - prev.bytes) as f64 / 4.0 / secs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::{Event, JournalRecord, Stage, Usage};

    fn rec(seq: u64, event: Event) -> JournalRecord {
        JournalRecord {
            seq,
            at: jiff::Timestamp::from_second(1_800_000_000 + seq as i64).unwrap(),
            event,
        }
    }

    fn dispatched(seq: u64, role: &str, kind: TaskKind, round: u32, attempt: u32) -> JournalRecord {
        rec(
            seq,
            Event::TaskDispatched {
                task_id: protocol::task_id(Stage::Options, &kind, round, role, attempt),
                role: role.into(),
                stage: Stage::Options,
                round,
                attempt,
                kind,
            },
        )
    }

    const FRESH: Option<Duration> = Some(Duration::from_secs(1));

    #[test]
    fn no_or_stale_heartbeat_is_down_whatever_the_journal_says() {
        let s = SessionState::fold(&[dispatched(1, "architect", TaskKind::Draft, 0, 1)]);
        assert_eq!(decide(&s, "architect", None, true).state, AgentState::Down);
        let stale = Some(HEARTBEAT_FRESH + Duration::from_secs(1));
        assert_eq!(decide(&s, "architect", stale, true).state, AgentState::Down);
    }

    #[test]
    fn an_in_flight_task_is_streaming_or_waiting_and_is_described() {
        let s = SessionState::fold(&[dispatched(1, "code-reviewer", TaskKind::Review, 1, 2)]);
        let a = decide(&s, "code-reviewer", FRESH, false);
        assert_eq!(a.state, AgentState::WaitingForModel);
        assert_eq!(a.task.as_deref(), Some("options review r1 (attempt 2)"));
        assert_eq!(
            decide(&s, "code-reviewer", FRESH, true).state,
            AgentState::Streaming
        );
        assert_eq!(decide(&s, "architect", FRESH, true).state, AgentState::Idle);
    }

    #[test]
    fn a_failed_last_task_shows_until_the_next_dispatch() {
        let id = protocol::task_id(Stage::Options, &TaskKind::Draft, 0, "architect", 1);
        let failed = [
            dispatched(1, "architect", TaskKind::Draft, 0, 1),
            rec(
                2,
                Event::TaskFailed {
                    task_id: id,
                    role: "architect".into(),
                    error: "HTTP 500".into(),
                },
            ),
        ];
        let s = SessionState::fold(&failed);
        assert_eq!(
            decide(&s, "architect", FRESH, false).state,
            AgentState::Failed
        );
        let mut again = failed.to_vec();
        again.push(dispatched(3, "architect", TaskKind::Draft, 0, 2));
        let s = SessionState::fold(&again);
        assert_eq!(
            decide(&s, "architect", FRESH, false).state,
            AgentState::WaitingForModel
        );
        let id2 = protocol::task_id(Stage::Options, &TaskKind::Draft, 0, "architect", 2);
        again.push(rec(
            4,
            Event::TaskCompleted {
                task_id: id2,
                role: "architect".into(),
                stage: Stage::Options,
                usage: Usage::default(),
                cost_usd: None,
                elapsed_ms: 5,
            },
        ));
        let s = SessionState::fold(&again);
        assert_eq!(
            decide(&s, "architect", FRESH, false).state,
            AgentState::Idle
        );
    }

    #[test]
    fn repairs_are_labelled_by_what_they_repair() {
        let s = SessionState::fold(&[dispatched(
            1,
            "architect",
            TaskKind::Repair {
                of: Box::new(TaskKind::DesignDoc {
                    file: "api_design.md".into(),
                }),
            },
            0,
            2,
        )]);
        let a = decide(&s, "architect", FRESH, false);
        assert_eq!(
            a.task.as_deref(),
            Some("options repair of api_design.md (attempt 2)")
        );
    }

    #[test]
    fn rate_is_bytes_over_four_per_second() {
        let t0 = Instant::now();
        let a = Sample { bytes: 100, at: t0 };
        let b = Sample {
            bytes: 900,
            at: t0 + Duration::from_secs(2),
        };
        assert_eq!(rate(a, b), Some(100.0));
        assert_eq!(rate(b, a), None, "time going backwards");
        let shrunk = Sample {
            bytes: 10,
            at: t0 + Duration::from_secs(4),
        };
        assert_eq!(rate(b, shrunk), None);
    }

    #[test]
    fn agent_live_reads_the_heartbeat_and_transcript_ages_from_disk() {
        let dir = tempfile::tempdir().unwrap();
        let paths = SessionPaths::new(dir.path().to_path_buf());
        let s = SessionState::fold(&[dispatched(1, "architect", TaskKind::Draft, 0, 1)]);
        assert_eq!(agent_live(&paths, &s, "architect").state, AgentState::Down);
        std::fs::create_dir_all(paths.agent_dir("architect")).unwrap();
        // Content is irrelevant: only the modification time counts.
        std::fs::write(paths.heartbeat("architect"), "anything").unwrap();
        std::fs::write(paths.transcript("architect"), "# Options\n").unwrap();
        assert_eq!(
            agent_live(&paths, &s, "architect").state,
            AgentState::Streaming
        );
        let old = SystemTime::now() - Duration::from_secs(60);
        std::fs::File::options()
            .write(true)
            .open(paths.transcript("architect"))
            .unwrap()
            .set_modified(old)
            .unwrap();
        assert_eq!(
            agent_live(&paths, &s, "architect").state,
            AgentState::WaitingForModel
        );
        std::fs::File::options()
            .write(true)
            .open(paths.heartbeat("architect"))
            .unwrap()
            .set_modified(old)
            .unwrap();
        assert_eq!(agent_live(&paths, &s, "architect").state, AgentState::Down);
    }

    #[test]
    fn watch_reports_a_rate_only_from_the_second_sample() {
        let dir = tempfile::tempdir().unwrap();
        let paths = SessionPaths::new(dir.path().to_path_buf());
        std::fs::create_dir_all(paths.agent_dir("architect")).unwrap();
        std::fs::write(paths.heartbeat("architect"), "").unwrap();
        std::fs::write(paths.transcript("architect"), "x".repeat(40)).unwrap();
        let s = SessionState::fold(&[dispatched(1, "architect", TaskKind::Draft, 0, 1)]);
        let roles = vec!["architect".to_string()];
        let mut w = AgentWatch::new();
        let first = w.sample(&paths, &s, &roles);
        assert_eq!(first[0].state, AgentState::Streaming);
        assert_eq!(first[0].tokens_per_sec, None);
        // Pretend the previous sample was a second earlier with less text.
        w.last.insert(
            "architect".into(),
            Sample {
                bytes: 0,
                at: Instant::now() - Duration::from_secs(1),
            },
        );
        let second = w.sample(&paths, &s, &roles);
        let tps = second[0].tokens_per_sec.unwrap();
        assert!(tps > 0.0 && tps <= 10.0, "40 bytes in about 1 s: {tps}");
    }
}
