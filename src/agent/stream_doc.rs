//! The document a JSON answer is becoming, laid out as it streams.
//!
//! Agents answer structured tasks with one JSON object; in a pane its raw tokens (quotes, braces,
//! escaped newlines) are unreadable. [`StreamDoc`] takes the reply in arbitrary pieces (a token,
//! a byte, the whole text) and turns it into [`Piece`]s a person can read: a heading per
//! top-level section (its title from `sections.yaml`), prose as it arrives, list items, review
//! items with their category, dispositions and verdicts with their decision.
//!
//! The parser is push-based and hand-written: the incremental JSON crates we looked at
//! (`json-event-parser`) hold a string back until its closing quote, and a section of prose is
//! one long string that must appear word by word. It is tolerant: text outside the top-level
//! value (a model's preamble, a code fence) passes through, and a reply that stops being JSON
//! falls back to showing the rest as it is. Splitting the input anywhere gives the same pieces.

use docs::DocKind;
use docs::sections::{Section, sections};
use protocol::Stage;

/// How a piece of text is shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Style {
    Plain,
    /// A field label (`Trade-offs:`).
    Label,
    /// A review item's number, a disposition's item id.
    Id,
    /// A category, decision or verdict status, coloured by its value.
    Badge(Tone),
    /// Secondary text (a review item's section).
    Dim,
}

/// The colour of a badge.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Tone {
    Red,
    Yellow,
    Blue,
    Cyan,
    Green,
    Neutral,
}

impl Tone {
    /// The tone of a category, decision or status value.
    fn of(value: &str) -> Tone {
        match value {
            "critical" | "rejected" | "reopened" => Tone::Red,
            "important" | "deferred" => Tone::Yellow,
            "nice-to-have" => Tone::Blue,
            "question" => Tone::Cyan,
            "accepted" | "closed" => Tone::Green,
            _ => Tone::Neutral,
        }
    }

    /// The ANSI SGR code.
    pub(crate) fn sgr(self) -> &'static str {
        match self {
            Tone::Red => "1;31",
            Tone::Yellow => "1;33",
            Tone::Blue => "1;34",
            Tone::Cyan => "1;36",
            Tone::Green => "1;32",
            Tone::Neutral => "1",
        }
    }
}

/// What the layout asks the display to show.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Piece {
    /// Text to word-wrap in a style (newlines included).
    Text(Style, String),
    /// The next text starts a line of its own.
    Break,
    /// A top-level section starts: `index` of `total` (0 when the schema is unknown).
    Heading {
        title: String,
        index: usize,
        total: usize,
    },
}

/// Keys whose short value is shown as a coloured badge.
const BADGE_KEYS: [&str; 3] = ["category", "decision", "status"];
/// Keys whose short value names an item.
const ID_KEYS: [&str; 2] = ["item_id", "id"];

/// Section titles for the keys of a reply: the task's document first, then every document,
/// then the key itself made readable. Read from `sections.yaml`, so new sections just work.
#[derive(Clone, Debug)]
pub(crate) struct Titles {
    preferred: Vec<&'static [Section]>,
}

impl Titles {
    /// Titles for a task of `stage`.
    pub(crate) fn for_stage(stage: Stage) -> Self {
        let s = sections();
        let kind = DocKind::of_stage(stage);
        let mut preferred: Vec<&'static [Section]> = Vec::new();
        match kind {
            Some(DocKind::Options) => {
                preferred.push(&s.options);
                preferred.push(&s.option_parts);
            }
            Some(DocKind::Proposal) => {
                preferred.push(&s.proposal);
                preferred.push(&s.step_parts);
            }
            Some(k) => preferred.push(s.of(k)),
            None => {}
        }
        for list in [
            &s.proposal,
            &s.step_parts,
            &s.options,
            &s.option_parts,
            &s.design_doc,
            &s.implementation_plan,
            &s.prd,
        ] {
            preferred.push(list);
        }
        Titles { preferred }
    }

    pub(crate) fn title(&self, key: &str) -> String {
        self.preferred
            .iter()
            .flat_map(|l| l.iter())
            .find(|s| s.key == key)
            .map(|s| s.title.clone())
            .unwrap_or_else(|| humanize(key))
    }
}

/// `new_items` -> `New items`.
fn humanize(key: &str) -> String {
    let words = key.replace(['_', '-'], " ");
    let mut c = words.trim().chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// An open container.
#[derive(Debug)]
enum Frame {
    Object {
        /// The key whose value is being read (set when the key ends, cleared at `,`).
        key: Option<String>,
        /// True until the first field is shown (an array item's first line).
        first: bool,
    },
    Array {
        /// Elements seen so far.
        count: usize,
        /// The key that holds the array (item numbering for `items`, `new_items`).
        key: Option<String>,
    },
}

/// Where the lexer is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lex {
    /// Outside the top-level value: text passes through.
    Outside,
    /// Between tokens inside a value.
    Between,
    /// In a string; `key` when it is an object key.
    Str { key: bool },
    /// After a backslash in a string.
    Escape { key: bool },
    /// In `\uXXXX`: digits read so far and their value.
    Unicode { key: bool, digits: u8, value: u32 },
    /// In a number or `true`/`false`/`null`.
    Scalar,
    /// The reply stopped being JSON: the rest passes through as it is.
    Raw,
}

/// How the string being read is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StrMode {
    /// Streamed as prose.
    Stream,
    /// Held until it ends (a key, a badge, an id, a review item's section).
    Hold,
}

/// The incremental parser and layout of one reply.
#[derive(Debug)]
pub(crate) struct StreamDoc {
    titles: Titles,
    /// Top-level sections in the schema (0: unknown).
    total: usize,
    /// Top-level sections seen.
    index: usize,
    /// Sections seen before the current reply (a task answered in parts).
    base: usize,
    lex: Lex,
    stack: Vec<Frame>,
    /// Object-key position: the next string is a key.
    expect_key: bool,
    mode: StrMode,
    held: String,
    /// A high surrogate waiting for its low half.
    surrogate: Option<u32>,
    scalar: String,
    /// Outside the value, in a code fence's line.
    fence: bool,
    out: Vec<Piece>,
}

impl StreamDoc {
    /// `total`: the number of top-level sections the schema has (0 if unknown).
    pub(crate) fn new(titles: Titles, total: usize) -> Self {
        StreamDoc {
            titles,
            total,
            index: 0,
            base: 0,
            lex: Lex::Outside,
            stack: Vec::new(),
            expect_key: false,
            mode: StrMode::Stream,
            held: String::new(),
            surrogate: None,
            scalar: String::new(),
            fence: false,
            out: Vec::new(),
        }
    }

    /// Starts the whole answer again (it is shown again from its start).
    pub(crate) fn reset(&mut self) {
        *self = StreamDoc::new(self.titles.clone(), self.total);
    }

    /// The current reply is void (a retry): starts it again, its sections counted again.
    pub(crate) fn restart(&mut self) {
        let base = self.base;
        self.reset();
        self.base = base;
        self.index = base;
    }

    /// A new reply follows (the next part of a task answered in parts, the answer after a tool
    /// call): the parser starts again, the sections go on counting.
    pub(crate) fn next_reply(&mut self) {
        let index = self.index;
        self.reset();
        self.base = index;
        self.index = index;
    }

    /// Feeds the next piece of the reply; returns what to show.
    pub(crate) fn push(&mut self, text: &str) -> Vec<Piece> {
        for c in text.chars() {
            self.char(c);
        }
        self.take()
    }

    fn take(&mut self) -> Vec<Piece> {
        // Merge consecutive text of one style: fewer escape codes, same output.
        let mut merged: Vec<Piece> = Vec::new();
        for p in std::mem::take(&mut self.out) {
            match (merged.last_mut(), p) {
                (Some(Piece::Text(s1, t1)), Piece::Text(s2, t2)) if *s1 == s2 => t1.push_str(&t2),
                (_, p) => merged.push(p),
            }
        }
        merged
    }

    fn text(&mut self, style: Style, s: impl Into<String>) {
        self.out.push(Piece::Text(style, s.into()));
    }

    fn char(&mut self, c: char) {
        match self.lex {
            Lex::Raw => self.text(Style::Plain, c),
            Lex::Outside => match c {
                '{' | '[' => {
                    self.fence = false;
                    self.lex = Lex::Between;
                    self.open(c);
                }
                // A code fence around the JSON (```json) is noise: its line is dropped.
                '`' => self.fence = true,
                '\n' if self.fence => self.fence = false,
                _ if self.fence => {}
                c => self.text(Style::Plain, c),
            },
            Lex::Str { key } => match c {
                '"' => self.end_string(key),
                '\\' => self.lex = Lex::Escape { key },
                c => self.string_char(c),
            },
            Lex::Escape { key } => {
                self.lex = Lex::Str { key };
                let decoded = match c {
                    'n' => '\n',
                    't' => '\t',
                    'r' => return,
                    'b' | 'f' => return,
                    'u' => {
                        self.lex = Lex::Unicode {
                            key,
                            digits: 0,
                            value: 0,
                        };
                        return;
                    }
                    other => other,
                };
                self.string_char(decoded);
            }
            Lex::Unicode { key, digits, value } => {
                let Some(d) = c.to_digit(16) else {
                    self.lex = Lex::Str { key };
                    self.string_char(c);
                    return;
                };
                let value = value * 16 + d;
                if digits < 3 {
                    self.lex = Lex::Unicode {
                        key,
                        digits: digits + 1,
                        value,
                    };
                    return;
                }
                self.lex = Lex::Str { key };
                let decoded = match (self.surrogate.take(), value) {
                    (_, 0xD800..=0xDBFF) => {
                        self.surrogate = Some(value);
                        return;
                    }
                    (Some(high), 0xDC00..=0xDFFF) => {
                        char::from_u32(0x10000 + ((high - 0xD800) << 10) + (value - 0xDC00))
                    }
                    (_, v) => char::from_u32(v),
                };
                self.string_char(decoded.unwrap_or('\u{FFFD}'));
            }
            Lex::Scalar => {
                if c.is_ascii_alphanumeric() || matches!(c, '.' | '+' | '-') {
                    self.scalar.push(c);
                } else {
                    let s = std::mem::take(&mut self.scalar);
                    self.lex = Lex::Between;
                    self.value_scalar(&s);
                    self.char(c);
                }
            }
            Lex::Between => match c {
                c if c.is_whitespace() => {}
                '{' | '[' => self.open(c),
                '}' | ']' => self.close(),
                ':' => self.expect_key = false,
                ',' => self.comma(),
                '"' => {
                    let key =
                        self.expect_key && matches!(self.stack.last(), Some(Frame::Object { .. }));
                    self.start_string(key);
                }
                c if c.is_ascii_alphanumeric() || c == '-' => {
                    self.lex = Lex::Scalar;
                    self.scalar.push(c);
                }
                c => {
                    // Not JSON any more: show the rest as it is.
                    self.lex = Lex::Raw;
                    self.out.push(Piece::Break);
                    self.text(Style::Plain, c);
                }
            },
        }
    }

    /// The key of the value about to be read, and the depth of its object (1: top level).
    fn current_key(&self) -> Option<(&str, usize)> {
        match self.stack.last() {
            Some(Frame::Object { key: Some(k), .. }) => Some((k.as_str(), self.stack.len())),
            _ => None,
        }
    }

    /// True when the value about to be read is an element of an array.
    fn in_array(&self) -> bool {
        matches!(self.stack.last(), Some(Frame::Array { .. }))
    }

    /// A value starts inside an array: a new list item.
    fn element_start(&mut self, is_object: bool) {
        let Some(Frame::Array { count, key }) = self.stack.last_mut() else {
            return;
        };
        *count += 1;
        let n = *count;
        let numbered = matches!(
            key.as_deref(),
            Some("items" | "new_items" | "options" | "steps")
        );
        self.out.push(Piece::Break);
        match (is_object, numbered) {
            (true, true) => self.text(Style::Id, format!("#{n}")),
            (true, false) => self.text(Style::Plain, "•"),
            (false, _) => self.text(Style::Plain, "• "),
        }
    }

    fn open(&mut self, c: char) {
        if self.in_array() {
            self.element_start(c == '{');
        } else if let Some((key, depth)) = self.current_key()
            && depth > 1
        {
            let label = self.titles.title(key);
            self.out.push(Piece::Break);
            self.text(Style::Label, format!("{label}:"));
        }
        let key = self.current_key().map(|(k, _)| k.to_string());
        if c == '{' {
            self.stack.push(Frame::Object {
                key: None,
                first: true,
            });
            self.expect_key = true;
        } else {
            self.stack.push(Frame::Array { count: 0, key });
            self.expect_key = false;
        }
    }

    fn close(&mut self) {
        self.stack.pop();
        self.expect_key = false;
        if self.stack.is_empty() {
            self.lex = Lex::Outside;
            self.out.push(Piece::Break);
        }
    }

    fn comma(&mut self) {
        if let Some(Frame::Object { key, .. }) = self.stack.last_mut() {
            *key = None;
            self.expect_key = true;
        }
    }

    fn start_string(&mut self, key: bool) {
        self.lex = Lex::Str { key };
        self.held.clear();
        if key {
            self.mode = StrMode::Hold;
            return;
        }
        if self.in_array() {
            self.element_start(false);
            self.mode = StrMode::Stream;
            return;
        }
        let current = self.current_key().map(|(k, d)| (k.to_string(), d));
        match current {
            Some((k, depth)) if depth > 1 && held_key(&k) => self.mode = StrMode::Hold,
            Some((k, depth)) => {
                self.mode = StrMode::Stream;
                if depth > 1 {
                    let label = self.titles.title(&k);
                    self.field_start();
                    self.text(Style::Label, format!("{label}:"));
                    self.text(Style::Plain, " ");
                } else {
                    self.out.push(Piece::Break);
                }
            }
            None => self.mode = StrMode::Stream,
        }
    }

    /// A field of an object starts on a line of its own, except the first field of a list item
    /// (it follows the item's marker).
    fn field_start(&mut self) {
        let in_item = self.stack.len() >= 2
            && matches!(
                self.stack.get(self.stack.len() - 2),
                Some(Frame::Array { .. })
            );
        if let Some(Frame::Object { first, .. }) = self.stack.last_mut() {
            if *first && in_item {
                *first = false;
                self.text(Style::Plain, " ");
                return;
            }
            *first = false;
        }
        self.out.push(Piece::Break);
    }

    fn string_char(&mut self, c: char) {
        match self.mode {
            StrMode::Hold => self.held.push(c),
            StrMode::Stream => self.text(Style::Plain, c),
        }
    }

    fn end_string(&mut self, key: bool) {
        self.lex = Lex::Between;
        let s = std::mem::take(&mut self.held);
        if key {
            self.key(s);
            return;
        }
        if self.mode == StrMode::Hold {
            let k = self
                .current_key()
                .map(|(k, _)| k.to_string())
                .unwrap_or_default();
            self.held_value(&k, &s);
        }
        self.mode = StrMode::Stream;
    }

    fn key(&mut self, k: String) {
        let top = self.stack.len() == 1;
        if top {
            self.index += 1;
            let title = self.titles.title(&k);
            self.out.push(Piece::Heading {
                title,
                index: self.index,
                total: self.total,
            });
        }
        if let Some(Frame::Object { key, .. }) = self.stack.last_mut() {
            *key = Some(k);
        }
    }

    /// A held string value ends: a badge, an id, or a review item's section.
    fn held_value(&mut self, key: &str, value: &str) {
        if let Some(Frame::Object { first, .. }) = self.stack.last_mut() {
            *first = false;
        }
        if value.is_empty() {
            return;
        }
        self.text(Style::Plain, " ");
        if BADGE_KEYS.contains(&key) {
            self.text(Style::Badge(Tone::of(value)), format!("[{value}]"));
        } else if ID_KEYS.contains(&key) {
            self.text(Style::Id, value.to_string());
        } else {
            self.text(Style::Dim, format!("§ {value}"));
        }
    }

    fn value_scalar(&mut self, s: &str) {
        if self.in_array() {
            self.element_start(false);
            self.text(Style::Plain, s.to_string());
            return;
        }
        if let Some((k, depth)) = self.current_key() {
            if depth > 1 {
                let label = self.titles.title(k);
                self.field_start();
                self.text(Style::Label, format!("{label}:"));
                self.text(Style::Plain, format!(" {s}"));
            } else {
                self.out.push(Piece::Break);
                self.text(Style::Plain, s.to_string());
            }
        }
    }
}

/// Keys whose string value is short and shown as a whole, not streamed.
fn held_key(k: &str) -> bool {
    BADGE_KEYS.contains(&k) || ID_KEYS.contains(&k) || k == "section"
}

/// The number of top-level properties of a JSON schema (0 when it has none).
pub(crate) fn section_count(schema: &serde_json::Value) -> usize {
    schema
        .get("properties")
        .and_then(|p| p.as_object())
        .map_or(0, |p| p.len())
}

/// The pieces as plain text, for tests and for a text-only rendering.
#[cfg(test)]
pub(crate) fn plain(pieces: &[Piece]) -> String {
    let mut s = String::new();
    for p in pieces {
        match p {
            Piece::Text(_, t) => s.push_str(t),
            Piece::Break => {
                if !s.is_empty() && !s.ends_with('\n') {
                    s.push('\n');
                }
            }
            Piece::Heading {
                title,
                index,
                total,
            } => {
                if !s.is_empty() && !s.ends_with('\n') {
                    s.push('\n');
                }
                s.push_str(&format!("## {title} ({index}/{total})\n"));
            }
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(stage: &str) -> StreamDoc {
        StreamDoc::new(Titles::for_stage(Stage::parse(stage).unwrap()), 3)
    }

    fn whole(stage: &str, text: &str) -> (Vec<Piece>, String) {
        let mut d = doc(stage);
        let mut pieces = d.push(text);
        pieces.extend(d.take());
        let s = plain(&pieces);
        (pieces, s)
    }

    const OPTIONS: &str = r#"{"summary": "A link \"shortener\".\nWith stats \u00e9\ud83d\ude00.", "options": [{"title": "Monolith", "effort": "S", "rating": 3, "tradeoffs": ["simple", "one deploy"]}], "comparison": {"recommended": "A", "spike": false}}"#;

    #[test]
    fn an_options_reply_reads_as_a_document() {
        let (_, s) = whole("options", OPTIONS);
        assert!(
            s.contains("## Title and Summary (1/3)\nA link \"shortener\".\nWith stats é😀."),
            "{s}"
        );
        assert!(
            s.contains("## Architecture Options (2/3)\n#1 Title: Monolith\nEffort: S\nRating: 3"),
            "{s}"
        );
        assert!(s.contains("Trade-offs:\n• simple\n• one deploy"), "{s}");
        assert!(s.contains("## Option Comparison and Decision (3/3)"), "{s}");
        assert!(s.contains("Spike: false"), "{s}");
        for bad in ["{", "}", "\":", "\\n", "[\""] {
            assert!(!s.contains(bad), "{bad:?} in {s}");
        }
    }

    #[test]
    fn splitting_at_every_byte_boundary_gives_the_same_output() {
        let review = r#"{"items": [{"category": "critical", "section": "Risks", "comment": "No rate limit.", "suggestion": "Add one."}, {"category": "question", "section": "General", "comment": "Why \\ here?", "suggestion": ""}]}"#;
        for text in [
            OPTIONS,
            review,
            "preamble ```json\n{\"a\": [1, 2.5e3, null]}``` after",
            "{\"a\": \"x\" oops }",
        ] {
            let (expected, _) = whole("options", text);
            let expected = plain(&expected);
            // Every split into two, at char boundaries (a token never splits a char).
            for at in (0..=text.len()).filter(|i| text.is_char_boundary(*i)) {
                let mut d = doc("options");
                let mut pieces = d.push(&text[..at]);
                pieces.extend(d.push(&text[at..]));
                assert_eq!(plain(&pieces), expected, "split at {at} of {text}");
            }
            // One char at a time.
            let mut d = doc("options");
            let mut pieces = Vec::new();
            for c in text.chars() {
                pieces.extend(d.push(&c.to_string()));
            }
            assert_eq!(plain(&pieces), expected, "char by char: {text}");
        }
    }

    #[test]
    fn review_items_show_number_category_and_section() {
        let r = r#"{"items": [{"category": "critical", "section": "Risks", "comment": "No rate limit.", "suggestion": "Add one."}]}"#;
        let (pieces, s) = whole("options", r);
        assert!(
            s.contains("#1 [critical] § Risks\nComment: No rate limit.\nSuggestion: Add one."),
            "{s}"
        );
        assert!(
            pieces.contains(&Piece::Text(Style::Badge(Tone::Red), "[critical]".into())),
            "{pieces:?}"
        );
    }

    #[test]
    fn dispositions_show_the_item_decision_and_reason() {
        let r = r#"{"dispositions": [{"item_id": "PE-2", "decision": "rejected", "rationale": "Out of scope.", "change": ""}], "document": {"risks": "New risk."}}"#;
        let (_, s) = whole("proposal", r);
        assert!(
            s.contains("• PE-2 [rejected]\nRationale: Out of scope.\nChange: "),
            "{s}"
        );
        assert!(
            s.contains("## Document (2/3)\nRisks and Mitigations: New risk."),
            "{s}"
        );
    }

    #[test]
    fn text_that_is_not_json_passes_through() {
        let (_, s) = whole("options", "Let me look first.");
        assert_eq!(s, "Let me look first.");
        let (_, s) = whole("options", "{\"summary\": \"ok\" ???");
        assert!(s.ends_with("ok\n???"), "{s}");
    }

    #[test]
    fn parts_count_on_and_a_retry_counts_its_part_again() {
        let mut d = doc("options");
        let p1 = plain(&d.push(r#"{"summary": "a"}"#));
        assert!(p1.contains("(1/3)"), "{p1}");
        d.next_reply();
        let lost = plain(&d.push(r#"{"options": ["#));
        assert!(lost.contains("(2/3)"), "{lost}");
        d.restart();
        let p2 = plain(&d.push(r#"{"options": [], "comparison": "c"}"#));
        assert!(p2.contains("Architecture Options (2/3)"), "{p2}");
        assert!(p2.contains("Option Comparison and Decision (3/3)"), "{p2}");
        d.reset();
        assert!(plain(&d.push(r#"{"summary": "a"}"#)).contains("(1/3)"));
    }

    #[test]
    fn a_code_fence_around_the_json_is_dropped() {
        let (_, s) = whole(
            "options",
            "Here it is:\n```json\n{\"summary\": \"ok\"}\n```\nDone.",
        );
        assert_eq!(s, "Here it is:\n## Title and Summary (1/3)\nok\n\nDone.");
    }

    #[test]
    fn unknown_keys_are_made_readable() {
        assert_eq!(
            Titles::for_stage(Stage::Helpers).title("new_items"),
            "New items"
        );
        assert_eq!(
            Titles::for_stage(Stage::DesignDocs).title("risks"),
            "Risks, Trade-offs & Decisions"
        );
        assert_eq!(
            Titles::for_stage(Stage::Proposal).title("risks"),
            "Risks and Mitigations"
        );
    }
}
