//! Fixes to document JSON before rendering: what models commonly get slightly wrong.
//!
//! Nothing here invents content. It maps spellings onto the schema's values (effort "Medium" ->
//! `M`, a recommendation "Option B" -> `B`, likelihood "med" -> `Medium`), strips what the
//! template writes itself (a repeated "Option A:" in a name, "Design Document" in a title), and
//! makes node/edge diagrams self-consistent so their mermaid always parses (and takes a fence
//! off Mermaid source).

use serde_json::{Value, json};

use super::DocKind;
use super::schema::option_letter;
use super::templates::{mermaid_id, mermaid_source};

/// Fixes what models commonly get slightly wrong, without inventing content.
pub(crate) fn normalize(kind: DocKind, doc: &Value) -> Value {
    let mut doc = doc.clone();
    match kind {
        DocKind::Options => {
            if let Some(opts) = doc.get_mut("options").and_then(Value::as_array_mut) {
                for o in opts.iter_mut() {
                    normalize_effort(o);
                    if let Some(name) = o.get_mut("name")
                        && let Some(s) = name.as_str()
                    {
                        let stripped = strip_option_prefix(s);
                        if !stripped.is_empty() && stripped.len() < s.len() {
                            *name = Value::String(stripped.to_string());
                        }
                    }
                    if let Some(d) = o.get_mut("diagram") {
                        normalize_diagram(d);
                    }
                }
            }
            let names: Vec<String> = doc["options"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .map(|o| o["name"].as_str().unwrap_or_default().to_string())
                        .collect()
                })
                .unwrap_or_default();
            if let Some(rec) = doc.pointer_mut("/comparison/recommended")
                && let Some(s) = rec.as_str()
                && let Some(letter) = recommended_letter(s, &names)
            {
                *rec = Value::String(letter);
            }
        }
        DocKind::Proposal => {
            if let Some(o) = doc.get_mut("approach") {
                normalize_overview(o);
            }
            if let Some(risks) = doc.get_mut("risks").and_then(Value::as_array_mut) {
                for r in risks.iter_mut() {
                    for key in ["likelihood", "impact"] {
                        if let Some(v) = r.get_mut(key)
                            && let Some(level) = v.as_str().and_then(level)
                        {
                            *v = Value::String(level.into());
                        }
                    }
                }
            }
        }
        DocKind::DesignDoc => {
            if let Some(o) = doc.get_mut("architecture_overview") {
                normalize_overview(o);
            }
            if let Some(t) = doc.get_mut("title")
                && let Some(s) = t.as_str()
            {
                *t = Value::String(strip_design_suffix(s).to_string());
            }
        }
        DocKind::Prd | DocKind::ImplementationPlan => {}
    }
    doc
}

/// "Option B: Registry" -> "Registry" (the template writes the letter itself).
fn strip_option_prefix(s: &str) -> &str {
    let t = s.trim();
    let Some(rest) = t
        .get(..7)
        .filter(|p| p.eq_ignore_ascii_case("option "))
        .map(|_| &t[7..])
    else {
        return t;
    };
    let mut chars = rest.chars();
    let letter = chars.next();
    let after = chars.as_str();
    const SEPS: [char; 6] = [':', '-', '–', '.', ')', ' '];
    match letter {
        Some(c) if c.is_ascii_alphabetic() && after.is_empty() => "",
        Some(c) if c.is_ascii_alphabetic() && after.starts_with(SEPS) => {
            after.trim_start_matches(SEPS)
        }
        _ => t,
    }
}

fn strip_design_suffix(s: &str) -> &str {
    let t = s.trim();
    for suffix in [" design document", " design doc", " design"] {
        if t.len() > suffix.len() && t.to_ascii_lowercase().ends_with(suffix) {
            return t[..t.len() - suffix.len()].trim_end();
        }
    }
    t
}

fn level(s: &str) -> Option<&'static str> {
    match s.trim().to_ascii_lowercase().as_str() {
        "low" | "l" => Some("Low"),
        "medium" | "med" | "m" | "moderate" => Some("Medium"),
        "high" | "h" | "critical" => Some("High"),
        _ => None,
    }
}

fn effort_size(s: &str) -> Option<&'static str> {
    let first = s
        .trim()
        .split(|c: char| !c.is_ascii_alphabetic())
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    match first.as_str() {
        "s" | "small" => Some("S"),
        "m" | "medium" => Some("M"),
        "l" | "large" => Some("L"),
        _ => None,
    }
}

fn normalize_effort(option: &mut Value) {
    let Some(effort) = option.get_mut("effort") else {
        return;
    };
    if let Some(s) = effort.as_str() {
        if let Some(size) = effort_size(s) {
            let rest = s.trim()[s
                .trim()
                .find(|c: char| !c.is_ascii_alphabetic())
                .unwrap_or(s.trim().len())..]
                .trim_matches(|c: char| {
                    c.is_whitespace() || matches!(c, '(' | ')' | ',' | '-' | ':' | '–')
                })
                .to_string();
            *effort = json!({"size": size, "timeline": if rest.is_empty() { "unspecified".to_string() } else { rest }});
        }
        return;
    }
    if let Some(size) = effort.get_mut("size")
        && let Some(s) = size.as_str().and_then(effort_size)
    {
        *size = Value::String(s.into());
    }
}

/// "B", "Option B", "option b: Library", or an option's name -> "B".
fn recommended_letter(s: &str, names: &[String]) -> Option<String> {
    let t = s.trim();
    let lower = t.to_ascii_lowercase();
    let body = lower
        .strip_prefix("option")
        .map(str::trim_start)
        .unwrap_or(&lower);
    let mut chars = body.chars();
    if let Some(c) = chars.next()
        && c.is_ascii_alphabetic()
        && chars.next().is_none_or(|n| !n.is_ascii_alphanumeric())
    {
        return Some(c.to_ascii_uppercase().to_string());
    }
    names
        .iter()
        .position(|n| !n.is_empty() && n.eq_ignore_ascii_case(t))
        .map(option_letter)
}

/// The diagrams of an approach or architecture overview: its `diagram` and each of its
/// `diagrams` (Mermaid source).
fn normalize_overview(o: &mut Value) {
    if let Some(d) = o.get_mut("diagram") {
        normalize_diagram(d);
    }
    if let Some(list) = o.get_mut("diagrams").and_then(Value::as_array_mut) {
        for d in list {
            if let Some(m) = d.get_mut("mermaid") {
                normalize_diagram(m);
            }
        }
    }
}

/// Makes a diagram self-consistent. Mermaid source loses a surrounding fence and blank lines
/// (see [`mermaid_source`]); a node/edge flowchart gets direction LR or TD, unique node ids,
/// and every edge endpoint a node (an endpoint naming a node's label is mapped to that node;
/// an unknown one becomes a node).
pub(crate) fn normalize_diagram(d: &mut Value) {
    if let Some(src) = d.as_str() {
        *d = Value::String(mermaid_source(src));
        return;
    }
    let Some(obj) = d.as_object_mut() else {
        return;
    };
    let dir = obj
        .get("direction")
        .and_then(Value::as_str)
        .map(|s| s.trim().to_ascii_uppercase())
        .unwrap_or_default();
    let dir = match dir.as_str() {
        "LR" | "RL" => "LR",
        "TD" | "TB" | "BT" => "TD",
        _ => "LR",
    };
    obj.insert("direction".into(), Value::String(dir.into()));

    let mut nodes: Vec<(String, String)> = Vec::new(); // (id, label)
    if let Some(list) = obj.get("nodes").and_then(Value::as_array) {
        for n in list {
            let id = n["id"].as_str().unwrap_or_default().trim().to_string();
            let label = n["label"].as_str().unwrap_or_default().trim().to_string();
            let id = if id.is_empty() { label.clone() } else { id };
            if id.is_empty() {
                continue;
            }
            // A repeated id is a second node the model named the same (small models do): keep it
            // as its own node rather than silently merging what the model drew.
            let mut id = id;
            let mut n = 1;
            while nodes.iter().any(|(i, _)| mermaid_id(i) == mermaid_id(&id)) {
                n += 1;
                id = format!(
                    "{} {n}",
                    id.trim_end_matches(|c: char| c.is_ascii_digit() || c == ' ')
                );
            }
            let label = if label.is_empty() { id.clone() } else { label };
            nodes.push((id, label));
        }
    }
    let mut edges: Vec<Value> = Vec::new();
    if let Some(list) = obj.get("edges").and_then(Value::as_array) {
        for e in list {
            let from = e["from"].as_str().unwrap_or_default().trim().to_string();
            let to = e["to"].as_str().unwrap_or_default().trim().to_string();
            if from.is_empty() || to.is_empty() {
                continue;
            }
            let from = resolve_endpoint(&from, &mut nodes);
            let to = resolve_endpoint(&to, &mut nodes);
            let label = e["label"].as_str().unwrap_or_default().trim().to_string();
            edges.push(json!({"from": from, "to": to, "label": label}));
        }
    }
    if nodes.is_empty() || (nodes.len() == 1 && edges.is_empty()) {
        // Leave the arrays as they were so the schema check reports the missing parts.
        return;
    }
    obj.insert(
        "nodes".into(),
        Value::Array(
            nodes
                .into_iter()
                .map(|(id, label)| json!({"id": id, "label": label}))
                .collect(),
        ),
    );
    obj.insert("edges".into(), Value::Array(edges));
}

fn resolve_endpoint(name: &str, nodes: &mut Vec<(String, String)>) -> String {
    let key = mermaid_id(name);
    if let Some((id, _)) = nodes.iter().find(|(id, _)| mermaid_id(id) == key) {
        return id.clone();
    }
    if let Some((id, _)) = nodes
        .iter()
        .find(|(_, label)| label.eq_ignore_ascii_case(name))
    {
        return id.clone();
    }
    nodes.push((name.to_string(), name.to_string()));
    name.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn option_names_lose_a_repeated_letter() {
        assert_eq!(strip_option_prefix("Option B: Registry"), "Registry");
        assert_eq!(strip_option_prefix("option c - CLI"), "CLI");
        assert_eq!(strip_option_prefix("Option A"), "");
        assert_eq!(strip_option_prefix("Optional cache"), "Optional cache");
        assert_eq!(strip_option_prefix("Monolith"), "Monolith");
        assert_eq!(strip_option_prefix("Option B– Ünïcode"), "Ünïcode");
        assert_eq!(strip_option_prefix("Option Bx"), "Option Bx");
    }

    #[test]
    fn diagrams_become_consistent() {
        let mut d = json!({"direction": "tb", "nodes": [
            {"id": "a", "label": "Alpha"}, {"id": "a", "label": "dup"}, {"id": "", "label": "Beta"}
        ], "edges": [
            {"from": "Alpha", "to": "Beta", "label": "x"}, {"from": "a", "to": "Gamma"}, {"from": "", "to": "a"}
        ]});
        normalize_diagram(&mut d);
        assert_eq!(d["direction"], "TD");
        let ids: Vec<&str> = d["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["id"].as_str().unwrap())
            .collect();
        // A repeated id is kept as a second node with a unique id.
        assert_eq!(ids, ["a", "a 2", "Beta", "Gamma"]);
        assert_eq!(
            d["edges"][0],
            json!({"from": "a", "to": "Beta", "label": "x"})
        );
        assert_eq!(d["edges"].as_array().unwrap().len(), 2);
    }
}
