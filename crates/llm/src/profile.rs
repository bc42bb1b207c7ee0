//! Each role's [`ModelProfile`]: how large the model's context window is, how long an answer may
//! be, and the rest of what agentmux knows about it, with where each value came from.
//!
//! Every value is taken from the first source that has it:
//!
//! 1. config: `llm.context_window`, `llm.max_output_tokens`, `llm.tools`, `llm.reasoning_effort`,
//!    `llm.structured_output` (they describe `llm.model`, so a role with a model of its own skips
//!    them), `llm.prices`, and for the bundled local model `llm.local.ctx_size` and `llm.max_tokens`
//!    (what the local path runs with and sends, whatever the profile says);
//! 2. the endpoint: llama-server's `GET /props` (`n_ctx`), then the model's entry in
//!    `GET /v1/models` (`context_length`, `max_model_len`, ...); see [`probe`];
//! 3. the built-in table of well-known models, matched by the longest prefix of the name;
//! 4. a conservative default.
//!
//! [`resolve`] is pure (facts in, profile out); [`probe`] is the only I/O, is short, and never
//! fails: an endpoint that says nothing leaves the next source to answer.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::Value;

use protocol::config::{Config, StructuredOutput};
use protocol::profile::{
    ModelProfile, ProfilePrices, RoleProfile, Source, Sourced, StructuredMode,
};

use crate::endpoint::{Endpoint, role_model};

/// The window assumed for a model nobody describes.
pub const DEFAULT_CONTEXT_WINDOW: u32 = 16_384;
/// The output budget assumed for a model nobody describes.
const DEFAULT_MAX_OUTPUT: u32 = 4_096;
/// The tool rounds a task may have before its model is asked to answer without tools.
pub const TOOL_ROUNDS: u32 = 8;
/// How long the endpoint may take to describe itself.
const PROBE_TIMEOUT: Duration = Duration::from_secs(3);

/// What an endpoint reported about a model (each value None when it did not say).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EndpointFacts {
    pub context_window: Option<u32>,
    pub max_output_tokens: Option<u32>,
}

/// One entry of the built-in table.
struct Known {
    /// Matched against the lowercased model name without its provider path (`openai/`).
    prefix: &'static str,
    context_window: u32,
    max_output_tokens: u32,
    structured: StructuredMode,
    tools: bool,
    reasoning_effort: Option<&'static str>,
}

const fn known(
    prefix: &'static str,
    context_window: u32,
    max_output_tokens: u32,
    structured: StructuredMode,
    tools: bool,
    reasoning_effort: Option<&'static str>,
) -> Known {
    Known {
        prefix,
        context_window,
        max_output_tokens,
        structured,
        tools,
        reasoning_effort,
    }
}

use StructuredMode::{JsonObject, JsonSchema, None as Prompted};

/// Well-known models, from their providers' published limits.
const TABLE: &[Known] = &[
    known("gpt-4o-mini", 128_000, 16_384, JsonSchema, true, None),
    known("gpt-4o", 128_000, 16_384, JsonSchema, true, None),
    known("gpt-4.1", 1_047_576, 32_768, JsonSchema, true, None),
    known("o3", 200_000, 100_000, JsonSchema, true, Some("medium")),
    known(
        "o4-mini",
        200_000,
        100_000,
        JsonSchema,
        true,
        Some("medium"),
    ),
    known("claude-sonnet-4", 200_000, 64_000, Prompted, true, None),
    known("claude-opus-4", 200_000, 32_000, Prompted, true, None),
    known("gemini-2.5", 1_048_576, 65_536, JsonSchema, true, None),
    known("llama-3", 8_192, 4_096, JsonObject, false, None),
    known("llama3", 8_192, 4_096, JsonObject, false, None),
    known("llama-3.1", 131_072, 8_192, JsonObject, true, None),
    known("llama-3.2", 131_072, 8_192, JsonObject, true, None),
    known("llama-3.3", 131_072, 8_192, JsonObject, true, None),
    known("llama3.1", 131_072, 8_192, JsonObject, true, None),
    known("llama3.2", 131_072, 8_192, JsonObject, true, None),
    known("llama3.3", 131_072, 8_192, JsonObject, true, None),
    known("qwen2.5", 32_768, 8_192, JsonObject, true, None),
    known("qwen-2.5", 32_768, 8_192, JsonObject, true, None),
    known("qwen3", 32_768, 8_192, JsonObject, true, None),
    known("deepseek", 128_000, 8_192, JsonObject, true, None),
    known(
        "deepseek-reasoner",
        128_000,
        32_768,
        JsonObject,
        false,
        None,
    ),
    known("smollm2-135m", 8_192, 2_048, JsonSchema, false, None),
];

/// The table entry for `model`: the longest prefix of its lowercased name, without a provider
/// path (`openai/gpt-4o`, `meta-llama/Llama-3.1-8B`).
fn lookup(model: &str) -> Option<&'static Known> {
    let name = model
        .rsplit('/')
        .next()
        .unwrap_or(model)
        .to_ascii_lowercase();
    TABLE
        .iter()
        .filter(|k| name.starts_with(k.prefix))
        .max_by_key(|k| k.prefix.len())
}

/// The model `role` uses and whether it is the bundled local one, by the one rule
/// ([`crate::uses_local_model`]).
pub fn role_model_of(config: &Config, role: &str) -> (String, bool) {
    let local = crate::uses_local_model(config);
    (role_model(config, role, local), local)
}

/// The profile of `model` for `role` from config, the endpoint's `facts`, the table and the
/// defaults, in that order. Pure.
pub fn resolve(
    config: &Config,
    role: &str,
    model: &str,
    local: bool,
    facts: &EndpointFacts,
) -> ModelProfile {
    let llm = &config.llm;
    // The `llm.*` model settings describe `llm.model`; a role with a model of its own has only
    // the endpoint and the table.
    let own_model = config
        .roles
        .get(role)
        .and_then(|r| r.model.as_deref())
        .is_some_and(|m| Some(m) != llm.model.as_deref());
    let cfg = |v: Option<u32>| v.filter(|_| !own_model).map(|v| (v, Source::Config));
    let table = lookup(model);
    let pick =
        |config: Option<(u32, Source)>, endpoint: Option<u32>, table: Option<u32>, default| {
            let (value, source) = config
                .or(endpoint.map(|v| (v, Source::Endpoint)))
                .or(table.map(|v| (v, Source::BuiltIn)))
                .unwrap_or((default, Source::Default));
            Sourced::new(value, source)
        };
    let (cfg_window, cfg_output) = if local {
        // What the local path runs with and sends; it does not change with the profile.
        (
            Some((llm.local.ctx_size, Source::Config)),
            Some((llm.max_tokens, Source::Config)),
        )
    } else {
        (cfg(llm.context_window), cfg(llm.max_output_tokens))
    };
    let context_window = pick(
        cfg_window,
        facts.context_window,
        table.map(|k| k.context_window),
        DEFAULT_CONTEXT_WINDOW,
    );
    let mut max_output_tokens = pick(
        cfg_output,
        facts.max_output_tokens,
        table.map(|k| k.max_output_tokens),
        DEFAULT_MAX_OUTPUT,
    );
    // The answer shares the window with the prompt, which carries the PRD, the code and the
    // documents: unless configured, an answer may take at most a third of the window (a
    // well-known model's own figure up to half: reasoning models answer long).
    let output_ceiling = context_window.value / 3;
    let allowed = match max_output_tokens.source {
        Source::Config => u32::MAX,
        Source::BuiltIn => context_window.value / 2,
        Source::Endpoint | Source::Default => output_ceiling,
    };
    if max_output_tokens.value > allowed {
        max_output_tokens.value = output_ceiling;
    }
    let structured_output = match (own_model, llm.structured_output) {
        (false, StructuredOutput::JsonSchema) => Sourced::new(JsonSchema, Source::Config),
        (false, StructuredOutput::Prompt) => Sourced::new(Prompted, Source::Config),
        _ => match table {
            Some(k) => Sourced::new(k.structured, Source::BuiltIn),
            None => Sourced::new(Prompted, Source::Default),
        },
    };
    let tools = match (llm.tools.filter(|_| !own_model), table) {
        (Some(t), _) => Sourced::new(t, Source::Config),
        (None, Some(k)) => Sourced::new(k.tools, Source::BuiltIn),
        (None, None) => Sourced::new(false, Source::Default),
    };
    let reasoning_effort = match (llm.reasoning_effort.clone().filter(|_| !own_model), table) {
        (Some(e), _) => Sourced::new(Some(e), Source::Config),
        (None, Some(k)) => Sourced::new(k.reasoning_effort.map(String::from), Source::BuiltIn),
        (None, None) => Sourced::new(None, Source::Default),
    };
    let prices = match config_price(config, model) {
        Some(p) => Sourced::new(Some(p), Source::Config),
        None => Sourced::new(None, Source::Default),
    };
    ModelProfile {
        model: model.to_string(),
        context_window,
        max_output_tokens,
        structured_output,
        tools,
        reasoning_effort,
        prices,
        local,
    }
}

/// The tools a task of a role with `profile` gets: the one rule for who calls tools. Only a
/// model whose profile says it calls tools does; the bundled local model never does (its
/// llama-server runs without a tool-call template, and a 135M model would not use them), even
/// when `llm.tools` says so. No profile (not journaled yet): no tools.
pub fn task_tools(profile: Option<&ModelProfile>, local: bool) -> Option<protocol::TaskTools> {
    let p = profile?;
    (p.tools.value && !p.local && !local).then_some(protocol::TaskTools {
        max_rounds: TOOL_ROUNDS,
    })
}

/// The profile of each of `roles`, asking the endpoint once per distinct remote model (the
/// bundled local model is not asked: it starts in a pane of its own, maybe after this runs).
pub async fn resolve_roles(config: &Config, roles: &[String]) -> Vec<RoleProfile> {
    let mut facts: BTreeMap<String, EndpointFacts> = BTreeMap::new();
    let mut out = Vec::new();
    for role in roles {
        let (model, local) = role_model_of(config, role);
        if !local && !facts.contains_key(&model) {
            let found = match crate::resolve_endpoint(config, role, None) {
                Ok(endpoint) => probe(&endpoint).await,
                Err(_) => EndpointFacts::default(),
            };
            facts.insert(model.clone(), found);
        }
        let f = facts.get(&model).cloned().unwrap_or_default();
        out.push(RoleProfile {
            role: role.clone(),
            profile: resolve(config, role, &model, local, &f),
        });
    }
    out
}

/// The price of `model` in `llm.prices` (as [`crate::cost_usd`] finds it).
fn config_price(config: &Config, model: &str) -> Option<ProfilePrices> {
    let price = crate::price_of(&config.llm.prices, model)?;
    Some(ProfilePrices {
        input_per_mtok: price.input_per_mtok,
        cached_input_per_mtok: price.cached_input_per_mtok,
        output_per_mtok: price.output_per_mtok,
    })
}

/// Asks the endpoint what it knows about its model: llama-server's `GET /props`, then
/// `GET /v1/models`. Short, and never fails: whatever does not answer in time says nothing.
pub async fn probe(endpoint: &Endpoint) -> EndpointFacts {
    let Ok(http) = reqwest::Client::builder().timeout(PROBE_TIMEOUT).build() else {
        return EndpointFacts::default();
    };
    let get = |url: String| {
        let mut req = http.get(url);
        if let Some(key) = &endpoint.api_key {
            req = req.bearer_auth(key.expose());
        }
        async move {
            let resp = req.send().await.ok()?;
            if !resp.status().is_success() {
                return None;
            }
            resp.json::<Value>().await.ok()
        }
    };
    let root = endpoint.base_url.trim_end_matches('/');
    let root = root.strip_suffix("/v1").unwrap_or(root);
    let (props, models) = tokio::join!(get(format!("{root}/props")), get(endpoint.url("models")));
    let from_props = props.as_ref().map(facts_from_props).unwrap_or_default();
    let from_models = models
        .as_ref()
        .map(|m| facts_from_models(m, &endpoint.model))
        .unwrap_or_default();
    EndpointFacts {
        context_window: from_props.context_window.or(from_models.context_window),
        max_output_tokens: from_props
            .max_output_tokens
            .or(from_models.max_output_tokens),
    }
}

/// A positive integer at `path` in `v`.
fn number_at(v: &Value, path: &[&str]) -> Option<u32> {
    let mut v = v;
    for key in path {
        v = v.get(key)?;
    }
    v.as_u64()
        .filter(|n| *n > 0)
        .map(|n| u32::try_from(n).unwrap_or(u32::MAX))
}

/// llama-server's `GET /props`: the context of a slot.
fn facts_from_props(props: &Value) -> EndpointFacts {
    EndpointFacts {
        context_window: number_at(props, &["default_generation_settings", "n_ctx"])
            .or_else(|| number_at(props, &["n_ctx"])),
        max_output_tokens: None,
    }
}

/// The entry of `model` in a `GET /v1/models` list, in the field names servers use (vLLM
/// `max_model_len`, OpenRouter `context_length` and `top_provider`, others `context_window`).
fn facts_from_models(models: &Value, model: &str) -> EndpointFacts {
    let entry = models.get("data").and_then(Value::as_array).and_then(|d| {
        d.iter()
            .find(|e| e.get("id").and_then(Value::as_str) == Some(model))
    });
    let Some(e) = entry else {
        return EndpointFacts::default();
    };
    let window = [
        &["context_length"][..],
        &["max_model_len"],
        &["context_window"],
        &["max_context_length"],
        &["top_provider", "context_length"],
    ]
    .iter()
    .find_map(|p| number_at(e, p));
    let output = number_at(e, &["max_completion_tokens"])
        .or_else(|| number_at(e, &["top_provider", "max_completion_tokens"]));
    EndpointFacts {
        context_window: window,
        max_output_tokens: output,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::config::RoleConfig;
    use serde_json::json;

    fn remote() -> Config {
        let mut c = Config::default();
        c.llm.base_url = Some("http://127.0.0.1:9/v1".into());
        c
    }

    #[test]
    fn table_matches_the_longest_prefix_without_provider_path() {
        assert_eq!(
            lookup("gpt-4o-mini-2024-07-18").unwrap().prefix,
            "gpt-4o-mini"
        );
        assert_eq!(lookup("openai/gpt-4o").unwrap().prefix, "gpt-4o");
        assert_eq!(lookup("gpt-4.1-nano").unwrap().prefix, "gpt-4.1");
        assert_eq!(
            lookup("meta-llama/Llama-3.1-8B-Instruct").unwrap().prefix,
            "llama-3.1"
        );
        assert_eq!(lookup("llama3:8b").unwrap().prefix, "llama3");
        assert_eq!(
            lookup("deepseek-reasoner").unwrap().prefix,
            "deepseek-reasoner"
        );
        assert_eq!(
            lookup("claude-sonnet-4-5").unwrap().prefix,
            "claude-sonnet-4"
        );
        assert_eq!(
            lookup("gemini-2.5-flash").unwrap().context_window,
            1_048_576
        );
        assert!(lookup("fake-model").is_none());
    }

    #[test]
    fn only_a_remote_model_whose_profile_calls_tools_gets_them() {
        let none = EndpointFacts::default();
        let gpt = resolve(&remote(), "architect", "gpt-4o", false, &none);
        assert_eq!(
            task_tools(Some(&gpt), false),
            Some(protocol::TaskTools {
                max_rounds: TOOL_ROUNDS
            })
        );
        assert_eq!(task_tools(None, false), None, "no profile journaled yet");
        let unknown = resolve(&remote(), "architect", "fake-model", false, &none);
        assert!(!unknown.tools.value);
        assert_eq!(task_tools(Some(&unknown), false), None);
        // `llm.tools: true` does not give the bundled model tools.
        let mut c = Config::default();
        c.llm.tools = Some(true);
        let local = resolve(&c, "architect", "smollm2-135m", true, &none);
        assert!(local.tools.value && local.local);
        assert_eq!(task_tools(Some(&local), true), None);
        // Nor a remote profile on a session that now runs the local model.
        assert_eq!(task_tools(Some(&gpt), true), None);
    }

    #[test]
    fn config_beats_endpoint_beats_table_beats_default() {
        let facts = EndpointFacts {
            context_window: Some(64_000),
            max_output_tokens: Some(10_000),
        };
        let mut c = remote();
        c.llm.context_window = Some(50_000);
        let p = resolve(&c, "architect", "gpt-4o", false, &facts);
        assert_eq!(p.context_window, Sourced::new(50_000, Source::Config));
        assert_eq!(p.max_output_tokens, Sourced::new(10_000, Source::Endpoint));

        let p = resolve(
            &remote(),
            "architect",
            "gpt-4o",
            false,
            &EndpointFacts::default(),
        );
        assert_eq!(p.context_window, Sourced::new(128_000, Source::BuiltIn));
        assert_eq!(p.max_output_tokens, Sourced::new(16_384, Source::BuiltIn));
        assert_eq!(p.tools, Sourced::new(true, Source::BuiltIn));
        assert_eq!(p.prices.source, Source::Config, "gpt-4o is in llm.prices");

        let p = resolve(
            &remote(),
            "architect",
            "fake-model",
            false,
            &EndpointFacts::default(),
        );
        assert_eq!(
            p.context_window,
            Sourced::new(DEFAULT_CONTEXT_WINDOW, Source::Default)
        );
        assert_eq!(
            p.max_output_tokens,
            Sourced::new(DEFAULT_MAX_OUTPUT, Source::Default)
        );
        assert_eq!(p.prices, Sourced::new(None, Source::Default));
        assert!(!p.local);
    }

    #[test]
    fn a_role_with_its_own_model_skips_the_llm_model_settings() {
        let mut c = remote();
        c.llm.model = Some("gpt-4o".into());
        c.llm.context_window = Some(50_000);
        c.llm.max_output_tokens = Some(1_000);
        c.roles.insert(
            "code-reviewer".into(),
            RoleConfig {
                model: Some("o3".into()),
                ..Default::default()
            },
        );
        let (model, local) = role_model_of(&c, "code-reviewer");
        assert!(!local);
        let p = resolve(
            &c,
            "code-reviewer",
            &model,
            local,
            &EndpointFacts::default(),
        );
        assert_eq!(p.model, "o3");
        assert_eq!(p.context_window, Sourced::new(200_000, Source::BuiltIn));
        assert_eq!(p.reasoning_effort.value.as_deref(), Some("medium"));
        let p = resolve(&c, "architect", "gpt-4o", false, &EndpointFacts::default());
        assert_eq!(p.context_window, Sourced::new(50_000, Source::Config));
        assert_eq!(p.max_output_tokens, Sourced::new(1_000, Source::Config));
    }

    #[test]
    fn the_local_model_takes_its_window_and_output_from_config() {
        let mut c = Config::default();
        c.llm.api_key_env = "AGENTMUX_TEST_UNSET_KEY_PROFILE".into();
        // The local path sends llm.max_tokens whatever the remote settings say.
        c.llm.max_output_tokens = Some(100);
        let (model, local) = role_model_of(&c, "architect");
        assert!(local);
        let p = resolve(&c, "architect", &model, local, &EndpointFacts::default());
        assert_eq!(p.context_window, Sourced::new(8_192, Source::Config));
        assert_eq!(p.max_output_tokens, Sourced::new(4_096, Source::Config));
        assert!(p.local);
    }

    #[test]
    fn output_takes_at_most_a_third_of_the_window_unless_configured() {
        let facts = EndpointFacts {
            context_window: Some(4_096),
            max_output_tokens: None,
        };
        let p = resolve(&remote(), "architect", "gpt-4o", false, &facts);
        assert_eq!(p.max_output_tokens.value, 1_365);
        // A 128k window keeps the table's 16k answers.
        let facts = EndpointFacts {
            context_window: Some(128_000),
            max_output_tokens: None,
        };
        let p = resolve(&remote(), "architect", "gpt-4o", false, &facts);
        assert_eq!(p.max_output_tokens.value, 16_384);
        let mut c = remote();
        c.llm.max_output_tokens = Some(3_000);
        let p = resolve(&c, "architect", "gpt-4o", false, &facts_for(4_096));
        assert_eq!(p.max_output_tokens, Sourced::new(3_000, Source::Config));
    }

    fn facts_for(window: u32) -> EndpointFacts {
        EndpointFacts {
            context_window: Some(window),
            max_output_tokens: None,
        }
    }

    #[test]
    fn facts_come_from_props_and_model_entries() {
        let props = json!({"default_generation_settings": {"n_ctx": 8192}});
        assert_eq!(facts_from_props(&props).context_window, Some(8192));
        assert_eq!(
            facts_from_props(&json!({"n_ctx": 4096})).context_window,
            Some(4096)
        );
        let models = json!({"data": [
            {"id": "other", "context_length": 1},
            {"id": "m", "max_model_len": 32768},
            {"id": "r", "top_provider": {"context_length": 200000, "max_completion_tokens": 64000}},
        ]});
        assert_eq!(facts_from_models(&models, "m").context_window, Some(32768));
        assert_eq!(
            facts_from_models(&models, "r"),
            EndpointFacts {
                context_window: Some(200_000),
                max_output_tokens: Some(64_000)
            }
        );
        assert_eq!(
            facts_from_models(&models, "absent"),
            EndpointFacts::default()
        );
        assert_eq!(
            facts_from_models(&json!({"error": 1}), "m"),
            EndpointFacts::default()
        );
    }

    #[tokio::test]
    async fn probe_reads_a_real_server_and_survives_a_dead_one() {
        let server = test_support::fake_openai::FakeOpenAi::fixed("");
        server.configure(|s| {
            s.model_fields
                .insert("context_length".into(), json!(128_000));
            s.model_fields
                .insert("max_completion_tokens".into(), json!(16_384));
        });
        let endpoint = Endpoint {
            base_url: server.url(),
            model: "fake-model".into(),
            api_key: None,
            is_local: false,
        };
        let facts = probe(&endpoint).await;
        assert_eq!(facts.context_window, Some(128_000));
        assert_eq!(facts.max_output_tokens, Some(16_384));
        let dead = Endpoint {
            base_url: "http://127.0.0.1:9/v1".into(),
            ..endpoint
        };
        assert_eq!(probe(&dead).await, EndpointFacts::default());
    }
}
