//! `agentmux status`, `agentmux list`, `agentmux wait`.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::Ctx;
use super::sessions::{self, SessionInfo};
use crate::cli::{ListArgs, StatusArgs, WaitArgs};
use crate::journal::lock::SessionLock;
use crate::paths::{ProjectPaths, SessionPaths};
use protocol::error::{Error, Result, exit};
use protocol::{Category, SessionStatus};
use workflow::state::TaskState;

/// The status of one session as JSON (the `status --json` contract).
pub(super) fn status_json(paths: &SessionPaths, s: &SessionInfo) -> Value {
    let st = &s.state;
    let round = st
        .tasks
        .values()
        .filter(|t| Some(t.stage) == st.stage)
        .map(|t| t.round)
        .max()
        .unwrap_or(0);
    let open = st.open_by_category();
    let open_json: serde_json::Map<String, Value> = Category::ALL
        .iter()
        .map(|c| {
            (
                c.as_str().to_string(),
                json!(open.get(c).copied().unwrap_or(0)),
            )
        })
        .collect();
    let runtime: Value = std::fs::read(paths.dir.join("runtime.json"))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or(Value::Null);
    let supervisor_alive = SessionLock::is_held(&paths.lock());
    let mut roles: Vec<String> = st.tasks.values().map(|t| t.role.clone()).collect();
    if let Some(p) = runtime.get("panes").and_then(Value::as_object) {
        roles.extend(
            p.keys()
                .filter(|k| *k != "supervisor" && *k != "model")
                .cloned(),
        );
    }
    roles.sort();
    roles.dedup();
    let agents: Vec<Value> = roles
        .iter()
        .map(|r| {
            let busy = st
                .tasks
                .values()
                .any(|t| &t.role == r && t.state == TaskState::InFlight);
            let beat_age = std::fs::metadata(paths.heartbeat(r))
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.elapsed().ok())
                .map(|d| d.as_secs());
            let alive = supervisor_alive && beat_age.is_some_and(|a| a < 15);
            let state = match (st.status(), alive, busy) {
                (SessionStatus::Running, true, true) => "working",
                (SessionStatus::Running, true, false) => "idle",
                (SessionStatus::Running, false, _) => "down",
                _ => "stopped",
            };
            json!({
                "role": r,
                "pane": runtime.get("panes").and_then(|p| p.get(r)).cloned().unwrap_or(Value::Null),
                "state": state,
                "tokens": st.by_role.get(r).map(|t| t.tokens()).unwrap_or(0),
                "cached_prompt_tokens": st.by_role.get(r).map(|t| t.cached_prompt_tokens).unwrap_or(0),
                "cached_share": st.by_role.get(r).and_then(cached_share),
                "cost_usd": st.by_role.get(r).map(|t| (t.cost_usd * 1e6).round() / 1e6).unwrap_or(0.0),
                "cost_unknown_calls": st.by_role.get(r).map(|t| t.unpriced_calls).unwrap_or(0),
            })
        })
        .collect();
    json!({
        "session_id": s.id,
        "state": st.status().as_str(),
        "stage": st.stage.map(|s| s.as_str()),
        "round": round,
        "supervisor_running": supervisor_alive,
        "waiting_for_approval": st.gate_waiting.map(|s| s.as_str()),
        "agents": agents,
        "open_feedback": open_json,
        "feedback_items": st.items.len(),
        "tokens": {
            "prompt": st.totals.prompt_tokens,
            "completion": st.totals.completion_tokens,
            "total": st.totals.tokens(),
            "cached_prompt": st.totals.cached_prompt_tokens,
            "cached_share": cached_share(&st.totals),
            "estimated": st.totals.estimated,
        },
        "by_stage": st.by_stage.iter().map(|(stage, t)| (stage.as_str().to_string(), json!({
            "prompt": t.prompt_tokens,
            "completion": t.completion_tokens,
            "cached_prompt": t.cached_prompt_tokens,
            "cached_share": cached_share(t),
            "cost_usd": (t.cost_usd * 1e6).round() / 1e6,
        }))).collect::<serde_json::Map<String, Value>>(),
        "cost_usd": (st.totals.cost_usd * 1e6).round() / 1e6,
        // Calls left out of `cost_usd` because their cost is unknown (not $0).
        "cost_unknown_calls": st.totals.unpriced_calls,
        "started_at": st.started_at.map(|t| t.to_string()),
        "deliverables": st.deliverables,
        "pause_reason": st.pause_reason,
        "last_error": st.last_error,
        "profiles": st.profiles,
        "update": st.inputs.update,
    })
}

/// What kind of session it is, in words: a new design, or an update of earlier specs.
fn kind_words(st: &workflow::state::SessionState) -> String {
    match &st.inputs.update {
        None => "design".into(),
        Some(u) if !u.drifted.is_empty() => format!(
            "update of {} (cited code changed: {})",
            u.documents.join(", "),
            u.drifted.join(", ")
        ),
        Some(u) => format!("update of {}", u.documents.join(", ")),
    }
}

/// Cached prompt tokens / prompt tokens, rounded to 4 decimals; null before any prompt.
fn cached_share(t: &workflow::state::Totals) -> Option<f64> {
    t.cached_share().map(|s| (s * 1e4).round() / 1e4)
}

pub(super) fn status(ctx: &Ctx, args: &StatusArgs) -> Result<u8> {
    let loaded = ctx.load_config()?;
    let project = ProjectPaths::new(&ctx.project_dir, &loaded.config);
    let s = sessions::select(&project, args.session.as_deref())?;
    let v = status_json(&project.session(&s.id), &s);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
        return Ok(exit::SUCCESS);
    }
    let st = &s.state;
    println!("session   {}", s.id);
    let mut state_line = st.status().as_str().to_string();
    if st.status() == SessionStatus::Running && !v["supervisor_running"].as_bool().unwrap_or(false)
    {
        state_line.push_str(" (supervisor not running: `agentmux resume` continues it)");
    }
    if let Some(r) = &st.pause_reason {
        state_line.push_str(&format!(" ({r})"));
    }
    println!("state     {state_line}");
    println!("kind      {}", kind_words(st));
    println!(
        "stage     {} (round {})",
        v["stage"].as_str().unwrap_or("-"),
        v["round"]
    );
    if let Some(g) = st.gate_waiting {
        println!("gate      waiting for `agentmux approve` on the {g}");
    }
    for a in v["agents"].as_array().into_iter().flatten() {
        println!(
            "agent     {:<20} {:<8} {} tokens",
            a["role"].as_str().unwrap_or(""),
            a["state"].as_str().unwrap_or(""),
            a["tokens"]
        );
    }
    let open = &v["open_feedback"];
    println!(
        "feedback  {} items; not closed: {} critical, {} important, {} nice-to-have, {} question",
        st.items.len(),
        open["critical"],
        open["important"],
        open["nice-to-have"],
        open["question"]
    );
    println!(
        "usage     {} tokens{}{}, cost {}",
        st.totals.tokens(),
        if st.totals.estimated {
            " (partly estimated)"
        } else {
            ""
        },
        st.totals
            .cached_share()
            .map(|s| format!(", cached {:.0} % of prompt", s * 100.0))
            .unwrap_or_default(),
        crate::dashboard::format::cost_words(
            st.totals.cost_usd,
            st.totals.calls,
            st.totals.unpriced_calls
        )
    );
    if let Some(e) = &st.last_error {
        println!("last err  {e}");
    }
    Ok(exit::SUCCESS)
}

pub(super) fn list(ctx: &Ctx, args: &ListArgs) -> Result<u8> {
    let loaded = ctx.load_config()?;
    let project = ProjectPaths::new(&ctx.project_dir, &loaded.config);
    let all = sessions::all(&project)?;
    if args.json {
        let v: Vec<Value> = all
            .iter()
            .map(|s| {
                json!({
                    "session_id": s.id,
                    "state": s.state.status().as_str(),
                    "stage": s.state.stage.map(|x| x.as_str()),
                    "started_at": s.state.started_at.map(|t| t.to_string()),
                    "tokens": s.state.totals.tokens(),
                    "cost_usd": s.state.totals.cost_usd,
                    "cost_unknown_calls": s.state.totals.unpriced_calls,
                    "goal": s.state.inputs.goal,
                    "update": s.state.inputs.update,
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
        return Ok(exit::SUCCESS);
    }
    if all.is_empty() {
        println!("no sessions in {}", project.project_dir.display());
        return Ok(exit::SUCCESS);
    }
    println!(
        "{:<24} {:<10} {:<20} {:<21} {:>9} {:>9}  KIND",
        "SESSION", "STATE", "STAGE", "STARTED", "TOKENS", "COST"
    );
    for s in all {
        let started = s
            .state
            .started_at
            .map(|t| t.strftime("%Y-%m-%d %H:%M:%S").to_string())
            .unwrap_or_default();
        println!(
            "{:<24} {:<10} {:<20} {:<21} {:>9} {:>9}  {}",
            s.id,
            s.state.status().as_str(),
            s.state.stage.map(|x| x.as_str()).unwrap_or("-"),
            started,
            s.state.totals.tokens(),
            crate::dashboard::format::cost_cell(
                s.state.totals.cost_usd,
                s.state.totals.calls,
                s.state.totals.unpriced_calls
            ),
            kind_words(&s.state)
        );
    }
    Ok(exit::SUCCESS)
}

pub(super) fn wait(ctx: &Ctx, args: &WaitArgs) -> Result<u8> {
    let loaded = ctx.load_config()?;
    let project = ProjectPaths::new(&ctx.project_dir, &loaded.config);
    let first = sessions::select(&project, args.session.as_deref())?;
    let id = first.id.clone();
    let paths = project.session(&id);
    let start = Instant::now();
    let mut unlocked_since: Option<Instant> = None;
    loop {
        let (state, _) = crate::journal::load_state(&paths.journal())?;
        match state.status() {
            SessionStatus::Completed => {
                println!("session {id} completed");
                return Ok(exit::SUCCESS);
            }
            SessionStatus::Failed => {
                return Err(Error::SessionFailed(
                    state
                        .last_error
                        .unwrap_or_else(|| "see `agentmux logs`".into()),
                ));
            }
            // A paused or stopped session whose lock is held is being resumed: keep waiting.
            SessionStatus::Paused | SessionStatus::Stopped
                if SessionLock::is_held(&paths.lock()) => {}
            SessionStatus::Paused => {
                return Err(Error::SessionPaused(format!(
                    "session {id} is paused{}; `agentmux resume` continues it",
                    state
                        .pause_reason
                        .map(|r| format!(" ({r})"))
                        .unwrap_or_default()
                )));
            }
            SessionStatus::Stopped => {
                return Err(Error::SessionPaused(format!(
                    "session {id} is stopped; `agentmux resume` continues it"
                )));
            }
            SessionStatus::Running => {}
        }
        // A running session whose supervisor is gone (killed, crashed) will not finish by itself.
        if SessionLock::is_held(&paths.lock()) {
            unlocked_since = None;
        } else {
            let since = *unlocked_since.get_or_insert_with(Instant::now);
            if since.elapsed() > Duration::from_secs(10) {
                return Err(Error::SessionPaused(format!(
                    "the supervisor of session {id} is not running (it was killed or crashed); \
                     `agentmux resume` continues the session"
                )));
            }
        }
        if let Some(t) = args.timeout
            && start.elapsed() >= Duration::from_secs(t)
        {
            return Err(Error::TimedOut(t));
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}
