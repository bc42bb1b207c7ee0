//! What an agent pane shows, the same text without colour for `transcript.log`, and the raw
//! reply for `raw.log`.
//!
//! A task appears as a header (role, stage, round, attempt, title), the model's answer as it
//! streams, word-wrapped to the pane's width, and a footer (tokens, seconds, tokens/s). A JSON
//! answer is shown as the document it is becoming ([`super::stream_doc`]: section headings with
//! progress, prose, list and review items), not as its tokens; `raw.log` keeps the tokens. When several
//! tasks run at once only one streams (the focus); the others get a progress line now and then
//! and are shown in full, one after another, when the focus is done. Model output is untrusted:
//! control characters (escape sequences that could repaint the pane) are dropped.

use std::collections::BTreeMap;
use std::io::Write;
use std::time::{Duration, Instant};

use protocol::{OutputSpec, Task, TaskOutcome};

use super::stream_doc::{Piece, StreamDoc, Style, Titles, section_count};

/// How often a task that is not streaming gets a progress line.
const PROGRESS_EVERY: Duration = Duration::from_secs(10);

/// Narrowest width we wrap to.
const MIN_WIDTH: usize = 20;

/// Streaming word wrap: text arrives in arbitrary pieces; words move to the next line whole
/// unless longer than a line; spaces at a wrap are dropped. At most one blank line in a row is
/// kept.
#[derive(Debug, Default)]
pub(crate) struct Wrapper {
    col: usize,
    word: Vec<char>,
    spaces: usize,
    newlines: usize,
}

impl Wrapper {
    /// Appends the display form of `text` to `out`.
    pub(crate) fn push(&mut self, text: &str, width: usize, out: &mut String) {
        let width = width.max(MIN_WIDTH);
        for c in text.chars() {
            match c {
                '\n' => {
                    self.place_word(width, out);
                    self.spaces = 0;
                    if self.newlines < 2 {
                        out.push('\n');
                        self.newlines += 1;
                    }
                    self.col = 0;
                }
                ' ' | '\t' => {
                    self.place_word(width, out);
                    let n = if c == '\t' { 4 } else { 1 };
                    // Indentation deeper than half a line is not worth keeping.
                    self.spaces = (self.spaces + n).min(width / 2);
                }
                c if c.is_control() => {}
                c => {
                    self.word.push(c);
                    self.newlines = 0;
                    if self.col > 0 && self.col + self.spaces + self.word.len() > width {
                        out.push('\n');
                        self.col = 0;
                        self.spaces = 0;
                    }
                    if self.col == 0 && self.spaces + self.word.len() > width {
                        // A word longer than a line: a full line now, the rest stays.
                        let keep = self.word.split_off(width.saturating_sub(self.spaces));
                        self.place_word(width, out);
                        out.push('\n');
                        self.col = 0;
                        self.word = keep;
                    }
                }
            }
        }
    }

    /// Writes the word held back, keeping the spaces before the next one (a change of style).
    pub(crate) fn settle(&mut self, width: usize, out: &mut String) {
        self.place_word(width.max(MIN_WIDTH), out);
    }

    /// Writes the word held back (end of a stream).
    pub(crate) fn flush(&mut self, width: usize, out: &mut String) {
        self.place_word(width.max(MIN_WIDTH), out);
        self.spaces = 0;
    }

    /// True when the next character starts a line.
    pub(crate) fn at_line_start(&self) -> bool {
        self.col == 0 && self.word.is_empty()
    }

    /// Forgets the current line (after the caller printed a newline itself).
    pub(crate) fn reset(&mut self) {
        self.col = 0;
        self.word.clear();
        self.spaces = 0;
        self.newlines = 1;
    }

    fn place_word(&mut self, width: usize, out: &mut String) {
        if self.word.is_empty() {
            return;
        }
        if self.col > 0 && self.col + self.spaces + self.word.len() > width {
            out.push('\n');
            self.col = 0;
            self.spaces = 0;
        }
        for _ in 0..self.spaces {
            out.push(' ');
        }
        out.extend(self.word.iter());
        self.col += self.spaces + self.word.len();
        self.spaces = 0;
        self.word.clear();
        self.newlines = 0;
    }
}

/// Word-wraps a whole text to `width` (no trailing newline).
pub(crate) fn wrap_text(text: &str, width: usize) -> String {
    let mut w = Wrapper::default();
    let mut out = String::new();
    w.push(text, width, &mut out);
    w.flush(width, &mut out);
    out
}

/// Removes control characters except newlines and tabs.
pub(crate) fn sanitize(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_control() || matches!(c, '\n' | '\t'))
        .collect()
}

/// The ANSI colour of a role's headers.
pub(crate) fn role_colour(role: &str) -> &'static str {
    match role {
        "architect" => "34",
        "principal-engineer" => "35",
        "code-reviewer" => "33",
        other => {
            const PALETTE: [&str; 5] = ["32", "36", "94", "95", "96"];
            let h = other
                .bytes()
                .fold(0usize, |h, b| h.wrapping_mul(31).wrapping_add(b as usize));
            PALETTE[h % PALETTE.len()]
        }
    }
}

/// A task as shown.
#[derive(Debug)]
struct Slot {
    task_id: String,
    title: String,
    stage: String,
    round: u32,
    attempt: u32,
    /// Model text of the current attempt (a retry starts it again), after the parts done.
    text: String,
    /// Where the current part's text starts in `text` (0 for a task of one part): a retry voids
    /// only the current part.
    part_start: usize,
    chunks: u64,
    started: Instant,
    last_progress: Instant,
    /// Set when finished while another task had the focus: shown in full later.
    finished: Option<String>,
    /// The layout of a JSON answer (None: free text, shown as it is).
    doc: Option<StreamDoc>,
}

/// The pane and the transcript of one agent.
pub(crate) struct Display {
    role: String,
    colour: bool,
    out: Box<dyn Write + Send>,
    transcript: Option<Box<dyn Write + Send>>,
    /// The model's replies as they came (headers and footers as in the transcript).
    raw: Option<Box<dyn Write + Send>>,
    width: Box<dyn Fn() -> usize + Send>,
    wrap: Wrapper,
    slots: BTreeMap<u64, Slot>,
    focus: Option<u64>,
    next: u64,
    /// Notes waiting for the streaming text to reach the end of a line.
    queued: Vec<String>,
}

/// A handle for one task shown by a [`Display`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct SlotId(u64);

impl Display {
    /// `out`: the pane (coloured when `colour`); `transcript`: plain text; `width`: the pane width
    /// now (asked again as the pane is resized).
    pub(crate) fn new(
        role: &str,
        colour: bool,
        out: Box<dyn Write + Send>,
        transcript: Option<Box<dyn Write + Send>>,
        width: Box<dyn Fn() -> usize + Send>,
    ) -> Self {
        Self {
            role: role.to_string(),
            colour,
            out,
            transcript,
            raw: None,
            width,
            wrap: Wrapper::default(),
            slots: BTreeMap::new(),
            focus: None,
            next: 0,
            queued: Vec::new(),
        }
    }

    /// Also writes the raw replies to `raw` (`agentmux logs ROLE --raw`).
    pub(crate) fn with_raw(mut self, raw: Box<dyn Write + Send>) -> Self {
        self.raw = Some(raw);
        self
    }

    /// A line of its own (status, waiting, errors), bold when `strong`, else dim. While a task
    /// streams mid-line the note waits for the end of the line.
    pub(crate) fn note(&mut self, text: &str, strong: bool) {
        let text = &wrap_text(text, (self.width)());
        let styled = if strong {
            self.style("1", text)
        } else {
            self.style("2", text)
        };
        if self.focus.is_some() && !self.wrap.at_line_start() {
            self.queued.push(format!("{styled}\n\u{0}{text}\n"));
            return;
        }
        self.break_line();
        self.emit(&format!("{styled}\n"), &format!("{text}\n"));
    }

    fn flush_notes(&mut self) {
        for q in std::mem::take(&mut self.queued) {
            let (styled, plain) = q.split_once('\u{0}').unwrap_or((q.as_str(), q.as_str()));
            self.emit(styled, plain);
        }
    }

    /// True when no task is shown or waiting to be shown.
    pub(crate) fn idle(&self) -> bool {
        self.slots.is_empty()
    }

    /// A task starts: its header now when nothing streams, else a line saying it runs.
    pub(crate) fn begin(&mut self, task: &Task) -> SlotId {
        let id = self.next;
        self.next += 1;
        let now = Instant::now();
        self.slots.insert(
            id,
            Slot {
                task_id: task.id.clone(),
                title: task.title.clone(),
                stage: task.stage.as_str().to_string(),
                round: task.round,
                attempt: task.attempt,
                text: String::new(),
                part_start: 0,
                chunks: 0,
                started: now,
                last_progress: now,
                finished: None,
                doc: match &task.output {
                    OutputSpec::Json { schema, .. } => Some(StreamDoc::new(
                        Titles::for_stage(task.stage),
                        section_count(schema),
                    )),
                    OutputSpec::Text => None,
                },
            },
        );
        if self.focus.is_none() {
            self.focus = Some(id);
            self.header(id, false);
        } else {
            self.note(
                &format!(
                    "+ {} ({}) started; shown when the current task ends",
                    task.title, task.id
                ),
                false,
            );
        }
        SlotId(id)
    }

    /// Text streamed for a task. `retry`: the attempt failed and starts again.
    pub(crate) fn token(&mut self, slot: SlotId, text: &str, retry: bool) {
        let Some(s) = self.slots.get_mut(&slot.0) else {
            return;
        };
        if retry {
            s.text.truncate(s.part_start);
            if let Some(d) = &mut s.doc {
                d.restart();
            }
            if self.focus == Some(slot.0) {
                self.break_line();
                let text = "↻ the attempt failed; retrying (the text above is void)";
                let styled = self.style("2", text);
                self.emit(&format!("{styled}\n"), &format!("{text}\n"));
            }
            return;
        }
        let clean = sanitize(text);
        s.text.push_str(&clean);
        s.chunks += 1;
        if self.focus == Some(slot.0) {
            self.stream(slot.0, &clean);
        } else if s.last_progress.elapsed() >= PROGRESS_EVERY {
            s.last_progress = Instant::now();
            let line = format!(
                "· {} ({}): {} chunks, {} s",
                s.title,
                s.task_id,
                s.chunks,
                s.started.elapsed().as_secs()
            );
            self.note(&line, false);
        }
    }

    /// A task answered in parts starts its next part: `line` (e.g. `part 2/3: risks, open_questions`)
    /// on a line of its own, in the pane when the task streams, and in its text when it is shown
    /// later.
    pub(crate) fn part(&mut self, slot: SlotId, line: &str) {
        self.own_line(slot, &format!("── {} ──", sanitize(line)));
    }

    /// A tool call of the task's model (`→ read a.py:1-80`), on a line of its own like a part's;
    /// a retry after it voids only the text streamed since.
    pub(crate) fn tool_call(&mut self, slot: SlotId, line: &str) {
        self.step(slot, line);
    }

    /// One line for one step of the task (a tool call, a coding-agent CLI's step), dim, on a
    /// line of its own in the pane, the transcript and the raw log; the answer's layout starts
    /// again after it.
    pub(crate) fn step(&mut self, slot: SlotId, line: &str) {
        self.own_line(slot, &sanitize(line));
    }

    /// `line` (sanitised) on a line of its own in the task's text, and in the pane when the task
    /// streams; the current part's text starts after it.
    fn own_line(&mut self, slot: SlotId, line: &str) {
        let Some(s) = self.slots.get_mut(&slot.0) else {
            return;
        };
        if !s.text.is_empty() && !s.text.ends_with('\n') {
            s.text.push('\n');
        }
        s.text.push_str(&format!("{line}\n"));
        s.part_start = s.text.len();
        if let Some(d) = &mut s.doc {
            d.next_reply();
        }
        if self.focus == Some(slot.0) {
            self.break_line();
            let text = wrap_text(line, (self.width)());
            let styled = self.style("2", &text);
            self.emit(&format!("{styled}\n"), &format!("{text}\n"));
        }
    }

    /// A task ended with `outcome` (None: cancelled). The footer now when it had the focus
    /// (then the next task takes the focus); otherwise it is shown in full when its turn comes.
    pub(crate) fn finish(&mut self, slot: SlotId, outcome: Option<&TaskOutcome>) {
        let Some(s) = self.slots.get_mut(&slot.0) else {
            return;
        };
        let footer = footer(s, outcome);
        if self.focus != Some(slot.0) {
            s.finished = Some(footer);
            let title = s.title.clone();
            self.note(
                &format!("✓ {title} finished; shown when the current task ends"),
                false,
            );
            return;
        }
        self.close_focus(slot.0, &footer);
        // Tasks that finished meanwhile, in start order, then the next running one streams.
        loop {
            let done = self
                .slots
                .iter()
                .find(|(_, s)| s.finished.is_some())
                .map(|(id, _)| *id);
            let Some(id) = done else { break };
            self.header(id, false);
            let (text, footer) = match self.slots.get_mut(&id) {
                Some(s) => (s.text.clone(), s.finished.take().unwrap_or_default()),
                None => break,
            };
            self.replay(id, &text);
            self.close_focus(id, &footer);
        }
        if let Some(&id) = self.slots.keys().next() {
            self.focus = Some(id);
            self.header(id, true);
            let text = self
                .slots
                .get(&id)
                .map(|s| s.text.clone())
                .unwrap_or_default();
            self.replay(id, &text);
        }
    }

    fn close_focus(&mut self, id: u64, footer: &str) {
        let width = (self.width)();
        let mut out = String::new();
        self.wrap.flush(width, &mut out);
        self.emit(&out, &out);
        self.break_line();
        let footer = &wrap_text(footer, width);
        let styled = self.style("2", footer);
        self.emit(&format!("{styled}\n\n"), &format!("{footer}\n\n"));
        self.wrap.reset();
        self.flush_notes();
        self.slots.remove(&id);
        self.focus = None;
    }

    fn header(&mut self, id: u64, continuing: bool) {
        let Some(s) = self.slots.get(&id) else {
            return;
        };
        let width = (self.width)().max(MIN_WIDTH);
        // The longest label that fits: full words, then short forms, then cut.
        let labels = [
            format!(
                "━━ {} · {} · round {} · attempt {} ",
                self.role, s.stage, s.round, s.attempt
            ),
            format!(
                "━━ {} · {} · r{} a{} ",
                self.role, s.stage, s.round, s.attempt
            ),
        ];
        let label = labels
            .iter()
            .find(|l| l.chars().count() + 2 <= width)
            .cloned()
            .unwrap_or_else(|| labels[1].chars().take(width).collect());
        let fill = width.saturating_sub(label.chars().count());
        let rule = format!("{label}{}", "━".repeat(fill));
        let title = wrap_text(
            &format!(
                "{}{} [{}]",
                s.title,
                if continuing { " (continued)" } else { "" },
                s.task_id
            ),
            width,
        );
        self.break_line();
        let colour = role_colour(&self.role);
        let styled = format!(
            "{}\n{}\n",
            self.style(&format!("1;{colour}"), &rule),
            self.style("1", &title)
        );
        self.emit(&styled, &format!("{rule}\n{title}\n"));
        self.wrap.reset();
    }

    /// Shows a task's text again from its start (the layout starts over).
    fn replay(&mut self, id: u64, text: &str) {
        if let Some(d) = self.slots.get_mut(&id).and_then(|s| s.doc.as_mut()) {
            d.reset();
        }
        self.stream(id, text);
    }

    /// Shows the next piece of a task's answer: laid out when it is JSON, else as it is.
    fn stream(&mut self, id: u64, text: &str) {
        let width = (self.width)();
        let Some(s) = self.slots.get_mut(&id) else {
            return;
        };
        let pieces = s.doc.as_mut().map(|d| d.push(text));
        let (styled, plain) = match pieces {
            None => {
                let mut out = String::new();
                self.wrap.push(text, width, &mut out);
                (out.clone(), out)
            }
            Some(pieces) => {
                let progress = (s.chunks, s.started.elapsed().as_secs_f64());
                self.lay_out(pieces, progress, width)
            }
        };
        self.emit_to(&styled, &plain, Some(text));
        if self.wrap.at_line_start() {
            self.flush_notes();
        }
    }

    /// Word-wraps laid-out pieces: (pane text with colour, plain text).
    fn lay_out(
        &mut self,
        pieces: Vec<Piece>,
        (chunks, secs): (u64, f64),
        width: usize,
    ) -> (String, String) {
        let mut styled = String::new();
        let mut plain = String::new();
        for p in pieces {
            match p {
                Piece::Text(Style::Plain, t) => {
                    let mut o = String::new();
                    self.wrap.push(&t, width, &mut o);
                    styled.push_str(&o);
                    plain.push_str(&o);
                }
                Piece::Text(style, t) => {
                    let sgr = match style {
                        Style::Plain => "0",
                        Style::Label | Style::Id => "1",
                        Style::Dim => "2",
                        Style::Badge(tone) => tone.sgr(),
                    };
                    self.styled_run(&t, sgr, width, &mut styled, &mut plain);
                }
                Piece::Break => self.line_end(width, &mut styled, &mut plain),
                Piece::Heading {
                    title,
                    index,
                    total,
                } => {
                    self.line_end(width, &mut styled, &mut plain);
                    let mut o = String::new();
                    self.wrap.push("\n", width, &mut o);
                    styled.push_str(&o);
                    plain.push_str(&o);
                    let colour = format!("1;4;{}", role_colour(&self.role));
                    self.styled_run(&title, &colour, width, &mut styled, &mut plain);
                    let of = if total > 0 {
                        format!("{index}/{total}")
                    } else {
                        format!("{index}")
                    };
                    // Streamed chunks: OpenAI-compatible servers send one token a chunk.
                    let rate = if secs > 0.0 {
                        chunks as f64 / secs
                    } else {
                        0.0
                    };
                    let progress = format!(" {of} · {chunks} tok · {rate:.0} tok/s");
                    self.styled_run(&progress, "2", width, &mut styled, &mut plain);
                    self.line_end(width, &mut styled, &mut plain);
                }
            }
        }
        (styled, plain)
    }

    /// `text` wrapped and coloured with `sgr` as a whole (the word held back before it is
    /// written first, so it keeps its own colour).
    fn styled_run(
        &mut self,
        text: &str,
        sgr: &str,
        width: usize,
        styled: &mut String,
        plain: &mut String,
    ) {
        let mut before = String::new();
        self.wrap.settle(width, &mut before);
        styled.push_str(&before);
        plain.push_str(&before);
        let mut o = String::new();
        self.wrap.push(text, width, &mut o);
        self.wrap.settle(width, &mut o);
        if o.is_empty() {
            return;
        }
        styled.push_str(&self.style(sgr, &o));
        plain.push_str(&o);
    }

    /// Ends the current line, if anything is on it.
    fn line_end(&mut self, width: usize, styled: &mut String, plain: &mut String) {
        if !self.wrap.at_line_start() {
            let mut o = String::new();
            self.wrap.flush(width, &mut o);
            o.push('\n');
            styled.push_str(&o);
            plain.push_str(&o);
            self.wrap.reset();
        }
    }

    /// Ends a partly written line so the next output starts on its own line.
    fn break_line(&mut self) {
        if !self.wrap.at_line_start() {
            let width = (self.width)();
            let mut out = String::new();
            self.wrap.flush(width, &mut out);
            out.push('\n');
            self.emit(&out, &out);
            self.wrap.reset();
        }
    }

    fn style(&self, sgr: &str, text: &str) -> String {
        if self.colour {
            format!("\x1b[{sgr}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }

    fn emit(&mut self, styled: &str, plain: &str) {
        self.emit_to(styled, plain, None);
    }

    /// Writes to the pane, the transcript and the raw log; `raw` None: the raw log gets `plain`
    /// (headers, notes, footers), else `raw` (the model's own text).
    fn emit_to(&mut self, styled: &str, plain: &str, raw: Option<&str>) {
        if !styled.is_empty() {
            let _ = self.out.write_all(styled.as_bytes());
            let _ = self.out.flush();
        }
        if let (Some(t), false) = (&mut self.transcript, plain.is_empty()) {
            let _ = t.write_all(plain.as_bytes());
            let _ = t.flush();
        }
        let raw = raw.unwrap_or(plain);
        if let (Some(r), false) = (&mut self.raw, raw.is_empty()) {
            let _ = r.write_all(raw.as_bytes());
            let _ = r.flush();
        }
    }
}

fn footer(s: &Slot, outcome: Option<&TaskOutcome>) -> String {
    let secs = s.started.elapsed().as_secs_f64();
    match outcome {
        None => format!("⊘ {} cancelled after {secs:.1} s", s.task_id),
        Some(TaskOutcome::Completed {
            usage,
            model,
            retries,
            ..
        }) => {
            let rate = if secs > 0.0 {
                usage.completion_tokens as f64 / secs
            } else {
                0.0
            };
            let est = if usage.estimated { "~" } else { "" };
            let retried = match retries {
                0 => String::new(),
                1 => " · 1 retry".to_string(),
                n => format!(" · {n} retries"),
            };
            format!(
                "── done · {est}{} tokens · {secs:.1} s · {rate:.1} tokens/s · {model}{retried} ──",
                usage.completion_tokens
            )
        }
        Some(TaskOutcome::Failed {
            error, retryable, ..
        }) => {
            let kind = if *retryable {
                "retryable"
            } else {
                "not retryable"
            };
            format!("✗ failed after {secs:.1} s ({kind}): {error}")
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;
    use protocol::{ChatMessage, OutputSpec, Stage, TaskKind, Usage};

    fn wrap_all(pieces: &[&str], width: usize) -> String {
        let mut w = Wrapper::default();
        let mut out = String::new();
        for p in pieces {
            w.push(p, width, &mut out);
        }
        w.flush(width, &mut out);
        out
    }

    #[test]
    fn words_wrap_at_the_width_whatever_the_chunking() {
        let text = "the quick brown fox jumps over the lazy dog again and again";
        let whole = wrap_all(&[text], 20);
        let chunked: Vec<String> = text.chars().map(String::from).collect();
        let refs: Vec<&str> = chunked.iter().map(String::as_str).collect();
        assert_eq!(wrap_all(&refs, 20), whole);
        for line in whole.lines() {
            assert!(line.chars().count() <= 20, "{line:?}");
        }
        assert_eq!(whole.replace('\n', " ").split_whitespace().count(), 12);
        assert!(
            whole.starts_with("the quick brown fox\njumps over the lazy\n"),
            "{whole}"
        );
    }

    #[test]
    fn long_words_are_broken_and_blank_lines_collapse_and_escapes_vanish() {
        let out = wrap_all(&["x".repeat(45).as_str()], 20);
        assert_eq!(out.lines().map(str::len).collect::<Vec<_>>(), [20, 20, 5]);
        let out = wrap_all(&["a\n\n\n\n\nb"], 20);
        assert_eq!(out, "a\n\nb");
        let out = wrap_all(&["red \x1b[31mtext\x07"], 20);
        assert_eq!(out, "red [31mtext");
        let out = wrap_all(&["  indented\n"], 20);
        assert_eq!(out, "  indented\n");
    }

    #[derive(Clone, Default)]
    struct Buf(Arc<Mutex<Vec<u8>>>);
    impl Write for Buf {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    impl Buf {
        fn text(&self) -> String {
            String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
        }
    }

    fn task(id: &str, title: &str) -> Task {
        Task {
            id: id.into(),
            session_id: "s".into(),
            role: "architect".into(),
            stage: Stage::Options,
            round: 2,
            attempt: 1,
            kind: TaskKind::Draft,
            title: title.into(),
            messages: vec![ChatMessage::user("x")],
            output: OutputSpec::Text,
            model: None,
            temperature: None,
            max_tokens: None,
            item_ids: vec![],
            parts: vec![],
            tools: None,
            created_at: jiff::Timestamp::UNIX_EPOCH,
        }
    }

    fn done(tokens: u64) -> TaskOutcome {
        TaskOutcome::Completed {
            text: String::new(),
            json: None,
            usage: Usage {
                prompt_tokens: 7,
                completion_tokens: tokens,
                ..Usage::default()
            },
            model: "fake-model".into(),
            finish_reason: None,
            retries: 0,
            cost_usd: None,
        }
    }

    fn display(colour: bool) -> (Display, Buf, Buf) {
        let pane = Buf::default();
        let transcript = Buf::default();
        let d = Display::new(
            "architect",
            colour,
            Box::new(pane.clone()),
            Some(Box::new(transcript.clone())),
            Box::new(|| 60),
        );
        (d, pane, transcript)
    }

    #[test]
    fn a_task_shows_header_tokens_and_footer_and_the_transcript_has_no_ansi() {
        let (mut d, pane, transcript) = display(true);
        let s = d.begin(&task("t1", "Draft the options"));
        d.token(s, "Option A: ", false);
        d.token(s, "a monolith.", false);
        d.finish(s, Some(&done(5)));
        let shown = pane.text();
        assert!(
            shown.contains("\x1b[1;34m━━ architect · options · round 2 · attempt 1"),
            "{shown}"
        );
        let plain = transcript.text();
        assert!(!plain.contains('\x1b'), "{plain}");
        assert!(
            plain.contains("Draft the options [t1]\nOption A: a monolith.\n── done · 5 tokens · "),
            "{plain}"
        );
        assert!(plain.contains("fake-model"), "{plain}");
        for line in plain.lines() {
            assert!(line.chars().count() <= 60, "{line:?}");
        }
    }

    #[test]
    fn concurrent_tasks_stream_one_at_a_time_and_all_are_shown_in_full() {
        let (mut d, _pane, transcript) = display(false);
        let a = d.begin(&task("a", "Review A"));
        let b = d.begin(&task("b", "Review B"));
        d.token(a, "alpha ", false);
        d.token(b, "beta ", false);
        d.token(a, "one", false);
        d.token(b, "two", false);
        d.finish(b, Some(&done(2)));
        d.token(a, " more", false);
        d.finish(a, Some(&done(3)));
        let t = transcript.text();
        let a_at = t.find("alpha one more").expect(&t);
        let b_at = t.find("Review B [b]\nbeta two").expect(&t);
        assert!(a_at < b_at, "{t}");
        assert!(t.contains("+ Review B (b) started"), "{t}");
        assert_eq!(t.matches("── done").count(), 2, "{t}");
        let note = t.find("✓ Review B finished").expect(&t);
        assert!(
            a_at < note && note < b_at,
            "notes wait for the end of a line: {t}"
        );
    }

    #[test]
    fn a_retry_voids_the_partial_text_and_failures_and_cancels_have_footers() {
        let (mut d, _pane, transcript) = display(false);
        let s = d.begin(&task("t", "T"));
        d.token(s, "partial", false);
        d.token(s, "", true);
        d.token(s, "whole", false);
        d.finish(
            s,
            Some(&TaskOutcome::Failed {
                error: "HTTP 500".into(),
                retryable: true,
                retries: 2,
            }),
        );
        let s2 = d.begin(&task("u", "U"));
        d.finish(s2, None);
        let t = transcript.text();
        assert!(t.contains("partial\n↻ the attempt failed; retrying"), "{t}");
        assert!(t.contains("✗ failed after"), "{t}");
        assert!(t.contains("(retryable): HTTP 500"), "{t}");
        assert!(t.contains("⊘ u cancelled after"), "{t}");
    }

    #[test]
    fn parts_get_a_line_each_and_a_retry_voids_only_the_current_part() {
        let (mut d, _pane, transcript) = display(false);
        let a = d.begin(&task("a", "Draft A"));
        let b = d.begin(&task("b", "Draft B"));
        for s in [a, b] {
            d.part(s, "part 1/2: title, summary");
            d.token(s, "{\"title\": 1}", false);
            d.part(s, "part 2/2: risks");
            d.token(s, "lost", false);
            d.token(s, "", true);
            d.token(s, "{\"risks\": 2}", false);
        }
        d.finish(b, Some(&done(2)));
        d.finish(a, Some(&done(3)));
        let t = transcript.text();
        // Streamed (a) and shown later (b) alike.
        for id in ["a", "b"] {
            let at = t.find(&format!(" [{id}]\n")).expect(&t);
            assert!(
                t[at..].contains(
                    "── part 1/2: title, summary ──\n{\"title\": 1}\n── part 2/2: risks ──\n"
                ),
                "{t}"
            );
        }
        let b_at = t.find(" [b]\n").unwrap();
        assert!(!t[b_at..].contains("lost"), "the retried part is void: {t}");
        assert!(t[b_at..].contains("{\"risks\": 2}"), "{t}");
    }

    #[test]
    fn a_json_answer_is_shown_as_a_document_at_40_columns_and_the_raw_log_keeps_the_tokens() {
        let pane = Buf::default();
        let transcript = Buf::default();
        let raw = Buf::default();
        let mut d = Display::new(
            "code-reviewer",
            true,
            Box::new(pane.clone()),
            Some(Box::new(transcript.clone())),
            Box::new(|| 40),
        )
        .with_raw(Box::new(raw.clone()));
        let mut t = task("r", "Review the options");
        t.output = OutputSpec::Json {
            name: "review".into(),
            schema: serde_json::json!({"type": "object", "properties": {"items": {}}}),
        };
        let s = d.begin(&t);
        let reply = r#"{"items": [{"category": "critical", "section": "Risks", "comment": "The cache has no eviction policy, so memory grows without bound under load.", "suggestion": "Use an LRU with a size cap."}]}"#;
        for c in reply.chars() {
            d.token(s, &c.to_string(), false);
        }
        d.finish(s, Some(&done(40)));
        let plain = transcript.text();
        for line in plain.lines() {
            assert!(line.chars().count() <= 40, "{line:?} in\n{plain}");
        }
        assert!(plain.contains("Items 1/1 · "), "{plain}");
        assert!(
            plain.contains("#1 [critical] § Risks\nComment: The cache"),
            "{plain}"
        );
        for bad in ["{", "}", "\":", "\\n"] {
            assert!(!plain.contains(bad), "{bad:?} in {plain}");
        }
        // The space before a badge may take its colour (the wrapper holds spaces until the word).
        assert!(
            pane.text().contains("\x1b[1;31m [critical]\x1b[0m"),
            "{}",
            pane.text()
        );
        assert!(raw.text().contains(reply), "{}", raw.text());
        assert!(
            raw.text().contains("Review the options [r]"),
            "{}",
            raw.text()
        );
    }

    #[test]
    fn a_pane_narrowed_mid_answer_wraps_what_follows_to_the_new_width_and_no_colour_is_plain() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let width = Arc::new(AtomicUsize::new(80));
        let w = width.clone();
        let pane = Buf::default();
        let mut d = Display::new(
            "architect",
            false,
            Box::new(pane.clone()),
            None,
            Box::new(move || w.load(Ordering::SeqCst)),
        );
        let mut t = task("t", "Draft");
        t.output = OutputSpec::Json {
            name: "options".into(),
            schema: serde_json::json!({"properties": {"summary": {}, "comparison": {}}}),
        };
        let s = d.begin(&t);
        let words = "word ".repeat(40);
        let reply = format!(r#"{{"summary": "{words}", "comparison": "{words}"}}"#);
        let (first, second) = reply.split_at(reply.find("\"comparison\"").unwrap());
        d.token(s, first, false);
        width.store(40, Ordering::SeqCst);
        d.token(s, second, false);
        d.finish(s, Some(&done(9)));
        let shown = pane.text();
        assert!(!shown.contains('\x1b'), "no colour: {shown}");
        let after = &shown[shown.find("Option Comparison").expect(&shown)..];
        for line in after.lines() {
            assert!(line.chars().count() <= 40, "{line:?} in\n{after}");
        }
        let before = &shown[..shown.find("Option Comparison").unwrap()];
        assert!(before.lines().any(|l| l.chars().count() > 40), "{before}");
    }

    #[test]
    fn tool_calls_get_a_line_each_and_a_retry_keeps_them() {
        let (mut d, _pane, transcript) = display(false);
        let a = d.begin(&task("a", "Draft A"));
        let b = d.begin(&task("b", "Draft B"));
        for s in [a, b] {
            d.token(s, "Let me look.", false);
            d.tool_call(s, "→ read src/a.py:1-80");
            d.tool_call(s, "→ read .env ✗ refused\u{7}");
            d.token(s, "lost", false);
            d.token(s, "", true);
            d.token(s, "{\"ok\": true}", false);
        }
        d.finish(b, Some(&done(2)));
        d.finish(a, Some(&done(3)));
        let t = transcript.text();
        for id in ["a", "b"] {
            let at = t.find(&format!(" [{id}]\n")).expect(&t);
            assert!(
                t[at..].contains(
                    "Let me look.\n→ read src/a.py:1-80\n→ read .env ✗ refused\n{\"ok\": true}"
                ),
                "{t}"
            );
        }
        assert!(!t.contains('\u{7}'), "{t}");
        // Streamed text cannot be taken back (the retry line says it is void); b's, shown
        // later, has none of it.
        let b_at = t.find(" [b]\n").unwrap();
        assert!(!t[b_at..].contains("lost"), "{t}");
    }
}
