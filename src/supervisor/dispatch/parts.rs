//! Whether a document is asked for in one reply or in parts, decided when its task is built.
//!
//! A document (a Draft or a DesignDoc task, and their repairs) is one JSON object with one
//! top-level property per section, in the order of `sections.yaml`. When the whole object would
//! not fit one reply under the task's output budget (`max_tokens`, for a remote model the role
//! profile's `max_output_tokens`), the task is split into [`TaskPart`]s: consecutive groups of
//! top-level properties, each asked for in its own reply that sees the parts written before it
//! (the agent merges them; see `agent::worker`).
//!
//! The rule:
//! - Each top-level property's output is estimated from its schema, in tokens:
//!   - a string: `maxLength / 4` when bounded; otherwise [`PROSE_TOKENS`] (350) for prose (a
//!     section, or a field of a section's object) and [`SHORT_TOKENS`] (60) for a string inside
//!     an array's items (list entries, step parts, table cells); an `enum` or `const`: its
//!     longest value / 4, plus 2; numbers, booleans and null: 2;
//!   - an array: the midpoint of `minItems..maxItems` (without `maxItems`: `minItems`, at least
//!     [`DEFAULT_ITEMS`] = 5) times (the estimate of one item + 1);
//!   - an object: the sum of its properties, each plus its key (`len / 4 + 2` for the quotes,
//!     colon and comma); `anyOf`/`oneOf`: the largest alternative.
//! - The whole document fits when the sum over its properties stays within [`BUDGET_SHARE_PCT`]
//!   (80%) of `max_tokens`: one reply, no parts, as before.
//! - Otherwise consecutive properties are grouped greedily in schema order: a property joins the
//!   current group while the group stays within that share, else it starts the next group. A
//!   single property larger than the share gets a part of its own.
//!
//! With the remote schemas the proposal comes to about 15,100 tokens (its 14 prose sections
//! 350 each, the steps about 4,000, the decisions about 2,900): one reply from a budget of
//! about 18,900 tokens, two parts at 16,384, five at the 4,096 of an unknown model. The design
//! doc comes to about 7,100, the implementation plan 12,000, the options 8,000 (their `options`
//! alone 6,900) and the PRD 3,900.
//!
//! Only remote models are split: the bundled local model's schemas are capped to fit its own
//! budget (see `bound_schema`), and its one reply stays as it was. Reviews, integrations,
//! manifests and text outputs stay one reply; a task without `max_tokens` (no profile, no role
//! setting) is not split either.

use serde_json::{Map, Value};

use protocol::{OutputSpec, TaskKind, TaskPart};

/// Tokens expected of an unbounded prose string: a section, or a field of a section's object.
pub(crate) const PROSE_TOKENS: u64 = 350;
/// Tokens expected of an unbounded string inside an array's items.
pub(crate) const SHORT_TOKENS: u64 = 60;
/// Items expected of an array without `maxItems` (unless `minItems` asks for more).
pub(crate) const DEFAULT_ITEMS: u64 = 5;
/// The share of `max_tokens` (in percent) one reply is planned to fill at most; the rest is
/// headroom for an estimate that falls short.
pub(crate) const BUDGET_SHARE_PCT: u64 = 80;

/// The parts of a task of `kind` with `output`, or none (one reply). `local`: the task runs on
/// the bundled local model; `max_tokens`: the task's output budget.
pub(crate) fn plan(
    kind: &TaskKind,
    output: &OutputSpec,
    local: bool,
    max_tokens: Option<u32>,
) -> Vec<TaskPart> {
    let is_document = matches!(kind.base(), TaskKind::Draft | TaskKind::DesignDoc { .. });
    match (output, max_tokens) {
        (OutputSpec::Json { name, schema }, Some(max)) if is_document && !local => {
            split(name, schema, max)
        }
        _ => Vec::new(),
    }
}

/// The parts of the JSON object `schema` (output `name`) under a budget of `max_tokens`; none
/// when it fits one reply or has fewer than two top-level properties.
pub(crate) fn split(name: &str, schema: &Value, max_tokens: u32) -> Vec<TaskPart> {
    let Some(props) = schema.get("properties").and_then(Value::as_object) else {
        return Vec::new();
    };
    let share = u64::from(max_tokens) * BUDGET_SHARE_PCT / 100;
    let sizes: Vec<(&String, u64)> = props
        .iter()
        .map(|(k, s)| (k, property_tokens(schema, k, s)))
        .collect();
    if props.len() < 2 || sizes.iter().map(|(_, n)| n).sum::<u64>() <= share {
        return Vec::new();
    }
    let mut groups: Vec<(Vec<String>, u64)> = Vec::new();
    for (key, n) in sizes {
        match groups.last_mut() {
            Some((fields, total)) if *total + n <= share => {
                fields.push(key.clone());
                *total += n;
            }
            _ => groups.push((vec![key.clone()], n)),
        }
    }
    if groups.len() < 2 {
        return Vec::new();
    }
    let count = groups.len();
    groups
        .into_iter()
        .enumerate()
        .map(|(i, (fields, _))| TaskPart {
            schema: restricted(schema, &fields),
            instruction: instruction(name, i, count, &fields),
            fields,
            prior_tokens: None,
            messages: Vec::new(),
        })
        .collect()
}

/// The estimated output tokens of the top-level property `key` with schema `s`, its key
/// included. `root`: the whole schema, for `$ref`s.
pub(crate) fn property_tokens(root: &Value, key: &str, s: &Value) -> u64 {
    key_tokens(key) + tokens(root, s, false)
}

/// `len / 4 + 2`: the key, its quotes, the colon and the comma.
fn key_tokens(key: &str) -> u64 {
    key.chars().count() as u64 / 4 + 2
}

/// The estimated output tokens of a value with schema `s`; `in_array`: inside an array's items.
fn tokens(root: &Value, s: &Value, in_array: bool) -> u64 {
    let s = resolve(root, s);
    if let Some(c) = s.get("const") {
        return c.to_string().chars().count() as u64 / 4 + 2;
    }
    if let Some(values) = s.get("enum").and_then(Value::as_array) {
        let longest = values
            .iter()
            .map(|v| v.to_string().chars().count() as u64)
            .max()
            .unwrap_or(0);
        return longest / 4 + 2;
    }
    for alt in ["anyOf", "oneOf"] {
        if let Some(alts) = s.get(alt).and_then(Value::as_array) {
            return alts
                .iter()
                .map(|a| tokens(root, a, in_array))
                .max()
                .unwrap_or(2);
        }
    }
    let is = |t: &str| match s.get("type") {
        Some(Value::String(ty)) => ty == t,
        Some(Value::Array(tys)) => tys.iter().any(|ty| ty == t),
        _ => false,
    };
    if is("object") || s.get("properties").is_some() {
        return s
            .get("properties")
            .and_then(Value::as_object)
            .map(|props| {
                props
                    .iter()
                    .map(|(k, v)| key_tokens(k) + tokens(root, v, in_array))
                    .sum()
            })
            .unwrap_or(PROSE_TOKENS);
    }
    if is("array") || s.get("items").is_some() || s.get("prefixItems").is_some() {
        if let Some(tuple) = s.get("prefixItems").and_then(Value::as_array) {
            return tuple.iter().map(|t| tokens(root, t, true) + 1).sum();
        }
        let min = s.get("minItems").and_then(Value::as_u64).unwrap_or(0);
        let count = match s.get("maxItems").and_then(Value::as_u64) {
            Some(max) => (min + max.max(min)) / 2,
            None => min.max(DEFAULT_ITEMS),
        };
        let item = s
            .get("items")
            .map(|i| tokens(root, i, true))
            .unwrap_or(SHORT_TOKENS);
        return count.max(1) * (item + 1);
    }
    if is("string") || s.get("type").is_none() {
        return match s.get("maxLength").and_then(Value::as_u64) {
            Some(max) => max.div_ceil(4),
            None if in_array => SHORT_TOKENS,
            None => PROSE_TOKENS,
        };
    }
    2
}

/// `s`, or what its local `$ref` points at.
fn resolve<'a>(root: &'a Value, s: &'a Value) -> &'a Value {
    s.get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| r.strip_prefix('#'))
        .and_then(|ptr| root.pointer(ptr))
        .unwrap_or(s)
}

/// `schema` with only the top-level `fields` (in its own order) and `required` accordingly.
fn restricted(schema: &Value, fields: &[String]) -> Value {
    let mut out = schema.clone();
    let Some(o) = out.as_object_mut() else {
        return out;
    };
    if let Some(Value::Object(props)) = o.get_mut("properties") {
        let kept: Map<String, Value> = std::mem::take(props)
            .into_iter()
            .filter(|(k, _)| fields.contains(k))
            .collect();
        *props = kept;
    }
    let required: Vec<Value> = schema
        .get("required")
        .and_then(Value::as_array)
        .map(|r| {
            r.iter()
                .filter(|k| k.as_str().is_some_and(|k| fields.iter().any(|f| f == k)))
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    // Draft 4 wants at least one name in `required`: none is no `required`.
    if required.is_empty() {
        o.remove("required");
    } else {
        o.insert("required".into(), Value::Array(required));
    }
    out
}

/// What the model is told for part `i` of `count`.
fn instruction(name: &str, i: usize, count: usize, fields: &[String]) -> String {
    let list = fields.join(", ");
    if i == 0 {
        format!(
            "The {name} JSON is too long for one reply, so it is written in {count} parts. \
             Part 1 of {count}: write a JSON object with only these fields now: {list}. \
             The other fields follow in the next parts."
        )
    } else {
        format!(
            "Part {} of {count} of the {name} JSON: the fields written so far are above. Write a \
             JSON object with only these fields now, consistent with them: {list}.",
            i + 1
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A document with `n` unbounded prose sections `s0..s{n-1}`.
    fn prose_doc(n: usize) -> Value {
        let props: Map<String, Value> = (0..n)
            .map(|i| (format!("s{i}"), json!({"type": "string", "minLength": 1})))
            .collect();
        let required: Vec<Value> = (0..n).map(|i| json!(format!("s{i}"))).collect();
        json!({"type": "object", "properties": props, "required": required, "additionalProperties": false})
    }

    fn remote_schema(kind: docs::DocKind) -> Value {
        docs::schema::document_schema(kind, &docs::schema::SchemaLimits::for_model(false))
    }

    fn keys(schema: &Value) -> Vec<String> {
        schema["properties"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect()
    }

    /// Checks the parts of `schema` under `max`: every property exactly once, in order; each
    /// part's schema holds exactly its fields, all required; each part within the share unless
    /// it is one property larger than the share.
    fn assert_covers(schema: &Value, parts: &[TaskPart], max: u32) {
        let share = u64::from(max) * BUDGET_SHARE_PCT / 100;
        let all: Vec<String> = parts.iter().flat_map(|p| p.fields.clone()).collect();
        assert_eq!(all, keys(schema), "every property once, in order");
        for p in parts {
            assert_eq!(keys(&p.schema), p.fields);
            let req: Vec<String> = p.schema["required"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_str().unwrap().to_string())
                .collect();
            assert_eq!(req, p.fields);
            assert_eq!(
                p.schema["additionalProperties"],
                schema["additionalProperties"]
            );
            let est: u64 = p
                .fields
                .iter()
                .map(|f| property_tokens(schema, f, &schema["properties"][f]))
                .sum();
            assert!(
                est <= share || p.fields.len() == 1,
                "{:?}: {est} > {share}",
                p.fields
            );
            assert!(p.instruction.contains(&p.fields.join(", ")));
        }
    }

    #[test]
    fn a_document_that_fits_is_one_reply() {
        // 10 prose sections of 350 tokens (+ keys) fit 80% of 8,000 tokens.
        assert!(split("doc", &prose_doc(10), 8000).is_empty());
        // The remote proposal fits a large budget.
        let proposal = remote_schema(docs::DocKind::Proposal);
        assert!(split("proposal", &proposal, 64_000).is_empty());
    }

    #[test]
    fn a_large_document_under_a_small_budget_is_split_in_order_within_the_budget() {
        let doc = prose_doc(10);
        // 353 tokens each; a share of 800 holds two.
        let parts = split("doc", &doc, 1000);
        assert_eq!(parts.len(), 5);
        assert_covers(&doc, &parts, 1000);
        assert!(parts[0].instruction.contains("Part 1 of 5"));
        assert!(parts[4].instruction.contains("Part 5 of 5"));

        for kind in [
            docs::DocKind::Proposal,
            docs::DocKind::DesignDoc,
            docs::DocKind::ImplementationPlan,
            docs::DocKind::Options,
        ] {
            let schema = remote_schema(kind);
            let parts = split(kind.key(), &schema, 1500);
            assert!(parts.len() > 2, "{kind:?}: {} parts", parts.len());
            assert_covers(&schema, &parts, 1500);
        }
    }

    #[test]
    fn a_property_larger_than_the_budget_gets_a_part_of_its_own() {
        let doc = json!({
            "type": "object",
            "properties": {
                "title": {"type": "string", "maxLength": 120},
                "steps": {"type": "array", "minItems": 8, "maxItems": 20,
                          "items": {"type": "object", "properties": {
                              "objective": {"type": "string"}, "changes": {"type": "string"}}}},
                "summary": {"type": "string"},
                "risks": {"type": "string"}
            },
            "required": ["title", "steps", "summary", "risks"]
        });
        // steps: 14 items x (2 x (60 + 4) + 1 + ...) ~ 1,800 tokens; the share of 1,000 is 800.
        let parts = split("doc", &doc, 1000);
        let fields: Vec<Vec<String>> = parts.iter().map(|p| p.fields.clone()).collect();
        assert_eq!(
            fields,
            vec![
                vec!["title".to_string()],
                vec!["steps".to_string()],
                vec!["summary".to_string(), "risks".to_string()],
            ]
        );
        assert_covers(&doc, &parts, 1000);
    }

    #[test]
    fn estimates_follow_the_stated_rule() {
        let root = json!({});
        let t = |s: Value| tokens(&root, &s, false);
        assert_eq!(t(json!({"type": "string", "maxLength": 400})), 100);
        assert_eq!(t(json!({"type": "string"})), PROSE_TOKENS);
        assert_eq!(
            tokens(&root, &json!({"type": "string"}), true),
            SHORT_TOKENS
        );
        // Midpoint of 2..10 = 6 items of (10 + 1).
        assert_eq!(
            t(
                json!({"type": "array", "minItems": 2, "maxItems": 10, "items": {"type": "string", "maxLength": 40}})
            ),
            66
        );
        // No maxItems: 5 items of (60 + 1).
        assert_eq!(
            t(json!({"type": "array", "items": {"type": "string"}})),
            5 * 61
        );
        // An object: its properties plus their keys ("ab": 0 + 2, "description": 2 + 2).
        assert_eq!(
            t(json!({"type": "object", "properties": {
                "ab": {"type": "string", "maxLength": 8},
                "description": {"type": "string"}}})),
            2 + 2 + 4 + PROSE_TOKENS
        );
        assert_eq!(t(json!({"type": "string", "enum": ["Low", "Medium"]})), 4);
    }

    #[test]
    fn only_remote_document_tasks_with_a_budget_are_split() {
        let proposal = OutputSpec::Json {
            name: "proposal".into(),
            schema: remote_schema(docs::DocKind::Proposal),
        };
        let repair = TaskKind::Repair {
            of: Box::new(TaskKind::Draft),
        };
        let doc = TaskKind::DesignDoc {
            file: "a_design.md".into(),
        };
        for kind in [&TaskKind::Draft, &repair, &doc] {
            assert!(
                plan(kind, &proposal, false, Some(1500)).len() > 1,
                "{kind:?}"
            );
            assert!(plan(kind, &proposal, true, Some(1500)).is_empty(), "local");
            assert!(plan(kind, &proposal, false, None).is_empty(), "no budget");
        }
        for kind in [TaskKind::Review, TaskKind::Integrate, TaskKind::Manifest] {
            assert!(
                plan(&kind, &proposal, false, Some(1500)).is_empty(),
                "{kind:?}"
            );
        }
        assert!(plan(&TaskKind::Draft, &OutputSpec::Text, false, Some(10)).is_empty());
    }
}
