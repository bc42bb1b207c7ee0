//! The shape of an agentmux tmux session: its name, and its panes (supervisor first, then one per
//! role, then the local model when used) arranged by the configured layout.

use std::collections::BTreeMap;

use super::{Multiplexer, PaneInfo, PaneSpec};
use crate::error::{Error, Result};
use crate::paths::slug;

/// The size of a detached session when the caller has no terminal to measure.
pub const DEFAULT_SIZE: (u16, u16) = (200, 50);

/// The longest project part of a session name, so names stay readable in `tmux ls`.
const MAX_PROJECT_LEN: usize = 24;

/// `<prefix>-<project>-<short id>`, e.g. `agentmux-shop-1500ab12`: lowercase letters, digits and
/// `-` only (tmux forbids `.` and `:`), and always starting with the prefix and a dash, so it is
/// never one of a user's usual session names. The short id is the last 8 letters or digits of
/// the session id (time of day and random suffix for ids like `20261122-031500-ab12`).
pub fn session_name(prefix: &str, project: &str, session_id: &str) -> String {
    let prefix = match slug(prefix) {
        p if p == "project" && prefix.trim().is_empty() => "agentmux".to_string(),
        p => p,
    };
    let mut project = slug(project);
    if project.len() > MAX_PROJECT_LEN {
        project.truncate(MAX_PROJECT_LEN);
        project = project.trim_end_matches('-').to_string();
    }
    let alnum: Vec<char> = session_id
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect();
    let short: String = alnum[alnum.len().saturating_sub(8)..].iter().collect();
    let short = if short.is_empty() { "0".into() } else { short };
    format!("{prefix}-{project}-{short}")
}

/// The caller's terminal size, else [`DEFAULT_SIZE`]; the session is created at this size so the
/// layout is right before anyone attaches.
pub fn terminal_size() -> (u16, u16) {
    match tty_size() {
        Some((w, h)) if w >= 20 && h >= 8 => (w, h),
        _ => DEFAULT_SIZE,
    }
}

/// The size of the process's terminal, or None without one. Asks only when a standard stream is
/// a terminal: without one, crossterm falls back to running `tput cols` and `tput lines`, two
/// processes per call (they cost `start --detach` in a script ~5 ms, and a headless agent one
/// pair per width check).
pub fn tty_size() -> Option<(u16, u16)> {
    use std::io::IsTerminal;
    let any_tty = std::io::stdout().is_terminal()
        || std::io::stderr().is_terminal()
        || std::io::stdin().is_terminal();
    if !any_tty {
        return None;
    }
    ratatui::crossterm::terminal::size().ok()
}

/// The preset layouts of every supported tmux (3.2 and later).
pub const PRESETS: [&str; 5] = [
    "tiled",
    "main-vertical",
    "main-horizontal",
    "even-horizontal",
    "even-vertical",
];

/// Checks a `tmux.layout` value before tmux sees it: one of [`PRESETS`], or a layout string as
/// `#{window_layout}` prints it (`csum,WxH,X,Y...` with a correct checksum). tmux 3.3a crashes
/// (the whole server, with every session on it) on a layout that does not start with a hex
/// checksum and a comma, so nothing else may reach it. The error says what to use instead.
pub fn check_layout(layout: &str) -> std::result::Result<(), String> {
    if PRESETS.contains(&layout) {
        return Ok(());
    }
    let presets = PRESETS.join(", ");
    let hint = format!(
        "use one of {presets}, or a layout string printed by `tmux display -p '#{{window_layout}}'`"
    );
    let Some((csum, body)) = layout.split_once(',') else {
        return Err(format!("`{layout}` is not a tmux layout; {hint}"));
    };
    let csum = match u16::from_str_radix(csum, 16) {
        Ok(c) if csum.len() == 4 && csum.bytes().all(|b| b.is_ascii_hexdigit()) => c,
        _ => {
            return Err(format!(
                "`{layout}` is not a tmux layout (those start with a 4-digit hex checksum); {hint}"
            ));
        }
    };
    if csum != layout_checksum(body) {
        return Err(format!(
            "`{layout}`: the checksum does not match the layout (edited by hand?); {hint}"
        ));
    }
    Ok(())
}

/// tmux's layout checksum (`layout_checksum` in tmux's layout-custom.c): a 16-bit rotate-and-add
/// over the bytes after `csum,`.
fn layout_checksum(body: &str) -> u16 {
    body.bytes().fold(0u16, |csum, b| {
        csum.rotate_right(1).wrapping_add(u16::from(b))
    })
}

/// Opens a detached session with one pane per entry (the first entry gets the session's first
/// pane), applies `layout`, and returns each key's pane. On any failure the half-made session is
/// killed, so a retry starts clean; an existing session of that name is left alone.
pub fn open_session(
    mux: &dyn Multiplexer,
    name: &str,
    panes: &[(String, PaneSpec)],
    layout: &str,
) -> Result<BTreeMap<String, PaneInfo>> {
    let mut seen = std::collections::BTreeSet::new();
    if let Some((dup, _)) = panes.iter().find(|(k, _)| !seen.insert(k.as_str())) {
        return Err(Error::Tmux(format!(
            "tmux session `{name}`: pane `{dup}` is listed twice"
        )));
    }
    let specs: Vec<PaneSpec> = panes.iter().map(|(_, s)| s.clone()).collect();
    let opened = mux.open_window(name, &specs, terminal_size(), layout)?;
    if opened.len() != panes.len() {
        let _ = mux.kill_session(name);
        return Err(Error::Tmux(format!(
            "tmux session `{name}`: asked for {} panes, tmux reported {}",
            panes.len(),
            opened.len()
        )));
    }
    Ok(panes.iter().map(|(k, _)| k.clone()).zip(opened).collect())
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::mux::{FakeMux, MuxCall};

    fn spec(title: &str) -> PaneSpec {
        PaneSpec {
            title: title.into(),
            argv: vec!["agentmux".into(), title.into()],
            env: vec![],
            cwd: PathBuf::from("/p"),
            start_delay: None,
        }
    }

    #[test]
    fn session_names_are_prefixed_safe_and_short() {
        assert_eq!(
            session_name("agentmux", "shop", "20261122-031500-ab12"),
            "agentmux-shop-1500ab12"
        );
        assert_eq!(
            session_name("agentmux", "My.Project:v2", "x"),
            "agentmux-my-project-v2-x"
        );
        let long = session_name("am", &"a-".repeat(40), "20261122-031500-ab12");
        assert!(long.len() <= 2 + 1 + 24 + 1 + 8, "{long}");
        assert!(!long.contains("--"), "{long}");
        assert!(session_name("", "p", "1").starts_with("agentmux-"));
        for n in [long, session_name("A.B", "c:d", "e.f")] {
            assert!(
                n.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
                "{n}"
            );
        }
    }

    #[test]
    fn layouts_are_presets_or_checksummed_layout_strings() {
        for p in PRESETS {
            assert_eq!(check_layout(p), Ok(()));
        }
        // Printed by tmux 3.3a (`#{window_layout}`) for a 160x48 window split in two.
        assert_eq!(
            check_layout("9773,160x48,0,0[160x24,0,0,0,160x23,0,25,1]"),
            Ok(())
        );
        // Each of these would crash a tmux 3.3a server (no hex checksum and comma) or be
        // misread (a short checksum); a wrong checksum is refused before tmux says so.
        for bad in [
            "spiral",
            "",
            "bad",
            "Tiled",
            "abc,x",
            "+abc,x",
            "9773,160x48,0,0[160x24,0,0,0,160x23,0,25,2]",
        ] {
            let err = check_layout(bad).unwrap_err();
            assert!(err.contains("main-vertical"), "{bad}: {err}");
        }
        assert!(check_layout("spiral").unwrap_err().contains("`spiral`"));
        assert!(
            check_layout("9773,160x48,0,0[160x24,0,0,0,160x23,0,25,2]")
                .unwrap_err()
                .contains("checksum")
        );
    }

    #[test]
    fn open_session_makes_one_pane_per_key_and_applies_the_layout() {
        let mux = FakeMux::new();
        let panes = vec![
            ("supervisor".to_string(), spec("supervisor")),
            ("architect".to_string(), spec("architect")),
            ("code-reviewer".to_string(), spec("code-reviewer")),
        ];
        let map = open_session(&mux, "agentmux-p-1", &panes, "tiled").unwrap();
        assert_eq!(
            map.keys().collect::<Vec<_>>(),
            ["architect", "code-reviewer", "supervisor"]
        );
        assert_eq!(map["supervisor"].id, "%0");
        assert_eq!(map["code-reviewer"].title, "code-reviewer");
        assert_eq!(
            mux.calls().last(),
            Some(&MuxCall::SelectLayout {
                session: "agentmux-p-1".into(),
                layout: "tiled".into()
            })
        );
        let listed = mux.list_panes("agentmux-p-1").unwrap();
        assert_eq!(listed.len(), 3);
    }

    #[test]
    fn open_session_kills_a_half_made_session_and_refuses_bad_input() {
        let mux = FakeMux::new();
        assert!(open_session(&mux, "s", &[], "tiled").is_err());
        let dup = vec![("a".to_string(), spec("a")), ("a".to_string(), spec("b"))];
        assert!(open_session(&mux, "s", &dup, "tiled").is_err());
        assert!(!mux.has_session("s").unwrap());
        // The session exists already: nothing is killed that we did not create.
        mux.new_session("busy", &spec("x"), (80, 24)).unwrap();
        assert!(open_session(&mux, "busy", &[("a".into(), spec("a"))], "tiled").is_err());
        assert!(mux.has_session("busy").unwrap());
    }
}
