//! Labelled parts inside a block: `**Objective:** ...` in a step, `**Effort:** M` in an option.
//!
//! A person may write a label as bold text with a colon, plain text with a colon, a list item
//! (`- Effort: M`), a small heading (`#### Trade-offs`), a line in bold on its own, or a table
//! row (`| Effort | M |`). All of these count. A label matches a part when its words are the
//! part's title or a subset of it (`Code changes` for "Code/Config Changes") or start with the
//! same word (`Acceptance criteria` for "Acceptance Check").

use std::ops::Range;

use super::markdown::{Doc, is_blank};
use super::sections::content_words;
use super::structure::Section;

/// The longest label, in words; longer text before a colon is a sentence, not a label.
const MAX_LABEL_WORDS: usize = 6;

/// A label line found in a block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct LabelHit {
    /// Index of the part in the parts list.
    pub part: usize,
    /// Byte offset of the line.
    pub line_start: usize,
    /// Byte offset where the label's content starts (after the colon or the cell).
    pub content_start: usize,
}

/// Splits a line into (label text, byte offset of the content in the line) if it looks like a
/// label.
fn split_label(line: &str) -> Option<(String, usize)> {
    let mut start = 0;
    let bytes = line.as_bytes();
    let skip_ws = |i: &mut usize| {
        while *i < bytes.len() && (bytes[*i] == b' ' || bytes[*i] == b'\t') {
            *i += 1;
        }
    };
    skip_ws(&mut start);
    while start < bytes.len() && bytes[start] == b'>' {
        start += 1;
        skip_ws(&mut start);
    }
    let mut heading = false;
    while start < bytes.len() && bytes[start] == b'#' {
        heading = true;
        start += 1;
    }
    skip_ws(&mut start);
    // list marker
    if start + 1 < bytes.len()
        && matches!(bytes[start], b'-' | b'*' | b'+')
        && bytes[start + 1] == b' '
    {
        start += 2;
    } else {
        let digits = bytes[start..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count();
        if digits > 0
            && start + digits + 1 < bytes.len()
            && matches!(bytes[start + digits], b'.' | b')')
            && bytes[start + digits + 1] == b' '
        {
            start += digits + 2;
        }
    }
    skip_ws(&mut start);
    let rest = line.get(start..)?;
    if let Some(row) = rest.strip_prefix('|') {
        let cell_end = row.find('|')?;
        let label = &row[..cell_end];
        return Some((label.to_string(), start + 1 + cell_end + 1));
    }
    if let Some(colon) = rest.find(':') {
        let label = &rest[..colon];
        let mut content = start + colon + 1;
        while content < bytes.len() && matches!(bytes[content], b'*' | b'_') {
            content += 1;
        }
        return Some((label.to_string(), content));
    }
    let bare = rest.trim();
    let bold = bare.len() > 4
        && ((bare.starts_with("**") && bare.ends_with("**"))
            || (bare.starts_with("__") && bare.ends_with("__")));
    if heading || bold {
        return Some((bare.to_string(), line.len()));
    }
    None
}

/// True if `label` names `part`.
pub(super) fn label_matches(label: &str, part: &Section) -> bool {
    let label_words: Vec<String> = super::sections::words(label)
        .into_iter()
        .filter(|w| !matches!(w.as_str(), "and" | "or" | "the" | "a" | "an"))
        .collect();
    if label_words.is_empty() || label_words.len() > MAX_LABEL_WORDS {
        return false;
    }
    let set: std::collections::BTreeSet<String> = label_words.iter().cloned().collect();
    std::iter::once(&part.title)
        .chain(&part.aliases)
        .any(|title| {
            let t = content_words(title);
            let first = super::sections::words(title).into_iter().next();
            !t.is_empty()
                && (super::sections::key(label) == super::sections::key(title)
                    || set.is_subset(&t)
                    || first.as_deref() == label_words.first().map(String::as_str))
        })
}

/// Every label line for any of `parts` in `range` (outside code blocks), in order.
pub(super) fn find_labels(doc: &Doc<'_>, range: Range<usize>, parts: &[Section]) -> Vec<LabelHit> {
    let mut hits = Vec::new();
    for (offset, line) in doc.prose_lines(range) {
        let Some((label, content)) = split_label(line) else {
            continue;
        };
        if let Some(part) = parts.iter().position(|p| label_matches(&label, p)) {
            hits.push(LabelHit {
                part,
                line_start: offset,
                content_start: offset + content,
            });
        }
    }
    hits
}

/// For each part, whether it has a label in the block and whether that label has content (text
/// after the colon or on the following lines, up to the next label or the end of the block).
pub(super) fn part_status(
    doc: &Doc<'_>,
    range: Range<usize>,
    parts: &[Section],
) -> Vec<PartStatus> {
    let hits = find_labels(doc, range.clone(), parts);
    parts
        .iter()
        .enumerate()
        .map(|(i, _)| {
            let Some(pos) = hits.iter().position(|h| h.part == i) else {
                return PartStatus::Missing;
            };
            let hit = &hits[pos];
            let end = hits.get(pos + 1).map_or(range.end, |n| n.line_start);
            let content = doc.slice(hit.content_start.min(end)..end);
            if is_blank(content) {
                PartStatus::Empty
            } else {
                PartStatus::Present(hit.content_start.min(end)..end)
            }
        })
        .collect()
}

/// Whether a labelled part is there.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum PartStatus {
    Missing,
    Empty,
    /// The byte range of its content.
    Present(Range<usize>),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn part(title: &str) -> Section {
        Section {
            key: title.to_lowercase(),
            title: title.into(),
            hint: String::new(),
            aliases: Vec::new(),
            depth: String::new(),
            tables: Vec::new(),
            labels: Vec::new(),
        }
    }

    #[test]
    fn label_styles() {
        for (line, label) in [
            ("**Objective:** build it", "Objective"),
            ("- **Objective**: build it", "Objective"),
            ("Objective: build it", "Objective"),
            ("#### Objective", "Objective"),
            ("**Objective**", "Objective"),
            ("| Effort | M |", " Effort "),
            ("> 1. Objective: x", "Objective"),
        ] {
            let (l, _) = split_label(line).unwrap_or_else(|| panic!("{line}"));
            assert_eq!(l.replace('*', "").trim(), label.trim(), "{line}");
        }
        assert!(split_label("plain sentence without a colon").is_none());
    }

    #[test]
    fn label_matching() {
        let changes = part("Code/Config Changes");
        assert!(label_matches("**Code/Config Changes", &changes));
        assert!(label_matches("Code changes", &changes));
        assert!(label_matches("Config", &changes));
        let acc = part("Acceptance Check");
        assert!(label_matches("Acceptance criteria", &acc));
        assert!(!label_matches(
            "Check the logs in the dashboard for errors now",
            &acc
        ));
        assert!(label_matches("Trade offs", &part("Trade-offs")));
        assert!(!label_matches("Effort", &part("Trade-offs")));
    }

    #[test]
    fn status_of_parts() {
        let parts = vec![
            part("Objective"),
            part("Pseudocode"),
            part("Acceptance Check"),
        ];
        let src = "**Objective:** do it\n**Pseudocode:**\n```\nif x then y\n```\n**Acceptance Check:**\n\n";
        let doc = Doc::parse(src);
        let st = part_status(&doc, 0..src.len(), &parts);
        assert!(matches!(st[0], PartStatus::Present(_)));
        assert!(
            matches!(st[1], PartStatus::Present(_)),
            "code counts as content"
        );
        assert_eq!(st[2], PartStatus::Empty);
    }
}
