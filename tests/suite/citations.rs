//! Designs grounded in the code: documents cite `path:line` or `path:start-end`, the validators
//! check every citation against the project, the manifest's baseline records the commit and the
//! hash of each cited file, and `agentmux validate` reports (with `--drift`, fails on) the
//! documents whose cited code changed since. The project is a small one made here, under git.

use std::path::Path;
use std::process::Command;

use docs::baseline::{Document, of_documents};
use predicates::prelude::*;
use serde_json::{Value, json};

use super::support::design_team::Script;
use super::support::{AgentmuxCmd as _, Project, Rig};
use super::validate::{copy_dir, edit, fixtures};

/// `git -C dir args` with a fixed identity; its stdout.
fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args([
            "-c",
            "commit.gpgsign=false",
            "-c",
            "init.defaultBranch=main",
        ])
        .arg("-C")
        .arg(dir)
        .args(args)
        .env("GIT_AUTHOR_NAME", "test")
        .env("GIT_AUTHOR_EMAIL", "test@example.com")
        .env("GIT_COMMITTER_NAME", "test")
        .env("GIT_COMMITTER_EMAIL", "test@example.com")
        .output()
        .expect("run git");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Commits everything in `dir` (a new repository the first time); the commit id.
fn commit_all(dir: &Path) -> String {
    if !dir.join(".git").exists() {
        git(dir, &["init", "-q"]);
    }
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-qm", "readtime"]);
    git(dir, &["rev-parse", "HEAD"])
}

const API: &str = concat!(
    "\"\"\"Reading time of a text.\"\"\"\n",
    "\n",
    "def reading_time(text, wpm=200):\n",
    "    words = len(text.split())\n",
    "    minutes = words / wpm\n",
    "    return max(1, round(minutes))\n",
    "\n",
    "__all__ = [\"reading_time\"]\n",
);

/// A small Python library under git, with the rendered specs fixture in its `.agentmux/`.
fn readtime() -> Project {
    let p = Project::new();
    p.write("readtime/__init__.py", "from .api import reading_time\n");
    p.write("readtime/api.py", API);
    p.write(
        "readtime/cli.py",
        "import sys\nprint(reading_time(sys.stdin.read()))\n",
    );
    copy_dir(&fixtures().join("rendered"), &p.path().join(".agentmux"));
    p
}

const DOC: &str = "notification_outbox_backend_design.md";

/// Adds `text` at the top of the design document's "3. Detailed Design" section.
fn cite_in_detailed_design(p: &Project, text: &str) {
    let path = p.path().join(".agentmux/specs").join(DOC);
    let md = std::fs::read_to_string(&path).unwrap();
    let md = edit(
        &md,
        "## 3. Detailed Design\n\n",
        &format!("## 3. Detailed Design\n\n{text}\n\n"),
    );
    std::fs::write(path, md).unwrap();
}

/// Writes the baseline a session would: the hashes and citations of the design documents, and
/// the commit.
fn write_baseline(p: &Project, commit: &str) {
    let specs = p.path().join(".agentmux/specs");
    let manifest_path = specs.join("manifest.json");
    let mut manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(&manifest_path).unwrap()).unwrap();
    let texts: Vec<(String, String)> = manifest["selected_docs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            let d = d.as_str().unwrap().to_string();
            let md = std::fs::read_to_string(specs.join(&d)).unwrap();
            (d, md)
        })
        .collect();
    let documents: Vec<Document<'_>> = texts
        .iter()
        .map(|(name, markdown)| Document { name, markdown })
        .collect();
    let mut baseline = of_documents(p.path(), &documents);
    baseline.commit = Some(commit.to_string());
    baseline.dirty = Some(false);
    manifest["baseline"] = serde_json::to_value(&baseline).unwrap();
    std::fs::write(
        manifest_path,
        serde_json::to_string_pretty(&manifest).unwrap(),
    )
    .unwrap();
}

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn cited_specs_pass_and_a_changed_function_is_drift_named_by_document_and_section() {
    let p = readtime();
    cite_in_detailed_design(
        &p,
        "The estimate is `readtime/api.py:3-6`; the CLI prints it (readtime/cli.py:2).",
    );
    let commit = commit_all(p.path());
    write_baseline(&p, &commit);
    let manifest: Value = serde_json::from_str(
        &std::fs::read_to_string(p.path().join(".agentmux/specs/manifest.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        manifest["baseline"]["citations"][0],
        json!({"document": DOC, "section": "3. Detailed Design", "path": "readtime/api.py", "start": 3, "end": 6})
    );

    // Unchanged code: valid, and no drift.
    p.cmd()
        .arg("validate")
        .assert()
        .code(0)
        .stdout(predicate::str::contains("no findings"))
        .stdout(predicate::str::contains("drift").not());
    p.cmd().args(["validate", "--drift"]).assert().code(0);

    // The cited function changes (one line shorter): drift, a warning by default.
    std::fs::write(
        p.path().join("readtime/api.py"),
        API.replace(
            "    words = len(text.split())\n    minutes = words / wpm\n",
            "    minutes = len(text.split()) / wpm\n",
        ),
    )
    .unwrap();
    let drifted = format!(
        "drift since the baseline (commit {}):\nspecs/{DOC}\n  section \"3. Detailed Design\": cites `readtime/api.py:3-6`: readtime/api.py changed since the baseline; lines 3-6 still exist, check they still say what this section relies on\n",
        &commit[..12]
    );
    let out = p.cmd().arg("validate").output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(stdout(&out).contains(&drifted), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("reported only: `agentmux validate --drift` fails on drift"),
        "{}",
        stdout(&out)
    );

    // `--drift` fails on it and says what to do; the CLI file did not change, so it is not named.
    let out = p.cmd().args(["validate", "--drift"]).output().unwrap();
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains(&drifted), "{text}");
    assert!(!text.contains("readtime/cli.py"), "{text}");
    assert!(
        text.contains("1 citation rests on code changed since the specs were written: re-run a session (`agentmux start`) to revise the design against the current code, or, where the cited lines still say what the documents rely on, update the citations"),
        "{text}"
    );

    // The JSON report carries the same, and `ok` follows `--drift`.
    let out = p
        .cmd()
        .args(["validate", "--json", "--drift"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["ok"], json!(false));
    assert_eq!(v["findings"], json!([]));
    assert_eq!(v["baseline"], json!(format!("commit {}", &commit[..12])));
    assert_eq!(v["drift"].as_array().unwrap().len(), 1, "{v}");
    assert_eq!(v["drift"][0]["file"], json!(format!("specs/{DOC}")));

    // Shorter still, and the other cited file gone: the lines no longer exist, the file is gone.
    std::fs::write(p.path().join("readtime/api.py"), "def reading_time(t):\n").unwrap();
    std::fs::remove_file(p.path().join("readtime/cli.py")).unwrap();
    let out = p.cmd().args(["validate", "--drift"]).output().unwrap();
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    for needle in [
        "cites `readtime/api.py:3-6`: readtime/api.py changed since the baseline and has 1 line now, so lines 3-6 no longer exist",
        "cites `readtime/cli.py:2`: readtime/cli.py is gone since the baseline (no such file in the project",
        "2 citations rest on code changed",
    ] {
        assert!(text.contains(needle), "`{needle}` not in\n{text}");
    }

    // Without `--drift` that is still only drift: the citations were right when recorded, so
    // code moving on does not make the specs invalid. A citation added since is checked.
    p.cmd()
        .arg("validate")
        .assert()
        .code(0)
        .stdout(predicate::str::contains("no findings"));
    cite_in_detailed_design(&p, "Since then: readtime/api.py:3.");
    p.cmd()
        .arg("validate")
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "(line 28): `readtime/api.py:3` \u{2014} the file has 1 line; cite a line that exists",
        ));

    // Back as it was: no drift again.
    git(p.path(), &["checkout", "--", "readtime"]);
    p.cmd().args(["validate", "--drift"]).assert().code(0);
}

#[test]
fn a_citation_of_a_missing_file_or_line_fails_validate_naming_it() {
    let p = readtime();
    cite_in_detailed_design(
        &p,
        "See readtime/api.py:400, `readtime/estimate.py:1`, ../outside.py:1 and readtime/api.py:3-6.",
    );
    let out = p.cmd().arg("validate").output().unwrap();
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    let first = format!(
        "specs/{DOC}\n  section \"3. Detailed Design\" (line 28): `readtime/api.py:400` \u{2014} the file has 8 lines; cite a line that exists\n"
    );
    for needle in [
        first.as_str(),
        "  section \"3. Detailed Design\" (line 28): `readtime/estimate.py:1` \u{2014} no such file in the project; cite an existing file by its path relative to the project root\n",
        "  section \"3. Detailed Design\" (line 28): `../outside.py:1` \u{2014} points outside the project",
        "3 findings in 1 file",
    ] {
        assert!(text.contains(needle), "`{needle}` not in\n{text}");
    }
}

#[test]
fn specs_without_citations_or_baseline_validate_as_before() {
    // The rendered fixture: no citation, and a manifest from before baselines.
    let p = readtime();
    let manifest = std::fs::read_to_string(p.path().join(".agentmux/specs/manifest.json")).unwrap();
    assert!(!manifest.contains("baseline"));
    for args in [&["validate"][..], &["validate", "--drift"]] {
        p.cmd()
            .args(args)
            .assert()
            .code(0)
            .stdout(predicate::str::contains("no findings"))
            .stdout(predicate::str::contains("drift").not());
    }
    let out = p
        .cmd()
        .args(["validate", "--json", "--drift"])
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (&v["ok"], &v["baseline"], &v["drift"]),
        (&json!(true), &Value::Null, &json!([]))
    );
}

#[test]
fn no_fixture_document_has_a_citation() {
    // The parser must not see citations in documents written without any (people's and
    // agentmux's): each would become a finding.
    fn walk(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let path = e.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|x| x == "md") {
                out.push(path);
            }
        }
    }
    let mut files = Vec::new();
    walk(&fixtures().join(".."), &mut files);
    assert!(files.len() > 20, "{files:?}");
    for f in files {
        let md = std::fs::read_to_string(&f).unwrap();
        let found = docs::cite::find(&md);
        assert!(found.is_empty(), "{}: {found:?}", f.display());
    }
}

/// A headless session against the fake model on a project under git, whose design documents
/// cite `app/estimate.py`; the first design document cites a line the file does not have.
#[test]
fn a_session_repairs_a_bad_citation_and_records_the_baseline() {
    let rig = Rig::new(
        Script {
            cite: Some("app/estimate.py:2-3"),
            bad_cite_once: Some("app/estimate.py:40"),
            ..Script::default()
        },
        "  context_window: 128000\n  max_output_tokens: 16384\nworkflow:\n  review_rounds: 1\n",
    );
    let root = rig.project.path();
    rig.project.write(
        "app/estimate.py",
        "def estimate(text):\n    words = len(text.split())\n    return words / 200\n\n\n",
    );
    let commit = commit_all(root);
    rig.run_headless(0);

    // The bad citation went back to the author, named, once.
    let repairs: Vec<String> = rig
        .server
        .requests()
        .iter()
        .map(|r| r.last_user().to_string())
        .filter(|u| u.contains("`app/estimate.py:40`"))
        .collect();
    assert_eq!(repairs.len(), 1, "{repairs:#?}");
    assert!(
        repairs[0].contains("(line ")
            && repairs[0].contains(
                "`app/estimate.py:40` \u{2014} the file has 5 lines; cite a line that exists"
            ),
        "{}",
        repairs[0]
    );

    // The manifest records the commit, a clean tree, the cited file's hash and who cites it.
    let manifest: Value = serde_json::from_str(&rig.read(".agentmux/specs/manifest.json")).unwrap();
    let baseline = &manifest["baseline"];
    assert_eq!(baseline["commit"], json!(commit), "{baseline}");
    assert_eq!(baseline["dirty"], json!(false), "{baseline}");
    let files = baseline["files"].as_object().unwrap();
    assert_eq!(files.keys().collect::<Vec<_>>(), ["app/estimate.py"]);
    assert!(
        files["app/estimate.py"]
            .as_str()
            .unwrap()
            .starts_with("sha256:")
    );
    let cited: Vec<(&str, &str)> = baseline["citations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["document"].as_str().unwrap(),
                c["section"].as_str().unwrap(),
            )
        })
        .collect();
    for doc in manifest["selected_docs"].as_array().unwrap() {
        assert!(
            cited.contains(&(doc.as_str().unwrap(), "3. Detailed Design")),
            "{doc} in {cited:?}"
        );
    }
    assert!(
        baseline["citations"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["path"] == "app/estimate.py" && c["start"] == 2 && c["end"] == 3),
        "{baseline}"
    );

    // The session's specs validate, without drift until the cited code changes.
    rig.cmd().args(["validate", "--drift"]).assert().code(0);
    rig.project.write(
        "app/estimate.py",
        "def estimate(text):\n    chars = len(text)\n    return chars / 900\n",
    );
    let out = rig.cmd().args(["validate", "--drift"]).output().unwrap();
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    let first = manifest["selected_docs"][0].as_str().unwrap();
    assert!(
        text.contains(&format!("specs/{first}\n  section \"3. Detailed Design\": cites `app/estimate.py:2-3`: app/estimate.py changed since the baseline; lines 2-3 still exist")),
        "{text}"
    );
}
