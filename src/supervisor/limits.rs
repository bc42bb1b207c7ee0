//! The limits at which the supervisor pauses a session by itself: a budget from the config is
//! spent, or the disk is full. Each gives the pause reason, which says how to go on.

use std::path::Path;

use crate::config::LlmConfig;
use workflow::state::Totals;

/// A pause reason when the session has spent its cost or token budget.
pub(crate) fn over_budget(llm: &LlmConfig, spent: &Totals) -> Option<String> {
    if let Some(b) = llm.budget_usd
        && spent.cost_usd >= b
    {
        return Some(format!(
            "the cost budget is reached (${:.4} of llm.budget_usd ${b:.4}); raise it, e.g. \
             `agentmux resume --set llm.budget_usd={:.2}`",
            spent.cost_usd,
            b * 2.0
        ));
    }
    if let Some(m) = llm.max_total_tokens
        && spent.tokens() >= m
    {
        return Some(format!(
            "the token budget is reached ({} of llm.max_total_tokens {m}); raise it, e.g. \
             `agentmux resume --set llm.max_total_tokens={}`",
            spent.tokens(),
            m * 2
        ));
    }
    None
}

/// Free bytes below which the session pauses: agents could no longer write heartbeats or results
/// and would be restarted until the session fails with a misleading crash message.
const MIN_FREE_BYTES: u64 = 256 * 1024;

/// A pause reason when the file system holding `dir` is (nearly) full.
pub(crate) fn disk_full(dir: &Path) -> Option<String> {
    let st = nix::sys::statvfs::statvfs(dir).ok()?;
    let free = st.blocks_available() as u64 * st.fragment_size() as u64;
    (free < MIN_FREE_BYTES).then(|| {
        format!(
            "no space left on the device holding {} ({free} bytes free); free some space, then `agentmux resume`",
            dir.display()
        )
    })
}
