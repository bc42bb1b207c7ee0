//! The tools' arguments as models send them. The schema admits no other property, and neither
//! does parsing (a misspelt field is an error naming it, not a silently ignored range); but
//! numbers are accepted as strings or whole floats, and empty arguments as `{}`, because small
//! models send those and the meaning is not in doubt.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use serde_json::Value;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ListArgs {
    #[serde(default)]
    pub(super) glob: Option<String>,
    #[serde(default, deserialize_with = "count")]
    pub(super) limit: Option<usize>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ReadArgs {
    pub(super) path: String,
    #[serde(default, deserialize_with = "line")]
    pub(super) start_line: Option<u64>,
    #[serde(default, deserialize_with = "line")]
    pub(super) end_line: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SearchArgs {
    pub(super) pattern: String,
    #[serde(default)]
    pub(super) glob: Option<String>,
    #[serde(default, deserialize_with = "count")]
    pub(super) max_results: Option<usize>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct OutlineArgs {
    pub(super) path: String,
}

/// Parses `arguments` for tool `name`; the error says what was wrong and what is expected.
pub(super) fn parse<T: DeserializeOwned>(name: &str, arguments: &str) -> Result<T, String> {
    let text = if arguments.trim().is_empty() {
        "{}"
    } else {
        arguments
    };
    serde_json::from_str(text).map_err(|e| {
        format!(
            "The arguments of {name} are not valid: {e}. Send a JSON object such as {}.",
            example(name)
        )
    })
}

fn example(name: &str) -> &'static str {
    match name {
        "list_files" => r#"{"glob": "*.py"}"#,
        "read_file" => r#"{"path": "src/main.rs", "start_line": 1, "end_line": 80}"#,
        "search" => r#"{"pattern": "fn main", "glob": "*.rs"}"#,
        _ => r#"{"path": "src/main.rs"}"#,
    }
}

fn line<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    lenient(d)
}

fn count<'de, D: Deserializer<'de>>(d: D) -> Result<Option<usize>, D::Error> {
    lenient::<D>(d)?
        .map(|n| usize::try_from(n).map_err(serde::de::Error::custom))
        .transpose()
}

/// A non-negative integer given as a number, a whole float or a numeric string; `null` is absent.
fn lenient<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    let v = Option::<Value>::deserialize(d)?;
    let bad = |v: &Value| serde::de::Error::custom(format!("expected a whole number, got {v}"));
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => match (n.as_u64(), n.as_f64()) {
            (Some(u), _) => Ok(Some(u)),
            (None, Some(f)) if f >= 0.0 && f.fract() == 0.0 && f < 1e15 => Ok(Some(f as u64)),
            _ => Err(bad(&Value::Number(n))),
        },
        Some(Value::String(s)) => s
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| bad(&Value::String(s))),
        Some(other) => Err(bad(&other)),
    }
}
