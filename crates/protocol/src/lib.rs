//! agentmux's vocabulary: typed messages, ids, stages, journal events, feedback, the resolved
//! config types and the one error type. No I/O, and no dependency on another agentmux crate.
//!
//! Everything that crosses a process boundary or is written to disk is one of these types:
//! a [`Task`] (supervisor -> agent, `tasks/<id>.json`), a [`TaskResult`] (agent -> supervisor,
//! `results/<id>.json`) and a journal [`Event`] (`journal.jsonl`). The error type lives here too
//! so every crate reports failures in the same words and `main` maps them to one set of exit codes.

// A dependency no code uses is an error (dev-dependencies are checked by the test builds' use).
#![cfg_attr(not(test), deny(unused_crate_dependencies))]

pub mod config;
pub mod error;
pub mod profile;
pub mod tools;

pub use error::{Error, Result};
pub use tools::{TaskTools, ToolCall, ToolRecord, ToolResult, ToolRound, tool_rounds};

use std::fmt;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Lowercase ASCII letters, digits and `-` only (safe for tmux session names and file names).
pub fn slug(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let out = out.trim_matches('-').to_string();
    if out.is_empty() {
        "project".into()
    } else {
        out
    }
}

/// A rough token count for budgeting prompts and usage when an endpoint reports none: about four
/// characters a token, the usual rule for English text and code.
pub fn estimate_tokens(text: &str) -> u32 {
    u32::try_from(text.chars().count().div_ceil(4)).unwrap_or(u32::MAX)
}

/// A session identifier such as `20261122-031500-ab12`.
pub type SessionId = String;

/// A workflow stage. The order of the variants is the default order of the workflow.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// Gather goal, journey, PRD and a digest of the codebase.
    Intake,
    /// Only without a PRD: the architect drafts `project.md`.
    Requirements,
    /// Seed 000 phase 1: at least three architecture options, reviewed and integrated.
    Options,
    /// Optional helper roles contribute data structures and idiomatic signatures.
    Helpers,
    /// Seed 000 phase 2: the full design proposal, reviewed and integrated.
    Proposal,
    /// Seed 004: the manifest and the per-area `*_design.md` documents.
    DesignDocs,
    /// Reviewers run the validation checklist over the design documents; a last integration.
    FinalReview,
    /// Seed 003: the ten-section implementation plan.
    ImplementationPlan,
}

impl Stage {
    /// Every stage in default order.
    pub const ALL: [Stage; 8] = [
        Stage::Intake,
        Stage::Requirements,
        Stage::Options,
        Stage::Helpers,
        Stage::Proposal,
        Stage::DesignDocs,
        Stage::FinalReview,
        Stage::ImplementationPlan,
    ];

    /// The snake_case name used in config, task ids and file names.
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Intake => "intake",
            Stage::Requirements => "requirements",
            Stage::Options => "options",
            Stage::Helpers => "helpers",
            Stage::Proposal => "proposal",
            Stage::DesignDocs => "design_docs",
            Stage::FinalReview => "final_review",
            Stage::ImplementationPlan => "implementation_plan",
        }
    }

    /// Parses the snake_case name.
    pub fn parse(s: &str) -> Option<Stage> {
        Stage::ALL.into_iter().find(|st| st.as_str() == s)
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a task asks its agent to produce.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TaskKind {
    /// Summarise an input (a PRD over the context budget) into a shorter markdown document.
    Summarize,
    /// Write the stage's document in markdown (requirements, options, proposal, plan).
    Draft,
    /// A helper role's contribution (data structures, idiomatic signatures) before the proposal.
    Contribute,
    /// Choose the design areas: the manifest JSON (structured output).
    Manifest,
    /// Write one `*_design.md` document named in the manifest.
    DesignDoc {
        /// The file name, e.g. `order_domain_backend_design.md`.
        file: String,
    },
    /// Review a document: feedback items as JSON (structured output).
    Review,
    /// Integrate feedback: a disposition per item and the revised document (structured output).
    Integrate,
    /// Final review: integrate the items about one design document and revise that document.
    IntegrateDoc {
        /// The design document's file name.
        file: String,
    },
    /// Re-review: close or reopen one's own items, optionally raise new ones (structured output).
    ReReview,
    /// An update session's change proposal: which design documents are revised, added or
    /// retired, and what traceability gains (structured output).
    Change,
    /// Fix an artifact that failed validation; the findings are in the prompt.
    Repair {
        /// The kind of task whose output is being repaired.
        of: Box<TaskKind>,
    },
}

impl TaskKind {
    /// The task a repair repairs, else the task itself: what the answer is an answer to.
    pub fn base(&self) -> &TaskKind {
        match self {
            TaskKind::Repair { of } => of,
            other => other,
        }
    }

    /// A short slug used in task ids.
    pub fn slug(&self) -> String {
        match self {
            TaskKind::Summarize => "summarize".into(),
            TaskKind::Draft => "draft".into(),
            TaskKind::Contribute => "contribute".into(),
            TaskKind::Manifest => "manifest".into(),
            TaskKind::DesignDoc { file } => {
                format!("doc-{}", file.trim_end_matches(".md").replace('_', "-"))
            }
            TaskKind::Review => "review".into(),
            TaskKind::Integrate => "integrate".into(),
            TaskKind::IntegrateDoc { file } => {
                format!(
                    "integrate-{}",
                    file.trim_end_matches(".md").replace('_', "-")
                )
            }
            TaskKind::ReReview => "rereview".into(),
            TaskKind::Change => "change".into(),
            TaskKind::Repair { of } => format!("repair-{}", of.slug()),
        }
    }
}

/// Builds the deterministic id of a task: the same logical task always gets the same id, so a
/// resumed session finds and reuses a result that is already on disk.
pub fn task_id(stage: Stage, kind: &TaskKind, round: u32, role: &str, attempt: u32) -> String {
    format!(
        "{}.{}.r{}.{}.a{}",
        stage.as_str(),
        kind.slug(),
        round,
        role,
        attempt
    )
}

/// The author of a chat message.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum MessageRole {
    System,
    User,
    Assistant,
    /// A tool's answer to one of the assistant's tool calls.
    Tool,
}

/// One chat message of a prompt.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct ChatMessage {
    pub role: MessageRole,
    pub content: String,
    /// An assistant message that calls tools: the calls (its content is then often empty).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<ToolCall>,
    /// A tool message: the call it answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_call_id: Option<String>,
}

impl ChatMessage {
    fn of(role: MessageRole, content: impl Into<String>) -> Self {
        Self {
            role,
            content: content.into(),
            tool_calls: Vec::new(),
            tool_call_id: None,
        }
    }
    pub fn system(content: impl Into<String>) -> Self {
        Self::of(MessageRole::System, content)
    }
    pub fn user(content: impl Into<String>) -> Self {
        Self::of(MessageRole::User, content)
    }
    pub fn assistant(content: impl Into<String>) -> Self {
        Self::of(MessageRole::Assistant, content)
    }
    /// The assistant's answer that calls tools, with the text it wrote along (often none).
    pub fn assistant_tool_calls(content: impl Into<String>, calls: Vec<ToolCall>) -> Self {
        Self {
            tool_calls: calls,
            ..Self::of(MessageRole::Assistant, content)
        }
    }
    /// A tool's answer to the call `call_id`.
    pub fn tool(call_id: impl Into<String>, content: impl Into<String>) -> Self {
        Self {
            tool_call_id: Some(call_id.into()),
            ..Self::of(MessageRole::Tool, content)
        }
    }
}

/// The shape of the output a task expects.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum OutputSpec {
    /// Free markdown text.
    Text,
    /// A JSON value matching `schema` (a JSON Schema). Sent as `response_format` json_schema where
    /// the endpoint supports it, otherwise asked for in the prompt and extracted from the text.
    Json { name: String, schema: Value },
}

/// A unit of work for one agent, written by the supervisor to `tasks/<id>.json`.
///
/// The task carries the whole prompt, so an agent needs no other state: it is a stateless worker.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Task {
    pub id: String,
    pub session_id: SessionId,
    pub role: String,
    pub stage: Stage,
    pub round: u32,
    pub attempt: u32,
    pub kind: TaskKind,
    /// A one-line human title shown in the agent pane's header.
    pub title: String,
    pub messages: Vec<ChatMessage>,
    pub output: OutputSpec,
    /// Model override for this task (else the agent's configured model).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u32>,
    /// The feedback items this task answers (integration) or re-checks (re-review).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub item_ids: Vec<String>,
    /// Empty: the output is asked for in one reply. Otherwise a document too long for one reply
    /// under the output budget, asked for in these parts, one reply each, in order; the agent
    /// merges the parts' JSON objects into the one answer (see `supervisor::dispatch::parts`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parts: Vec<TaskPart>,
    /// The tools the model may call (the role's profile says it calls tools). None: no tools.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tools: Option<TaskTools>,
    pub created_at: Timestamp,
}

/// How a part of a prompt's context was shrunk to fit the model's window.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum CutKind {
    /// Replaced by its outline (headings and first lines) or a shorter form.
    Summarised,
    /// Left out.
    Omitted,
    /// Cut at a line break.
    Truncated,
}

/// A part of a prompt's context that did not fit whole: which, how big it was and what was kept.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct ContextCut {
    /// The part's title in the prompt, e.g. `Codebase digest`, `Requirements (PRD)`.
    pub part: String,
    /// Its estimated tokens, whole.
    pub tokens: u32,
    /// Its estimated tokens as sent (0 when left out).
    pub kept_tokens: u32,
    pub how: CutKind,
}

/// One reply of a task answered in parts: a group of consecutive top-level properties of the
/// task's JSON output.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct TaskPart {
    /// The top-level properties this part asks for, in the order of the output schema.
    pub fields: Vec<String>,
    /// The output schema restricted to `fields` (all of them required as the whole schema
    /// requires them); sent under the output's name.
    pub schema: Value,
    /// What the model is told for this part: which fields to write now.
    pub instruction: String,
    /// Most tokens of the earlier parts' JSON this part's request may repeat (the window leaves
    /// no more); older fields beyond it are named, not repeated. None: all of it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prior_tokens: Option<u32>,
    /// A request of its own (a final review fanned out per document): these messages instead of
    /// the task's, without the earlier parts; arrays under the same key are concatenated. Empty:
    /// the task's conversation, continued.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub messages: Vec<ChatMessage>,
}

/// Token counts of one LLM call.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Usage {
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    /// The part of `prompt_tokens` the server read from its prompt cache (OpenAI's
    /// `prompt_tokens_details.cached_tokens`); 0 when it did not say. Journals and results
    /// written before this field existed load with 0.
    #[serde(default)]
    pub cached_prompt_tokens: u64,
    /// True when the server sent no usage and the counts are estimates.
    #[serde(default)]
    pub estimated: bool,
}

impl Usage {
    pub fn total(&self) -> u64 {
        self.prompt_tokens + self.completion_tokens
    }

    /// The prompt tokens the server did not have cached (never negative, even when a server
    /// reports more cached tokens than prompt tokens).
    pub fn uncached_prompt_tokens(&self) -> u64 {
        self.prompt_tokens.saturating_sub(self.cached_prompt_tokens)
    }
}

/// What an agent did with a task, written to `results/<id>.json`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct TaskResult {
    pub task_id: String,
    pub role: String,
    pub started_at: Timestamp,
    pub finished_at: Timestamp,
    pub outcome: TaskOutcome,
}

/// The outcome of a task.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum TaskOutcome {
    Completed {
        /// The full text the model produced.
        text: String,
        /// For [`OutputSpec::Json`] tasks: the parsed JSON value, when it could be parsed.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        json: Option<Value>,
        usage: Usage,
        model: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        finish_reason: Option<String>,
        /// How many times the request was retried (429, 5xx, broken streams).
        #[serde(default)]
        retries: u32,
        /// The cost the backend itself reported (a coding-agent CLI such as Claude Code). None:
        /// the supervisor prices the usage from `llm.prices`, or the cost is unknown.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cost_usd: Option<f64>,
    },
    Failed {
        error: String,
        /// True when trying again later may succeed (network, 5xx); false for bad requests.
        retryable: bool,
        #[serde(default)]
        retries: u32,
    },
}

/// The category of a feedback item (seed 001 feedback categories).
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Category {
    #[serde(rename = "critical")]
    Critical,
    #[serde(rename = "important")]
    Important,
    #[serde(rename = "nice-to-have")]
    NiceToHave,
    #[serde(rename = "question")]
    Question,
}

impl Category {
    pub const ALL: [Category; 4] = [
        Category::Critical,
        Category::Important,
        Category::NiceToHave,
        Category::Question,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Category::Critical => "critical",
            Category::Important => "important",
            Category::NiceToHave => "nice-to-have",
            Category::Question => "question",
        }
    }

    pub fn parse(s: &str) -> Option<Category> {
        let norm = s.trim().to_ascii_lowercase().replace(['_', ' '], "-");
        Category::ALL.into_iter().find(|c| c.as_str() == norm)
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One piece of review feedback. Ids are stable, e.g. `PE-r1-3` (principal-engineer, round 1,
/// third item) or `HU-r2-1` for a human item.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct FeedbackItem {
    pub id: String,
    /// The role that raised it, or `human`.
    pub author: String,
    /// The stage whose document it is about.
    pub stage: Stage,
    pub round: u32,
    pub category: Category,
    pub section: String,
    pub comment: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suggestion: Option<String>,
}

/// The author's decision on an item.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    Accepted,
    Rejected,
    Deferred,
}

/// The author's answer to one feedback item (seed 001: acknowledge, evaluate, update, explain).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Disposition {
    pub item_id: String,
    pub decision: Decision,
    /// Why: the evaluation and the explanation. Required for rejected and deferred items.
    pub rationale: String,
    /// What changed in the document (section and summary), when accepted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub change: Option<String>,
    /// The author's acknowledgement of the item (seed 001's protocol, step 1): the item in the
    /// author's words. A capable model gives one for every item; the local model gives none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acknowledgement: Option<String>,
    pub round: u32,
}

/// Where a feedback item stands.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum ItemStatus {
    /// Raised, no disposition yet (or reopened by its reviewer).
    Open,
    /// The author gave a disposition; the reviewer has not yet confirmed.
    Addressed,
    /// The reviewer (or the author, for deferred items at the end) closed it.
    Closed,
}

/// One entry of a document's revision history (seed 001 revision tracking).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct RevisionEntry {
    /// ISO date, e.g. `2026-11-22`.
    pub date: String,
    /// The reviewers whose feedback this revision answers.
    pub feedback_from: Vec<String>,
    /// One line per change, e.g. `Section 5.1: added retry budget (PE-r1-2)`.
    pub changes: Vec<String>,
    pub rationale: String,
    /// One line per acknowledged item, e.g. `PE-r1-2: the retry budget is unbounded`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub acknowledgements: Vec<String>,
}

/// The inputs a session starts from.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct SessionInputs {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub goal: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub journey: Option<String>,
    /// The PRD file, when one was given or found.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prd_path: Option<String>,
    /// The absolute project directory.
    pub project_dir: String,
    pub project_name: String,
    /// Set when the session revises the specs an earlier session wrote (an update session).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update: Option<UpdateOf>,
}

/// What an update session revises: the specs it starts from and why.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct UpdateOf {
    /// The design documents in `specs/` when the session started.
    pub documents: Vec<String>,
    /// The sessions whose items the feedback ledger already holds, oldest first.
    #[serde(default)]
    pub earlier_sessions: Vec<String>,
    /// `start --update` without a goal: the documents whose cited code changed since the
    /// baseline, which the session revises.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub drifted: Vec<String>,
}

impl UpdateOf {
    /// The prefix of this session's feedback item ids (`S2-`): the session's place in the
    /// ledger, so ids stay unique across sessions. Specs exist, so some session came before
    /// even when its ledger is gone: an update is never `S1`, the unprefixed first session.
    pub fn item_prefix(&self) -> String {
        format!("S{}-", self.earlier_sessions.len().max(1) + 1)
    }
}

/// The lifecycle state of a session.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum SessionStatus {
    Running,
    Paused,
    Completed,
    Failed,
    Stopped,
}

impl SessionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            SessionStatus::Running => "running",
            SessionStatus::Paused => "paused",
            SessionStatus::Completed => "completed",
            SessionStatus::Failed => "failed",
            SessionStatus::Stopped => "stopped",
        }
    }

    /// Whether the session can be resumed.
    pub fn is_unfinished(self) -> bool {
        matches!(
            self,
            SessionStatus::Running | SessionStatus::Paused | SessionStatus::Stopped
        )
    }
}

/// A journal event. Session state is a fold of these (see `journal`).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    SessionStarted {
        session_id: SessionId,
        inputs: SessionInputs,
        /// The resolved config at start, secrets masked.
        config: Value,
    },
    /// The model profile of every role, resolved once when the session first ran; a resumed
    /// session uses these and never resolves again.
    ModelProfiles {
        profiles: Vec<profile::RoleProfile>,
    },
    StageEntered {
        stage: Stage,
    },
    /// Every step of the stage is done and its deliverables are written.
    StageCompleted {
        stage: Stage,
    },
    /// The manifest was accepted: these design documents will be written.
    DesignDocsSelected {
        files: Vec<String>,
    },
    /// The options gate chose this option (by the human, or the recommended one).
    OptionSelected {
        option: String,
        by: String,
    },
    TaskDispatched {
        task_id: String,
        role: String,
        stage: Stage,
        round: u32,
        attempt: u32,
        kind: TaskKind,
    },
    /// A task's prompt did not fit the model's window whole: what was shrunk (see
    /// `workflow::prompts::context`).
    ContextShrunk {
        task_id: String,
        /// Tokens the user message could use.
        budget_tokens: u32,
        cuts: Vec<ContextCut>,
    },
    TaskCompleted {
        task_id: String,
        role: String,
        stage: Stage,
        usage: Usage,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cost_usd: Option<f64>,
        elapsed_ms: u64,
    },
    TaskFailed {
        task_id: String,
        role: String,
        error: String,
    },
    /// An artifact failed validation; a repair task follows (or the session pauses).
    ValidationFailed {
        task_id: String,
        findings: Vec<String>,
    },
    AgentRestarted {
        role: String,
        consecutive_crashes: u32,
    },
    FeedbackRecorded {
        item: FeedbackItem,
    },
    DispositionRecorded {
        disposition: Disposition,
    },
    ItemStatusChanged {
        item_id: String,
        status: ItemStatus,
        round: u32,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        note: Option<String>,
    },
    /// An intermediate document was accepted (`artifacts/<name>`), e.g. a proposal revision.
    ArtifactAccepted {
        stage: Stage,
        name: String,
        revision: u32,
    },
    RevisionLogged {
        stage: Stage,
        entry: RevisionEntry,
    },
    GateWaiting {
        stage: Stage,
    },
    GateApproved {
        stage: Stage,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        option: Option<String>,
    },
    /// A deliverable was written under `.agentmux/` (path relative to the project).
    DeliverableWritten {
        path: String,
    },
    Paused {
        reason: String,
    },
    Resumed,
    Stopped,
    Completed,
    Failed {
        reason: String,
    },
}

/// One line of `journal.jsonl`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct JournalRecord {
    pub seq: u64,
    pub at: Timestamp,
    #[serde(flatten)]
    pub event: Event,
}

#[cfg(test)]
mod slug_tests {
    use super::*;

    #[test]
    fn slug_keeps_safe_characters_only() {
        assert_eq!(slug("My Project_v2.0"), "my-project-v2-0");
        assert_eq!(slug("___"), "project");
        assert_eq!(slug("ÄÖ-x"), "x");
    }

    #[test]
    fn a_task_file_without_parts_loads_and_one_with_parts_round_trips() {
        let old = r#"{"id":"proposal.draft.r1.architect.a1","session_id":"s","role":"architect",
            "stage":"proposal","round":1,"attempt":1,"kind":{"kind":"draft"},"title":"t",
            "messages":[{"role":"user","content":"hi"}],"output":{"type":"text"},
            "created_at":"2026-11-22T03:15:00Z"}"#;
        let mut task: Task = serde_json::from_str(old).unwrap();
        assert!(task.parts.is_empty());
        assert_eq!(task.tools, None);
        assert_eq!(task.messages, [ChatMessage::user("hi")]);
        let written = serde_json::to_string(&task).unwrap();
        assert!(!written.contains("parts"));
        assert!(!written.contains("tool"), "{written}");
        task.parts = vec![TaskPart {
            fields: vec!["title".into(), "summary".into()],
            schema: serde_json::json!({"type": "object"}),
            instruction: "Write title and summary now.".into(),
            prior_tokens: Some(2048),
            messages: vec![ChatMessage::user("review this one")],
        }];
        let again: Task = serde_json::from_str(&serde_json::to_string(&task).unwrap()).unwrap();
        assert_eq!(again, task);
    }

    #[test]
    fn tool_messages_round_trip_and_plain_ones_keep_their_shape() {
        let call = ToolCall {
            id: "call_1".into(),
            name: "read_file".into(),
            arguments: r#"{"path":"a.py"}"#.into(),
        };
        let msgs = vec![
            ChatMessage::assistant_tool_calls("", vec![call]),
            ChatMessage::tool("call_1", "print('hi')"),
        ];
        let text = serde_json::to_string(&msgs).unwrap();
        let back: Vec<ChatMessage> = serde_json::from_str(&text).unwrap();
        assert_eq!(back, msgs);
        assert_eq!(
            serde_json::to_string(&ChatMessage::assistant("a")).unwrap(),
            r#"{"role":"assistant","content":"a"}"#
        );
    }

    #[test]
    fn estimate_tokens_counts_characters_not_bytes() {
        assert_eq!(estimate_tokens(""), 0);
        assert_eq!(estimate_tokens("abcd"), 1);
        assert_eq!(estimate_tokens("abcde"), 2);
        assert_eq!(estimate_tokens("ääää"), 1);
    }
}
