//! Update sessions: a second session in a project with specs revises them in place and keeps
//! their history (the feedback ledger across sessions), against the fake model server.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use serde_json::Value;

use super::support::Rig;
use super::support::design_team::Script;

const FIRST_GOAL: &str = "A team link shortener with click statistics";
const SECOND_GOAL: &str = "Add a CSV export of each link's click statistics";
/// The document the fake architect's change revises (the first one its schema offers), and the
/// one it leaves alone.
const REVISED: &str = "link_service_backend_design.md";
const UNTOUCHED: &str = "analytics_pipeline_design.md";

fn run(rig: &Rig, goal: &str) -> String {
    let out = rig.cmd().args(["run", "--goal", goal]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    stderr
}

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .current_dir(dir)
        .args(["-c", "user.email=t@example.com", "-c", "user.name=t"])
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The files of `specs/`, by name.
fn specs(rig: &Rig) -> BTreeMap<String, String> {
    let dir = rig.project.path().join(".agentmux/specs");
    std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let text = std::fs::read_to_string(e.path()).unwrap();
            (name, text)
        })
        .collect()
}

fn ledger(rig: &Rig) -> Value {
    serde_json::from_str(&rig.read(".agentmux/feedback.json")).unwrap()
}

fn revision_rows(md: &str) -> usize {
    let Some(at) = md.find("### Revision History") else {
        return 0;
    };
    md[at..]
        .lines()
        .filter(|l| l.starts_with("| ") && !l.starts_with("| Date"))
        .count()
}

const PLAN: &str = ".agentmux/implementation_plan.md";

/// Two sessions in a row: the first designs, the second adds a feature. The specs before the
/// second hold the implementation plan under `PLAN`.
fn two_sessions() -> (Rig, BTreeMap<String, String>, Value) {
    let rig = Rig::new(Script::default(), "");
    run(&rig, FIRST_GOAL);
    let mut before = specs(&rig);
    before.insert(PLAN.into(), rig.read(PLAN));
    let first_ledger = ledger(&rig);
    git(rig.project.path(), &["init", "-q"]);
    git(rig.project.path(), &["add", "-A"]);
    git(rig.project.path(), &["commit", "-qm", "first design"]);
    run(&rig, SECOND_GOAL);
    (rig, before, first_ledger)
}

#[test]
fn a_second_session_revises_the_specs_in_place_and_keeps_the_ledger() {
    let (rig, mut before, first_ledger) = two_sessions();
    let old_plan = before.remove(PLAN).unwrap();
    let after = specs(&rig);
    // The session was an update of the first session's specs.
    let started = rig
        .journal()
        .into_iter()
        .find(|e| e["type"] == "session_started")
        .unwrap();
    assert_eq!(
        started["inputs"]["update"]["documents"],
        serde_json::json!([REVISED, UNTOUCHED]),
        "{started}"
    );
    // The architect was asked for a change, not a design, and saw the document it revises.
    assert!(rig.server.count_containing("Propose the smallest change") >= 1);
    assert!(
        rig.server
            .count_containing(&format!("Current text of {REVISED}"))
            >= 1
    );
    assert_eq!(
        rig.server
            .count_containing(&format!("Current text of {UNTOUCHED}")),
        0
    );
    // The reviewers judge the revision against the change proposal.
    let reviews_with_change = rig
        .server
        .requests()
        .iter()
        .filter(|r| {
            r.prompt_contains("# Change Proposal")
                && r.prompt_contains("Final review of the design")
        })
        .count();
    assert!(
        reviews_with_change >= 2,
        "both reviewers see the change proposal"
    );
    // The untouched document is byte for byte the same; the revised one keeps its text and
    // history and gains a revision entry for the update.
    assert_eq!(after[UNTOUCHED], before[UNTOUCHED]);
    let (old, new) = (&before[REVISED], &after[REVISED]);
    assert!(
        revision_rows(new) > revision_rows(old),
        "a new revision entry:\n{new}"
    );
    assert!(
        new.contains(&format!("| update {} |", rig.session_id())),
        "{new}"
    );
    let history = old.find("### Revision History").unwrap_or(old.len());
    assert!(
        new.starts_with(&old[..history]),
        "the rest stays as it was:\n{new}"
    );
    // `git diff` of the specs names only the revised document and the manifest.
    let changed = git(
        rig.project.path(),
        &["diff", "--name-only", "--", ".agentmux/specs"],
    );
    assert_eq!(
        changed.lines().collect::<Vec<_>>(),
        [
            format!(".agentmux/specs/{REVISED}").as_str(),
            ".agentmux/specs/manifest.json"
        ],
        "{changed}"
    );
    let manifest: Value = serde_json::from_str(&after["manifest.json"]).unwrap();
    let old_manifest: Value = serde_json::from_str(&before["manifest.json"]).unwrap();
    for key in ["selected_docs", "design_areas", "traceability"] {
        assert_eq!(manifest[key], old_manifest[key], "{key}");
    }
    // The ledger holds both sessions' items with distinct ids; the first session's are as they
    // were.
    let ledger = ledger(&rig);
    let items = ledger["items"].as_array().unwrap();
    let first_items = first_ledger["items"].as_array().unwrap();
    assert!(!first_items.is_empty());
    assert!(items.len() > first_items.len(), "{ledger}");
    let mut ids: Vec<&str> = items.iter().map(|i| i["id"].as_str().unwrap()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), items.len(), "ids are unique: {ids:?}");
    for (old, new) in first_items.iter().zip(items) {
        for key in ["id", "status", "disposition", "category", "comment"] {
            assert_eq!(old[key], new[key], "{key} of {}", old["id"]);
        }
    }
    assert!(
        items[first_items.len()..]
            .iter()
            .all(|i| i["id"].as_str().unwrap().starts_with("S2-")),
        "{ledger}"
    );
    // The reviewers reviewed the change proposal before any document was revised, and the
    // architect integrated every item: the items are the second session's, with dispositions.
    assert!(
        rig.server
            .count_containing("Review that change proposal (round 1)")
            >= 2
    );
    assert!(
        rig.server
            .count_containing("The reviewers answered your change proposal")
            >= 1
    );
    let change_items: Vec<&Value> = items[first_items.len()..]
        .iter()
        .filter(|i| i["stage"] == "design_docs")
        .collect();
    for reviewer in ["principal-engineer", "code-reviewer"] {
        let mine: Vec<&&Value> = change_items
            .iter()
            .filter(|i| i["author"] == reviewer)
            .collect();
        assert!(!mine.is_empty(), "{reviewer} reviewed the change: {ledger}");
        for i in mine {
            assert!(i["id"].as_str().unwrap().starts_with("S2-DOC-"), "{i}");
            assert!(
                i["disposition"]["decision"].is_string() && i["disposition"]["round"] == 1,
                "every item of the change was integrated: {i}"
            );
        }
    }
    let journal = rig.journal();
    let position = |kind: &str| {
        journal
            .iter()
            .position(|e| e["type"] == "task_dispatched" && e["kind"]["kind"] == kind)
            .unwrap_or_else(|| panic!("no {kind} task"))
    };
    assert!(position("integrate") < position("design_doc"));
    let change = rig.read(&format!(".agentmux/changes/{}.md", rig.session_id()));
    assert!(
        change.contains("# Change Proposal") && change.contains(REVISED),
        "{change}"
    );
    assert!(
        change.contains("### Revision History"),
        "the integration's revision entry: {change}"
    );
    // The plan gained the change's additions as a new phase and a revision row; the rest of it
    // is byte for byte the same.
    let plan = rig.read(PLAN);
    let next = "\n## 6. ";
    let (old_head, old_tail) = old_plan.split_at(old_plan.find(next).unwrap());
    let (new_head, new_tail) = plan.split_at(plan.find(next).unwrap());
    assert!(new_head.starts_with(old_head), "{plan}");
    assert!(
        new_head[old_head.len()..].contains(&format!(": Update {}\n", rig.session_id())),
        "{plan}"
    );
    // The first session's plan had no revision history: the update's row starts one at its end.
    let row = format!("| update {} |", rig.session_id());
    assert!(new_tail.starts_with(old_tail.trim_end()), "{plan}");
    let added = &new_tail[old_tail.trim_end().len()..];
    assert!(
        added.contains("### Revision History")
            && added.trim_end().ends_with(" |")
            && added.contains(&row),
        "{plan}"
    );
    let md = rig.read(".agentmux/feedback.md");
    assert_eq!(md.matches("## Session `").count(), 2, "{md}");
    // The specs pass the validators; status and list say the session was an update.
    rig.cmd().arg("validate").assert().success();
    let status = rig.status();
    assert_eq!(status["update"]["documents"][0], REVISED, "{status}");
    let list = rig.cmd().arg("list").output().unwrap();
    let list = String::from_utf8_lossy(&list.stdout);
    assert!(list.contains("update"), "{list}");
}

#[test]
fn invalid_existing_specs_are_reported_and_nothing_is_overwritten() {
    let rig = Rig::new(Script::default(), "");
    run(&rig, FIRST_GOAL);
    let doc = rig.project.path().join(".agentmux/specs").join(UNTOUCHED);
    let broken = std::fs::read_to_string(&doc)
        .unwrap()
        .replace("## 3. Detailed Design", "## 3. Something Else");
    std::fs::write(&doc, &broken).unwrap();
    let before = specs(&rig);
    let sessions = || {
        std::fs::read_dir(rig.project.path().join(".agentmux/sessions"))
            .unwrap()
            .count()
    };
    let count = sessions();
    let out = rig
        .cmd()
        .args(["start", "--detach", "--goal", SECOND_GOAL])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains(UNTOUCHED), "{stderr}");
    assert!(
        stderr.contains("--fresh") && stderr.contains("agentmux validate"),
        "{stderr}"
    );
    assert_eq!(specs(&rig), before);
    assert_eq!(sessions(), count, "no session was created");
    // `--fresh` designs again, as a first session does.
    let out = rig
        .cmd()
        .args(["run", "--fresh", "--goal", SECOND_GOAL])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let started = rig
        .journal()
        .into_iter()
        .find(|e| e["type"] == "session_started")
        .unwrap();
    assert!(started["inputs"].get("update").is_none(), "{started}");
    rig.cmd().arg("validate").assert().success();
}

/// The second (update) session of a project in tmux, after a first headless one; returns the
/// deliverables with the update session's id replaced.
fn start_update(rig: &Rig) {
    rig.cmd()
        .args(["start", "--detach", "--goal", SECOND_GOAL])
        .assert()
        .success();
}

fn deliverables(rig: &Rig) -> BTreeMap<String, String> {
    let id = rig.session_id();
    rig.deliverables()
        .into_iter()
        .map(|(k, v)| (k, v.replace(&id, "<update>")))
        .collect()
}

#[test]
fn an_update_session_killed_and_resumed_ends_with_the_same_specs() {
    let reference = Rig::new(Script::default(), "");
    run(&reference, FIRST_GOAL);
    start_update(&reference);
    let (code, out) = reference.wait(120);
    assert_eq!(code, 0, "{out}");
    let expected = deliverables(&reference);

    let rig = Rig::new(Script::default(), "");
    run(&rig, FIRST_GOAL);
    rig.server
        .configure(|s| s.latency = std::time::Duration::from_millis(150));
    start_update(&rig);
    type Point = (&'static str, Box<dyn Fn(&[Value]) -> bool>);
    // An item of `stage` was recorded.
    fn item_of(j: &[Value], stage: &str) -> bool {
        j.iter()
            .any(|e| e["type"] == "feedback_recorded" && e["item"]["stage"] == stage)
    }
    let points: [Point; 4] = [
        (
            "the change proposal",
            Box::new(|j| {
                j.iter()
                    .any(|e| e["type"] == "task_dispatched" && e["kind"]["kind"] == "change")
            }),
        ),
        (
            "the review of the change proposal",
            Box::new(|j| item_of(j, "design_docs")),
        ),
        (
            "the revised design document",
            Box::new(|j| {
                j.iter()
                    .any(|e| e["type"] == "task_dispatched" && e["kind"]["kind"] == "design_doc")
            }),
        ),
        ("the final review", Box::new(|j| item_of(j, "final_review"))),
    ];
    for (what, cond) in points {
        rig.wait_journal(60, what, cond);
        rig.kill_supervisor();
        let resumed = rig
            .journal()
            .iter()
            .filter(|e| e["type"] == "resumed")
            .count();
        rig.cmd().args(["resume", "--detach"]).assert().success();
        rig.wait_journal(60, "the resumption", |j| {
            j.iter().filter(|e| e["type"] == "resumed").count() > resumed
        });
    }
    let (code, out) = rig.wait(120);
    assert_eq!(code, 0, "{out}");
    assert_eq!(
        deliverables(&rig),
        expected,
        "the specs differ from an uninterrupted update session"
    );
    rig.cmd().arg("validate").assert().success();
}

#[test]
fn update_without_a_goal_revises_the_documents_whose_cited_code_changed() {
    let rig = Rig::new(
        Script {
            cite: Some("readtime/utils.py:66-93"),
            ..Script::default()
        },
        "  context_window: 128000\n  max_output_tokens: 16384\nworkflow:\n  review_rounds: 1\n",
    );
    super::grounding::copy_readtime(rig.project.path());
    run(&rig, FIRST_GOAL);
    // Nothing changed yet: nothing to update.
    let out = rig.cmd().args(["run", "--update"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("nothing to update"), "{stderr}");
    // The cited file changes: both documents cite it.
    let utils = rig.project.path().join("readtime/utils.py");
    let mut code = std::fs::read_to_string(&utils).unwrap();
    code.push_str("\n# Reading speed is now configurable per call.\n");
    std::fs::write(&utils, code).unwrap();
    let out = rig.cmd().args(["run", "--update"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let started = rig
        .journal()
        .into_iter()
        .find(|e| e["type"] == "session_started")
        .unwrap();
    let update = &started["inputs"]["update"];
    assert_eq!(
        update["drifted"],
        serde_json::json!([REVISED, UNTOUCHED]),
        "{started}"
    );
    assert!(
        started["inputs"]["goal"]
            .as_str()
            .unwrap()
            .contains("code that changed"),
        "{started}"
    );
    // The specs were written against the code as it is now: no drift is left.
    rig.cmd().args(["validate", "--drift"]).assert().success();
}

/// The fake team, except that its change proposal revises one document, retires the other and
/// adds a third, for a new requirement, and its integration of the review items keeps that
/// change as it is.
fn retiring_team()
-> impl Fn(&test_support::fake_openai::RecordedRequest) -> test_support::fake_openai::FakeReply
+ Send
+ Sync
+ 'static {
    let team = test_support::design_team::responder(Script::default());
    move |req| {
        let format = req.response_format.as_ref();
        let change = format
            .and_then(|f| f.pointer("/json_schema/name"))
            .is_some_and(|n| n == "change_proposal");
        let integrates_change = format
            .and_then(|f| f.pointer("/json_schema/schema/properties/document/properties/changes"))
            .is_some();
        if integrates_change {
            let reply = team(req);
            let mut v: Value = serde_json::from_str(&reply.text).unwrap();
            v["document"] = serde_json::json!({});
            return test_support::fake_openai::FakeReply::text(v.to_string());
        }
        if !change {
            return team(req);
        }
        test_support::fake_openai::FakeReply::text(
            serde_json::json!({
                "summary": "Exports move into a document of their own; the analytics pipeline is folded into the service.",
                "changes": [
                    {"file": REVISED, "action": "revise", "sections": ["detailed_design"], "scope": "Links and clicks", "why": "The service now owns the click counts (goal)."},
                    {"file": UNTOUCHED, "action": "retire", "sections": [], "scope": "", "why": "Folded into the service by the new goal."},
                    {"file": "click_export_design.md", "action": "add", "sections": [], "scope": "CSV export of click statistics", "why": "The goal asks for a CSV export."}
                ],
                "requirements": [{"id": "FR-CSV", "docs": ["click_export_design.md"]}],
                "plan_additions": ["Add the export endpoint and its tests."]
            })
            .to_string(),
        )
    }
}

#[test]
fn a_change_can_add_and_retire_documents() {
    let rig = Rig::with_server(
        test_support::fake_openai::FakeOpenAi::start(retiring_team()),
        "",
    );
    run(&rig, FIRST_GOAL);
    run(&rig, SECOND_GOAL);
    let id = rig.session_id();
    let after = specs(&rig);
    assert!(!after.contains_key(UNTOUCHED), "{:?}", after.keys());
    assert!(
        rig.project
            .path()
            .join(format!(".agentmux/archive/{id}/{UNTOUCHED}"))
            .is_file()
    );
    assert!(after["click_export_design.md"].contains("```mermaid"));
    let manifest: Value = serde_json::from_str(&after["manifest.json"]).unwrap();
    assert_eq!(
        manifest["selected_docs"],
        serde_json::json!([REVISED, "click_export_design.md"])
    );
    assert_eq!(manifest["retired"][0]["file"], UNTOUCHED, "{manifest}");
    assert_eq!(manifest["retired"][0]["session"], id.as_str());
    assert_eq!(
        manifest["traceability"]["FR-CSV"],
        serde_json::json!(["click_export_design.md"])
    );
    assert!(
        manifest["design_areas"].get(UNTOUCHED).is_none(),
        "{manifest}"
    );
    let v = rig.cmd().arg("validate").output().unwrap();
    assert!(v.status.success(), "{}", String::from_utf8_lossy(&v.stdout));
}
