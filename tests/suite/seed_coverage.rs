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
