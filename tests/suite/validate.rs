//! The deliverable validators on fixtures (rendered by agentmux and written by hand), one test per
//! rule, and `agentmux validate` as a user or CI runs it.

use std::path::{Path, PathBuf};

use docs::validate::{
    Finding, MAX_ARTIFACT_BYTES, TraceKind, check_text, traceability, validate_design_doc,
    validate_dir, validate_manifest, validate_mermaid_blocks, validate_options, validate_plan,
    validate_prd, validate_proposal,
};
use predicates::prelude::*;
use protocol::config::Config;
use serde_json::{Value, json};

use super::support::{AgentmuxCmd as _, Project};

pub(super) fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/specs")
}

fn fixture(rel: &str) -> String {
    std::fs::read_to_string(fixtures().join(rel)).unwrap()
}

/// `text` with `from` replaced by `to`; fails if `from` is not there (so a fixture edit cannot
/// silently turn a test into a no-op).
pub(super) fn edit(text: &str, from: &str, to: &str) -> String {
    assert!(text.contains(from), "fixture does not contain {from:?}");
    text.replacen(from, to, 1)
}

fn lines(findings: &[Finding]) -> Vec<String> {
    findings.iter().map(ToString::to_string).collect()
}

/// Asserts exactly one finding contains every fragment.
#[track_caller]
fn has(findings: &[Finding], fragments: &[&str]) {
    let text = lines(findings);
    let n = text
        .iter()
        .filter(|t| fragments.iter().all(|f| t.contains(f)))
        .count();
    assert_eq!(n, 1, "expected one finding with {fragments:?} in {text:#?}");
}

#[track_caller]
fn clean(findings: &[Finding]) {
    assert!(findings.is_empty(), "{:#?}", lines(findings));
}

/// Copies a fixture directory into a temporary project's `.agentmux/`.
fn project_with(fixture_dir: &str) -> Project {
    let p = Project::new();
    copy_dir(&fixtures().join(fixture_dir), &p.path().join(".agentmux"));
    p
}

pub(super) fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}

// ---------------------------------------------------------------- valid fixtures

#[test]
fn rendered_documents_pass_every_validator() {
    clean(&validate_options(&fixture("rendered/options.md")));
    clean(&validate_proposal(&fixture("rendered/design_proposal.md")));
    clean(&validate_plan(&fixture("rendered/implementation_plan.md")));
    clean(&validate_prd(&fixture("rendered/specs/project.md")));
    clean(&validate_design_doc(&fixture(
        "rendered/specs/notification_outbox_backend_design.md",
    )));
    clean(&validate_design_doc(&fixture(
        "rendered/specs/notification_delivery_operations_design.md",
    )));
    let r = validate_dir(&fixtures().join("rendered"), &Config::default());
    clean(&r.findings);
    assert_eq!(r.checked.len(), 7, "{:?}", r.checked);
}

#[test]
fn hand_written_documents_in_a_human_style_pass() {
    // setext titles, no numbering, `#` sections, `&`, options as `## Option 1 - ...` with `####`
    // parts and `- Effort:` items, a transposed comparison table, steps as a numbered list with
    // `- Objective:` bullets, "Acceptance criteria", ids like F1, bullets without ids.
    clean(&validate_options(&fixture("human/options.md")));
    clean(&validate_proposal(&fixture("human/design_proposal.md")));
    clean(&validate_plan(&fixture("human/implementation_plan.md")));
    let r = validate_dir(&fixtures().join("human"), &Config::default());
    clean(&r.findings);
    assert!(
        r.checked
            .contains(&"specs/search_access_security_design.md".to_string())
    );
}

#[test]
fn documents_rendered_by_agentmux_pass_their_validators() {
    use docs::DocKind;
    use docs::render::{RenderMeta, render};
    use docs::templates::Templates;

    let tpl = Templates::builtin().unwrap();
    let mut meta = RenderMeta::new("readtime", "2026-01-15");
    meta.spec_path = Some("/work/readtime/.agentmux/specs/estimation_core_design.md".into());
    let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/docs");
    for kind in DocKind::ALL {
        let json: Value = serde_json::from_str(
            &std::fs::read_to_string(docs.join(format!("{kind}.json"))).unwrap(),
        )
        .unwrap();
        let md = render(kind, &json, &meta, &tpl).unwrap();
        let findings = match kind {
            DocKind::Prd => validate_prd(&md),
            DocKind::Options => validate_options(&md),
            DocKind::Proposal => validate_proposal(&md),
            DocKind::DesignDoc => validate_design_doc(&md),
            DocKind::ImplementationPlan => validate_plan(&md),
        };
        assert!(findings.is_empty(), "{kind}: {:#?}\n{md}", lines(&findings));
    }
    let manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(docs.join("manifest.json")).unwrap())
            .unwrap();
    let written: Vec<String> = manifest["selected_docs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    clean(&validate_manifest(&manifest, Some(&written), 2, 6));
}

// ---------------------------------------------------------------- options

#[test]
fn options_need_three_options() {
    let md = fixture("rendered/options.md");
    let start = md.find("### Option C").unwrap();
    let end = md.find("## 3. Option Comparison").unwrap();
    let md = format!("{}{}", &md[..start], &md[end..]);
    let md = edit(
        &md,
        "| Option C | Full | Poor | Medium | High | Best | Complex |\n",
        "",
    );
    let f = validate_options(&md);
    has(
        &f,
        &[
            "section \"Architecture Options\"",
            "2 options found (Option A: Notifications inside the monolith, Option B: Outbox table and a background worker)",
            "need at least 3",
        ],
    );
    assert_eq!(f.len(), 1, "{:#?}", lines(&f));
}

#[test]
fn each_option_needs_a_diagram_tradeoffs_and_a_size() {
    let md = fixture("rendered/options.md");
    let md = edit(
        &md,
        "```mermaid\nflowchart LR\n  Shop[Shop monolith] -->|order event|",
        "```text\nflowchart LR\n  Shop[Shop monolith] -->|order event|",
    );
    let md = edit(
        &md,
        "**Trade-offs:** No message is lost",
        "No message is lost",
    );
    let md = edit(
        &md,
        "**Effort:** L (2 to 3 months)",
        "**Effort:** about a quarter",
    );
    let f = validate_options(&md);
    has(
        &f,
        &[
            "option \"Option A: Notifications inside the monolith\"",
            "no mermaid diagram",
        ],
    );
    has(
        &f,
        &[
            "option \"Option B: Outbox table and a background worker\"",
            "no \"Trade-offs\"",
        ],
    );
    has(
        &f,
        &[
            "option \"Option C",
            "effort \"about a quarter\" is not S, M or L",
        ],
    );
    assert_eq!(f.len(), 3, "{:#?}", lines(&f));

    let md = edit(
        &fixture("rendered/options.md"),
        "**Effort:** S (1 to 2 weeks)",
        "**Effort:**",
    );
    has(&validate_options(&md), &["Option A", "\"Effort\" is empty"]);
}

#[test]
fn options_need_a_comparison_table_with_every_option_and_a_recommendation() {
    let md = fixture("rendered/options.md");
    let no_c = edit(
        &md,
        "| Option C | Full | Poor | Medium | High | Best | Complex |\n",
        "",
    );
    let f = validate_options(&no_c);
    has(
        &f,
        &[
            "section \"Option Comparison and Decision\"",
            "no row for \"Option C: Managed event bus and a notification service\"",
        ],
    );
    assert_eq!(f.len(), 1);

    let start = md.find("| Option |").unwrap();
    let end = md.find("**Recommendation:**").unwrap();
    let no_table = format!("{}{}", &md[..start], &md[end..]);
    has(&validate_options(&no_table), &["no comparison table"]);

    let no_rec = edit(
        &md,
        "**Recommendation:** Option B. It meets",
        "All three options meet",
    );
    has(
        &validate_options(&no_rec),
        &["Option Comparison and Decision", "no recommendation"],
    );
}

#[test]
fn options_sections_and_diagram_syntax() {
    let md = fixture("rendered/options.md");
    let md = edit(&md, "## 1. Title and Summary", "## 1. Background");
    let md = edit(
        &md,
        "Worker --> SMS[SMS provider]",
        "Worker --> SMS[SMS provider",
    );
    let f = validate_options(&md);
    has(
        &f,
        &["section \"Title and Summary\": missing; add a heading \"## 1. Title and Summary\""],
    );
    has(
        &f,
        &[
            "mermaid block 2 (line",
            "\"flowchart LR\")",
            "does not parse",
            "Worker --> SMS[SMS provider",
        ],
    );
    assert_eq!(f.len(), 2, "{:#?}", lines(&f));
}

#[test]
fn hand_written_options_with_problems() {
    let f = validate_options(&fixture("invalid/options_thin.md"));
    has(&f, &["2 options found"]);
    has(&f, &["Option B: In-process cache", "no mermaid diagram"]);
    has(&f, &["Option B: In-process cache", "no \"Trade-offs\""]);
    has(&f, &["Option B: In-process cache", "effort \"huge\""]);
    has(&f, &["no comparison table"]);
    has(&f, &["no recommendation"]);
    assert_eq!(f.len(), 6, "{:#?}", lines(&f));
}

// ---------------------------------------------------------------- proposal

#[test]
fn proposal_sections_steps_parts_and_diagram() {
    let f = validate_proposal(&fixture("invalid/proposal_short.md"));
    has(&f, &["section \"Open Questions\": missing"]);
    has(&f, &["out of order", "Design Principles Applied"]);
    has(
        &f,
        &["section \"High-Level Implementation Plan\": 3 steps, need 8 to 20"],
    );
    has(&f, &["step 2 \"Client\"", "\"Pseudocode\" is missing"]);
    has(&f, &["step 3 \"Wire in\"", "\"Acceptance Check\" is empty"]);
    has(&f, &["document: no mermaid diagram", "Approach Overview"]);
    assert_eq!(f.len(), 6, "{:#?}", lines(&f));
}

#[test]
fn proposal_step_count_bounds() {
    let md = fixture("rendered/design_proposal.md");
    let start = md.find("### Step 1:").unwrap();
    let end = md.find("## 15. Trade-offs").unwrap();
    let step = "### Step {n}: More\n\n**Objective:** o\n\n**Code/Config Changes:** c\n\n**Pseudocode:** p\n\n**Acceptance Check:** a\n\n";
    let many: String = (1..=21)
        .map(|n| step.replace("{n}", &n.to_string()))
        .collect();
    let f = validate_proposal(&format!("{}{many}{}", &md[..start], &md[end..]));
    has(&f, &["21 steps, need 8 to 20", "merge small steps"]);
    assert_eq!(f.len(), 1, "{:#?}", lines(&f));
    let twenty: String = (1..=20)
        .map(|n| step.replace("{n}", &n.to_string()))
        .collect();
    clean(&validate_proposal(&format!(
        "{}{twenty}{}",
        &md[..start],
        &md[end..]
    )));
}

#[test]
fn hand_written_list_steps_are_checked_too() {
    let md = fixture("human/design_proposal.md");
    let md = edit(
        &md,
        "   - Pseudocode: `debounce 150 ms; fetch /search; render hits`\n",
        "",
    );
    let md = edit(
        &md,
        "7. **Rebuild command**",
        "7. **Rebuild command**\n   - Notes: none",
    );
    let f = validate_proposal(&md);
    has(
        &f,
        &["step 6 \"Search box UI\"", "\"Pseudocode\" is missing"],
    );
    assert_eq!(f.len(), 1, "{:#?}", lines(&f));
}

// ---------------------------------------------------------------- design docs, plan, PRD

#[test]
fn design_doc_sections_table_and_diagram() {
    let f = validate_design_doc(&fixture("invalid/design_doc_broken.md"));
    has(&f, &["section \"Assumptions (TBD)\": missing"]);
    has(
        &f,
        &[
            "section \"Security & Compliance\": out of order",
            "after \"Infrastructure & Operations\"",
        ],
    );
    has(
        &f,
        &["section \"Research & Stack Selection\": no comparison table"],
    );
    has(
        &f,
        &[
            "mermaid block 1 (line 5: \"flowchart LR\")",
            "Unterminated node label",
            "line 2 of the diagram",
        ],
    );
    assert_eq!(f.len(), 4, "{:#?}", lines(&f));

    let md = fixture("rendered/specs/notification_outbox_backend_design.md");
    let start = md.find("```mermaid").unwrap();
    let end = md.find("## 2. Research").unwrap();
    let f = validate_design_doc(&format!("{}{}", &md[..start], &md[end..]));
    has(
        &f,
        &["document: no mermaid diagram", "\"Architecture Overview\""],
    );
    assert_eq!(f.len(), 1, "{:#?}", lines(&f));
}

#[test]
fn plan_has_ten_sections_in_order() {
    let f = validate_plan(&fixture("invalid/plan_incomplete.md"));
    has(
        &f,
        &["section \"Database Changes\": missing; add a heading \"## 4. Database Changes\""],
    );
    has(&f, &["section \"Open Questions\": is empty"]);
    assert_eq!(f.len(), 2, "{:#?}", lines(&f));
    let f = validate_plan("");
    has(
        &f,
        &[
            "no headings found",
            "## 1. Final Decision Summary",
            "## 10. Open Questions",
        ],
    );
}

#[test]
fn prd_is_checked_leniently() {
    has(&validate_prd("  \n"), &["the PRD is empty"]);
    has(&validate_prd("We sell shoes."), &["no heading"]);
    clean(&validate_prd("# Shoes\n\nWe sell shoes."));
}

// ---------------------------------------------------------------- manifest and traceability

#[test]
fn manifest_names_counts_keys_and_written_files() {
    let json: Value = serde_json::from_str(&fixture("invalid/manifest_bad.json")).unwrap();
    let written = vec![
        "billing_backend_design.md".to_string(),
        "extra_design.md".to_string(),
    ];
    let f = validate_manifest(&json, Some(&written), 4, 6);
    has(
        &f,
        &["selected_docs[1]: `../outside_design.md` contains a path separator"],
    );
    has(
        &f,
        &[
            "selected_docs[2]: `Billing API.md` does not end in `_design.md`",
            "`billing_api_design.md`",
        ],
    );
    has(&f, &["selected_docs: 3 documents, need 4 to 6"]);
    has(&f, &["`extra_design.md` was written but is not listed"]);
    has(
        &f,
        &["design_areas.ledger_design.md: `ledger_design.md` is not in selected_docs"],
    );
    has(&f, &["phase_plan_overview", "[] has less than 1 item"]);
    assert_eq!(f.len(), 6, "{:#?}", lines(&f));

    let good: Value = serde_json::from_str(&fixture("rendered/specs/manifest.json")).unwrap();
    let written: Vec<String> = good["selected_docs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    clean(&validate_manifest(&good, Some(&written), 2, 6));
    has(
        &validate_manifest(&good, Some(&written[..1]), 2, 6),
        &["is listed but was not written"],
    );
    has(
        &validate_manifest(&good, None, 3, 6),
        &["2 documents, need 3 to 6"],
    );
    let mut typo = good.clone();
    let docs = typo
        .as_object_mut()
        .unwrap()
        .remove("selected_docs")
        .unwrap();
    typo["selected_doc"] = docs;
    let f = validate_manifest(&typo, None, 2, 6);
    has(
        &f,
        &["manifest:", "\"selected_docs\" is a required property"],
    );
    has(&f, &["manifest:", "'selected_doc' was unexpected"]);
}

#[test]
fn traceability_names_every_uncovered_objective_requirement_and_step() {
    let prd = fixture("rendered/specs/project.md");
    let mut manifest: Value =
        serde_json::from_str(&fixture("rendered/specs/manifest.json")).unwrap();
    assert_eq!(traceability(&prd, None, &manifest), vec![]);

    let trace = manifest["traceability"].as_object_mut().unwrap();
    for key in [
        "FR-2",
        "shopper pays and gets a confirmation email",
        "told when the parcel is delivered",
    ] {
        trace.remove(key).unwrap();
    }
    let u = traceability(&prd, None, &manifest);
    let got: Vec<(TraceKind, Option<&str>)> = u.iter().map(|u| (u.kind, u.id.as_deref())).collect();
    assert_eq!(
        got,
        vec![
            (TraceKind::FunctionalRequirement, Some("FR-2")),
            (TraceKind::JourneyStep, None),
            (TraceKind::JourneyStep, None),
        ]
    );
    assert_eq!(
        u[1].text,
        "Shopper pays for an order and gets a confirmation email."
    );
    let finding = u[0].to_finding();
    assert_eq!(finding.location, "traceability");
    assert!(finding.message.starts_with(
        "functional requirement FR-2 (\"SMS for shoppers who opted in.\") is not covered"
    ));

    // a --journey text replaces the PRD's journey section
    let u = traceability(
        &prd,
        Some("Shopper opens the tracking page -> shopper rates the delivery"),
        &manifest,
    );
    assert_eq!(
        u.iter()
            .filter(|u| u.kind == TraceKind::JourneyStep)
            .count(),
        2
    );

    // in a directory, uncovered items are findings on the manifest
    let p = project_with("rendered");
    let path = p.path().join(".agentmux/specs/manifest.json");
    std::fs::write(&path, serde_json::to_string_pretty(&manifest).unwrap()).unwrap();
    let r = validate_dir(&p.path().join(".agentmux"), &Config::default());
    assert_eq!(r.findings.len(), 3, "{:#?}", lines(&r.findings));
    has(
        &r.findings,
        &["specs/manifest.json: traceability: functional requirement FR-2"],
    );
}

// ---------------------------------------------------------------- mermaid and text limits

#[test]
fn mermaid_errors_name_the_block_and_the_parser_message() {
    let md = "# D\n\n```mermaid\nsequenceDiagram\n  A->>B: hi\n```\n\n```mermaid\nerDiagram\n  USER ||--o{ ORDER places\n```\n\n```mermaid\nflowchart LR\n  A --> B\n";
    let f = validate_mermaid_blocks(md);
    has(
        &f,
        &[
            "mermaid block 2 (line 8: \"erDiagram\")",
            "er diagram does not parse",
            "line 2 of the diagram (`USER ||--o{ ORDER places`)",
        ],
    );
    has(
        &f,
        &["mermaid block 3 (line 13: \"flowchart LR\")", "not closed"],
    );
    assert_eq!(f.len(), 2, "{:#?}", lines(&f));
    has(
        &validate_mermaid_blocks("```mermaid\nflowchrt LR\n A-->B\n```\n"),
        &["no Mermaid diagram type recognised in `flowchrt LR`"],
    );
}

#[test]
fn binary_oversized_and_non_utf8_files_are_rejected() {
    assert!(check_text(b"# ok\n", 10).is_ok());
    let p = project_with("rendered");
    let specs = p.path().join(".agentmux/specs");
    std::fs::write(
        specs.join("notification_outbox_backend_design.md"),
        b"# x\n\x00\x01binary",
    )
    .unwrap();
    std::fs::write(
        specs.join("notification_delivery_operations_design.md"),
        b"# caf\xe9\n",
    )
    .unwrap();
    std::fs::write(
        p.path().join(".agentmux/options.md"),
        vec![b'a'; MAX_ARTIFACT_BYTES + 1],
    )
    .unwrap();
    let r = validate_dir(&p.path().join(".agentmux"), &Config::default());
    has(
        &r.findings,
        &["specs/notification_outbox_backend_design.md: line 2: contains a NUL byte"],
    );
    has(
        &r.findings,
        &["specs/notification_delivery_operations_design.md: line 1: not valid UTF-8 at byte 5"],
    );
    has(&r.findings, &["options.md: size:", "more than the limit"]);
    assert_eq!(r.findings.len(), 3, "{:#?}", lines(&r.findings));
}

// ---------------------------------------------------------------- directory shape

#[test]
fn specs_directory_shape() {
    let p = project_with("rendered");
    let root = p.path().join(".agentmux");
    let specs = root.join("specs");
    std::fs::create_dir_all(specs.join("nested")).unwrap();
    std::fs::write(specs.join("nested/a_design.md"), "# A\n").unwrap();
    std::fs::write(specs.join("NOTES.txt"), "notes").unwrap();
    std::fs::write(
        specs.join("stray_design.md"),
        fixture("rendered/specs/notification_outbox_backend_design.md"),
    )
    .unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink("/etc/hostname", specs.join("link_design.md")).unwrap();
    let r = validate_dir(&root, &Config::default());
    has(
        &r.findings,
        &["specs/nested: directory: subdirectories are not allowed"],
    );
    has(
        &r.findings,
        &["specs/NOTES.txt: file: is not a design document and not listed in manifest.json"],
    );
    has(
        &r.findings,
        &["specs/manifest.json: selected_docs: `stray_design.md` was written but is not listed"],
    );
    #[cfg(unix)]
    has(
        &r.findings,
        &["specs/link_design.md: file: is a symbolic link"],
    );
    assert_eq!(
        r.findings.len(),
        if cfg!(unix) { 4 } else { 3 },
        "{:#?}",
        lines(&r.findings)
    );
}

#[test]
fn manifest_missing_or_not_json() {
    let p = project_with("rendered");
    let root = p.path().join(".agentmux");
    std::fs::write(
        root.join("specs/manifest.json"),
        "{\n  \"project_name\": \"x\",\n  oops\n}",
    )
    .unwrap();
    let r = validate_dir(&root, &Config::default());
    has(
        &r.findings,
        &["specs/manifest.json: line 3, column 3: not valid JSON"],
    );
    std::fs::remove_file(root.join("specs/manifest.json")).unwrap();
    let r = validate_dir(&root, &Config::default());
    has(
        &r.findings,
        &["specs/manifest.json: file: missing: 2 design documents but no manifest"],
    );
}

#[test]
fn a_project_sections_override_is_refused_and_the_builtin_sections_still_apply() {
    let p = project_with("rendered");
    let root = p.path().join(".agentmux");
    let builtin = include_str!("../../specs-templates/sections.yaml");
    let custom = builtin.replace(
        "title: \"Open Questions\"",
        "title: \"Questions for Stakeholders\"",
    );
    p.write(".agentmux/templates/sections.yaml", &custom);
    let r = validate_dir(&root, &Config::default());
    has(
        &r.findings,
        &[
            "templates/sections.yaml: sections.yaml: sections.yaml cannot be overridden",
            "remove the file",
        ],
    );
    // The documents are still checked against the built-in sections, which they satisfy.
    assert_eq!(r.findings.len(), 1, "{:#?}", lines(&r.findings));
}

// ---------------------------------------------------------------- the command

#[test]
fn cli_clean_directory_exits_0() {
    let p = project_with("human");
    p.cmd()
        .arg("validate")
        .assert()
        .code(0)
        .stdout(predicate::str::starts_with("ok: 7 files checked in "))
        .stdout(predicate::str::contains("no findings"));
    // an explicit DIR, from anywhere
    let other = Project::new();
    other
        .cmd()
        .arg("validate")
        .arg(fixtures().join("rendered"))
        .assert()
        .code(0);
}

#[test]
fn cli_accepts_a_seed_004_manifest_and_still_rejects_broken_specs() {
    // Written by another tool as seed 004 words the keys: traceability maps each document to the
    // PRD objectives/KPIs it supports, and assumptions are plain strings.
    let p = project_with("seed004");
    let manifest: Value = serde_json::from_str(&fixture("seed004/specs/manifest.json")).unwrap();
    assert_eq!(
        manifest["traceability"]["redirect_backend_design.md"],
        json!(["O1", "KPI-1"])
    );
    assert!(manifest["assumptions_tbd"][0].is_string());
    p.cmd()
        .arg("validate")
        .assert()
        .code(0)
        .stdout(predicate::str::starts_with("ok: 4 files checked in "))
        .stdout(predicate::str::contains("no findings"));

    // Accepting the other forms relaxes nothing else.
    let specs = p.path().join(".agentmux/specs");
    let doc = specs.join("redirect_backend_design.md");
    let md = std::fs::read_to_string(&doc).unwrap();
    let md = edit(
        &md,
        "## Testing Strategy\n\nUnit tests of code generation; an integration test of create-then-redirect; a load test of KPI-1.\n\n",
        "",
    );
    let md = edit(&md, "  edge --> cache[(Cache)]", "  edge --> cache[(Cache)");
    std::fs::write(&doc, md).unwrap();
    let text = fixture("seed004/specs/manifest.json");
    let text = edit(
        &text,
        "\"click_analytics_design.md\"\n  ],",
        "\"click_analytics_design.md\",\n    \"../x_design.md\"\n  ],",
    );
    std::fs::write(specs.join("manifest.json"), text).unwrap();
    // The PRD is still traced through the objectives listed under each document.
    let prd = fixture("seed004/specs/project.md")
        + "\n## Functional Requirements\n\n- FR-1: Links expire on a chosen date.\n";
    std::fs::write(specs.join("project.md"), prd).unwrap();

    let out = p
        .cmd()
        .arg("validate")
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    let out = String::from_utf8(out).unwrap();
    for line in [
        "specs/redirect_backend_design.md\n  section \"Testing Strategy\": missing",
        "  mermaid block 1 (line 9: \"flowchart LR\"): flowchart-v2 diagram does not parse",
        "specs/manifest.json\n  selected_docs[2]: `../x_design.md` contains a path separator",
        "  traceability: functional requirement FR-1 (\"Links expire on a chosen date.\") is not covered by any design area; cover it in a design document and list it under that document in traceability (e.g. \"x_design.md\": [\"FR-1\"])",
        "4 findings in 2 files",
    ] {
        assert!(out.contains(line), "missing {line:?} in\n{out}");
    }
}

#[test]
fn cli_broken_directory_exits_1_and_names_each_finding() {
    let p = Project::new();
    let out = p
        .cmd()
        .arg("validate")
        .arg(fixtures().join("broken"))
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(out).unwrap();
    for line in [
        "options.md\n  section \"Architecture Options\": 2 options found",
        "  option \"Option B: In-process cache\": no mermaid diagram",
        "specs/archive\n  directory: subdirectories are not allowed",
        "specs/billing_backend_design.md\n  section \"Assumptions (TBD)\": missing",
        "  mermaid block 1 (line 5: \"flowchart LR\"): flowchart-v2 diagram does not parse",
        "specs/manifest.json\n  selected_docs[1]: `payments/stripe_design.md` contains a path separator",
        "specs/notes.md\n  file: is not a design document",
        "13 findings in 5 files (3 checked in ",
    ] {
        assert!(text.contains(line), "missing {line:?} in\n{text}");
    }
}

#[test]
fn cli_json_report_shape() {
    let p = Project::new();
    let out = p
        .cmd()
        .args(["validate", "--json"])
        .arg(fixtures().join("broken"))
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    let v: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["ok"], json!(false));
    assert_eq!(
        v["checked"],
        json!([
            "options.md",
            "specs/billing_backend_design.md",
            "specs/manifest.json"
        ])
    );
    let findings = v["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 13);
    for f in findings {
        let keys: Vec<&str> = f.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys, vec!["file", "location", "message"]);
        assert!(f["file"].is_string() && f["location"].is_string() && f["message"].is_string());
    }
    assert!(findings.contains(&json!({
        "file": "specs/notes.md",
        "location": "file",
        "message": "is not a design document and not listed in manifest.json; move it out of specs/, or rename it to a snake_case `*_design.md` and list it in selected_docs"
    })));

    let clean_out = p
        .cmd()
        .args(["validate", "--json"])
        .arg(fixtures().join("rendered"))
        .assert()
        .code(0)
        .get_output()
        .stdout
        .clone();
    let v: Value = serde_json::from_slice(&clean_out).unwrap();
    assert_eq!(v["ok"], json!(true));
    assert_eq!(v["findings"], json!([]));
    assert_eq!(v["checked"].as_array().unwrap().len(), 7);
}

#[test]
fn cli_missing_directory_exits_2_with_a_clear_error() {
    let p = Project::new();
    p.cmd()
        .arg("validate")
        .assert()
        .code(2)
        .stderr(predicate::str::contains(".agentmux"))
        .stderr(predicate::str::contains("does not exist"))
        .stderr(predicate::str::contains("agentmux init"));
    p.cmd()
        .args(["validate", "no/such/dir", "--json"])
        .assert()
        .code(2)
        .stdout(predicate::str::is_empty())
        .stderr(predicate::str::contains("no/such/dir"));
    p.write("file.txt", "x");
    p.cmd()
        .args(["validate", "file.txt"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("is not a directory"));
}

#[test]
fn cli_respects_project_flag_and_an_empty_directory_is_clean() {
    let p = project_with("broken");
    let elsewhere = Project::new();
    elsewhere
        .cmd()
        .arg("-C")
        .arg(p.path())
        .arg("validate")
        .assert()
        .code(1)
        .stdout(predicate::str::contains("specs/notes.md"));
    let empty = Project::new();
    std::fs::create_dir_all(empty.path().join(".agentmux/specs")).unwrap();
    empty
        .cmd()
        .arg("validate")
        .assert()
        .code(0)
        .stdout(predicate::str::contains("nothing to check"));
}

#[test]
fn cli_project_directory_means_its_agentmux_dir_and_configured_specs_are_found() {
    let p = project_with("broken");
    p.cmd()
        .args(["validate", "."])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("specs/notes.md"))
        .stdout(predicate::str::contains(".agentmux)"));

    // specs kept outside `.agentmux/` through `paths.specs`
    let p = Project::new();
    copy_dir(
        &fixtures().join("rendered/specs"),
        &p.path().join("docs/specs"),
    );
    p.write(".agentmux/config.yaml", "paths:\n  specs: docs/specs\n");
    std::fs::write(p.path().join("docs/specs/notes.txt"), "x").unwrap();
    p.cmd()
        .arg("validate")
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "../docs/specs/notes.txt\n  file: is not a design document",
        ))
        .stdout(predicate::str::contains("(4 checked in "));
}
