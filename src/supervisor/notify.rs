//! Notifications: once per session when it completes, fails or needs input.
//! tmux display-message and bell, `notify-send` when installed, and an optional user command.

use std::process::{Command, Stdio};

use crate::config::NotifyConfig;

/// What happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Occasion {
    Completed,
    Failed,
    NeedsInput,
    Paused,
}

impl Occasion {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Occasion::Completed => "completed",
            Occasion::Failed => "failed",
            Occasion::NeedsInput => "needs_input",
            Occasion::Paused => "paused",
        }
    }
}

/// Sends the notification through every configured channel; failures are logged, not fatal.
/// `tmux`: a callback showing the message in the session (display-message + bell).
pub(crate) fn send(
    cfg: &NotifyConfig,
    session: &str,
    occasion: Occasion,
    message: &str,
    tmux: Option<&dyn Fn(&str)>,
) {
    let line = format!("agentmux {session}: {message}");
    if cfg.tmux
        && let Some(show) = tmux
    {
        show(&line);
    }
    if cfg.desktop && which("notify-send") {
        let _ = Command::new("notify-send")
            .arg("agentmux")
            .arg(&line)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
    if let Some(cmd) = &cfg.command {
        let status = Command::new("sh")
            .arg("-c")
            .arg(cmd)
            .env("AGENTMUX_EVENT", occasion.as_str())
            .env("AGENTMUX_SESSION", session)
            .env("AGENTMUX_MESSAGE", message)
            .stdin(Stdio::null())
            .status();
        match status {
            Ok(s) if s.success() => {}
            Ok(s) => tracing::warn!("notify.command exited with {s}"),
            Err(e) => tracing::warn!("notify.command could not run: {e}"),
        }
    }
}

fn which(bin: &str) -> bool {
    std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join(bin).is_file()))
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_user_command_gets_the_event_in_its_environment() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("n.txt");
        let cfg = NotifyConfig {
            tmux: false,
            desktop: false,
            command: Some(format!(
                "echo \"$AGENTMUX_EVENT $AGENTMUX_SESSION $AGENTMUX_MESSAGE\" > {}",
                out.display()
            )),
        };
        send(&cfg, "s1", Occasion::Completed, "all done", None);
        assert_eq!(
            std::fs::read_to_string(&out).unwrap().trim(),
            "completed s1 all done"
        );
    }
}
