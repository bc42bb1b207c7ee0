//! The shape of an agentmux tmux session: its name, and its panes (supervisor first, then one per
//! role, then the local model when used) arranged by the configured layout.

use std::collections::BTreeMap;

use super::{Multiplexer, PaneInfo, PaneSpec};
use protocol::error::{Error, Result};
use protocol::slug;

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
    size: (u16, u16),
    layout: &str,
) -> Result<BTreeMap<String, PaneInfo>> {
    let mut seen = std::collections::BTreeSet::new();
    if let Some((dup, _)) = panes.iter().find(|(k, _)| !seen.insert(k.as_str())) {
        return Err(Error::Tmux(format!(
            "tmux session `{name}`: pane `{dup}` is listed twice"
        )));
    }
    let specs: Vec<PaneSpec> = panes.iter().map(|(_, s)| s.clone()).collect();
    let opened = mux.open_window(name, &specs, size, layout)?;
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
