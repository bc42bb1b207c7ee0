//! The manifest's `traceability` map, which is written either way round.
//!
//! agentmux writes PRD item -> the documents that cover it (`{"O1": ["auth_design.md"]}`): that
//! is the shape its Manifest task is constrained to and the one the supervisor amends. Seed 004
//! words the key as "PRD objectives/KPIs each doc supports", so specs written by other tools from
//! that seed map document -> objectives (`{"auth_design.md": ["O1", "KPI-2"]}`). A committed spec
//! should not fail `agentmux validate` for reading the seed literally, so both are accepted.
//!
//! The direction is read from the keys: a map whose keys name design documents is keyed by
//! document. `manifest.schema.json` draws the same line (`patternProperties` for document keys,
//! `additionalProperties` for PRD items); the checks here are what a schema cannot say: one form
//! per map, only listed documents, and, when keyed by document, an entry for every document.
//! Whether the PRD's items are covered is [`super::traceability`]'s job; it reads both forms.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use super::Finding;
use super::names::check_doc_name;

/// Which way round a traceability map is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TraceForm {
    /// PRD item -> the design documents that cover it (the form agentmux writes).
    ItemToDocs,
    /// Design document -> the PRD objectives/KPIs it supports (seed 004's wording).
    DocToItems,
}

/// The two accepted forms, for messages that ask for one of them.
const FORMS: &str = "either PRD item -> the documents that cover it ({\"O1\": [\"x_design.md\"]}, as agentmux writes it) or document -> the PRD objectives/KPIs it supports ({\"x_design.md\": [\"O1\", \"KPI-2\"]}, as seed 004 words it)";

/// True if a traceability key or value names a design document: a listed one, or any `.md`
/// name, so that an unlisted or misspelt document is reported as a document rather than read as
/// a PRD item.
pub(crate) fn names_document(s: &str, selected: &BTreeSet<String>) -> bool {
    selected.contains(s) || s.trim().to_ascii_lowercase().ends_with(".md")
}

/// The form of `map`, read from its keys (an empty map is agentmux's form). A map that mixes the
/// two gets a finding on the first key written the other way round; the form most keys use
/// (on a tie, the first key's) is taken to be the one meant.
pub(crate) fn detect_form(
    map: &Map<String, Value>,
    selected: &BTreeSet<String>,
) -> Result<TraceForm, Finding> {
    let (docs, items): (Vec<&String>, Vec<&String>) =
        map.keys().partition(|k| names_document(k, selected));
    let (Some(first_doc), Some(first_item)) = (docs.first(), items.first()) else {
        return Ok(if docs.is_empty() {
            TraceForm::ItemToDocs
        } else {
            TraceForm::DocToItems
        });
    };
    let first_is_doc = map
        .keys()
        .next()
        .is_some_and(|k| names_document(k, selected));
    let by_doc = docs.len() > items.len() || (docs.len() == items.len() && first_is_doc);
    let (odd, odd_kind, n_odd, other, other_kind) = if by_doc {
        (
            first_item,
            "a PRD item",
            items.len(),
            first_doc,
            "a design document",
        )
    } else {
        (
            first_doc,
            "a design document",
            docs.len(),
            first_item,
            "a PRD item",
        )
    };
    let rest = if n_odd > 1 {
        format!("this entry and {} more like it", n_odd - 1)
    } else {
        "this entry".to_string()
    };
    Err(Finding::new(
        format!("traceability.{odd}"),
        format!(
            "the map mixes its two forms: `{odd}` is {odd_kind} but `{other}` is {other_kind}; write traceability one way round, {FORMS}, and rewrite {rest} in the form of the rest"
        ),
    ))
}

/// Checks a traceability map against the listed documents. `selected`: the names in
/// selected_docs; `bad`: those already reported as unsafe names.
pub(crate) fn check_trace_map(
    trace: &Map<String, Value>,
    selected: &BTreeSet<String>,
    bad: &BTreeSet<String>,
) -> Vec<Finding> {
    let mut out = Vec::new();
    let form = match detect_form(trace, selected) {
        Ok(form) => Some(form),
        Err(f) => {
            out.push(f);
            None
        }
    };
    // Each entry is checked by its own key, so a mixed map still gets every other finding.
    for (key, values) in trace {
        let values: Vec<(usize, &str)> = values
            .as_array()
            .map(|a| {
                a.iter()
                    .enumerate()
                    .filter_map(|(i, v)| v.as_str().map(|s| (i, s)))
                    .collect()
            })
            .unwrap_or_default();
        if names_document(key, selected) {
            if let Err(why) = check_doc_name(key) {
                out.push(Finding::new(format!("traceability.{key}"), why));
            } else if !selected.contains(key) {
                out.push(Finding::new(
                    format!("traceability.{key}"),
                    format!("`{key}` is not in selected_docs; key each entry by a file name from selected_docs"),
                ));
            }
            for (i, v) in values {
                if names_document(v, selected) {
                    out.push(Finding::new(
                        format!("traceability.{key}[{i}]"),
                        format!("`{v}` is a document, but this map is keyed by document; list the PRD objectives/KPIs `{key}` supports (e.g. \"O1\", \"KPI-2\")"),
                    ));
                }
            }
        } else {
            // Unsafe names are reported by the schema's pattern.
            for (i, name) in values {
                if check_doc_name(name).is_ok() && !selected.contains(name) {
                    out.push(Finding::new(
                        format!("traceability.{key}[{i}]"),
                        format!("`{name}` is not in selected_docs; map each item to documents listed in selected_docs"),
                    ));
                }
            }
        }
    }
    // Keyed by document, the map says what each document is for; one left out says nothing.
    if form == Some(TraceForm::DocToItems) {
        for name in selected.difference(bad) {
            if !trace.contains_key(name) {
                out.push(Finding::new(
                    "traceability",
                    format!("no entry for `{name}`; the map is keyed by document, so add `{name}` with the PRD objectives/KPIs it supports"),
                ));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn selected() -> BTreeSet<String> {
        ["auth_design.md", "billing_design.md"]
            .map(String::from)
            .into()
    }

    fn map(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    fn text(f: &[Finding]) -> Vec<String> {
        f.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn the_direction_is_read_from_the_keys() {
        let s = selected();
        let form = |v: Value| detect_form(&map(v), &s);
        assert_eq!(
            form(json!({"O1": ["auth_design.md"], "KPI-2": ["billing_design.md"]})),
            Ok(TraceForm::ItemToDocs)
        );
        assert_eq!(
            form(json!({"auth_design.md": ["O1", "KPI-2"], "billing_design.md": ["O2"]})),
            Ok(TraceForm::DocToItems)
        );
        // an unlisted `.md` key is still a document key (and reported as unlisted)
        assert_eq!(
            form(json!({"stray_design.md": ["O1"]})),
            Ok(TraceForm::DocToItems)
        );
        assert_eq!(form(json!({})), Ok(TraceForm::ItemToDocs));
        // a listed name is a document key even without `.md`
        let odd: BTreeSet<String> = ["auth".to_string()].into();
        assert_eq!(
            detect_form(&map(json!({"auth": ["O1"]})), &odd),
            Ok(TraceForm::DocToItems)
        );
    }

    #[test]
    fn a_mixed_map_names_the_odd_key_and_both_forms() {
        let s = selected();
        let f = detect_form(
            &map(json!({
                "auth_design.md": ["O1"],
                "billing_design.md": ["O2"],
                "KPI-2": ["auth_design.md"]
            })),
            &s,
        )
        .unwrap_err();
        assert_eq!(f.location, "traceability.KPI-2");
        for part in [
            "`KPI-2` is a PRD item but `auth_design.md` is a design document",
            "either PRD item -> the documents that cover it ({\"O1\": [\"x_design.md\"]}",
            "or document -> the PRD objectives/KPIs it supports ({\"x_design.md\": [\"O1\", \"KPI-2\"]}",
            "rewrite this entry in the form of the rest",
        ] {
            assert!(f.message.contains(part), "{part:?} in {}", f.message);
        }
        // a tie goes to the first key's form
        let f = detect_form(
            &map(json!({"O1": ["auth_design.md"], "auth_design.md": ["O2"]})),
            &s,
        )
        .unwrap_err();
        assert_eq!(f.location, "traceability.auth_design.md");
        // the minority is counted
        let f = detect_form(
            &map(json!({"a_design.md": ["O1"], "O1": ["a_design.md"], "O2": ["a_design.md"], "b_design.md": ["O3"], "O3": ["b_design.md"]})),
            &s,
        )
        .unwrap_err();
        assert_eq!(f.location, "traceability.a_design.md");
        assert!(
            f.message.contains("rewrite this entry and 1 more like it"),
            "{}",
            f.message
        );
    }

    #[test]
    fn keyed_by_document_every_document_appears_and_only_listed_ones() {
        let s = selected();
        let f = check_trace_map(
            &map(json!({
                "auth_design.md": ["O1", "billing_design.md"],
                "stray_design.md": ["O2"],
                "../x_design.md": ["O3"]
            })),
            &s,
            &BTreeSet::new(),
        );
        assert_eq!(
            text(&f),
            vec![
                "traceability.auth_design.md[1]: `billing_design.md` is a document, but this map is keyed by document; list the PRD objectives/KPIs `auth_design.md` supports (e.g. \"O1\", \"KPI-2\")",
                "traceability.stray_design.md: `stray_design.md` is not in selected_docs; key each entry by a file name from selected_docs",
                "traceability.../x_design.md: `../x_design.md` contains a path separator; use a bare file name such as `x_design.md` (no subdirectories under .agentmux/specs/)",
                "traceability: no entry for `billing_design.md`; the map is keyed by document, so add `billing_design.md` with the PRD objectives/KPIs it supports",
            ]
        );
    }

    #[test]
    fn keyed_by_item_documents_must_be_listed_and_a_mixed_map_still_checks_entries() {
        let s = selected();
        let f = check_trace_map(
            &map(json!({"O1": ["auth_design.md", "ghost_design.md"]})),
            &s,
            &BTreeSet::new(),
        );
        assert_eq!(
            text(&f),
            vec![
                "traceability.O1[1]: `ghost_design.md` is not in selected_docs; map each item to documents listed in selected_docs"
            ]
        );
        let f = check_trace_map(
            &map(json!({"O1": ["ghost_design.md"], "stray_design.md": ["O2"]})),
            &s,
            &BTreeSet::new(),
        );
        let t = text(&f);
        assert_eq!(t.len(), 3, "{t:#?}");
        assert!(t[0].starts_with("traceability.stray_design.md: the map mixes its two forms"));
        // no "no entry" findings: a mixed map has no direction to demand them in
        assert!(!t.iter().any(|l| l.contains("no entry")), "{t:#?}");
    }
}
