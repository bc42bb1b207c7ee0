//! `agentmux logs`: transcripts read back from a session directory the test creates.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use predicates::prelude::*;

use super::support::{AgentmuxCmd as _, Project, agentmux};

/// Writes a session directory with a journal whose first record starts it at `at`.
pub(super) fn session(p: &Project, id: &str, at: &str) {
    p.write(
        &format!(".agentmux/sessions/{id}/journal.jsonl"),
        &format!(
            "{}\n",
            format_args!(
                r#"{{"seq":1,"at":"{at}","type":"session_started","session_id":"{id}","inputs":{{"project_dir":"/p","project_name":"p"}},"config":{{}}}}"#
            )
        ),
    );
}

fn transcript(p: &Project, id: &str, role: &str, text: &str) {
    p.write(
        &format!(".agentmux/sessions/{id}/agents/{role}/transcript.log"),
        text,
    );
}

/// A project with two sessions; the later-started one (by its journal, not its name) has two
/// transcripts.
fn project() -> Project {
    let p = Project::new();
    session(&p, "b-older", "2020-01-01T00:00:00Z");
    transcript(&p, "b-older", "architect", "old run\n");
    session(&p, "a-latest", "2020-02-01T00:00:00Z");
    transcript(
        &p,
        "a-latest",
        "architect",
        "## Task: options draft\n# Options\nOption A\n",
    );
    transcript(
        &p,
        "a-latest",
        "code-reviewer",
        "## Task: options review r1\n{\"items\": []}",
    );
    p
}

#[test]
fn all_roles_are_prefixed_in_file_order_from_the_latest_session() {
    let p = project();
    p.cmd().arg("logs").assert().success().stdout(
        "[architect] ## Task: options draft\n\
         [architect] # Options\n\
         [architect] Option A\n\
         [code-reviewer] ## Task: options review r1\n\
         [code-reviewer] {\"items\": []}\n",
    );
}

#[test]
fn one_role_prints_its_transcript_as_it_is() {
    let p = project();
    p.cmd()
        .args(["logs", "code-reviewer"])
        .assert()
        .success()
        .stdout("## Task: options review r1\n{\"items\": []}");
}

#[test]
fn session_flag_picks_another_session() {
    let p = project();
    p.cmd()
        .args(["logs", "--session", "b-older"])
        .assert()
        .success()
        .stdout("[architect] old run\n");
}

#[test]
fn an_unknown_role_lists_the_roles_with_transcripts() {
    let p = project();
    p.cmd()
        .args(["logs", "archtect"])
        .assert()
        .code(2)
        .stdout("")
        .stderr(predicate::str::contains(
            "no transcript for role `archtect`",
        ))
        .stderr(predicate::str::contains(
            "roles with transcripts: architect, code-reviewer",
        ));
}

#[test]
fn a_known_role_without_a_transcript_says_how_to_wait_for_it() {
    let p = project();
    p.cmd()
        .args(["logs", "principal-engineer"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "agentmux logs principal-engineer -f",
        ));
}

#[test]
fn no_session_is_a_clear_error() {
    let p = Project::new();
    p.cmd()
        .arg("logs")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no session in"))
        .stderr(predicate::str::contains("agentmux start"));
}

#[test]
fn an_unknown_or_unsafe_session_id_is_refused() {
    let p = project();
    p.cmd()
        .args(["logs", "--session", "nope"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no session `nope`"));
    p.cmd()
        .args(["logs", "--session", "../a-latest"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("a session id is a directory name"));
}

#[test]
fn a_session_without_transcripts_says_so() {
    let p = Project::new();
    session(&p, "s1", "2020-01-01T00:00:00Z");
    p.cmd()
        .arg("logs")
        .assert()
        .success()
        .stdout("")
        .stderr(predicate::str::contains("no transcripts yet"));
}

/// Kills the child on drop, so a failing assertion never leaves `logs -f` running.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn_logs(p: &Project, args: &[&str]) -> (Killed, mpsc::Receiver<String>) {
    let mut c = agentmux(p.path());
    c.arg("logs")
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let mut child = c.spawn().unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    (Killed(child), rx)
}

/// The next line, waiting generously (this bounds a hang, it measures nothing).
fn next(rx: &mpsc::Receiver<String>) -> String {
    rx.recv_timeout(Duration::from_secs(30))
        .expect("logs -f printed nothing")
}

fn append(p: &Project, id: &str, role: &str, text: &str) {
    let path = p.path().join(format!(
        ".agentmux/sessions/{id}/agents/{role}/transcript.log"
    ));
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    f.write_all(text.as_bytes()).unwrap();
}

#[test]
fn follow_prints_new_lines_of_every_role_including_agents_that_start_later() {
    let p = project();
    let (_child, rx) = spawn_logs(&p, &["-f"]);
    assert_eq!(next(&rx), "[architect] ## Task: options draft");
    assert_eq!(next(&rx), "[architect] # Options");
    assert_eq!(next(&rx), "[architect] Option A");
    // The code reviewer's last line has no newline yet: it is held back until complete.
    append(&p, "a-latest", "code-reviewer", " \n");
    assert_eq!(next(&rx), "[code-reviewer] ## Task: options review r1");
    assert_eq!(next(&rx), "[code-reviewer] {\"items\": []} ");
    append(&p, "a-latest", "architect", "Option B\n");
    assert_eq!(next(&rx), "[architect] Option B");
    append(
        &p,
        "a-latest",
        "principal-engineer",
        "## Task: options review r1\n",
    );
    assert_eq!(next(&rx), "[principal-engineer] ## Task: options review r1");
}

#[test]
fn follow_one_role_waits_for_its_transcript() {
    let p = project();
    let (_child, rx) = spawn_logs(&p, &["principal-engineer", "--follow"]);
    append(&p, "a-latest", "principal-engineer", "first\nsecond\n");
    assert_eq!(next(&rx), "first");
    assert_eq!(next(&rx), "second");
}
