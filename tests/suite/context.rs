//! Context that scales with the model's window, end to end on the fake server with a 10k-character
//! PRD: on a 128k model every request carries the whole PRD, the final review and the plan read
//! every design document whole and nothing is cut; on an 8k model every request fits the window,
//! the prompts say what they left out and the journal names it.

use serde_json::{Value, json};

use protocol::estimate_tokens;

use super::support::Rig;
use super::support::design_team::Script;
use super::support::fake_openai::RecordedRequest;

const LEDGER: &str = include_str!("../fixtures/prd/ledger.md");

/// A rig whose fake model reports a window of `window` tokens (and `max_output` when given);
/// two review rounds, so that re-reviews run too.
fn rig(window: u64, max_output: Option<u64>, script: Script) -> Rig {
    let rig = Rig::new(script, "");
    rig.server.configure(|s| {
        s.model_fields
            .insert("context_length".into(), json!(window));
        if let Some(m) = max_output {
            s.model_fields
                .insert("max_completion_tokens".into(), json!(m));
        }
    });
    rig
}

/// `agentmux run --prd docs/PRD.md` headless, on the ledger PRD.
fn run_on_the_ledger_prd(rig: &Rig) {
    assert!(LEDGER.chars().count() >= 10_000);
    let prd = rig.project.write("docs/PRD.md", LEDGER);
    let out = rig
        .cmd()
        .args(["run", "--prd"])
        .arg(&prd)
        .output()
        .expect("run agentmux");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Every message of a request, joined.
fn prompt_text(r: &RecordedRequest) -> String {
    r.messages
        .iter()
        .map(|m| m.content.as_str())
        .collect::<Vec<_>>()
        .join("\n")
}

fn output_name(r: &RecordedRequest) -> String {
    r.response_format
        .as_ref()
        .and_then(|f| f.pointer("/json_schema/name"))
        .and_then(Value::as_str)
        .unwrap_or("text")
        .to_string()
}

fn max_tokens(r: &RecordedRequest) -> u32 {
    r.body["max_tokens"]
        .as_u64()
        .or_else(|| r.body["max_completion_tokens"].as_u64())
        .unwrap_or(0) as u32
}

/// The design documents the session wrote, from its journal.
fn design_docs(rig: &Rig) -> Vec<String> {
    rig.journal()
        .into_iter()
        .find(|e| e["type"] == "design_docs_selected")
        .expect("design documents were selected")["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap().to_string())
        .collect()
}

/// Revision `rev` of a design document's markdown as the session accepted it; None past the last.
fn doc_revision(rig: &Rig, file: &str, rev: u32) -> Option<String> {
    let name = file.trim_end_matches(".md");
    let path = rig
        .session_dir()
        .join("artifacts/design_docs")
        .join(format!("{name}.r{rev}.md"));
    std::fs::read_to_string(path).ok()
}

fn latest_revision(rig: &Rig, file: &str) -> String {
    (1..)
        .map_while(|r| doc_revision(rig, file, r))
        .last()
        .unwrap_or_else(|| panic!("no revision of {file} in {:?}", rig.session_dir()))
}

/// The `maxLength` of every string under a schema, with the key it belongs to.
fn max_lengths(schema: &Value, key: &str, out: &mut Vec<(String, u64)>) {
    match schema {
        Value::Object(m) => {
            if let Some(n) = m.get("maxLength").and_then(Value::as_u64) {
                out.push((key.to_string(), n));
            }
            for (k, v) in m {
                let child = if matches!(k.as_str(), "properties" | "items" | "anyOf" | "$defs") {
                    key
                } else {
                    k.as_str()
                };
                max_lengths(v, child, out);
            }
        }
        Value::Array(a) => a.iter().for_each(|v| max_lengths(v, key, out)),
        _ => {}
    }
}

/// Names, labels and ids: the only strings a capable model's schemas keep short.
const LABELS: [&str; 12] = [
    "title",
    "name",
    "id",
    "from",
    "to",
    "label",
    "project_name",
    "phase",
    "owner",
    "traceability",
    "section",
    "item_id",
];

#[test]
fn a_large_window_gets_the_whole_prd_in_every_request_and_every_document_in_the_final_review() {
    let rig = rig(128_000, Some(16_384), Script::default());
    run_on_the_ledger_prd(&rig);
    let reqs = rig.server.requests();
    assert!(reqs.len() >= 10, "{} requests", reqs.len());
    let prd_lines: Vec<&str> = LEDGER
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    for r in &reqs {
        let text = prompt_text(r);
        let missing: Vec<&&str> = prd_lines.iter().filter(|l| !text.contains(**l)).collect();
        assert!(
            missing.is_empty(),
            "a `{}` request lacks {} PRD lines, e.g. {:?}",
            output_name(r),
            missing.len(),
            missing.first()
        );
        assert!(
            max_tokens(r) >= 16_000,
            "{}: {}",
            output_name(r),
            max_tokens(r)
        );
        // No prose field of a capable model's schema is capped under 2,000 characters.
        if let Some(schema) = r
            .response_format
            .as_ref()
            .and_then(|f| f.pointer("/json_schema/schema"))
        {
            let mut lengths = Vec::new();
            max_lengths(schema, "", &mut lengths);
            let short: Vec<&(String, u64)> = lengths
                .iter()
                .filter(|(k, n)| *n < 2_000 && !LABELS.contains(&k.as_str()))
                .collect();
            assert!(
                short.is_empty(),
                "`{}` caps prose: {short:?}",
                output_name(r)
            );
        }
    }
    let stages: Vec<String> = reqs.iter().map(output_name).collect();
    for kind in [
        "options",
        "proposal",
        "review",
        "integration",
        "manifest",
        "design_doc",
        "implementation_plan",
    ] {
        assert!(
            stages.iter().any(|s| s == kind),
            "no `{kind}` request: {stages:?}"
        );
    }
    // Nothing was cut, and no prompt says so.
    let journal = rig.journal();
    assert!(
        !journal.iter().any(|e| e["type"] == "context_shrunk"),
        "{:?}",
        journal
            .iter()
            .filter(|e| e["type"] == "context_shrunk")
            .collect::<Vec<_>>()
    );
    assert!(
        reqs.iter()
            .all(|r| !prompt_text(r).contains("Left out to fit"))
    );

    // The final review reads every design document whole, as it was when reviewed.
    let docs = design_docs(&rig);
    assert!(docs.len() >= 2, "{docs:?}");
    let finals: Vec<&RecordedRequest> = reqs
        .iter()
        .filter(|r| prompt_text(r).contains("Final review of the design documents"))
        .collect();
    assert!(!finals.is_empty(), "no final review request");
    for r in &finals {
        let text = prompt_text(r);
        for f in &docs {
            let reviewed = doc_revision(&rig, f, 1).expect("a first revision");
            assert!(
                text.contains(reviewed.trim()),
                "the final review lacks {f} whole"
            );
        }
    }
    // The implementation plan reads every design document whole, as finally revised.
    let plan = reqs
        .iter()
        .find(|r| output_name(r) == "implementation_plan")
        .unwrap();
    let text = prompt_text(plan);
    for f in &docs {
        assert!(
            text.contains(latest_revision(&rig, f).trim()),
            "the plan lacks {f} whole"
        );
    }
}

#[test]
fn a_small_window_fits_every_request_and_the_journal_names_what_was_cut() {
    const WINDOW: u32 = 8_192;
    // Four design documents: together they do not fit an 8k window, so the final review fans out.
    let docs = vec![
        "ledger_core_design.md",
        "statement_export_design.md",
        "access_control_design.md",
        "notifications_design.md",
    ];
    let script = Script {
        docs: docs.clone(),
        ..Script::default()
    };
    let rig = rig(u64::from(WINDOW), None, script);
    run_on_the_ledger_prd(&rig);
    let reqs = rig.server.requests();
    for r in &reqs {
        let prompt: u32 = r
            .messages
            .iter()
            .map(|m| estimate_tokens(&m.content) + 4)
            .sum();
        assert!(
            prompt + max_tokens(r) <= WINDOW,
            "a `{}` request: prompt ~{prompt} + max_tokens {} > {WINDOW}",
            output_name(r),
            max_tokens(r)
        );
    }
    let cuts: Vec<Value> = rig
        .journal()
        .into_iter()
        .filter(|e| e["type"] == "context_shrunk")
        .collect();
    assert!(!cuts.is_empty(), "an 8k window holds everything?");
    for e in &cuts {
        let task = e["task_id"].as_str().unwrap();
        let parts = e["cuts"].as_array().unwrap();
        assert!(!parts.is_empty(), "{e}");
        // The prompt sent for that task names the same parts.
        let sent =
            std::fs::read_to_string(rig.session_dir().join("tasks").join(format!("{task}.json")))
                .unwrap();
        for c in parts {
            let part = c["part"].as_str().unwrap();
            assert!(
                sent.contains(&format!("- {part}: ")),
                "{task}: the prompt does not name the cut of {part}"
            );
            assert!(
                c["kept_tokens"].as_u64().unwrap() < c["tokens"].as_u64().unwrap(),
                "{c}"
            );
        }
    }
    // The final review fanned out: each reviewer read each document in a request of its own.
    let fanned: Vec<String> = reqs
        .iter()
        .map(prompt_text)
        .filter(|t| t.contains("reviewed in requests of their own"))
        .collect();
    assert_eq!(
        fanned.len(),
        docs.len() * 2,
        "one request per document and reviewer"
    );
    for f in &docs {
        assert_eq!(
            fanned
                .iter()
                .filter(|t| t.contains(&format!("Design document to review: {f}")))
                .count(),
            2,
            "{f}"
        );
    }
    // Every prompt that says it left something out belongs to a task the journal names.
    let named: Vec<&str> = cuts
        .iter()
        .map(|e| e["task_id"].as_str().unwrap())
        .collect();
    let tasks = rig.session_dir().join("tasks");
    for entry in std::fs::read_dir(&tasks).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        if text.contains("Left out to fit the context window") {
            let id = path.file_stem().unwrap().to_str().unwrap();
            assert!(
                named.contains(&id),
                "{id} cut context the journal does not name"
            );
        }
    }
}
