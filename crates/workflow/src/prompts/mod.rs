//! The prompt of every task: what each agent is told, with only the context it needs.
//!
//! [`build`] turns a role, a task and the session's inputs into a [`Prompt`]: the chat messages,
//! the expected output (free text, or JSON with its schema) and a one-line title for the pane
//! header. The system message is the role prompt; the user message gives the context, then the
//! task, then the output fields with their hints from `sections.yaml`. Each prompt carries whole
//! what its task depends on (the PRD in every draft, review and integration; the whole accepted
//! proposal for a design document; every design document for the final review and the plan),
//! stable parts first, and shrinks only when the model's window cannot hold it, by the rule in
//! [`context`], naming what it left out.
//!
//! Each task kind has its own module; this one only dispatches. A repair is the prompt of the
//! task it repairs, continued (see [`repair`]), so what is sent for a repair is built here too.

mod change;
mod context;
mod contribute;
mod design_doc;
mod draft;
mod integrate;
mod manifest;
mod parts;
mod repair;
mod rereview;
mod review;
mod summarize;
#[cfg(test)]
mod tests;

use serde_json::Value;

use crate::roles::RoleDef;
pub use context::ContextBudget;
use docs::DocKind;
use docs::schema::{SchemaLimits, document_schema};
use parts::{UserPrompt, ids};
use protocol::config::Config;
use protocol::{ChatMessage, ContextCut, Disposition, FeedbackItem, OutputSpec, estimate_tokens};

/// The title of the context pack's block in a prompt (see `PromptInputs::code`).
pub const CODE_PACK: &str = "Code from the repository";

/// The title of a design document's block in a final review's prompt, before `: <file>`; a cut
/// of such a block means the documents do not fit one window together.
pub const REVIEWED_DOC: &str = "Design document to review";

/// What a session knows, borrowed for one prompt. Every task takes only what it needs.
#[derive(Clone, Copy, Debug, Default)]
pub struct PromptInputs<'a> {
    pub project_name: &'a str,
    /// `--goal`.
    pub goal: Option<&'a str>,
    /// `--journey`.
    pub journey: Option<&'a str>,
    /// The PRD text (given, generated, or its summary).
    pub prd: Option<&'a str>,
    /// The codebase digest (see `intake::digest`).
    pub digest: &'a str,
    /// The context pack: the repository's summary and the code excerpts ranked most relevant to
    /// this stage, within the budget the caller gave it (empty: no code to show).
    pub code: &'a str,
    /// The options document (markdown).
    pub options_doc: Option<&'a str>,
    /// The chosen option: its letter (`B`), `Option B`, or its name. None: the options
    /// document's recommendation.
    pub selected_option: Option<&'a str>,
    /// The design proposal (markdown).
    pub proposal_doc: Option<&'a str>,
    /// Helper contributions: (role, markdown).
    pub contributions: &'a [(String, String)],
    /// The manifest, once written.
    pub manifest: Option<&'a Value>,
    /// Design documents written so far: (file name, markdown).
    pub design_docs: &'a [(String, String)],
    /// An update session's design-document task: the current text of the document it revises.
    pub revising: Option<&'a str>,
    /// The session runs on the bundled local model (`llm::uses_local_model`): its small window
    /// bounds the schemas.
    pub local_model: bool,
    /// What the prompt may use, from the role's model profile.
    pub budget: ContextBudget,
}

/// What the agent is asked to do.
#[derive(Clone, Copy, Debug)]
pub enum PromptTask<'a> {
    /// Shorten a text (a PRD over the budget) to about `budget_tokens`.
    Summarize { text: &'a str, budget_tokens: u32 },
    /// Write a document: requirements (Prd), options, proposal or implementation plan.
    Draft { kind: DocKind },
    /// A helper role's contribution before the proposal.
    Contribute,
    /// Choose the design areas: the manifest. `trace_items`: the PRD items to trace, as
    /// (key, text): the key is the item's id, or its text when it has none (see
    /// [`crate::trace::items`]).
    Manifest {
        min: u32,
        max: u32,
        trace_items: &'a [(String, String)],
    },
    /// Write one design document named in the manifest.
    DesignDoc { file: &'a str, scope: &'a str },
    /// Review a document (its markdown). For the final review (kind DesignDoc), `document` is
    /// empty to review every design document together, or one document's file name to review it
    /// alone (a final review fanned out because the documents do not fit one window).
    Review {
        kind: DocKind,
        document: &'a str,
        round: u32,
    },
    /// Answer feedback items: dispositions, the changed sections, a revision entry.
    Integrate {
        kind: DocKind,
        document: &'a Value,
        items: &'a [FeedbackItem],
    },
    /// Close or reopen one's own items after an integration.
    ReReview {
        kind: DocKind,
        /// The changed sections (markdown), see `render::extract_sections`.
        changed: &'a str,
        own_items: &'a [(FeedbackItem, Option<Disposition>)],
    },
    /// An update session's change proposal: `existing` design documents, `drifted` those whose
    /// cited code changed (`start --update` without a goal).
    Change {
        existing: &'a [String],
        drifted: &'a [String],
    },
    /// Review an update session's change proposal (its markdown).
    ReviewChange { document: &'a str, round: u32 },
    /// Answer the review items of the change proposal: dispositions, the changed fields of the
    /// proposal (`document` is its JSON; `existing` the design documents it may revise), a
    /// revision entry.
    IntegrateChange {
        document: &'a Value,
        items: &'a [FeedbackItem],
        existing: &'a [String],
    },
    /// Close or reopen one's own items on the change proposal (`document`: its revised markdown).
    ReReviewChange {
        document: &'a str,
        own_items: &'a [(FeedbackItem, Option<Disposition>)],
    },
    /// Ask again after an answer to `of` failed validation: the output and its schema are those
    /// of `of`.
    Repair {
        /// The task whose answer failed.
        of: &'a PromptTask<'a>,
        /// The answer as the model returned it.
        answer: &'a str,
        /// What the validator found wrong with it.
        findings: &'a [String],
        /// The model stopped at its token limit.
        cut_off: bool,
    },
}

impl PromptTask<'_> {
    /// The feedback items the task answers, by id.
    pub fn item_ids(&self) -> Vec<String> {
        match *self {
            PromptTask::Integrate { items, .. } | PromptTask::IntegrateChange { items, .. } => {
                ids(items)
            }
            PromptTask::ReReview { own_items, .. }
            | PromptTask::ReReviewChange { own_items, .. } => ids(own_items.iter().map(|(i, _)| i)),
            PromptTask::Repair { of, .. } => of.item_ids(),
            PromptTask::Summarize { .. }
            | PromptTask::Draft { .. }
            | PromptTask::Contribute
            | PromptTask::Manifest { .. }
            | PromptTask::Change { .. }
            | PromptTask::DesignDoc { .. }
            | PromptTask::Review { .. }
            | PromptTask::ReviewChange { .. } => Vec::new(),
        }
    }
}

/// A task's prompt as it is sent.
#[derive(Clone, Debug)]
pub struct Prompt {
    pub messages: Vec<ChatMessage>,
    pub output: OutputSpec,
    /// One line for the pane header.
    pub title: String,
    /// What did not fit the window whole (empty when everything did).
    pub cuts: Vec<ContextCut>,
    /// Tokens the user message could use.
    pub budget_tokens: u32,
}

/// Builds the prompt of a task.
pub fn build(role: &RoleDef, task: &PromptTask, inputs: &PromptInputs, cfg: &Config) -> Prompt {
    let cx = Cx {
        role,
        inputs,
        cfg,
        lim: SchemaLimits::for_model(inputs.local_model),
        project: inputs.project_name,
    };
    match *task {
        PromptTask::Summarize {
            text,
            budget_tokens,
        } => summarize::build(&cx, text, budget_tokens),
        PromptTask::Draft { kind } => draft::build(&cx, kind),
        PromptTask::Contribute => contribute::build(&cx),
        PromptTask::Manifest {
            min,
            max,
            trace_items,
        } => manifest::build(&cx, min, max, trace_items),
        PromptTask::DesignDoc { file, scope } => design_doc::build(&cx, file, scope),
        PromptTask::Change { existing, drifted } => change::build(&cx, existing, drifted),
        PromptTask::ReviewChange { document, round } => change::review(&cx, document, round),
        PromptTask::IntegrateChange {
            document,
            items,
            existing,
        } => change::integrate(&cx, document, items, existing),
        PromptTask::ReReviewChange {
            document,
            own_items,
        } => change::rereview(&cx, document, own_items),
        PromptTask::Review {
            kind,
            document,
            round,
        } => review::build(&cx, kind, document, round),
        PromptTask::Integrate {
            kind,
            document,
            items,
        } => integrate::build(&cx, kind, document, items),
        PromptTask::ReReview {
            kind,
            changed,
            own_items,
        } => rereview::build(&cx, kind, changed, own_items),
        PromptTask::Repair {
            of,
            answer,
            findings,
            cut_off,
        } => {
            // The repair resends the request with the answer and the findings: the request
            // gets that much less room.
            let mut inner = *inputs;
            inner.budget.output = inner
                .budget
                .output
                .saturating_add(repair::added_tokens(answer, findings, cut_off));
            repair::build(build(role, of, &inner, cfg), answer, findings, cut_off)
        }
    }
}

/// What every task's prompt is built from: the role, the session's inputs, the configuration,
/// and what follows from them.
struct Cx<'a> {
    role: &'a RoleDef,
    inputs: &'a PromptInputs<'a>,
    cfg: &'a Config,
    lim: SchemaLimits,
    project: &'a str,
}

impl Cx<'_> {
    /// A one-turn prompt: the role prompt, then the user message.
    fn ask(&self, user: UserPrompt, output: OutputSpec, title: String) -> Prompt {
        let budget = &self.inputs.budget;
        let schema_tokens = match &output {
            OutputSpec::Json { schema, .. } => estimate_tokens(&schema.to_string()),
            OutputSpec::Text => 0,
        };
        let budget_tokens = budget.user_tokens(estimate_tokens(&self.role.prompt), schema_tokens);
        let (text, cuts) = user.finish(budget_tokens, budget.context_cap);
        Prompt {
            messages: vec![
                ChatMessage::system(self.role.prompt.clone()),
                ChatMessage::user(text),
            ],
            output,
            title,
            cuts,
            budget_tokens,
        }
    }

    /// The expected output of a document task.
    fn json_doc(&self, kind: DocKind) -> OutputSpec {
        OutputSpec::Json {
            name: kind.key().to_string(),
            schema: document_schema(kind, &self.lim),
        }
    }
}
