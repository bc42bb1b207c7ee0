//! How long to wait before a retry: the server's `Retry-After` when it sent one, else exponential
//! backoff with jitter (`initial * 2^n`, capped, then a random 50–100 % of it so parallel agents
//! do not retry in lockstep).

use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

use reqwest::header::HeaderMap;

use protocol::config::RetriesConfig;

/// Longest `Retry-After` honoured; a server asking for more is waited on for this long.
pub(crate) const MAX_RETRY_AFTER: Duration = Duration::from_secs(600);

/// The delay before retry number `retry` (1 for the first retry).
pub(crate) fn delay(cfg: &RetriesConfig, retry: u32, retry_after: Option<Duration>) -> Duration {
    if let Some(ra) = retry_after {
        return ra.min(MAX_RETRY_AFTER);
    }
    let exp = retry.saturating_sub(1).min(30);
    let base = cfg.initial_backoff_ms.saturating_mul(1u64 << exp);
    let capped = base.min(cfg.max_backoff_ms.max(cfg.initial_backoff_ms));
    let jitter = 0.5 + 0.5 * random_unit();
    Duration::from_millis((capped as f64 * jitter) as u64)
}

/// A random number in [0, 1) (std's per-process random hash keys; no RNG dependency needed).
fn random_unit() -> f64 {
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    (h.finish() >> 11) as f64 / (1u64 << 53) as f64
}

/// `retry-after-ms` (OpenAI), else `Retry-After` in seconds or as an HTTP date.
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    if let Some(ms) =
        header_str(headers, "retry-after-ms").and_then(|v| v.trim().parse::<f64>().ok())
        && ms.is_finite()
        && ms >= 0.0
    {
        return Some(Duration::from_secs_f64(ms / 1000.0));
    }
    parse_retry_after(header_str(headers, "retry-after")?)
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name)?.to_str().ok()
}

/// Parses a `Retry-After` value: seconds (fractions accepted) or an HTTP date.
pub(crate) fn parse_retry_after(value: &str) -> Option<Duration> {
    let v = value.trim();
    if let Ok(secs) = v.parse::<f64>() {
        return (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs));
    }
    let at = jiff::fmt::rfc2822::parse(v).ok()?.timestamp();
    let now = jiff::Timestamp::now();
    let secs = at.as_second() - now.as_second();
    Some(Duration::from_secs(secs.max(0) as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> RetriesConfig {
        RetriesConfig {
            max_retries: 5,
            initial_backoff_ms: 100,
            max_backoff_ms: 1000,
        }
    }

    #[test]
    fn exponential_with_jitter_and_cap() {
        for _ in 0..50 {
            let d1 = delay(&cfg(), 1, None).as_millis();
            assert!((50..=100).contains(&d1), "{d1}");
            let d3 = delay(&cfg(), 3, None).as_millis();
            assert!((200..=400).contains(&d3), "{d3}");
            let d9 = delay(&cfg(), 9, None).as_millis();
            assert!((500..=1000).contains(&d9), "{d9}");
        }
    }

    #[test]
    fn retry_after_wins_and_is_capped() {
        assert_eq!(
            delay(&cfg(), 1, Some(Duration::from_secs(2))),
            Duration::from_secs(2)
        );
        assert_eq!(
            delay(&cfg(), 1, Some(Duration::from_secs(100_000))),
            MAX_RETRY_AFTER
        );
    }

    #[test]
    fn parses_seconds_and_dates() {
        assert_eq!(parse_retry_after("3"), Some(Duration::from_secs(3)));
        assert_eq!(parse_retry_after("0.5"), Some(Duration::from_millis(500)));
        assert_eq!(parse_retry_after("-1"), None);
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon"), None);
    }

    #[test]
    fn retry_after_ms_header_first() {
        let mut h = HeaderMap::new();
        h.insert("retry-after", "5".parse().unwrap());
        assert_eq!(retry_after(&h), Some(Duration::from_secs(5)));
        h.insert("retry-after-ms", "250".parse().unwrap());
        assert_eq!(retry_after(&h), Some(Duration::from_millis(250)));
    }
}
