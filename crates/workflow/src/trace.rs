//! The PRD items a manifest must trace. The manifest prompt lists them and the result check
//! raises one feedback item per item left uncovered, so both read them here, from the same
//! texts: the PRD's own journey section (what `agentmux validate` checks) and the session's
//! `--journey`.

use serde_json::Value;

use docs::validate::{self, Uncovered};

/// The PRD items `manifest` leaves uncovered, those of the PRD's journey and those of
/// `journey`, once each (an item is its id and its text).
pub fn uncovered(prd: &str, journey: Option<&str>, manifest: &Value) -> Vec<Uncovered> {
    let mut out = validate::traceability(prd, None, manifest);
    if let Some(journey) = journey {
        for u in validate::traceability(prd, Some(journey), manifest) {
            if !out.iter().any(|o| o.id == u.id && o.text == u.text) {
                out.push(u);
            }
        }
    }
    out
}

/// Every PRD item a manifest must trace, as (key, text): see [`Uncovered::key`].
pub fn items(prd: &str, journey: Option<&str>) -> Vec<(String, String)> {
    uncovered(prd, journey, &serde_json::json!({}))
        .into_iter()
        .map(|u| (u.key(), u.text))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const PRD: &str = include_str!("../../../tests/fixtures/prd/readtime.md");

    #[test]
    fn the_session_journey_adds_its_steps_and_repeats_nothing() {
        let prd_only = items(PRD, None);
        let with_journey = items(PRD, Some("1. Install with pip.\n2. Call of_markdown."));
        assert!(!prd_only.is_empty());
        assert_eq!(&with_journey[..prd_only.len()], &prd_only[..]);
        // The PRD's items, found by both readings, come once; then the journey's two steps.
        assert_eq!(with_journey.len(), prd_only.len() + 2, "{with_journey:?}");
    }
}
