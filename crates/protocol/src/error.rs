//! The error type of agentmux. Every message says what went wrong and what to do about it;
//! `main` prints it once and maps it to an exit code.

use std::path::PathBuf;

/// Process exit codes (documented in `--help` and the README).
pub mod exit {
    pub const SUCCESS: u8 = 0;
    pub const SESSION_FAILED: u8 = 1;
    pub(crate) const USAGE: u8 = 2;
    pub const PAUSED: u8 = 3;
    pub(crate) const TIMED_OUT: u8 = 4;
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Invalid YAML in a config file.
    #[error("{file}:{line}:{column}: invalid YAML: {message}\n  fix the syntax at that position")]
    ConfigSyntax {
        file: PathBuf,
        line: u64,
        column: u64,
        message: String,
    },

    /// A key that does not exist.
    #[error(
        "{origin}: unknown key `{key}`{suggestion}\n  run `agentmux config show` to see every valid key"
    )]
    ConfigUnknownKey {
        origin: String,
        key: String,
        suggestion: String,
    },

    /// A value of the wrong type or out of range.
    #[error("{origin}: `{key}` {message}")]
    ConfigValue {
        origin: String,
        key: String,
        message: String,
    },

    /// Bad command-line usage not caught by clap.
    #[error("{0}")]
    Usage(String),

    /// An input file (PRD, role, template) that cannot be used.
    #[error("{path}: {message}")]
    Input { path: PathBuf, message: String },

    /// A file system operation failed.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// No session matches.
    #[error("{0}")]
    NoSession(String),

    /// Another process holds the session.
    #[error("{0}")]
    Locked(String),

    /// tmux is missing, too old or failed.
    #[error("{0}")]
    Tmux(String),

    /// The LLM endpoint or the local model failed.
    #[error("{0}")]
    Llm(String),

    /// The session ended in failure (exit 1).
    #[error("session failed: {0}")]
    SessionFailed(String),

    /// The session is paused or stopped (exit 3).
    #[error("{0}")]
    SessionPaused(String),

    /// `wait --timeout` elapsed (exit 4).
    #[error("timed out after {0} s; the session is still running (`agentmux status`)")]
    TimedOut(u64),

    /// Validation found problems (exit 1).
    #[error("{0}")]
    Invalid(String),

    /// Anything else; the message must still say what to do.
    #[error("{0}")]
    Other(String),
}

impl Error {
    /// The process exit code for this error.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::ConfigSyntax { .. }
            | Error::ConfigUnknownKey { .. }
            | Error::ConfigValue { .. }
            | Error::Usage(_)
            | Error::Input { .. }
            | Error::NoSession(_)
            | Error::Locked(_)
            | Error::Tmux(_) => exit::USAGE,
            Error::Io { .. } | Error::Llm(_) | Error::Other(_) => exit::USAGE,
            Error::SessionFailed(_) | Error::Invalid(_) => exit::SESSION_FAILED,
            Error::SessionPaused(_) => exit::PAUSED,
            Error::TimedOut(_) => exit::TIMED_OUT,
        }
    }

    /// Wraps an I/O error with the path it concerns.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
