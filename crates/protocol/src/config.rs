//! The resolved configuration: [`Config`], typed, every value present, read by every component.
//!
//! The raw side (one YAML file, the environment or the flags, kept as an untyped tree with its
//! origin) and its loader live in the binary (`config/load.rs`), which documents the precedence.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The resolved configuration.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub llm: LlmConfig,
    pub tmux: TmuxConfig,
    pub workflow: WorkflowConfig,
    /// Roles by name; a role not listed keeps its built-in settings.
    pub roles: BTreeMap<String, RoleConfig>,
    pub paths: PathsConfig,
    pub notify: NotifyConfig,
    pub repository: RepositoryConfig,
}

/// The LLM endpoint and how agents use it.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct LlmConfig {
    /// OpenAI-compatible base URL, including `/v1`. None: the local default model.
    pub base_url: Option<String>,
    /// Model name. None: the endpoint's default (`gpt-4o-mini` for remote, SmolLM2 locally).
    pub model: Option<String>,
    /// Name of the environment variable holding the API key. The key itself is never stored.
    pub api_key_env: String,
    pub temperature: f64,
    /// Completion tokens per request of the local model, and of a remote one when neither
    /// `roles.<name>.max_tokens` nor a recorded profile says otherwise.
    pub max_tokens: u32,
    /// The model's context window in tokens. None: what the endpoint reports, else the built-in
    /// table of well-known models, else a conservative default. Applies to `llm.model`, not to a
    /// role with a model of its own.
    pub context_window: Option<u32>,
    /// The most tokens one answer may have, asked of a remote model as `max_tokens` (unless
    /// `roles.<name>.max_tokens` is set). None: the endpoint, the table, the default.
    pub max_output_tokens: Option<u32>,
    /// Whether the model calls tools. None: the built-in table.
    pub tools: Option<bool>,
    /// `low`, `medium` or `high` for reasoning models. None: the built-in table.
    pub reasoning_effort: Option<String>,
    pub timeouts: TimeoutsConfig,
    pub retries: RetriesConfig,
    /// Maximum requests in flight per agent.
    pub concurrency: u32,
    /// `auto` (probe the endpoint once), `json_schema` or `prompt`.
    pub structured_output: StructuredOutput,
    /// Price per million tokens, by model name.
    pub prices: BTreeMap<String, Price>,
    /// Pause the session when the estimated cost reaches this many US dollars (unpriced calls do
    /// not count).
    pub budget_usd: Option<f64>,
    /// Pause the session when this many tokens (prompt + completion) have been used.
    pub max_total_tokens: Option<u64>,
    /// The local default runtime (llama-server + SmolLM2), used when no endpoint is configured.
    pub local: LocalLlmConfig,
}

impl Default for LlmConfig {
    fn default() -> Self {
        let mut prices = BTreeMap::new();
        prices.insert(
            "gpt-4o-mini".into(),
            Price {
                input_per_mtok: 0.15,
                cached_input_per_mtok: Some(0.075),
                output_per_mtok: 0.60,
            },
        );
        prices.insert(
            "gpt-4o".into(),
            Price {
                input_per_mtok: 2.50,
                cached_input_per_mtok: Some(1.25),
                output_per_mtok: 10.00,
            },
        );
        Self {
            base_url: None,
            model: None,
            api_key_env: "OPENAI_API_KEY".into(),
            temperature: 0.2,
            max_tokens: 4096,
            context_window: None,
            max_output_tokens: None,
            tools: None,
            reasoning_effort: None,
            timeouts: TimeoutsConfig::default(),
            retries: RetriesConfig::default(),
            concurrency: 2,
            structured_output: StructuredOutput::Auto,
            prices,
            budget_usd: None,
            max_total_tokens: None,
            local: LocalLlmConfig::default(),
        }
    }
}

/// How structured (JSON) output is obtained.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum StructuredOutput {
    Auto,
    JsonSchema,
    Prompt,
}

/// Per-million-token prices in US dollars.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Default)]
#[serde(default, deny_unknown_fields)]
pub struct Price {
    pub input_per_mtok: f64,
    /// Price of prompt tokens the server read from its prompt cache; unset means the same as
    /// `input_per_mtok`.
    pub cached_input_per_mtok: Option<f64>,
    pub output_per_mtok: f64,
}

/// Timeouts of one LLM request, in seconds.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct TimeoutsConfig {
    pub connect_secs: u64,
    /// Until the first streamed token.
    pub first_token_secs: u64,
    /// Longest silence between two chunks of a stream.
    pub idle_secs: u64,
    /// The whole request.
    pub total_secs: u64,
}

impl Default for TimeoutsConfig {
    fn default() -> Self {
        Self {
            connect_secs: 10,
            first_token_secs: 180,
            idle_secs: 60,
            total_secs: 1200,
        }
    }
}

/// Retries with exponential backoff and jitter.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct RetriesConfig {
    /// Attempts after the first one.
    pub max_retries: u32,
    pub initial_backoff_ms: u64,
    pub max_backoff_ms: u64,
}

impl Default for RetriesConfig {
    fn default() -> Self {
        Self {
            max_retries: 5,
            initial_backoff_ms: 500,
            max_backoff_ms: 30_000,
        }
    }
}

/// The managed local model.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct LocalLlmConfig {
    /// GGUF model file. None: `$AGENTMUX_HOME/models/SmolLM2-135M-Instruct.Q4_1.gguf`.
    pub model_path: Option<String>,
    /// llama-server binary. None: `$AGENTMUX_HOME/bin/llama-server`, then PATH.
    pub server_bin: Option<String>,
    /// Context window in tokens (per slot).
    pub ctx_size: u32,
    /// Parallel request slots.
    pub parallel: u32,
    /// CPU threads. None: llama-server's default.
    pub threads: Option<u32>,
    /// Seconds to wait for `/health` after start.
    pub startup_timeout_secs: u64,
}

impl Default for LocalLlmConfig {
    fn default() -> Self {
        Self {
            model_path: None,
            server_bin: None,
            ctx_size: 8192,
            // One slot per default role: each keeps its own prompt cache between its requests.
            parallel: 3,
            threads: None,
            startup_timeout_secs: 60,
        }
    }
}

/// tmux behaviour.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct TmuxConfig {
    /// Private tmux server name (`tmux -L NAME`). None: the user's default server.
    pub socket: Option<String>,
    /// Session names are `<prefix>-<project>-<short id>`.
    pub session_prefix: String,
    /// tmux layout: `tiled`, `main-vertical`, `main-horizontal`, `even-horizontal`, `even-vertical`,
    /// or a layout string with its checksum (see `mux::layout::check_layout`).
    pub layout: String,
    /// Attach after `start`/`resume` when not `--detach`: `auto` or `never`.
    pub attach: AttachMode,
    /// Started inside tmux: `switch` the client to the new session, or open a new `window`.
    pub inside_tmux: InsideTmux,
}

impl Default for TmuxConfig {
    fn default() -> Self {
        Self {
            socket: None,
            session_prefix: "agentmux".into(),
            layout: "main-vertical".into(),
            attach: AttachMode::Auto,
            inside_tmux: InsideTmux::Switch,
        }
    }
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum AttachMode {
    Auto,
    Never,
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum InsideTmux {
    Switch,
    Window,
}

/// The design workflow.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct WorkflowConfig {
    /// Stages in order. `requirements` runs only without a PRD; `helpers` only with helper roles on.
    pub stages: Vec<String>,
    /// Review rounds per review loop (options, proposal, final review).
    pub review_rounds: u32,
    /// Review rounds of the options document. None: `review_rounds`. 0: the options are not
    /// reviewed (the bundled local model's default: the demo reviews the proposal and the design
    /// documents).
    pub options_review_rounds: Option<u32>,
    /// When a review loop ends early: `no_critical` or `no_critical_or_important`. None: by model,
    /// see [`WorkflowConfig::stop_when_for`].
    pub stop_when: Option<StopWhen>,
    pub gates: GatesConfig,
    pub design_docs: DesignDocsConfig,
    /// Attempts to repair an artifact that fails validation.
    pub repair_attempts: u32,
    /// After the repair limit: `pause` the session, or `continue` with the artifact marked invalid.
    pub on_invalid: OnInvalid,
    /// Most tokens of context (PRD, code, earlier documents) in one prompt. None: the model's
    /// window decides (see `workflow::prompts::context`). Also sizes the codebase digest (half).
    pub context_tokens: Option<u32>,
    /// Attempts of a task whose call failed (API or CLI) before the session pauses.
    pub task_attempts: u32,
}

impl Default for WorkflowConfig {
    fn default() -> Self {
        Self {
            stages: [
                "intake",
                "requirements",
                "options",
                "helpers",
                "proposal",
                "design_docs",
                "final_review",
                "implementation_plan",
            ]
            .map(String::from)
            .to_vec(),
            review_rounds: 2,
            options_review_rounds: None,
            stop_when: None,
            gates: GatesConfig::default(),
            design_docs: DesignDocsConfig::default(),
            repair_attempts: 2,
            on_invalid: OnInvalid::Pause,
            context_tokens: None,
            task_attempts: 3,
        }
    }
}

impl WorkflowConfig {
    /// Tokens of the codebase digest written at intake: half of `context_tokens` when set, else
    /// 1,500 for the bundled local model (8k window) and 8,000 for a capable one, whose prompts
    /// shrink it first when their window is small.
    pub fn digest_tokens(&self, local_model: bool) -> u32 {
        self.context_tokens
            .map(|c| c / 2)
            .unwrap_or(if local_model { 1_500 } else { 8_000 })
    }

    /// The PRD size, in tokens, over which the architect summarises it before anything else:
    /// 3,000 on the bundled local model (its 8k window) and 24,000 on a capable one (a fifth of
    /// a 128k window; a smaller window shrinks prompts by the stated rule instead). Not tied to
    /// `context_tokens`, which caps each prompt's context, not the PRD itself.
    pub fn prd_summary_over(&self, local_model: bool) -> u32 {
        if local_model { 3_000 } else { 24_000 }
    }

    /// The resolved `stop_when`: the configured value, else `no_critical` on the bundled local
    /// model (whose sessions must stay short) and `no_critical_or_important` on a capable one,
    /// whose important items are worth a re-review. `local_model`: `llm::uses_local_model`.
    pub fn stop_when_for(&self, local_model: bool) -> StopWhen {
        self.stop_when.unwrap_or(if local_model {
            StopWhen::NoCritical
        } else {
            StopWhen::NoCriticalOrImportant
        })
    }
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum StopWhen {
    NoCritical,
    NoCriticalOrImportant,
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum OnInvalid {
    Pause,
    Continue,
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Gate {
    Auto,
    Human,
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct GatesConfig {
    pub options: Gate,
    pub proposal: Gate,
}

impl Default for GatesConfig {
    fn default() -> Self {
        Self {
            options: Gate::Auto,
            proposal: Gate::Auto,
        }
    }
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct DesignDocsConfig {
    pub min: u32,
    pub max: u32,
}

impl Default for DesignDocsConfig {
    fn default() -> Self {
        Self { min: 2, max: 6 }
    }
}

/// Per-role settings; every field is optional and falls back to the role file and `llm`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(default, deny_unknown_fields)]
pub struct RoleConfig {
    /// Turn a role on or off (the helper roles `data-modeler` and `language-idioms` are off by default).
    pub enabled: Option<bool>,
    pub model: Option<String>,
    pub temperature: Option<f64>,
    pub max_tokens: Option<u32>,
    /// Who answers the role's tasks. None: `api`, the built-in client of `llm`.
    pub backend: Option<Backend>,
    /// `backend: command` only: the program run for each task, through `sh -c` in the project
    /// directory (contract: see [`Backend::Command`]).
    pub command: Option<String>,
    /// A CLI backend: seconds one task may take before its process group is ended. None:
    /// `llm.timeouts.total_secs`.
    pub timeout_secs: Option<u64>,
}

impl RoleConfig {
    /// The role's backend (`api` unless set).
    pub fn backend(&self) -> Backend {
        self.backend.unwrap_or(Backend::Api)
    }
}

/// What runs a role's tasks: the built-in streaming client, or a coding-agent CLI in the pane.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum Backend {
    /// The built-in OpenAI-compatible client (`llm.*`).
    #[default]
    Api,
    /// Claude Code (`claude -p`, stream-json output, `--json-schema`).
    Claude,
    /// Codex CLI (`codex exec --json --output-schema`, read-only sandbox).
    Codex,
    /// Gemini CLI (`gemini -p`, stream-json output, read-only tools).
    Gemini,
    /// Any program (`roles.<name>.command`): it gets the prompt on stdin, the answer's JSON
    /// Schema in the file named by `AGENTMUX_SCHEMA_FILE` (unset for a text answer), the role's
    /// model (if any) in `AGENTMUX_MODEL`, and runs in the project directory; it prints the answer
    /// on stdout (a JSON answer as the last non-empty line, or as the whole output) and exits 0.
    /// Anything else on stderr is shown when it fails.
    Command,
}

impl Backend {
    pub const ALL: [Backend; 5] = [
        Backend::Api,
        Backend::Claude,
        Backend::Codex,
        Backend::Gemini,
        Backend::Command,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Api => "api",
            Backend::Claude => "claude",
            Backend::Codex => "codex",
            Backend::Gemini => "gemini",
            Backend::Command => "command",
        }
    }

    /// The program a CLI backend runs (None: `api`; `command` runs `sh`).
    pub fn program(self) -> Option<&'static str> {
        match self {
            Backend::Api => None,
            Backend::Claude => Some("claude"),
            Backend::Codex => Some("codex"),
            Backend::Gemini => Some("gemini"),
            Backend::Command => Some("sh"),
        }
    }
}

/// Where things live, relative to the project directory.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct PathsConfig {
    /// The agentmux directory.
    pub root: String,
    /// Design documents and the manifest (flat).
    pub specs: String,
    pub sessions: String,
    /// Project role overrides and additions.
    pub agents: String,
    /// Project template overrides.
    pub templates: String,
}

impl Default for PathsConfig {
    fn default() -> Self {
        Self {
            root: ".agentmux".into(),
            specs: ".agentmux/specs".into(),
            sessions: ".agentmux/sessions".into(),
            agents: ".agentmux/agents".into(),
            templates: ".agentmux/templates".into(),
        }
    }
}

/// What the agents may read of the project's repository (the repository tools and the context
/// pack). Paths outside the project, ignored files, `.git/`, `.agentmux/`, binaries and files that
/// look like secrets (`.env*`, `*.pem`, `*.key`, ssh keys, credentials files) are always refused.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(default, deny_unknown_fields)]
pub struct RepositoryConfig {
    /// More files to refuse: globs relative to the project root (e.g. `config/prod/**`).
    pub deny: Vec<String>,
}

/// Notifications when a session completes, fails or needs input.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct NotifyConfig {
    /// tmux display-message and bell.
    pub tmux: bool,
    /// `notify-send` when it is installed.
    pub desktop: bool,
    /// A shell command run with `AGENTMUX_EVENT`, `AGENTMUX_SESSION` and `AGENTMUX_MESSAGE` set.
    pub command: Option<String>,
}

impl Default for NotifyConfig {
    fn default() -> Self {
        Self {
            tmux: true,
            desktop: true,
            command: None,
        }
    }
}
