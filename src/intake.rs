//! Intake: the inputs a session starts from, read once and bounded.
//!
//! The agents never read the project themselves; they see what intake gives them. [`digest`]
//! condenses the codebase (README, build manifests, file tree, `docs/**/*.md`) into a token budget
//! and says what it left out, and [`load_prd`] reads a PRD and refuses files that are not text.
//! A PRD over the budget is summarised by a task (see [`needs_summary`]), never silently cut.

use std::path::{Path, PathBuf};

use protocol::error::{Error, Result};

/// Directories never listed or read.
const SKIP_DIRS: [&str; 12] = [
    ".git",
    "target",
    "node_modules",
    ".agentmux",
    ".venv",
    "venv",
    "__pycache__",
    ".mypy_cache",
    ".pytest_cache",
    ".tox",
    ".idea",
    ".vscode",
];

/// Build manifests that tell the agents the language, dependencies and layout.
const MANIFESTS: [&str; 16] = [
    "Cargo.toml",
    "package.json",
    "pyproject.toml",
    "setup.py",
    "setup.cfg",
    "requirements.txt",
    "go.mod",
    "pom.xml",
    "build.gradle",
    "build.gradle.kts",
    "Gemfile",
    "composer.json",
    "CMakeLists.txt",
    "Makefile",
    "mix.exs",
    "Package.swift",
];

const READMES: [&str; 5] = [
    "README.md",
    "README.rst",
    "README.txt",
    "README",
    "readme.md",
];

/// Most entries walked for the file tree (keeps intake fast on huge repositories).
const MAX_TREE_ENTRIES: usize = 3000;
const MAX_TREE_DEPTH: usize = 6;
/// Files larger than this are not read into the digest.
const MAX_FILE_BYTES: u64 = 1 << 20;

/// A bounded summary of the codebase for prompts.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Digest {
    /// Markdown: sections for the README, manifests, the file tree and docs.
    pub text: String,
    /// `protocol::estimate_tokens(text)`; never more than the budget.
    pub tokens: u32,
    /// Files (relative paths) included in full or in part.
    pub included: Vec<String>,
    /// What was cut or left out, e.g. `README.md (1,200 of 9,000 characters)`.
    pub truncated: Vec<String>,
}

/// Room kept for the closing "Not shown in full" note.
const NOTE_ROOM: usize = 400;
/// Longest truncation marker appended to a section.
const MARKER_ROOM: usize = 70;

/// Accumulates digest sections within a character budget.
struct Builder {
    left: usize,
    text: String,
    out: Digest,
}

impl Builder {
    /// Adds a fenced section of at most `cap` characters (and at most what is left).
    fn section(&mut self, title: &str, body: &str, cap: usize, label: &str) {
        // A fence longer than any backtick run in the file, so a README's own code blocks
        // cannot close it.
        let longest = body.split(|c| c != '`').map(str::len).max().unwrap_or(0);
        let ticks = "`".repeat(longest.max(2) + 1);
        let header = format!("### {title}\n{ticks}\n");
        let footer = format!("\n{ticks}\n\n");
        let overhead = header.chars().count() + footer.len() + MARKER_ROOM;
        let avail = cap.min(self.left);
        if avail < overhead + 40 {
            self.out
                .truncated
                .push(format!("{label} (left out: over the budget)"));
            return;
        }
        let body = body.trim_end();
        let kept = cut_chars(body, avail - overhead).trim_end();
        let (full, shown) = (body.chars().count(), kept.chars().count());
        let mut s = header;
        s.push_str(kept);
        if shown < full {
            s.push_str(&format!(
                "\n[... truncated: {shown} of {full} characters shown]"
            ));
            self.out
                .truncated
                .push(format!("{label} ({shown} of {full} characters)"));
        }
        s.push_str(&footer);
        self.left -= s.chars().count().min(self.left);
        self.text.push_str(&s);
        self.out.included.push(label.to_string());
    }
}

/// The longest prefix of `s` with at most `limit` characters, ending at a line break when one
/// is in the second half.
fn cut_chars(s: &str, limit: usize) -> &str {
    if s.chars().count() <= limit {
        return s;
    }
    let byte_end = s
        .char_indices()
        .nth(limit)
        .map(|(i, _)| i)
        .unwrap_or(s.len());
    let prefix = &s[..byte_end];
    match prefix.rfind('\n') {
        Some(nl) if nl >= byte_end / 2 => &prefix[..nl + 1],
        _ => prefix,
    }
}

/// Builds the digest of `project_dir` within `budget_tokens`: the README, build manifests,
/// the file tree, then `docs/**/*.md` (and `doc/`) with whatever budget is left.
pub(crate) fn digest(project_dir: &Path, budget_tokens: u32) -> Digest {
    let total = budget_tokens as usize * 4;
    let mut b = Builder {
        left: total.saturating_sub(NOTE_ROOM),
        text: String::new(),
        out: Digest::default(),
    };
    if let Some((name, body)) = READMES
        .iter()
        .find_map(|n| read_text(&project_dir.join(n)).map(|body| (*n, body)))
    {
        b.section(name, &body, total * 35 / 100, name);
    }
    for name in MANIFESTS {
        if let Some(body) = read_text(&project_dir.join(name)) {
            b.section(name, &body, total * 12 / 100, name);
        }
    }
    let (tree, entries, complete) = file_tree(project_dir);
    if !tree.is_empty() {
        b.section("File tree", &tree, total * 25 / 100, "file tree");
        if !complete {
            b.out
                .truncated
                .push(format!("file tree (walk stopped after {entries} entries)"));
        }
    }
    for dir in ["docs", "doc"] {
        for path in markdown_files(&project_dir.join(dir)) {
            let rel = path
                .strip_prefix(project_dir)
                .map(|p| p.display().to_string())
                .unwrap_or_else(|_| path.display().to_string());
            match read_text(&path) {
                Some(body) => {
                    let cap = b.left;
                    b.section(&rel, &body, cap, &rel);
                }
                None => b
                    .out
                    .truncated
                    .push(format!("{rel} (left out: not UTF-8 text or over 1 MiB)")),
            }
        }
    }
    let Builder {
        mut text, mut out, ..
    } = b;
    if !out.truncated.is_empty() {
        let list = out.truncated.join("; ");
        let note = format!("Not shown in full (budget {budget_tokens} tokens): {list}.\n");
        let note = if note.chars().count() > NOTE_ROOM.min(total) {
            format!(
                "{}...]\n",
                cut_chars(&note, NOTE_ROOM.min(total).saturating_sub(6)).trim_end()
            )
        } else {
            note
        };
        text.push_str(&note);
    }
    out.tokens = protocol::estimate_tokens(&text);
    out.text = text;
    out
}

fn read_text(path: &Path) -> Option<String> {
    let meta = std::fs::symlink_metadata(path).ok()?;
    if !meta.is_file() || meta.len() > MAX_FILE_BYTES {
        return None;
    }
    let bytes = std::fs::read(path).ok()?;
    if bytes.contains(&0) {
        return None;
    }
    String::from_utf8(bytes).ok()
}

/// An indented listing of the project, directories first, skipping build output and VCS data.
/// Returns (listing, entries walked, whether the walk completed).
fn file_tree(root: &Path) -> (String, usize, bool) {
    let mut out = String::new();
    let mut count = 0;
    let complete = walk_tree(root, 0, &mut out, &mut count);
    (out, count, complete)
}

fn walk_tree(dir: &Path, depth: usize, out: &mut String, count: &mut usize) -> bool {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return true;
    };
    let mut items: Vec<(bool, String, PathBuf)> = entries
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let ft = e.file_type().ok()?;
            if ft.is_symlink() {
                return Some((false, name, e.path()));
            }
            Some((ft.is_dir(), name, e.path()))
        })
        .filter(|(is_dir, name, _)| !(*is_dir && SKIP_DIRS.contains(&name.as_str())))
        .collect();
    items.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    for (is_dir, name, path) in items {
        if *count >= MAX_TREE_ENTRIES {
            return false;
        }
        *count += 1;
        out.push_str(&"  ".repeat(depth));
        out.push_str(&name);
        if is_dir {
            out.push('/');
            out.push('\n');
            if depth + 1 < MAX_TREE_DEPTH && !walk_tree(&path, depth + 1, out, count) {
                return false;
            }
        } else {
            out.push('\n');
        }
    }
    true
}

fn markdown_files(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    collect_markdown(dir, 0, &mut found);
    found.sort();
    found
}

fn collect_markdown(dir: &Path, depth: usize, found: &mut Vec<PathBuf>) {
    if depth > MAX_TREE_DEPTH || found.len() > 500 {
        return;
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.filter_map(|e| e.ok()) {
        let Ok(ft) = e.file_type() else { continue };
        let path = e.path();
        if ft.is_dir() {
            if !SKIP_DIRS.contains(&e.file_name().to_string_lossy().as_ref()) {
                collect_markdown(&path, depth + 1, found);
            }
        } else if ft.is_file() && path.extension().is_some_and(|x| x == "md") {
            found.push(path);
        }
    }
}

/// A product requirements document, read and checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Prd {
    pub path: PathBuf,
    pub text: String,
    pub tokens: u32,
}

/// Largest PRD accepted.
pub(crate) const MAX_PRD_BYTES: usize = 2 << 20;

/// Reads a PRD. Rejects, naming the file and the fix: a missing or unreadable file, a binary
/// file, text that is not UTF-8, an empty file, and anything over 2 MiB.
pub(crate) fn load_prd(path: &Path) -> Result<Prd> {
    let bad = |message: String| Error::Input {
        path: path.to_owned(),
        message,
    };
    let bytes = std::fs::read(path).map_err(|e| {
        bad(format!(
            "cannot read the PRD: {e}; pass an existing markdown file with --prd"
        ))
    })?;
    if bytes.len() > MAX_PRD_BYTES {
        return Err(bad(format!(
            "the PRD is {} bytes, over the 2 MiB limit; pass the requirements document itself, not an export or archive",
            bytes.len()
        )));
    }
    if let Some(at) = bytes.iter().position(|b| *b == 0) {
        return Err(bad(format!(
            "the PRD looks binary (a NUL byte at offset {at}); pass a markdown or plain-text file (convert PDF or Word documents to markdown first)"
        )));
    }
    let text = String::from_utf8(bytes).map_err(|e| {
        bad(format!(
            "the PRD is not UTF-8 (invalid byte at offset {}); convert it, e.g. `iconv -f latin1 -t utf-8`",
            e.utf8_error().valid_up_to()
        ))
    })?;
    let text = text.trim_start_matches('\u{feff}').to_string();
    if text.trim().is_empty() {
        return Err(bad(
            "the PRD is empty; write the requirements in it, or leave out --prd and let the architect draft them from --goal and --journey".into(),
        ));
    }
    Ok(Prd {
        path: path.to_owned(),
        tokens: protocol::estimate_tokens(&text),
        text,
    })
}

/// Whether the PRD must be summarised to fit the context budget.
pub(crate) fn needs_summary(prd: &Prd, budget_tokens: u32) -> bool {
    prd.tokens > budget_tokens
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The workflow crate's prompt snapshots take this digest as their input; it must be what the
    /// digest gives for the fixture project (`AGENTMUX_UPDATE_FIXTURES=1` rewrites the file).
    #[test]
    fn the_prompt_snapshots_digest_fixture_is_current() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/project");
        let text = digest(&root.join("readtime"), 600).text;
        let fixture = root.join("readtime.digest.txt");
        if std::env::var_os("AGENTMUX_UPDATE_FIXTURES").is_some() {
            std::fs::write(&fixture, &text).unwrap();
        }
        assert_eq!(std::fs::read_to_string(&fixture).unwrap(), text);
    }

    fn project() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path();
        std::fs::write(
            p.join("README.md"),
            "# Demo\n\nA demo project.\n".repeat(200),
        )
        .unwrap();
        std::fs::write(p.join("pyproject.toml"), "[project]\nname = \"demo\"\n").unwrap();
        std::fs::create_dir_all(p.join("src/demo")).unwrap();
        std::fs::write(p.join("src/demo/__init__.py"), "").unwrap();
        std::fs::create_dir_all(p.join("docs/guide")).unwrap();
        std::fs::write(p.join("docs/guide/usage.md"), "Usage notes.\n").unwrap();
        std::fs::write(p.join("docs/blob.md"), [0xff, 0xfe, 0x00]).unwrap();
        for skip in [".git", "target", "node_modules", ".agentmux"] {
            std::fs::create_dir_all(p.join(skip)).unwrap();
            std::fs::write(p.join(skip).join("secret.txt"), "x").unwrap();
        }
        dir
    }

    #[test]
    fn digest_respects_the_budget_and_says_what_it_cut() {
        let dir = project();
        for budget in [100, 300, 1000, 3000] {
            let d = digest(dir.path(), budget);
            assert!(d.tokens <= budget, "budget {budget}: {} tokens", d.tokens);
            assert_eq!(d.tokens, protocol::estimate_tokens(&d.text));
        }
        let d = digest(dir.path(), 1000);
        assert!(d.included.contains(&"README.md".to_string()));
        assert!(
            d.truncated.iter().any(|t| t.starts_with("README.md (")),
            "{:?}",
            d.truncated
        );
        assert!(d.text.contains("[... truncated:"));
        assert!(d.text.contains("Not shown in full"));
        assert!(d.text.contains("pyproject.toml"));
        assert!(d.text.contains("  demo/"), "{}", d.text);
        assert!(d.text.contains("docs/guide/usage.md"));
        assert!(d.truncated.iter().any(|t| t.starts_with("docs/blob.md")));
        for skipped in ["secret.txt", "node_modules", ".agentmux", "target/"] {
            assert!(
                !d.text.contains(skipped),
                "{skipped} leaked into\n{}",
                d.text
            );
        }
    }

    #[test]
    fn small_project_is_shown_whole() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("README.md"), "# Tiny\n").unwrap();
        let d = digest(dir.path(), 3000);
        assert!(d.truncated.is_empty(), "{:?}", d.truncated);
        assert!(d.text.contains("# Tiny"));
        assert!(
            digest(&dir.path().join("missing"), 3000)
                .included
                .is_empty()
        );
    }

    #[test]
    fn prd_loading_rejects_what_is_not_text() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("prd.pdf");
        std::fs::write(&p, b"%PDF-1.7\n\x00\x01binary").unwrap();
        let err = load_prd(&p).unwrap_err().to_string();
        assert!(err.contains("prd.pdf") && err.contains("binary"), "{err}");

        let p = dir.path().join("latin1.md");
        std::fs::write(&p, b"caf\xe9 requirements").unwrap();
        let err = load_prd(&p).unwrap_err().to_string();
        assert!(
            err.contains("latin1.md") && err.contains("not UTF-8"),
            "{err}"
        );

        let p = dir.path().join("empty.md");
        std::fs::write(&p, "  \n\n").unwrap();
        let err = load_prd(&p).unwrap_err().to_string();
        assert!(err.contains("empty.md") && err.contains("empty"), "{err}");

        let err = load_prd(&dir.path().join("nope.md"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("nope.md") && err.contains("--prd"), "{err}");
    }

    #[test]
    fn real_prd_loads_and_summary_depends_on_budget() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/prd/readtime.md");
        let prd = load_prd(&path).unwrap();
        assert!(prd.text.starts_with("# Introduction"));
        assert!((700..800).contains(&prd.tokens), "{}", prd.tokens);
        assert!(!needs_summary(&prd, 3000));
        assert!(needs_summary(&prd, 500));
    }
}
