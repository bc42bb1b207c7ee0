//! An update session's change proposal: the architect reads the existing specs and the change
//! asked for (a new goal, a PRD change, or code that moved under the documents' citations) and
//! says which documents to revise (and which sections), add or retire, and what the
//! traceability gains, instead of designing again.

use super::context::Layer;
use super::parts::{UserPrompt, rank};
use super::{Cx, Prompt};
use docs::DocKind;
use docs::change::{change_schema, design_section_keys};
use protocol::OutputSpec;

pub(super) fn build(cx: &Cx, existing: &[String], drifted: &[String]) -> Prompt {
    let inputs = cx.inputs;
    let mut p = UserPrompt::default();
    p.stable_context(inputs, DocKind::DesignDoc);
    for (file, text) in inputs.design_docs {
        p.doc(
            Layer::Work,
            &format!("Current design document: {file}"),
            text,
            Some(rank::BACKGROUND),
        );
    }
    let why = if drifted.is_empty() {
        "the goal and requirements above".to_string()
    } else {
        format!(
            "the code the documents cite: it changed since they were written, under {}",
            drifted.join(", ")
        )
    };
    p.task(format!(
        "The specs of `{project}` exist already ({docs}); do not design again. Propose the smallest change to them \
         that answers {why}.\n\
         - `summary`: what changes in the design and why, in two or three sentences.\n\
         - `changes`: one entry per document that changes: `file`, `action` (`revise` an existing document, `add` a \
         new `*_design.md`, or `retire` one that no longer applies), `sections` (for a revision, the keys of the \
         sections to rewrite, among: {keys}; the others stay as they are), `scope` (what the document covers after \
         the change) and `why` (the goal, requirement or code change it answers). Leave out every document the \
         change does not touch.\n\
         - `requirements`: each new requirement or goal item (its PRD id, or a short name) with the documents that \
         cover it.\n\
         - `plan_additions`: what the implementation plan gains, one line each.",
        project = cx.project,
        docs = existing.join(", "),
        keys = design_section_keys().join(", "),
    ));
    p.output_json("the change proposal");
    cx.ask(
        p,
        OutputSpec::Json {
            name: "change_proposal".into(),
            schema: change_schema(existing),
        },
        "Propose the change to the specs".into(),
    )
}
