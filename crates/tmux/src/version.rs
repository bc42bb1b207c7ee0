//! Which tmux versions agentmux supports, and parsing `tmux -V`.
//!
//! 3.2 is the floor: `new-session -e` (environment per session), `pane-border-format` per window
//! and `source-file -` (commands read from stdin, how secrets reach tmux without argv) all work
//! there.

use protocol::error::{Error, Result};

/// The oldest supported tmux.
pub const MIN_VERSION: (u32, u32) = (3, 2);

/// How to install tmux, shown when it is missing or too old.
pub const INSTALL_HINT: &str = "install tmux 3.2 or newer: `sudo apt install tmux` (Debian/Ubuntu), \
`sudo dnf install tmux` (Fedora), `brew install tmux` (macOS); or run headless with `agentmux run`";

/// Parses the output of `tmux -V`: `tmux 3.3a`, `tmux 3.2-rc2`, `tmux next-3.4`.
/// Builds that do not carry a number (`tmux master`, `tmux openbsd-7.5`) are development or
/// OS-bundled builds, newer than any release we know of: they parse as `(u32::MAX, 0)`.
pub fn parse_version(output: &str) -> Option<(u32, u32)> {
    let word = output.trim().strip_prefix("tmux ")?.trim();
    let numeric = word.strip_prefix("next-").unwrap_or(word);
    let mut parts = numeric.splitn(2, '.');
    let major_text = parts.next()?;
    if major_text.is_empty() || !major_text.bytes().all(|b| b.is_ascii_digit()) {
        if word == "master" || word.starts_with("openbsd-") {
            return Some((u32::MAX, 0));
        }
        return None;
    }
    let major: u32 = major_text.parse().ok()?;
    let minor_digits: String = parts
        .next()
        .unwrap_or("0")
        .chars()
        .take_while(|c| c.is_ascii_digit())
        .collect();
    let minor: u32 = if minor_digits.is_empty() {
        0
    } else {
        minor_digits.parse().ok()?
    };
    Some((major, minor))
}

/// The verdict on the output of `tmux -V`: the version when it is [`MIN_VERSION`] or newer, else
/// an error whose first line says what is wrong and whose next line is the fix ([`INSTALL_HINT`]).
/// Every command that needs tmux, and `agentmux doctor`, judge by this.
pub fn require_supported(raw: &str) -> Result<(u32, u32)> {
    let Some(v) = parse_version(raw) else {
        return Err(Error::Tmux(format!(
            "cannot read the tmux version from `{}`\n  {INSTALL_HINT}",
            raw.trim()
        )));
    };
    if v < MIN_VERSION {
        return Err(Error::Tmux(format!(
            "tmux {}.{} is too old (agentmux needs {}.{} or newer)\n  {INSTALL_HINT}",
            v.0, v.1, MIN_VERSION.0, MIN_VERSION.1
        )));
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_release_rc_and_next_versions() {
        assert_eq!(parse_version("tmux 3.3a\n"), Some((3, 3)));
        assert_eq!(parse_version("tmux 3.2"), Some((3, 2)));
        assert_eq!(parse_version("tmux 3.2-rc2"), Some((3, 2)));
        assert_eq!(parse_version("tmux next-3.5"), Some((3, 5)));
        assert_eq!(parse_version("tmux 10.12b"), Some((10, 12)));
        assert_eq!(parse_version("tmux master"), Some((u32::MAX, 0)));
        assert_eq!(parse_version("tmux openbsd-7.5"), Some((u32::MAX, 0)));
        assert_eq!(parse_version("screen 4.0"), None);
        assert_eq!(parse_version("tmux x.y"), None);
    }

    #[test]
    fn old_or_unreadable_versions_are_errors_with_the_install_hint() {
        let old = require_supported("tmux 3.1c").unwrap_err().to_string();
        let (problem, fix) = old.split_once('\n').unwrap();
        assert!(problem.contains("3.1 is too old"), "{old}");
        assert!(fix.contains("apt install tmux"), "{old}");
        let odd = require_supported("what").unwrap_err().to_string();
        assert!(odd.contains("cannot read the tmux version"), "{odd}");
        assert_eq!(require_supported("tmux 3.2a").unwrap(), (3, 2));
        assert_eq!(require_supported("tmux 2.9a").ok(), None);
        assert_eq!(require_supported("tmux 3.10").unwrap(), (3, 10));
        assert_eq!(require_supported("tmux master").unwrap(), (u32::MAX, 0));
    }
}
