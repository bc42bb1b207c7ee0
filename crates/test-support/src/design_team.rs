//! A scripted design team behind the fake OpenAI server: it answers every structured task with
//! a JSON instance generated from the request's own JSON Schema (so it follows whatever the
//! templates ask for), and text tasks with a short markdown note. Reviews raise the items the
//! script asks for; re-reviews close them unless told to reopen.
//!
//! Diagrams asked for as Mermaid source (a capable model's schemas) get real Mermaid: an
//! option's diagram is a component flowchart, and a list of titled diagrams is a component
//! flowchart, a `sequenceDiagram` and an `erDiagram`, in that order.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use serde_json::{Map, Value, json};

use super::fake_openai::{FakeReply, RecordedRequest};

/// What the team does.
#[derive(Clone, Debug)]
pub struct Script {
    /// Categories of the items each first-round review raises.
    pub review_items: Vec<&'static str>,
    /// Re-reviews reopen items instead of closing them.
    pub reopen: bool,
    /// Design documents the manifest selects.
    pub docs: Vec<&'static str>,
    /// PRD items the manifest's traceability leaves out.
    pub untraced: Vec<&'static str>,
    /// The first design document's sequence diagram is invalid Mermaid (once; its repair and
    /// every later answer are valid).
    pub broken_mermaid_once: bool,
    /// A citation (`path:line` or `path:start-end`) every design document's detailed design ends
    /// with.
    pub cite: Option<&'static str>,
    /// The first design document cites this instead of `cite` (once; its repair and every later
    /// answer cite `cite`).
    pub bad_cite_once: Option<&'static str>,
}

impl Default for Script {
    fn default() -> Self {
        Self {
            review_items: vec!["critical", "nice-to-have"],
            reopen: false,
            docs: vec![
                "link_service_backend_design.md",
                "analytics_pipeline_design.md",
            ],
            untraced: vec![],
            broken_mermaid_once: false,
            cite: None,
            bad_cite_once: None,
        }
    }
}

/// A responder for `FakeOpenAi::start`.
pub fn responder(script: Script) -> impl Fn(&RecordedRequest) -> FakeReply + Send + Sync + 'static {
    let counter = Arc::new(AtomicUsize::new(0));
    let broken_sent = Arc::new(AtomicBool::new(false));
    let bad_cite_sent = Arc::new(AtomicBool::new(false));
    move |req: &RecordedRequest| {
        let n = counter.fetch_add(1, Ordering::SeqCst);
        FakeReply::text(answer(&script, req, n, &broken_sent, &bad_cite_sent))
    }
}

/// The diagrams of a `diagrams` list, by position: (title, Mermaid source).
const DIAGRAMS: [(&str, &str); 3] = [
    (
        "Components and data flow",
        "flowchart LR\n    user([Team member]) -->|HTTPS| api[Link API]\n    api -->|SQL| db[(PostgreSQL)]\n    \
         api -->|click events| queue[[Click queue]]\n    queue --> stats[Stats worker]\n    stats --> db",
    ),
    (
        "Shorten and redirect sequence",
        "sequenceDiagram\n    participant U as User\n    participant A as Link API\n    participant D as PostgreSQL\n    \
         U->>A: POST /links {url}\n    A->>D: INSERT link (code, target)\n    D-->>A: ok\n    \
         A-->>U: 201 short_url\n    U->>A: GET /code\n    A-->>U: 302 Location",
    ),
    (
        "Data model",
        "erDiagram\n    OWNER ||--o{ LINK : owns\n    LINK ||--o{ CLICK : records\n    LINK {\n        \
         string code PK\n        string target_url\n        datetime created_at\n    }\n    CLICK {\n        \
         bigint id PK\n        string code FK\n        datetime at\n    }",
    ),
];

/// What `broken_mermaid_once` puts in place of the sequence diagram: a message without a target.
pub const BROKEN_SEQUENCE: &str =
    "sequenceDiagram\n    participant U as User\n    U->>: POST /links";

/// An option's diagram (one Mermaid source).
const OPTION_DIAGRAM: &str =
    "flowchart LR\n    client[Browser or CLI] --> api[Link API]\n    api --> db[(PostgreSQL)]";

/// A capable model's sections at the seeds' full depth: (field key, a phrase of the depth the
/// schema's description asks for, the markdown written). A field whose description lacks the
/// phrase (the local shapes) gets the generic sentence instead.
const DEPTH: [(&str, &str, &str); 11] = [
    (
        "background",
        "Name the stakeholders",
        "Team members lose track of shared links and cannot see whether anyone clicked them.\n\n\
         **Stakeholders**: team members who share links (fast shortening), team leads who read the weekly \
         statistics (accurate counts), and the on-call engineer (few moving parts).",
    ),
    (
        "requirements",
        "ID | Requirement | Priority",
        "| ID | Requirement | Priority |\n|----|-------------|----------|\n\
         | FR-1 | Shorten a URL to a 7-character code | Must |\n\
         | FR-2 | Redirect a code to its target | Must |\n\
         | FR-3 | Count clicks per link per day | Should |\n\n\
         | Category | Requirement | Target |\n|----------|-------------|--------|\n\
         | Performance | Redirect latency | p95 under 50 ms |\n\
         | Availability | Redirect uptime | 99.9 % monthly |\n\
         | Security | Only team members create links | SSO on every write |\n\n\
         **Constraints**: one engineer for six weeks, one VM and one PostgreSQL instance. \
         **Regulatory**: click logs hold no personal data beyond 30 days (GDPR). \
         **Integration points**: the company SSO for sign-in and the chat tool for sharing.",
    ),
    (
        "principles",
        "how the design will be tested",
        "State lives in PostgreSQL only; the API is stateless. Redirects are fast and synchronous; click \
         counting is slow work on a queue.\n\n**Testing**: unit tests for code generation, integration tests \
         against a real PostgreSQL, and an end-to-end test that shortens, redirects and counts.",
    ),
    (
        "data",
        "storage strategy table",
        "A LINK has many CLICKs; an OWNER has many LINKs. Writes go to the primary; statistics are read \
         from a daily rollup.\n\n| Data | Store | Retention | Backup |\n|------|-------|-----------|--------|\n\
         | Links | PostgreSQL | forever | nightly dump |\n| Clicks | PostgreSQL (partitioned) | 30 days | none |",
    ),
    (
        "infrastructure",
        "scaling table",
        "Two environments (staging, production); the CI/CD pipeline runs the tests and deploys on merge; \
         rollback redeploys the previous image.\n\n\
         | Component | Min | Max | Scaling trigger |\n|-----------|-----|-----|-----------------|\n\
         | Link API | 2 | 6 | CPU over 70 % |\n| Stats worker | 1 | 3 | queue depth over 1,000 |",
    ),
    (
        "security",
        "threat table",
        "Sign-in through SSO; secrets in the platform's secret store.\n\n\
         | Threat | Impact | Mitigation |\n|--------|--------|------------|\n\
         | Open redirect to phishing | High | allow-list of schemes, abuse report |\n\
         | Code enumeration | Medium | 7-character random codes, rate limit |",
    ),
    (
        "observability",
        "metrics table",
        "Structured logs with the link code; traces across the API and the worker.\n\n\
         | Metric | Target | Alert threshold |\n|--------|--------|-----------------|\n\
         | Redirect p95 | 50 ms | 100 ms for 5 min |\n| Queue depth | under 100 | over 1,000 |",
    ),
    (
        "performance",
        "network optimisation",
        "Hot codes are cached in memory for 60 s. Database: an index on `code`, pooled connections, \
         batched click inserts. Network: redirects carry no body and keep connections alive.",
    ),
    (
        "risks",
        "Risk | Likelihood | Impact | Owner | Trigger",
        "| Risk | Likelihood | Impact | Owner | Trigger | Mitigation |\n\
         |------|------------|--------|-------|---------|------------|\n\
         | Click table grows unbounded | Medium | High | platform team | table over 50 GB | daily partitions, 30-day drop |\n\
         | Abuse as a phishing relay | Low | High | security | abuse report | scheme allow-list, takedown |\n\n\
         ### ADR 1: One PostgreSQL for links and clicks\n\n\
         **Context**: the team runs PostgreSQL already and the load is small.\n\n\
         **Decision**: store links and clicks in one database, clicks partitioned by day.\n\n\
         **Consequences**: one system to operate; a move to a column store is needed past 10x growth.\n\n\
         **Next steps**: confirm the retention with legal (owner: product, by 2027-01-15).",
    ),
    (
        "components",
        "its technology",
        "The Link API (technology: Rust and axum; data model: Link) shortens and redirects. The Stats \
         worker (technology: Rust; data model: Click, DailyCount) counts clicks from the queue.",
    ),
    (
        "detailed_design",
        "alternatives rejected",
        "The Link API issues codes and redirects; rejected alternatives: hashing the URL (collisions) and \
         sequential ids (enumeration). The LINK table holds code, target and owner. Writes are idempotent \
         by request id; creation is rate-limited to 60 a minute per user; each click emits a `link.clicked` event.",
    ),
];

/// The approach's description at full depth (the system context and the architecture style).
const APPROACH_DEPTH: &str = "Option A, one stateless Link API in front of PostgreSQL, with a queue for clicks.\n\n\
     **System context**: team members use the API through the browser and the chat tool; the company SSO \
     authenticates them; nothing else calls in.\n\n\
     **Architecture style**: layered, with a queue at the one slow edge: the smallest set of moving parts that \
     meets the latency target, and the click path can fail without affecting redirects.";

/// The schema a request asks for: `response_format.json_schema.schema`, if any.
fn requested_schema(req: &RecordedRequest) -> Option<(String, Value)> {
    let rf = req.response_format.as_ref()?;
    let js = rf.get("json_schema")?;
    Some((
        js.get("name")?.as_str().unwrap_or("").to_string(),
        js.get("schema")?.clone(),
    ))
}

fn answer(
    script: &Script,
    req: &RecordedRequest,
    n: usize,
    broken_sent: &AtomicBool,
    bad_cite_sent: &AtomicBool,
) -> String {
    let Some((name, schema)) = requested_schema(req).or_else(|| schema_in_prompt(req)) else {
        return format!(
            "## Notes\n\nThe core data structures are Link, Click and Owner; each is immutable once written.\n\n\
             Reply {n}: keep the public functions small and typed.\n"
        );
    };
    if name.contains("manifest") || schema_has(&schema, "selected_docs") {
        return manifest(script).to_string();
    }
    let design_doc = schema
        .get("description")
        .and_then(Value::as_str)
        .is_some_and(|d| d.starts_with("agentmux design document"));
    let mut g = Gen {
        script,
        root: &schema,
        review: schema_has(&schema, "items") && !schema_has(&schema, "verdicts"),
        broken: script.broken_mermaid_once
            && design_doc
            && !broken_sent.swap(true, Ordering::SeqCst),
        // Only design documents have a `detailed_design` (and their integrations, which keep it).
        cite: match script.bad_cite_once {
            Some(bad) if design_doc && !bad_cite_sent.swap(true, Ordering::SeqCst) => Some(bad),
            _ => script.cite,
        },
    };
    g.value(&schema, "", 0).to_string()
}

/// For servers without json_schema support the schema is in the prompt; the fake always gets it
/// through response_format, but keep a fallback: a ```json block in the last user message.
fn schema_in_prompt(_req: &RecordedRequest) -> Option<(String, Value)> {
    None
}

fn schema_has(schema: &Value, key: &str) -> bool {
    schema.get("properties").and_then(|p| p.get(key)).is_some()
}

fn manifest(script: &Script) -> Value {
    let docs: Vec<&str> = script.docs.clone();
    let areas: Map<String, Value> = docs
        .iter()
        .map(|d| {
            (
                d.to_string(),
                json!(format!("Scope of {d}: components, data and operations.")),
            )
        })
        .collect();
    let rationale: Map<String, Value> = docs
        .iter()
        .map(|d| {
            (
                d.to_string(),
                json!(format!("{d} covers the PRD objectives and NFRs it names.")),
            )
        })
        .collect();
    json!({
        "project_name": "Team Link Shortener",
        "selected_docs": docs,
        "design_areas": areas,
        "rationale": rationale,
        "assumptions_tbd": [{"assumption": "Expected peak redirects per second", "owner": "product"}],
        "traceability": traceability(&docs, &script.untraced),
        "phase_plan_overview": [
            {"phase": "Phase 0", "goals": "Spike the redirect path", "exit_criteria": "p95 under 50 ms on one VM"},
            {"phase": "Phase 1", "goals": "MVP", "exit_criteria": "all FRs pass end to end"}
        ]
    })
}

/// Every document supports every objective, requirement and journey step the fixtures use.
fn traceability(docs: &[&str], untraced: &[&str]) -> Value {
    let ids = [
        "O1", "O2", "O3", "FR-1", "FR-2", "FR-3", "FR-4", "FR-5", "J1", "J2", "J3",
    ];
    Value::Object(
        ids.iter()
            .filter(|i| !untraced.contains(i))
            .map(|i| (i.to_string(), json!(docs)))
            .collect(),
    )
}

struct Gen<'a> {
    script: &'a Script,
    root: &'a Value,
    review: bool,
    /// This answer's sequence diagram is broken (see `Script::broken_mermaid_once`).
    broken: bool,
    /// The citation this answer's detailed design ends with (see `Script::cite`).
    cite: Option<&'static str>,
}

impl Gen<'_> {
    fn resolve<'b>(&'b self, schema: &'b Value) -> &'b Value {
        if let Some(r) = schema.get("$ref").and_then(Value::as_str)
            && let Some(ptr) = r.strip_prefix('#')
            && let Some(target) = self.root.pointer(ptr)
        {
            return target;
        }
        schema
    }

    fn value(&mut self, schema: &Value, key: &str, idx: usize) -> Value {
        let schema = &self.resolve(schema).clone();
        if let Some(c) = schema.get("const") {
            return c.clone();
        }
        if let Some(e) = schema.get("enum").and_then(Value::as_array) {
            return self.pick_enum(e, key);
        }
        for k in ["anyOf", "oneOf"] {
            if let Some(first) = schema.get(k).and_then(Value::as_array).and_then(|a| {
                a.iter()
                    .find(|s| s.get("type").and_then(Value::as_str) != Some("null"))
                    .or(a.first())
            }) {
                return self.value(first, key, idx);
            }
        }
        let ty = match schema.get("type") {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Array(a)) => a
                .iter()
                .filter_map(Value::as_str)
                .find(|t| *t != "null")
                .unwrap_or("null")
                .to_string(),
            _ if schema.get("properties").is_some() => "object".into(),
            _ if schema.get("items").is_some() => "array".into(),
            _ => "string".into(),
        };
        match ty.as_str() {
            "object" => self.object(schema, key),
            "array" => self.array(schema, key),
            "integer" => json!(schema.get("minimum").and_then(Value::as_i64).unwrap_or(1)),
            "number" => json!(schema.get("minimum").and_then(Value::as_f64).unwrap_or(1.0)),
            "boolean" => json!(true),
            "null" => Value::Null,
            _ => json!(self.string(schema, key, idx)),
        }
    }

    fn pick_enum(&self, e: &[Value], key: &str) -> Value {
        let want: Option<&str> = match key {
            "status" => Some(if self.script.reopen {
                "reopened"
            } else {
                "closed"
            }),
            "decision" => Some("accepted"),
            "effort" => Some("M"),
            _ => None,
        };
        if let Some(w) = want
            && let Some(v) = e.iter().find(|v| v.as_str() == Some(w))
        {
            return v.clone();
        }
        e.first().cloned().unwrap_or(Value::Null)
    }

    fn object(&mut self, schema: &Value, key: &str) -> Value {
        let mut m = Map::new();
        if let Some(props) = schema.get("properties").and_then(Value::as_object) {
            for (k, s) in props {
                m.insert(k.clone(), self.value(s, k, 0));
            }
        }
        if key == "approach" && described_with(schema, "architecture style") {
            m.insert("description".into(), json!(APPROACH_DEPTH));
        }
        Value::Object(m)
    }

    fn array(&mut self, schema: &Value, key: &str) -> Value {
        let items = schema
            .get("items")
            .cloned()
            .unwrap_or(json!({"type": "string"}));
        let items = self.resolve(&items).clone();
        let min = schema.get("minItems").and_then(Value::as_u64).unwrap_or(0) as usize;
        let max = schema
            .get("maxItems")
            .and_then(Value::as_u64)
            .map(|m| m as usize)
            .unwrap_or(usize::MAX);
        // One element per enumerated id (dispositions, verdicts).
        if let Some(ids) = items
            .pointer("/properties/item_id/enum")
            .and_then(Value::as_array)
        {
            return Value::Array(
                ids.iter()
                    .map(|id| {
                        let mut v = self.value(&items, key, 0);
                        v["item_id"] = id.clone();
                        v
                    })
                    .collect(),
            );
        }
        if self.review && key == "items" {
            let cats = &self.script.review_items;
            return Value::Array(
                cats.iter()
                    .enumerate()
                    .map(|(i, c)| {
                        let mut v = self.value(&items, "item", i);
                        v["category"] = json!(c);
                        v
                    })
                    .collect(),
            );
        }
        if key == "new_items" {
            return json!([]);
        }
        if key == "diagrams" {
            let count = DIAGRAMS.len().clamp(min.max(1), max.max(1));
            return Value::Array(
                (0..count)
                    .map(|i| {
                        let mut v = self.value(&items, key, i);
                        let (title, mut source) = DIAGRAMS[i % DIAGRAMS.len()];
                        if i == 1 && self.broken {
                            source = BROKEN_SEQUENCE;
                        }
                        v["title"] = json!(title);
                        v["mermaid"] = json!(source);
                        v
                    })
                    .collect(),
            );
        }
        let count = min.max(1).min(max);
        Value::Array((0..count).map(|i| self.value(&items, key, i)).collect())
    }

    fn string(&self, schema: &Value, key: &str, idx: usize) -> String {
        let min = schema.get("minLength").and_then(Value::as_u64).unwrap_or(0) as usize;
        let max = schema
            .get("maxLength")
            .and_then(Value::as_u64)
            .map(|m| m as usize)
            .unwrap_or(400);
        let depth = DEPTH
            .iter()
            .find(|(k, phrase, _)| *k == key && described_with(schema, phrase));
        let base = match key {
            _ if depth.is_some() => depth.map(|d| d.2.to_string()).unwrap_or_default(),
            // A string diagram is Mermaid source.
            "diagram" => OPTION_DIAGRAM.into(),
            "mermaid" => DIAGRAMS[idx % DIAGRAMS.len()].1.into(),
            "id" => format!("n{idx}"),
            "label" | "name" | "title" => format!("Component {}", idx + 1),
            "from" => "n0".into(),
            "to" => "n1".into(),
            "section" => "Approach Overview".into(),
            k => format!(
                "The {} uses a small stateless service in front of one PostgreSQL database; \
                 writes are idempotent and reads are cached only where measured.",
                k.replace('_', " ")
            ),
        };
        let mut s = match (key, self.cite) {
            ("detailed_design", Some(c)) => format!("The estimate is computed in `{c}`. {base}"),
            _ => base,
        };
        while s.chars().count() < min {
            s.push_str(" More detail follows the same plan.");
        }
        // Depth content is written whole when the schema sets no bound.
        let max = match (depth, schema.get("maxLength")) {
            (Some(_), None) => usize::MAX,
            _ => max,
        };
        s.chars().take(max.max(1)).collect()
    }
}

/// Whether a schema's description contains `phrase` (case-insensitive).
fn described_with(schema: &Value, phrase: &str) -> bool {
    schema
        .get("description")
        .and_then(Value::as_str)
        .is_some_and(|d| d.to_lowercase().contains(&phrase.to_lowercase()))
}
