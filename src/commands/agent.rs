//! `agentmux agent --session ID --role R` (hidden): the worker process of a role's pane.

use super::Ctx;
use crate::agent::{self, AgentOptions};
use crate::cli::AgentArgs;
use crate::paths::ProjectPaths;
use protocol::error::{Error, Result, exit};

pub(super) fn run(ctx: &Ctx, args: &AgentArgs) -> Result<u8> {
    for (flag, value) in [("--session", &args.session), ("--role", &args.role)] {
        if !is_name(value) {
            return Err(Error::Usage(format!(
                "{flag} `{value}`: use letters, digits, `-` and `_` only"
            )));
        }
    }
    let loaded = ctx.load_config()?;
    let project = ProjectPaths::new(&ctx.project_dir, &loaded.config);
    let paths = project.session(&args.session);
    if !paths.dir.is_dir() {
        return Err(Error::NoSession(format!(
            "no session `{}` in {}; agents are started by `agentmux start` / `agentmux resume`",
            args.session,
            project.sessions.display()
        )));
    }
    crate::logging::init(
        Some(&paths.logs().join(format!("agent-{}.log", args.role))),
        ctx.verbose,
    );
    tracing::debug!("agent starting");
    // One thread: an agent waits on files and HTTP. On a multi-thread runtime, hyper's connection
    // task and the task reading the body run on different threads and every SSE event crosses
    // between them with a futex wake-up (see `scripts/bench-llm.sh`). Pane and transcript writes
    // have their own threads, and blocking work goes to the blocking pool.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Other(format!("cannot start the async runtime: {e}")))?;
    let tools = agent::repository_tools(&ctx.project_dir, &loaded.config.repository.deny);
    runtime.block_on(agent::run(AgentOptions {
        session_id: args.session.clone(),
        role: args.role.clone(),
        config: loaded.config,
        paths,
        project_dir: ctx.project_dir.clone(),
        tools,
    }))?;
    Ok(exit::SUCCESS)
}

/// A session id or role name: a safe single path component.
fn is_name(s: &str) -> bool {
    !s.is_empty()
        && !s.starts_with('-')
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}
