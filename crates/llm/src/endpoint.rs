//! Which server and model a role talks to, and the API key.
//!
//! The key is read from the environment variable named in config (`llm.api_key_env`) and kept in an
//! [`ApiKey`], which prints as `***` and cannot be serialised, so it never reaches a file, a log, a
//! journal, a transcript or an error message.

use std::fmt;

use protocol::config::Config;
use protocol::error::Error;

/// The default remote endpoint when only an API key is set.
pub(crate) const OPENAI_BASE_URL: &str = "https://api.openai.com/v1";
/// The default remote model.
pub(crate) const DEFAULT_REMOTE_MODEL: &str = "gpt-4o-mini";
/// The model name used for the local default (llama-server serves whatever model it loaded).
pub(crate) const DEFAULT_LOCAL_MODEL: &str = "smollm2-135m";

/// An API key. `Debug` and `Display` print `***`; there is no `Serialize`.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    pub fn new(key: impl Into<String>) -> Self {
        Self(key.into())
    }
    /// The key itself, for the `Authorization` header only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// An OpenAI-compatible endpoint and the model to ask.
#[derive(Clone, Debug, PartialEq)]
pub struct Endpoint {
    /// Base URL including `/v1`, without a trailing slash.
    pub base_url: String,
    pub model: String,
    pub api_key: Option<ApiKey>,
    /// True for the managed local llama-server.
    pub is_local: bool,
}

impl Endpoint {
    /// `<base_url>/<path>`.
    pub fn url(&self, path: &str) -> String {
        format!(
            "{}/{}",
            self.base_url.trim_end_matches('/'),
            path.trim_start_matches('/')
        )
    }
}

/// The API key from the variable named by `llm.api_key_env`, when that is set and not blank.
fn api_key(config: &Config) -> Option<ApiKey> {
    let key_var = config.llm.api_key_env.as_str();
    if key_var.is_empty() {
        return None;
    }
    std::env::var(key_var)
        .ok()
        .filter(|k| !k.trim().is_empty())
        .map(|k| ApiKey::new(k.trim()))
}

/// The one rule for which model a session uses: the bundled local model when no endpoint is
/// configured (`llm.base_url` unset) and no API key is set; otherwise the configured endpoint, or
/// OpenAI when only the key is set. Budgets, schema limits and prompts follow this answer, and
/// [`resolve_endpoint`] routes requests by it.
pub fn uses_local_model(config: &Config) -> bool {
    config.llm.base_url.is_none() && api_key(config).is_none()
}

/// Resolves the endpoint for `role`.
///
/// - base URL: `llm.base_url`; else, when the variable named by `llm.api_key_env` is set, OpenAI;
///   else the local default at `local_url` (the running llama-server's `http://127.0.0.1:PORT/v1`).
/// - model: `roles.<role>.model` > `llm.model` > `gpt-4o-mini` (remote) / `smollm2-135m` (local).
/// - API key: the variable named by `llm.api_key_env`, when set and not empty.
pub fn resolve_endpoint(
    config: &Config,
    role: &str,
    local_url: Option<&str>,
) -> Result<Endpoint, Error> {
    let key_var = config.llm.api_key_env.as_str();
    let api_key = api_key(config);
    let (base_url, is_local) = match (&config.llm.base_url, &api_key) {
        (Some(url), _) => (url.clone(), false),
        (None, Some(_)) => (OPENAI_BASE_URL.to_string(), false),
        (None, None) => match local_url {
            Some(url) => (url.to_string(), true),
            None => {
                return Err(Error::Llm(format!(
                    "no LLM endpoint is configured (llm.base_url is unset and ${key_var} is empty) \
                     and the local model server is not running\n  \
                     set llm.base_url (and ${key_var}) to use a server, or run \
                     scripts/install-local-llm.sh and let agentmux start the local model; \
                     `agentmux doctor` checks the set-up"
                )));
            }
        },
    };
    validate_base_url(&base_url)?;
    let model = role_model(config, role, is_local);
    Ok(Endpoint {
        base_url: base_url.trim_end_matches('/').to_string(),
        model,
        api_key,
        is_local,
    })
}

/// The model `role` asks: `roles.<role>.model` > `llm.model` > the default of the local or the
/// remote endpoint.
pub(crate) fn role_model(config: &Config, role: &str, is_local: bool) -> String {
    config
        .roles
        .get(role)
        .and_then(|r| r.model.clone())
        .or_else(|| config.llm.model.clone())
        .unwrap_or_else(|| {
            if is_local {
                DEFAULT_LOCAL_MODEL.to_string()
            } else {
                DEFAULT_REMOTE_MODEL.to_string()
            }
        })
}

/// Checks the shape of a base URL: http(s), with a host.
fn validate_base_url(url: &str) -> Result<(), Error> {
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"));
    match rest {
        Some(r) if !r.is_empty() && !r.starts_with('/') => Ok(()),
        _ => Err(Error::ConfigValue {
            origin: "config".into(),
            key: "llm.base_url".into(),
            message: format!(
                "is `{url}`, not an http(s) URL; use e.g. `http://localhost:11434/v1` \
                 (the base URL includes `/v1`)"
            ),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::config::RoleConfig;

    fn config_with_key_env(var: &str) -> Config {
        let mut c = Config::default();
        c.llm.api_key_env = var.into();
        c
    }

    #[test]
    fn api_key_never_prints() {
        let k = ApiKey::new("sk-secret");
        assert_eq!(format!("{k}"), "***");
        assert_eq!(format!("{k:?}"), "***");
        let e = Endpoint {
            base_url: "http://x/v1".into(),
            model: "m".into(),
            api_key: Some(k),
            is_local: false,
        };
        assert!(!format!("{e:?}").contains("sk-secret"));
    }

    #[test]
    fn configured_base_url_wins() {
        let mut c = config_with_key_env("AGENTMUX_TEST_UNSET_KEY_1");
        c.llm.base_url = Some("http://localhost:11434/v1/".into());
        c.llm.model = Some("qwen".into());
        let e = resolve_endpoint(&c, "architect", Some("http://127.0.0.1:9/v1")).unwrap();
        assert_eq!(e.base_url, "http://localhost:11434/v1");
        assert_eq!(e.model, "qwen");
        assert!(!e.is_local);
        assert!(e.api_key.is_none());
    }

    #[test]
    fn only_an_api_key_means_the_remote_model() {
        // PATH is set in every environment: here it stands for a key in the environment.
        let c = config_with_key_env("PATH");
        assert!(!uses_local_model(&c));
        let e = resolve_endpoint(&c, "architect", Some("http://127.0.0.1:8080/v1")).unwrap();
        assert!(!e.is_local);
        assert_eq!(e.base_url, OPENAI_BASE_URL);
        assert_eq!(e.model, DEFAULT_REMOTE_MODEL);
        assert!(uses_local_model(&config_with_key_env(
            "AGENTMUX_TEST_UNSET_KEY_4"
        )));
        let mut url = config_with_key_env("AGENTMUX_TEST_UNSET_KEY_5");
        url.llm.base_url = Some("http://127.0.0.1:9/v1".into());
        assert!(!uses_local_model(&url));
    }

    #[test]
    fn local_default_without_url_or_key() {
        let c = config_with_key_env("AGENTMUX_TEST_UNSET_KEY_2");
        let e = resolve_endpoint(&c, "architect", Some("http://127.0.0.1:8080/v1")).unwrap();
        assert!(e.is_local);
        assert_eq!(e.model, DEFAULT_LOCAL_MODEL);
        let err = resolve_endpoint(&c, "architect", None).unwrap_err();
        assert!(err.to_string().contains("install-local-llm.sh"), "{err}");
    }

    #[test]
    fn role_model_overrides_llm_model() {
        let mut c = config_with_key_env("AGENTMUX_TEST_UNSET_KEY_3");
        c.llm.base_url = Some("https://example.com/v1".into());
        c.llm.model = Some("base".into());
        c.roles.insert(
            "code-reviewer".into(),
            RoleConfig {
                model: Some("special".into()),
                ..Default::default()
            },
        );
        assert_eq!(
            resolve_endpoint(&c, "code-reviewer", None).unwrap().model,
            "special"
        );
        assert_eq!(
            resolve_endpoint(&c, "architect", None).unwrap().model,
            "base"
        );
    }

    #[test]
    fn key_in_env_selects_openai() {
        // PATH is always set; using it as the "key variable" avoids mutating the environment.
        let c = config_with_key_env("PATH");
        let e = resolve_endpoint(&c, "architect", None).unwrap();
        assert_eq!(e.base_url, OPENAI_BASE_URL);
        assert_eq!(e.model, DEFAULT_REMOTE_MODEL);
        assert!(e.api_key.is_some());
    }

    #[test]
    fn bad_base_url_names_the_key() {
        let mut c = config_with_key_env("AGENTMUX_TEST_UNSET_KEY_4");
        c.llm.base_url = Some("localhost:8080/v1".into());
        let err = resolve_endpoint(&c, "architect", None).unwrap_err();
        assert!(err.to_string().contains("llm.base_url"), "{err}");
    }
}
