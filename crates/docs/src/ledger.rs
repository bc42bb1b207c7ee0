//! The feedback ledger: every review item with its disposition and status.
//!
//! `.agentmux/feedback.json` is a list of [`LedgerEntry`]; `.agentmux/feedback.md` is rendered
//! from the same list by `feedback.md.j2`, grouped by stage, so no item is ever dropped from the
//! deliverables.

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::templates::Templates;
use protocol::{Disposition, FeedbackItem, ItemStatus, Stage};

/// One item of the feedback ledger (`.agentmux/feedback.json` is a list of these).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct LedgerEntry {
    pub item: FeedbackItem,
    /// The author's latest disposition, if any.
    #[serde(default)]
    pub disposition: Option<Disposition>,
    pub status: ItemStatus,
    /// Reviewer notes from re-reviews (close/reopen), oldest first.
    #[serde(default)]
    pub notes: Vec<String>,
}

/// Renders `.agentmux/feedback.md`: counts by status, then every item grouped by stage.
pub fn render_feedback(
    project_name: &str,
    entries: &[LedgerEntry],
    tpl: &Templates,
) -> Result<String, Vec<String>> {
    let mut groups = Vec::new();
    for stage in Stage::ALL {
        let list: Vec<&LedgerEntry> = entries.iter().filter(|e| e.item.stage == stage).collect();
        if !list.is_empty() {
            groups.push(json!({"stage": stage_title(stage), "entries": list}));
        }
    }
    let count = |s: ItemStatus| entries.iter().filter(|e| e.status == s).count();
    let counts = json!([
        ["open", count(ItemStatus::Open)],
        ["addressed", count(ItemStatus::Addressed)],
        ["closed", count(ItemStatus::Closed)],
        ["total", entries.len()],
    ]);
    let ctx = json!({"project_name": project_name, "groups": groups, "counts": counts});
    let out = tpl.render("feedback.md.j2", &ctx).map_err(|e| vec![e])?;
    Ok(super::render::tidy(&out))
}

fn stage_title(stage: Stage) -> &'static str {
    match stage {
        Stage::Intake => "Intake",
        Stage::Requirements => "Requirements",
        Stage::Options => "Architecture Options",
        Stage::Helpers => "Helpers",
        Stage::Proposal => "Design Proposal",
        Stage::DesignDocs => "Design Documents",
        Stage::FinalReview => "Final Review",
        Stage::ImplementationPlan => "Implementation Plan",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::Category;

    #[test]
    fn feedback_ledger_renders_every_item() {
        let tpl = Templates::builtin().unwrap();
        let item = |id: &str, author: &str, stage| FeedbackItem {
            id: id.into(),
            author: author.into(),
            stage,
            round: 1,
            category: Category::Critical,
            section: "Approach".into(),
            comment: "No retry | budget".into(),
            suggestion: Some("Cap at 3".into()),
        };
        let entries = vec![
            LedgerEntry {
                item: item("PE-r1-1", "principal-engineer", Stage::Options),
                disposition: Some(Disposition {
                    item_id: "PE-r1-1".into(),
                    decision: protocol::Decision::Accepted,
                    rationale: "Right".into(),
                    change: Some("Option A risks".into()),
                    round: 1,
                }),
                status: ItemStatus::Closed,
                notes: vec!["fixed".into()],
            },
            LedgerEntry {
                item: item("CR-r1-1", "code-reviewer", Stage::Proposal),
                disposition: None,
                status: ItemStatus::Open,
                notes: vec![],
            },
        ];
        let md = render_feedback("readtime", &entries, &tpl).unwrap();
        insta::assert_snapshot!("feedback_ledger", md);
        assert!(
            md.find("## Architecture Options").unwrap() < md.find("## Design Proposal").unwrap()
        );
        assert!(
            md.contains(
                "| PE-r1-1 | principal-engineer | 1 | critical | Approach | accepted | closed |"
            ),
            "{md}"
        );
    }
}
