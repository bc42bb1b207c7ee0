//! Traceability: every PRD objective, functional requirement and user-journey step must be served
//! by some design area. Whatever the manifest's `traceability` map does not cover is returned, and
//! the supervisor raises each one as a critical feedback item for the architect.
//!
//! PRD items are read the way people write them: ids such as `O1`, `G2`, `FR-3` (in list items,
//! table rows or sub-headings), or simply the bullets under an "Objectives"/"Goals" or
//! "Functional Requirements"/"Features" heading. An item is covered when the traceability map
//! links its id, or text that says the same thing, to a design document. The map may be keyed by
//! item (`{"O1": ["x_design.md"]}`, what agentmux writes), by document
//! (`{"x_design.md": ["O1", "FR-2"]}`, as seed 004 words it; the schema accepts both, see
//! [`super::trace_form`]), or be a list of objects that name both. Keyed by document, the
//! strings listed under the documents are the covered items, so a PRD's requirements and journey
//! steps are listed there next to its objectives.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::Finding;
use super::markdown::Doc;
use super::sections::{content_words, words};
use super::structure::{Section, Structure};
use super::trace_form::TraceForm;

/// Headings that also introduce objectives or requirements in hand-written PRDs.
const OBJECTIVE_HEADINGS: &[&str] = &["Goals"];
const REQUIREMENT_HEADINGS: &[&str] = &["Features"];
const JOURNEY_HEADINGS: &[&str] = &["Journey"];

/// Words too common to tell two requirements apart.
const FILLER: &[&str] = &[
    "user", "can", "must", "should", "will", "be", "is", "are", "able", "their", "they", "it",
    "that", "this", "as", "by", "from", "at", "we", "our", "so", "all", "each",
];

/// Deepest JSON nesting walked in the traceability map.
const MAX_DEPTH: usize = 32;

/// What kind of PRD item is uncovered.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum TraceKind {
    Objective,
    FunctionalRequirement,
    JourneyStep,
}

impl TraceKind {
    fn label(self) -> &'static str {
        match self {
            TraceKind::Objective => "objective",
            TraceKind::FunctionalRequirement => "functional requirement",
            TraceKind::JourneyStep => "user-journey step",
        }
    }
}

/// A PRD item no design area covers.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Uncovered {
    pub kind: TraceKind,
    /// The item's id as written (`O1`, `FR-3`), if it has one.
    pub id: Option<String>,
    /// The item's text.
    pub text: String,
}

impl Uncovered {
    /// How a manifest's `traceability` names this item: its id, else its text (at most 120
    /// characters, which still match it).
    pub fn key(&self) -> String {
        self.id
            .clone()
            .unwrap_or_else(|| self.text.chars().take(120).collect())
    }

    /// The finding for this item, attributed to the manifest's `traceability` map.
    pub fn to_finding(&self) -> Finding {
        self.to_finding_in(TraceForm::ItemToDocs)
    }

    /// The finding for this item, with the fix written in the map's own form.
    pub(crate) fn to_finding_in(&self, form: TraceForm) -> Finding {
        let what = match &self.id {
            Some(id) => format!("{} {id} (\"{}\")", self.kind.label(), short(&self.text)),
            None => format!("{} \"{}\"", self.kind.label(), short(&self.text)),
        };
        let reference = self.id.clone().unwrap_or_else(|| short(&self.text));
        let fix = match form {
            TraceForm::ItemToDocs => format!(
                "map it to that document in traceability (e.g. \"{reference}\": [\"x_design.md\"])"
            ),
            TraceForm::DocToItems => format!(
                "list it under that document in traceability (e.g. \"x_design.md\": [\"{reference}\"])"
            ),
        };
        Finding::new(
            "traceability",
            format!(
                "{what} is not covered by any design area; cover it in a design document and {fix}"
            ),
        )
    }
}

fn short(text: &str) -> String {
    let t: String = text.chars().take(80).collect();
    if t.len() < text.len() {
        format!("{t}...")
    } else {
        t
    }
}

/// A PRD item.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Item {
    id: Option<String>,
    text: String,
}

/// The uncovered objectives, functional requirements and journey steps, with the built-in
/// structure. `journey`: the `--journey` text, if any (else the PRD's user-journey section).
pub fn traceability(prd_md: &str, journey: Option<&str>, manifest: &Value) -> Vec<Uncovered> {
    check_traceability(Structure::builtin(), prd_md, journey, manifest)
}

/// [`traceability`] with an explicit structure.
pub(crate) fn check_traceability(
    structure: &Structure,
    prd_md: &str,
    journey: Option<&str>,
    manifest: &Value,
) -> Vec<Uncovered> {
    let doc = Doc::parse(prd_md);
    let titles = |key: &str, extra: &[&str]| -> Vec<String> {
        Structure::find_in(&structure.prd, key)
            .map(|s: &Section| s.title.clone())
            .into_iter()
            .chain(extra.iter().map(|s| s.to_string()))
            .collect()
    };
    let mut items: Vec<(TraceKind, Item)> = Vec::new();
    for it in items_under(&doc, &titles("objectives", OBJECTIVE_HEADINGS)) {
        items.push((TraceKind::Objective, it));
    }
    for it in items_under(
        &doc,
        &titles("functional_requirements", REQUIREMENT_HEADINGS),
    ) {
        items.push((TraceKind::FunctionalRequirement, it));
    }
    let steps = match journey.filter(|j| !j.trim().is_empty()) {
        Some(j) => journey_steps(j),
        None => items_under(&doc, &titles("user_journey", JOURNEY_HEADINGS)),
    };
    for it in steps {
        items.push((TraceKind::JourneyStep, it));
    }
    let coverage = coverage(manifest);
    items
        .into_iter()
        .filter(|(_, it)| !is_covered(it, &coverage))
        .map(|(kind, it)| Uncovered {
            kind,
            id: it.id,
            text: it.text,
        })
        .collect()
}

/// True if the heading introduces the section titled `title`: it contains the title's words
/// (`Business Objectives`, `Key Features`) and is not about non-functional requirements.
fn heading_is(heading: &str, title: &str) -> bool {
    let h = content_words(heading);
    let t = content_words(title);
    !t.is_empty()
        && t.is_subset(&h)
        && !h.contains("nonfunctional")
        && !h.contains("non")
        && !h.contains("nfr")
}

fn items_under(doc: &Doc<'_>, titles: &[String]) -> Vec<Item> {
    let mut out: Vec<Item> = Vec::new();
    for (hi, h) in doc.headings.iter().enumerate() {
        if !titles.iter().any(|t| heading_is(&h.text, t)) {
            continue;
        }
        let body = h.range.end..doc.heading_end(hi);
        let mut found: Vec<Item> = Vec::new();
        // sub-headings with ids
        for sub in doc.headings.iter().skip(hi + 1) {
            if !body.contains(&sub.range.start) {
                break;
            }
            if let Some(item) = item_from(&sub.text, true) {
                found.push(item);
            }
        }
        // list items at the shallowest depth
        let lists: Vec<_> = doc
            .list_items
            .iter()
            .filter(|it| body.contains(&it.range.start))
            .collect();
        if let Some(depth) = lists.iter().map(|it| it.depth).min() {
            for it in lists.iter().filter(|it| it.depth == depth) {
                let first = doc.slice(it.range.clone()).lines().next().unwrap_or("");
                if let Some(item) = item_from(strip_marker(first), false) {
                    found.push(item);
                }
            }
        }
        // table rows with an id in the first cell
        for t in doc.tables.iter().filter(|t| body.contains(&t.range.start)) {
            for row in &t.rows {
                let line = row.join(" ");
                if let Some(item) = item_from(&line, true) {
                    found.push(item);
                }
            }
        }
        // lines that start with an id, when nothing else was found
        if found.is_empty() {
            for (_, line) in doc.prose_lines(body.clone()) {
                if let Some(item) = item_from(line.trim(), true) {
                    found.push(item);
                }
            }
        }
        for item in found {
            let dup = out.iter().any(|o| match (&o.id, &item.id) {
                (Some(a), Some(b)) => norm_id(a) == norm_id(b),
                _ => o.text == item.text,
            });
            if !dup {
                out.push(item);
            }
        }
    }
    out
}

fn strip_marker(line: &str) -> &str {
    let t = line.trim_start();
    if let Some(r) = t.strip_prefix(['-', '*', '+']) {
        return r.trim_start();
    }
    let digits = t.bytes().take_while(u8::is_ascii_digit).count();
    if digits > 0
        && let Some(r) = t[digits..].strip_prefix(['.', ')'])
    {
        return r.trim_start();
    }
    t
}

/// An item from a line; with `need_id`, only lines that start with an id.
fn item_from(line: &str, need_id: bool) -> Option<Item> {
    let cleaned: String = line.replace(['*', '`'], "");
    let cleaned = cleaned.trim().trim_start_matches(['[', '(']).trim();
    match leading_id(cleaned) {
        Some((id, rest)) => {
            let text = rest
                .trim_start_matches([':', ')', ']', '.', '-', '\u{2014}', '\u{2013}', '|', ' '])
                .trim()
                .to_string();
            Some(Item { id: Some(id), text })
        }
        None if need_id => None,
        None => {
            let text = cleaned.trim().to_string();
            (!text.is_empty()).then_some(Item { id: None, text })
        }
    }
}

/// An id at the start of `text` (`O1`, `FR-3`, `NFR-2.1`) and the rest of the text.
fn leading_id(text: &str) -> Option<(String, &str)> {
    let end = text
        .char_indices()
        .find(|(_, c)| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '.'))
        .map_or(text.len(), |(i, _)| i);
    let token = text[..end].trim_end_matches(['.', '-']);
    is_id(token).then(|| (token.to_string(), &text[token.len()..]))
}

/// 1 to 4 letters, an optional `-`, 1 to 3 digits, an optional `.n` (`O1`, `FR-3`, `NFR-2.1`).
fn is_id(token: &str) -> bool {
    let letters = token.bytes().take_while(u8::is_ascii_alphabetic).count();
    if !(1..=4).contains(&letters) {
        return false;
    }
    let rest = &token[letters..];
    let rest = rest.strip_prefix('-').unwrap_or(rest);
    let (main, sub) = rest.split_once('.').unwrap_or((rest, ""));
    (1..=3).contains(&main.len())
        && main.bytes().all(|b| b.is_ascii_digit())
        && sub.bytes().all(|b| b.is_ascii_digit())
        && sub.is_empty() != rest.contains('.')
}

/// `FR-3` -> `FR3`.
fn norm_id(id: &str) -> String {
    id.chars()
        .filter(|c| *c != '-')
        .flat_map(char::to_uppercase)
        .collect()
}

/// The steps of a journey given as text: list lines, `->` chains, lines, or sentences.
fn journey_steps(text: &str) -> Vec<Item> {
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let marked: Vec<&str> = lines
        .iter()
        .copied()
        .filter(|l| strip_marker(l) != *l)
        .collect();
    let parts: Vec<String> = if marked.len() >= 2 {
        marked.iter().map(|l| strip_marker(l).to_string()).collect()
    } else if ["->", "\u{2192}", "=>"].iter().any(|a| text.contains(a)) {
        text.split('\u{2192}')
            .flat_map(|p| p.split("->"))
            .flat_map(|p| p.split("=>"))
            .map(|p| p.trim().to_string())
            .collect()
    } else if lines.len() >= 2 {
        lines.iter().map(|l| l.to_string()).collect()
    } else {
        text.split(['.', ';'])
            .map(|p| p.trim().to_string())
            .filter(|p| p.split_whitespace().count() >= 2)
            .collect()
    };
    parts.iter().filter_map(|p| item_from(p, false)).collect()
}

/// One coverage entry: a string the map links to a design document.
struct Cover {
    ids: BTreeSet<String>,
    words: BTreeSet<String>,
}

fn meaningful(text: &str) -> BTreeSet<String> {
    content_words(text)
        .into_iter()
        .filter(|w| !FILLER.contains(&w.as_str()))
        .collect()
}

fn coverage(manifest: &Value) -> Vec<Cover> {
    let mut docs: BTreeSet<String> = BTreeSet::new();
    if let Some(list) = manifest.get("selected_docs").and_then(Value::as_array) {
        docs.extend(list.iter().filter_map(Value::as_str).map(doc_key));
    }
    if let Some(map) = manifest.get("design_areas").and_then(Value::as_object) {
        docs.extend(map.keys().map(|k| doc_key(k)));
    }
    let is_doc = |s: &str| s.trim().ends_with(".md") || docs.contains(&doc_key(s));
    let mut strings = Vec::new();
    if let Some(trace) = manifest.get("traceability") {
        walk(trace, &is_doc, &mut strings, 0);
    }
    strings
        .into_iter()
        .map(|s| Cover {
            ids: ids_in(&s),
            words: meaningful(&s),
        })
        .collect()
}

/// A document name reduced for comparison: `checkout_backend_design.md`, `Checkout backend`
/// and `checkout-backend` are the same.
fn doc_key(name: &str) -> String {
    let n = name.trim();
    let n = n.strip_suffix(".md").unwrap_or(n);
    let k = words(n).concat();
    k.strip_suffix("design").map(str::to_string).unwrap_or(k)
}

fn leaves<'a>(v: &'a Value, out: &mut Vec<&'a str>, depth: usize) {
    if depth > MAX_DEPTH {
        return;
    }
    match v {
        Value::String(s) => out.push(s),
        Value::Array(a) => a.iter().for_each(|x| leaves(x, out, depth + 1)),
        Value::Object(m) => m.values().for_each(|x| leaves(x, out, depth + 1)),
        _ => {}
    }
}

/// Collects the strings the map links to a document.
fn walk(v: &Value, is_doc: &dyn Fn(&str) -> bool, out: &mut Vec<String>, depth: usize) {
    if depth > MAX_DEPTH {
        return;
    }
    match v {
        Value::Object(m) => {
            for (k, val) in m {
                let mut l = Vec::new();
                leaves(val, &mut l, depth + 1);
                if is_doc(k) {
                    out.extend(l.iter().filter(|s| !is_doc(s)).map(|s| s.to_string()));
                } else if l.iter().any(|s| is_doc(s)) {
                    out.push(k.clone());
                    out.extend(l.iter().filter(|s| !is_doc(s)).map(|s| s.to_string()));
                } else {
                    walk(val, is_doc, out, depth + 1);
                }
            }
        }
        Value::Array(a) => {
            for x in a {
                match x {
                    Value::Object(_) | Value::Array(_) => {
                        let mut l = Vec::new();
                        leaves(x, &mut l, depth + 1);
                        if l.iter().any(|s| is_doc(s)) {
                            out.extend(l.iter().filter(|s| !is_doc(s)).map(|s| s.to_string()));
                        } else {
                            walk(x, is_doc, out, depth + 1);
                        }
                    }
                    _ => {}
                }
            }
        }
        _ => {}
    }
}

/// Every id in a string, with `FR-1..FR-3` ranges expanded.
fn ids_in(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let tokens: Vec<&str> = text
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '.'))
        .filter(|t| !t.is_empty())
        .collect();
    for t in tokens {
        let t = t.trim_matches(['.', '-']);
        if let Some((a, b)) = t.split_once("..")
            && let (Some(ra), Some(rb)) = (id_parts(a), id_parts(b))
            && ra.0 == rb.0
            && ra.1 <= rb.1
            && rb.1 - ra.1 <= 50
        {
            for n in ra.1..=rb.1 {
                out.insert(format!("{}{n}", ra.0));
            }
            continue;
        }
        if is_id(t) {
            out.insert(norm_id(t));
        }
    }
    out
}

/// `FR-3` -> (`FR`, 3).
fn id_parts(id: &str) -> Option<(String, u32)> {
    if !is_id(id) || id.contains('.') {
        return None;
    }
    let n = norm_id(id);
    let letters: String = n.chars().take_while(char::is_ascii_alphabetic).collect();
    let num: u32 = n[letters.len()..].parse().ok()?;
    Some((letters, num))
}

fn is_covered(item: &Item, coverage: &[Cover]) -> bool {
    if let Some(id) = &item.id {
        let id = norm_id(id);
        if coverage.iter().any(|c| c.ids.contains(&id)) {
            return true;
        }
    }
    let w = meaningful(&item.text);
    if w.is_empty() {
        return false;
    }
    coverage.iter().any(|c| {
        let overlap = w.intersection(&c.words).count();
        overlap * 10 >= w.len() * 6 || (c.words.len() >= 2 && c.words.is_subset(&w))
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const PRD: &str = "# Shop\n\n## Objectives\n\n- **O1**: Cut checkout time by 30%\n- O2: Keep card data out of our systems\n\n## Users\n\nShoppers.\n\n## Functional Requirements\n\n| ID | Requirement |\n|---|---|\n| FR-1 | Guest checkout |\n| FR-2 | Saved cards |\n| FR-3 | Order history |\n\n## Non-Functional Requirements\n\n- NFR-1: p95 < 300 ms\n\n## User Journey\n\n1. Browse the catalogue\n2. Add items to the cart\n3. Pay with a saved card\n";

    fn manifest(trace: Value) -> Value {
        json!({
            "selected_docs": ["checkout_backend_design.md", "payments_security_design.md"],
            "design_areas": {"checkout_backend_design.md": "x", "payments_security_design.md": "y"},
            "traceability": trace
        })
    }

    #[test]
    fn ids() {
        assert!(is_id("O1") && is_id("FR-3") && is_id("NFR-2.1") && is_id("G12"));
        assert!(
            !is_id("FR-") && !is_id("Step") && !is_id("ABCDE1") && !is_id("FR-1234") && !is_id("1")
        );
        assert_eq!(
            ids_in("FR-1..FR-3, O2"),
            ["FR1", "FR2", "FR3", "O2"].map(String::from).into()
        );
    }

    #[test]
    fn everything_uncovered_without_a_map() {
        let u = traceability(PRD, None, &manifest(json!({})));
        let ids: Vec<_> = u
            .iter()
            .map(|u| (u.kind, u.id.clone(), u.text.clone()))
            .collect();
        assert_eq!(ids.len(), 8, "{ids:?}");
        assert_eq!(
            ids[0],
            (
                TraceKind::Objective,
                Some("O1".into()),
                "Cut checkout time by 30%".into()
            )
        );
        assert_eq!(
            ids[2],
            (
                TraceKind::FunctionalRequirement,
                Some("FR-1".into()),
                "Guest checkout".into()
            )
        );
        assert_eq!(
            ids[5],
            (TraceKind::JourneyStep, None, "Browse the catalogue".into())
        );
        assert!(!ids.iter().any(|i| i.1.as_deref() == Some("NFR-1")));
    }

    #[test]
    fn doc_keyed_item_keyed_and_list_maps_all_count() {
        let by_doc = manifest(json!({
            "checkout_backend_design.md": ["O1", "FR-1..FR-3", "Browse the catalogue", "add items to cart"],
            "payments_security_design.md": "O2; journey: pay with a saved card"
        }));
        assert_eq!(traceability(PRD, None, &by_doc), vec![]);

        let by_item = manifest(json!({
            "O1": ["checkout_backend_design.md"],
            "O2": "payments_security_design.md",
            "FR-1": ["checkout backend"],
        }));
        let left: Vec<_> = traceability(PRD, None, &by_item)
            .into_iter()
            .map(|u| u.id.unwrap_or(u.text))
            .collect();
        assert_eq!(
            left,
            vec![
                "FR-2",
                "FR-3",
                "Browse the catalogue",
                "Add items to the cart",
                "Pay with a saved card"
            ]
        );

        let list = manifest(
            json!([{ "objective": "O1", "docs": ["checkout_backend_design.md"] }, { "objective": "O2" }]),
        );
        let left: Vec<_> = traceability(PRD, None, &list)
            .into_iter()
            .filter_map(|u| u.id)
            .collect();
        assert!(
            !left.contains(&"O1".to_string()) && left.contains(&"O2".to_string()),
            "{left:?}"
        );
    }

    #[test]
    fn journey_argument_and_bullets_without_ids() {
        let prd = "# P\n\n## Goals\n\n- Faster checkout for returning shoppers\n\n## Features\n\n* Export orders as CSV\n";
        let m =
            manifest(json!({"checkout_backend_design.md": ["faster checkout", "export orders"]}));
        let u = traceability(
            prd,
            Some("Sign in -> export orders as CSV -> share the file"),
            &m,
        );
        let texts: Vec<_> = u.iter().map(|u| (u.kind, u.text.as_str())).collect();
        assert_eq!(
            texts,
            vec![
                (TraceKind::JourneyStep, "Sign in"),
                (TraceKind::JourneyStep, "share the file")
            ]
        );
        let f = u[0].to_finding();
        assert_eq!(f.location, "traceability");
        assert!(
            f.message
                .starts_with("user-journey step \"Sign in\" is not covered"),
            "{}",
            f.message
        );
    }

    #[test]
    fn journey_text_forms() {
        let t = |s: &str| {
            journey_steps(s)
                .into_iter()
                .map(|i| i.text)
                .collect::<Vec<_>>()
        };
        assert_eq!(
            t("1. Sign up\n2. Create a project"),
            vec!["Sign up", "Create a project"]
        );
        assert_eq!(
            t("Sign up → create a project"),
            vec!["Sign up", "create a project"]
        );
        assert_eq!(
            t("The user signs up. Then they create a project."),
            vec!["The user signs up", "Then they create a project"]
        );
        assert_eq!(t("signup"), Vec::<String>::new());
    }
}
