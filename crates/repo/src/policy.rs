//! What may be shown and how much: the [`Policy`] a caller resolves from the project's
//! configuration, and the name rules (secrets, the deny list) compiled once when a
//! [`crate::Repo`] opens.
//!
//! The secret patterns are built in and cannot be switched off: a model's context may be sent to
//! a remote provider, and a leaked key cannot be called back. The deny list adds to them.

use std::time::Duration;

use globset::{GlobBuilder, GlobSet, GlobSetBuilder};

use crate::error::{RepoError, Rule};
use crate::lang::Language;

/// The limits and deny list of a [`crate::Repo`]. `Policy::default()` is the documented default;
/// set the fields a project configures and keep the rest (`..Policy::default()`).
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    /// Extra globs refused like secrets. A glob without `/` matches a file name anywhere
    /// (`*.sqlite`); one with `/` matches the path from the root (`config/prod/**`).
    pub deny: Vec<String>,
    /// A file larger than this is refused for a whole read; a line range still streams it.
    pub max_read_bytes: u64,
    /// The most bytes one tool call returns; longer output is cut and says where to continue.
    pub max_output_bytes: usize,
    /// A longer line is cut in `read_file` and `search` output (minified code, data).
    pub max_line_bytes: usize,
    /// A longer search pattern is refused.
    pub max_pattern_len: usize,
    /// The compiled regex's size limit: a pattern that compiles larger is an error, not a slow search.
    pub regex_size_limit: usize,
    /// The regex lazy DFA's cache limit.
    pub regex_dfa_size_limit: usize,
    /// A search that takes longer stops with an error and what it found so far.
    pub search_timeout: Duration,
    /// Files larger than this are left out of a search (and the output says so).
    pub max_search_file_bytes: u64,
    /// Bounds of the context-pack index.
    pub index: IndexLimits,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            deny: Vec::new(),
            max_read_bytes: 1024 * 1024,
            max_output_bytes: 32 * 1024,
            max_line_bytes: 1000,
            max_pattern_len: 300,
            regex_size_limit: 8 * 1024 * 1024,
            regex_dfa_size_limit: 4 * 1024 * 1024,
            search_timeout: Duration::from_secs(5),
            max_search_file_bytes: 8 * 1024 * 1024,
            index: IndexLimits::default(),
        }
    }
}

/// Bounds of [`crate::index::Index::build_or_update`]: past one of them it stops and says what
/// it left out, so a huge repository costs a bounded time and memory.
#[derive(Debug, Clone, PartialEq)]
pub struct IndexLimits {
    /// The most files indexed.
    pub max_files: usize,
    /// The most bytes of text indexed (the index keeps the text of what it indexed in memory).
    pub max_total_bytes: u64,
    /// A larger file is skipped (generated code, data).
    pub max_file_bytes: u64,
    /// Wall-clock budget of one build or update.
    pub time_budget: Duration,
}

impl Default for IndexLimits {
    fn default() -> Self {
        Self {
            max_files: 20_000,
            max_total_bytes: 128 * 1024 * 1024,
            max_file_bytes: 512 * 1024,
            time_budget: Duration::from_secs(60),
        }
    }
}

/// Built-in secret patterns, matched case-insensitively against the file name. `source_exempt`
/// patterns do not apply to source code (`id_map.py`, `credentials.rs` are code that handles
/// ids or credentials, which a design needs to see; `id_rsa` and `credentials.json` are not).
const SECRETS: &[(&str, bool)] = &[
    (".env*", false),
    ("*.pem", false),
    ("*.key", false),
    ("*.p12", false),
    ("*.pfx", false),
    ("id_*", true),
    ("*credentials*", true),
    (".netrc", false),
    (".npmrc", false),
    (".pypirc", false),
    (".pgpass", false),
];

/// The name rules, compiled.
#[derive(Debug, Clone)]
pub(crate) struct NameRules {
    secrets: GlobSet,
    deny_names: GlobSet,
    deny_name_globs: Vec<String>,
    deny_paths: GlobSet,
    deny_path_globs: Vec<String>,
}

impl NameRules {
    pub(crate) fn new(deny: &[String]) -> Result<Self, RepoError> {
        let mut secrets = GlobSetBuilder::new();
        for (pattern, _) in SECRETS {
            secrets.add(glob(pattern)?);
        }
        let (mut names, mut paths) = (GlobSetBuilder::new(), GlobSetBuilder::new());
        let (mut name_globs, mut path_globs) = (Vec::new(), Vec::new());
        for g in deny {
            let trimmed = g.trim_start_matches('/');
            if trimmed.contains('/') {
                paths.add(glob(trimmed)?);
                path_globs.push(g.clone());
            } else {
                names.add(glob(trimmed)?);
                name_globs.push(g.clone());
            }
        }
        let build = |b: GlobSetBuilder, g: &str| {
            b.build().map_err(|source| RepoError::DenyGlob {
                glob: g.to_string(),
                source,
            })
        };
        Ok(Self {
            secrets: build(secrets, "(built-in secret patterns)")?,
            deny_names: build(names, &name_globs.join(", "))?,
            deny_name_globs: name_globs,
            deny_paths: build(paths, &path_globs.join(", "))?,
            deny_path_globs: path_globs,
        })
    }

    /// The rule `rel` (a `/`-separated path from the root) breaks by its name, if any.
    pub(crate) fn check(&self, rel: &str) -> Option<Rule> {
        let mut components = rel.split('/');
        if components.any(|c| c == ".git") {
            return Some(Rule::Internal {
                dir: ".git/".to_string(),
            });
        }
        if rel == ".agentmux" || rel.starts_with(".agentmux/") {
            return Some(Rule::Internal {
                dir: ".agentmux/".to_string(),
            });
        }
        let name = rel.rsplit('/').next().unwrap_or(rel);
        let is_source = Language::of_path(name).is_some_and(Language::is_code);
        let mut hits = self.secrets.matches(name);
        hits.sort_unstable();
        if let Some((pattern, _)) = hits
            .into_iter()
            .map(|i| SECRETS[i])
            .find(|(_, exempt)| !(*exempt && is_source))
        {
            return Some(Rule::Secret {
                pattern: pattern.to_string(),
            });
        }
        if let Some(&i) = self.deny_names.matches(name).iter().min() {
            return Some(Rule::Denied {
                glob: self.deny_name_globs[i].clone(),
            });
        }
        if let Some(&i) = self.deny_paths.matches(rel).iter().min() {
            return Some(Rule::Denied {
                glob: self.deny_path_globs[i].clone(),
            });
        }
        None
    }
}

/// Checks a configured deny list: the first glob that does not parse, as the error
/// [`crate::Repo::open`] would give (for a config check before any session starts).
pub fn check_deny(deny: &[String]) -> Result<(), RepoError> {
    for g in deny {
        glob(g.trim_start_matches('/'))?;
    }
    Ok(())
}

fn glob(pattern: &str) -> Result<globset::Glob, RepoError> {
    GlobBuilder::new(pattern)
        .case_insensitive(true)
        .literal_separator(true)
        .build()
        .map_err(|source| RepoError::DenyGlob {
            glob: pattern.to_string(),
            source,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules() -> NameRules {
        NameRules::new(&["*.sqlite".to_string(), "config/prod/**".to_string()]).unwrap()
    }

    fn secret(rel: &str) -> Option<String> {
        match rules().check(rel) {
            Some(Rule::Secret { pattern }) => Some(pattern),
            _ => None,
        }
    }

    #[test]
    fn secret_looking_names_are_refused() {
        for rel in [
            ".env",
            ".env.local",
            "app/.ENV.production",
            "certs/server.pem",
            "tls.key",
            "home/.ssh/id_rsa",
            "id_ed25519.pub",
            "aws_credentials",
            "gcp/credentials.json",
            ".netrc",
            ".npmrc",
            "store.p12",
        ] {
            assert!(secret(rel).is_some(), "{rel} should be a secret");
        }
        assert_eq!(secret(".env").as_deref(), Some(".env*"));
    }

    #[test]
    fn source_code_about_ids_and_credentials_is_not_a_secret() {
        for rel in [
            "src/id_map.py",
            "auth/credentials.rs",
            "README.md",
            "environment.py",
            "keys.py",
        ] {
            assert_eq!(rules().check(rel), None, "{rel}");
        }
    }

    #[test]
    fn the_deny_list_matches_names_anywhere_and_paths_from_the_root() {
        assert_eq!(
            rules().check("data/cache.SQLITE"),
            Some(Rule::Denied {
                glob: "*.sqlite".to_string()
            })
        );
        assert_eq!(
            rules().check("config/prod/db.yaml"),
            Some(Rule::Denied {
                glob: "config/prod/**".to_string()
            })
        );
        assert_eq!(rules().check("src/config/prod/db.yaml"), None);
    }

    #[test]
    fn internals_are_refused() {
        assert!(matches!(
            rules().check(".git/config"),
            Some(Rule::Internal { .. })
        ));
        assert!(matches!(
            rules().check("sub/.git/HEAD"),
            Some(Rule::Internal { .. })
        ));
        assert!(matches!(
            rules().check(".agentmux/index/index.json"),
            Some(Rule::Internal { .. })
        ));
    }

    #[test]
    fn a_bad_deny_glob_is_a_typed_error_naming_it() {
        let err = NameRules::new(&["a[".to_string()]).unwrap_err();
        assert!(err.to_string().contains("`a[`"), "{err}");
    }
}
