//! Why a path was refused, worded for the model that asked: every message names the path, the
//! rule it broke and what to do instead, because the model reads it as a tool result and has to
//! act on it without a human in between.

use std::io;
use std::path::PathBuf;

use crate::fmt::size;

/// An error of the repository view. The `Display` text is what a model sees as its tool result.
#[derive(Debug, thiserror::Error)]
pub enum RepoError {
    /// A rule of the [`crate::Policy`] forbids showing this path.
    #[error("`{path}` is refused: {rule}")]
    Refused {
        /// The path as the model gave it.
        path: String,
        /// The rule it broke.
        rule: Rule,
    },
    /// No such file.
    #[error("`{path}` does not exist in the project; list_files shows the files that do")]
    NotFound {
        /// The path as the model gave it.
        path: String,
    },
    /// A directory where a file was expected.
    #[error(
        "`{path}` is a directory, not a file; list_files with glob `{path}/**` shows its files"
    )]
    NotAFile {
        /// The path as the model gave it.
        path: String,
    },
    /// An empty path.
    #[error("the path is empty; give a file path relative to the project root, e.g. `src/main.rs`")]
    EmptyPath,
    /// The file exists and may be read, but reading failed.
    #[error("`{path}` could not be read: {source}; try another file")]
    Io {
        /// The path as the model gave it.
        path: String,
        /// What the operating system said.
        source: io::Error,
    },
    /// The project root cannot be opened.
    #[error("the project root `{}` cannot be opened: {source}; run agentmux in the project's directory", path.display())]
    Root {
        /// The root as given.
        path: PathBuf,
        /// What the operating system said.
        source: io::Error,
    },
    /// A glob of the configured deny list does not parse.
    #[error(
        "the deny-list glob `{glob}` is invalid: {source}; fix it in the project's configuration"
    )]
    DenyGlob {
        /// The glob as configured.
        glob: String,
        /// What the glob parser said.
        source: globset::Error,
    },
}

impl RepoError {
    /// The rule broken, when this is a refusal.
    pub fn rule(&self) -> Option<&Rule> {
        match self {
            Self::Refused { rule, .. } => Some(rule),
            Self::NotFound { .. }
            | Self::NotAFile { .. }
            | Self::EmptyPath
            | Self::Io { .. }
            | Self::Root { .. }
            | Self::DenyGlob { .. } => None,
        }
    }
}

/// A rule of the policy; its `Display` says the rule and what the model can do instead.
#[derive(
    Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(tag = "rule", rename_all = "snake_case")]
pub enum Rule {
    /// A `..` component: the path would leave the project.
    ParentDir,
    /// An absolute path.
    Absolute,
    /// A symlink (of the file or a directory on the way) that resolves outside the project.
    OutsideRoot,
    /// Inside `.git/` or `.agentmux/`.
    Internal {
        /// The directory, e.g. `.git/`.
        dir: String,
    },
    /// Matched by an ignore file.
    Ignored {
        /// The ignore file that matched, relative to the root, e.g. `.gitignore`.
        by: String,
    },
    /// Its name looks like a secret's.
    Secret {
        /// The built-in pattern it matched, e.g. `.env*`.
        pattern: String,
    },
    /// Matched by the project's deny list.
    Denied {
        /// The configured glob.
        glob: String,
    },
    /// Not text.
    Binary {
        /// How it was told.
        kind: BinaryKind,
    },
    /// Not a regular file: a pipe, socket or device (reading one could block forever).
    Special,
    /// Too large to read whole.
    TooLarge {
        /// Its size in bytes.
        size: u64,
        /// The limit in bytes.
        limit: u64,
    },
}

/// How a file was found to be binary.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum BinaryKind {
    /// A NUL byte in the first 8 KiB.
    NulByte,
    /// Bytes that are not UTF-8.
    InvalidUtf8,
}

impl std::fmt::Display for Rule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::ParentDir => f.write_str(
                "`..` would leave the project; give a path relative to the project root, as list_files prints it",
            ),
            Self::Absolute => f.write_str(
                "absolute paths are not allowed; give a path relative to the project root, as list_files prints it",
            ),
            Self::OutsideRoot => f.write_str(
                "it is a symlink that resolves outside the project; only files inside the project are shown, read those instead",
            ),
            Self::Internal { dir } => write!(
                f,
                "`{dir}` holds version-control or agentmux internals and is never shown; read the project's own files instead"
            ),
            Self::Ignored { by } => write!(
                f,
                "it is ignored by `{by}` (generated or vendored files); read the sources it comes from instead"
            ),
            Self::Secret { pattern } => write!(
                f,
                "files that look like secrets (`{pattern}`) are never shown; read the code that loads it instead"
            ),
            Self::Denied { glob } => write!(
                f,
                "the project's deny list matches it (`{glob}`); read other files instead"
            ),
            Self::Binary {
                kind: BinaryKind::NulByte,
            } => f.write_str(
                "it is a binary file (a NUL byte in its first 8 KiB); read the code or documentation that describes it instead",
            ),
            Self::Binary {
                kind: BinaryKind::InvalidUtf8,
            } => f.write_str(
                "it is not UTF-8 text; read the code or documentation that describes it instead",
            ),
            Self::Special => f.write_str(
                "it is not a regular file (a pipe, socket or device); read regular files instead",
            ),
            Self::TooLarge { size: s, limit } => write!(
                f,
                "it is {}, over the {} limit for a whole read; read a line range (start_line, end_line) or search it instead",
                size(*s),
                size(*limit)
            ),
        }
    }
}

impl Rule {
    /// A short name for one-line summaries and statistics, e.g. `secret`.
    pub fn name(&self) -> &'static str {
        match self {
            Self::ParentDir => "parent dir",
            Self::Absolute => "absolute path",
            Self::OutsideRoot => "outside the project",
            Self::Internal { .. } => "internal",
            Self::Ignored { .. } => "ignored",
            Self::Secret { .. } => "secret",
            Self::Denied { .. } => "deny list",
            Self::Binary { .. } => "binary",
            Self::Special => "not a regular file",
            Self::TooLarge { .. } => "too large",
        }
    }
}
