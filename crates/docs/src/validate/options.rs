//! The options document (phase 1 of the design): at least three options, each with a diagram,
//! trade-offs and an S/M/L effort; a comparison table with a row per option; a recommendation.

use std::ops::Range;

use super::labels::{PartStatus, part_status};
use super::markdown::{Doc, Table};
use super::sections::{Outline, hint_suffix, key, option_id, words};
use super::structure::{Section, Structure};
use super::{Finding, mermaid, with_builtin};

/// The fewest options a design may weigh.
pub(super) const MIN_OPTIONS: usize = 3;

/// Words that show a decision is being stated.
const DECISION_WORDS: &[&str] = &[
    "recommend",
    "chose",
    "choose",
    "chosen",
    "select",
    "pick",
    "prefer",
    "go with",
    "decision",
    "decide",
];

/// Checks an options document with the built-in structure.
pub fn validate_options(md: &str) -> Vec<Finding> {
    with_builtin(|s| check_options(s, md))
}

/// One option as found in the document.
struct Opt {
    id: String,
    /// The heading text, e.g. `Option A: Modular monolith`.
    heading: String,
    /// The name after the id, e.g. `Modular monolith`.
    name: String,
    body: Range<usize>,
}

/// Checks an options document against `structure`.
pub(super) fn check_options(structure: &Structure, md: &str) -> Vec<Finding> {
    let doc = Doc::parse(md);
    let outline = Outline::locate(&doc, &structure.options);
    let mut out = outline.findings(&doc);
    let all = 0..md.len();
    let options_idx = outline.index_of("options");
    let options_body = options_idx.and_then(|i| outline.body(&doc, i));
    let options_loc = options_idx.map_or_else(|| "document".into(), |i| outline.location(i));
    let options = find_options(&doc, options_body);

    if options.len() < MIN_OPTIONS {
        let names: Vec<&str> = options.iter().map(|o| o.heading.as_str()).collect();
        out.push(Finding::new(
            options_loc.clone(),
            format!(
                "{} options found{}; need at least {MIN_OPTIONS} distinct options, each under a heading \"### Option X: Name\"",
                options.len(),
                if names.is_empty() { String::new() } else { format!(" ({})", names.join(", ")) }
            ),
        ));
    }
    let mut seen = std::collections::BTreeSet::new();
    for o in &options {
        if !seen.insert(o.id.clone()) {
            out.push(Finding::new(
                format!("option \"{}\"", o.heading),
                format!(
                    "the id {} is used twice; give each option its own letter",
                    o.id
                ),
            ));
        }
        out.extend(check_option(&doc, &structure.option_parts, o));
    }

    // Comparison table and recommendation.
    let cmp_idx = outline.index_of("comparison");
    let cmp_loc = cmp_idx.map_or_else(|| "document".into(), |i| outline.location(i));
    let cmp_body = cmp_idx.and_then(|i| outline.body(&doc, i));
    // Option bodies are in document order and do not overlap.
    let outside_options = |r: &Range<usize>| {
        let i = options.partition_point(|o| o.body.start <= r.start);
        i == 0 || !options[i - 1].body.contains(&r.start)
    };
    let mut tables: Vec<&Table> = match &cmp_body {
        Some(b) => doc
            .tables
            .iter()
            .filter(|t| b.contains(&t.range.start))
            .collect(),
        None => Vec::new(),
    };
    if tables.is_empty() {
        tables = doc
            .tables
            .iter()
            .filter(|t| outside_options(&t.range))
            .collect();
    }
    if tables.is_empty() {
        out.push(Finding::new(
            cmp_loc.clone(),
            "no comparison table; add a markdown table with one row per option and a column per criterion (requirements fit, time, risk, cost, performance, operability)",
        ));
    } else if !options.is_empty() {
        let best = tables
            .iter()
            .max_by_key(|t| options.iter().filter(|o| table_has(t, o)).count());
        if let Some(t) = best {
            for o in options.iter().filter(|o| !table_has(t, o)) {
                out.push(Finding::new(
                    cmp_loc.clone(),
                    format!(
                        "the comparison table has no row for \"{}\"; add one",
                        o.heading
                    ),
                ));
            }
        }
    }
    let prose_range = cmp_body.unwrap_or(all);
    let prose: String = doc
        .prose_lines(prose_range)
        .into_iter()
        .filter(|(off, _)| outside_options(&(*off..*off)))
        .filter(|(off, _)| !doc.tables.iter().any(|t| t.range.contains(off)))
        .map(|(_, l)| l.to_lowercase())
        .collect::<Vec<_>>()
        .join("\n");
    let decides = DECISION_WORDS.iter().any(|w| prose.contains(w));
    let ids_named = ids_named(&prose);
    let names_one = options.iter().any(|o| {
        ids_named.contains(&o.id.to_lowercase())
            || (options.len() <= MAX_NAME_SEARCH && names(&prose, o))
    });
    let recommends = decides && names_one;
    if !options.is_empty() && !recommends {
        out.push(Finding::new(
            cmp_loc,
            "no recommendation; name the recommended option and why (e.g. \"**Recommendation:** Option B, because ...\"), and say whether a spike is advised",
        ));
    }
    out.extend(mermaid::findings(&doc));
    out
}

/// Option headings inside `range` (or anywhere, if none are there), with their bodies.
fn find_options(doc: &Doc<'_>, range: Option<Range<usize>>) -> Vec<Opt> {
    let heads = |r: &Range<usize>| -> Vec<usize> {
        doc.headings
            .iter()
            .enumerate()
            .filter(|(_, h)| r.contains(&h.range.start) && option_id(&h.text).is_some())
            .map(|(i, _)| i)
            .collect()
    };
    let whole = 0..doc.src.len();
    let (range, idx) = match range.map(|r| (heads(&r), r)) {
        Some((idx, r)) if !idx.is_empty() => (r, idx),
        _ => (whole.clone(), heads(&whole)),
    };
    let mut out = Vec::new();
    for (k, &hi) in idx.iter().enumerate() {
        let h = &doc.headings[hi];
        let next_option = idx
            .get(k + 1)
            .map_or(range.end, |&n| doc.headings[n].range.start);
        let next_higher = doc.higher_heading_start(hi);
        let end = next_option.min(next_higher).min(range.end).max(h.range.end);
        let id = option_id(&h.text).unwrap_or_default();
        let name = h
            .text
            .split_once([':', '-', '\u{2014}', '\u{2013}'])
            .map(|(_, n)| n.trim().to_string())
            .unwrap_or_default();
        out.push(Opt {
            id,
            heading: h.text.clone(),
            name,
            body: h.range.end..end,
        });
    }
    out
}

fn check_option(doc: &Doc<'_>, parts: &[Section], o: &Opt) -> Vec<Finding> {
    let loc = format!("option \"{}\"", o.heading);
    let mut out = Vec::new();
    if doc.mermaid_in(&o.body) == 0 {
        out.push(Finding::new(
            loc.clone(),
            "no mermaid diagram; add a ```mermaid block showing this option's components and data flow",
        ));
    }
    let status = part_status(doc, o.body.clone(), parts);
    for key_name in ["tradeoffs", "effort"] {
        let Some(i) = parts.iter().position(|p| p.key == key_name) else {
            continue;
        };
        let part = &parts[i];
        match &status[i] {
            PartStatus::Missing => out.push(Finding::new(
                loc.clone(),
                format!(
                    "no \"{}\"; add \"**{}:**\"{}",
                    part.title,
                    part.title,
                    hint_suffix(part)
                ),
            )),
            PartStatus::Empty => out.push(Finding::new(
                loc.clone(),
                format!("\"{}\" is empty; write it{}", part.title, hint_suffix(part)),
            )),
            PartStatus::Present(r) if key_name == "effort" => {
                let text = doc.slice(r.clone());
                if !is_size(text) {
                    let shown: String = text.trim().chars().take(40).collect();
                    out.push(Finding::new(
                        loc.clone(),
                        format!(
                            "effort \"{shown}\" is not S, M or L; write \"**{}:** S\", \"M\" or \"L\" followed by a rough timeline",
                            part.title
                        ),
                    ));
                }
            }
            PartStatus::Present(_) => {}
        }
    }
    out
}

/// True if the text states a T-shirt size.
fn is_size(text: &str) -> bool {
    text.split(|c: char| !c.is_alphanumeric())
        .map(str::to_lowercase)
        .any(|w| matches!(w.as_str(), "s" | "m" | "l" | "small" | "medium" | "large"))
}

/// True if a table has a row (first cell) or a column (header cell) for the option.
fn table_has(t: &Table, o: &Opt) -> bool {
    t.rows
        .iter()
        .filter_map(|r| r.first())
        .chain(t.header.iter())
        .any(|cell| cell_names(cell, o))
}

fn cell_names(cell: &str, o: &Opt) -> bool {
    let id = o.id.to_lowercase();
    let w = words(cell);
    if w.windows(2).any(|p| p[0] == "option" && p[1] == id) {
        return true;
    }
    let k = key(cell);
    if k == id {
        return true;
    }
    let name = key(&o.name);
    !name.is_empty() && k.len() >= 4 && (k.contains(&name) || name.contains(&k))
}

/// True if lowercase prose names the option by id or by name.
/// The option ids prose names as "Option X".
fn ids_named(prose: &str) -> std::collections::BTreeSet<String> {
    words(prose)
        .windows(2)
        .filter(|p| p[0] == "option")
        .map(|p| p[1].clone())
        .collect()
}

/// Options are looked up by name only in documents of a sane size (searching the prose once
/// per option is quadratic).
const MAX_NAME_SEARCH: usize = 50;

/// True if lowercase prose names the option by its name.
fn names(prose: &str, o: &Opt) -> bool {
    let name = o.name.to_lowercase();
    name.len() >= 4 && prose.contains(&name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert!(is_size(" M (3 weeks)"));
        assert!(is_size("**Medium**"));
        assert!(is_size("S/M"));
        assert!(!is_size("about two sprints"));
        assert!(!is_size("XL"));
    }
}
