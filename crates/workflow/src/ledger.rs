//! The feedback ledger: every review item with its dispositions, re-review history and status,
//! as `feedback.json` and `feedback.md` (written by the supervisor's deliverables).
//!
//! The ledger outlives a session: an update session starts from the ledger the earlier sessions
//! left (`prior`) and appends its own items, so the ledger keeps every session's items with
//! their dispositions and statuses as they were. Ids stay unique because an update session's
//! ids carry its place in the ledger (`S2-DOC-PE-r1-1`, see `protocol::UpdateOf::item_prefix`).
//! The markdown is rendered from the JSON, grouped by session, so earlier sessions read the same
//! way as the current one.

use protocol::ItemStatus;
use serde_json::{Value, json};

use crate::state::SessionState;

/// The sessions an existing ledger holds items of, oldest first: its `sessions` list, or the
/// one `session_id` of a ledger written by a single session.
pub fn sessions_of(ledger: &Value) -> Vec<String> {
    if let Some(list) = ledger.get("sessions").and_then(Value::as_array) {
        return list
            .iter()
            .filter_map(|v| v.as_str().map(String::from))
            .collect();
    }
    ledger
        .get("session_id")
        .and_then(Value::as_str)
        .map(|s| vec![s.to_string()])
        .unwrap_or_default()
}

/// The items of an earlier ledger, each tagged with the session it came from.
fn prior_items(prior: &Value) -> Vec<Value> {
    let fallback = prior.get("session_id").cloned().unwrap_or(Value::Null);
    prior
        .get("items")
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .map(|i| {
                    let mut i = i.clone();
                    if let Some(o) = i.as_object_mut()
                        && !o.contains_key("session")
                    {
                        o.insert("session".into(), fallback.clone());
                    }
                    i
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The feedback ledger as JSON: the earlier sessions' items (`prior`, the ledger an update
/// session started from) unchanged, then this session's.
pub fn ledger_json(state: &SessionState, prior: Option<&Value>) -> Value {
    let mut items: Vec<Value> = prior.map(prior_items).unwrap_or_default();
    items.extend(state.items.iter().map(|i| {
        json!({
            "id": i.item.id,
            "session": state.session_id,
            "author": i.item.author,
            "stage": i.item.stage,
            "round": i.item.round,
            "category": i.item.category,
            "section": i.item.section,
            "comment": i.item.comment,
            "suggestion": i.item.suggestion,
            "status": i.status,
            "disposition": i.disposition,
            "dispositions": i.dispositions,
            "history": i.history.iter().map(|(r, s, n)| json!({"round": r, "status": s, "note": n})).collect::<Vec<_>>(),
        })
    }));
    let mut sessions = prior.map(sessions_of).unwrap_or_default();
    if !sessions.contains(&state.session_id) {
        sessions.push(state.session_id.clone());
    }
    let unresolved: Vec<&str> = items
        .iter()
        .filter(|i| i["status"] != json!(ItemStatus::Closed))
        .filter_map(|i| i["id"].as_str())
        .collect();
    let mut revisions: Vec<Value> = prior
        .and_then(|p| p.get("revisions"))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    revisions.extend(
        state
            .revisions
            .iter()
            .map(|(s, e)| json!({"session": state.session_id, "stage": s, "entry": e})),
    );
    json!({
        "session_id": state.session_id,
        "sessions": sessions,
        "items": items,
        "unresolved": unresolved,
        "revisions": revisions,
    })
}

/// The feedback ledger as markdown, grouped by session (see [`ledger_json`]).
pub fn ledger_md(state: &SessionState, prior: Option<&Value>) -> String {
    markdown(&ledger_json(state, prior))
}

/// Renders a ledger JSON as markdown.
fn markdown(ledger: &Value) -> String {
    let items: &[Value] = ledger["items"].as_array().map(Vec::as_slice).unwrap_or(&[]);
    let sessions = sessions_of(ledger);
    let mut out = String::from("# Feedback Ledger\n\n");
    out.push_str(&format!(
        "{} items from {} session(s).\n",
        items.len(),
        sessions.len()
    ));
    for s in &sessions {
        let mine: Vec<&Value> = items
            .iter()
            .filter(|i| i["session"].as_str() == Some(s))
            .collect();
        out.push_str(&format!("\n## Session `{s}`: {} items\n\n", mine.len()));
        out.push_str("| ID | From | Stage | Round | Category | Section | Decision | Status |\n");
        out.push_str("|----|------|-------|-------|----------|---------|----------|--------|\n");
        for i in &mine {
            let decision = i["disposition"]["decision"].as_str().unwrap_or("-");
            out.push_str(&format!(
                "| {} | {} | {} | {} | {} | {} | {} | {} |\n",
                text(&i["id"]),
                text(&i["author"]),
                text(&i["stage"]),
                i["round"],
                text(&i["category"]),
                cell(&text(&i["section"])),
                decision,
                text(&i["status"])
            ));
        }
        for i in &mine {
            item_md(&mut out, i);
        }
    }
    let unresolved: Vec<String> = ledger["unresolved"]
        .as_array()
        .map(|a| a.iter().map(text).collect())
        .unwrap_or_default();
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

fn item_md(out: &mut String, i: &Value) {
    out.push_str(&format!(
        "\n### {} ({}, {})\n\n",
        text(&i["id"]),
        text(&i["category"]),
        text(&i["status"])
    ));
    out.push_str(&format!(
        "**From:** {} · **Section:** {}\n\n",
        text(&i["author"]),
        text(&i["section"])
    ));
    out.push_str(&format!("**Comment:** {}\n\n", text(&i["comment"])));
    if let Some(s) = i["suggestion"].as_str() {
        out.push_str(&format!("**Suggestion:** {s}\n\n"));
    }
    // A ledger written before `dispositions` was recorded has the latest one only.
    let dispositions: Vec<&Value> = match i["dispositions"].as_array() {
        Some(a) => a.iter().collect(),
        None => i
            .get("disposition")
            .filter(|d| !d.is_null())
            .into_iter()
            .collect(),
    };
    for d in dispositions {
        if let Some(a) = d["acknowledgement"].as_str() {
            out.push_str(&format!("**Acknowledged (round {}):** {a}\n\n", d["round"]));
        }
        out.push_str(&format!(
            "**Disposition (round {}):** {}. {}{}\n\n",
            d["round"],
            capitalised(&text(&d["decision"])),
            text(&d["rationale"]),
            d["change"]
                .as_str()
                .map(|c| format!(" Change: {c}"))
                .unwrap_or_default()
        ));
    }
    for h in i["history"].as_array().map(Vec::as_slice).unwrap_or(&[]) {
        out.push_str(&format!(
            "**Re-review (round {}):** {}{}\n\n",
            h["round"],
            text(&h["status"]),
            h["note"]
                .as_str()
                .map(|n| format!(": {n}"))
                .unwrap_or_default()
        ));
    }
}

/// A JSON string's text; other values as JSON.
fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "-".into(),
        other => other.to_string(),
    }
}

fn capitalised(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::{
        Category, Decision, Disposition, Event, FeedbackItem, JournalRecord, SessionInputs, Stage,
        UpdateOf,
    };

    fn session(id: &str, update: Option<UpdateOf>, item_id: &str) -> SessionState {
        let mut s = SessionState::default();
        let at = jiff::Timestamp::from_second(1_700_000_000).unwrap();
        let events = [
            Event::SessionStarted {
                session_id: id.into(),
                inputs: SessionInputs {
                    update,
                    ..Default::default()
                },
                config: Value::Null,
            },
            Event::FeedbackRecorded {
                item: FeedbackItem {
                    id: item_id.into(),
                    author: "code-reviewer".into(),
                    stage: Stage::FinalReview,
                    round: 1,
                    category: Category::Important,
                    section: "api_design.md".into(),
                    comment: "c".into(),
                    suggestion: None,
                },
            },
            Event::DispositionRecorded {
                disposition: Disposition {
                    item_id: item_id.into(),
                    decision: Decision::Deferred,
                    rationale: "phase 2".into(),
                    change: None,
                    acknowledgement: Some(format!("{id} asks for the limits")),
                    round: 1,
                },
            },
        ];
        for (n, event) in events.into_iter().enumerate() {
            s.apply(&JournalRecord {
                seq: n as u64 + 1,
                at,
                event,
            });
        }
        s
    }

    #[test]
    fn an_update_session_keeps_the_earlier_items_and_allocates_distinct_ids() {
        let first = session("one", None, "FIN-CR-r1-1");
        let first_ledger = ledger_json(&first, None);
        let update = UpdateOf {
            earlier_sessions: sessions_of(&first_ledger),
            ..Default::default()
        };
        let prefix = update.item_prefix();
        assert_eq!(prefix, "S2-");
        let second = session("two", Some(update), &format!("{prefix}FIN-CR-r1-1"));
        let ledger = ledger_json(&second, Some(&first_ledger));
        let ids: Vec<&str> = ledger["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["id"].as_str().unwrap())
            .collect();
        assert_eq!(ids, ["FIN-CR-r1-1", "S2-FIN-CR-r1-1"]);
        assert_eq!(ledger["items"][0], first_ledger["items"][0]);
        assert_eq!(ledger["sessions"], json!(["one", "two"]));
        // A third session counts both.
        assert_eq!(
            UpdateOf {
                earlier_sessions: sessions_of(&ledger),
                ..Default::default()
            }
            .item_prefix(),
            "S3-"
        );
        let md = ledger_md(&second, Some(&first_ledger));
        let (one, two) = (
            md.find("## Session `one`").unwrap(),
            md.find("## Session `two`").unwrap(),
        );
        assert!(one < two, "{md}");
        assert!(
            md[one..two].contains("### FIN-CR-r1-1 (important, addressed)"),
            "{md}"
        );
        assert!(
            md[one..two].contains("**Disposition (round 1):** Deferred. phase 2"),
            "{md}"
        );
        // The acknowledgement of each disposition stays with its session's item.
        assert!(
            md[one..two].contains("**Acknowledged (round 1):** one asks for the limits"),
            "{md}"
        );
        assert!(
            md[two..].contains("**Acknowledged (round 1):** two asks for the limits"),
            "{md}"
        );
        assert!(md[two..].contains("### S2-FIN-CR-r1-1"), "{md}");
    }

    #[test]
    fn a_ledger_without_a_sessions_list_is_one_session() {
        let old = json!({"session_id": "one", "items": [{"id": "A", "status": "closed"}]});
        assert_eq!(sessions_of(&old), ["one"]);
        assert_eq!(prior_items(&old)[0]["session"], "one");
    }
}
