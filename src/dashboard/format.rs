//! Number, time and text formatting for the dashboard. Pure functions, so the widths the layout
//! relies on are unit-tested in one place.

use std::time::Duration;

/// `HH:MM:SS` (hours grow past 99 rather than wrap).
pub(crate) fn elapsed(d: Duration) -> String {
    let s = d.as_secs();
    format!("{:02}:{:02}:{:02}", s / 3600, (s / 60) % 60, s % 60)
}

/// A token count in at most 6 characters: `999`, `1.50k`, `12.3k`, `123k`, `1.23M`, ... `9.22E`.
pub(crate) fn tokens(n: u64) -> String {
    const UNITS: [&str; 6] = ["k", "M", "G", "T", "P", "E"];
    if n < 1_000 {
        return n.to_string();
    }
    let mut v = n as f64;
    let mut unit = 0;
    while v >= 1_000.0 && unit < UNITS.len() {
        v /= 1_000.0;
        unit += 1;
    }
    let u = UNITS[unit - 1];
    if v < 10.0 {
        format!("{v:.2}{u}")
    } else if v < 100.0 {
        format!("{v:.1}{u}")
    } else {
        format!("{v:.0}{u}")
    }
}

/// Dollars: four decimals below a dollar (local models cost nothing, small calls cost cents).
pub(crate) fn usd(x: f64) -> String {
    if x < 1.0 {
        format!("${x:.4}")
    } else {
        format!("${x:.2}")
    }
}

/// A cost cell that never shows an unknown cost as $0: `unpriced` when no call of `calls` has a
/// price, `≥$X` when some have none (the rest are summed), else the dollars.
pub(crate) fn cost_cell(cost: f64, calls: u64, unpriced: u64) -> String {
    match unpriced {
        0 => usd(cost),
        n if n >= calls => "unpriced".to_string(),
        _ => format!("≥{}", usd(cost)),
    }
}

/// A cost in words: `$X`, `≥ $X + N calls unpriced`, or `unknown (N calls unpriced)`.
pub(crate) fn cost_words(cost: f64, calls: u64, unpriced: u64) -> String {
    let n = |k: u64| format!("{k} call{}", if k == 1 { "" } else { "s" });
    match unpriced {
        0 => usd(cost),
        u if u >= calls => format!("unknown ({} unpriced)", n(u)),
        u => format!("≥ {} + {} unpriced", usd(cost), n(u)),
    }
}

/// A ratio as a whole percentage, `None` when the limit is not positive.
pub(crate) fn percent(used: f64, limit: f64) -> Option<u32> {
    (limit > 0.0).then(|| ((used / limit) * 100.0).clamp(0.0, 9_999.0).round() as u32)
}

/// A share (0 to 1) as a whole percentage in at most 5 characters, `-` when there is none.
pub(crate) fn share(s: Option<f64>) -> String {
    s.map(|s| format!("{:.0} %", (s * 100.0).clamp(0.0, 100.0)))
        .unwrap_or_else(|| "-".into())
}

/// A text bar of `width` cells filled in proportion to `used / limit` (capped at full).
pub(crate) fn bar(used: f64, limit: f64, width: usize) -> String {
    let frac = if limit > 0.0 {
        (used / limit).clamp(0.0, 1.0)
    } else {
        0.0
    };
    let full = ((frac * width as f64).round() as usize).min(width);
    let mut s = "█".repeat(full);
    s.push_str(&"░".repeat(width - full));
    s
}

/// Cuts `s` to at most `width` characters, ending with `…` when cut. Newlines become spaces,
/// so one journal error never takes more than its line.
pub(crate) fn fit(s: &str, width: usize) -> String {
    let flat: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if flat.chars().count() <= width {
        return flat;
    }
    if width == 0 {
        return String::new();
    }
    let mut out: String = flat.chars().take(width - 1).collect();
    out.push('…');
    out
}

/// Pads or cuts `s` to exactly `width` characters.
pub(crate) fn pad(s: &str, width: usize) -> String {
    let cut = fit(s, width);
    let n = cut.chars().count();
    format!("{cut}{}", " ".repeat(width.saturating_sub(n)))
}

/// Word-wraps `s` into lines of at most `width` characters (a longer word is cut), for banners
/// whose height must be known before they are drawn.
pub(crate) fn wrap(s: &str, width: usize) -> Vec<String> {
    let width = width.max(1);
    let mut lines = Vec::new();
    let mut cur = String::new();
    for word in s.split_whitespace() {
        let mut word: String = word.to_string();
        loop {
            let cur_len = cur.chars().count();
            let word_len = word.chars().count();
            let need = if cur.is_empty() {
                word_len
            } else {
                cur_len + 1 + word_len
            };
            if need <= width {
                if !cur.is_empty() {
                    cur.push(' ');
                }
                cur.push_str(&word);
                break;
            }
            if !cur.is_empty() {
                lines.push(std::mem::take(&mut cur));
                continue;
            }
            // A word longer than the line: cut it.
            let head: String = word.chars().take(width).collect();
            word = word.chars().skip(width).collect();
            lines.push(head);
            if word.is_empty() {
                break;
            }
        }
    }
    if !cur.is_empty() {
        lines.push(cur);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elapsed_is_hours_minutes_seconds() {
        assert_eq!(elapsed(Duration::from_secs(0)), "00:00:00");
        assert_eq!(elapsed(Duration::from_secs(3_723)), "01:02:03");
        assert_eq!(elapsed(Duration::from_secs(100 * 3600)), "100:00:00");
    }

    #[test]
    fn tokens_stay_short() {
        assert_eq!(tokens(999), "999");
        assert_eq!(tokens(12_345), "12.3k");
        assert_eq!(tokens(123_456), "123k");
        assert_eq!(tokens(1_234_567), "1.23M");
        assert_eq!(tokens(1_500), "1.50k");
        for n in [0, 999, 1_000, 99_999, 100_000, 999_999, 1_000_000, u64::MAX] {
            assert!(tokens(n).len() <= 6, "{n} -> {}", tokens(n));
        }
    }

    #[test]
    fn usd_uses_cents_precision_below_a_dollar() {
        assert_eq!(usd(0.0), "$0.0000");
        assert_eq!(usd(0.01234), "$0.0123");
        assert_eq!(usd(12.5), "$12.50");
    }

    #[test]
    fn an_unpriced_cost_is_never_shown_as_zero() {
        assert_eq!(cost_cell(0.5, 4, 0), "$0.5000");
        assert_eq!(cost_cell(0.0, 4, 4), "unpriced");
        assert_eq!(cost_cell(0.0123, 4, 1), "≥$0.0123");
        assert_eq!(cost_cell(0.0, 0, 0), "$0.0000");
        assert_eq!(cost_words(0.0, 3, 3), "unknown (3 calls unpriced)");
        assert_eq!(cost_words(1.5, 3, 1), "≥ $1.50 + 1 call unpriced");
        assert_eq!(cost_words(1.5, 3, 0), "$1.50");
    }

    #[test]
    fn share_is_short() {
        assert_eq!(share(None), "-");
        assert_eq!(share(Some(0.0)), "0 %");
        assert_eq!(share(Some(0.456)), "46 %");
        assert_eq!(share(Some(1.0)), "100 %");
        assert_eq!(share(Some(1.7)), "100 %");
    }

    #[test]
    fn percent_and_bar_handle_zero_and_overflow() {
        assert_eq!(percent(1.0, 0.0), None);
        assert_eq!(percent(0.5, 2.0), Some(25));
        assert_eq!(bar(0.5, 2.0, 8), "██░░░░░░");
        assert_eq!(bar(5.0, 2.0, 4), "████");
        assert_eq!(bar(1.0, 0.0, 3), "░░░");
    }

    #[test]
    fn fit_cuts_with_an_ellipsis_and_flattens_newlines() {
        assert_eq!(fit("abc", 3), "abc");
        assert_eq!(fit("abcd", 3), "ab…");
        assert_eq!(fit("a\nb", 5), "a b");
        assert_eq!(fit("abc", 0), "");
        assert_eq!(pad("ab", 4), "ab  ");
        assert_eq!(pad("abcdef", 4), "abc…");
    }

    #[test]
    fn wrap_breaks_at_words_and_cuts_long_words() {
        assert_eq!(wrap("one two three", 7), vec!["one two", "three"]);
        assert_eq!(wrap("abcdefghij", 4), vec!["abcd", "efgh", "ij"]);
        assert_eq!(wrap("a\nb  c", 80), vec!["a b c"]);
        assert!(wrap("", 5).is_empty());
        assert_eq!(wrap("ab", 0), vec!["a", "b"]);
    }
}
