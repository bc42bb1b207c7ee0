//! Diagrams from a capable (remote) model: Mermaid source of the kinds the content needs,
//! checked by the Mermaid parser, and a diagram that does not parse goes back to the author.
//! Whole headless sessions against the fake model server (a base URL makes the model remote).

use docs::validate::mermaid::check_diagram;
use serde_json::Value;

use super::support::Rig;
use super::support::design_team::{BROKEN_SEQUENCE, Script};
use super::support::fake_openai::RecordedRequest;

/// A headless session with one review round, completed.
fn session(script: Script) -> Rig {
    // A large output budget: each document is one reply (parts are tested in suite::parts).
    let rig = Rig::new(
        script,
        "  context_window: 128000\n  max_output_tokens: 16384\nworkflow:\n  review_rounds: 1\n",
    );
    rig.run_headless(0);
    rig
}

/// The ```` ```mermaid ```` blocks of a markdown document.
fn mermaid_blocks(md: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<Vec<&str>> = None;
    for line in md.lines() {
        match current.as_mut() {
            None if line.trim() == "```mermaid" => current = Some(Vec::new()),
            None => {}
            Some(_) if line.trim() == "```" => blocks.push(current.take().unwrap().join("\n")),
            Some(lines) => lines.push(line),
        }
    }
    assert!(current.is_none(), "an unclosed mermaid block in\n{md}");
    blocks
}

/// Every design document the manifest selected: (file, markdown).
fn design_docs(rig: &Rig) -> Vec<(String, String)> {
    let manifest: Value = serde_json::from_str(&rig.read(".agentmux/specs/manifest.json")).unwrap();
    let docs: Vec<(String, String)> = manifest["selected_docs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let f = f.as_str().unwrap().to_string();
            let md = rig.read(&format!(".agentmux/specs/{f}"));
            (f, md)
        })
        .collect();
    assert!(!docs.is_empty(), "{manifest}");
    docs
}

/// Every design document has a sequence and an ER diagram, and every diagram the session
/// wrote parses.
fn assert_diagrams_parse(rig: &Rig) {
    let mut all = design_docs(rig);
    for f in ["options.md", "design_proposal.md"] {
        all.push((f.to_string(), rig.read(&format!(".agentmux/{f}"))));
    }
    for (file, md) in &all {
        let blocks = mermaid_blocks(md);
        assert!(!blocks.is_empty(), "{file} has no diagram");
        for b in &blocks {
            if let Err(e) = check_diagram(b) {
                panic!("{file}: a diagram does not parse: {e}\n{b}");
            }
        }
        if file.ends_with("_design.md") {
            for kind in ["sequenceDiagram", "erDiagram"] {
                assert!(
                    blocks.iter().any(|b| b.starts_with(kind)),
                    "{file} has no {kind} block:\n{md}"
                );
            }
        }
    }
    rig.cmd().arg("validate").assert().success();
}

/// The requests for a design document (the first draft and any repair of it).
fn design_doc_requests(rig: &Rig) -> Vec<RecordedRequest> {
    rig.server
        .requests()
        .into_iter()
        .filter(|r| {
            r.response_format
                .as_ref()
                .and_then(|f| f.pointer("/json_schema/schema/description"))
                .and_then(Value::as_str)
                .is_some_and(|d| d.starts_with("agentmux design document"))
        })
        .collect()
}

#[test]
fn a_remote_session_writes_sequence_and_er_diagrams_that_parse() {
    let rig = session(Script::default());
    assert_diagrams_parse(&rig);
    // The model was asked for Mermaid source, and told which kinds there are.
    let requests = design_doc_requests(&rig);
    let first = requests.first().expect("a design document request");
    let schema = first.response_format.as_ref().unwrap();
    let diagrams = schema
        .pointer("/json_schema/schema/properties/architecture_overview/properties/diagrams")
        .unwrap_or_else(|| panic!("no `diagrams` in {schema:#}"));
    assert_eq!(diagrams["maxItems"], 6);
    assert_eq!(diagrams["items"]["properties"]["mermaid"]["type"], "string");
    let prompt = first.last_user();
    for kind in ["sequenceDiagram", "erDiagram", "C4Container"] {
        assert!(
            prompt.contains(kind),
            "the prompt does not name {kind}:\n{prompt}"
        );
    }
    // Nothing was sent back for a diagram.
    assert!(
        !rig.server
            .requests()
            .iter()
            .any(|r| r.last_user().contains("not valid Mermaid")),
        "a repair for a diagram that parses"
    );
}

#[test]
fn a_diagram_that_does_not_parse_is_sent_back_named_and_repaired() {
    let rig = session(Script {
        broken_mermaid_once: true,
        ..Script::default()
    });
    let requests = design_doc_requests(&rig);
    // A repair continues the request with the findings (quoting the answer back, or, for an
    // answer as repetitive as the fake's, asking afresh).
    let repairs: Vec<&RecordedRequest> = requests
        .iter()
        .filter(|r| r.last_user().contains("architecture_overview.diagrams"))
        .collect();
    assert_eq!(
        repairs.len(),
        1,
        "one repair of one design document: {:#?}",
        requests.iter().map(|r| r.last_user()).collect::<Vec<_>>()
    );
    let finding = repairs[0].last_user();
    for needle in [
        "- Architecture Overview (architecture_overview.diagrams[1].mermaid): the diagram \"Shorten and redirect sequence\" is not valid Mermaid: ",
        "sequence diagram does not parse",
        "at line 3 of the diagram (`U->>: POST /links`)",
    ] {
        assert!(finding.contains(needle), "`{needle}` not in\n{finding}");
    }
    let broken_line = BROKEN_SEQUENCE.lines().last().unwrap().trim();
    // What was written is the repaired document.
    for (file, md) in design_docs(&rig) {
        assert!(!md.contains(broken_line), "{file} kept the broken diagram");
    }
    assert_diagrams_parse(&rig);
}
