//! Cutting a file into excerpts a model can read on their own: one per symbol where the outline
//! knows the language (a long class or impl is cut into its methods, a long function into
//! windows), and blocks between blank lines elsewhere, merged up to [`MAX_LINES`]. Comments,
//! attributes and decorators directly above a symbol go with it. Every non-blank line of the
//! file ends up in exactly one chunk.

use crate::lang::Language;
use crate::outline::{self, Symbol, SymbolKind};

/// The most lines in one chunk.
pub(crate) const MAX_LINES: u32 = 60;

/// How far up a symbol's chunk reaches for its doc comment and attributes.
const MAX_LEAD: u32 = 20;

/// A chunk: lines `start..=end` (1-based) and the symbol it holds, if any.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct Span {
    pub(crate) start: u32,
    pub(crate) end: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) name: Option<String>,
}

/// The chunks of `text`.
pub(crate) fn chunk(language: Option<Language>, text: &str) -> Vec<Span> {
    let lines: Vec<&str> = text.lines().collect();
    let n = u32::try_from(lines.len()).unwrap_or(u32::MAX);
    if n == 0 {
        return Vec::new();
    }
    let symbols = language.and_then(|l| outline::outline(l, text).map(|s| (l, s)));
    let mut cx = Cutter {
        lines: &lines,
        out: Vec::new(),
    };
    match symbols {
        Some((language, symbols)) => {
            let sep = if language == Language::Python {
                "."
            } else {
                "::"
            };
            cx.symbols(&symbols, 1, n, None, sep);
        }
        None => cx.blocks(1, n, None),
    }
    cx.out
}

struct Cutter<'a> {
    lines: &'a [&'a str],
    out: Vec<Span>,
}

impl Cutter<'_> {
    fn blank(&self, line: u32) -> bool {
        self.lines
            .get(line as usize - 1)
            .is_none_or(|l| l.trim().is_empty())
    }

    /// Covers `lo..=hi` with chunks along `symbols`; lines between symbols become blocks named
    /// `gap_name` (the enclosing symbol, for the header of a class or impl).
    fn symbols(&mut self, symbols: &[Symbol], lo: u32, hi: u32, gap_name: Option<&str>, sep: &str) {
        let mut cursor = lo;
        // Constants are a line or two each: they stay in the blocks around them rather than
        // becoming chunks of their own.
        for s in symbols.iter().filter(|s| s.kind != SymbolKind::Const) {
            let end = s.end_line.min(hi);
            if s.start_line < cursor || end < s.start_line {
                continue;
            }
            let start = self.lead(s.start_line, cursor);
            if start > cursor {
                self.blocks(cursor, start - 1, gap_name);
            }
            let name = match gap_name {
                Some(parent) => format!("{parent}{sep}{}", s.name),
                None => s.name.clone(),
            };
            if end - start < MAX_LINES {
                self.push(start, end, Some(&name));
            } else if s.children.is_empty() {
                self.windows(start, end, Some(&name));
            } else {
                self.symbols(&s.children, start, end, Some(&name), sep);
            }
            cursor = end + 1;
        }
        if cursor <= hi {
            self.blocks(cursor, hi, gap_name);
        }
    }

    /// The first line of a symbol's chunk: comment, attribute and decorator lines directly
    /// above `start` (but not above `floor`).
    fn lead(&self, start: u32, floor: u32) -> u32 {
        let mut s = start;
        while s > floor && start - s < MAX_LEAD {
            let above = self.lines[s as usize - 2].trim_start();
            let attached = ["#", "//", "/*", "*", "@", "--"]
                .iter()
                .any(|p| above.starts_with(p));
            if !attached {
                break;
            }
            s -= 1;
        }
        s
    }

    /// Paragraphs (split at blank lines) of `lo..=hi`, merged up to [`MAX_LINES`].
    fn blocks(&mut self, lo: u32, hi: u32, name: Option<&str>) {
        let mut current: Option<(u32, u32)> = None;
        let mut line = lo;
        while line <= hi {
            if self.blank(line) {
                line += 1;
                continue;
            }
            let start = line;
            while line <= hi && !self.blank(line) {
                line += 1;
            }
            let end = line - 1;
            current = match current {
                Some((cs, _)) if end - cs < MAX_LINES => Some((cs, end)),
                Some((cs, ce)) => {
                    self.windows(cs, ce, name);
                    Some((start, end))
                }
                None => Some((start, end)),
            };
        }
        if let Some((cs, ce)) = current {
            self.windows(cs, ce, name);
        }
    }

    /// `lo..=hi` in windows of at most [`MAX_LINES`], cut at a blank line in a window's second
    /// half when there is one.
    fn windows(&mut self, lo: u32, hi: u32, name: Option<&str>) {
        let mut start = lo;
        while start <= hi {
            let mut end = hi.min(start + MAX_LINES - 1);
            if end < hi
                && let Some(blank) = (start + MAX_LINES / 2..end).rev().find(|&l| self.blank(l))
            {
                end = blank;
            }
            self.push(start, end, name);
            start = end + 1;
        }
    }

    /// Adds `start..=end` with blank lines trimmed off both ends; nothing when all blank.
    fn push(&mut self, mut start: u32, mut end: u32, name: Option<&str>) {
        while start <= end && self.blank(start) {
            start += 1;
        }
        while end >= start && self.blank(end) {
            end -= 1;
        }
        if start <= end {
            self.out.push(Span {
                start,
                end,
                name: name.map(str::to_string),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spans(language: Option<Language>, text: &str) -> Vec<(u32, u32, Option<String>)> {
        chunk(language, text)
            .into_iter()
            .map(|s| (s.start, s.end, s.name))
            .collect()
    }

    #[test]
    fn python_symbols_become_chunks_and_the_rest_blocks() {
        let src = "\
import os

# Doc of f.
@cache
def f():
    return 1


class C:
    def m(self):
        pass
";
        assert_eq!(
            spans(Some(Language::Python), src),
            [
                (1, 1, None),
                (3, 6, Some("f".to_string())),
                (9, 11, Some("C".to_string())),
            ]
        );
    }

    #[test]
    fn a_long_class_is_cut_into_its_methods() {
        let mut src = String::from("class Big:\n    \"\"\"Doc.\"\"\"\n\n");
        for i in 0..4 {
            src.push_str(&format!("    def m{i}(self):\n"));
            for _ in 0..20 {
                src.push_str("        x = 1\n");
            }
            src.push('\n');
        }
        let got = spans(Some(Language::Python), &src);
        let names: Vec<&str> = got.iter().filter_map(|s| s.2.as_deref()).collect();
        assert_eq!(names, ["Big", "Big.m0", "Big.m1", "Big.m2", "Big.m3"]);
        assert_eq!(got[0].0..=got[0].1, 1..=2);
        assert!(got.iter().all(|(s, e, _)| e - s < MAX_LINES));
    }

    #[test]
    fn unknown_languages_are_cut_at_blank_lines_within_the_limit() {
        let para = "line\n".repeat(25);
        let text = format!("{para}\n{para}\n{para}");
        let got = spans(None, &text);
        assert_eq!(got, [(1, 51, None), (53, 77, None)]);
    }

    #[test]
    fn a_long_block_without_blank_lines_is_windowed() {
        let text = "x\n".repeat(130);
        let got = spans(None, &text);
        assert_eq!(got, [(1, 60, None), (61, 120, None), (121, 130, None)]);
    }
}
