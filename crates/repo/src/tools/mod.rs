//! The tools a model calls over the OpenAI tool-calling API: `list_files`, `read_file`, `search`
//! and `outline`. [`ToolBox::definitions`] is the `tools` array of a request; [`ToolBox::call`]
//! answers one `tool_calls` entry. Every answer, refusals included, is a [`ToolOutcome`] the
//! model reads and acts on: a bad call costs the model one round, never the session.

mod args;
mod glob;
mod search;

use std::ops::ControlFlow;
use std::panic::{AssertUnwindSafe, catch_unwind};

use serde_json::{Value, json};

use crate::error::RepoError;
use crate::fmt::{cut, size};
use crate::lang::Language;
use crate::outline;
use crate::repo::{Repo, read_text};
use args::{ListArgs, OutlineArgs, ReadArgs, SearchArgs};
use glob::PathFilter;

/// The tool names, in the order [`ToolBox::definitions`] lists them.
const NAMES: [&str; 4] = ["list_files", "read_file", "search", "outline"];

/// Listing and search defaults and ceilings: what a model gets when it does not say, and the
/// most it may ask for.
const LIST_DEFAULT: usize = 200;
const LIST_MAX: usize = 2000;
const SEARCH_DEFAULT: usize = 50;
const SEARCH_MAX: usize = 500;

/// Below this many bytes of budget left, a call could not show anything useful.
const MIN_USEFUL_BYTES: u64 = 256;

/// What one task may spend on tools. The [`ToolBox`] counts every call, refusals included.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Budget {
    /// Tool calls per task.
    pub max_calls: u32,
    /// Bytes of tool output per task.
    pub max_bytes: u64,
}

impl Default for Budget {
    fn default() -> Self {
        Self {
            max_calls: 40,
            max_bytes: 400 * 1024,
        }
    }
}

/// What a task has spent so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Usage {
    /// Calls answered (refusals included, budget refusals not).
    pub calls: u32,
    /// Bytes of content returned.
    pub bytes: u64,
}

/// The answer to one tool call.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ToolOutcome {
    /// What the model reads as the tool result.
    pub content: String,
    /// The call failed or was refused; `content` says why and what to do instead.
    pub is_error: bool,
    /// One line for a pane, e.g. `read readtime/api.py:1-55 (1.6 KB)`.
    pub summary: String,
}

/// The repository tools of one task, with its budget.
#[derive(Debug, Clone)]
pub struct ToolBox {
    repo: Repo,
    budget: Budget,
    used: Usage,
}

impl ToolBox {
    /// Tools over `repo` for one task, spending at most `budget`.
    pub fn new(repo: Repo, budget: Budget) -> Self {
        Self {
            repo,
            budget,
            used: Usage::default(),
        }
    }

    /// The repository these tools read.
    pub fn repo(&self) -> &Repo {
        &self.repo
    }

    /// What this task has spent.
    pub fn usage(&self) -> Usage {
        self.used
    }

    /// The task's budget.
    pub fn budget(&self) -> Budget {
        self.budget
    }

    /// Counts an outcome recorded by an earlier run of the task (a resumed task replays its tool
    /// rounds from the record instead of calling again) against the budget.
    pub fn count_replayed(&mut self, outcome: &ToolOutcome) {
        self.used.calls = self.used.calls.saturating_add(1);
        self.used.bytes = self.used.bytes.saturating_add(outcome.content.len() as u64);
    }

    /// The OpenAI `tools` array: one `function` per tool, each with a JSON schema of its
    /// arguments that admits no other property.
    pub fn definitions() -> Value {
        let function = |name: &str, description: &str, properties: Value, required: &[&str]| {
            json!({
                "type": "function",
                "function": {
                    "name": name,
                    "description": description,
                    "parameters": {
                        "type": "object",
                        "properties": properties,
                        "required": required,
                        "additionalProperties": false,
                    },
                },
            })
        };
        let defs = NAMES.map(|name| match name {
            "list_files" => function(
                name,
                "List the project's files (paths relative to the project root, ignored, secret and internal files left out). Narrow it with a glob.",
                json!({
                    "glob": {"type": "string", "description": "Only paths matching this glob, e.g. `*.py`, `src/**/*.rs`, or a directory such as `src`."},
                    "limit": {"type": "integer", "minimum": 1, "description": "At most this many paths (default 200)."},
                }),
                &[],
            ),
            "read_file" => function(
                name,
                "Read a text file of the project, or a range of its lines. Lines come numbered from 1 (number, tab, text): cite them as `path:line` or `path:start-end`. Long output is cut and says where to continue.",
                json!({
                    "path": {"type": "string", "description": "Path relative to the project root, as list_files prints it."},
                    "start_line": {"type": "integer", "minimum": 1, "description": "First line to read (1-based). Omit for the start of the file."},
                    "end_line": {"type": "integer", "minimum": 1, "description": "Last line to read (inclusive). Omit for the end of the file."},
                }),
                &["path"],
            ),
            "search" => function(
                name,
                "Search the project's text files for a regular expression (Rust regex syntax, one line at a time; `(?i)` for case-insensitive). Prints `path:line: text` for each matching line.",
                json!({
                    "pattern": {"type": "string", "description": "The regular expression, e.g. `def read_time` or `fn\\s+main`."},
                    "glob": {"type": "string", "description": "Only files matching this glob, e.g. `*.py`, or a directory such as `src`."},
                    "max_results": {"type": "integer", "minimum": 1, "description": "At most this many matching lines (default 50)."},
                }),
                &["pattern"],
            ),
            _ => function(
                name,
                "List the symbols of a source file (functions, classes, methods, types, impls) with their line ranges, to find what to read. Python, Rust, JavaScript and Go files only.",
                json!({
                    "path": {"type": "string", "description": "Path relative to the project root, as list_files prints it."},
                }),
                &["path"],
            ),
        });
        Value::Array(defs.into())
    }

    /// Answers one tool call: `name` and its JSON `arguments` as the model sent them. Never
    /// panics; an unknown tool, bad arguments, a refused path or a spent budget is an outcome
    /// with `is_error` set and a message the model can act on.
    pub fn call(&mut self, name: &str, arguments: &str) -> ToolOutcome {
        if self.used.calls >= self.budget.max_calls {
            return ToolOutcome {
                content: format!(
                    "The tool budget of this task is spent: all {} tool calls are used. Answer now with what you have, citing the files and lines you read.",
                    self.budget.max_calls
                ),
                is_error: true,
                summary: format!(
                    "{name}: refused, budget spent ({} calls)",
                    self.budget.max_calls
                ),
            };
        }
        let left = self.budget.max_bytes.saturating_sub(self.used.bytes);
        if left < MIN_USEFUL_BYTES {
            return ToolOutcome {
                content: format!(
                    "The tool budget of this task is spent: {} of tool output is used. Answer now with what you have, citing the files and lines you read.",
                    size(self.budget.max_bytes)
                ),
                is_error: true,
                summary: format!(
                    "{name}: refused, budget spent ({})",
                    size(self.budget.max_bytes)
                ),
            };
        }
        let cap = usize::try_from(left)
            .unwrap_or(usize::MAX)
            .min(self.repo.policy().max_output_bytes);
        let repo = &self.repo;
        let mut outcome = catch_unwind(AssertUnwindSafe(|| dispatch(repo, name, arguments, cap)))
            .unwrap_or_else(|_| ToolOutcome {
                content: format!(
                    "The {name} tool failed inside agentmux (a bug, reported in its log). Try another call or answer with what you have."
                ),
                is_error: true,
                summary: format!("{name}: internal error"),
            });
        outcome.content = cut(&outcome.content, cap).to_string();
        self.used.calls += 1;
        self.used.bytes += outcome.content.len() as u64;
        outcome
    }
}

fn dispatch(repo: &Repo, name: &str, arguments: &str, cap: usize) -> ToolOutcome {
    match name {
        "list_files" => match args::parse::<ListArgs>(name, arguments) {
            Ok(a) => list_files(repo, a, cap),
            Err(e) => error(e, format!("{name}: bad arguments")),
        },
        "read_file" => match args::parse::<ReadArgs>(name, arguments) {
            Ok(a) => read_file(repo, a, cap),
            Err(e) => error(e, format!("{name}: bad arguments")),
        },
        "search" => match args::parse::<SearchArgs>(name, arguments) {
            Ok(a) => search_tool(repo, a, cap),
            Err(e) => error(e, format!("{name}: bad arguments")),
        },
        "outline" => match args::parse::<OutlineArgs>(name, arguments) {
            Ok(a) => outline_tool(repo, a),
            Err(e) => error(e, format!("{name}: bad arguments")),
        },
        _ => error(
            format!(
                "There is no tool `{name}`. The tools are: {}.",
                NAMES.join(", ")
            ),
            format!("unknown tool `{}`", cut(name, 40)),
        ),
    }
}

fn error(content: String, summary: String) -> ToolOutcome {
    ToolOutcome {
        content,
        is_error: true,
        summary,
    }
}

fn ok(content: String, summary: String) -> ToolOutcome {
    let summary = format!("{summary} ({})", size(content.len() as u64));
    ToolOutcome {
        content,
        is_error: false,
        summary,
    }
}

/// The pane line of a refused or failed path: `read .env: refused (secret)`.
fn path_error(verb: &str, path: &str, e: &RepoError) -> ToolOutcome {
    let why = match e {
        RepoError::Refused { rule, .. } => format!("refused ({})", rule.name()),
        RepoError::NotFound { .. } => "not found".to_string(),
        RepoError::NotAFile { .. } => "a directory".to_string(),
        RepoError::EmptyPath => "empty path".to_string(),
        RepoError::Io { .. } | RepoError::Root { .. } | RepoError::DenyGlob { .. } => {
            "unreadable".to_string()
        }
    };
    error(e.to_string(), format!("{verb} {}: {why}", cut(path, 80)))
}

fn list_files(repo: &Repo, a: ListArgs, cap: usize) -> ToolOutcome {
    let label = match &a.glob {
        Some(g) => format!("list {}", cut(g, 60)),
        None => "list".to_string(),
    };
    let filter = match PathFilter::new(a.glob.as_deref()) {
        Ok(f) => f,
        Err(e) => return error(e, format!("{label}: bad glob")),
    };
    let limit = a.limit.unwrap_or(LIST_DEFAULT).clamp(1, LIST_MAX);
    let mut shown = String::new();
    let (mut total, mut listed) = (0usize, 0usize);
    repo.walk(|item| {
        if item.refused.is_none() && filter.matches(&item.rel) {
            total += 1;
            // Room for the footer line.
            if listed < limit && shown.len() + item.rel.len() + 120 < cap {
                shown.push_str(&item.rel);
                shown.push('\n');
                listed += 1;
            }
        }
        ControlFlow::Continue(())
    });
    if total == 0 {
        let content = match &a.glob {
            Some(g) => {
                format!("No file matches `{g}`; list_files without a glob shows every file.")
            }
            None => "The project has no files a model may read.".to_string(),
        };
        return ok(content, format!("{label}: 0 files"));
    }
    if listed < total {
        shown.push_str(&format!(
            "[{listed} of {total} files shown; narrow with a glob, or raise limit]\n"
        ));
    } else {
        shown.push_str(&format!("[{total} files]\n"));
    }
    ok(shown, format!("{label}: {total} files"))
}

fn read_file(repo: &Repo, a: ReadArgs, cap: usize) -> ToolOutcome {
    let verb = "read";
    if a.start_line == Some(0) || a.end_line == Some(0) {
        return error(
            "Lines are numbered from 1; give start_line and end_line of 1 or more.".to_string(),
            format!("{verb} {}: bad range", cut(&a.path, 80)),
        );
    }
    if let (Some(s), Some(e)) = (a.start_line, a.end_line)
        && e < s
    {
        return error(
            format!("end_line {e} is before start_line {s}; give end_line >= start_line."),
            format!("{verb} {}: bad range", cut(&a.path, 80)),
        );
    }
    // Room for the header and the footer.
    let body_cap = cap.saturating_sub(200).max(64);
    let range = match repo.read_lines(&a.path, a.start_line, a.end_line, body_cap) {
        Ok(r) => r,
        Err(e) => return path_error(verb, &a.path, &e),
    };
    if range.lines_in_file == Some(0) {
        return ok(
            format!("{} is an empty file\n", range.path),
            format!("{verb} {}: empty", range.path),
        );
    }
    if range.last < range.first {
        let lines = range.lines_in_file.unwrap_or(0);
        return error(
            format!(
                "`{}` has {lines} lines; start_line {} is past its end.",
                range.path, range.first
            ),
            format!("{verb} {}: past the end ({lines} lines)", range.path),
        );
    }
    let of = range
        .lines_in_file
        .map(|n| format!(" of {n}"))
        .unwrap_or_default();
    let mut content = format!(
        "{} lines {}-{}{of}\n{}",
        range.path, range.first, range.last, range.text
    );
    if let Some(next) = range.next {
        content.push_str(&format!(
            "[output cut at {} after line {}; call read_file with start_line={next} for more]\n",
            size(body_cap as u64),
            range.last
        ));
    }
    let summary = format!("{verb} {}:{}-{}", range.path, range.first, range.last);
    ok(content, summary)
}

fn search_tool(repo: &Repo, a: SearchArgs, cap: usize) -> ToolOutcome {
    let max = a.max_results.unwrap_or(SEARCH_DEFAULT).clamp(1, SEARCH_MAX);
    let found = search::search(repo, &a.pattern, a.glob.as_deref(), max, cap);
    let mut label = format!("search /{}/", cut(&a.pattern, 60));
    if let Some(g) = &a.glob {
        label.push_str(&format!(" in {}", cut(g, 40)));
    }
    if found.error {
        let why = if found.matches > 0 {
            format!("error after {} matches", found.matches)
        } else {
            "error".to_string()
        };
        return error(found.content, format!("{label}: {why}"));
    }
    ok(found.content, format!("{label}: {} matches", found.matches))
}

fn outline_tool(repo: &Repo, a: OutlineArgs) -> ToolOutcome {
    let verb = "outline";
    let resolved = match repo.resolve(&a.path) {
        Ok(r) => r,
        Err(e) => return path_error(verb, &a.path, &e),
    };
    let language = Language::of_path(&resolved.rel).filter(|l| outline::supports(*l));
    let Some(language) = language else {
        let what = Language::of_path(&resolved.rel)
            .map(|l| format!("a {} file", l.name()))
            .unwrap_or_else(|| "not a recognised source file".to_string());
        return error(
            format!(
                "`{}` is {what}; outline supports {}. Read it with read_file or search it instead.",
                resolved.rel,
                outline::supported_names()
            ),
            format!("{verb} {}: unsupported language", resolved.rel),
        );
    };
    let text = match read_text(&resolved.path, &a.path, repo.policy().max_read_bytes) {
        Ok(t) => t,
        Err(e) => return path_error(verb, &a.path, &e),
    };
    let Some(symbols) = outline::outline(language, &text) else {
        return error(
            format!(
                "`{}` could not be parsed as {}; read it with read_file instead.",
                resolved.rel,
                language.name()
            ),
            format!("{verb} {}: parse failed", resolved.rel),
        );
    };
    let flat = outline::flatten(&symbols);
    let lines = text.lines().count();
    let mut content = format!("{} ({}, {lines} lines)\n", resolved.rel, language.name());
    if flat.is_empty() {
        content.push_str("[no functions, classes or types in this file; read it with read_file]\n");
    }
    for (depth, s) in &flat {
        content.push_str(&format!(
            "{}{} {} {}-{}\n",
            "  ".repeat(*depth),
            s.kind.word(),
            s.name,
            s.start_line,
            s.end_line
        ));
    }
    ok(
        content,
        format!("{verb} {}: {} symbols", resolved.rel, flat.len()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::Policy;

    fn toolbox(budget: Budget) -> (tempfile::TempDir, ToolBox) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.py"), "def f():\n    return 1\n").unwrap();
        let repo = Repo::open(dir.path(), Policy::default()).unwrap();
        (dir, ToolBox::new(repo, budget))
    }

    #[test]
    fn definitions_are_openai_functions_with_closed_schemas() {
        let defs = ToolBox::definitions();
        let names: Vec<&str> = defs
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["function"]["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, NAMES);
        for d in defs.as_array().unwrap() {
            assert_eq!(d["type"], "function");
            let params = &d["function"]["parameters"];
            assert_eq!(params["type"], "object");
            assert_eq!(params["additionalProperties"], false);
            for r in params["required"].as_array().unwrap() {
                assert!(params["properties"].get(r.as_str().unwrap()).is_some());
            }
        }
    }

    #[test]
    fn unknown_tools_and_bad_arguments_are_readable_errors() {
        let (_d, mut tb) = toolbox(Budget::default());
        let o = tb.call("delete_file", "{}");
        assert!(o.is_error);
        assert!(o.content.contains("read_file"), "{}", o.content);
        let o = tb.call("read_file", "{not json");
        assert!(
            o.is_error && o.content.contains("read_file"),
            "{}",
            o.content
        );
        let o = tb.call("read_file", "{}");
        assert!(
            o.is_error && o.content.contains("missing field `path`"),
            "{}",
            o.content
        );
        let o = tb.call("read_file", r#"{"path": "a.py", "colour": 1}"#);
        assert!(o.is_error && o.content.contains("colour"), "{}", o.content);
        let o = tb.call("read_file", r#"{"path": "a.py", "start_line": 0}"#);
        assert!(o.is_error, "{}", o.content);
        let o = tb.call("read_file", r#"{"path": "a.py", "start_line": 9}"#);
        assert!(
            o.is_error && o.content.contains("has 2 lines"),
            "{}",
            o.content
        );
        assert_eq!(tb.usage().calls, 6);
    }

    #[test]
    fn numbers_given_as_strings_are_accepted() {
        let (_d, mut tb) = toolbox(Budget::default());
        let o = tb.call(
            "read_file",
            r#"{"path": "a.py", "start_line": "2", "end_line": 2.0}"#,
        );
        assert!(!o.is_error, "{}", o.content);
        assert_eq!(o.content, "a.py lines 2-2\n     2\t    return 1\n");
        assert_eq!(o.summary, "read a.py:2-2 (35 B)");
    }

    #[test]
    fn the_call_budget_ends_with_an_error_telling_the_model_to_answer() {
        let (_d, mut tb) = toolbox(Budget {
            max_calls: 2,
            max_bytes: 100_000,
        });
        assert!(!tb.call("list_files", "").is_error);
        assert!(!tb.call("list_files", "{}").is_error);
        let o = tb.call("list_files", "{}");
        assert!(
            o.is_error && o.content.contains("Answer now"),
            "{}",
            o.content
        );
        assert_eq!(tb.usage().calls, 2);
    }

    #[test]
    fn the_byte_budget_caps_output_then_refuses() {
        let (_d, mut tb) = toolbox(Budget {
            max_calls: 100,
            max_bytes: 300,
        });
        let first = tb.call("read_file", r#"{"path": "a.py"}"#);
        assert!(!first.is_error);
        let o = tb.call("read_file", r#"{"path": "a.py"}"#);
        assert!(
            o.is_error && o.content.contains("Answer now"),
            "{}",
            o.content
        );
    }

    #[test]
    fn replayed_outcomes_count_against_the_budget() {
        let (_d, mut tb) = toolbox(Budget::default());
        tb.count_replayed(&ToolOutcome {
            content: "x".repeat(10),
            is_error: false,
            summary: String::new(),
        });
        assert_eq!(
            tb.usage(),
            Usage {
                calls: 1,
                bytes: 10
            }
        );
    }
}
