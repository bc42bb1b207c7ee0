//! The repository tools and the context pack on a real codebase written outside this project:
//! the readtime library (`tests/fixtures/readtime`, see `tests/fixtures/NOTICE`), copied into a
//! temporary directory per test so a test can add what a real project may hold (a `.env`, a
//! binary, a symlink out, a 50 MB log) without touching the fixture.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use repo::index::{CacheStatus, Index, Limit, SkipReason};
use repo::{Budget, IndexLimits, Policy, Repo, Rule, ToolBox, ToolOutcome};
use serde_json::json;

/// A copy of the readtime project in a temporary directory.
struct Project {
    dir: tempfile::TempDir,
    policy: Policy,
}

impl Project {
    fn readtime() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/readtime");
        copy_tree(&fixture, &dir.path().join("project"));
        Self {
            dir,
            policy: Policy::default(),
        }
    }

    fn root(&self) -> PathBuf {
        self.dir.path().join("project")
    }

    fn cache(&self) -> PathBuf {
        self.root().join(".agentmux/index")
    }

    fn file(self, rel: &str, bytes: impl AsRef<[u8]>) -> Self {
        let path = self.root().join(rel);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, bytes).expect("write");
        self
    }

    /// A file of `total` bytes of `line` repeated, written in pieces (never whole in memory).
    fn big_file(self, rel: &str, line: &str, total: usize) -> Self {
        let path = self.root().join(rel);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        let mut f = std::fs::File::create(path).expect("create");
        let piece = line.repeat(1024 * 1024 / line.len());
        let mut written = 0;
        while written < total {
            f.write_all(piece.as_bytes()).expect("write");
            written += piece.len();
        }
        self
    }

    fn outside(self, name: &str, text: &str) -> Self {
        std::fs::write(self.dir.path().join(name), text).expect("write outside");
        self
    }

    fn symlink(self, link: &str, target: &str) -> Self {
        std::os::unix::fs::symlink(target, self.root().join(link)).expect("symlink");
        self
    }

    fn policy(mut self, policy: Policy) -> Self {
        self.policy = policy;
        self
    }

    fn repo(&self) -> Repo {
        Repo::open(self.root(), self.policy.clone()).expect("open repo")
    }

    fn tools(&self) -> ToolBox {
        ToolBox::new(self.repo(), Budget::default())
    }
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read fixture") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

fn call(tools: &mut ToolBox, name: &str, args: serde_json::Value) -> ToolOutcome {
    tools.call(name, &args.to_string())
}

#[track_caller]
fn assert_refused(o: &ToolOutcome, path: &str, words: &str) {
    assert!(o.is_error, "expected an error, got {o:?}");
    assert!(
        o.content.contains(&format!("`{path}`")),
        "the message names the path: {}",
        o.content
    );
    assert!(
        o.content.contains(words),
        "the message says {words:?}: {}",
        o.content
    );
}

// ---- read_file, search, outline, list_files on the real code ----

#[test]
fn read_file_returns_the_real_lines_numbered() {
    let project = Project::readtime();
    let mut tools = project.tools();
    let o = call(
        &mut tools,
        "read_file",
        json!({"path": "readtime/utils.py", "start_line": 66, "end_line": 68}),
    );
    assert!(!o.is_error, "{}", o.content);
    assert_eq!(
        o.content,
        "readtime/utils.py lines 66-68\n    66\tdef read_time_as_seconds(text, images=0, wpm=265):\n    67\t    \"\"\"\n    68\t    Calculate the estimated reading time in seconds for a given text.\n"
    );
    assert_eq!(o.summary, "read readtime/utils.py:66-68 (180 B)");

    let empty = call(
        &mut tools,
        "read_file",
        json!({"path": "readtime/__init__.py"}),
    );
    assert_eq!(
        (empty.content.as_str(), empty.is_error),
        ("readtime/__init__.py is an empty file\n", false)
    );

    let whole = call(
        &mut tools,
        "read_file",
        json!({"path": "./readtime/api.py"}),
    );
    assert!(
        whole
            .content
            .starts_with("readtime/api.py lines 1-54 of 54\n"),
        "{}",
        whole.content
    );
    assert!(
        whole
            .content
            .contains("    15\tdef of_text(text, wpm=265):\n")
    );
}

#[test]
fn search_finds_a_real_function() {
    let project = Project::readtime();
    let mut tools = project.tools();
    let o = call(
        &mut tools,
        "search",
        json!({"pattern": r"def read_time\w*\(", "glob": "*.py"}),
    );
    assert!(!o.is_error, "{}", o.content);
    assert_eq!(
        o.content,
        "readtime/utils.py:26: def read_time(content, format=None, wpm=265):\n\
         readtime/utils.py:66: def read_time_as_seconds(text, images=0, wpm=265):\n\
         [2 matches in 1 files]"
    );
    assert_eq!(
        o.summary,
        r"search /def read_time\w*\(/ in *.py: 2 matches (163 B)"
    );
}

#[test]
fn outline_lists_readtimes_functions_with_their_lines() {
    let project = Project::readtime();
    let mut tools = project.tools();
    let o = call(&mut tools, "outline", json!({"path": "readtime/utils.py"}));
    assert_eq!(
        o.content,
        "readtime/utils.py (Python, 128 lines)\n\
         const DEFAULT_WPM 22-22\n\
         const WORD_DELIMITER 23-23\n\
         function read_time 26-63\n\
         function read_time_as_seconds 66-93\n\
         function parse_html 96-128\n"
    );
    let o = call(&mut tools, "outline", json!({"path": "readtime/result.py"}));
    assert!(
        o.content
            .contains("class Result 17-99\n  method __init__ 20-23\n"),
        "{}",
        o.content
    );
    // A decorated method starts at its decorator.
    assert!(
        o.content.contains("  method seconds 31-39\n"),
        "{}",
        o.content
    );
    assert_eq!(o.summary, "outline readtime/result.py: 9 symbols (261 B)");
}

#[test]
fn outline_of_an_unsupported_language_is_a_clear_error() {
    let project = Project::readtime();
    let mut tools = project.tools();
    let o = call(&mut tools, "outline", json!({"path": "README.md"}));
    assert!(o.is_error);
    assert!(
        o.content.contains(
            "`README.md` is a Markdown file; outline supports Python (.py), Rust (.rs), JavaScript (.js, .jsx, .mjs, .cjs) and Go (.go)"
        ),
        "{}",
        o.content
    );
}

#[test]
fn list_files_applies_the_ignore_files_and_leaves_internals_out() {
    let project = Project::readtime()
        .file("readtime/__pycache__/api.cpython-312.pyc", b"\x00\x01")
        .file(".git/config", "[core]\n")
        .file(".agentmux/index/chunks.json", "{}")
        .file(".env", "API_KEY=sk-123\n");
    let mut tools = project.tools();
    let o = call(&mut tools, "list_files", json!({"glob": "readtime"}));
    assert_eq!(
        o.content,
        "readtime/__init__.py\nreadtime/api.py\nreadtime/result.py\nreadtime/utils.py\n[4 files]\n"
    );
    let all = call(&mut tools, "list_files", json!({}));
    for hidden in ["__pycache__", ".git/", ".agentmux", ".env"] {
        assert!(
            !all.content.contains(hidden),
            "{hidden} listed: {}",
            all.content
        );
    }
    let o = call(
        &mut tools,
        "list_files",
        json!({"glob": "*.py", "limit": 2}),
    );
    assert!(
        o.content
            .ends_with("[2 of 9 files shown; narrow with a glob, or raise limit]\n"),
        "{}",
        o.content
    );
}

// ---- refusals: each is a tool error naming the path, the rule and what to do instead ----

#[test]
fn a_parent_dir_escape_is_refused() {
    let project = Project::readtime().outside("secret.txt", "top secret");
    let mut tools = project.tools();
    let o = call(&mut tools, "read_file", json!({"path": "../secret.txt"}));
    assert_refused(&o, "../secret.txt", "`..` would leave the project");
    assert_eq!(o.summary, "read ../secret.txt: refused (parent dir)");
    let o = call(
        &mut tools,
        "read_file",
        json!({"path": "readtime/../../secret.txt"}),
    );
    assert!(o.is_error && !o.content.contains("top secret"));
}

#[test]
fn an_absolute_path_is_refused() {
    let project = Project::readtime();
    let mut tools = project.tools();
    let o = call(&mut tools, "read_file", json!({"path": "/etc/passwd"}));
    assert_refused(&o, "/etc/passwd", "absolute paths are not allowed");
    let o = call(&mut tools, "outline", json!({"path": "/etc/passwd"}));
    assert!(o.is_error);
}

#[test]
fn a_symlink_pointing_outside_is_refused_and_not_listed() {
    let project = Project::readtime()
        .outside("secret.txt", "top secret")
        .symlink("notes.txt", "../secret.txt")
        .symlink("inside.py", "readtime/api.py");
    let mut tools = project.tools();
    let o = call(&mut tools, "read_file", json!({"path": "notes.txt"}));
    assert_refused(&o, "notes.txt", "resolves outside the project");
    assert!(!o.content.contains("top secret"));
    let listed = call(&mut tools, "list_files", json!({}));
    assert!(!listed.content.contains("notes.txt"), "{}", listed.content);
    assert!(
        listed.content.contains("inside.py"),
        "a link inside is fine"
    );
    let found = call(&mut tools, "search", json!({"pattern": "top secret"}));
    assert!(found.content.starts_with("[no match"), "{}", found.content);
}

#[test]
fn a_dotenv_file_is_refused_even_through_a_symlink() {
    let project = Project::readtime()
        .file(".env", "API_KEY=sk-123\n")
        .file("config/.env.production", "API_KEY=sk-456\n")
        .symlink("settings.txt", ".env");
    let mut tools = project.tools();
    let o = call(&mut tools, "read_file", json!({"path": ".env"}));
    assert_eq!(
        o.content,
        "`.env` is refused: files that look like secrets (`.env*`) are never shown; read the code that loads it instead"
    );
    assert_eq!(o.summary, "read .env: refused (secret)");
    let o = call(&mut tools, "read_file", json!({"path": "settings.txt"}));
    assert_refused(&o, "settings.txt", "look like secrets");
    let o = call(&mut tools, "search", json!({"pattern": "API_KEY"}));
    assert!(!o.content.contains("sk-"), "{}", o.content);
    assert!(o.content.starts_with("[no match"), "{}", o.content);
}

#[test]
fn the_configured_deny_list_is_refused_too() {
    let project = Project::readtime().policy(Policy {
        deny: vec!["samples/**".to_string()],
        ..Policy::default()
    });
    let mut tools = project.tools();
    let o = call(
        &mut tools,
        "read_file",
        json!({"path": "samples/markdown.md"}),
    );
    assert_refused(
        &o,
        "samples/markdown.md",
        "the project's deny list matches it (`samples/**`)",
    );
}

#[test]
fn a_binary_is_refused() {
    let mut png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR".to_vec();
    png.extend([0u8; 64]);
    let project = Project::readtime()
        .file("docs/logo.png", &png)
        .file("docs/latin1.txt", b"caf\xe9\n");
    let mut tools = project.tools();
    let o = call(&mut tools, "read_file", json!({"path": "docs/logo.png"}));
    assert_refused(
        &o,
        "docs/logo.png",
        "binary file (a NUL byte in its first 8 KiB)",
    );
    let o = call(&mut tools, "read_file", json!({"path": "docs/latin1.txt"}));
    assert_refused(&o, "docs/latin1.txt", "not UTF-8 text");
}

#[test]
fn a_named_pipe_is_refused_not_read() {
    let project = Project::readtime();
    let fifo = project.root().join("events.pipe");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status();
    if !made.is_ok_and(|s| s.success()) {
        eprintln!("mkfifo is not available; skipped");
        return;
    }
    let mut tools = project.tools();
    // Opening a pipe with no writer would block this call forever.
    let o = call(&mut tools, "read_file", json!({"path": "events.pipe"}));
    assert_refused(&o, "events.pipe", "not a regular file");
    let listed = call(&mut tools, "list_files", json!({}));
    assert!(!listed.content.contains("events.pipe"));
}

/// The high-water mark of this process's resident memory, in bytes (Linux).
fn peak_rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

#[test]
fn a_fifty_mb_file_is_refused_whole_but_a_line_range_streams() {
    let line = "2024-01-01T00:00:00Z INFO request served in 12 ms by worker 7\n";
    let project = Project::readtime().big_file("server.log", line, 50 * 1024 * 1024);
    let mut tools = project.tools();
    let o = call(&mut tools, "read_file", json!({"path": "server.log"}));
    assert_refused(
        &o,
        "server.log",
        "over the 1.0 MB limit for a whole read; read a line range",
    );

    let before = peak_rss();
    let o = call(
        &mut tools,
        "read_file",
        json!({"path": "server.log", "start_line": 2, "end_line": 3}),
    );
    assert!(!o.is_error, "{}", o.content);
    assert_eq!(
        o.content,
        format!("server.log lines 2-3\n     2\t{line}     3\t{line}")
    );
    // The end of the file streams too, holding only what is shown.
    let far = call(
        &mut tools,
        "read_file",
        json!({"path": "server.log", "start_line": 800_000, "end_line": 800_001}),
    );
    assert!(
        !far.is_error && far.content.contains("800001\t2024"),
        "{}",
        far.content
    );
    if let (Some(before), Some(after)) = (before, peak_rss()) {
        assert!(
            after.saturating_sub(before) < 16 * 1024 * 1024,
            "peak memory grew by {} bytes reading line ranges of a 50 MB file",
            after - before
        );
    }
    let o = call(&mut tools, "search", json!({"pattern": "worker 7"}));
    assert!(
        o.content
            .contains("not searched, over 8.0 MB: `server.log`"),
        "{}",
        o.content
    );
}

#[test]
fn a_runaway_regex_is_a_tool_error_not_a_hang() {
    let project = Project::readtime()
        .big_file(
            "data/aaaa.txt",
            &format!("{}\n", "a".repeat(99)),
            30 * 1024 * 1024,
        )
        .policy(Policy {
            search_timeout: Duration::from_millis(20),
            max_search_file_bytes: 64 * 1024 * 1024,
            ..Policy::default()
        });
    let mut tools = project.tools();
    // Over a large input, a deadline stops it.
    let started = Instant::now();
    let o = call(&mut tools, "search", json!({"pattern": "(a*)*b"}));
    assert!(o.is_error, "{}", o.content);
    assert!(
        o.content.contains("the search timed out after"),
        "{}",
        o.content
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    // A pattern that compiles huge is refused before it runs.
    let o = call(&mut tools, "search", json!({"pattern": r"(\w{100}){100}"}));
    assert!(o.is_error);
    assert!(o.content.contains("exceeds size limit"), "{}", o.content);
    // So is an oversized pattern.
    let o = call(&mut tools, "search", json!({"pattern": "a".repeat(400)}));
    assert!(o.is_error);
    assert!(o.content.contains("over the 300 limit"), "{}", o.content);
    // The session goes on: the next call works.
    let o = call(
        &mut tools,
        "search",
        json!({"pattern": "def of_text", "glob": "readtime"}),
    );
    assert!(
        !o.is_error && o.content.starts_with("readtime/api.py:15:"),
        "{}",
        o.content
    );
}

#[test]
fn refusals_are_typed_errors_naming_the_rule() {
    let project = Project::readtime().file(".env.local", "X=1\n");
    let repo = project.repo();
    let err = repo.read_to_string(".env.local").expect_err("refused");
    assert_eq!(
        err.rule(),
        Some(&Rule::Secret {
            pattern: ".env*".to_string()
        })
    );
    assert!(matches!(
        repo.read_to_string("../x").expect_err("refused").rule(),
        Some(Rule::ParentDir)
    ));
}

// ---- the context pack ----

const QUERY: &str = "Reading time for CJK text: count characters instead of words per minute";

#[test]
fn the_pack_for_a_reading_time_goal_holds_the_function_that_computes_it() {
    let project = Project::readtime();
    let (index, stats) = Index::build_or_update(&project.repo(), &project.cache()).expect("index");
    assert_eq!(stats.files, 17, "{stats}");
    let pack = index.pack(QUERY, 2000);
    let rendered = pack.render();
    let cited: Vec<String> = pack.excerpts.iter().map(|e| e.citation()).collect();
    assert!(
        cited.contains(&"readtime/utils.py:66-93".to_string()),
        "read_time_as_seconds is in the pack: {cited:?}"
    );
    assert!(rendered.contains(
        "readtime/utils.py:66-93\n```python\ndef read_time_as_seconds(text, images=0, wpm=265):\n"
    ));
    assert!(pack.tokens() <= 2000, "{} tokens", pack.tokens());
    // The summary heads it.
    assert!(
        rendered.starts_with("## Repository summary\n\n- Files: 17\n- Languages: Python (9 files)"),
        "{rendered}"
    );
    assert!(
        rendered.contains(
            "- Dependencies in `docs/requirements.txt`: beautifulsoup4, pyquery, markdown2, lxml\n"
        ),
        "{rendered}"
    );
    assert!(
        rendered.contains("- Packages: readtime/ (Python package)\n"),
        "{rendered}"
    );
    assert!(
        rendered.contains("- Tests: acceptance_tests/ (1 file), unit_tests/ (3 files)\n"),
        "{rendered}"
    );
}

#[test]
fn the_pack_renders_the_same_bytes_from_a_fresh_or_a_cached_index() {
    let project = Project::readtime();
    let repo = project.repo();
    let (fresh, _) = Index::build_or_update(&repo, &project.cache()).expect("index");
    let (cached, stats) = Index::build_or_update(&repo, &project.cache()).expect("index");
    assert_eq!(stats.cache, CacheStatus::Loaded);
    assert!(stats.rechunked.is_empty());
    let other = tempfile::tempdir().expect("dir");
    let (elsewhere, _) = Index::build_or_update(&repo, other.path()).expect("index");
    let a = fresh.pack(QUERY, 1200).render();
    assert_eq!(a, cached.pack(QUERY, 1200).render());
    assert_eq!(a, elsewhere.pack(QUERY, 1200).render());
    insta::assert_snapshot!("readtime_pack", a);
}

#[test]
fn an_update_rechunks_only_the_changed_file_and_drops_removed_ones() {
    let project = Project::readtime();
    let repo = project.repo();
    let (_, first) = Index::build_or_update(&repo, &project.cache()).expect("index");
    assert_eq!(first.rechunked.len(), 17);
    assert_eq!(first.cache, CacheStatus::Missing);

    let api = project.root().join("readtime/api.py");
    let text = std::fs::read_to_string(&api).expect("read");
    std::fs::write(&api, text.replace("def of_text(", "def of_plain_text(")).expect("write");
    std::fs::remove_file(project.root().join("examples/demo.sh")).expect("remove");
    let (index, second) = Index::build_or_update(&repo, &project.cache()).expect("index");
    assert_eq!(second.rechunked, ["readtime/api.py"]);
    assert_eq!((second.reused, second.dropped, second.files), (15, 1, 16));
    assert!(
        index
            .pack("of_plain_text", 500)
            .render()
            .contains("def of_plain_text("),
        "the changed file's new text is indexed"
    );

    let cache_file = project.cache().join("chunks.json");
    let written = std::fs::metadata(&cache_file)
        .and_then(|m| m.modified())
        .expect("mtime");
    let (_, third) = Index::build_or_update(&repo, &project.cache()).expect("index");
    assert!(third.rechunked.is_empty() && third.dropped == 0);
    assert_eq!(
        std::fs::metadata(&cache_file)
            .and_then(|m| m.modified())
            .expect("mtime"),
        written,
        "an unchanged repository does not rewrite the cache"
    );
}

#[test]
fn a_corrupt_cache_is_rebuilt_not_an_error() {
    let project = Project::readtime().file(".agentmux/index/chunks.json", "{not json");
    let (_, stats) = Index::build_or_update(&project.repo(), &project.cache()).expect("index");
    assert!(
        matches!(stats.cache, CacheStatus::Discarded { .. }),
        "{:?}",
        stats.cache
    );
    assert_eq!(stats.rechunked.len(), 17);
}

#[test]
fn the_index_says_what_it_skipped_and_where_a_limit_stopped_it() {
    let project = Project::readtime()
        .file(".env", "API_KEY=sk-123\n")
        .file("docs/logo.png", b"\x89PNG\x00\x00")
        .big_file("server.log", "log line\n", 2 * 1024 * 1024);
    let (_, stats) = Index::build_or_update(&project.repo(), &project.cache()).expect("index");
    let skipped: Vec<(&str, &str)> = stats
        .skipped
        .iter()
        .map(|s| (s.path.as_str(), s.reason.name()))
        .collect();
    assert_eq!(
        skipped,
        [
            (".env", "secret"),
            ("docs/logo.png", "binary"),
            ("server.log", "too large")
        ]
    );
    assert!(matches!(
        stats.skipped[2].reason,
        SkipReason::TooLarge { .. }
    ));
    assert!(
        stats
            .to_string()
            .contains("skipped 3 (1 binary, 1 secret, 1 too large)"),
        "{stats}"
    );

    let limited = Project::readtime().policy(Policy {
        index: IndexLimits {
            max_files: 3,
            ..IndexLimits::default()
        },
        ..Policy::default()
    });
    let (index, stats) = Index::build_or_update(&limited.repo(), &limited.cache()).expect("index");
    assert_eq!(stats.files, 3);
    let stopped = stats.stopped.clone().expect("stopped");
    assert_eq!(stopped.limit, Limit::MaxFiles(3));
    assert!(
        stats.to_string().contains(&format!(
            "stopped at the 3-file limit: `{}` and the files after it are not indexed",
            stopped.at
        )),
        "{stats}"
    );
    assert_eq!(
        index
            .chunks()
            .map(|c| c.path)
            .collect::<std::collections::BTreeSet<_>>()
            .len(),
        3
    );

    // A stopped walk keeps the cache entries of the files it did not reach: after a complete
    // build, a limited run and then a complete one again, nothing is chunked twice.
    let project = Project::readtime();
    Index::build_or_update(&project.repo(), &project.cache()).expect("index");
    let limited_repo = Repo::open(project.root(), limited.policy.clone()).expect("open");
    let (_, stats) = Index::build_or_update(&limited_repo, &project.cache()).expect("index");
    assert!(stats.stopped.is_some() && stats.dropped == 0, "{stats}");
    let (_, stats) = Index::build_or_update(&project.repo(), &project.cache()).expect("index");
    assert!(stats.rechunked.is_empty(), "{stats}");
    assert_eq!(stats.reused, 17);
}
