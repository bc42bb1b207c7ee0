//! Finding a document's required sections among its headings, the way a reader would.
//!
//! `## 3. Option Comparison and Decision`, `## 3 Option comparison & decision` and
//! `# Option Comparison and Decision:` are the same section: numbering, case, `&`/`and`,
//! hyphens and punctuation do not matter. When no heading matches exactly, a heading whose words
//! are a subset of the title's (`## Risks` for "Risks and Mitigations") or a superset
//! (`## Functional Requirements` for "Requirements") is accepted if it sits where the section
//! belongs. Missing, misplaced, repeated and empty sections become findings.

use std::collections::BTreeSet;
use std::ops::Range;

use super::Finding;
use super::markdown::Doc;
use super::structure::Section;

/// Words that carry no meaning for matching.
const STOPWORDS: &[&str] = &[
    "a", "an", "and", "the", "of", "or", "for", "to", "in", "on", "with", "vs", "versus",
];

/// Headings of levels 1 to this can be top sections.
pub(crate) const MAX_SECTION_LEVEL: u8 = 3;

/// Normalised words: lowercase, `&` read as "and", hyphens and apostrophes joined
/// (`trade-offs` -> `tradeoff`), other punctuation splits, a plural `s` dropped.
pub(crate) fn words(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let flush = |cur: &mut String, out: &mut Vec<String>| {
        if !cur.is_empty() {
            out.push(stem(cur));
            cur.clear();
        }
    };
    for c in text.chars() {
        if c.is_alphanumeric() {
            cur.extend(c.to_lowercase());
        } else if matches!(c, '-' | '\'' | '\u{2019}' | '\u{2010}' | '\u{2011}') {
            // joins: trade-offs, pseudo-code, non-functional
        } else {
            flush(&mut cur, &mut out);
            if c == '&' {
                out.push("and".into());
            }
        }
    }
    flush(&mut cur, &mut out);
    out
}

fn stem(word: &str) -> String {
    let n = word.chars().count();
    if n > 3 && word.ends_with('s') && !word.ends_with("ss") {
        word[..word.len() - 1].to_string()
    } else {
        word.to_string()
    }
}

/// The comparison key of a title: its words run together.
pub(crate) fn key(text: &str) -> String {
    words(text).concat()
}

/// The meaningful words of a text.
pub(crate) fn content_words(text: &str) -> BTreeSet<String> {
    words(text)
        .into_iter()
        .filter(|w| !STOPWORDS.contains(&w.as_str()))
        .collect()
}

/// A heading's text without leading numbering (`3.`, `3.1`, `3)`, `III.`, `Section 3:`).
pub(crate) fn strip_numbering(text: &str) -> &str {
    let mut t = text.trim();
    if let Some(rest) = strip_prefix_ci(t, "section ") {
        t = rest.trim_start();
    }
    let numeral: usize = t
        .char_indices()
        .take_while(|(_, c)| c.is_ascii_digit() || *c == '.')
        .map(|(i, c)| i + c.len_utf8())
        .last()
        .unwrap_or(0);
    let roman: usize = if numeral == 0 {
        let r = t
            .char_indices()
            .take_while(|(_, c)| matches!(c, 'I' | 'V' | 'X'))
            .map(|(i, c)| i + c.len_utf8())
            .last()
            .unwrap_or(0);
        // only a roman numeral when followed by `.` or `)`
        if r > 0 && t[r..].starts_with(['.', ')']) {
            r
        } else {
            0
        }
    } else {
        numeral
    };
    if roman == 0 {
        return t;
    }
    t[roman..]
        .trim_start_matches(['.', ')', ':', '-'])
        .trim_start()
}

fn strip_prefix_ci<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let head = text.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &text[prefix.len()..])
}

/// `Option A`, `Option 2:` ... : the id of an option heading, if it is one.
pub(crate) fn option_id(heading: &str) -> Option<String> {
    numbered_id(heading, "option", true)
}

/// `Step 3`, `Step 3:` ... : the number of a step heading, if it is one.
pub(crate) fn step_number(heading: &str) -> Option<String> {
    numbered_id(heading, "step", false)
}

fn numbered_id(heading: &str, word: &str, letters: bool) -> Option<String> {
    let text = strip_numbering(heading);
    let rest = strip_prefix_ci(text, word)?;
    if !rest.starts_with(char::is_whitespace) {
        return None;
    }
    let rest = rest.trim_start();
    let id: String = rest.chars().take_while(|c| c.is_alphanumeric()).collect();
    let after = &rest[id.len()..];
    let ok_id = (id.len() <= 2 && !id.is_empty() && id.chars().all(|c| c.is_ascii_digit()))
        || (letters && id.len() == 1 && id.chars().all(|c| c.is_ascii_alphabetic()));
    let ok_end = after.is_empty() || after.starts_with(|c: char| !c.is_alphanumeric());
    (ok_id && ok_end).then(|| id.to_uppercase())
}

/// Where each required section is: for section `i`, the index of its heading in `doc.headings`.
#[derive(Clone, Debug)]
pub(crate) struct Outline<'s> {
    pub sections: &'s [Section],
    pub found: Vec<Option<usize>>,
    /// Sections whose exact title appears more than once at the same level.
    pub repeated: Vec<(usize, usize)>,
}

impl<'s> Outline<'s> {
    /// Aligns the required sections with the document's headings.
    pub(crate) fn locate(doc: &Doc<'_>, sections: &'s [Section]) -> Self {
        // Normalise every candidate heading once: (index, key, words, is an option or a step).
        let candidates: Vec<(usize, String, BTreeSet<String>, bool)> = doc
            .headings
            .iter()
            .enumerate()
            .filter(|(_, h)| h.level <= MAX_SECTION_LEVEL)
            .map(|(i, h)| {
                let text = strip_numbering(&h.text);
                let sub = option_id(&h.text).is_some() || step_number(&h.text).is_some();
                (i, key(text), content_words(text), sub)
            })
            .collect();
        let titles: Vec<Vec<(String, BTreeSet<String>)>> = sections
            .iter()
            .map(|s| {
                std::iter::once(&s.title)
                    .chain(&s.aliases)
                    .map(|t| (key(t), content_words(t)))
                    .collect()
            })
            .collect();
        let mut found: Vec<Option<usize>> = vec![None; sections.len()];
        let mut used = BTreeSet::new();
        let mut repeated = Vec::new();
        // Pass 1: exact titles, the first unused heading for each section.
        for (si, names) in titles.iter().enumerate() {
            let exact: Vec<usize> = candidates
                .iter()
                .filter(|(h, k, _, _)| {
                    !used.contains(h) && !k.is_empty() && names.iter().any(|(t, _)| t == k)
                })
                .map(|c| c.0)
                .collect();
            if let Some(&first) = exact.first() {
                found[si] = Some(first);
                used.insert(first);
                let level = doc.headings[first].level;
                let same = exact
                    .iter()
                    .filter(|&&h| doc.headings[h].level == level)
                    .count();
                if same > 1 {
                    repeated.push((si, same));
                }
            }
        }
        // Pass 2: loose titles, only between the neighbours already found.
        for si in 0..sections.len() {
            if found[si].is_some() {
                continue;
            }
            let lo = found[..si].iter().rev().flatten().next().copied();
            let hi = found[si + 1..].iter().flatten().next().copied();
            let pick = candidates.iter().find(|(h, _, w, sub)| {
                !used.contains(h)
                    && lo.is_none_or(|lo| *h > lo)
                    && hi.is_none_or(|hi| *h < hi)
                    && !sub
                    && !w.is_empty()
                    && titles[si]
                        .iter()
                        .any(|(_, t)| !t.is_empty() && (w.is_subset(t) || t.is_subset(w)))
            });
            if let Some(&(h, ..)) = pick {
                found[si] = Some(h);
                used.insert(h);
            }
        }
        Outline {
            sections,
            found,
            repeated,
        }
    }

    /// The section with `key`: its index in the structure.
    pub(crate) fn index_of(&self, key: &str) -> Option<usize> {
        self.sections.iter().position(|s| s.key == key)
    }

    /// The byte range of section `i`'s body: from after its heading to the next required
    /// section's heading or the next heading of a higher rank, whichever comes first.
    pub(crate) fn body(&self, doc: &Doc<'_>, i: usize) -> Option<Range<usize>> {
        let h = self.found.get(i).copied().flatten()?;
        let heading = doc.headings.get(h)?;
        let next_section = self
            .found
            .iter()
            .flatten()
            .copied()
            .filter(|&o| o > h)
            .min()
            .and_then(|o| doc.headings.get(o))
            .map_or(doc.src.len(), |o| o.range.start);
        let next_higher = doc.higher_heading_start(h);
        Some(heading.range.end..next_section.min(next_higher))
    }

    /// A finding's location for section `i`.
    pub(crate) fn location(&self, i: usize) -> String {
        self.sections
            .get(i)
            .map_or_else(|| "document".into(), |s| format!("section \"{}\"", s.title))
    }

    /// Missing, out-of-order, repeated and empty sections.
    pub(crate) fn findings(&self, doc: &Doc<'_>) -> Vec<Finding> {
        let mut out = Vec::new();
        if doc.headings.is_empty() {
            let list: Vec<String> = self
                .sections
                .iter()
                .enumerate()
                .map(|(i, s)| format!("## {}. {}", i + 1, s.title))
                .collect();
            out.push(Finding::new(
                "document",
                format!(
                    "no headings found; the document needs these sections in this order: {}",
                    list.join(", ")
                ),
            ));
            return out;
        }
        for (i, sec) in self.sections.iter().enumerate() {
            if self.found[i].is_none() {
                out.push(Finding::new(
                    self.location(i),
                    format!(
                        "missing; add a heading \"## {}. {}\"{}",
                        i + 1,
                        sec.title,
                        hint_suffix(sec)
                    ),
                ));
            }
        }
        let in_order = increasing_subsequence(&self.found);
        for (i, sec) in self.sections.iter().enumerate() {
            if self.found[i].is_some() && !in_order.contains(&i) {
                let before = in_order.iter().rev().find(|&&j| j < i);
                let after = in_order.iter().find(|&&j| j > i);
                let place = match (before, after) {
                    (Some(&b), Some(&a)) => format!(
                        "after \"{}\" and before \"{}\"",
                        self.sections[b].title, self.sections[a].title
                    ),
                    (Some(&b), None) => format!("after \"{}\"", self.sections[b].title),
                    (None, Some(&a)) => format!("before \"{}\"", self.sections[a].title),
                    (None, None) => "in its place".into(),
                };
                out.push(Finding::new(
                    self.location(i),
                    format!(
                        "out of order; move it {place} (section {} of {})",
                        i + 1,
                        self.sections.len()
                    ),
                ));
                let _ = sec;
            }
        }
        for &(i, n) in &self.repeated {
            out.push(Finding::new(
                self.location(i),
                format!("appears {n} times; keep one section with this title and merge the others into it"),
            ));
        }
        for (i, sec) in self.sections.iter().enumerate() {
            if let Some(body) = self.body(doc, i)
                && super::markdown::is_blank(doc.slice(body))
            {
                out.push(Finding::new(
                    self.location(i),
                    format!("is empty; write its content{}", hint_suffix(sec)),
                ));
            }
        }
        out
    }
}

/// ": <hint>" when the section has a hint, so a finding says what belongs there.
pub(crate) fn hint_suffix(sec: &Section) -> String {
    if sec.hint.trim().is_empty() {
        String::new()
    } else {
        format!(" ({})", sec.hint.trim().trim_end_matches('.'))
    }
}

/// Indices of found sections forming the longest run whose headings appear in increasing order;
/// the others are out of order.
fn increasing_subsequence(found: &[Option<usize>]) -> Vec<usize> {
    let items: Vec<(usize, usize)> = found
        .iter()
        .enumerate()
        .filter_map(|(i, h)| h.map(|h| (i, h)))
        .collect();
    if items.is_empty() {
        return Vec::new();
    }
    // O(n^2) is fine: documents have at most a few dozen sections.
    let n = items.len();
    let mut len = vec![1usize; n];
    let mut prev = vec![usize::MAX; n];
    for j in 0..n {
        for k in 0..j {
            if items[k].1 < items[j].1 && len[k] + 1 > len[j] {
                len[j] = len[k] + 1;
                prev[j] = k;
            }
        }
    }
    let mut best = 0;
    for j in 0..n {
        if len[j] > len[best] {
            best = j;
        }
    }
    let mut out = Vec::new();
    let mut cur = best;
    while cur != usize::MAX {
        out.push(items[cur].0);
        cur = prev[cur];
    }
    out.reverse();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sec(title: &str) -> Section {
        Section {
            key: key(title),
            title: title.into(),
            hint: String::new(),
            aliases: Vec::new(),
            depth: String::new(),
            tables: Vec::new(),
            labels: Vec::new(),
        }
    }

    #[test]
    fn option_and_step_ids() {
        assert_eq!(option_id("Option A: Monolith").as_deref(), Some("A"));
        assert_eq!(option_id("option b - queue").as_deref(), Some("B"));
        assert_eq!(option_id("Option 2").as_deref(), Some("2"));
        assert_eq!(option_id("Option Comparison and Decision"), None);
        assert_eq!(option_id("Options"), None);
        assert_eq!(step_number("Step 3: Add the table").as_deref(), Some("3"));
        assert_eq!(step_number("Step 12 - Roll out").as_deref(), Some("12"));
        assert_eq!(step_number("Steps"), None);
        assert_eq!(step_number("Step A"), None);
    }

    #[test]
    fn locate_reports_missing_order_repeats_and_empty() {
        let secs = vec![
            sec("One"),
            sec("Two"),
            sec("Three"),
            sec("Four"),
            sec("Five"),
        ];
        let doc = Doc::parse(
            "# Doc\n\n## Two\n\nx\n\n## 1. One\n\ny\n\n## Three\n\n## Three\n\nz\n\n## Four\n\n**\n",
        );
        let o = Outline::locate(&doc, &secs);
        let f = o.findings(&doc);
        let text: Vec<String> = f.iter().map(|f| f.to_string()).collect();
        assert!(
            text.iter().any(|t| t.contains("section \"Five\": missing")),
            "{text:?}"
        );
        assert!(
            text.iter()
                .any(|t| t.starts_with("section \"One\": out of order")
                    || t.starts_with("section \"Two\": out of order")),
            "{text:?}"
        );
        assert!(
            text.iter()
                .any(|t| t.contains("\"Three\": appears 2 times")),
            "{text:?}"
        );
        assert!(
            text.iter().any(|t| t.contains("\"Four\": is empty")),
            "{text:?}"
        );
    }

    #[test]
    fn no_headings_is_one_finding() {
        let secs = vec![sec("One"), sec("Two")];
        let doc = Doc::parse("just text");
        let f = Outline::locate(&doc, &secs).findings(&doc);
        assert_eq!(f.len(), 1);
        assert!(f[0].message.contains("## 1. One, ## 2. Two"));
    }
}
