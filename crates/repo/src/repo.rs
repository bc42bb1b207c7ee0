//! The project directory as the agents may see it. One path goes through [`Repo::resolve`], many
//! through the walk; both apply the same rules, in this order: the path's shape (relative, no
//! `..`), internals (`.git/`, `.agentmux/`), secret names and the deny list, the resolved target
//! (inside the root, a file), ignore files. Reading adds the content rules: size and binary.

use std::fs::File;
use std::io::{BufReader, Cursor, Read};
use std::ops::ControlFlow;
use std::path::{Component, Path, PathBuf};

use ignore::WalkBuilder;

use crate::error::{BinaryKind, RepoError, Rule};
use crate::ignores::ignored_by;
use crate::lines::{self, LinesError, Stop};
use crate::policy::{NameRules, Policy};

/// How many leading bytes are checked for a NUL (git and ripgrep use the same test).
const BINARY_PROBE: usize = 8 * 1024;

/// A read-only view of the project directory under a [`Policy`].
#[derive(Debug, Clone)]
pub struct Repo {
    root: PathBuf,
    policy: Policy,
    rules: NameRules,
}

/// A path [`Repo::resolve`] accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// Relative to the root, `/`-separated, as the model should cite it.
    pub rel: String,
    /// The file on disk (symlinks resolved).
    pub path: PathBuf,
    /// Its size in bytes.
    pub size: u64,
}

/// A file a model may see, as [`Repo::files`] lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileEntry {
    /// Relative to the root, `/`-separated.
    pub path: String,
    /// Size in bytes.
    pub size: u64,
}

/// Numbered lines of a file, as [`Repo::read_lines`] returns them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineRange {
    /// The path relative to the root.
    pub path: String,
    /// `cat -n` style lines: the number right-aligned in six columns, a tab, the line.
    pub text: String,
    /// The first line asked for.
    pub first: u64,
    /// The last line shown (`first - 1` when none was).
    pub last: u64,
    /// The file's line count, when the read reached its end.
    pub lines_in_file: Option<u64>,
    /// The output was cut at the byte cap: the next line not shown.
    pub next: Option<u64>,
}

/// One file met by the walk, with the rule that refuses it, if any.
#[derive(Debug)]
pub(crate) struct WalkItem {
    pub(crate) rel: String,
    pub(crate) abs: PathBuf,
    pub(crate) size: u64,
    pub(crate) refused: Option<Rule>,
}

impl Repo {
    /// Opens the project at `root` (which must be a directory) under `policy`.
    pub fn open(root: impl AsRef<Path>, policy: Policy) -> Result<Self, RepoError> {
        let given = root.as_ref();
        let root_error = |source| RepoError::Root {
            path: given.to_path_buf(),
            source,
        };
        let root = std::fs::canonicalize(given).map_err(root_error)?;
        if !root.is_dir() {
            return Err(root_error(std::io::Error::new(
                std::io::ErrorKind::NotADirectory,
                "not a directory",
            )));
        }
        let rules = NameRules::new(&policy.deny)?;
        Ok(Self {
            root,
            policy,
            rules,
        })
    }

    /// The project root (canonical).
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The policy in force.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Checks `path` (relative to the root, as a model gives it) against every rule but the
    /// content ones, and finds the file it names.
    pub fn resolve(&self, path: &str) -> Result<Resolved, RepoError> {
        let refused = |rule| RepoError::Refused {
            path: path.to_string(),
            rule,
        };
        let rel = normalise(path).map_err(|r| match r {
            Some(rule) => refused(rule),
            None => RepoError::EmptyPath,
        })?;
        if let Some(rule) = self.rules.check(&rel) {
            return Err(refused(rule));
        }
        let joined = self.root.join(&rel);
        let target = match std::fs::canonicalize(&joined) {
            Ok(t) => t,
            // A dangling symlink too: what it names does not exist, wherever it points.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(RepoError::NotFound {
                    path: path.to_string(),
                });
            }
            Err(source) => {
                return Err(RepoError::Io {
                    path: path.to_string(),
                    source,
                });
            }
        };
        let Some(target_rel) = target.strip_prefix(&self.root).ok().and_then(rel_string) else {
            return Err(refused(Rule::OutsideRoot));
        };
        if target_rel != rel
            && let Some(rule) = self.rules.check(&target_rel)
        {
            return Err(refused(rule));
        }
        let meta = std::fs::metadata(&target).map_err(|source| RepoError::Io {
            path: path.to_string(),
            source,
        })?;
        if meta.is_dir() {
            return Err(RepoError::NotAFile { path: rel });
        }
        if !meta.is_file() {
            return Err(refused(Rule::Special));
        }
        for candidate in [&rel, &target_rel] {
            if let Some(by) = ignored_by(&self.root, candidate) {
                return Err(refused(Rule::Ignored { by }));
            }
        }
        Ok(Resolved {
            rel,
            path: target,
            size: meta.len(),
        })
    }

    /// Every file a model may see, in walk order (directories sorted by name): ignore files
    /// applied, internals, secrets, the deny list and symlinks leading out left out.
    pub fn files(&self) -> Vec<FileEntry> {
        let mut out = Vec::new();
        self.walk(|item| {
            if item.refused.is_none() {
                out.push(FileEntry {
                    path: item.rel,
                    size: item.size,
                });
            }
            ControlFlow::Continue(())
        });
        out
    }

    /// The whole text of `path`, refused when larger than [`Policy::max_read_bytes`] or binary.
    pub fn read_to_string(&self, path: &str) -> Result<String, RepoError> {
        let resolved = self.resolve(path)?;
        read_text(&resolved.path, path, self.policy.max_read_bytes)
    }

    /// Numbered lines `start..=end` of `path` (1-based; `None` for the first or the last line),
    /// at most `max_bytes` of output. Without a range, a file over [`Policy::max_read_bytes`] is
    /// refused; with one, the file is streamed and only the lines shown are held.
    pub fn read_lines(
        &self,
        path: &str,
        start: Option<u64>,
        end: Option<u64>,
        max_bytes: usize,
    ) -> Result<LineRange, RepoError> {
        let resolved = self.resolve(path)?;
        let refused = |rule| RepoError::Refused {
            path: path.to_string(),
            rule,
        };
        if start.is_none() && end.is_none() && resolved.size > self.policy.max_read_bytes {
            return Err(refused(Rule::TooLarge {
                size: resolved.size,
                limit: self.policy.max_read_bytes,
            }));
        }
        let io = |source| RepoError::Io {
            path: path.to_string(),
            source,
        };
        let mut file = File::open(&resolved.path).map_err(io)?;
        let mut head = Vec::with_capacity(BINARY_PROBE);
        (&mut file)
            .take(BINARY_PROBE as u64)
            .read_to_end(&mut head)
            .map_err(io)?;
        if memchr::memchr(0, &head).is_some() {
            return Err(refused(Rule::Binary {
                kind: BinaryKind::NulByte,
            }));
        }
        let first = start.unwrap_or(1).max(1);
        let mut reader = BufReader::with_capacity(64 * 1024, Cursor::new(head).chain(file));
        let numbered = lines::numbered(
            &mut reader,
            first,
            end,
            max_bytes,
            self.policy.max_line_bytes,
        )
        .map_err(|e| match e {
            LinesError::Io(source) => io(source),
            LinesError::InvalidUtf8 => refused(Rule::Binary {
                kind: BinaryKind::InvalidUtf8,
            }),
        })?;
        let (lines_in_file, next) = match numbered.stop {
            Stop::Eof { lines } => (Some(lines), None),
            Stop::End => (None, None),
            Stop::Cap { next } => (None, Some(next)),
        };
        Ok(LineRange {
            path: resolved.rel,
            text: numbered.text,
            first,
            last: numbered.last.max(first - 1),
            lines_in_file,
            next,
        })
    }

    /// Visits every file under the root that the ignore files let through, refused ones with
    /// their rule, until `visit` breaks.
    pub(crate) fn walk(&self, mut visit: impl FnMut(WalkItem) -> ControlFlow<()>) {
        let mut builder = WalkBuilder::new(&self.root);
        builder
            .hidden(false)
            .parents(false)
            .git_global(false)
            .git_exclude(true)
            .require_git(false)
            .follow_links(false)
            .sort_by_file_path(|a, b| a.cmp(b))
            .filter_entry(|e| {
                let name = e.file_name();
                name != ".git" && !(e.depth() == 1 && name == ".agentmux")
            });
        for entry in builder.build() {
            // An unreadable directory is left out, as ripgrep does.
            let Ok(entry) = entry else { continue };
            let Some(kind) = entry.file_type() else {
                continue;
            };
            let Some(rel) = entry
                .path()
                .strip_prefix(&self.root)
                .ok()
                .and_then(rel_string)
            else {
                continue;
            };
            let item = if kind.is_file() {
                let size = entry.metadata().map(|m| m.len()).unwrap_or(0);
                let refused = self.rules.check(&rel);
                WalkItem {
                    rel,
                    abs: entry.into_path(),
                    size,
                    refused,
                }
            } else if kind.is_symlink() {
                match self.symlink_item(rel, entry.path()) {
                    Some(item) => item,
                    None => continue,
                }
            } else {
                continue;
            };
            if visit(item).is_break() {
                break;
            }
        }
    }

    /// A symlink met by the walk: listed when it leads to a file inside the root; directories
    /// are not followed (a loop would walk forever).
    fn symlink_item(&self, rel: String, path: &Path) -> Option<WalkItem> {
        let target = std::fs::canonicalize(path).ok()?;
        let meta = std::fs::metadata(&target).ok()?;
        if !meta.is_file() {
            return None;
        }
        let refused = match target.strip_prefix(&self.root).ok().and_then(rel_string) {
            None => Some(Rule::OutsideRoot),
            Some(target_rel) => self
                .rules
                .check(&rel)
                .or_else(|| self.rules.check(&target_rel)),
        };
        Some(WalkItem {
            rel,
            abs: target,
            size: meta.len(),
            refused,
        })
    }
}

/// Reads a whole file as text: at most `limit` bytes, no NUL in the head, valid UTF-8.
pub(crate) fn read_text(abs: &Path, path: &str, limit: u64) -> Result<String, RepoError> {
    let refused = |rule| RepoError::Refused {
        path: path.to_string(),
        rule,
    };
    let io = |source| RepoError::Io {
        path: path.to_string(),
        source,
    };
    let file = File::open(abs).map_err(io)?;
    let size = file.metadata().map_err(io)?.len();
    if size > limit {
        return Err(refused(Rule::TooLarge { size, limit }));
    }
    let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
    // `take` guards against a file that grows while it is read.
    file.take(limit + 1).read_to_end(&mut bytes).map_err(io)?;
    if bytes.len() as u64 > limit {
        return Err(refused(Rule::TooLarge {
            size: bytes.len() as u64,
            limit,
        }));
    }
    if memchr::memchr(0, &bytes[..bytes.len().min(BINARY_PROBE)]).is_some() {
        return Err(refused(Rule::Binary {
            kind: BinaryKind::NulByte,
        }));
    }
    String::from_utf8(bytes).map_err(|_| {
        refused(Rule::Binary {
            kind: BinaryKind::InvalidUtf8,
        })
    })
}

/// `path` as a `/`-separated relative path without `.` components; `Err(None)` when empty,
/// `Err(Some(rule))` when absolute or climbing out with `..`.
fn normalise(path: &str) -> Result<String, Option<Rule>> {
    let trimmed = path.trim();
    if trimmed.is_empty() {
        return Err(None);
    }
    let mut parts = Vec::new();
    for c in Path::new(trimmed).components() {
        match c {
            Component::Normal(p) => parts.push(p.to_str().ok_or(None)?),
            Component::CurDir => {}
            Component::ParentDir => return Err(Some(Rule::ParentDir)),
            Component::RootDir | Component::Prefix(_) => return Err(Some(Rule::Absolute)),
        }
    }
    if parts.is_empty() {
        return Err(None);
    }
    Ok(parts.join("/"))
}

/// A relative path as a `/`-separated string; `None` when not UTF-8 or empty.
fn rel_string(p: &Path) -> Option<String> {
    let mut parts = Vec::new();
    for c in p.components() {
        match c {
            Component::Normal(s) => parts.push(s.to_str()?),
            Component::CurDir => {}
            Component::ParentDir | Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    (!parts.is_empty()).then(|| parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_normalised_or_refused_by_shape() {
        assert_eq!(normalise("./src//main.rs").unwrap(), "src/main.rs");
        assert_eq!(normalise("../x"), Err(Some(Rule::ParentDir)));
        assert_eq!(normalise("src/../../x"), Err(Some(Rule::ParentDir)));
        assert_eq!(normalise("/etc/passwd"), Err(Some(Rule::Absolute)));
        assert_eq!(normalise("  "), Err(None));
        assert_eq!(normalise("."), Err(None));
    }

    fn project() -> (tempfile::TempDir, Repo) {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("src")).unwrap();
        std::fs::create_dir_all(root.join(".git")).unwrap();
        std::fs::create_dir_all(root.join(".agentmux/index")).unwrap();
        std::fs::write(root.join("src/main.rs"), "fn main() {}\n").unwrap();
        std::fs::write(root.join(".git/config"), "[core]\n").unwrap();
        std::fs::write(root.join(".agentmux/index/x.json"), "{}").unwrap();
        std::fs::write(root.join(".gitignore"), "out/\n").unwrap();
        std::fs::create_dir_all(root.join("out")).unwrap();
        std::fs::write(root.join("out/gen.rs"), "fn gen() {}\n").unwrap();
        std::fs::write(root.join(".env"), "KEY=1\n").unwrap();
        let repo = Repo::open(root, Policy::default()).unwrap();
        (dir, repo)
    }

    #[test]
    fn the_walk_lists_what_a_model_may_see() {
        let (_dir, repo) = project();
        let files: Vec<String> = repo.files().into_iter().map(|f| f.path).collect();
        assert_eq!(files, [".gitignore", "src/main.rs"]);
    }

    #[test]
    fn resolve_applies_the_same_rules_as_the_walk() {
        let (_dir, repo) = project();
        assert_eq!(repo.resolve("src/main.rs").unwrap().rel, "src/main.rs");
        for (path, rule) in [
            (".git/config", "internal"),
            (".agentmux/index/x.json", "internal"),
            ("out/gen.rs", "ignored"),
            (".env", "secret"),
        ] {
            let err = repo.resolve(path).unwrap_err();
            assert_eq!(err.rule().map(Rule::name), Some(rule), "{path}: {err}");
        }
        assert!(matches!(
            repo.resolve("src").unwrap_err(),
            RepoError::NotAFile { .. }
        ));
        assert!(matches!(
            repo.resolve("nope.rs").unwrap_err(),
            RepoError::NotFound { .. }
        ));
    }

    #[test]
    fn open_refuses_a_missing_root_naming_it() {
        let err = Repo::open("/no/such/dir", Policy::default()).unwrap_err();
        assert!(err.to_string().contains("/no/such/dir"), "{err}");
    }
}
