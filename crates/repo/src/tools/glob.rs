//! The `glob` argument of `list_files` and `search`, read the way a model means it: `*.py`
//! matches Python files anywhere (a `*` crosses directories), and a plain path with no glob
//! characters (`readtime` or `src/lib.rs`) means that file or everything under that directory.

use globset::{GlobBuilder, GlobMatcher};

pub(super) enum PathFilter {
    All,
    Glob(GlobMatcher),
    Prefix(String),
}

impl PathFilter {
    pub(super) fn new(glob: Option<&str>) -> Result<Self, String> {
        let Some(raw) = glob.map(str::trim).filter(|g| !g.is_empty()) else {
            return Ok(Self::All);
        };
        let g = raw.trim_start_matches("./").trim_start_matches('/');
        if g.is_empty() || g == "." || g == "**" {
            return Ok(Self::All);
        }
        if !g.contains(['*', '?', '[', '{']) {
            return Ok(Self::Prefix(g.trim_end_matches('/').to_string()));
        }
        GlobBuilder::new(g)
            .literal_separator(false)
            .build()
            .map(|g| Self::Glob(g.compile_matcher()))
            .map_err(|e| {
                format!(
                    "the glob `{raw}` is invalid: {e}; use a glob such as `*.py` or `src/**/*.rs`"
                )
            })
    }

    pub(super) fn matches(&self, rel: &str) -> bool {
        match self {
            Self::All => true,
            Self::Glob(m) => m.is_match(rel),
            Self::Prefix(p) => {
                rel == p
                    || (rel.starts_with(p.as_str()) && rel.as_bytes().get(p.len()) == Some(&b'/'))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(glob: &str, rel: &str) -> bool {
        PathFilter::new(Some(glob)).unwrap().matches(rel)
    }

    #[test]
    fn globs_read_the_way_a_model_means_them() {
        assert!(m("*.py", "readtime/api.py"));
        assert!(m("**/*.py", "readtime/api.py"));
        assert!(m("readtime/*.py", "readtime/api.py"));
        assert!(!m("*.rs", "readtime/api.py"));
        assert!(m("readtime", "readtime/api.py"));
        assert!(m("readtime/", "readtime/api.py"));
        assert!(!m("readtime", "readtime2/api.py"));
        assert!(m("./readtime/api.py", "readtime/api.py"));
        assert!(PathFilter::new(Some("a[")).is_err());
    }
}
