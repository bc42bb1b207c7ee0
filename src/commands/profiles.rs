//! One line per role's model profile, with the source of each value, as `config show` and
//! `doctor` print it.

use protocol::profile::{ModelProfile, RoleProfile, Sourced};

/// `value (source)`.
fn sourced(value: impl std::fmt::Display, s: &Sourced<impl Sized>) -> String {
    format!("{value} ({})", s.source.as_str())
}

/// The profile in one line: model, window, output budget, JSON mode, tools, reasoning, prices.
pub(super) fn describe(p: &ModelProfile) -> String {
    let reasoning = p.reasoning_effort.value.as_deref().unwrap_or("-");
    let prices = match &p.prices.value {
        Some(pr) => format!(
            "${}/${} per Mtok in/out",
            pr.input_per_mtok, pr.output_per_mtok
        ),
        None => "none".into(),
    };
    format!(
        "{}{}, window {}, output {}, json {}, tools {}, reasoning {}, prices {}",
        p.model,
        if p.local { " (local)" } else { "" },
        sourced(p.context_window.value, &p.context_window),
        sourced(p.max_output_tokens.value, &p.max_output_tokens),
        sourced(p.structured_output.value.as_str(), &p.structured_output),
        sourced(if p.tools.value { "yes" } else { "no" }, &p.tools),
        sourced(reasoning, &p.reasoning_effort),
        sourced(prices, &p.prices),
    )
}

/// One `role: profile` line per role.
pub(super) fn lines(profiles: &[RoleProfile]) -> Vec<String> {
    profiles
        .iter()
        .map(|r| format!("{}: {}", r.role, describe(&r.profile)))
        .collect()
}
