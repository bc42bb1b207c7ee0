//! Whether one path is ignored, for a read of a path the model names (the walk answers the same
//! question for listings, searches and the index). Walking the whole tree to answer for one file
//! would cost a second on a large repository, so this reads only the ignore files of the
//! directories on the path, with the walker's precedence: the deepest directory first, `.ignore`
//! before `.gitignore` in one directory, `.git/info/exclude` last.

use std::path::Path;

use ignore::Match;
use ignore::gitignore::GitignoreBuilder;

/// The ignore file (relative to the root) that ignores `rel`, if one does.
pub(crate) fn ignored_by(root: &Path, rel: &str) -> Option<String> {
    let parts: Vec<&str> = rel.split('/').collect();
    // Directories from the deepest holding `rel` up to the root, each with `rel` relative to it.
    for depth in (0..parts.len()).rev() {
        let dir_rel = parts[..depth].join("/");
        let dir = root.join(&dir_rel);
        let below = parts[depth..].join("/");
        for name in [".ignore", ".gitignore"] {
            let file = dir.join(name);
            if let Some(hit) = check(&dir, &file, &below) {
                return hit.then(|| join(&dir_rel, name));
            }
        }
    }
    let exclude = root.join(".git/info/exclude");
    match check(root, &exclude, rel) {
        Some(true) => Some(".git/info/exclude".to_string()),
        Some(false) | None => None,
    }
}

/// `Some(true)` ignored, `Some(false)` explicitly re-included (`!pattern`), `None` no opinion.
fn check(dir: &Path, file: &Path, below: &str) -> Option<bool> {
    if !file.is_file() {
        return None;
    }
    let mut builder = GitignoreBuilder::new(dir);
    // A line that does not parse is skipped, as git and the walker do.
    let _partial = builder.add(file);
    let matcher = builder.build().ok()?;
    match matcher.matched_path_or_any_parents(below, false) {
        Match::None => None,
        Match::Ignore(_) => Some(true),
        Match::Whitelist(_) => Some(false),
    }
}

fn join(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_string()
    } else {
        format!("{dir}/{name}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_nearest_ignore_file_decides() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::write(root.join(".gitignore"), "build/\n*.log\n").unwrap();
        std::fs::create_dir_all(root.join("sub")).unwrap();
        std::fs::write(root.join("sub/.gitignore"), "!keep.log\n").unwrap();
        std::fs::write(root.join("sub/.ignore"), "local.txt\n").unwrap();
        assert_eq!(
            ignored_by(root, "build/out.txt").as_deref(),
            Some(".gitignore")
        );
        assert_eq!(ignored_by(root, "a.log").as_deref(), Some(".gitignore"));
        assert_eq!(ignored_by(root, "sub/x.log").as_deref(), Some(".gitignore"));
        assert_eq!(ignored_by(root, "sub/keep.log"), None);
        assert_eq!(
            ignored_by(root, "sub/local.txt").as_deref(),
            Some("sub/.ignore")
        );
        assert_eq!(ignored_by(root, "src/main.rs"), None);
    }
}
