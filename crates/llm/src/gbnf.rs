//! A compact llama.cpp grammar (GBNF) for the JSON a schema allows, for the managed local model.
//!
//! llama-server turns a `response_format` json_schema into a grammar itself, but its grammar lets
//! the model put a newline and up to 20 spaces or tabs between any two tokens of the JSON, and a
//! small model takes that invitation: on SmolLM2-135M about a fifth of every answer's tokens were
//! indentation (measured on the demo's answers: 46,469 tokens pretty-printed, 36,211 compact).
//! The grammar built here allows no whitespace outside strings, so every token the model writes is
//! content. It also keeps digits out of free text (strings without an `enum`, `const` or
//! `pattern`): the bundled model's digits are junk (`1.2.1.1.1`, `123456789012345678901234`), and
//! each digit is a token of its own, so one such field cost as many tokens as a paragraph and made
//! a demo run anywhere from 270 to 420 seconds. It covers the schema keywords agentmux's task schemas use (objects with
//! `additionalProperties: false`, strings with length bounds, `enum`, `const`, a small `pattern`
//! language, bounded arrays and `prefixItems`, bounded integers); for anything else [`compact`]
//! answers None and the caller sends the schema as `response_format`, as before.

use std::collections::HashMap;
use std::fmt::Write as _;

use serde_json::Value;

/// The grammar, or None when the schema uses something this converter does not cover.
pub(crate) fn compact(schema: &Value) -> Option<String> {
    let mut g = Grammar::default();
    let root = g.value(schema)?;
    let mut out = format!("root ::= {root}\n");
    for (name, body) in &g.rules {
        let _ = writeln!(out, "{name} ::= {body}");
    }
    Some(out)
}

/// The rules so far, in the order they were made; equal bodies share one rule.
#[derive(Default)]
struct Grammar {
    rules: Vec<(String, String)>,
    by_body: HashMap<String, String>,
}

/// A character of free text in a JSON string: anything but a quote, a backslash, a control
/// character or a digit (see the module's documentation), or an escape. (llama.cpp's own
/// converter uses the same class with the digits.)
const TEXT_CHAR: &str = r#"[^"\\0-9\x7F\x00-\x1F] | "\\" (["\\/bfnrt] | "u" [0-9a-fA-F]{4})"#;

/// Longest integer range spelt out as alternatives.
const MAX_INT_RANGE: i64 = 64;

impl Grammar {
    /// The name of a rule with this body (made once).
    fn rule(&mut self, body: String) -> String {
        if let Some(name) = self.by_body.get(&body) {
            return name.clone();
        }
        let name = format!("r{}", self.rules.len());
        self.by_body.insert(body.clone(), name.clone());
        self.rules.push((name.clone(), body));
        name
    }

    /// An expression (a rule name or a literal) for one schema.
    fn value(&mut self, s: &Value) -> Option<String> {
        let o = s.as_object()?;
        if let Some(c) = o.get("const") {
            return Some(literal(&serde_json::to_string(c).ok()?));
        }
        if let Some(e) = o.get("enum") {
            let alts: Vec<String> = e
                .as_array()?
                .iter()
                .map(|v| serde_json::to_string(v).ok().map(|t| literal(&t)))
                .collect::<Option<_>>()?;
            if alts.is_empty() {
                return None;
            }
            return Some(self.rule(alts.join(" | ")));
        }
        match o.get("type")?.as_str()? {
            "object" => self.object(o),
            "array" => self.array(o),
            "string" => self.string(o),
            "integer" => self.integer(o),
            "boolean" => Some(self.rule(r#""true" | "false""#.into())),
            _ => None,
        }
    }

    fn object(&mut self, o: &serde_json::Map<String, Value>) -> Option<String> {
        if o.get("additionalProperties") != Some(&Value::Bool(false)) {
            return None;
        }
        let props = o.get("properties")?.as_object()?;
        let required: Vec<&str> = match o.get("required") {
            Some(r) => r
                .as_array()?
                .iter()
                .map(Value::as_str)
                .collect::<Option<_>>()?,
            None => Vec::new(),
        };
        if required.iter().any(|r| !props.contains_key(*r)) {
            return None;
        }
        let mut req = Vec::new();
        let mut opt = Vec::new();
        for (k, v) in props {
            let key = literal(&format!("{}:", serde_json::to_string(k).ok()?));
            let kv = format!("{key} {}", self.value(v)?);
            if required.contains(&k.as_str()) {
                req.push(kv);
            } else {
                opt.push(self.rule(kv));
            }
        }
        // Optional members, in order, any subset (of at most `maxProperties` members with the
        // required ones): tail(i, c) is a non-empty run of at most c members from i on.
        let room = match uint(o, "maxProperties")? {
            Some(m) => m.checked_sub(req.len() as u64)? as usize,
            None => opt.len(),
        };
        let mut next: Vec<Option<String>> = vec![None; room + 1];
        for kv in opt.iter().rev() {
            let mut here: Vec<Option<String>> = vec![None; room + 1];
            for c in 1..=room {
                let more = match &next[c - 1] {
                    Some(t) => format!(r#"{kv} ("," {t})?"#),
                    None => kv.clone(),
                };
                let body = match &next[c] {
                    Some(t) => format!("{more} | {t}"),
                    None => more,
                };
                here[c] = Some(self.rule(body));
            }
            next = here;
        }
        let tail = next.get(room).cloned().flatten();
        let body = match (req.is_empty(), tail) {
            (true, None) => r#""{" "}""#.to_string(),
            (true, Some(t)) => format!(r#""{{" {t}? "}}""#),
            (false, t) => {
                let mut b = format!(r#""{{" {}"#, req.join(r#" "," "#));
                if let Some(t) = t {
                    let _ = write!(b, r#" ("," {t})?"#);
                }
                b.push_str(r#" "}""#);
                b
            }
        };
        Some(self.rule(body))
    }

    fn array(&mut self, o: &serde_json::Map<String, Value>) -> Option<String> {
        let min = uint(o, "minItems")?.unwrap_or(0);
        let max = uint(o, "maxItems")?;
        if let Some(prefix) = o.get("prefixItems") {
            let prefix = prefix.as_array()?;
            // Only a fixed tuple: exactly the prefix items, nothing after them.
            if min != prefix.len() as u64 || max != Some(prefix.len() as u64) {
                return None;
            }
            let items: Vec<String> = prefix
                .iter()
                .map(|p| self.value(p))
                .collect::<Option<_>>()?;
            let body = if items.is_empty() {
                r#""[" "]""#.to_string()
            } else {
                format!(r#""[" {} "]""#, items.join(r#" "," "#))
            };
            return Some(self.rule(body));
        }
        let item = self.value(o.get("items")?)?;
        let more = match max {
            Some(0) => return Some(self.rule(r#""[" "]""#.into())),
            Some(m) if m < min => return None,
            Some(m) => format!("{{{},{}}}", min.saturating_sub(1), m.saturating_sub(1)),
            None => format!("{{{},}}", min.saturating_sub(1)),
        };
        let run = format!(r#"{item} ("," {item}){more}"#);
        let body = if min == 0 {
            format!(r#""[" ({run})? "]""#)
        } else {
            format!(r#""[" {run} "]""#)
        };
        Some(self.rule(body))
    }

    fn string(&mut self, o: &serde_json::Map<String, Value>) -> Option<String> {
        if let Some(p) = o.get("pattern") {
            let inner = regex::to_gbnf(p.as_str()?)?;
            return Some(self.rule(format!(r#""\"" {inner} "\"""#)));
        }
        if o.contains_key("format") {
            return None;
        }
        let min = uint(o, "minLength")?.unwrap_or(0);
        let reps = match uint(o, "maxLength")? {
            Some(m) if m < min => return None,
            Some(m) => format!("{{{min},{m}}}"),
            None => format!("{{{min},}}"),
        };
        let ch = self.rule(TEXT_CHAR.into());
        Some(self.rule(format!(r#""\"" {ch}{reps} "\"""#)))
    }

    fn integer(&mut self, o: &serde_json::Map<String, Value>) -> Option<String> {
        let lo = o.get("minimum").map(Value::as_i64);
        let hi = o.get("maximum").map(Value::as_i64);
        match (lo, hi) {
            (Some(Some(lo)), Some(Some(hi))) if hi >= lo && hi - lo <= MAX_INT_RANGE => {
                let alts: Vec<String> = (lo..=hi).map(|n| literal(&n.to_string())).collect();
                Some(self.rule(alts.join(" | ")))
            }
            (None, None) => Some(self.rule(r#""-"? ("0" | [1-9] [0-9]{0,15})"#.into())),
            _ => None,
        }
    }
}

/// A non-negative integer keyword: Some(None) when absent, None when not an unsigned integer.
fn uint(o: &serde_json::Map<String, Value>, key: &str) -> Option<Option<u64>> {
    match o.get(key) {
        None => Some(None),
        Some(v) => v.as_u64().map(Some),
    }
}

/// A GBNF string literal matching `text` exactly.
fn literal(text: &str) -> String {
    let mut s = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => s.push_str("\\\""),
            '\\' => s.push_str("\\\\"),
            '\n' => s.push_str("\\n"),
            '\r' => s.push_str("\\r"),
            '\t' => s.push_str("\\t"),
            c => s.push(c),
        }
    }
    s.push('"');
    s
}

/// The anchored regular expressions of `pattern` keywords, as GBNF: literals, `\`-escapes, `.`,
/// character classes, groups with `|`, and the quantifiers `? * + {n} {n,} {n,m}`. Anything else
/// (lookaround, backreferences, `\w`-style classes other than `\d`) answers None.
mod regex {
    pub(super) fn to_gbnf(pattern: &str) -> Option<String> {
        let p = pattern.strip_prefix('^')?.strip_suffix('$')?;
        let chars: Vec<char> = p.chars().collect();
        let mut pos = 0;
        let out = alternation(&chars, &mut pos)?;
        (pos == chars.len()).then_some(out)
    }

    fn alternation(c: &[char], pos: &mut usize) -> Option<String> {
        let mut alts = vec![sequence(c, pos)?];
        while c.get(*pos) == Some(&'|') {
            *pos += 1;
            alts.push(sequence(c, pos)?);
        }
        Some(if alts.len() == 1 {
            alts.remove(0)
        } else {
            format!("({})", alts.join(" | "))
        })
    }

    fn sequence(c: &[char], pos: &mut usize) -> Option<String> {
        let mut items = Vec::new();
        while let Some(&ch) = c.get(*pos) {
            if ch == '|' || ch == ')' {
                break;
            }
            let atom = atom(c, pos)?;
            items.push(format!("{atom}{}", quantifier(c, pos)?));
        }
        Some(if items.is_empty() {
            "\"\"".into()
        } else {
            items.join(" ")
        })
    }

    fn atom(c: &[char], pos: &mut usize) -> Option<String> {
        let ch = *c.get(*pos)?;
        *pos += 1;
        match ch {
            '(' => {
                if c.get(*pos) == Some(&'?') {
                    return None;
                }
                let inner = alternation(c, pos)?;
                (c.get(*pos) == Some(&')')).then_some(())?;
                *pos += 1;
                Some(format!("({inner})"))
            }
            '[' => class(c, pos),
            '.' => Some(r#"[^"\\\x7F\x00-\x1F]"#.into()),
            '\\' => {
                let e = *c.get(*pos)?;
                *pos += 1;
                match e {
                    'd' => Some("[0-9]".into()),
                    e if e.is_ascii_punctuation() => Some(super::literal(&json_escaped(e))),
                    _ => None,
                }
            }
            '*' | '+' | '?' | '{' | '}' | ']' | '^' | '$' => None,
            ch => Some(super::literal(&json_escaped(ch))),
        }
    }

    /// How a character of the decoded string appears inside the JSON string.
    fn json_escaped(ch: char) -> String {
        match ch {
            '"' => "\\\"".into(),
            '\\' => "\\\\".into(),
            ch => ch.to_string(),
        }
    }

    fn class(c: &[char], pos: &mut usize) -> Option<String> {
        let mut body = String::from("[");
        if c.get(*pos) == Some(&'^') {
            body.push('^');
            *pos += 1;
        }
        let mut first = true;
        loop {
            let ch = *c.get(*pos)?;
            *pos += 1;
            match ch {
                ']' if !first => break,
                '\\' => {
                    let e = *c.get(*pos)?;
                    *pos += 1;
                    match e {
                        'd' => body.push_str("0-9"),
                        e if e.is_ascii_punctuation() => {
                            body.push('\\');
                            body.push(e);
                        }
                        _ => return None,
                    }
                }
                // A quote or a control character could not appear unescaped in a JSON string.
                '"' => return None,
                ch if ch.is_control() => return None,
                ch => body.push(ch),
            }
            first = false;
        }
        if body.starts_with("[^") {
            // A negated class must still exclude what JSON strings cannot hold raw.
            body.push_str(r#""\\\x7F\x00-\x1F"#);
        }
        body.push(']');
        Some(body)
    }

    fn quantifier(c: &[char], pos: &mut usize) -> Option<String> {
        let q = match c.get(*pos) {
            Some('?') => "?".to_string(),
            Some('*') => "*".to_string(),
            Some('+') => "+".to_string(),
            Some('{') => {
                let end = c[*pos..].iter().position(|&x| x == '}')? + *pos;
                let inner: String = c[*pos + 1..end].iter().collect();
                let ok = !inner.is_empty()
                    && inner.split(',').count() <= 2
                    && inner.split(',').next().is_some_and(|a| !a.is_empty())
                    && inner.chars().all(|x| x.is_ascii_digit() || x == ',');
                if !ok {
                    return None;
                }
                *pos = end;
                format!("{{{inner}}}")
            }
            _ => return Some(String::new()),
        };
        *pos += 1;
        if matches!(c.get(*pos), Some('?' | '+')) {
            // Lazy or possessive quantifiers: not a grammar notion.
            return None;
        }
        Some(q)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_object_is_written_without_whitespace_in_schema_order() {
        let g = compact(&json!({
            "type": "object",
            "additionalProperties": false,
            "required": ["name", "tags"],
            "properties": {
                "name": {"type": "string", "minLength": 1, "maxLength": 40},
                "tags": {"type": "array", "items": {"type": "string", "enum": ["a", "b"]},
                         "minItems": 1, "maxItems": 3}
            }
        }))
        .unwrap();
        assert!(g.starts_with("root ::= r"), "{g}");
        assert!(g.contains(r#""{" "\"name\":" "#), "{g}");
        assert!(g.contains(r#"{1,40}"#), "{g}");
        assert!(g.contains(r#"("," r"#) && g.contains("){0,2}"), "{g}");
        assert!(g.contains(r#""\"a\"" | "\"b\"""#), "{g}");
        assert!(!g.contains("\\n\"") && !g.contains("space"), "{g}");
        // Free text has no digits.
        assert!(g.contains(r#"[^"\\0-9\x7F"#), "{g}");
    }

    #[test]
    fn optional_members_may_appear_in_any_subset_in_order() {
        let g = compact(&json!({
            "type": "object", "additionalProperties": false,
            "properties": {"a": {"type": "boolean"}, "b": {"type": "boolean"}}
        }))
        .unwrap();
        // tail(b) = b; tail(a) = a ("," tail(b))? | tail(b); object = "{" tail(a)? "}".
        assert!(g.contains(r#"("," r"#) && g.contains(r#"? "}""#), "{g}");
    }

    #[test]
    fn max_properties_bounds_how_many_optional_members_appear() {
        let schema = json!({
            "type": "object", "additionalProperties": false, "maxProperties": 1,
            "properties": {"a": {"type": "boolean"}, "b": {"type": "boolean"}}
        });
        let g = compact(&schema).unwrap();
        // One member at most: no rule continues a member with a comma.
        assert!(!g.contains(r#"("," "#), "{g}");
        let two = compact(&json!({
            "type": "object", "additionalProperties": false, "maxProperties": 2,
            "properties": {"a": {"type": "boolean"}, "b": {"type": "boolean"}, "c": {"type": "boolean"}}
        }))
        .unwrap();
        assert!(two.contains(r#"("," "#), "{two}");
        // More required members than maxProperties allows: not expressible, the schema goes.
        assert_eq!(
            compact(
                &json!({"type": "object", "additionalProperties": false, "maxProperties": 0,
                "required": ["a"], "properties": {"a": {"type": "boolean"}}})
            ),
            None
        );
    }

    #[test]
    fn tuples_consts_and_small_integer_ranges() {
        let g = compact(&json!({
            "type": "array", "minItems": 2, "maxItems": 2,
            "prefixItems": [
                {"type": "object", "additionalProperties": false, "required": ["id"],
                 "properties": {"id": {"const": "X-1"}}},
                {"type": "integer", "minimum": 1, "maximum": 3}
            ]
        }))
        .unwrap();
        assert!(g.contains(r#""\"X-1\"""#), "{g}");
        assert!(g.contains(r#""1" | "2" | "3""#), "{g}");
    }

    #[test]
    fn patterns_become_grammar_and_unknown_regex_falls_back() {
        let g = compact(&json!({"type": "string",
            "pattern": "^[a-z][a-z0-9]{0,15}(_[a-z0-9]{1,15}){0,4}_design\\.md$"}))
        .unwrap();
        assert!(
            g.contains(r#""\"" [a-z] [a-z0-9]{0,15} ("_" [a-z0-9]{1,15}){0,4} "_" "d" "e" "s" "i" "g" "n" "." "m" "d" "\"""#),
            "{g}"
        );
        assert_eq!(
            compact(&json!({"type": "string", "pattern": "^(?=a)b$"})),
            None
        );
        assert_eq!(compact(&json!({"type": "string", "pattern": "a+"})), None);
    }

    #[test]
    fn what_it_does_not_cover_falls_back_to_the_schema() {
        for s in [
            json!({"type": "object", "properties": {"a": {"type": "string"}}}),
            json!({"anyOf": [{"type": "string"}, {"type": "null"}]}),
            json!({"type": ["string", "null"]}),
            json!({"type": "number"}),
            json!({"type": "string", "format": "date"}),
            json!({"type": "array", "items": {"type": "string"}, "minItems": 3, "maxItems": 1}),
        ] {
            assert_eq!(compact(&s), None, "{s}");
        }
    }
}
