//! `agentmux feedback`, `agentmux approve`, `agentmux pause`: requests to a session.
//!
//! With a supervisor running, the request goes through `control/` and the supervisor applies it
//! (it is the journal's only writer). With none running, the command takes the session lock and
//! applies the request to the journal itself.

use std::time::{Duration, Instant};

use super::Ctx;
use super::sessions;
use crate::cli::{ApproveArgs, FeedbackArgs, SessionArg};
use crate::journal::lock::SessionLock;
use crate::journal::{self, Journal};
use crate::paths::ProjectPaths;
use crate::supervisor::control::{self, ControlRequest};
use crate::supervisor::session::SessionContext;
use protocol::error::{Error, Result, exit};
use protocol::{Category, SessionStatus};

/// Sends a request to the session's supervisor, or applies it directly when none runs.
/// Returns a message for the user.
fn deliver(
    ctx: &Ctx,
    session: Option<&str>,
    req: ControlRequest,
    wait_for: Option<SessionStatus>,
) -> Result<String> {
    let loaded = ctx.load_config()?;
    let project = ProjectPaths::new(&ctx.project_dir, &loaded.config);
    let s = sessions::select(&project, session)?;
    let paths = project.session(&s.id);
    match SessionLock::acquire(&paths.lock(), "agentmux command") {
        Ok(_lock) => {
            let (mut journal, records, _) = Journal::open(&paths.journal())?;
            let mut state = crate::journal::SessionState::fold(&records);
            let sctx = SessionContext::load(&ctx.project_dir, loaded.config.clone(), &state)?;
            let msg = control::apply(&sctx.plan, &mut state, &mut journal, &req)?;
            Ok(msg.unwrap_or_else(|| format!("session {}: {}", s.id, state.status().as_str())))
        }
        Err(Error::Locked(_)) => {
            control::submit(&paths, &req)?;
            let Some(target) = wait_for else {
                return Ok(format!("sent to the supervisor of session {}", s.id));
            };
            let deadline = Instant::now() + Duration::from_secs(15);
            while Instant::now() < deadline {
                let (state, _) = journal::load_state(&paths.journal())?;
                if state.status() == target {
                    return Ok(format!("session {} is {}", s.id, target.as_str()));
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            Err(Error::Other(format!(
                "the supervisor of session {} did not confirm within 15 s; check `agentmux status`",
                s.id
            )))
        }
        Err(e) => Err(e),
    }
}

pub(super) fn feedback(ctx: &Ctx, args: &FeedbackArgs) -> Result<u8> {
    let category = Category::parse(&args.category).ok_or_else(|| {
        Error::Usage(format!(
            "--category {}: use one of critical, important, nice-to-have, question",
            args.category
        ))
    })?;
    if args.text.trim().is_empty() {
        return Err(Error::Usage(
            "the feedback text is empty; say what should change".into(),
        ));
    }
    let request_id = format!("{}", jiff::Timestamp::now().as_millisecond() % 100_000_000);
    let req = ControlRequest::Feedback {
        request_id,
        text: args.text.clone(),
        category,
        section: args.section.clone(),
    };
    let msg = deliver(ctx, args.session.as_deref(), req, None)?;
    println!("{msg}");
    Ok(exit::SUCCESS)
}

pub(super) fn approve(ctx: &Ctx, args: &ApproveArgs) -> Result<u8> {
    let req = ControlRequest::Approve {
        option: args.option.clone(),
    };
    let msg = deliver(ctx, args.session.as_deref(), req, None)?;
    println!("{msg}");
    Ok(exit::SUCCESS)
}

pub(super) fn pause(ctx: &Ctx, args: &SessionArg) -> Result<u8> {
    let loaded = ctx.load_config()?;
    let project = ProjectPaths::new(&ctx.project_dir, &loaded.config);
    let s = sessions::select(&project, args.session.as_deref())?;
    if s.state.status() != SessionStatus::Running {
        println!(
            "session {} is {}; nothing to pause",
            s.id,
            s.state.status().as_str()
        );
        return Ok(exit::SUCCESS);
    }
    let req = ControlRequest::Pause {
        reason: "paused by the user".into(),
    };
    let msg = deliver(ctx, Some(&s.id), req, Some(SessionStatus::Paused))?;
    super::launch::teardown(&loaded.config, &project.session(&s.id));
    println!("{msg}; `agentmux resume` continues it");
    Ok(exit::SUCCESS)
}
