//! A markdown document as the validators see it: headings, fenced code blocks, tables and list
//! items with their byte ranges and line numbers.
//!
//! Parsed with `pulldown-cmark` (CommonMark plus tables), so what counts as a heading, a fence or
//! a table is what any markdown viewer shows, not what a line-based guess would say: a `#` inside
//! a code block is not a heading, an indented fence inside a list item is still a fence.

use std::ops::Range;

use pulldown_cmark::{CodeBlockKind, Event, Options, Parser, Tag, TagEnd};

/// A heading and where it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Heading {
    /// 1 for `#`, 6 for `######` (setext headings are 1 and 2).
    pub level: u8,
    /// The heading's text without markup.
    pub text: String,
    /// Byte range of the whole heading line(s).
    pub range: Range<usize>,
    /// 1-based line number.
    pub line: usize,
}

/// A code block (fenced or indented).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct CodeBlock {
    /// First word of the info string, lowercase, without `{`, `}` or a leading `.`; empty for
    /// indented blocks and bare fences.
    pub lang: String,
    /// The code, without the fences.
    pub content: String,
    /// Byte range including the fences.
    pub range: Range<usize>,
    /// 1-based line number of the opening fence.
    pub line: usize,
    /// False when a fence was opened and the document ended before it was closed.
    pub closed: bool,
}

/// A table: the header cells and the body rows, as plain text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Table {
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
    pub range: Range<usize>,
}

/// A list item at any depth.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ListItem {
    /// 1 for a top-level list, 2 for a list inside an item, ...
    pub depth: usize,
    pub ordered: bool,
    /// Byte range of the whole item, nested lists included.
    pub range: Range<usize>,
}

/// A parsed document.
#[derive(Clone, Debug)]
pub(crate) struct Doc<'a> {
    pub src: &'a str,
    line_starts: Vec<usize>,
    /// For heading `i`: where the next heading of the same or a higher rank starts.
    next_same_or_higher: Vec<usize>,
    /// For heading `i`: where the next heading of a strictly higher rank starts.
    next_higher: Vec<usize>,
    pub headings: Vec<Heading>,
    pub code_blocks: Vec<CodeBlock>,
    pub tables: Vec<Table>,
    pub list_items: Vec<ListItem>,
}

/// What the parser is inside of while walking events.
enum Capture {
    None,
    Heading {
        level: u8,
        range: Range<usize>,
        text: String,
    },
    Code {
        lang: String,
        range: Range<usize>,
        content: String,
    },
}

impl<'a> Doc<'a> {
    /// Parses `src`. Never fails: any text is some markdown.
    pub(crate) fn parse(src: &'a str) -> Self {
        let mut line_starts = vec![0];
        line_starts.extend(src.match_indices('\n').map(|(i, _)| i + 1));
        let mut doc = Doc {
            src,
            line_starts,
            next_same_or_higher: Vec::new(),
            next_higher: Vec::new(),
            headings: Vec::new(),
            code_blocks: Vec::new(),
            tables: Vec::new(),
            list_items: Vec::new(),
        };
        let mut capture = Capture::None;
        let mut lists: Vec<bool> = Vec::new();
        let mut table: Option<Table> = None;
        let mut row: Vec<String> = Vec::new();
        let mut cell: Option<String> = None;
        let mut in_head = false;
        let parser = Parser::new_ext(src, Options::ENABLE_TABLES).into_offset_iter();
        for (event, range) in parser {
            match event {
                Event::Start(Tag::Heading { level, .. }) => {
                    capture = Capture::Heading {
                        level: level as u8,
                        range,
                        text: String::new(),
                    };
                }
                Event::End(TagEnd::Heading(_)) => {
                    if let Capture::Heading { level, range, text } =
                        std::mem::replace(&mut capture, Capture::None)
                    {
                        let line = doc.line_of(range.start);
                        doc.headings.push(Heading {
                            level,
                            text: text.split_whitespace().collect::<Vec<_>>().join(" "),
                            range,
                            line,
                        });
                    }
                }
                Event::Start(Tag::CodeBlock(kind)) => {
                    let lang = match kind {
                        CodeBlockKind::Fenced(info) => info
                            .split_whitespace()
                            .next()
                            .unwrap_or("")
                            .trim_matches(|c| c == '{' || c == '}')
                            .trim_start_matches('.')
                            .to_lowercase(),
                        CodeBlockKind::Indented => String::new(),
                    };
                    capture = Capture::Code {
                        lang,
                        range,
                        content: String::new(),
                    };
                }
                Event::End(TagEnd::CodeBlock) => {
                    if let Capture::Code {
                        lang,
                        range,
                        content,
                    } = std::mem::replace(&mut capture, Capture::None)
                    {
                        let line = doc.line_of(range.start);
                        let closed = fence_closed(src.get(range.clone()).unwrap_or(""));
                        doc.code_blocks.push(CodeBlock {
                            lang,
                            content,
                            range,
                            line,
                            closed,
                        });
                    }
                }
                Event::Start(Tag::List(first)) => lists.push(first.is_some()),
                Event::End(TagEnd::List(_)) => {
                    lists.pop();
                }
                Event::Start(Tag::Item) => doc.list_items.push(ListItem {
                    depth: lists.len().max(1),
                    ordered: lists.last().copied().unwrap_or(false),
                    range,
                }),
                Event::Start(Tag::Table(_)) => {
                    table = Some(Table {
                        header: Vec::new(),
                        rows: Vec::new(),
                        range,
                    });
                }
                Event::End(TagEnd::Table) => {
                    if let Some(t) = table.take() {
                        doc.tables.push(t);
                    }
                }
                Event::Start(Tag::TableHead) => {
                    in_head = true;
                    row.clear();
                }
                Event::End(TagEnd::TableHead) => {
                    in_head = false;
                    if let Some(t) = table.as_mut() {
                        t.header = std::mem::take(&mut row);
                    }
                }
                Event::Start(Tag::TableRow) => row.clear(),
                Event::End(TagEnd::TableRow) => {
                    if let (Some(t), false) = (table.as_mut(), in_head) {
                        t.rows.push(std::mem::take(&mut row));
                    }
                }
                Event::Start(Tag::TableCell) => cell = Some(String::new()),
                Event::End(TagEnd::TableCell) => {
                    if let Some(c) = cell.take() {
                        row.push(c.trim().to_string());
                    }
                }
                Event::Text(t) | Event::Code(t) => {
                    match &mut capture {
                        Capture::Heading { text, .. } => text.push_str(&t),
                        Capture::Code { content, .. } => content.push_str(&t),
                        Capture::None => {}
                    }
                    if let Some(c) = cell.as_mut() {
                        c.push_str(&t);
                    }
                }
                Event::SoftBreak | Event::HardBreak => {
                    if let Capture::Heading { text, .. } = &mut capture {
                        text.push(' ');
                    }
                    if let Some(c) = cell.as_mut() {
                        c.push(' ');
                    }
                }
                _ => {}
            }
        }
        doc.next_same_or_higher = next_heading_where(&doc.headings, src.len(), |next, h| next <= h);
        doc.next_higher = next_heading_where(&doc.headings, src.len(), |next, h| next < h);
        doc
    }

    /// The 1-based line of a byte offset.
    pub(crate) fn line_of(&self, offset: usize) -> usize {
        match self.line_starts.binary_search(&offset) {
            Ok(i) => i + 1,
            Err(i) => i,
        }
    }

    /// The text of a byte range (empty if the range is not valid).
    pub(crate) fn slice(&self, range: Range<usize>) -> &'a str {
        self.src.get(range).unwrap_or("")
    }

    /// True if the offset lies inside a code block.
    pub(crate) fn in_code(&self, offset: usize) -> bool {
        // Blocks are in document order and do not overlap: look at the last one starting at or
        // before the offset.
        let i = self
            .code_blocks
            .partition_point(|c| c.range.start <= offset);
        i > 0 && self.code_blocks[i - 1].range.contains(&offset)
    }

    /// The lines in `range` that are not inside a code block, with their start offsets.
    pub(crate) fn prose_lines(&self, range: Range<usize>) -> Vec<(usize, &'a str)> {
        let mut out = Vec::new();
        let text = self.slice(range.clone());
        let mut offset = range.start;
        for line in text.split_inclusive('\n') {
            if !self.in_code(offset) {
                out.push((offset, line.trim_end_matches(['\n', '\r'])));
            }
            offset += line.len();
        }
        out
    }

    /// The end of the section a heading opens: the next heading of the same or a higher rank.
    pub(crate) fn heading_end(&self, index: usize) -> usize {
        self.next_same_or_higher
            .get(index)
            .copied()
            .unwrap_or(self.src.len())
    }

    /// Where the next heading of a strictly higher rank than heading `index` starts (or the end).
    pub(crate) fn higher_heading_start(&self, index: usize) -> usize {
        self.next_higher
            .get(index)
            .copied()
            .unwrap_or(self.src.len())
    }

    /// Mermaid blocks, in document order.
    pub(crate) fn mermaid_blocks(&self) -> impl Iterator<Item = &CodeBlock> {
        self.code_blocks.iter().filter(|c| c.lang == "mermaid")
    }

    /// Number of mermaid blocks starting inside `range`.
    pub(crate) fn mermaid_in(&self, range: &Range<usize>) -> usize {
        let from = self
            .code_blocks
            .partition_point(|c| c.range.start < range.start);
        let to = self
            .code_blocks
            .partition_point(|c| c.range.start < range.end);
        self.code_blocks
            .get(from..to.max(from))
            .unwrap_or_default()
            .iter()
            .filter(|c| c.lang == "mermaid")
            .count()
    }
}

/// For each heading, the start of the next heading whose level satisfies `stops(next, this)`,
/// or `end`. One pass with a stack, so long documents stay linear.
fn next_heading_where(
    headings: &[Heading],
    end: usize,
    stops: impl Fn(u8, u8) -> bool,
) -> Vec<usize> {
    let mut out = vec![end; headings.len()];
    let mut open: Vec<usize> = Vec::new();
    for (i, h) in headings.iter().enumerate() {
        while let Some(&top) = open.last() {
            if stops(h.level, headings[top].level) {
                out[top] = h.range.start;
                open.pop();
            } else {
                break;
            }
        }
        open.push(i);
    }
    out
}

/// True if a fenced block's source ends with a closing fence (an unclosed fence runs to the end
/// of the document).
fn fence_closed(block: &str) -> bool {
    let mut lines = block.lines().filter(|l| !l.trim().is_empty());
    let Some(first) = lines.next() else {
        return true;
    };
    let first = first.trim_start();
    let fence: String = first
        .chars()
        .take_while(|c| *c == '`' || *c == '~')
        .collect();
    if fence.len() < 3 {
        return true; // an indented block has no fence to close
    }
    lines
        .next_back()
        .is_some_and(|l| l.trim().starts_with(fence.as_str()))
}

/// True if markdown text has no content once markup characters are removed.
pub(crate) fn is_blank(text: &str) -> bool {
    !text.chars().any(|c| {
        !c.is_whitespace()
            && !matches!(c, '*' | '_' | '-' | '#' | '>' | '|' | '`' | ':' | '~' | '=')
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headings_blocks_tables_and_items() {
        let src = "# Title\n\nSome text\n\n## 2. Next & Last\n\n```mermaid\nflowchart LR\n  A --> B\n```\n\n| Option | Fit |\n|---|---|\n| A | good |\n| B | poor |\n\n1. one\n   - nested\n2. two\n\n```\n# not a heading\n```\n";
        let doc = Doc::parse(src);
        let titles: Vec<_> = doc
            .headings
            .iter()
            .map(|h| (h.level, h.text.as_str(), h.line))
            .collect();
        assert_eq!(titles, vec![(1, "Title", 1), (2, "2. Next & Last", 5)]);
        assert_eq!(doc.code_blocks.len(), 2);
        assert_eq!(doc.code_blocks[0].lang, "mermaid");
        assert_eq!(doc.code_blocks[0].content, "flowchart LR\n  A --> B\n");
        assert_eq!(doc.code_blocks[0].line, 7);
        assert!(doc.code_blocks[0].closed);
        assert_eq!(doc.tables.len(), 1);
        assert_eq!(doc.tables[0].header, vec!["Option", "Fit"]);
        assert_eq!(
            doc.tables[0].rows,
            vec![vec!["A", "good"], vec!["B", "poor"]]
        );
        let items: Vec<_> = doc
            .list_items
            .iter()
            .map(|i| (i.depth, i.ordered))
            .collect();
        assert_eq!(items, vec![(1, true), (2, false), (1, true)]);
        assert_eq!(doc.heading_end(0), src.len());
        assert_eq!(doc.heading_end(1), src.len());
    }

    #[test]
    fn heading_ends_by_rank() {
        let src = "# A\n## B\n### C\n## D\n# E\n";
        let doc = Doc::parse(src);
        let start = |i: usize| doc.headings[i].range.start;
        assert_eq!(doc.heading_end(0), start(4));
        assert_eq!(doc.heading_end(1), start(3));
        assert_eq!(doc.heading_end(2), start(3));
        assert_eq!(doc.heading_end(3), start(4));
        assert_eq!(doc.heading_end(4), src.len());
        assert_eq!(doc.higher_heading_start(1), start(4));
        assert_eq!(doc.higher_heading_start(2), start(3));
        assert_eq!(doc.higher_heading_start(0), src.len());
        assert_eq!(doc.heading_end(99), src.len());
        assert!(!doc.in_code(0));
    }

    #[test]
    fn unclosed_fence_is_detected() {
        let doc = Doc::parse("text\n\n```mermaid\nflowchart LR\n  A --> B\n");
        assert_eq!(doc.code_blocks.len(), 1);
        assert!(!doc.code_blocks[0].closed);
        let doc = Doc::parse("~~~ mermaid\ngraph TD\n~~~\n");
        assert!(doc.code_blocks[0].closed);
        assert_eq!(doc.code_blocks[0].lang, "mermaid");
    }

    #[test]
    fn setext_headings_and_prose_lines() {
        let doc = Doc::parse("Summary\n=======\n\nx\n\n```\ncode\n```\ny\n");
        assert_eq!(doc.headings[0].text, "Summary");
        assert_eq!(doc.headings[0].level, 1);
        let lines: Vec<_> = doc
            .prose_lines(0..doc.src.len())
            .into_iter()
            .map(|l| l.1)
            .collect();
        assert!(lines.contains(&"y"));
        assert!(!lines.contains(&"code"));
    }

    #[test]
    fn blank_means_only_markup() {
        assert!(is_blank("  ** **\n---\n"));
        assert!(!is_blank("** x **"));
    }
}
