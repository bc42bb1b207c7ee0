//! What a task's prompt reads, gathered from the accepted artifacts, the feedback ledger and the
//! session's inputs: the [`Sources`] every prompt may read, and the [`Material`] one kind of task
//! reads besides.

use serde_json::Value;

use crate::journal::SessionState;
use crate::supervisor::session::{
    INPUT_DIGEST, INPUT_PRD, SessionContext, design_doc_name, doc_name,
};
use crate::supervisor::update;
use docs::DocKind;
use protocol::error::{Error, Result};
use protocol::{Disposition, FeedbackItem, ItemStatus, Stage, TaskKind};
use workflow::machine::{StepTask, doc_for_section};
use workflow::prompts::{ContextBudget, PromptInputs, PromptTask};

/// What every prompt of the session may read: the PRD, the digest and the accepted documents.
pub(super) struct Sources {
    prd: Option<String>,
    digest: String,
    options_doc: Option<String>,
    proposal_doc: Option<String>,
    /// (helper role, markdown).
    contributions: Vec<(String, String)>,
    manifest: Option<Value>,
    /// (file name, markdown).
    design_docs: Vec<(String, String)>,
}

impl Sources {
    pub(super) fn read(ctx: &SessionContext, state: &SessionState) -> Self {
        let store = &ctx.store;
        let contributions = ctx
            .plan
            .helpers
            .iter()
            .filter_map(|h| {
                store
                    .latest_md(state, Stage::Helpers, &format!("contribution-{h}"))
                    .map(|t| (h.clone(), t))
            })
            .collect();
        let design_docs = if state.inputs.update.is_some() {
            // An update session reads the specs it revises, with its own revisions.
            update::current_docs(ctx, state)
        } else {
            state
                .design_docs
                .iter()
                .filter_map(|f| {
                    store
                        .latest_md(state, Stage::DesignDocs, &design_doc_name(f))
                        .map(|t| (f.clone(), t))
                })
                .collect()
        };
        Self {
            prd: ctx.prd_text(state),
            digest: store.read_input(INPUT_DIGEST).unwrap_or_default(),
            options_doc: store.latest_md(state, Stage::Options, "options"),
            proposal_doc: store
                .latest_md(state, Stage::Proposal, "proposal")
                .or_else(|| update::proposal_with_change(ctx, state)),
            contributions,
            manifest: store
                .latest_json(state, Stage::DesignDocs, "manifest")
                .or_else(|| update::baseline_manifest(store)),
            design_docs,
        }
    }

    /// What the context pack of a task in `stage` is ranked against: the goal, the journey and
    /// the PRD, then the stage's subject (the options for the proposal, the accepted proposal
    /// from the design documents on, and a design document's scope in the manifest).
    pub(super) fn code_query(&self, state: &SessionState, stage: Stage, kind: &TaskKind) -> String {
        let mut q: Vec<&str> = [
            state.inputs.goal.as_deref(),
            state.inputs.journey.as_deref(),
            self.prd.as_deref(),
        ]
        .into_iter()
        .flatten()
        .collect();
        match stage {
            Stage::Proposal => q.extend(self.options_doc.as_deref()),
            Stage::DesignDocs | Stage::FinalReview | Stage::ImplementationPlan => {
                q.extend(self.proposal_doc.as_deref());
                if let TaskKind::DesignDoc { file } | TaskKind::IntegrateDoc { file } = kind.base()
                {
                    q.push(self.scope_of(file));
                }
            }
            _ => {}
        }
        q.join("\n\n")
    }

    /// A design document's scope: its entry in the manifest's `design_areas` ("" when none).
    fn scope_of(&self, file: &str) -> &str {
        self.manifest
            .as_ref()
            .and_then(|m| m.get("design_areas"))
            .and_then(|a| a.get(file))
            .and_then(Value::as_str)
            .unwrap_or("")
    }

    /// The session's inputs for one prompt, which may use `budget`.
    pub(super) fn inputs<'a>(
        &'a self,
        state: &'a SessionState,
        local: bool,
        budget: ContextBudget,
    ) -> PromptInputs<'a> {
        PromptInputs {
            project_name: &state.inputs.project_name,
            goal: state.inputs.goal.as_deref(),
            journey: state.inputs.journey.as_deref(),
            prd: self.prd.as_deref(),
            digest: &self.digest,
            code: "",
            options_doc: self.options_doc.as_deref(),
            selected_option: state.selected_option.as_deref(),
            proposal_doc: self.proposal_doc.as_deref(),
            contributions: &self.contributions,
            manifest: self.manifest.as_ref(),
            design_docs: &self.design_docs,
            revising: None,
            local_model: local,
            budget,
        }
    }
}

/// What one kind of task reads beyond the [`Sources`], owned here so that its
/// [`PromptTask`] can borrow it: the variants are those of [`PromptTask`] but the repair.
pub(super) enum Material {
    Summarize {
        text: String,
        budget_tokens: u32,
    },
    Draft {
        kind: DocKind,
    },
    Contribute,
    Manifest {
        min: u32,
        max: u32,
        trace_items: Vec<(String, String)>,
    },
    DesignDoc {
        file: String,
        scope: String,
    },
    Change {
        existing: Vec<String>,
        drifted: Vec<String>,
    },
    Review {
        kind: DocKind,
        document: String,
        round: u32,
    },
    Integrate {
        kind: DocKind,
        document: Value,
        items: Vec<FeedbackItem>,
    },
    ReReview {
        kind: DocKind,
        changed: String,
        own_items: Vec<(FeedbackItem, Option<Disposition>)>,
    },
    ReviewChange {
        document: String,
        round: u32,
    },
    IntegrateChange {
        document: Value,
        items: Vec<FeedbackItem>,
        existing: Vec<String>,
    },
    ReReviewChange {
        document: String,
        own_items: Vec<(FeedbackItem, Option<Disposition>)>,
    },
}

impl Material {
    /// What a step of this (non-repair) kind reads.
    pub(super) fn read(
        ctx: &SessionContext,
        state: &SessionState,
        st: &StepTask,
        kind: &TaskKind,
        sources: &Sources,
    ) -> Result<Self> {
        let doc = DocKind::of_stage(st.stage).unwrap_or(DocKind::Proposal);
        // An update session's design documents stage reviews its change proposal.
        if st.stage == Stage::DesignDocs
            && let Some(m) = change_material(ctx, state, st, kind)
        {
            return Ok(m);
        }
        Ok(match kind {
            TaskKind::Summarize => Material::Summarize {
                text: ctx.store.read_input(INPUT_PRD).unwrap_or_default(),
                budget_tokens: ctx
                    .config
                    .workflow
                    .prd_summary_over(llm::uses_local_model(&ctx.config)),
            },
            TaskKind::Draft => Material::Draft { kind: doc },
            TaskKind::Contribute => Material::Contribute,
            TaskKind::Manifest => manifest(ctx, state, sources),
            TaskKind::DesignDoc { file } => match update::doc_scope(ctx, state, file) {
                Some(scope) => Material::DesignDoc {
                    file: file.clone(),
                    scope,
                },
                None => design_doc(file, sources),
            },
            TaskKind::Change => {
                let up = state.inputs.update.clone().unwrap_or_default();
                Material::Change {
                    existing: up.documents,
                    drifted: up.drifted,
                }
            }
            TaskKind::Review => Material::Review {
                kind: doc,
                document: stage_document(ctx, state, st.stage),
                round: st.round,
            },
            TaskKind::ReReview => Material::ReReview {
                kind: doc,
                changed: changed_sections(ctx, state, st.stage),
                own_items: own_items(state, st),
            },
            TaskKind::Integrate => Material::Integrate {
                kind: doc,
                document: latest_json(ctx, state, st.stage, doc_name(st.stage)),
                items: open_items(state, st.stage, None),
            },
            TaskKind::IntegrateDoc { file } => Material::Integrate {
                kind: DocKind::DesignDoc,
                document: latest_json(ctx, state, Stage::DesignDocs, &design_doc_name(file)),
                items: open_items(state, st.stage, Some(file)),
            },
            TaskKind::Repair { .. } => return Err(Error::Other("internal: nested repair".into())),
        })
    }

    pub(super) fn task(&self) -> PromptTask<'_> {
        match self {
            Material::Summarize {
                text,
                budget_tokens,
            } => PromptTask::Summarize {
                text,
                budget_tokens: *budget_tokens,
            },
            Material::Draft { kind } => PromptTask::Draft { kind: *kind },
            Material::Contribute => PromptTask::Contribute,
            Material::Manifest {
                min,
                max,
                trace_items,
            } => PromptTask::Manifest {
                min: *min,
                max: *max,
                trace_items,
            },
            Material::DesignDoc { file, scope } => PromptTask::DesignDoc { file, scope },
            Material::Change { existing, drifted } => PromptTask::Change { existing, drifted },
            Material::Review {
                kind,
                document,
                round,
            } => PromptTask::Review {
                kind: *kind,
                document,
                round: *round,
            },
            Material::Integrate {
                kind,
                document,
                items,
            } => PromptTask::Integrate {
                kind: *kind,
                document,
                items,
            },
            Material::ReReview {
                kind,
                changed,
                own_items,
            } => PromptTask::ReReview {
                kind: *kind,
                changed,
                own_items,
            },
            Material::ReviewChange { document, round } => PromptTask::ReviewChange {
                document,
                round: *round,
            },
            Material::IntegrateChange {
                document,
                items,
                existing,
            } => PromptTask::IntegrateChange {
                document,
                items,
                existing,
            },
            Material::ReReviewChange {
                document,
                own_items,
            } => PromptTask::ReReviewChange {
                document,
                own_items,
            },
        }
    }
}

/// What the review loop of an update's change proposal reads: the proposal as it stands (its
/// markdown for the reviewers, its JSON for the architect's integration). None for other tasks.
fn change_material(
    ctx: &SessionContext,
    state: &SessionState,
    st: &StepTask,
    kind: &TaskKind,
) -> Option<Material> {
    let up = state.inputs.update.as_ref()?;
    let md = || {
        ctx.store
            .latest_md(state, Stage::DesignDocs, update::CHANGE)
            .unwrap_or_default()
    };
    Some(match kind {
        TaskKind::Review => Material::ReviewChange {
            document: md(),
            round: st.round,
        },
        TaskKind::Integrate => Material::IntegrateChange {
            document: update::change_for_integration(ctx, state),
            items: open_items(state, st.stage, None),
            existing: up.documents.clone(),
        },
        TaskKind::ReReview => Material::ReReviewChange {
            document: md(),
            own_items: own_items(state, st),
        },
        _ => return None,
    })
}

/// The manifest task: the design-document bounds and the PRD items to trace.
fn manifest(ctx: &SessionContext, state: &SessionState, sources: &Sources) -> Material {
    let bounds = &ctx.config.workflow.design_docs;
    Material::Manifest {
        min: bounds.min,
        max: bounds.max,
        trace_items: sources
            .prd
            .as_deref()
            .map(|prd| workflow::trace::items(prd, state.inputs.journey.as_deref()))
            .unwrap_or_default(),
    }
}

/// A design-document task: the file and its scope from the manifest.
fn design_doc(file: &str, sources: &Sources) -> Material {
    Material::DesignDoc {
        file: file.to_string(),
        scope: sources.scope_of(file).to_string(),
    }
}

/// The document a review reads: the stage's latest; for the final review nothing, since the
/// prompt reads every design document from the [`Sources`].
fn stage_document(ctx: &SessionContext, state: &SessionState, stage: Stage) -> String {
    if stage == Stage::FinalReview {
        String::new()
    } else {
        ctx.store
            .latest_md(state, stage, doc_name(stage))
            .unwrap_or_default()
    }
}

/// The latest JSON of an artifact, Null when there is none.
fn latest_json(ctx: &SessionContext, state: &SessionState, stage: Stage, name: &str) -> Value {
    ctx.store
        .latest_json(state, stage, name)
        .unwrap_or(Value::Null)
}

/// The open items an integration answers: all of the stage's, or, for one design document in
/// the final review, those about `file`.
fn open_items(state: &SessionState, stage: Stage, file: Option<&str>) -> Vec<FeedbackItem> {
    state
        .stage_items(stage)
        .filter(|i| i.status == ItemStatus::Open)
        .filter(|i| file.is_none_or(|f| doc_for_section(&i.item.section, &state.design_docs) == f))
        .map(|i| i.item.clone())
        .collect()
}

/// The items a re-review re-checks: the reviewer's own addressed items, with their answers.
fn own_items(state: &SessionState, st: &StepTask) -> Vec<(FeedbackItem, Option<Disposition>)> {
    state
        .stage_items(st.stage)
        .filter(|i| i.item.author == st.role && i.status == ItemStatus::Addressed)
        .map(|i| (i.item.clone(), i.disposition.clone()))
        .collect()
}

/// For a re-review: the sections of the stage's document that changed in the last revision,
/// found by comparing the two revisions' JSON section by section and quoted from the rendered
/// markdown (the same helpers the prompts use).
/// In the final review: the design documents its integrations revised, each under its file name.
fn changed_sections(ctx: &SessionContext, state: &SessionState, stage: Stage) -> String {
    if stage != Stage::FinalReview {
        return changed_in(ctx, state, stage, doc_name(stage), DocKind::of_stage(stage));
    }
    let parts: Vec<String> = state
        .design_docs
        .iter()
        .filter_map(|file| {
            let name = design_doc_name(file);
            (state.artifact_revision(Stage::DesignDocs, &name)? > 1).then(|| {
                let text = changed_in(
                    ctx,
                    state,
                    Stage::DesignDocs,
                    &name,
                    Some(DocKind::DesignDoc),
                );
                format!("### {file}\n\n{text}")
            })
        })
        .collect();
    if parts.is_empty() {
        "(no section changed)".into()
    } else {
        parts.join("\n\n")
    }
}

/// The sections of the artifact `name` of `stage` that changed in its last revision.
fn changed_in(
    ctx: &SessionContext,
    state: &SessionState,
    stage: Stage,
    name: &str,
    kind: Option<DocKind>,
) -> String {
    let Some(rev) = state.artifact_revision(stage, name) else {
        return String::new();
    };
    let new_md = ctx.store.md(stage, name, rev).unwrap_or_default();
    let read_json = |r: u32| ctx.store.json(stage, name, r);
    let (Some(kind), true) = (kind, rev > 1) else {
        return new_md;
    };
    let (Some(old), Some(new)) = (read_json(rev - 1), read_json(rev)) else {
        return new_md;
    };
    let keys = docs::markdown::changed_sections(kind, &old, &new);
    let text = docs::markdown::extract_sections(kind, &new_md, &keys);
    if text.is_empty() {
        "(no section changed)".into()
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_design_documents_pack_is_ranked_against_its_scope_in_the_manifest() {
        let sources = Sources {
            prd: Some("the PRD".into()),
            digest: String::new(),
            options_doc: Some("the options".into()),
            proposal_doc: Some("the proposal".into()),
            contributions: Vec::new(),
            manifest: Some(serde_json::json!({
                "design_areas": {"cjk_design.md": "Reading time of CJK text"}
            })),
            design_docs: Vec::new(),
        };
        let state = SessionState::default();
        let doc = TaskKind::DesignDoc {
            file: "cjk_design.md".into(),
        };
        let q = sources.code_query(&state, Stage::DesignDocs, &doc);
        assert!(
            q.contains("the proposal") && q.contains("Reading time of CJK text"),
            "{q}"
        );
        let q = sources.code_query(&state, Stage::Proposal, &TaskKind::Draft);
        assert!(q.contains("the options") && !q.contains("CJK"), "{q}");
    }
}
