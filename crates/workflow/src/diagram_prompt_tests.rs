//! The output fields a prompt lists describe diagrams in the shape the session's schemas ask
//! for: node/edge objects for the bundled local model, Mermaid source for a capable one.

use std::path::Path;

use docs::DocKind;
use protocol::OutputSpec;
use protocol::config::Config;

use crate::prompts::{PromptInputs, PromptTask, build};
use crate::roles::assemble;

/// The user message of `task` for the architect, and its schema.
fn prompt(task: &PromptTask, local_model: bool) -> (String, serde_json::Value) {
    let cfg = Config::default();
    let roles = assemble(&[], Path::new("/nonexistent"), &cfg).unwrap();
    let inputs = PromptInputs {
        project_name: "readtime",
        goal: Some("A library that estimates reading time."),
        local_model,
        ..PromptInputs::default()
    };
    let p = build(roles.get("architect").unwrap(), task, &inputs, &cfg);
    let OutputSpec::Json { schema, .. } = p.output else {
        panic!("a document task returns JSON");
    };
    (p.messages.last().unwrap().content.clone(), schema)
}

#[test]
fn a_capable_model_is_told_to_write_mermaid_and_the_local_model_nodes_and_edges() {
    let tasks = [
        PromptTask::Draft {
            kind: DocKind::Options,
        },
        PromptTask::Draft {
            kind: DocKind::Proposal,
        },
        PromptTask::DesignDoc {
            file: "api_design.md",
            scope: "The public API.",
        },
    ];
    for task in &tasks {
        let (remote, schema) = prompt(task, false);
        assert!(remote.contains("sequenceDiagram"), "{task:?}:\n{remote}");
        assert!(
            !remote.contains("nodes [{id, label}]"),
            "{task:?}:\n{remote}"
        );
        assert!(schema.to_string().contains("sequenceDiagram"), "{task:?}");
        let (local, schema) = prompt(task, true);
        assert!(local.contains("nodes [{id, label}]"), "{task:?}:\n{local}");
        assert!(!local.contains("Mermaid"), "{task:?}:\n{local}");
        assert!(!schema.to_string().contains("sequenceDiagram"), "{task:?}");
    }
    let (design, _) = prompt(&tasks[2], false);
    for needle in [
        "diagrams [{title, mermaid}] (1 to 6",
        "sequenceDiagram",
        "erDiagram",
        "C4Container",
    ] {
        assert!(design.contains(needle), "{needle}:\n{design}");
    }
    let (proposal, _) = prompt(&tasks[1], false);
    assert!(
        proposal.contains("acceptance, notes (optional"),
        "{proposal}"
    );
    let (proposal, _) = prompt(&tasks[1], true);
    assert!(!proposal.contains("notes"), "{proposal}");
}
