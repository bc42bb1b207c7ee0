//! Deterministic validators for every document a session produces.
//!
//! Small and local models often miss structure, and people who write specs by hand format them
//! freely. Nothing is accepted into `.agentmux/` on the model's word: the supervisor runs these
//! checks on every artifact and turns each [`Finding`] into a repair task; `agentmux validate`
//! runs the same checks on a committed `.agentmux/` directory (for CI).
//!
//! The checks read markdown (rendered by agentmux or written by a person), so they are tolerant
//! of formatting: heading numbers are optional, `#` levels 1 to 3 work for top sections, titles
//! match case-insensitively with `&`/`and` and punctuation ignored. What must be there comes from
//! `specs-templates/sections.yaml` (see [`structure`]), never from lists in this code.
//!
//! Every validator of a markdown document also checks its mermaid blocks with a real parser, so
//! one call gives every finding for the artifact. Validators never panic, whatever the input.

pub(crate) mod citations;
mod depth;
mod design_doc;
mod dir;
mod labels;
mod limits;
mod manifest;
pub(crate) mod markdown;
pub mod mermaid;
pub mod names;
mod options;
mod plan;
mod prd;
mod proposal;
pub(crate) mod sections;
pub(crate) mod structure;
mod trace_form;
pub mod traceability;

use std::fmt;

use serde::{Deserialize, Serialize};

pub use citations::{MAX_CITED_BYTES, check_citations};
pub use depth::{RULE_ACK, RULE_APPENDIX, RULE_LABEL, RULE_TABLE, check_acknowledged, check_depth};
pub use design_doc::validate_design_doc;
pub use dir::{MAX_ARTIFACT_BYTES, Report, validate_dir};
pub use limits::check_text;
pub use manifest::{
    DESIGN_DOCS_CEILING, DocCount, ManifestCheck, check_manifest, validate_manifest,
};
pub use mermaid::validate_mermaid_blocks;
pub use options::validate_options;
pub use plan::validate_plan;
pub use prd::validate_prd;
pub use proposal::validate_proposal;
pub use structure::Structure;
pub use traceability::{TraceKind, Uncovered, traceability};

/// One problem in one artifact: where it is and what to do about it.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// The file, relative to the `.agentmux/` directory (`None` when the caller validated text
    /// that has no file yet; see [`Finding::in_file`]).
    pub file: Option<String>,
    /// The section, block or key the problem is in (e.g. `section "Open Questions"`,
    /// `mermaid block 2 (line 40)`, `selected_docs[1]`).
    pub location: String,
    /// The problem and the fix, in one or two sentences.
    pub message: String,
}

impl Finding {
    /// A finding without a file.
    pub fn new(location: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            file: None,
            location: location.into(),
            message: message.into(),
        }
    }

    /// The same finding, attributed to `file`.
    pub fn in_file(mut self, file: impl Into<String>) -> Self {
        self.file = Some(file.into());
        self
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(file) = &self.file {
            write!(f, "{file}: ")?;
        }
        write!(f, "{}: {}", self.location, self.message)
    }
}

/// Runs `check` with the built-in structure.
fn with_builtin(check: impl FnOnce(&Structure) -> Vec<Finding>) -> Vec<Finding> {
    check(Structure::builtin())
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use crate::DocKind;
    use crate::schema::{MERMAID_MAX_CHARS, SchemaLimits, document_schema};

    fn at(schema: &Value, pointer: &str) -> u64 {
        schema
            .pointer(pointer)
            .and_then(Value::as_u64)
            .unwrap_or_else(|| panic!("the remote schema states nothing at {pointer}"))
    }

    /// Every count and size a validator holds a rendered document to is stated in the schema a
    /// capable model is given, at the validator's value or tighter, so the model is never
    /// rejected for a limit it was not told.
    #[test]
    fn the_remote_document_schemas_state_every_limit_the_validators_enforce() {
        let lim = SchemaLimits::remote();
        let proposal = document_schema(DocKind::Proposal, &lim);
        // validate_proposal: 8 to 20 steps.
        assert_eq!(
            at(&proposal, "/properties/steps/minItems") as usize,
            *super::proposal::STEPS.start()
        );
        assert_eq!(
            at(&proposal, "/properties/steps/maxItems") as usize,
            *super::proposal::STEPS.end()
        );
        // validate_options: at least three options.
        let options = document_schema(DocKind::Options, &lim);
        assert!(
            at(&options, "/properties/options/minItems") as usize >= super::options::MIN_OPTIONS
        );
        // Every validator: at least one mermaid block, each within the parser check's size.
        let chars_fit = |n: u64| n as usize * 4 <= super::mermaid::MAX_MERMAID_BYTES;
        assert!(chars_fit(at(
            &options,
            "/properties/options/items/properties/diagram/maxLength"
        )));
        for (kind, key) in [
            (DocKind::Proposal, "approach"),
            (DocKind::DesignDoc, "architecture_overview"),
        ] {
            let s = document_schema(kind, &lim);
            let diagrams = format!("/properties/{key}/properties/diagrams");
            assert!(at(&s, &format!("{diagrams}/minItems")) >= 1, "{kind}");
            let max = at(
                &s,
                &format!("{diagrams}/items/properties/mermaid/maxLength"),
            );
            assert!(chars_fit(max), "{kind}");
            assert_eq!(max, u64::from(MERMAID_MAX_CHARS));
        }
        // `agentmux validate`: the artifact size, in every document's description.
        for kind in DocKind::ALL {
            let s = document_schema(kind, &lim);
            let description = s["description"].as_str().unwrap_or_default();
            assert!(
                description.contains(&super::MAX_ARTIFACT_BYTES.to_string()),
                "{kind}: {description}"
            );
        }
    }
}
