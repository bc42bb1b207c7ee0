//! Logging with `tracing`: to a file under the session directory (or the project's `.agentmux/logs/`),
//! and to stderr with `-v`. Secrets are never logged: the API key is never formatted anywhere.

use std::path::Path;

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::writer::MakeWriterExt;

/// Installs the global subscriber. `log_file`: append logs there (created with its directory).
/// `verbose`: 0 = no stderr logs, 1 = info, 2+ = debug. Safe to call once per process.
pub(crate) fn init(log_file: Option<&Path>, verbose: u8) {
    let stderr_level = match verbose {
        0 => None,
        1 => Some(tracing::Level::INFO),
        _ => Some(tracing::Level::DEBUG),
    };
    let filter = EnvFilter::try_from_env("AGENTMUX_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let file = log_file.and_then(|p| {
        if let Some(dir) = p.parent() {
            std::fs::create_dir_all(dir).ok()?;
        }
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(p)
            .ok()
    });
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false);
    let _ = match (file, stderr_level) {
        (Some(f), Some(level)) => builder
            .with_ansi(false)
            .with_writer(std::sync::Mutex::new(f).and(std::io::stderr.with_max_level(level)))
            .try_init(),
        (Some(f), None) => builder
            .with_ansi(false)
            .with_writer(std::sync::Mutex::new(f))
            .try_init(),
        (None, Some(level)) => builder
            .with_writer(std::io::stderr.with_max_level(level))
            .try_init(),
        (None, None) => Ok(()),
    };
}
