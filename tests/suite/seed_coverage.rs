//! Seed coverage: `docs/seed-coverage.md` keeps its evidence (every named test, snapshot phrase,
//! validator rule and source phrase still exists), and a session on the capable profile renders
//! every structure the table claims, checked by the depth validators.

use serde_json::Value;

use super::support::Rig;
use super::support::design_team::Script;
use docs::DocKind;
use docs::validate::{check_acknowledged, check_depth};

/// A whole headless session on the fake model (a capable profile) with both helpers on and one
/// important item per review: the proposal, the design documents and the plan carry the seeds'
/// full depth, every answered item its acknowledgement, every design-doc phase its gates.
#[test]
fn a_capable_session_renders_every_structure_the_coverage_table_claims() {
    let script = Script {
        review_items: vec!["important"],
        ..Script::default()
    };
    let rig = Rig::new(
        script,
        "workflow:\n  review_rounds: 2\nroles:\n  data-modeler: { enabled: true }\n  language-idioms: { enabled: true }\n",
    );
    rig.run_headless(0);
    let mut findings: Vec<String> = Vec::new();
    let mut check = |kind: DocKind, rel: &str| {
        let md = rig.read(rel);
        findings.extend(check_depth(kind, &md).iter().map(|f| format!("{rel}: {f}")));
        md
    };
    let proposal = check(DocKind::Proposal, ".agentmux/design_proposal.md");
    check(
        DocKind::ImplementationPlan,
        ".agentmux/implementation_plan.md",
    );
    let manifest: Value = serde_json::from_str(&rig.read(".agentmux/specs/manifest.json")).unwrap();
    let docs: Vec<String> = manifest["selected_docs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_str().unwrap().to_string())
        .collect();
    assert!(!docs.is_empty(), "{manifest}");
    for d in &docs {
        let md = check(DocKind::DesignDoc, &format!(".agentmux/specs/{d}"));
        for label in ["**Entry criteria**", "**Deltas vs Phase 0**"] {
            assert_eq!(md.matches(label).count(), 4, "{d}: {label} per phase");
        }
    }
    let ledger: Value = serde_json::from_str(&rig.read(".agentmux/feedback.json")).unwrap();
    findings.extend(check_acknowledged(&ledger).iter().map(|f| f.to_string()));
    assert!(findings.is_empty(), "{findings:#?}");
    // Every review item was answered and none reopened: the delivered proposal and design
    // documents are Approved, the plan (not reviewed) stays in Review.
    assert!(proposal.contains("\n**Status**: Approved\n"), "{proposal}");
    for d in &docs {
        assert!(
            rig.read(&format!(".agentmux/specs/{d}"))
                .contains("\n**Status**: Approved\n"),
            "{d}"
        );
    }
    assert!(
        rig.read(".agentmux/implementation_plan.md")
            .contains("\n**Status**: Review\n")
    );
    // The acknowledgements reach the revision log and the feedback ledger.
    assert!(proposal.contains("Acknowledged: "), "{proposal}");
    assert!(
        rig.read(".agentmux/feedback.md")
            .contains("**Acknowledged (round ")
    );
    // Re-review after an important item (the capable default), and the helpers one after the
    // other: the second is dispatched only after the first completed.
    let journal = rig.journal();
    assert!(
        journal
            .iter()
            .any(|e| e["type"] == "task_dispatched" && e["kind"]["kind"] == "re_review"),
        "no re-review"
    );
    let position = |what: &str, role: &str| {
        journal
            .iter()
            .position(|e| {
                e["type"] == what && e["task_id"].as_str().is_some_and(|t| t.contains(role))
            })
            .unwrap_or_else(|| panic!("no {what} of {role}"))
    };
    assert!(
        position("task_completed", "data-modeler") < position("task_dispatched", "language-idioms"),
        "the helpers ran in parallel"
    );
    rig.cmd().arg("validate").assert().success();
}

/// One row of the coverage table.
struct Row {
    line: usize,
    id: String,
    evidence: String,
    verdict: String,
    notes: String,
}

/// The rows of every table in `docs/seed-coverage.md` whose first column is a requirement id
/// (`000-1`, `001-T3`, ...).
fn rows(text: &str) -> Vec<Row> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let Some(inner) = line
            .trim()
            .strip_prefix('|')
            .and_then(|l| l.strip_suffix('|'))
        else {
            continue;
        };
        let cells = cells(inner);
        let id = cells.first().map(String::as_str).unwrap_or_default();
        let is_id = id.len() >= 5
            && id.as_bytes()[..3].iter().all(u8::is_ascii_digit)
            && id.as_bytes()[3] == b'-';
        if !is_id {
            continue;
        }
        assert_eq!(
            cells.len(),
            8,
            "docs/seed-coverage.md:{}: a row has 8 columns (id, requirement, where, prompt, enforced, evidence, verdict, notes)",
            n + 1
        );
        out.push(Row {
            line: n + 1,
            id: id.to_string(),
            evidence: cells[5].clone(),
            verdict: cells[6].clone(),
            notes: cells[7].clone(),
        });
    }
    out
}

/// The cells of a table row (without its outer pipes); `\\|` is a pipe inside a cell.
fn cells(inner: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cell = String::new();
    let mut chars = inner.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&'|') => {
                chars.next();
                cell.push('|');
            }
            '|' => out.push(std::mem::take(&mut cell)),
            c => cell.push(c),
        }
    }
    out.push(cell);
    out.into_iter().map(|s| s.trim().to_string()).collect()
}

/// Every text file under `dir` (sources, tests, snapshots), read once.
fn sources(root: &std::path::Path) -> String {
    let mut all = String::new();
    let mut stack = vec![root.join("crates"), root.join("src"), root.join("tests")];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                if !p.ends_with("target") && !p.ends_with("fixtures") {
                    stack.push(p);
                }
            } else if p.extension().is_some_and(|x| x == "rs")
                && let Ok(t) = std::fs::read_to_string(&p)
            {
                all.push_str(&t);
                all.push('\n');
            }
        }
    }
    all
}

/// The evidence items of a cell, separated by `; `: `test:NAME`, `rule:ID`, `snap:FILE "phrase"`
/// or `src:PATH "phrase"` (the phrase is optional). Anything else is prose and is not checked.
fn evidence_items(cell: &str) -> Vec<(String, String, Option<String>)> {
    cell.split("; ")
        .filter_map(|part| {
            let part = part.trim().trim_matches('`');
            let (kind, rest) = part.split_once(':')?;
            if !matches!(kind, "test" | "rule" | "snap" | "src") {
                return None;
            }
            let (name, phrase) = match rest.split_once(' ') {
                Some((n, p)) => (n, Some(p.trim().trim_matches('"').to_string())),
                None => (rest, None),
            };
            Some((kind.to_string(), name.to_string(), phrase))
        })
        .collect()
}

/// The coverage table cannot rot: every test it names is defined, every snapshot, source file and
/// phrase it quotes is there, every validator rule it names is in the validators, and no row is
/// partial, missing or contradicted without saying why.
#[test]
fn the_seed_coverage_table_keeps_its_evidence() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let table = std::fs::read_to_string(root.join("docs/seed-coverage.md")).unwrap();
    let rows = rows(&table);
    let code = sources(root);
    let validators: String = std::fs::read_dir(root.join("crates/docs/src/validate"))
        .unwrap()
        .flatten()
        .filter_map(|e| std::fs::read_to_string(e.path()).ok())
        .collect();
    let mut problems = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for seed in ["000", "001", "002", "003", "004"] {
        let n = rows.iter().filter(|r| r.id.starts_with(seed)).count();
        if n < 5 {
            problems.push(format!("seed {seed} has {n} rows"));
        }
    }
    for r in &rows {
        let at = format!("docs/seed-coverage.md:{} ({})", r.line, r.id);
        if !seen.insert(r.id.clone()) {
            problems.push(format!("{at}: the id is repeated"));
        }
        let verdict = r.verdict.to_lowercase();
        let word = verdict
            .split(|c: char| !c.is_ascii_alphabetic() && c != '-')
            .next()
            .unwrap_or_default();
        let explained = verdict.contains(':') || !matches!(r.notes.as_str(), "" | "-");
        match word {
            "full" | "local-relaxed" => {}
            "adapted" | "partial" | "missing" | "contradicted" if explained => {}
            "adapted" | "partial" | "missing" | "contradicted" => problems.push(format!(
                "{at}: a {word} row must say why (after a colon, or in the notes)"
            )),
            other => problems.push(format!("{at}: unknown verdict `{other}`")),
        }
        let items = evidence_items(&r.evidence);
        if items.is_empty() && matches!(word, "full" | "local-relaxed") {
            problems.push(format!("{at}: a {word} row needs evidence"));
        }
        for (kind, name, phrase) in items {
            let problem = match kind.as_str() {
                "test" => (!code.contains(&format!("fn {name}(")))
                    .then(|| format!("no test function `{name}`")),
                "rule" => {
                    (!validators.contains(&name)).then(|| format!("no validator rule `{name}`"))
                }
                "snap" | "src" => {
                    let path = if kind == "snap" {
                        root.join("crates/workflow/src/prompts/snapshots")
                            .join(&name)
                    } else {
                        root.join(&name)
                    };
                    match std::fs::read_to_string(&path) {
                        Err(_) => Some(format!("`{name}` does not exist")),
                        Ok(text) => phrase
                            .filter(|p| !text.contains(p.as_str()))
                            .map(|p| format!("`{name}` no longer contains \"{p}\"")),
                    }
                }
                _ => None,
            };
            if let Some(p) = problem {
                problems.push(format!("{at}: {p}"));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
}
