//! Reading rendered markdown back: sections by heading, and which sections changed.
//!
//! A re-review sends only the changed sections, and prompts quote parts of earlier documents
//! (the chosen option, the proposal's approach); these helpers find those parts by their
//! headings, ignoring headings inside code fences.

use serde_json::Value;

use super::DocKind;
use super::sections::sections;

/// The keys of the top-level sections whose content differs between two versions.
pub fn changed_sections(kind: DocKind, old: &Value, new: &Value) -> Vec<String> {
    let mut keys: Vec<String> = sections()
        .of(kind)
        .iter()
        .filter(|s| old.get(&s.key) != new.get(&s.key))
        .map(|s| s.key.clone())
        .collect();
    if old.get("title") != new.get("title") {
        keys.insert(0, "title".into());
    }
    keys
}

/// The `## N. Title` sections of a rendered document whose keys are in `keys`, in order.
pub fn extract_sections(kind: DocKind, markdown: &str, keys: &[String]) -> String {
    let mut out = String::new();
    for sec in sections().of(kind) {
        if !keys.contains(&sec.key) {
            continue;
        }
        if let Some(text) = section_text(markdown, &sec.title) {
            out.push_str(text.trim_end());
            out.push_str("\n\n");
        }
    }
    out.trim_end().to_string()
}

/// The text of the level-2 section titled `title` (numbered or not), heading included, up to
/// the next level-1 or level-2 heading.
pub fn section_text<'a>(markdown: &'a str, title: &str) -> Option<&'a str> {
    heading_block(markdown, 2, |h| {
        let h = h.trim();
        let h = h
            .split_once(". ")
            .filter(|(n, _)| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
            .map(|(_, rest)| rest)
            .unwrap_or(h);
        h.eq_ignore_ascii_case(title)
    })
}

/// The block of the first heading of `level` whose text satisfies `matches`, heading
/// included, up to the next heading of the same or a higher level (outside code fences).
pub fn heading_block(markdown: &str, level: usize, matches: impl Fn(&str) -> bool) -> Option<&str> {
    let mut start = None;
    let mut in_fence = false;
    let mut offset = 0;
    for line in markdown.split_inclusive('\n') {
        let t = line.trim_start();
        if t.starts_with("```") || t.starts_with("~~~") {
            in_fence = !in_fence;
        }
        if !in_fence {
            let hashes = t.chars().take_while(|c| *c == '#').count();
            if hashes >= 1 && hashes <= level && t[hashes..].starts_with(' ') {
                if start.is_some() {
                    return start.map(|s| &markdown[s..offset]);
                }
                if hashes == level && matches(t[hashes..].trim()) {
                    start = Some(offset);
                }
            }
        }
        offset += line.len();
    }
    start.map(|s| &markdown[s..])
}
