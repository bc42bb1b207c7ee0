//! `agentmux report`: the HTML report of a whole session on the fake model server, opened in a
//! real headless Chromium (Debian's `chromium`).
//!
//! The browser runs the page with its scripts ([`--dump-dom`] after a virtual-time budget),
//! logs the console to stderr and every network event to a NetLog file; the test reads the
//! three. Without Chromium the test says so and passes, unless `AGENTMUX_REQUIRE_CHROMIUM=1`
//! (CI sets it).

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use super::support::Rig;
use super::support::design_team::Script;

/// The Chromium binary, or None (after saying why) when the test cannot use one.
pub(crate) fn chromium() -> Option<PathBuf> {
    let candidates = ["chromium", "chromium-browser", "google-chrome"];
    let found = std::env::var_os("AGENTMUX_CHROMIUM")
        .map(PathBuf::from)
        .or_else(|| {
            candidates.iter().find_map(|c| {
                let out = Command::new("sh")
                    .args(["-c", &format!("command -v {c}")])
                    .output()
                    .ok()?;
                let p = String::from_utf8_lossy(&out.stdout).trim().to_string();
                (out.status.success() && !p.is_empty()).then(|| PathBuf::from(p))
            })
        });
    if found.is_none() {
        let required = std::env::var("AGENTMUX_REQUIRE_CHROMIUM").is_ok_and(|v| v == "1");
        assert!(
            !required,
            "AGENTMUX_REQUIRE_CHROMIUM=1 but no chromium on PATH: apt-get install chromium"
        );
        eprintln!(
            "SKIPPED: no chromium on PATH (apt-get install chromium); the report is not checked in a browser"
        );
    }
    found
}

/// What the browser made of a page.
pub(crate) struct Loaded {
    /// The DOM after the scripts ran.
    pub dom: String,
    /// Console messages (Chromium's `CONSOLE` log lines).
    pub console: Vec<String>,
    /// URLs the NetLog saw requested.
    pub requests: Vec<String>,
}

/// Chromium's flags for a quiet, offline-clean headless run (no background services that
/// would show up in the NetLog as requests the page did not make).
fn base_args(profile: &Path) -> Vec<String> {
    [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-default-apps",
        "--disable-sync",
        "--disable-extensions",
        "--hide-scrollbars",
        "--virtual-time-budget=20000",
    ]
    .iter()
    .map(|s| s.to_string())
    .chain([format!("--user-data-dir={}", profile.display())])
    .collect()
}

/// Loads `page` (with `fragment`) and dumps its DOM.
pub(crate) fn load(browser: &Path, page: &Path, fragment: &str, work: &Path) -> Loaded {
    let netlog = work.join("netlog.json");
    let out = Command::new(browser)
        .args(base_args(&work.join("profile")))
        .args(["--enable-logging=stderr", "--v=0"])
        .arg(format!("--log-net-log={}", netlog.display()))
        .arg("--dump-dom")
        .arg(format!("file://{}{fragment}", page.display()))
        .output()
        .expect("run chromium");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "chromium failed: {stderr}");
    let console = stderr
        .lines()
        .filter(|l| l.contains("CONSOLE"))
        .map(str::to_string)
        .collect();
    Loaded {
        dom: String::from_utf8_lossy(&out.stdout).into_owned(),
        console,
        requests: requested_urls(&std::fs::read_to_string(&netlog).unwrap_or_default()),
    }
}

/// The URLs of the requests a page made, from a NetLog: the jobs started for an initiator (the
/// browser's own background requests have none: `not an origin`).
fn requested_urls(netlog: &str) -> Vec<String> {
    // A NetLog cut short (the browser exits while writing) lacks its closing brackets.
    let v: Value = serde_json::from_str(netlog)
        .or_else(|_| {
            serde_json::from_str(&format!("{}]}}", netlog.trim_end().trim_end_matches(',')))
        })
        .unwrap_or(Value::Null);
    let mut urls: Vec<String> = v["events"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| {
            e["params"]["initiator"]
                .as_str()
                .is_some_and(|i| i != "not an origin")
        })
        .filter_map(|e| e["params"]["url"].as_str().map(str::to_string))
        .collect();
    urls.sort();
    urls.dedup();
    urls
}

/// A screenshot of the page's top, kept under `target/test-artifacts/`.
pub(crate) fn screenshot(browser: &Path, page: &Path, work: &Path, name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-artifacts");
    std::fs::create_dir_all(&dir).unwrap();
    let png = dir.join(name);
    let out = Command::new(browser)
        .args(base_args(&work.join("profile-shot")))
        .arg("--window-size=1280,2000")
        .arg(format!("--screenshot={}", png.display()))
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("run chromium");
    assert!(
        out.status.success() && png.is_file(),
        "screenshot: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    png
}

/// The number of `<pre class="mermaid">` blocks of a page, and how many of them hold an `<svg>`.
fn diagrams(dom: &str) -> (usize, usize) {
    let blocks: Vec<&str> = dom.split("<pre class=\"mermaid\"").skip(1).collect();
    let drawn = blocks
        .iter()
        .filter(|b| {
            let end = b.find("</pre>").unwrap_or(b.len());
            b[..end].contains("<svg")
        })
        .count();
    (blocks.len(), drawn)
}

#[test]
fn a_completed_session_writes_a_report_that_draws_every_diagram_filters_and_stays_offline() {
    let rig = Rig::new(Script::default(), "workflow:\n  review_rounds: 1\n");
    let stderr = rig.run_headless(0);
    let page = rig.project.path().join(".agentmux/report.html");
    assert!(
        page.is_file(),
        "the session's end writes the report: {stderr}"
    );
    assert!(stderr.contains("report: "), "{stderr}");

    // `agentmux report` writes it again and prints where.
    let out = rig.cmd().arg("report").output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        page.display().to_string()
    );
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(
        html.contains("Content-Security-Policy"),
        "the page forbids other sources"
    );
    let markup = &html[..html.find("<script nonce").expect("the page's scripts")];
    assert!(!markup.contains(" src="), "no external script or image");
    let fences: usize = ["options.md", "design_proposal.md", "implementation_plan.md"]
        .iter()
        .map(|f| rig.read(&format!(".agentmux/{f}")))
        .chain(
            rig.deliverables()
                .into_iter()
                .filter(|(k, _)| k.ends_with("_design.md"))
                .map(|(_, v)| v),
        )
        .map(|md| md.matches("```mermaid").count())
        .sum();
    let (blocks, _) = diagrams(&html);
    assert!(
        fences > 0 && blocks == fences,
        "{blocks} blocks for {fences} fences"
    );
    let ledger: Value = serde_json::from_str(&rig.read(".agentmux/feedback.json")).unwrap();
    let items = ledger["items"].as_array().unwrap();
    assert!(!items.is_empty());
    for i in items {
        let id = i["id"].as_str().unwrap();
        assert!(html.contains(&format!("<td>{id}</td>")), "ledger row {id}");
    }

    // The figures per stage and role, the revisions and the matrix, from the journal and manifest.
    let figures = &html[html.find("id=\"figures\"").expect("figures")..];
    for row in [
        "<tr><td>options</td>",
        "<tr><td>design_docs</td>",
        "<tr><td>architect</td>",
        "<tr><td>code-reviewer</td>",
    ] {
        assert!(figures.contains(row), "{row} in the figures");
    }
    // The fake model has no price: its cost is unknown, never $0.
    assert!(figures.contains(">unpriced</td>"), "unpriced cells");
    assert!(!html.contains("$0.0000"), "no call is priced at $0");
    assert!(
        html.contains("unknown ("),
        "the header says the cost is unknown"
    );
    assert!(html.contains("id=\"revisions\"") && !html.contains("No revision yet"));
    assert!(
        html.contains(" PRD items, 2 design documents, "),
        "the traceability matrix"
    );

    let Some(browser) = chromium() else { return };
    let work = tempfile::tempdir().unwrap();
    // The checks can fail: a page that logs an error and fetches an image is caught by both.
    let control = work.path().join("control.html");
    std::fs::write(
        &control,
        "<!doctype html><img src=\"http://127.0.0.1:9/x.png\"><script>console.error(\"control\")</script>",
    )
    .unwrap();
    let c = load(&browser, &control, "", &work.path().join("control"));
    assert!(
        c.console.iter().any(|l| l.contains("control")),
        "{:?}",
        c.console
    );
    assert!(
        c.requests.iter().any(|u| u.contains("127.0.0.1:9")),
        "{:?}",
        c.requests
    );
    // The ledger filtered to one author, through the address (what the selects set).
    let author = items[0]["author"].as_str().unwrap().to_string();
    let expected = items
        .iter()
        .filter(|i| i["author"] == author.as_str())
        .count();
    let loaded = load(
        &browser,
        &page,
        &format!("#ledger:author={author}"),
        &work.path().join("report"),
    );
    let dom = &loaded.dom;
    assert!(
        dom.contains("data-mermaid=\"done\""),
        "mermaid finished: {}",
        &dom[dom.len().saturating_sub(2000)..]
    );
    let (blocks, drawn) = diagrams(dom);
    assert_eq!(
        (blocks, drawn),
        (fences, fences),
        "one SVG per Mermaid block"
    );
    assert!(
        dom.contains(&format!("data-ledger-shown=\"{expected}\"")),
        "{expected} rows of {author}"
    );
    let hidden = dom.matches("hidden=\"\"").count();
    assert_eq!(hidden, items.len() - expected, "the other rows are hidden");
    assert!(loaded.console.is_empty(), "console: {:#?}", loaded.console);
    assert!(
        loaded.requests.is_empty(),
        "network requests: {:?}",
        loaded.requests
    );
    let png = screenshot(&browser, &page, work.path(), "report.png");
    eprintln!("screenshot: {}", png.display());
}

#[test]
fn report_without_a_session_says_how_to_start_one_and_an_unknown_session_is_refused() {
    use super::support::{AgentmuxCmd as _, Project};
    use predicates::prelude::*;
    let p = Project::new();
    p.cmd()
        .arg("report")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no session in"))
        .stderr(predicate::str::contains("agentmux start"));
    super::logs::session(&p, "20261122-031500-ab12", "2026-11-22T03:15:00Z");
    p.cmd()
        .args(["report", "20261122-999999-zz99"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("20261122-999999-zz99"));
    // A session that has written nothing yet still gets a page that says so.
    p.cmd()
        .arg("report")
        .assert()
        .success()
        .stdout(predicate::str::ends_with("report.html\n"));
    let html = std::fs::read_to_string(p.path().join(".agentmux/report.html")).unwrap();
    assert!(html.contains("No document has been written yet."));
    assert!(html.contains("No manifest and PRD to trace yet."));
}
