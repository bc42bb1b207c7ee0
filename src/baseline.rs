//! The baseline a session's specs are written against: git's view of the project (the commit,
//! whether the tree had uncommitted changes) added to the hashes and citations that
//! `docs::baseline` takes from the documents.
//!
//! git is run as a command rather than linked: two read-only questions do not justify a git
//! library, and a project without git (or without a commit yet) still gets a baseline, just
//! without a commit. `GIT_OPTIONAL_LOCKS=0` keeps `git status` from taking the index lock, so a
//! session never gets in the way of the user's own git commands.

use std::path::Path;
use std::process::{Command, Stdio};

use docs::baseline::{Baseline, Document};

/// The baseline of `documents` in the project at `project_root`. The directories in `own` (the
/// project's `.agentmux/`, and its specs when they are kept elsewhere) are left out of the dirty
/// check: the session writes there itself.
pub(crate) fn record(project_root: &Path, own: &[&Path], documents: &[Document<'_>]) -> Baseline {
    let mut baseline = docs::baseline::of_documents(project_root, documents);
    let exclude: Vec<&Path> = own
        .iter()
        .filter_map(|d| d.strip_prefix(project_root).ok())
        .filter(|d| !d.as_os_str().is_empty())
        .collect();
    baseline.commit = head_commit(project_root);
    baseline.dirty = dirty(project_root, &exclude);
    baseline
}

/// The commit checked out, or `None` outside a repository, before the first commit, or without
/// git.
fn head_commit(dir: &Path) -> Option<String> {
    let out = git(dir, &["rev-parse", "--verify", "--quiet", "HEAD^{commit}"])?;
    let id = out.trim();
    let hex = id
        .bytes()
        .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase());
    (hex && matches!(id.len(), 40 | 64)).then(|| id.to_string())
}

/// Whether tracked files differ from the commit or untracked files exist, outside the
/// directories `exclude` (relative to `dir`); `None` outside a repository or without git.
fn dirty(dir: &Path, exclude: &[&Path]) -> Option<bool> {
    let mut args = vec![
        "status".to_string(),
        "--porcelain".into(),
        "--untracked-files=normal".into(),
        "--".into(),
        ".".into(),
    ];
    for ex in exclude {
        args.push(format!(":(exclude){}", ex.to_string_lossy()));
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    git(dir, &args).map(|out| !out.trim().is_empty())
}

/// Runs `git -C dir args`; its stdout when it succeeds.
fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .env("GIT_OPTIONAL_LOCKS", "0")
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    String::from_utf8(out.stdout).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(dir: &Path, args: &[&str]) {
        let ok = Command::new("git")
            .args(["-c", "commit.gpgsign=false", "-C"])
            .arg(dir)
            .args(args)
            .env("GIT_AUTHOR_NAME", "t")
            .env("GIT_AUTHOR_EMAIL", "t@example.com")
            .env("GIT_COMMITTER_NAME", "t")
            .env("GIT_COMMITTER_EMAIL", "t@example.com")
            .output()
            .unwrap()
            .status
            .success();
        assert!(ok, "git {args:?}");
    }

    const DOC: &str = "# X\n\n## 1. Design\n\nSee `app/main.py:1-2`.\n";

    fn docs() -> [Document<'static>; 1] {
        [Document {
            name: "x_design.md",
            markdown: DOC,
        }]
    }

    #[test]
    fn outside_a_repository_there_is_no_commit_and_the_baseline_is_still_made() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(d.path().join("app")).unwrap();
        std::fs::write(d.path().join("app/main.py"), "a\nb\n").unwrap();
        let b = record(d.path(), &[&d.path().join(".agentmux")], &docs());
        assert_eq!((b.commit, b.dirty), (None, None));
        assert_eq!(b.files.len(), 1);
        assert_eq!(b.citations.len(), 1);
    }

    #[test]
    fn in_a_repository_the_commit_and_the_dirty_flag_outside_agentmux() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path();
        run(p, &["init", "-q"]);
        std::fs::create_dir_all(p.join("app")).unwrap();
        std::fs::write(p.join("app/main.py"), "a\nb\n").unwrap();
        // Before the first commit: a repository, no commit.
        let b = record(p, &[&p.join(".agentmux")], &docs());
        assert_eq!((b.commit.as_deref(), b.dirty), (None, Some(true)));

        run(p, &["add", "."]);
        run(p, &["commit", "-qm", "first"]);
        std::fs::create_dir_all(p.join(".agentmux/specs")).unwrap();
        std::fs::write(p.join(".agentmux/specs/x_design.md"), DOC).unwrap();
        let b = record(p, &[&p.join(".agentmux")], &docs());
        let commit = b.commit.clone().unwrap();
        assert_eq!(commit.len(), 40, "{commit}");
        assert_eq!(b.dirty, Some(false), "the session's own files do not count");

        // Specs kept outside `.agentmux/` (`paths.specs: docs/specs`) are the session's too.
        std::fs::create_dir_all(p.join("docs/specs")).unwrap();
        std::fs::write(p.join("docs/specs/x_design.md"), DOC).unwrap();
        let own = [p.join(".agentmux"), p.join("docs/specs")];
        let b = record(p, &[&own[0], &own[1]], &docs());
        assert_eq!(b.dirty, Some(false));

        std::fs::write(p.join("app/main.py"), "a\nc\n").unwrap();
        let b = record(p, &[&p.join(".agentmux")], &docs());
        assert_eq!(b.dirty, Some(true));
        assert_eq!(b.commit.as_deref(), Some(commit.as_str()));
    }
}
