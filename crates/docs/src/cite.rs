//! Citations: how a document points at the code it relies on, as `path:line` or
//! `path:start-end` (e.g. `readtime/api.py:12-40`), in prose or in backticks.
//!
//! A design for an existing project is only as good as its claims about that project's code, and
//! a claim with a citation can be checked: by a reviewer (who reads the cited lines), by the
//! validators (the file exists, the lines are in range; [`crate::validate::check_citations`]) and
//! later by `agentmux validate` (the cited file has not changed since; [`crate::baseline`]).
//!
//! The syntax is the one compilers and `grep -n` print, so models write it without being taught
//! much, and it is read from rendered markdown where people write it too. Finding it must not
//! invent citations where there are none, because each one becomes a finding: code blocks (and so
//! Mermaid) and HTML are skipped, a word with `://` or `@` is a URL or an address, a path needs a
//! `/` or a file extension that starts with a letter (so `10:30`, `127.0.0.1:8080` and `16:9`
//! are not citations), and a bare `host.com:443` is not a file. In prose a path needs an
//! extension (`input/output:2` is not a citation); in backticks `src/Makefile:12` is enough.

use std::fmt;

use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};

/// One citation: a file relative to the project root and an inclusive range of 1-based lines.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Citation {
    /// As written, without a leading `./` (it may still be absolute or climb out with `..`: the
    /// validator says why that is wrong).
    pub path: String,
    pub start: u32,
    /// Equal to `start` for a single line.
    pub end: u32,
}

impl Citation {
    /// The lines as written in a citation: `12` or `12-40`.
    pub fn lines(&self) -> String {
        if self.start == self.end {
            self.start.to_string()
        } else {
            format!("{}-{}", self.start, self.end)
        }
    }
}

impl fmt::Display for Citation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.path, self.lines())
    }
}

/// A citation found in a document, with where it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cited {
    pub citation: Citation,
    /// The text of the nearest heading before it (`3. Detailed Design`); empty before the first.
    pub section: String,
    /// The 1-based line of the document it is on.
    pub line: usize,
}

/// Every citation in a markdown document, in document order (repeats included).
pub fn find(md: &str) -> Vec<Cited> {
    let mut line_starts = vec![0];
    line_starts.extend(md.match_indices('\n').map(|(i, _)| i + 1));
    let line_of = |offset: usize| line_starts.partition_point(|s| *s <= offset).max(1);

    let mut out = Vec::new();
    let mut section = String::new();
    // Text of the heading being read, and whether we are in one.
    let mut heading: Option<(String, usize)> = None;
    // Consecutive text events (pulldown-cmark splits text at `_`, `*`, escapes) and the offset
    // of the first.
    let mut text = String::new();
    let mut text_at = 0;
    let mut code_depth = 0usize;

    let flush = |text: &mut String, at: usize, section: &str, out: &mut Vec<Cited>| {
        for (i, c) in scan(text, Shape::Prose) {
            out.push(Cited {
                citation: c,
                section: section.to_string(),
                line: line_of(at + i),
            });
        }
        text.clear();
    };

    let parser = Parser::new_ext(md, Options::ENABLE_TABLES).into_offset_iter();
    for (event, range) in parser {
        match event {
            Event::Text(t) if code_depth == 0 => {
                if let Some((h, _)) = heading.as_mut() {
                    h.push_str(&t);
                } else {
                    if text.is_empty() {
                        text_at = range.start;
                    }
                    text.push_str(&t);
                }
            }
            Event::Code(c) if code_depth == 0 => {
                if let Some((h, _)) = heading.as_mut() {
                    // The heading's own citations are read when it ends, in its text.
                    h.push_str(&c);
                    continue;
                }
                flush(&mut text, text_at, &section, &mut out);
                for (_, citation) in scan(&c, Shape::Code) {
                    out.push(Cited {
                        citation,
                        section: section.clone(),
                        line: line_of(range.start),
                    });
                }
            }
            Event::Start(Tag::Heading { .. }) => {
                flush(&mut text, text_at, &section, &mut out);
                heading = Some((String::new(), range.start));
            }
            Event::End(TagEnd::Heading(_)) => {
                if let Some((h, at)) = heading.take() {
                    section = h.split_whitespace().collect::<Vec<_>>().join(" ");
                    for (_, citation) in scan(&h, Shape::Code) {
                        out.push(Cited {
                            citation,
                            section: section.clone(),
                            line: line_of(at),
                        });
                    }
                }
            }
            Event::Start(Tag::CodeBlock(_)) => {
                flush(&mut text, text_at, &section, &mut out);
                code_depth += 1;
            }
            Event::End(TagEnd::CodeBlock) => code_depth = code_depth.saturating_sub(1),
            Event::SoftBreak | Event::HardBreak => match heading.as_mut() {
                Some((h, _)) => h.push(' '),
                None => flush(&mut text, text_at, &section, &mut out),
            },
            // Inline HTML, footnote marks, rules, the start and end of any other element: the
            // text before it is complete.
            _ => {
                if heading.is_none() {
                    flush(&mut text, text_at, &section, &mut out);
                }
            }
        }
    }
    flush(&mut text, text_at, &section, &mut out);
    out
}

/// Where a word was written: in prose a path needs a file extension; in a code span (or a
/// heading, where code spans lose their backticks) a `/` is enough.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Shape {
    Prose,
    Code,
}

/// The citations in a run of text, each with the byte offset of its word.
fn scan(text: &str, shape: Shape) -> Vec<(usize, Citation)> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, ch) in text
        .char_indices()
        .chain(std::iter::once((text.len(), ' ')))
    {
        if is_separator(ch) {
            if let Some(s) = start.take()
                && let Some(c) = word(&text[s..i], shape)
            {
                out.push((s, c));
            }
        } else if start.is_none() {
            start = Some(i);
        }
    }
    out
}

fn is_separator(c: char) -> bool {
    c.is_whitespace()
        || matches!(
            c,
            ',' | ';' | '(' | ')' | '[' | ']' | '{' | '}' | '<' | '>' | '"' | '\'' | '`' | '|'
        )
        || matches!(c, '\u{2018}' | '\u{2019}' | '\u{201c}' | '\u{201d}')
}

/// Reads one word as a citation: `path:line`, `path:start-end` (also with an en dash), or
/// `path:line:column` (what compilers print; the column is dropped).
pub fn parse(word: &str) -> Option<Citation> {
    self::word(word, Shape::Code)
}

fn word(raw: &str, shape: Shape) -> Option<Citation> {
    let w = raw
        .trim_start_matches(['*', '_', '~'])
        .trim_end_matches(['.', ',', ':', ';', '!', '?', '*', '_', '~']);
    if w.contains("://") || w.contains('@') {
        return None;
    }
    let (path, rest) = w.split_once(':')?;
    let (lines, column) = match rest.split_once(':') {
        Some((l, c)) => (l, Some(c)),
        None => (rest, None),
    };
    if column.is_some_and(|c| !all_digits(c)) {
        return None;
    }
    let (start, end) = match lines.split_once(['-', '\u{2013}']) {
        Some((a, b)) if column.is_none() => (number(a)?, number(b)?),
        Some(_) => return None,
        None => {
            let n = number(lines)?;
            (n, n)
        }
    };
    let path = path.strip_prefix("./").unwrap_or(path);
    is_path(path, shape).then(|| Citation {
        path: path.to_string(),
        start,
        end,
    })
}

fn all_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// A line number; one too large for `u32` is kept as `u32::MAX`, which is out of range of any
/// file (so it is reported, not ignored).
fn number(s: &str) -> Option<u32> {
    all_digits(s).then(|| s.parse().unwrap_or(u32::MAX))
}

/// Generic top-level domains and names of hosts on a local network: `api.example.com:443` and
/// `db.internal:5432` are addresses, not files. No source file ends in one of these.
const HOST_SUFFIXES: [&str; 22] = [
    "com",
    "org",
    "net",
    "io",
    "dev",
    "app",
    "ai",
    "co",
    "edu",
    "gov",
    "mil",
    "info",
    "biz",
    "cloud",
    "local",
    "localhost",
    "localdomain",
    "internal",
    "lan",
    "svc",
    "example",
    "invalid",
];

/// True if `path` reads as a file path: path characters only, a letter somewhere, no empty last
/// segment, and (unless it has a `/` and is in code) a file extension that is not a host suffix.
fn is_path(path: &str, shape: Shape) -> bool {
    let ok_chars = path
        .chars()
        .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | '/' | '+'));
    if path.is_empty() || !ok_chars || !path.chars().any(char::is_alphabetic) {
        return false;
    }
    let file = path.rsplit('/').next().unwrap_or("");
    if file.is_empty() || file == "." || file == ".." {
        return false;
    }
    let has_dir = path.contains('/');
    let extension = file.rsplit_once('.').map(|(_, e)| e);
    let good_extension = extension.is_some_and(|e| {
        e.len() <= 12
            && e.starts_with(|c: char| c.is_ascii_alphabetic())
            && e.chars().all(|c| c.is_ascii_alphanumeric())
            && (has_dir || !HOST_SUFFIXES.contains(&e.to_ascii_lowercase().as_str()))
    });
    good_extension || (has_dir && shape == Shape::Code)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cites(md: &str) -> Vec<String> {
        find(md).iter().map(|c| c.citation.to_string()).collect()
    }

    #[test]
    fn the_two_forms_in_prose_and_in_backticks() {
        assert_eq!(
            cites(
                "# Design\n\nThe estimate is in `readtime/api.py:12-40` and readtime/cli.py:7.\n"
            ),
            ["readtime/api.py:12-40", "readtime/cli.py:7"]
        );
        let c = parse("readtime/api.py:12-40").unwrap();
        assert_eq!(
            (c.path.as_str(), c.start, c.end),
            ("readtime/api.py", 12, 40)
        );
        assert_eq!(parse("api.py:7").unwrap().lines(), "7");
    }

    #[test]
    fn punctuation_around_a_citation_is_not_part_of_it() {
        for (text, want) in [
            ("see (readtime/api.py:12).", "readtime/api.py:12"),
            ("in readtime/api.py:12-40, then", "readtime/api.py:12-40"),
            ("**readtime/api.py:3**", "readtime/api.py:3"),
            ("\"api.py:3\"", "api.py:3"),
            ("api.py:3:", "api.py:3"),
            ("[api.py:3](https://x.org/api.py#L3)", "api.py:3"),
            ("./readtime/api.py:5", "readtime/api.py:5"),
            ("read_time/api_v2.py:9", "read_time/api_v2.py:9"),
            ("read\\_time/x.py:9", "read_time/x.py:9"),
            ("api.py:12\u{2013}40", "api.py:12-40"),
            ("main.rs:10:5 (rustc's form)", "main.rs:10"),
            ("| `a/b.rs:1` | table cell |\n|---|---|\n", "a/b.rs:1"),
        ] {
            let md = if text.starts_with('|') {
                text.to_string()
            } else {
                format!("Text {text}\n")
            };
            assert_eq!(cites(&md), [want], "{text}");
        }
    }

    #[test]
    fn no_false_positives() {
        let md = "\
# Notes at 10:30

The meeting is at 10:30, the ratio 16:9, the time 12:00-13:00 and 2024-01-01T10:30:00Z.
Call https://example.com:8080/readtime/api.py:12 or http://localhost:8080/x.py:3 or
<https://host.org/a.py:1>. The database is on db.internal:5432, api.example.com:443,
127.0.0.1:8080, localhost:8080 and `redis:6379`; a git remote git@github.com:org/repo.git.
See design.md and `project.md`, read/write:3, input/output:2, v1.2.3:4, e.g.:12 and 1/2:3.
A `Makefile:12` has no extension; python3.11:2 is a version. Also api.py#L12 and api.py:x.

```mermaid
sequenceDiagram
  A->>B: readtime/api.py:12
```

    indented code: src/lib.rs:1

<!-- readtime/api.py:12 -->
";
        assert_eq!(cites(md), Vec::<String>::new());
    }

    #[test]
    fn in_code_a_slash_is_enough_in_prose_an_extension_is_needed() {
        assert_eq!(
            cites("`src/Makefile:12` and src/Makefile:12\n"),
            ["src/Makefile:12"]
        );
        assert_eq!(cites(".env:3 and `.github/workflows/ci.yml:4`\n").len(), 2);
    }

    #[test]
    fn odd_lines_are_still_citations_for_the_validator_to_reject() {
        assert_eq!(
            cites("a.py:0, a.py:40-12, /etc/x.conf:1, ../up.py:2, a.py:99999999999\n"),
            [
                "a.py:0",
                "a.py:40-12",
                "/etc/x.conf:1",
                "../up.py:2",
                "a.py:4294967295"
            ]
        );
    }

    #[test]
    fn sections_and_lines() {
        let md = "intro a.py:1\n\n## 2. Detailed Design\n\nText\nmore b.py:2\n\n### Storage `c/d.rs:3`\n\n- item e.py:4-5\n";
        let found: Vec<(String, String, usize)> = find(md)
            .into_iter()
            .map(|c| (c.citation.to_string(), c.section, c.line))
            .collect();
        assert_eq!(
            found,
            [
                ("a.py:1".to_string(), String::new(), 1),
                ("b.py:2".into(), "2. Detailed Design".into(), 6),
                ("c/d.rs:3".into(), "Storage c/d.rs:3".into(), 8),
                ("e.py:4-5".into(), "Storage c/d.rs:3".into(), 10),
            ]
        );
    }

    #[test]
    fn any_text_is_read_without_panicking() {
        for md in [
            "",
            ":",
            "::::",
            "a:1-",
            "é.py:1 ü/ß.rs:2",
            "`",
            "# ",
            "x.py:1\u{2013}",
            "\u{2013}:1",
        ] {
            let _ = find(md);
        }
        assert_eq!(cites("é.py:1 ü/ß.rs:2"), ["é.py:1", "ü/ß.rs:2"]);
    }
}
