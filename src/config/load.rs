//! The layered config loader.
//!
//! # Precedence (later wins)
//!
//! 1. built-in defaults (`Config::default()`)
//! 2. the user file: `$XDG_CONFIG_HOME/agentmux/config.yaml` (else `~/.config/agentmux/config.yaml`)
//! 3. the project file: `<project>/.agentmux/config.yaml`
//! 4. the environment:
//!    - `AGENTMUX_<SECTION>__<KEY>[__<KEY>...]`, e.g. `AGENTMUX_LLM__TEMPERATURE=0.5`
//!      (`__` separates path segments; single `_` stays part of a key name);
//!    - shorthands: `OPENAI_BASE_URL` -> `llm.base_url`, `AGENTMUX_MODEL` -> `llm.model`,
//!      `AGENTMUX_TMUX_SOCKET` -> `tmux.socket`. A generic `AGENTMUX_...__...` variable beats a shorthand.
//!    - the API key is NOT a config value: it is read at request time from the variable named by
//!      `llm.api_key_env` (default `OPENAI_API_KEY`) and never stored, printed or logged.
//! 5. command-line flags: `--set key=value` (repeatable).
//!
//! Each layer is a raw, untyped tree ([`RawLayer`]) checked against the shape of [`Config`]:
//! unknown keys are rejected with the closest valid key, values of the wrong type name the key
//! and the expected type, and YAML syntax errors name the file, line and column. The layers are
//! merged key by key; the merged tree becomes the typed, resolved [`Config`]. The origin of every
//! leaf is kept for `agentmux config show`.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use protocol::config::{Backend, Config, Price, RoleConfig};
use protocol::error::{Error, Result};

/// Where a value came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Origin {
    Default,
    /// The quick-demo defaults of the bundled local model ([`LOCAL_MODEL_DEFAULTS`]).
    LocalModelDefault,
    UserFile(PathBuf),
    ProjectFile(PathBuf),
    Env(String),
    Flag(String),
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Default => f.write_str("default"),
            Origin::LocalModelDefault => f.write_str("default for the bundled local model"),
            Origin::UserFile(p) => write!(f, "user file {}", p.display()),
            Origin::ProjectFile(p) => write!(f, "project file {}", p.display()),
            Origin::Env(v) => write!(f, "env {v}"),
            Origin::Flag(s) => write!(f, "flag --set {s}"),
        }
    }
}

/// One unresolved layer: an untyped tree and where it came from.
#[derive(Clone, Debug)]
pub(crate) struct RawLayer {
    pub origin: Origin,
    pub value: Value,
    /// For file layers: the file text, used to point errors at a line.
    pub source: Option<String>,
}

/// What to load.
#[derive(Clone, Debug, Default)]
pub(crate) struct LoadOptions {
    pub project_dir: PathBuf,
    /// `--set key=value` flags.
    pub sets: Vec<String>,
    /// Override the user config file (tests); None: the XDG location.
    pub user_file: Option<PathBuf>,
    /// Environment to read; None: the process environment.
    pub env: Option<Vec<(String, String)>>,
}

/// The resolved config and the origin of each leaf value (dotted path -> origin).
#[derive(Clone, Debug)]
pub(crate) struct Loaded {
    pub config: Config,
    pub origins: BTreeMap<String, Origin>,
}

/// The user config file location.
pub(crate) fn user_config_file() -> Option<PathBuf> {
    if let Some(x) = std::env::var_os("XDG_CONFIG_HOME").filter(|x| !x.is_empty()) {
        return Some(PathBuf::from(x).join("agentmux/config.yaml"));
    }
    dirs::home_dir().map(|h| h.join(".config/agentmux/config.yaml"))
}

/// The project config file location.
pub(crate) fn project_config_file(project_dir: &Path) -> PathBuf {
    project_dir.join(".agentmux/config.yaml")
}

/// Loads and resolves the config.
pub(crate) fn load(opts: &LoadOptions) -> Result<Loaded> {
    let mut layers = Vec::new();
    let user = opts.user_file.clone().or_else(user_config_file);
    if let Some(path) = user.filter(|p| p.is_file()) {
        layers.push(file_layer(&path, Origin::UserFile(path.clone()))?);
    }
    let project = project_config_file(&opts.project_dir);
    if project.is_file() {
        layers.push(file_layer(&project, Origin::ProjectFile(project.clone()))?);
    }
    let env: Vec<(String, String)> = match &opts.env {
        Some(e) => e.clone(),
        None => std::env::vars().collect(),
    };
    layers.extend(env_layers(&env)?);
    for set in &opts.sets {
        layers.push(flag_layer(set)?);
    }
    let (config, origins) = resolve(&layers)?;
    if !llm::uses_local_model(&config) {
        return Ok(Loaded { config, origins });
    }
    // The bundled local model is the demo: its defaults go under every file, variable and flag.
    layers.insert(
        0,
        RawLayer {
            origin: Origin::LocalModelDefault,
            value: LOCAL_MODEL_DEFAULTS.clone(),
            source: None,
        },
    );
    resolve(&layers).map(|(config, origins)| Loaded { config, origins })
}

/// What the bundled local model runs with unless the config says otherwise: a first run that
/// shows the whole workflow in minutes on two cores (no helper contributions, one review round,
/// none for the options, one design document, and
/// at most 300 tokens of context besides the document a task works on: on two cores the model
/// reads about 150 prompt tokens a second, and every token it writes costs more the longer the
/// prompt).
/// A capable model keeps the defaults of [`Config::default`].
static LOCAL_MODEL_DEFAULTS: std::sync::LazyLock<Value> = std::sync::LazyLock::new(|| {
    serde_json::json!({
        "roles": {
            "data-modeler": { "enabled": false },
            "language-idioms": { "enabled": false }
        },
        "workflow": {
            "review_rounds": 1,
            "options_review_rounds": 0,
            "design_docs": { "min": 1, "max": 1 },
            "context_tokens": 300
        }
    })
});

/// Merges layers over the defaults and resolves them into a typed config.
pub(crate) fn resolve(layers: &[RawLayer]) -> Result<(Config, BTreeMap<String, Origin>)> {
    let shape = shape();
    let mut merged = serde_json::to_value(Config::default())
        .map_err(|e| Error::Other(format!("internal: default config: {e}")))?;
    let mut origins = BTreeMap::new();
    for (path, _) in leaves(&merged) {
        origins.insert(path, Origin::Default);
    }
    for layer in layers {
        check_keys(&layer.value, &shape, "", layer)?;
        check_types(layer)?;
        for (path, _) in leaves(&layer.value) {
            origins.insert(path, layer.origin.clone());
        }
        merge(&mut merged, &layer.value);
    }
    let config: Config =
        serde_path_to_error::deserialize(merged).map_err(|e| Error::ConfigValue {
            origin: "merged config".into(),
            key: e.path().to_string(),
            message: e.inner().to_string(),
        })?;
    validate(&config)?;
    // Drop origins of leaves that no longer exist (e.g. a map replaced by a scalar null).
    Ok((config, origins))
}

fn validate(config: &Config) -> Result<()> {
    if let Some(url) = &config.llm.base_url {
        let trimmed = url.trim_end_matches('/');
        if !(trimmed.starts_with("http://") || trimmed.starts_with("https://")) {
            return Err(Error::ConfigValue {
                origin: "config".into(),
                key: "llm.base_url".into(),
                message: format!("must be an http(s) URL, got `{url}`"),
            });
        }
        if !trimmed.contains("/v1") {
            return Err(Error::ConfigValue {
                origin: "config".into(),
                key: "llm.base_url".into(),
                message: format!("must include the API version path, e.g. `{trimmed}/v1`"),
            });
        }
    }
    let dd = config.workflow.design_docs;
    if dd.min == 0 || dd.min > dd.max {
        return Err(Error::ConfigValue {
            origin: "config".into(),
            key: "workflow.design_docs".into(),
            message: format!(
                "needs 1 <= min <= max, got min {} and max {}",
                dd.min, dd.max
            ),
        });
    }
    if config.workflow.review_rounds == 0 {
        return Err(Error::ConfigValue {
            origin: "config".into(),
            key: "workflow.review_rounds".into(),
            message: "must be at least 1".into(),
        });
    }
    if let Err(e) = repo::check_deny(&config.repository.deny) {
        return Err(Error::ConfigValue {
            origin: "config".into(),
            key: "repository.deny".into(),
            message: e.to_string(),
        });
    }
    if let Err(message) = tmux::layout::check_layout(&config.tmux.layout) {
        return Err(Error::ConfigValue {
            origin: "config".into(),
            key: "tmux.layout".into(),
            message,
        });
    }
    for (name, role) in &config.roles {
        let command = role.command.as_deref().map(str::trim);
        match (role.backend(), command) {
            (Backend::Command, None | Some("")) => {
                return Err(Error::ConfigValue {
                    origin: "config".into(),
                    key: format!("roles.{name}.command"),
                    message: format!(
                        "is needed with `backend: command`: set it to the program that answers the role's \
                         tasks (e.g. `command: my-agent --json`), or choose another backend ({})",
                        backend_names()
                    ),
                });
            }
            (Backend::Command, Some(_)) | (_, None) => {}
            (other, Some(_)) => {
                return Err(Error::ConfigValue {
                    origin: "config".into(),
                    key: format!("roles.{name}.command"),
                    message: format!(
                        "is only used with `backend: command` (this role's backend is `{}`): remove it, \
                         or set `roles.{name}.backend: command`",
                        other.as_str()
                    ),
                });
            }
        }
        if role.timeout_secs == Some(0) {
            return Err(Error::ConfigValue {
                origin: "config".into(),
                key: format!("roles.{name}.timeout_secs"),
                message: "must be at least 1 (or unset for `llm.timeouts.total_secs`)".into(),
            });
        }
    }
    for s in &config.workflow.stages {
        if protocol::Stage::parse(s).is_none() {
            let names: Vec<&str> = protocol::Stage::ALL.iter().map(|s| s.as_str()).collect();
            return Err(Error::ConfigValue {
                origin: "config".into(),
                key: "workflow.stages".into(),
                message: format!("unknown stage `{s}`; valid stages: {}", names.join(", ")),
            });
        }
    }
    Ok(())
}

/// The valid values of `roles.<name>.backend`, for error messages.
fn backend_names() -> String {
    Backend::ALL.map(Backend::as_str).join(", ")
}

/// Parses one YAML file into a raw layer.
pub(crate) fn file_layer(path: &Path, origin: Origin) -> Result<RawLayer> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let value = parse_yaml(&text, path)?;
    Ok(RawLayer {
        origin,
        value,
        source: Some(text),
    })
}

/// Parses YAML text; an empty document is an empty map.
pub(crate) fn parse_yaml(text: &str, path: &Path) -> Result<Value> {
    if text.trim().is_empty() {
        return Ok(Value::Object(Map::new()));
    }
    let value: Value = serde_saphyr::from_str(text).map_err(|e| {
        let message = e.to_string();
        let (line, column) = find_location(&message).unwrap_or((1, 1));
        Error::ConfigSyntax {
            file: path.to_owned(),
            line,
            column,
            message: strip_location(&first_line(&message)),
        }
    })?;
    match value {
        Value::Null => Ok(Value::Object(Map::new())),
        Value::Object(_) => Ok(value),
        other => Err(Error::ConfigValue {
            origin: path.display().to_string(),
            key: "(top level)".into(),
            message: format!("must be a mapping of sections, got {}", kind_of(&other)),
        }),
    }
}

/// "error: line 2 column 10: unclosed bracket" -> "unclosed bracket".
fn strip_location(s: &str) -> String {
    let s = s.strip_prefix("error: ").unwrap_or(s);
    if s.starts_with("line ")
        && let Some((_, rest)) = s.split_once(": ")
    {
        return rest.to_string();
    }
    s.to_string()
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or(s).trim().to_string()
}

/// Pulls "line N" and "column M" out of a parser message.
fn find_location(msg: &str) -> Option<(u64, u64)> {
    let num_after = |word: &str| -> Option<u64> {
        let idx = msg.find(word)? + word.len();
        let digits: String = msg[idx..]
            .trim_start_matches([' ', ':'])
            .chars()
            .take_while(|c| c.is_ascii_digit())
            .collect();
        digits.parse().ok()
    };
    let line = num_after("line")?;
    Some((line, num_after("column").unwrap_or(1)))
}

/// Builds the environment layers (generic `AGENTMUX_A__B` first in a separate layer so that it
/// beats the shorthands).
pub(crate) fn env_layers(env: &[(String, String)]) -> Result<Vec<RawLayer>> {
    let mut out = Vec::new();
    let shorthands = [
        ("OPENAI_BASE_URL", "llm.base_url"),
        ("AGENTMUX_MODEL", "llm.model"),
        ("AGENTMUX_TMUX_SOCKET", "tmux.socket"),
    ];
    let mut sorted: Vec<&(String, String)> = env.iter().collect();
    sorted.sort();
    for (var, key) in shorthands {
        if let Some((_, v)) = sorted.iter().find(|(k, _)| k == var)
            && !v.is_empty()
        {
            out.push(RawLayer {
                origin: Origin::Env(var.into()),
                value: nest(key, Value::String(v.clone())),
                source: None,
            });
        }
    }
    for (k, v) in sorted {
        let Some(rest) = k.strip_prefix("AGENTMUX_") else {
            continue;
        };
        if !rest.contains("__") {
            continue;
        }
        let key = rest
            .split("__")
            .map(|s| s.to_ascii_lowercase())
            .collect::<Vec<_>>()
            .join(".");
        out.push(RawLayer {
            origin: Origin::Env(k.clone()),
            value: nest(&key, scalar(v)),
            source: None,
        });
    }
    Ok(out)
}

/// Parses `key=value` from `--set`.
pub(crate) fn flag_layer(set: &str) -> Result<RawLayer> {
    let Some((k, v)) = set.split_once('=') else {
        return Err(Error::Usage(format!(
            "--set {set}: expected KEY=VALUE, e.g. --set llm.model=gpt-4o"
        )));
    };
    let key = k.trim();
    if key.is_empty() || key.split('.').any(str::is_empty) {
        return Err(Error::Usage(format!(
            "--set {set}: the key must be a dotted path, e.g. llm.model"
        )));
    }
    Ok(RawLayer {
        origin: Origin::Flag(set.into()),
        value: nest(key, scalar(v.trim())),
        source: None,
    })
}

/// A scalar from the environment or a flag, typed the way YAML would type it.
fn scalar(v: &str) -> Value {
    if v.is_empty() {
        return Value::Null;
    }
    match serde_saphyr::from_str::<Value>(v) {
        Ok(val @ (Value::Bool(_) | Value::Number(_) | Value::Null | Value::Array(_))) => val,
        _ => Value::String(v.to_string()),
    }
}

fn nest(dotted: &str, leaf: Value) -> Value {
    dotted.rsplit('.').fold(leaf, |acc, seg| {
        let mut m = Map::new();
        m.insert(seg.to_string(), acc);
        Value::Object(m)
    })
}

/// Deep merge: objects merge key by key, anything else replaces.
fn merge(base: &mut Value, over: &Value) {
    match (base, over) {
        (Value::Object(b), Value::Object(o)) => {
            for (k, v) in o {
                match b.get_mut(k) {
                    Some(slot) if slot.is_object() && v.is_object() => merge(slot, v),
                    _ => {
                        b.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (b, o) => *b = o.clone(),
    }
}

/// Every leaf (non-object value) with its dotted path.
pub(crate) fn leaves(v: &Value) -> Vec<(String, Value)> {
    fn walk(v: &Value, prefix: &str, out: &mut Vec<(String, Value)>) {
        match v {
            Value::Object(m) if !m.is_empty() => {
                for (k, child) in m {
                    let p = if prefix.is_empty() {
                        k.clone()
                    } else {
                        format!("{prefix}.{k}")
                    };
                    walk(child, &p, out);
                }
            }
            _ => out.push((prefix.to_string(), v.clone())),
        }
    }
    let mut out = Vec::new();
    walk(v, "", &mut out);
    out
}

/// The shape of a valid config: the defaults, with `*` standing for the free keys of maps.
fn shape() -> Value {
    let mut s = serde_json::to_value(Config::default()).unwrap_or(Value::Null);
    let role = serde_json::to_value(RoleConfig::default()).unwrap_or(Value::Null);
    let price = serde_json::to_value(Price::default()).unwrap_or(Value::Null);
    if let Some(roles) = s.get_mut("roles") {
        *roles = serde_json::json!({ "*": role });
    }
    if let Some(prices) = s.pointer_mut("/llm/prices") {
        *prices = serde_json::json!({ "*": price });
    }
    s
}

fn check_keys(v: &Value, shape: &Value, prefix: &str, layer: &RawLayer) -> Result<()> {
    let (Value::Object(m), Value::Object(sm)) = (v, shape) else {
        return Ok(());
    };
    for (k, child) in m {
        let path = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        let sub = sm.get(k).or_else(|| sm.get("*"));
        match sub {
            Some(sub) => check_keys(child, sub, &path, layer)?,
            None => {
                let best = sm
                    .keys()
                    .filter(|c| c.as_str() != "*")
                    .map(|c| (strsim::jaro_winkler(k, c), c))
                    .max_by(|a, b| a.0.total_cmp(&b.0))
                    .filter(|(score, _)| *score > 0.75)
                    .map(|(_, c)| {
                        if prefix.is_empty() {
                            c.clone()
                        } else {
                            format!("{prefix}.{c}")
                        }
                    });
                let suggestion = match best {
                    Some(b) => format!(", did you mean `{b}`?"),
                    None => {
                        let valid: Vec<&str> = sm
                            .keys()
                            .map(String::as_str)
                            .filter(|c| *c != "*")
                            .collect();
                        format!(" (valid keys here: {})", valid.join(", "))
                    }
                };
                return Err(Error::ConfigUnknownKey {
                    origin: locate(layer, k),
                    key: path,
                    suggestion,
                });
            }
        }
    }
    Ok(())
}

/// Type-checks one layer on its own, so an error names the layer that caused it.
fn check_types(layer: &RawLayer) -> Result<()> {
    let mut base = serde_json::to_value(Config::default()).unwrap_or(Value::Null);
    merge(&mut base, &layer.value);
    let res: std::result::Result<Config, _> = serde_path_to_error::deserialize(base);
    match res {
        Ok(_) => Ok(()),
        Err(e) => {
            let key = e.path().to_string();
            let last = key.rsplit('.').next().unwrap_or(&key).to_string();
            Err(Error::ConfigValue {
                origin: locate(layer, &last),
                key,
                message: explain(&e.inner().to_string()),
            })
        }
    }
}

/// "invalid type: string \"x\", expected f32" -> "has the wrong type: expected a number (f32), got string \"x\"".
fn explain(msg: &str) -> String {
    if let Some(rest) = msg.strip_prefix("invalid type: ")
        && let Some((got, expected)) = rest.split_once(", expected ")
    {
        return format!(
            "has the wrong type: expected {}, got {got}",
            friendly_type(expected)
        );
    }
    if let Some(rest) = msg.strip_prefix("unknown variant ") {
        return format!("has an invalid value: {rest}");
    }
    msg.to_string()
}

fn friendly_type(t: &str) -> String {
    match t {
        "f32" | "f64" => format!("a number ({t})"),
        "u8" | "u16" | "u32" | "u64" | "usize" => format!("a non-negative integer ({t})"),
        "a boolean" => "a boolean (true or false)".into(),
        other => other.to_string(),
    }
}

/// The layer's origin, with the line of `key` for file layers.
fn locate(layer: &RawLayer, key: &str) -> String {
    match (&layer.origin, &layer.source) {
        (Origin::UserFile(p) | Origin::ProjectFile(p), Some(src)) => {
            let line = src
                .lines()
                .position(|l| {
                    l.trim_start()
                        .strip_prefix(key)
                        .is_some_and(|r| r.trim_start().starts_with(':'))
                })
                .map(|i| i + 1);
            match line {
                Some(n) => format!("{}:{n}", p.display()),
                None => p.display().to_string(),
            }
        }
        (origin, _) => origin.to_string(),
    }
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layer(yaml: &str) -> RawLayer {
        let path = PathBuf::from("/p/.agentmux/config.yaml");
        RawLayer {
            origin: Origin::ProjectFile(path.clone()),
            value: parse_yaml(yaml, &path).unwrap_or(Value::Null),
            source: Some(yaml.into()),
        }
    }

    #[test]
    fn later_layers_win_and_origins_are_tracked() {
        let l1 = layer("llm:\n  model: a\n  temperature: 0.5\n");
        let l2 = RawLayer {
            origin: Origin::Env("AGENTMUX_MODEL".into()),
            value: nest("llm.model", "b".into()),
            source: None,
        };
        let (cfg, origins) = resolve(&[l1, l2]).expect("resolves");
        assert_eq!(cfg.llm.model.as_deref(), Some("b"));
        assert_eq!(cfg.llm.temperature, 0.5);
        assert_eq!(origins["llm.model"], Origin::Env("AGENTMUX_MODEL".into()));
        assert!(matches!(origins["llm.temperature"], Origin::ProjectFile(_)));
        assert_eq!(origins["llm.max_tokens"], Origin::Default);
    }

    #[test]
    fn a_role_backend_is_api_by_default_and_a_bad_one_names_the_key_and_the_choices() {
        let (cfg, _) = resolve(&[layer("roles:\n  architect:\n    backend: codex\n")])
            .expect("codex is a backend");
        assert_eq!(cfg.roles["architect"].backend(), Backend::Codex);
        assert_eq!(RoleConfig::default().backend(), Backend::Api);
        let err = resolve(&[layer("roles:\n  architect:\n    backend: cursor\n")])
            .expect_err("unknown backend")
            .to_string();
        assert!(err.contains("roles.architect.backend"), "{err}");
        assert!(err.contains("cursor") && err.contains("claude"), "{err}");
    }

    #[test]
    fn the_command_backend_needs_a_command_and_only_it_takes_one() {
        let err = resolve(&[layer("roles:\n  architect:\n    backend: command\n")])
            .expect_err("no command")
            .to_string();
        assert!(
            err.contains("roles.architect.command") && err.contains("is needed"),
            "{err}"
        );
        let err = resolve(&[layer("roles:\n  architect:\n    command: my-agent\n")])
            .expect_err("a command without backend: command")
            .to_string();
        assert!(err.contains("roles.architect.backend: command"), "{err}");
        let ok = "roles:\n  architect:\n    backend: command\n    command: my-agent --json\n";
        assert!(resolve(&[layer(ok)]).is_ok());
        let err = resolve(&[layer(
            "roles:\n  architect:\n    backend: claude\n    timeout_secs: 0\n",
        )])
        .expect_err("zero timeout")
        .to_string();
        assert!(err.contains("roles.architect.timeout_secs"), "{err}");
    }

    #[test]
    fn a_bad_deny_glob_is_a_config_error_naming_the_key_and_the_glob() {
        let err = resolve(&[layer("repository:\n  deny: [\"config/[prod\"]\n")])
            .expect_err("a glob that does not parse");
        let text = err.to_string();
        assert!(
            text.contains("repository.deny") && text.contains("config/[prod"),
            "{text}"
        );
        assert!(resolve(&[layer("repository:\n  deny: [\"config/prod/**\"]\n")]).is_ok());
    }

    #[test]
    fn unknown_key_suggests_the_closest() {
        let err = resolve(&[layer("llm:\n  modle: x\n")]).expect_err("unknown key");
        let msg = err.to_string();
        assert!(
            msg.contains("unknown key `llm.modle`, did you mean `llm.model`?"),
            "{msg}"
        );
        assert!(msg.contains("config.yaml:2"), "{msg}");
    }

    #[test]
    fn wrong_type_names_key_and_expected_type() {
        let err = resolve(&[layer("llm:\n  temperature: hot\n")]).expect_err("type error");
        let msg = err.to_string();
        assert!(msg.contains("`llm.temperature`"), "{msg}");
        assert!(msg.contains("expected a number"), "{msg}");
    }

    #[test]
    fn free_keys_in_maps_are_allowed_but_their_fields_are_checked() {
        assert!(resolve(&[layer("roles:\n  my-role:\n    model: m\n")]).is_ok());
        let err = resolve(&[layer("roles:\n  my-role:\n    modle: m\n")]).expect_err("unknown");
        assert!(err.to_string().contains("roles.my-role.modle"), "{err}");
    }

    #[test]
    fn env_generic_beats_shorthand_and_types_scalars() {
        let env = vec![
            ("AGENTMUX_MODEL".to_string(), "short".to_string()),
            ("AGENTMUX_LLM__MODEL".to_string(), "generic".to_string()),
            ("AGENTMUX_LLM__TEMPERATURE".to_string(), "0.7".to_string()),
            (
                "AGENTMUX_WORKFLOW__REVIEW_ROUNDS".to_string(),
                "3".to_string(),
            ),
        ];
        let (cfg, _) = resolve(&env_layers(&env).expect("env")).expect("resolves");
        assert_eq!(cfg.llm.model.as_deref(), Some("generic"));
        assert_eq!(cfg.llm.temperature, 0.7);
        assert_eq!(cfg.workflow.review_rounds, 3);
    }

    #[test]
    fn base_url_must_include_v1() {
        let err = resolve(&[flag_layer("llm.base_url=http://localhost:8080").expect("flag")])
            .expect_err("no v1");
        assert!(err.to_string().contains("/v1"), "{err}");
    }

    #[test]
    fn find_location_reads_line_and_column() {
        assert_eq!(find_location("bad thing at line 3, column 7"), Some((3, 7)));
        assert_eq!(find_location("no location"), None);
    }
}
