//! The design proposal (phase 2): every required section in order; 8 to 20 implementation steps,
//! each with an objective, code/config changes, pseudocode and an acceptance check; at least one
//! mermaid diagram.
//!
//! Steps are found the way people write them: `### Step 3: Title` headings, numbered
//! sub-headings (`### 3. Title`), or, failing both, the items of a numbered list.

use std::ops::Range;

use super::labels::{PartStatus, part_status};
use super::markdown::Doc;
use super::sections::{Outline, hint_suffix, step_number, strip_numbering};
use super::structure::Structure;
use super::{Finding, mermaid, with_builtin};

/// The fewest and the most implementation steps.
pub(super) const STEPS: std::ops::RangeInclusive<usize> = 8..=20;

/// Checks a design proposal with the built-in structure.
pub fn validate_proposal(md: &str) -> Vec<Finding> {
    with_builtin(|s| check_proposal(s, md))
}

struct Step {
    title: String,
    body: Range<usize>,
}

/// Checks a design proposal against `structure`.
pub(super) fn check_proposal(structure: &Structure, md: &str) -> Vec<Finding> {
    let doc = Doc::parse(md);
    let outline = Outline::locate(&doc, &structure.proposal);
    let mut out = outline.findings(&doc);
    if let Some(i) = outline.index_of("steps")
        && let (Some(body), Some(h)) = (outline.body(&doc, i), outline.found[i])
    {
        let loc = outline.location(i);
        let steps = find_steps(&doc, h, body);
        if !STEPS.contains(&steps.len()) {
            out.push(Finding::new(
                loc.clone(),
                format!(
                    "{} steps, need {} to {}; {} (each as \"### Step N: Title\" with {})",
                    steps.len(),
                    STEPS.start(),
                    STEPS.end(),
                    if steps.len() < *STEPS.start() {
                        "split large steps or add the missing work"
                    } else {
                        "merge small steps"
                    },
                    part_list(structure)
                ),
            ));
        }
        for (n, step) in steps.iter().enumerate() {
            let status = part_status(&doc, step.body.clone(), &structure.step_parts);
            for (part, st) in structure.step_parts.iter().zip(&status) {
                let problem = match st {
                    PartStatus::Missing => "missing",
                    PartStatus::Empty => "empty",
                    PartStatus::Present(_) => continue,
                };
                out.push(Finding::new(
                    format!("{loc}, step {} \"{}\"", n + 1, step.title),
                    format!(
                        "\"{}\" is {problem}; add \"**{}:**\" followed by its content{}",
                        part.title,
                        part.title,
                        hint_suffix(part)
                    ),
                ));
            }
        }
    }
    if doc.mermaid_blocks().next().is_none() {
        let place = outline
            .index_of("approach")
            .map(|i| format!(" in \"{}\"", structure.proposal[i].title))
            .unwrap_or_default();
        out.push(Finding::new(
            "document",
            format!("no mermaid diagram; add a ```mermaid block{place} showing the components and the data flow"),
        ));
    }
    out.extend(mermaid::findings(&doc));
    out
}

fn part_list(structure: &Structure) -> String {
    let names: Vec<String> = structure
        .step_parts
        .iter()
        .map(|p| format!("\"**{}:**\"", p.title))
        .collect();
    names.join(", ")
}

/// The steps of the implementation plan section whose heading is `doc.headings[h]`.
fn find_steps(doc: &Doc<'_>, h: usize, body: Range<usize>) -> Vec<Step> {
    let level = doc.headings.get(h).map_or(0, |x| x.level);
    let inside: Vec<usize> = doc
        .headings
        .iter()
        .enumerate()
        .filter(|(_, x)| body.contains(&x.range.start) && x.level > level)
        .map(|(i, _)| i)
        .collect();
    let mut heads: Vec<usize> = inside
        .iter()
        .copied()
        .filter(|&i| step_number(&doc.headings[i].text).is_some())
        .collect();
    if heads.is_empty() {
        heads = inside
            .iter()
            .copied()
            .filter(|&i| {
                let t = doc.headings[i].text.trim_start();
                t.starts_with(|c: char| c.is_ascii_digit()) && strip_numbering(t) != t
            })
            .collect();
    }
    if !heads.is_empty() {
        return heads
            .iter()
            .enumerate()
            .map(|(k, &i)| {
                let x = &doc.headings[i];
                let next = heads
                    .get(k + 1)
                    .map_or(body.end, |&n| doc.headings[n].range.start);
                let higher = doc.higher_heading_start(i);
                let title = x
                    .text
                    .split_once([':', '-', '\u{2014}', '\u{2013}'])
                    .map_or_else(
                        || strip_numbering(&x.text).to_string(),
                        |(_, t)| t.trim().to_string(),
                    );
                Step {
                    title,
                    body: x.range.end..next.min(higher).min(body.end).max(x.range.end),
                }
            })
            .collect();
    }
    // A numbered list: its shallowest items are the steps.
    let items: Vec<_> = doc
        .list_items
        .iter()
        .filter(|it| body.contains(&it.range.start) && it.ordered)
        .collect();
    let Some(depth) = items.iter().map(|it| it.depth).min() else {
        return Vec::new();
    };
    items
        .into_iter()
        .filter(|it| it.depth == depth)
        .map(|it| {
            let first = doc.slice(it.range.clone()).lines().next().unwrap_or("");
            let title = first
                .trim_start()
                .trim_start_matches(|c: char| c.is_ascii_digit())
                .trim_start_matches(['.', ')'])
                .replace("**", "")
                .trim()
                .to_string();
            Step {
                title: title.chars().take(60).collect(),
                body: it.range.clone(),
            }
        })
        .collect()
}
