//! The feedback ledger: every review item of a session with its dispositions, re-review history
//! and status, as `feedback.json` and `feedback.md` (written by the supervisor's deliverables).

use protocol::ItemStatus;
use serde_json::{Value, json};

use crate::state::SessionState;

/// The feedback ledger as JSON.
pub fn ledger_json(state: &SessionState) -> Value {
    let items: Vec<Value> = state
        .items
        .iter()
        .map(|i| {
            json!({
                "id": i.item.id,
                "author": i.item.author,
                "stage": i.item.stage,
                "round": i.item.round,
                "category": i.item.category,
                "section": i.item.section,
                "comment": i.item.comment,
                "suggestion": i.item.suggestion,
                "status": i.status,
                "disposition": i.disposition,
                "history": i.history.iter().map(|(r, s, n)| json!({"round": r, "status": s, "note": n})).collect::<Vec<_>>(),
            })
        })
        .collect();
    let unresolved = unresolved(state);
    json!({
        "session_id": state.session_id,
        "items": items,
        "unresolved": unresolved,
        "revisions": state.revisions.iter().map(|(s, e)| json!({"stage": s, "entry": e})).collect::<Vec<_>>(),
    })
}

/// The feedback ledger as markdown.
pub fn ledger_md(state: &SessionState) -> String {
    let mut out = String::from("# Feedback Ledger\n\n");
    out.push_str(&format!(
        "Session `{}`: {} items.\n\n",
        state.session_id,
        state.items.len()
    ));
    out.push_str("| ID | From | Stage | Round | Category | Section | Decision | Status |\n");
    out.push_str("|----|------|-------|-------|----------|---------|----------|--------|\n");
    for i in &state.items {
        let decision = i
            .disposition
            .as_ref()
            .map(|d| format!("{:?}", d.decision).to_lowercase())
            .unwrap_or("-".into());
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} |\n",
            i.item.id,
            i.item.author,
            i.item.stage,
            i.item.round,
            i.item.category,
            cell(&i.item.section),
            decision,
            status_word(i.status)
        ));
    }
    out.push_str("\n## Items\n");
    for i in &state.items {
        out.push_str(&format!(
            "\n### {} ({}, {})\n\n",
            i.item.id,
            i.item.category,
            status_word(i.status)
        ));
        out.push_str(&format!(
            "**From:** {} · **Section:** {}\n\n",
            i.item.author, i.item.section
        ));
        out.push_str(&format!("**Comment:** {}\n\n", i.item.comment));
        if let Some(s) = &i.item.suggestion {
            out.push_str(&format!("**Suggestion:** {s}\n\n"));
        }
        for d in &i.dispositions {
            if let Some(a) = &d.acknowledgement {
                out.push_str(&format!("**Acknowledged (round {}):** {a}\n\n", d.round));
            }
            out.push_str(&format!(
                "**Disposition (round {}):** {:?}. {}{}\n\n",
                d.round,
                d.decision,
                d.rationale,
                d.change
                    .as_ref()
                    .map(|c| format!(" Change: {c}"))
                    .unwrap_or_default()
            ));
        }
        for (r, s, n) in &i.history {
            out.push_str(&format!(
                "**Re-review (round {r}):** {}{}\n\n",
                status_word(*s),
                n.as_ref().map(|n| format!(": {n}")).unwrap_or_default()
            ));
        }
    }
    let unresolved = unresolved(state);
    out.push_str("\n## Unresolved\n\n");
    if unresolved.is_empty() {
        out.push_str("None: every item was closed by its reviewer.\n");
    } else {
        out.push_str(&format!(
            "{} item(s) not closed by their reviewer: {}.\n",
            unresolved.len(),
            unresolved.join(", ")
        ));
    }
    out
}

fn status_word(s: ItemStatus) -> &'static str {
    match s {
        ItemStatus::Open => "open",
        ItemStatus::Addressed => "addressed",
        ItemStatus::Closed => "closed",
    }
}

fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// The ids of the items their reviewers have not closed.
fn unresolved(state: &SessionState) -> Vec<&str> {
    state
        .items
        .iter()
        .filter(|i| i.status != ItemStatus::Closed)
        .map(|i| i.item.id.as_str())
        .collect()
}
