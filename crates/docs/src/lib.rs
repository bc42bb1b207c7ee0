//! The document engine: what the authors return (JSON), how it becomes markdown, and how it is
//! checked. Depends only on `protocol`; it reads only the files it is pointed at (template
//! overrides, a specs directory to validate).
//!
//! Authors never write free markdown for the main documents. They return JSON that matches a
//! schema generated from `specs-templates/sections.yaml` ([`schema`]), agentmux renders it through
//! a minijinja template ([`templates`], [`render`]), and the validators ([`validate`]) check the
//! rendered markdown. With a grammar-constrained endpoint even a tiny local model then produces
//! complete documents, and its diagrams are built from nodes and edges so they always parse. A
//! capable model writes Mermaid source of whatever kind the content needs instead (sequence, ER,
//! class, C4, state); each is checked by the Mermaid parser before the document is accepted
//! ([`schema::DiagramShape`]).
//!
//! Documents about an existing project cite its code as `path:line` or `path:start-end`
//! ([`cite`]): the validators check each citation against the project's files, and the
//! manifest's [`baseline`] records the hash of every cited file so that a later
//! `agentmux validate` can report the documents whose code changed since.

// A dependency no code uses is an error (dev-dependencies are checked by the test builds' use).
#![cfg_attr(not(test), deny(unused_crate_dependencies))]

pub mod baseline;
pub mod change;
pub mod cite;
pub mod markdown;
pub(crate) mod normalize;
pub mod outputs;
pub mod render;
pub mod schema;
pub mod sections;
pub mod templates;
pub mod validate;

use std::fmt;

use serde::{Deserialize, Serialize};

/// The documents agentmux generates from structured output.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum DocKind {
    /// The requirements document (`.agentmux/specs/project.md`), only when there is no PRD.
    Prd,
    /// Seed 000 phase 1: three or more architecture options (`.agentmux/options.md`).
    Options,
    /// Seed 000 phase 2: the design proposal (`.agentmux/design_proposal.md`).
    Proposal,
    /// Seed 004: one `*_design.md` per design area.
    DesignDoc,
    /// Seed 003: the ten-section implementation plan.
    ImplementationPlan,
}

impl DocKind {
    pub const ALL: [DocKind; 5] = [
        DocKind::Prd,
        DocKind::Options,
        DocKind::Proposal,
        DocKind::DesignDoc,
        DocKind::ImplementationPlan,
    ];

    /// The document kind a stage's author produces.
    pub fn of_stage(stage: protocol::Stage) -> Option<DocKind> {
        use protocol::Stage;
        match stage {
            Stage::Requirements => Some(DocKind::Prd),
            Stage::Options => Some(DocKind::Options),
            Stage::Proposal => Some(DocKind::Proposal),
            Stage::DesignDocs | Stage::FinalReview => Some(DocKind::DesignDoc),
            Stage::ImplementationPlan => Some(DocKind::ImplementationPlan),
            Stage::Intake | Stage::Helpers => None,
        }
    }

    /// The document's key in `sections.yaml` (also used in schema names and template names).
    pub fn key(self) -> &'static str {
        match self {
            DocKind::Prd => "prd",
            DocKind::Options => "options",
            DocKind::Proposal => "proposal",
            DocKind::DesignDoc => "design_doc",
            DocKind::ImplementationPlan => "implementation_plan",
        }
    }

    /// The name of the template that renders it, e.g. `proposal.md.j2`.
    pub fn template_name(self) -> &'static str {
        match self {
            DocKind::Prd => "prd.md.j2",
            DocKind::Options => "options.md.j2",
            DocKind::Proposal => "proposal.md.j2",
            DocKind::DesignDoc => "design_doc.md.j2",
            DocKind::ImplementationPlan => "implementation_plan.md.j2",
        }
    }

    /// A human name for prompts and pane titles.
    pub fn label(self) -> &'static str {
        match self {
            DocKind::Prd => "requirements document (PRD)",
            DocKind::Options => "architecture options",
            DocKind::Proposal => "design proposal",
            DocKind::DesignDoc => "design document",
            DocKind::ImplementationPlan => "implementation plan",
        }
    }

    pub fn parse(s: &str) -> Option<DocKind> {
        DocKind::ALL.into_iter().find(|k| k.key() == s)
    }
}

impl fmt::Display for DocKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}
