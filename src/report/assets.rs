//! The Mermaid build embedded in the report, vendored by `scripts/refresh-mermaid.sh` from the
//! npm package (pinned: `vendor/mermaid/VERSION` records its version and sha256; a test checks
//! them). Embedded rather than linked so the page works offline and asks no server for anything.

/// `mermaid.min.js` of the pinned version.
pub(crate) const MERMAID_JS: &str = include_str!("../../vendor/mermaid/mermaid.min.js");

/// `vendor/mermaid/VERSION`: `version=...` and `sha256=...` lines.
const VERSION_FILE: &str = include_str!("../../vendor/mermaid/VERSION");

/// The value of a `key=value` line of the VERSION file.
fn recorded(key: &str) -> &'static str {
    VERSION_FILE
        .lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
        .unwrap_or("unknown")
}

/// The pinned Mermaid version.
pub(crate) fn mermaid_version() -> &'static str {
    recorded("version")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_mermaid_is_the_pinned_one() {
        let version = mermaid_version();
        assert!(version.starts_with("11."), "{version}");
        let sum = docs::baseline::hash(MERMAID_JS.as_bytes());
        assert_eq!(
            sum.trim_start_matches("sha256:"),
            recorded("sha256"),
            "vendor/mermaid/mermaid.min.js does not match vendor/mermaid/VERSION: run \
             scripts/refresh-mermaid.sh"
        );
        // The license travels with the code.
        let license = include_str!("../../vendor/mermaid/LICENSE");
        assert!(license.contains("MIT License"), "{license}");
    }
}
