//! Command-line definitions (clap derive). No behaviour here: `lib.rs` dispatches to `commands`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

const EXIT_CODES: &str = "\
Exit codes:
  0  success
  1  the session failed
  2  usage or configuration error
  3  the session is paused or stopped
  4  timed out";

/// agentmux: watch a team of LLM agents write and review a software design in tmux.
///
/// In a project directory, `agentmux start` opens a tmux session with a supervisor pane and one pane
/// per role agent (architect, principal-engineer, code-reviewer). The architect drafts options and a
/// design proposal, the reviewers review them in parallel, the architect integrates every item, and
/// the result lands in `.agentmux/specs/`: a JSON manifest, 2-6 `*_design.md` documents and an
/// implementation plan.
#[derive(Parser, Debug)]
#[command(name = "agentmux", version, after_help = EXIT_CODES, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Args, Debug, Clone, Default)]
pub struct GlobalArgs {
    /// Project directory (default: the current directory).
    #[arg(short = 'C', long = "project", global = true, value_name = "DIR")]
    pub project: Option<PathBuf>,
    /// Override a config value for this run, e.g. `--set llm.model=gpt-4o` (repeatable; highest precedence).
    #[arg(long = "set", global = true, value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// Also log to stderr (-v info, -vv debug).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Create `.agentmux/config.yaml` and `.agentmux/specs/` in the project; never overwrites files.
    Init(InitArgs),
    /// Start a design session in a new tmux session.
    #[command(after_help = EXIT_CODES)]
    Start(StartArgs),
    /// Resume a paused, stopped or crashed session where it left off.
    #[command(after_help = EXIT_CODES)]
    Resume(ResumeArgs),
    /// Pause a running session: cancel in-flight requests, close its panes, keep its state.
    Pause(SessionArg),
    /// Stop a session's panes and processes; its state stays on disk and it can be resumed.
    Stop(SessionArg),
    /// Show a session's state, stage, agents, open feedback, tokens and cost.
    Status(StatusArgs),
    /// List the project's sessions.
    List(ListArgs),
    /// Attach to (or switch to) the project's running session in tmux.
    Attach(SessionArg),
    /// Show what the agents streamed, from their transcripts (works after the panes are gone).
    Logs(LogsArgs),
    /// Add a human feedback item to the current or next review round.
    Feedback(FeedbackArgs),
    /// Answer a human gate: approve the options (optionally choosing one) or the proposal.
    Approve(ApproveArgs),
    /// Block until the session completes, fails or pauses.
    #[command(after_help = EXIT_CODES)]
    Wait(WaitArgs),
    /// Run the deliverable validators on an existing `.agentmux/` directory.
    Validate(ValidateArgs),
    /// Write `.agentmux/report.html`: the session in one offline page, diagrams drawn.
    ///
    /// Every document with its Mermaid diagrams drawn, the feedback ledger (filterable by
    /// category, status and author), the revision history, the traceability matrix (PRD item x
    /// design document, gaps marked) and the figures (time, tokens, cost per stage and role).
    /// The page loads nothing from the network. A session writes it too when it ends.
    Report(ReportArgs),
    /// Check the LLM endpoint (or local model), tmux and the terminal, and print fixes.
    Doctor(DoctorArgs),
    /// Inspect the configuration.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Print shell completions.
    Completions(CompletionsArgs),
    /// Run a whole session headless, without tmux (for CI and scripts).
    #[command(after_help = EXIT_CODES)]
    Run(StartArgs),
    /// Internal: the supervisor process of a session's first pane.
    #[command(hide = true)]
    Supervise(SuperviseArgs),
    /// Internal: a role agent's worker process.
    #[command(hide = true)]
    Agent(AgentArgs),
}

#[derive(Args, Debug, Clone, Default)]
pub struct InitArgs {}

#[derive(Args, Debug, Clone, Default)]
pub struct StartArgs {
    /// What to design, in a sentence or a paragraph.
    #[arg(long, value_name = "TEXT")]
    pub goal: Option<String>,
    /// The user journey the design must serve.
    #[arg(long, value_name = "TEXT")]
    pub journey: Option<String>,
    /// A product requirements document (default: `.agentmux/specs/project.md` when it exists).
    #[arg(long, value_name = "PATH")]
    pub prd: Option<PathBuf>,
    /// Do not attach to the tmux session.
    #[arg(long)]
    pub detach: bool,
    /// Start a new session even when an unfinished one exists.
    #[arg(long)]
    pub new: bool,
    /// Design again from scratch even when `.agentmux/specs/` holds a design (the old design
    /// documents are archived). Without it a session in such a project revises the specs.
    #[arg(long, conflicts_with = "update")]
    pub fresh: bool,
    /// Revise the existing specs; without --goal or --prd, the documents whose cited code
    /// changed since the specs were written.
    #[arg(long)]
    pub update: bool,
}

#[derive(Args, Debug, Clone, Default)]
pub struct ResumeArgs {
    /// Session id (default: the project's latest unfinished session).
    pub session: Option<String>,
    /// Do not attach to the tmux session.
    #[arg(long)]
    pub detach: bool,
}

#[derive(Args, Debug, Clone, Default)]
pub struct SessionArg {
    /// Session id (default: the project's latest session).
    pub session: Option<String>,
}

#[derive(Args, Debug, Clone, Default)]
pub struct StatusArgs {
    /// Session id (default: the project's latest session).
    pub session: Option<String>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug, Clone, Default)]
pub struct ListArgs {
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug, Clone, Default)]
pub struct LogsArgs {
    /// Only this role (default: every role, each line prefixed with its role).
    pub role: Option<String>,
    /// Keep printing as the transcript grows.
    #[arg(short, long)]
    pub follow: bool,
    /// The model's replies as they streamed (JSON tokens), not the readable form of the pane.
    #[arg(long)]
    pub raw: bool,
    /// Session id (default: the project's latest session).
    #[arg(long)]
    pub session: Option<String>,
}

#[derive(Args, Debug, Clone, Default)]
pub struct ReportArgs {
    /// Session id (default: the project's latest session).
    pub session: Option<String>,
    /// Open the report in the default browser (xdg-open) once written.
    #[arg(long)]
    pub open: bool,
}

#[derive(Args, Debug, Clone, Default)]
pub struct FeedbackArgs {
    /// The feedback, as you would write it in a review.
    pub text: String,
    /// critical, important, nice-to-have or question.
    #[arg(long, default_value = "important")]
    pub category: String,
    /// The section of the document it is about.
    #[arg(long, default_value = "general")]
    pub section: String,
    /// Session id (default: the project's latest session).
    #[arg(long)]
    pub session: Option<String>,
}

#[derive(Args, Debug, Clone, Default)]
pub struct ApproveArgs {
    /// At the options gate: the option to take forward (e.g. `B`); default: the recommended one.
    #[arg(long, value_name = "X")]
    pub option: Option<String>,
    /// Session id (default: the project's latest session).
    #[arg(long)]
    pub session: Option<String>,
}

#[derive(Args, Debug, Clone, Default)]
pub struct WaitArgs {
    /// Session id (default: the project's latest session).
    pub session: Option<String>,
    /// Give up after this many seconds (exit 4).
    #[arg(long, value_name = "SECS")]
    pub timeout: Option<u64>,
}

#[derive(Args, Debug, Clone, Default)]
pub struct ValidateArgs {
    /// The `.agentmux/` directory to check (default: the project's).
    pub dir: Option<PathBuf>,
    /// Print findings as JSON.
    #[arg(long)]
    pub json: bool,
    /// Fail (exit 1) when a file the specs cite changed since their baseline; without it such
    /// drift is only reported.
    #[arg(long)]
    pub drift: bool,
}

#[derive(Args, Debug, Clone, Default)]
pub struct DoctorArgs {
    /// Skip the LLM checks (only tmux and the terminal).
    #[arg(long)]
    pub no_llm: bool,
}

#[derive(Subcommand, Debug, Clone)]
pub enum ConfigCommand {
    /// Print the resolved configuration and where each value comes from (secrets masked).
    Show {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Print the paths of the config files that are read, in precedence order.
    Paths,
}

#[derive(Args, Debug, Clone)]
pub struct CompletionsArgs {
    /// The shell.
    pub shell: Shell,
}

#[derive(ValueEnum, Debug, Clone, Copy)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
    Elvish,
    Powershell,
}

#[derive(Args, Debug, Clone)]
pub struct SuperviseArgs {
    #[arg(long)]
    pub session: String,
    /// Run without tmux (headless mode).
    #[arg(long)]
    pub headless: bool,
}

#[derive(Args, Debug, Clone)]
pub struct AgentArgs {
    #[arg(long)]
    pub session: String,
    #[arg(long)]
    pub role: String,
}
