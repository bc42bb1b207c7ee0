//! What an agent pane shows while a JSON answer streams: the document it is becoming, not its
//! tokens. Real agents in a real tmux (private server), the fake model streaming slowly.

use std::time::Duration;

use protocol::{OutputSpec, TaskKind};
use serde_json::json;
use test_support::wait::wait_for;

use super::agent::Fixture;
use super::support::AgentmuxCmd as _;
use super::support::fake_openai::{FakeOpenAi, FakeReply};
use agentmux::{read_result, write_task};

const OPTIONS: &str = r#"{"summary": "A link shortener for one team.\nIt counts clicks per day.", "options": [{"title": "One service", "overview": "A single stateless service in front of PostgreSQL keeps the moving parts few.", "effort": "S"}, {"title": "Queue and workers", "overview": "Clicks go through a queue so that redirects never wait for the statistics.", "effort": "M"}], "comparison": "Option A wins on time to market; choose it."}"#;

const REVIEW: &str = r#"{"items": [{"category": "critical", "section": "Risks", "comment": "Nothing limits how many links one user creates.", "suggestion": "Add a quota."}, {"category": "question", "section": "General", "comment": "Who reads the statistics?", "suggestion": ""}]}"#;

fn json_task(
    f: &Fixture,
    role: &str,
    kind: TaskKind,
    prompt: &str,
    keys: &[&str],
) -> protocol::Task {
    let mut t = f.task(role, kind, prompt);
    let properties: serde_json::Map<String, serde_json::Value> =
        keys.iter().map(|k| (k.to_string(), json!({}))).collect();
    t.output = OutputSpec::Json {
        name: "doc".into(),
        schema: json!({"type": "object", "properties": properties}),
    };
    t
}

/// The pane's text with tmux's own line wraps joined (`-J`): a line longer than the pane shows
/// up as a joined line longer than its width.
fn capture_joined(f: &Fixture, pane: &str) -> String {
    f.server.tmux(&["capture-pane", "-p", "-J", "-t", pane])
}

/// The pane's text from the first task header on.
fn from_header(pane: &str) -> &str {
    &pane[pane.find("━━").unwrap_or(0)..]
}

#[test]
fn a_streaming_answer_shows_sections_and_prose_and_a_review_its_items_in_a_40_column_pane() {
    let fake = FakeOpenAi::start(|req| {
        if req.prompt_contains("review the options") {
            FakeReply::text(REVIEW)
        } else {
            FakeReply::text(OPTIONS)
        }
    });
    fake.configure(|s| {
        s.chunk_chars = 4;
        s.chunk_delay = Duration::from_millis(40);
    });
    let f = Fixture::new(fake, 1);
    super::logs::session(&f.project, &f.session, "2026-11-22T03:15:00Z");
    let panes = f.open(&["architect", "code-reviewer"]);
    let (arch, reviewer) = (
        panes["architect"].id.clone(),
        panes["code-reviewer"].id.clone(),
    );
    for p in [&arch, &reviewer] {
        f.server.tmux(&["resize-pane", "-t", p, "-x", "40"]);
    }
    let width = |p: &str| -> usize {
        f.server
            .tmux(&["display-message", "-p", "-t", p, "#{pane_width}"])
            .trim()
            .parse()
            .unwrap()
    };
    assert_eq!(width(&arch), 40);
    f.wait_heartbeat("architect");

    let draft = json_task(
        &f,
        "architect",
        TaskKind::Draft,
        "draft the options",
        &["summary", "options", "comparison"],
    );
    write_task(&f.paths, &draft).unwrap();
    // While it streams (no result yet): a section title with its progress, and prose.
    let live = wait_for(
        Duration::from_secs(30),
        "a section and prose in the pane",
        || {
            let c = capture_joined(&f, &arch);
            (c.contains("Architecture Options") && c.contains("A link shortener")).then_some(c)
        },
    );
    assert!(
        read_result(&f.paths, &draft.id).unwrap().is_none(),
        "the pane shows the document before the answer is complete:\n{live}"
    );
    assert!(live.contains("Title and Summary 1/3"), "{live}");

    let done = wait_for(Duration::from_secs(30), "the footer", || {
        let c = capture_joined(&f, &arch);
        c.contains("── done").then_some(c)
    });
    assert!(done.contains("It counts clicks per day."), "{done}");
    assert!(done.contains("#2 Title: Queue and workers"), "{done}");
    assert!(
        done.contains("Option Comparison and Decision 3/3"),
        "{done}"
    );
    for bad in ["{", "}", "\":", "\\n", "[{"] {
        assert!(
            !done.contains(bad),
            "JSON syntax {bad:?} in the pane:\n{done}"
        );
    }
    // From the task's header on (the agent's start-up line may predate the resize).
    for line in from_header(&done).lines() {
        assert!(
            line.chars().count() <= 40,
            "a line wider than the pane: {line:?}\n{done}"
        );
    }

    let review = json_task(
        &f,
        "code-reviewer",
        TaskKind::Review,
        "review the options",
        &["items"],
    );
    write_task(&f.paths, &review).unwrap();
    let shown = wait_for(Duration::from_secs(30), "the review's footer", || {
        let c = capture_joined(&f, &reviewer);
        c.contains("── done").then_some(c)
    });
    assert!(shown.contains("#1 [critical] § Risks"), "{shown}");
    assert!(shown.contains("#2 [question] § General"), "{shown}");
    assert!(shown.contains("Suggestion: Add a quota."), "{shown}");
    for line in from_header(&shown).lines() {
        assert!(line.chars().count() <= 40, "{line:?}\n{shown}");
    }

    // The transcript has the readable form, the raw log the reply as it came.
    let readable = f
        .project
        .cmd()
        .args(["logs", "architect", "--session", &f.session])
        .output()
        .unwrap();
    let readable = String::from_utf8_lossy(&readable.stdout);
    assert!(readable.contains("Title and Summary 1/3"), "{readable}");
    assert!(!readable.contains("\"summary\":"), "{readable}");
    let raw = f
        .project
        .cmd()
        .args(["logs", "architect", "--raw", "--session", &f.session])
        .output()
        .unwrap();
    assert!(
        raw.status.success(),
        "{}",
        String::from_utf8_lossy(&raw.stderr)
    );
    let raw = String::from_utf8_lossy(&raw.stdout);
    assert!(raw.contains(OPTIONS), "{raw}");
}
