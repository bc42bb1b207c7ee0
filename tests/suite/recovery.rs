//! Pause, resume and crash recovery: nothing lost, no answered request repeated.

use std::time::Duration;

use super::support::design_team::Script;
use super::support::{Rig, repeated_requests};

const GOAL: &str = "A team link shortener with click statistics";
const JOURNEY: &str = "Alice shortens a URL, shares it, and reads the clicks on Friday";

/// A rig whose fake model answers every request after `latency_ms`.
fn slow_rig(latency_ms: u64) -> Rig {
    let rig = Rig::new(Script::default(), "workflow:\n  review_rounds: 2\n");
    rig.server
        .configure(|s| s.latency = Duration::from_millis(latency_ms));
    rig
}

fn start(rig: &Rig) {
    rig.cmd()
        .args(["start", "--detach", "--goal", GOAL, "--journey", JOURNEY])
        .assert()
        .success();
}

fn has(events: &[serde_json::Value], ty: &str) -> bool {
    events.iter().any(|e| e["type"] == ty)
}

fn count(events: &[serde_json::Value], ty: &str) -> usize {
    events.iter().filter(|e| e["type"] == ty).count()
}

/// An uninterrupted run's deliverables, for comparison.
fn reference() -> std::collections::BTreeMap<String, String> {
    let rig = Rig::new(Script::default(), "workflow:\n  review_rounds: 2\n");
    start(&rig);
    let (code, out) = rig.wait(120);
    assert_eq!(code, 0, "{out}");
    rig.deliverables()
}

#[test]
fn kill_9_of_the_supervisor_at_several_points_then_resume_completes_identically() {
    let expected = reference();
    let rig = slow_rig(150);
    start(&rig);
    // Points: just after the first dispatch, after the first review results, in the proposal.
    type Point = (&'static str, Box<dyn Fn(&[serde_json::Value]) -> bool>);
    let points: [Point; 3] = [
        (
            "the first dispatch",
            Box::new(|j| has(j, "task_dispatched")),
        ),
        (
            "the first feedback item",
            Box::new(|j| has(j, "feedback_recorded")),
        ),
        (
            "the proposal stage",
            Box::new(|j| {
                j.iter()
                    .any(|e| e["type"] == "stage_entered" && e["stage"] == "proposal")
            }),
        ),
    ];
    for (what, cond) in points {
        rig.wait_journal(60, what, cond);
        rig.kill_supervisor();
        let resumed = count(&rig.journal(), "resumed");
        rig.cmd().args(["resume", "--detach"]).assert().success();
        // The next kill is for the new supervisor once it runs: `resume` returns as soon as it
        // holds the lock, before it journals the resumption.
        rig.wait_journal(60, "the resumption", |j| count(j, "resumed") > resumed);
    }
    let (code, out) = rig.wait(120);
    assert_eq!(code, 0, "{out}");
    assert_eq!(
        rig.deliverables(),
        expected,
        "deliverables differ from an uninterrupted run"
    );
    // The agents kept running while the supervisor was down: nothing was asked twice.
    assert_eq!(
        repeated_requests(&rig.server),
        0,
        "a request was sent again"
    );
    assert!(count(&rig.journal(), "resumed") >= 3);
    rig.cmd().arg("validate").assert().success();
}

#[test]
fn killing_the_whole_tmux_server_then_resume_completes() {
    let rig = slow_rig(150);
    start(&rig);
    rig.wait_journal(60, "the options review", |j| {
        j.iter()
            .any(|e| e["type"] == "task_dispatched" && e["kind"]["kind"] == "review")
    });
    rig.tmux.tmux(&["kill-server"]);
    std::thread::sleep(Duration::from_millis(500));
    let answered_before = rig
        .journal()
        .iter()
        .filter(|e| e["type"] == "task_completed")
        .count();
    // Losing the host pauses (or stops) the session; it never fails it.
    let failed: Vec<_> = rig
        .journal()
        .into_iter()
        .filter(|e| e["type"] == "failed")
        .collect();
    assert!(failed.is_empty(), "the session failed: {failed:?}");
    rig.cmd().args(["resume", "--detach"]).assert().success();
    let (code, out) = rig.wait(120);
    assert_eq!(code, 0, "{out}");
    assert!(answered_before > 0);
    // Requests cut off by the kill may be sent again; answered ones never are.
    assert!(
        repeated_requests(&rig.server) <= 3,
        "too many repeated requests"
    );
    rig.cmd().arg("validate").assert().success();
}

#[test]
fn pause_stops_every_request_and_resume_finishes() {
    let rig = slow_rig(200);
    start(&rig);
    rig.wait_journal(60, "the options review", |j| {
        has(j, "feedback_recorded") || count(j, "task_completed") >= 2
    });
    rig.cmd().arg("pause").assert().success();
    let status = rig.status();
    assert_eq!(status["state"], "paused", "{status}");
    assert!(
        rig.tmux.sessions().is_empty(),
        "the tmux session closes on pause"
    );
    let before = rig.server.request_count();
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(
        rig.server.request_count(),
        before,
        "no request reaches the endpoint while paused"
    );
    // wait reports a paused session with exit code 3.
    let (code, _) = rig.wait(5);
    assert_eq!(code, 3);
    rig.cmd().args(["resume", "--detach"]).assert().success();
    let (code, out) = rig.wait(120);
    assert_eq!(code, 0, "{out}");
    let j = rig.journal();
    assert!(has(&j, "paused") && has(&j, "resumed") && has(&j, "completed"));
}

#[test]
fn a_second_supervisor_is_refused_and_start_points_to_resume() {
    let rig = slow_rig(300);
    start(&rig);
    rig.wait_journal(30, "the first dispatch", |j| has(j, "task_dispatched"));
    rig.cmd()
        .args(["resume", "--detach"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("is running"));
    rig.cmd()
        .args(["start", "--detach", "--goal", "another"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("agentmux resume"))
        .stderr(predicates::str::contains("--new"));
    rig.cmd().arg("stop").assert().success();
    let status = rig.status();
    assert_eq!(status["state"], "stopped", "{status}");
    assert!(rig.tmux.sessions().is_empty());
}
