//! The `search` tool: ripgrep's matcher and searcher over the files the walk lets through.
//!
//! Rust's regex engines do not backtrack, so the textbook catastrophic patterns (`(a*)*b`) run in
//! linear time; what can still run away is a pattern that compiles huge (`(\w{100}){100}`), a
//! lazy DFA that thrashes and falls back to a slow engine, a line of hundreds of megabytes, or
//! simply a slow search of a big tree. Each has its bound: the pattern length, the compiled-size
//! and DFA-cache limits, the searcher's heap limit, and a deadline checked on every matcher
//! call, so the worst case is a tool error after a few seconds, never a hang.

use std::cell::Cell;
use std::io;
use std::ops::ControlFlow;
use std::time::Instant;

use grep_matcher::{ByteSet, LineMatchKind, LineTerminator, Match, Matcher};
use grep_regex::{RegexCaptures, RegexMatcher, RegexMatcherBuilder};
use grep_searcher::{BinaryDetection, Searcher, SearcherBuilder, Sink, SinkMatch};

use super::glob::PathFilter;
use crate::fmt::{cut, size};
use crate::repo::Repo;

/// What a search returns to the model.
pub(super) struct Found {
    pub(super) content: String,
    pub(super) matches: usize,
    pub(super) error: bool,
}

pub(super) fn search(
    repo: &Repo,
    pattern: &str,
    glob: Option<&str>,
    max_results: usize,
    cap: usize,
) -> Found {
    let policy = repo.policy();
    let len = pattern.chars().count();
    if len > policy.max_pattern_len {
        return failed(format!(
            "the pattern is {len} characters, over the {} limit; search for a shorter, distinctive part of what you look for",
            policy.max_pattern_len
        ));
    }
    if pattern.is_empty() {
        return failed(
            "the pattern is empty; give a regular expression such as `fn main` or `def read_time`"
                .to_string(),
        );
    }
    let filter = match PathFilter::new(glob) {
        Ok(f) => f,
        Err(e) => return failed(e),
    };
    let matcher = match RegexMatcherBuilder::new()
        .size_limit(policy.regex_size_limit)
        .dfa_size_limit(policy.regex_dfa_size_limit)
        .line_terminator(Some(b'\n'))
        .build(pattern)
    {
        Ok(m) => m,
        Err(e) => {
            return failed(format!(
                "`{pattern}` is not a usable regular expression: {}; simplify it (fewer or smaller repetitions), or escape special characters such as `(`, `[`, `.` with `\\`",
                e.to_string().trim()
            ));
        }
    };
    let deadline = Deadline {
        inner: &matcher,
        until: Instant::now() + policy.search_timeout,
        timed_out: Cell::new(false),
    };
    let mut searcher = SearcherBuilder::new()
        .binary_detection(BinaryDetection::quit(0))
        .line_number(true)
        .heap_limit(Some(
            usize::try_from(policy.max_read_bytes).unwrap_or(usize::MAX),
        ))
        .build();
    let mut lines: Vec<String> = Vec::new();
    let mut files_with_matches = 0usize;
    let mut searched = 0usize;
    let mut too_big: Vec<String> = Vec::new();
    let mut unreadable: Vec<String> = Vec::new();
    let mut timed_out = false;
    repo.walk(|item| {
        if item.refused.is_some() || !filter.matches(&item.rel) {
            return ControlFlow::Continue(());
        }
        if Instant::now() > deadline.until {
            timed_out = true;
            return ControlFlow::Break(());
        }
        if item.size > policy.max_search_file_bytes {
            too_big.push(item.rel);
            return ControlFlow::Continue(());
        }
        searched += 1;
        let before = lines.len();
        let sink = Collect {
            rel: &item.rel,
            out: &mut lines,
            max: max_results,
            max_line: policy.max_line_bytes,
        };
        if searcher.search_path(&deadline, &item.abs, sink).is_err() {
            if deadline.timed_out.get() {
                timed_out = true;
                return ControlFlow::Break(());
            }
            // A line over the heap limit or an I/O error: this file only.
            unreadable.push(item.rel);
        }
        if lines.len() > before {
            files_with_matches += 1;
        }
        if lines.len() >= max_results {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    });

    let matches = lines.len();
    let mut footer = Vec::new();
    if timed_out {
        footer.push(format!(
            "the search timed out after {:.1} s with {matches} matches so far; narrow it with a glob or a more specific pattern",
            policy.search_timeout.as_secs_f64()
        ));
    } else if matches >= max_results {
        footer.push(format!(
            "stopped at max_results={max_results}; narrow the pattern or the glob to see the rest"
        ));
    } else if matches == 0 {
        footer.push(format!(
            "no match for /{pattern}/ in {searched} files{}",
            glob.map(|g| format!(" matching `{g}`")).unwrap_or_default()
        ));
    } else {
        footer.push(format!("{matches} matches in {files_with_matches} files"));
    }
    if !too_big.is_empty() {
        footer.push(format!(
            "not searched, over {}: {}; read line ranges of them instead",
            size(policy.max_search_file_bytes),
            list(&too_big)
        ));
    }
    if !unreadable.is_empty() {
        footer.push(format!(
            "not searched (unreadable, or a line over {}): {}",
            size(policy.max_read_bytes),
            list(&unreadable)
        ));
    }
    let footer = footer
        .into_iter()
        .map(|f| format!("[{f}]"))
        .collect::<Vec<_>>()
        .join("\n");
    let mut content = String::new();
    let mut shown = 0;
    for line in &lines {
        if content.len() + line.len() + 1 + footer.len() + 80 > cap {
            break;
        }
        content.push_str(line);
        content.push('\n');
        shown += 1;
    }
    if shown < lines.len() {
        content.push_str(&format!(
            "[output cut at {} after {shown} of {matches} matches; narrow the pattern or the glob]\n",
            size(cap as u64)
        ));
    }
    content.push_str(&footer);
    Found {
        content: cut(&content, cap).to_string(),
        matches,
        error: timed_out,
    }
}

fn failed(message: String) -> Found {
    Found {
        content: message,
        matches: 0,
        error: true,
    }
}

fn list(paths: &[String]) -> String {
    const SHOWN: usize = 5;
    let mut s = paths
        .iter()
        .take(SHOWN)
        .map(|p| format!("`{p}`"))
        .collect::<Vec<_>>()
        .join(", ");
    if paths.len() > SHOWN {
        s.push_str(&format!(" and {} more", paths.len() - SHOWN));
    }
    s
}

/// Collects `path:line: text` lines, up to `max`.
struct Collect<'a> {
    rel: &'a str,
    out: &'a mut Vec<String>,
    max: usize,
    max_line: usize,
}

impl Sink for Collect<'_> {
    type Error = io::Error;

    fn matched(&mut self, _searcher: &Searcher, mat: &SinkMatch<'_>) -> Result<bool, io::Error> {
        let text = String::from_utf8_lossy(mat.bytes());
        let text = text.trim_end_matches(['\n', '\r']);
        let shown = cut(text, self.max_line);
        let mut line = format!("{}:{}: {shown}", self.rel, mat.line_number().unwrap_or(0));
        if shown.len() < text.len() {
            line.push_str(" [… line cut]");
        }
        self.out.push(line);
        Ok(self.out.len() < self.max)
    }
}

/// The regex matcher with a deadline: every call the searcher makes checks the clock first.
/// The searcher calls the matcher once per buffer or candidate line, so the check is frequent
/// enough to stop a slow search within one buffer's work.
struct Deadline<'m> {
    inner: &'m RegexMatcher,
    until: Instant,
    timed_out: Cell<bool>,
}

impl Deadline<'_> {
    fn check(&self) -> Result<(), String> {
        if Instant::now() > self.until {
            self.timed_out.set(true);
            return Err("the search timed out".to_string());
        }
        Ok(())
    }
}

impl Matcher for Deadline<'_> {
    type Captures = RegexCaptures;
    type Error = String;

    fn find_at(&self, haystack: &[u8], at: usize) -> Result<Option<Match>, String> {
        self.check()?;
        self.inner.find_at(haystack, at).map_err(|e| e.to_string())
    }

    fn new_captures(&self) -> Result<RegexCaptures, String> {
        self.inner.new_captures().map_err(|e| e.to_string())
    }

    fn capture_count(&self) -> usize {
        self.inner.capture_count()
    }

    fn capture_index(&self, name: &str) -> Option<usize> {
        self.inner.capture_index(name)
    }

    fn captures_at(
        &self,
        haystack: &[u8],
        at: usize,
        caps: &mut RegexCaptures,
    ) -> Result<bool, String> {
        self.check()?;
        self.inner
            .captures_at(haystack, at, caps)
            .map_err(|e| e.to_string())
    }

    fn shortest_match_at(&self, haystack: &[u8], at: usize) -> Result<Option<usize>, String> {
        self.check()?;
        self.inner
            .shortest_match_at(haystack, at)
            .map_err(|e| e.to_string())
    }

    fn non_matching_bytes(&self) -> Option<&ByteSet> {
        self.inner.non_matching_bytes()
    }

    fn line_terminator(&self) -> Option<LineTerminator> {
        self.inner.line_terminator()
    }

    fn find_candidate_line(&self, haystack: &[u8]) -> Result<Option<LineMatchKind>, String> {
        self.check()?;
        self.inner
            .find_candidate_line(haystack)
            .map_err(|e| e.to_string())
    }
}
