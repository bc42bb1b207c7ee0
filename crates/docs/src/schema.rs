//! JSON Schemas of everything an agent returns as structured output.
//!
//! Document schemas are generated from `sections.yaml` (one property per section, all required,
//! in the file's order, since grammar-constrained decoding emits properties in schema order). A
//! few sections have structure instead of free text: options, ratings, diagrams, steps, tables.
//! With `response_format: json_schema` the endpoint constrains decoding to these schemas, so even a
//! tiny local model returns every section, three options and eight steps; [`SchemaLimits`] also
//! caps string lengths for that model so a document always fits in its context window.
//!
//! The manifest schema is a real file, `specs-templates/manifest.schema.json`, shared with the
//! validators; [`manifest_schema`] applies the configured document counts to it.

use serde_json::{Map, Value, json};

use super::DocKind;
use super::sections::{Section, sections};

/// The text of `specs-templates/manifest.schema.json`.
pub(crate) const MANIFEST_SCHEMA_JSON: &str =
    include_str!("../../../specs-templates/manifest.schema.json");

/// How a document's JSON carries its diagrams.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DiagramShape {
    /// A flowchart as `{direction, nodes, edges}`; the template writes Mermaid that always
    /// parses. What the bundled local model can produce.
    Graph,
    /// Mermaid source text of whatever kind the content needs (sequence, ER, class, C4, state,
    /// flowchart), checked by the Mermaid parser. An option's `diagram` is one source string;
    /// the proposal's approach and a design doc's architecture overview carry
    /// `diagrams: [{title, mermaid}]` (1 to [`MAX_DIAGRAMS`]).
    Mermaid,
    /// Either shape (checking JSON that another tool wrote).
    Either,
}

/// Most diagrams of one `diagrams` list (Mermaid shape).
pub const MAX_DIAGRAMS: u32 = 6;

/// `maxLength` of one Mermaid source in the Mermaid shape: the parser check's byte limit
/// ([`crate::validate::mermaid::MAX_MERMAID_BYTES`]) in characters of up to four bytes, so a
/// source within it is never rejected for its size.
pub const MERMAID_MAX_CHARS: u32 = (crate::validate::mermaid::MAX_MERMAID_BYTES / 4) as u32;

/// Size limits applied to generated schemas.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SchemaLimits {
    /// `maxLength` of free-text sections; None: unbounded.
    pub text_max: Option<u32>,
    /// `maxLength` of short parts (step parts, table cells, list entries).
    pub short_max: Option<u32>,
    /// `maxLength` of names, labels and ids.
    pub label_max: Option<u32>,
    /// Number of architecture options (min, max); seed 000 asks for at least three.
    pub options: (u32, Option<u32>),
    /// Number of implementation steps; seed 000 asks for 8 to 20.
    pub steps: (u32, Option<u32>),
    /// Candidates in a design doc's stack selection; seed 004 asks for 3 to 5.
    pub candidates: (u32, Option<u32>),
    /// Most entries of a list section (objectives, risks, questions, ...).
    pub list_max: Option<u32>,
    /// Most nodes and edges of one diagram.
    pub diagram_nodes_max: Option<u32>,
    pub diagram_edges_max: Option<u32>,
    /// Most new items in one review.
    pub review_items_max: Option<u32>,
    /// Most sections one integration may rewrite (`maxProperties` of its document patch).
    pub patch_sections_max: Option<u32>,
    /// `additionalProperties: false` on every object (what a grammar needs); false when checking
    /// output from a model that may add harmless extra fields.
    pub closed: bool,
    /// How diagrams are written: node/edge objects or Mermaid source.
    pub diagrams: DiagramShape,
    /// Each implementation step may carry optional `notes` (seed 000: "add additional
    /// information as needed").
    pub step_notes: bool,
    /// The seeds' full depth (a capable model): section hints with their `depth` from
    /// `sections.yaml`, entry criteria and deltas per design-doc phase, the proposal's glossary
    /// and references, an acknowledgement per feedback item. The local model keeps its shapes.
    pub depth: bool,
}

impl SchemaLimits {
    /// For a capable remote model: the seed counts, no length caps, diagrams as Mermaid source.
    pub(crate) fn remote() -> Self {
        Self {
            text_max: None,
            short_max: None,
            label_max: Some(120),
            options: (3, Some(5)),
            steps: (8, Some(20)),
            candidates: (3, Some(5)),
            list_max: Some(20),
            diagram_nodes_max: Some(16),
            diagram_edges_max: Some(24),
            review_items_max: Some(20),
            patch_sections_max: None,
            closed: true,
            diagrams: DiagramShape::Mermaid,
            step_notes: true,
            depth: true,
        }
    }

    /// For the bundled local model (8k context, a few dozen tokens a second on two cores): the
    /// minimum counts the seeds allow and short fields, so that a whole session is a quick demo
    /// and the largest document (the proposal) stays around 1,000 tokens.
    pub(crate) fn local() -> Self {
        Self {
            text_max: Some(64),
            short_max: Some(40),
            label_max: Some(40),
            options: (3, Some(3)),
            steps: (8, Some(8)),
            candidates: (3, Some(3)),
            list_max: Some(3),
            diagram_nodes_max: Some(4),
            diagram_edges_max: Some(4),
            review_items_max: Some(2),
            // What made a demo run long was an integration rewriting every section.
            patch_sections_max: Some(2),
            closed: true,
            diagrams: DiagramShape::Graph,
            step_notes: false,
            depth: false,
        }
    }

    /// What a rendered document must satisfy: the seed counts, no length caps, extra fields
    /// tolerated, diagrams in either shape. Used by [`super::render::render`].
    pub(crate) fn relaxed() -> Self {
        Self {
            text_max: None,
            short_max: None,
            label_max: None,
            options: (3, None),
            steps: (8, Some(20)),
            candidates: (3, Some(5)),
            list_max: None,
            diagram_nodes_max: None,
            diagram_edges_max: None,
            review_items_max: None,
            patch_sections_max: None,
            closed: false,
            diagrams: DiagramShape::Either,
            step_notes: true,
            // Extra fields are tolerated (`closed: false`), so both shapes pass.
            depth: false,
        }
    }

    /// These limits with diagrams in `shape`.
    pub fn with_diagrams(self, shape: DiagramShape) -> Self {
        Self {
            diagrams: shape,
            ..self
        }
    }

    /// Local limits when the session uses the bundled local model (`llm::uses_local_model`
    /// decides, once per session), remote limits otherwise.
    pub fn for_model(local_model: bool) -> Self {
        if local_model {
            Self::local()
        } else {
            Self::remote()
        }
    }
}

/// The schema of a document kind's JSON (what a Draft, DesignDoc or Repair task returns).
pub fn document_schema(kind: DocKind, lim: &SchemaLimits) -> Value {
    let secs = sections().of(kind);
    let mut props = vec![("title".to_string(), title_schema(kind, lim))];
    for sec in secs {
        props.push((sec.key.clone(), field_schema(kind, sec, lim)));
    }
    if lim.depth && kind == DocKind::Proposal {
        props.push(("appendix".into(), appendix_schema(lim)));
    }
    let mut schema = object(props, lim);
    if let Some(o) = schema.as_object_mut() {
        // Without length caps on the fields, the one bound on the whole is the validators'.
        let size = match lim.text_max {
            None if lim.closed => format!(
                " (at most {} bytes of markdown when rendered)",
                crate::validate::MAX_ARTIFACT_BYTES
            ),
            _ => String::new(),
        };
        o.insert(
            "description".into(),
            Value::String(format!("agentmux {}{size}", kind.label())),
        );
    }
    schema
}

/// Like [`document_schema`] but no section is required: what an integration returns under
/// `document` (only the sections it changed; see `outputs::apply_revision`).
pub(crate) fn document_patch_schema(kind: DocKind, lim: &SchemaLimits) -> Value {
    let mut schema = document_schema(kind, lim);
    if let Some(o) = schema.as_object_mut() {
        o.remove("required");
    }
    schema
}

/// The proposal's glossary and references (seed 001's appendices), for a capable model.
fn appendix_schema(lim: &SchemaLimits) -> Value {
    described(
        object(
            vec![
                (
                    "glossary".into(),
                    described(
                        list(1, lim.list_max, string(1, lim.short_max)),
                        "Each domain term or acronym the proposal uses, as `Term: meaning`.",
                    ),
                ),
                (
                    "references".into(),
                    described(
                        list(1, lim.list_max, string(1, lim.short_max)),
                        "The documents, files, standards and prior designs the proposal relies on, one per entry.",
                    ),
                ),
            ],
            lim,
        ),
        "Appendices: a glossary and the references.",
    )
}

fn title_schema(kind: DocKind, lim: &SchemaLimits) -> Value {
    let what = match kind {
        DocKind::Prd => "The product's name.",
        DocKind::Options | DocKind::Proposal | DocKind::ImplementationPlan => {
            "The feature or task name."
        }
        DocKind::DesignDoc => "The component or area this document designs.",
    };
    described(string(1, lim.label_max), what)
}

/// The schema of one top-level section.
fn field_schema(kind: DocKind, sec: &Section, lim: &SchemaLimits) -> Value {
    let s = match (kind, sec.key.as_str()) {
        (DocKind::Prd, "objectives") => list(1, lim.list_max, string(1, lim.short_max)),
        (DocKind::Prd, "functional_requirements")
        | (DocKind::Prd, "non_functional_requirements") => {
            list(1, lim.list_max.map(|m| m + 3), string(1, lim.short_max))
        }
        (DocKind::Prd, "user_journey") => {
            list(2, lim.list_max.map(|m| m + 3), string(1, lim.short_max))
        }
        (DocKind::Options, "options") => list(lim.options.0, lim.options.1, option_schema(lim)),
        (DocKind::Options, "comparison") => object(
            vec![
                (
                    "recommended".into(),
                    described(
                        json!({"type": "string", "enum": option_letters(lim)}),
                        "The letter of the recommended option.",
                    ),
                ),
                ("rationale".into(), string(1, lim.text_max)),
                (
                    "spike".into(),
                    described(
                        string(1, lim.short_max),
                        "Whether a spike or prototype is advised before deciding, and what it must answer.",
                    ),
                ),
            ],
            lim,
        ),
        (DocKind::Proposal, "approach") | (DocKind::DesignDoc, "architecture_overview") => {
            overview_schema(kind, lim)
        }
        (DocKind::Proposal, "steps") => list(lim.steps.0, lim.steps.1, step_schema(lim)),
        (DocKind::Proposal, "decisions") => list(
            1,
            lim.list_max,
            object(
                vec![
                    ("decision".into(), string(1, cell_max(lim))),
                    ("chosen".into(), string(1, lim.short_max)),
                    ("alternatives".into(), string(1, lim.short_max)),
                    ("rationale".into(), string(1, lim.short_max)),
                    ("tradeoffs".into(), string(1, lim.short_max)),
                ],
                lim,
            ),
        ),
        (DocKind::Proposal, "risks") => list(1, lim.list_max, risk_schema(true, lim)),
        (DocKind::Proposal, "open_questions") | (DocKind::ImplementationPlan, "open_questions") => {
            list(1, lim.list_max, string(1, lim.short_max))
        }
        (DocKind::DesignDoc, "research") => object(
            vec![
                ("criteria".into(), string(1, lim.short_max)),
                (
                    "candidates".into(),
                    list(
                        lim.candidates.0,
                        lim.candidates.1,
                        object(
                            vec![
                                ("name".into(), string(1, lim.label_max)),
                                ("pros".into(), string(1, lim.short_max)),
                                ("cons".into(), string(1, lim.short_max)),
                                ("risks".into(), string(1, lim.short_max)),
                                ("cost_latency".into(), string(1, cell_max(lim))),
                            ],
                            lim,
                        ),
                    ),
                ),
                ("decision".into(), string(1, lim.text_max)),
            ],
            lim,
        ),
        (DocKind::DesignDoc, "phases") => {
            let mut parts = vec![("scope".to_string(), string(1, lim.short_max))];
            // Seed 004: each phase has an entry gate and says what changes against phase 0.
            if lim.depth {
                parts.push((
                    "entry_criteria".into(),
                    described(
                        string(1, lim.short_max),
                        "The gate to start this phase: what must be true or done before it begins.",
                    ),
                ));
            }
            parts.push(("kpis".into(), string(1, lim.short_max)));
            parts.push(("exit_criteria".into(), string(1, lim.short_max)));
            parts.push(("tests".into(), string(1, lim.short_max)));
            if lim.depth {
                parts.push((
                    "deltas".into(),
                    described(
                        string(1, lim.short_max),
                        "What this phase changes against phase 0 (for phase 0: the baseline it sets).",
                    ),
                ));
            }
            list(4, Some(4), object(parts, lim))
        }
        (DocKind::ImplementationPlan, "tasks") => list(
            1,
            lim.list_max.map(|m| m.min(6)),
            object(
                vec![
                    ("phase".into(), string(1, lim.label_max)),
                    (
                        "tasks".into(),
                        list(
                            1,
                            lim.list_max,
                            object(
                                vec![
                                    ("name".into(), string(1, lim.label_max)),
                                    ("purpose".into(), string(1, lim.short_max)),
                                    ("files".into(), string(1, lim.short_max)),
                                    ("dependencies".into(), string(1, cell_max(lim))),
                                    ("owner".into(), string(1, lim.label_max)),
                                ],
                                lim,
                            ),
                        ),
                    ),
                ],
                lim,
            ),
        ),
        (DocKind::ImplementationPlan, "risks") => list(1, lim.list_max, risk_schema(false, lim)),
        _ => string(1, lim.text_max),
    };
    described(s, &sec.hint_for(lim.depth))
}

fn option_schema(lim: &SchemaLimits) -> Value {
    let mut props = vec![("name".to_string(), string(1, lim.label_max))];
    for part in &sections().option_parts {
        let s = match part.key.as_str() {
            "effort" => object(
                vec![
                    (
                        "size".into(),
                        json!({"type": "string", "enum": ["S", "M", "L"]}),
                    ),
                    ("timeline".into(), string(1, cell_max(lim))),
                ],
                lim,
            ),
            _ => string(1, lim.short_max.or(lim.text_max)),
        };
        props.push((part.key.clone(), described(s, &part.hint)));
        if part.key == "overview" {
            props.push(("diagram".into(), option_diagram_schema(lim)));
        }
    }
    props.push((
        "ratings".into(),
        described(
            object(
                RATING_DIMENSIONS
                    .iter()
                    .map(|(k, _)| (k.to_string(), string(1, cell_max(lim))))
                    .collect(),
                lim,
            ),
            "Short ratings for the comparison table.",
        ),
    ));
    object(props, lim)
}

/// `maxLength` of a comparison-table cell: label-short for the bundled local model, free (like
/// every prose field) for a capable one, which is told to keep it short.
fn cell_max(lim: &SchemaLimits) -> Option<u32> {
    lim.short_max.and(lim.label_max)
}

/// The comparison dimensions of the options table: JSON key and column heading.
pub(crate) const RATING_DIMENSIONS: [(&str, &str); 6] = [
    ("requirements_fit", "Meets FR/NFR"),
    ("time", "Time"),
    ("risk", "Risk"),
    ("cost", "Cost"),
    ("performance", "Performance"),
    ("operability", "Operability"),
];

fn step_schema(lim: &SchemaLimits) -> Value {
    let mut props = vec![("title".to_string(), string(1, lim.label_max))];
    for part in &sections().step_parts {
        props.push((
            part.key.clone(),
            described(string(1, lim.short_max), &part.hint),
        ));
    }
    let mut step = object(props, lim);
    // Seed 000: "Add additional information as needed": an optional free field (not for the
    // local model, whose grammar-bound output has no room for it).
    if lim.step_notes
        && let Some(Value::Object(p)) = step.get_mut("properties")
    {
        p.insert(
            "notes".into(),
            described(
                string(0, lim.short_max),
                "Optional: anything else the developer needs for this step (edge cases, ordering, rollout, links); omit when there is nothing to add.",
            ),
        );
    }
    step
}

fn risk_schema(likelihood: bool, lim: &SchemaLimits) -> Value {
    let level = json!({"type": "string", "enum": ["Low", "Medium", "High"]});
    let mut props = vec![("risk".to_string(), string(1, lim.short_max))];
    if likelihood {
        props.push(("likelihood".into(), level.clone()));
        props.push(("impact".into(), level));
    } else {
        props.push(("impact".into(), string(1, lim.short_max)));
    }
    props.push(("mitigation".into(), string(1, lim.short_max)));
    object(props, lim)
}

/// The Mermaid diagram kinds a capable model is told about, with what each is for.
const MERMAID_KINDS: &str = "`flowchart LR` (or TD) or `C4Context`/`C4Container` for components and data flow, \
     `sequenceDiagram` for requests and API calls, `erDiagram` for data models, `classDiagram` for types, \
     `stateDiagram-v2` for lifecycles";

/// " (at most N characters)" when Mermaid sources are bounded.
fn size_note(lim: &SchemaLimits) -> String {
    match lim.diagrams {
        DiagramShape::Mermaid => format!(" (at most {MERMAID_MAX_CHARS} characters)"),
        _ => String::new(),
    }
}

/// One Mermaid source string.
fn mermaid_string(lim: &SchemaLimits) -> Value {
    let max = (lim.diagrams == DiagramShape::Mermaid).then_some(MERMAID_MAX_CHARS);
    string(1, max)
}

/// An option's overview diagram.
fn option_diagram_schema(lim: &SchemaLimits) -> Value {
    let mermaid = || {
        described(
            mermaid_string(lim),
            &format!(
                "Mermaid source of one diagram of the components and data flow, without a ``` fence, \
                 starting with its type: {MERMAID_KINDS}. It must parse with Mermaid{}.",
                size_note(lim)
            ),
        )
    };
    match lim.diagrams {
        DiagramShape::Graph => diagram_schema(lim),
        DiagramShape::Mermaid => mermaid(),
        DiagramShape::Either => json!({"anyOf": [mermaid(), diagram_schema(lim)]}),
    }
}

/// The proposal's approach and a design doc's architecture overview: a description and the
/// diagrams (one node/edge flowchart, or 1 to [`MAX_DIAGRAMS`] Mermaid diagrams).
fn overview_schema(kind: DocKind, lim: &SchemaLimits) -> Value {
    let description = ("description".to_string(), string(1, lim.text_max));
    let which = if kind == DocKind::DesignDoc {
        "Start with the components and their interactions (C4Container or flowchart); add a sequenceDiagram \
         for the main API or request flow and an erDiagram for the data model where this area has them."
    } else {
        "Start with the components and data flow of the chosen option (flowchart or C4Container); add a \
         sequence or ER diagram where it makes the design clearer."
    };
    let max = match lim.diagrams {
        DiagramShape::Mermaid => Some(MAX_DIAGRAMS),
        _ => None,
    };
    let diagrams = || {
        described(
            list(
                1,
                max,
                object(
                    vec![
                        (
                            "title".into(),
                            described(
                                string(1, lim.label_max),
                                "A short caption, e.g. \"Checkout sequence\".",
                            ),
                        ),
                        (
                            "mermaid".into(),
                            described(
                                mermaid_string(lim),
                                "Mermaid source without a ``` fence, starting with its diagram type.",
                            ),
                        ),
                    ],
                    lim,
                ),
            ),
            &format!(
                "{} Mermaid diagrams of the kinds the content needs: {MERMAID_KINDS}. {which} \
                 Each must parse with Mermaid{}.",
                max.map_or("One or more".to_string(), |m| format!("1 to {m}")),
                size_note(lim)
            ),
        )
    };
    match lim.diagrams {
        DiagramShape::Graph => object(
            vec![description, ("diagram".into(), diagram_schema(lim))],
            lim,
        ),
        DiagramShape::Mermaid => object(vec![description, ("diagrams".into(), diagrams())], lim),
        DiagramShape::Either => {
            // `diagrams` (Mermaid) or `diagram` (a flowchart object, or one Mermaid source).
            let mut o = object(
                vec![
                    description,
                    ("diagrams".into(), diagrams()),
                    ("diagram".into(), option_diagram_schema(lim)),
                ],
                lim,
            );
            if let Some(o) = o.as_object_mut() {
                o.insert("required".into(), json!(["description"]));
                o.insert(
                    "anyOf".into(),
                    json!([{"required": ["diagrams"]}, {"required": ["diagram"]}]),
                );
            }
            o
        }
    }
}

/// A flowchart as nodes and edges; the template turns it into mermaid that always parses. Ids
/// are short (16 characters) and labels at most 24 when bounded: a small model that loops inside a
/// diagram (`N1.1.1.1...`) then stops early.
pub(crate) fn diagram_schema(lim: &SchemaLimits) -> Value {
    let id = || string(1, lim.label_max.map(|m| m.min(16)));
    let label = |min| string(min, lim.label_max.map(|m| m.min(24)));
    let node = object(vec![("id".into(), id()), ("label".into(), label(1))], lim);
    let edge = object(
        vec![
            ("from".into(), id()),
            ("to".into(), id()),
            ("label".into(), label(0)),
        ],
        lim,
    );
    described(
        object(
            vec![
                (
                    "direction".into(),
                    json!({"type": "string", "enum": ["LR", "TD"]}),
                ),
                ("nodes".into(), list(2, lim.diagram_nodes_max, node)),
                ("edges".into(), list(1, lim.diagram_edges_max, edge)),
            ],
            lim,
        ),
        "A flowchart: components as nodes (short id, label) and data flow as edges between node ids.",
    )
}

/// The category values of a feedback item.
pub(crate) const CATEGORIES: [&str; 4] = ["critical", "important", "nice-to-have", "question"];

/// One feedback item. With a document kind, `section` must be one of its section titles or
/// `General`; without one (the final review across several documents) it is free text such as
/// `api_design.md: Security & Compliance`.
fn review_item_schema(kind: Option<DocKind>, lim: &SchemaLimits) -> Value {
    let section = match kind {
        Some(kind) => {
            let mut titles: Vec<String> = sections()
                .of(kind)
                .iter()
                .map(|s| s.title.clone())
                .collect();
            titles.push("General".into());
            json!({"type": "string", "enum": titles})
        }
        None => string(1, lim.label_max),
    };
    object(
        vec![
            (
                "category".into(),
                json!({"type": "string", "enum": CATEGORIES}),
            ),
            (
                "section".into(),
                described(
                    section,
                    "The heading of the section the item is about, or General.",
                ),
            ),
            ("comment".into(), string(1, lim.short_max)),
            ("suggestion".into(), string(0, lim.short_max)),
        ],
        lim,
    )
}

/// What a Review task returns: `{items: [{category, section, comment, suggestion}]}`.
/// At least one item, so every review leaves a trace in the ledger (a question is fine).
/// `kind` None: the final review across several documents (free-text sections).
pub fn review_schema(kind: Option<DocKind>, lim: &SchemaLimits) -> Value {
    object(
        vec![(
            "items".into(),
            list(1, lim.review_items_max, review_item_schema(kind, lim)),
        )],
        lim,
    )
}

/// What an Integrate task returns: a disposition per item, the changed sections of the
/// document, and the revision entry. With `item_ids`, the dispositions must name exactly
/// those ids and there must be one per item.
pub fn integration_schema(kind: DocKind, item_ids: &[String], lim: &SchemaLimits) -> Value {
    let n = item_ids.len() as u32;
    let id = if item_ids.is_empty() {
        string(1, lim.label_max)
    } else {
        json!({"type": "string", "enum": item_ids})
    };
    let mut parts = vec![("item_id".to_string(), id)];
    // Seed 001's protocol starts by acknowledging the item: what the reviewer asks and why.
    if lim.depth {
        parts.push((
            "acknowledgement".into(),
            described(
                string(1, lim.short_max),
                "Step 1: the item in your own words, what the reviewer asks for and why it matters.",
            ),
        ));
    }
    parts.extend([
        (
            "decision".into(),
            json!({"type": "string", "enum": ["accepted", "rejected", "deferred"]}),
        ),
        (
            "rationale".into(),
            described(
                string(1, lim.short_max),
                "Your evaluation; for rejected or deferred items, the reason.",
            ),
        ),
        (
            "change".into(),
            described(
                string(0, lim.short_max),
                "Section and summary of the change, empty when nothing changed.",
            ),
        ),
    ]);
    let disposition = object(parts, lim);
    let (min, max) = if item_ids.is_empty() {
        (0, None)
    } else {
        (n, Some(n))
    };
    object(
        vec![
            ("dispositions".into(), list(min, max, disposition)),
            (
                "document".into(),
                described(
                    bounded_patch(document_patch_schema(kind, lim), lim),
                    "Only the sections you changed, each complete; omit unchanged sections.",
                ),
            ),
            (
                "revision".into(),
                object(
                    vec![
                        (
                            "changes".into(),
                            list(0, lim.list_max, string(1, lim.short_max)),
                        ),
                        ("rationale".into(), string(1, lim.short_max)),
                    ],
                    lim,
                ),
            ),
        ],
        lim,
    )
}

/// A document patch with at most `patch_sections_max` sections.
fn bounded_patch(mut patch: Value, lim: &SchemaLimits) -> Value {
    if let (Some(max), Some(o)) = (lim.patch_sections_max, patch.as_object_mut()) {
        o.insert("maxProperties".into(), json!(max));
    }
    patch
}

/// What a ReReview task returns: a verdict on each of the reviewer's own items and any new items.
pub fn rereview_schema(kind: Option<DocKind>, item_ids: &[String], lim: &SchemaLimits) -> Value {
    let n = item_ids.len() as u32;
    let id = if item_ids.is_empty() {
        string(1, lim.label_max)
    } else {
        json!({"type": "string", "enum": item_ids})
    };
    let (min, max) = if item_ids.is_empty() {
        (0, None)
    } else {
        (n, Some(n))
    };
    object(
        vec![
            (
                "verdicts".into(),
                list(
                    min,
                    max,
                    object(
                        vec![
                            ("item_id".into(), id),
                            (
                                "status".into(),
                                json!({"type": "string", "enum": ["closed", "reopened"]}),
                            ),
                            ("note".into(), string(0, lim.short_max)),
                        ],
                        lim,
                    ),
                ),
            ),
            (
                "new_items".into(),
                list(
                    0,
                    lim.review_items_max.map(|m| m.min(3)),
                    review_item_schema(kind, lim),
                ),
            ),
        ],
        lim,
    )
}

/// The manifest schema with the document count limits applied to `selected_docs`,
/// `design_areas`, `rationale` and the document lists of an item-keyed `traceability`.
/// No model is given this schema (Manifest tasks get [`manifest_draft_schema`]), so the
/// alternative forms it accepts from other tools never reach a prompt.
pub(crate) fn manifest_schema(min: u32, max: u32) -> Value {
    let mut schema: Value = match serde_json::from_str(MANIFEST_SCHEMA_JSON) {
        Ok(v) => v,
        // Compiled in and parsed by a unit test: a build defect, not input.
        Err(e) => panic!("specs-templates/manifest.schema.json is invalid: {e}"),
    };
    let props = schema.pointer_mut("/properties");
    if let Some(Value::Object(props)) = props {
        if let Some(Value::Object(sel)) = props.get_mut("selected_docs") {
            sel.insert("minItems".into(), json!(min));
            sel.insert("maxItems".into(), json!(max));
        }
        for key in ["design_areas", "rationale"] {
            if let Some(Value::Object(o)) = props.get_mut(key) {
                o.insert("minProperties".into(), json!(min));
                o.insert("maxProperties".into(), json!(max));
            }
        }
        if let Some(Value::Object(files)) = props
            .get_mut("traceability")
            .and_then(|t| t.get_mut("additionalProperties"))
        {
            files.insert("maxItems".into(), json!(max));
        }
    }
    schema
}

/// The file-name pattern of a design doc, from `manifest.schema.json`.
pub(crate) fn design_file_pattern() -> String {
    manifest_schema(0, 0)["properties"]["selected_docs"]["items"]["pattern"]
        .as_str()
        .unwrap_or("^[a-z][a-z0-9_]*_design\\.md$")
        .to_string()
}

/// Compiles one of agentmux's schemas into a validator.
///
/// The schemas use only draft-4 keywords (`type`, `properties`, `required`, `items`, `enum`,
/// `pattern`, length and count bounds, `additionalProperties`, and in the manifest file
/// `patternProperties` and `anyOf`), so they are compiled as draft 4
/// whatever `$schema` says: jsonschema checks every schema against its draft's meta-schema
/// first and keeps that meta-schema's compiled validator for the life of the process, and draft
/// 4's is several times smaller than 2020-12's (figures in BENCHMARKS.md).
/// A unit test compiles every generated schema this way.
pub fn compile(schema: &Value) -> Result<jsonschema::Validator, String> {
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft4)
        .build(schema)
        .map_err(|e| e.to_string())
}

/// What a Manifest task returns: the manifest in a shape a grammar can bound (lists of objects
/// instead of maps keyed by file name, which constrained decoding cannot limit), where each
/// document carries its own scope and rationale so they cannot disagree.
/// `outputs::manifest_from_output` turns it into the `manifest.json` shape.
///
/// `trace_items`: the keys of the PRD items to trace (`O1`, `FR-2`, or a step's text when it
/// has no id). When there are any, `traceability` is an object with exactly those keys, each
/// mapped to the positions in `docs` (1 = the first) of the documents that cover it: a grammar
/// then makes the model trace every item, and a position cannot misname a document. Without
/// them it is a list of `{prd_item, docs}`.
///
/// Every length and count bound the manifest validator applies (`manifest.schema.json`) is in
/// this schema too, the profile's own where it is tighter: a capable model, which gets no
/// length caps elsewhere, is told the limits its manifest will be held to.
pub fn manifest_draft_schema(
    min: u32,
    max: u32,
    lim: &SchemaLimits,
    trace_items: &[String],
) -> Value {
    let file = json!({"type": "string", "pattern": design_file_pattern()});
    let checked = manifest_schema(min, max);
    // The validator's bound at `pointer` in the manifest schema, or the profile's if tighter.
    let cap = |profile: Option<u32>, pointer: &str| {
        let checked = checked
            .pointer(pointer)
            .and_then(Value::as_u64)
            .map(|m| m as u32);
        match (profile, checked) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    };
    let traceability = if trace_items.is_empty() {
        trace_list(max, lim, &file)
    } else {
        let position = json!({"type": "integer", "minimum": 1, "maximum": max});
        described(
            object(
                trace_items
                    .iter()
                    .map(|k| (k.clone(), list(1, Some(max), position.clone())))
                    .collect(),
                lim,
            ),
            "For each PRD item, the positions in `docs` (1 = the first) of the documents that cover it.",
        )
    };
    object(
        vec![
            (
                "project_name".into(),
                string(1, cap(lim.label_max, "/properties/project_name/maxLength")),
            ),
            (
                "docs".into(),
                described(
                    list(
                        min,
                        Some(max),
                        object(
                            vec![
                                ("file".into(), file.clone()),
                                (
                                    "scope".into(),
                                    described(
                                        string(
                                            1,
                                            cap(
                                                lim.short_max,
                                                "/properties/design_areas/additionalProperties/maxLength",
                                            ),
                                        ),
                                        "What the document covers, in one or two lines.",
                                    ),
                                ),
                                (
                                    "rationale".into(),
                                    described(
                                        string(
                                            1,
                                            cap(
                                                lim.short_max,
                                                "/properties/rationale/additionalProperties/maxLength",
                                            ),
                                        ),
                                        "The PRD goals, risks and non-functional requirements it answers.",
                                    ),
                                ),
                            ],
                            lim,
                        ),
                    ),
                    "One entry per design document.",
                ),
            ),
            (
                "assumptions_tbd".into(),
                list(
                    0,
                    cap(lim.list_max, "/properties/assumptions_tbd/maxItems"),
                    object(
                        vec![
                            (
                                "assumption".into(),
                                string(
                                    1,
                                    cap(
                                        lim.short_max,
                                        "/properties/assumptions_tbd/items/anyOf/1/properties/assumption/maxLength",
                                    ),
                                ),
                            ),
                            (
                                "owner".into(),
                                string(
                                    1,
                                    cap(
                                        lim.label_max,
                                        "/properties/assumptions_tbd/items/anyOf/1/properties/owner/maxLength",
                                    ),
                                ),
                            ),
                        ],
                        lim,
                    ),
                ),
            ),
            ("traceability".into(), traceability),
            (
                "phase_plan_overview".into(),
                list(
                    1,
                    cap(
                        lim.list_max.map(|m| m.min(6)),
                        "/properties/phase_plan_overview/maxItems",
                    ),
                    object(
                        vec![
                            (
                                "phase".into(),
                                string(1, cap(lim.label_max, &format!("{PHASE}/phase/maxLength"))),
                            ),
                            (
                                "goals".into(),
                                string(1, cap(lim.short_max, &format!("{PHASE}/goals/maxLength"))),
                            ),
                            (
                                "exit_criteria".into(),
                                string(
                                    1,
                                    cap(lim.short_max, &format!("{PHASE}/exit_criteria/maxLength")),
                                ),
                            ),
                        ],
                        lim,
                    ),
                ),
            ),
        ],
        lim,
    )
}

/// Where `phase_plan_overview`'s entry fields are in the manifest schema.
const PHASE: &str = "/properties/phase_plan_overview/items/properties";

/// `traceability` as a list of `{prd_item, docs}` (when the PRD's items are not known).
fn trace_list(max: u32, lim: &SchemaLimits, file: &Value) -> Value {
    described(
        list(
            1,
            lim.list_max.map(|m| m * 3),
            object(
                vec![
                    (
                        "prd_item".into(),
                        described(
                            string(1, Some(lim.label_max.unwrap_or(120).min(120))),
                            "A PRD objective, requirement or journey step: its id (O1, FR-2, J3) or a short quote.",
                        ),
                    ),
                    ("docs".into(), list(1, Some(max), file.clone())),
                ],
                lim,
            ),
        ),
        "Every PRD objective, functional requirement and user-journey step with the documents that cover it.",
    )
}

fn option_letters(lim: &SchemaLimits) -> Vec<String> {
    let max = lim.options.1.unwrap_or(8).clamp(lim.options.0.max(1), 26);
    (0..max)
        .map(|i| char::from(b'A' + i as u8).to_string())
        .collect()
}

/// The letter of the option at `index` (0 -> "A").
pub fn option_letter(index: usize) -> String {
    let i = (index % 26) as u8;
    char::from(b'A' + i).to_string()
}

fn string(min: u32, max: Option<u32>) -> Value {
    let mut o = Map::new();
    o.insert("type".into(), json!("string"));
    if min > 0 {
        o.insert("minLength".into(), json!(min));
    }
    if let Some(max) = max {
        o.insert("maxLength".into(), json!(max));
    }
    Value::Object(o)
}

fn list(min: u32, max: Option<u32>, items: Value) -> Value {
    let mut o = Map::new();
    o.insert("type".into(), json!("array"));
    o.insert("items".into(), items);
    if min > 0 {
        o.insert("minItems".into(), json!(min));
    }
    if let Some(max) = max {
        o.insert("maxItems".into(), json!(max.max(min)));
    }
    Value::Object(o)
}

fn object(props: Vec<(String, Value)>, lim: &SchemaLimits) -> Value {
    let required: Vec<Value> = props
        .iter()
        .map(|(k, _)| Value::String(k.clone()))
        .collect();
    let mut p = Map::new();
    for (k, v) in props {
        p.insert(k, v);
    }
    let mut o = Map::new();
    o.insert("type".into(), json!("object"));
    o.insert("properties".into(), Value::Object(p));
    // Draft 4 (see [`compile`]) wants at least one name in `required`: none is no `required`.
    if !required.is_empty() {
        o.insert("required".into(), Value::Array(required));
    }
    if lim.closed {
        o.insert("additionalProperties".into(), json!(false));
    }
    Value::Object(o)
}

fn described(mut schema: Value, description: &str) -> Value {
    if let Some(o) = schema.as_object_mut() {
        o.insert("description".into(), Value::String(description.to_string()));
    }
    schema
}

#[cfg(test)]
mod tests {
    use super::*;

    fn required(schema: &Value) -> Vec<String> {
        schema["required"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect()
    }

    /// The seeds' full depth is the capable profile's: the local schemas (and the grammar built
    /// from them) keep their shapes, the remote ones carry every addition.
    #[test]
    fn the_seed_depth_reaches_the_remote_schemas_only() {
        let ids = ["PE-r1-1".to_string()];
        for (lim, want) in [
            (SchemaLimits::local(), false),
            (SchemaLimits::remote(), true),
        ] {
            let mut all = String::new();
            for kind in DocKind::ALL {
                let text = document_schema(kind, &lim).to_string();
                for sec in sections().of(kind).iter().filter(|s| !s.depth.is_empty()) {
                    assert_eq!(text.contains(&sec.depth), want, "{kind} {}", sec.key);
                }
                all.push_str(&text);
            }
            all.push_str(&integration_schema(DocKind::DesignDoc, &ids, &lim).to_string());
            for key in [
                "\"appendix\"",
                "\"entry_criteria\"",
                "\"deltas\"",
                "\"acknowledgement\"",
            ] {
                assert_eq!(all.contains(key), want, "{key}");
            }
        }
    }

    #[test]
    fn every_section_key_is_required_in_order() {
        for lim in [
            SchemaLimits::remote(),
            SchemaLimits::local(),
            SchemaLimits::relaxed(),
        ] {
            for kind in DocKind::ALL {
                let schema = document_schema(kind, &lim);
                let req = required(&schema);
                let mut keys: Vec<String> =
                    sections().of(kind).iter().map(|s| s.key.clone()).collect();
                // A capable model's proposal ends with its appendices (glossary, references).
                if lim.depth && kind == DocKind::Proposal {
                    keys.push("appendix".into());
                }
                assert_eq!(req[0], "title");
                assert_eq!(&req[1..], &keys[..], "{kind}");
                let props: Vec<&String> =
                    schema["properties"].as_object().unwrap().keys().collect();
                assert_eq!(props.len(), keys.len() + 1);
                assert_eq!(
                    props[1..].iter().map(|s| s.as_str()).collect::<Vec<_>>(),
                    keys,
                    "property order of {kind}"
                );
            }
        }
    }

    #[test]
    fn option_and_step_parts_come_from_sections() {
        let lim = SchemaLimits::remote();
        let opt = &document_schema(DocKind::Options, &lim)["properties"]["options"];
        assert_eq!(opt["minItems"], 3);
        let opt_req = required(&opt["items"]);
        for part in &sections().option_parts {
            assert!(opt_req.contains(&part.key), "{}", part.key);
        }
        assert!(opt_req.contains(&"diagram".to_string()));
        assert_eq!(
            opt["items"]["properties"]["effort"]["properties"]["size"]["enum"],
            json!(["S", "M", "L"])
        );
        let steps = &document_schema(DocKind::Proposal, &lim)["properties"]["steps"];
        assert_eq!(
            (steps["minItems"].as_u64(), steps["maxItems"].as_u64()),
            (Some(8), Some(20))
        );
        let step_req = required(&steps["items"]);
        for part in &sections().step_parts {
            assert!(step_req.contains(&part.key));
        }
    }

    #[test]
    fn the_local_model_draws_node_edge_flowcharts_and_a_capable_one_writes_mermaid() {
        let overview = |kind, lim: &SchemaLimits, key: &str| {
            document_schema(kind, lim)["properties"][key].clone()
        };
        for (kind, key) in [
            (DocKind::Proposal, "approach"),
            (DocKind::DesignDoc, "architecture_overview"),
        ] {
            let local = overview(kind, &SchemaLimits::local(), key);
            assert_eq!(required(&local), ["description", "diagram"], "{kind}");
            assert_eq!(
                required(&local["properties"]["diagram"]),
                ["direction", "nodes", "edges"]
            );
            assert!(local["properties"].get("diagrams").is_none());

            let remote = overview(kind, &SchemaLimits::remote(), key);
            assert_eq!(required(&remote), ["description", "diagrams"], "{kind}");
            let diagrams = &remote["properties"]["diagrams"];
            assert_eq!(
                (diagrams["minItems"].as_u64(), diagrams["maxItems"].as_u64()),
                (Some(1), Some(u64::from(MAX_DIAGRAMS)))
            );
            assert_eq!(required(&diagrams["items"]), ["title", "mermaid"]);
            let mermaid = &diagrams["items"]["properties"]["mermaid"];
            assert_eq!(mermaid["type"], "string");
            assert_eq!(mermaid["maxLength"], json!(MERMAID_MAX_CHARS));
            // The model is told which kinds there are.
            let told = diagrams["description"].as_str().unwrap();
            for k in [
                "sequenceDiagram",
                "erDiagram",
                "classDiagram",
                "C4Container",
                "stateDiagram-v2",
                "flowchart",
            ] {
                assert!(told.contains(k), "{kind}: {k} in {told}");
            }
        }
        let option = |lim: &SchemaLimits| {
            document_schema(DocKind::Options, lim)["properties"]["options"]["items"]["properties"]
                ["diagram"]
                .clone()
        };
        assert_eq!(option(&SchemaLimits::local())["type"], "object");
        assert_eq!(option(&SchemaLimits::remote())["type"], "string");
        assert!(
            option(&SchemaLimits::remote())["description"]
                .as_str()
                .unwrap()
                .contains("sequenceDiagram")
        );
    }

    #[test]
    fn a_capable_model_may_add_notes_to_a_step() {
        let step = |lim: &SchemaLimits| {
            document_schema(DocKind::Proposal, lim)["properties"]["steps"]["items"].clone()
        };
        let remote = step(&SchemaLimits::remote());
        assert_eq!(remote["properties"]["notes"]["type"], "string");
        assert!(
            !required(&remote).contains(&"notes".to_string()),
            "notes are optional"
        );
        assert!(
            step(&SchemaLimits::local())["properties"]
                .get("notes")
                .is_none()
        );
        let v = compile(&document_schema(DocKind::Proposal, &SchemaLimits::remote())).unwrap();
        let fixture = crate::render::tests::fixture(DocKind::Proposal);
        let mut doc = crate::render::tests::with_mermaid(
            DocKind::Proposal,
            &crate::normalize::normalize(DocKind::Proposal, &fixture),
        );
        let errors = |doc: &Value| {
            v.iter_errors(doc)
                .map(|e| e.to_string())
                .collect::<Vec<_>>()
        };
        doc["appendix"] = json!({"glossary": ["WPM: words per minute"], "references": ["PRD"]});
        assert_eq!(errors(&doc), Vec::<String>::new(), "without notes");
        doc["steps"][0]["notes"] = json!("Run the migration before the deploy.");
        assert_eq!(errors(&doc), Vec::<String>::new(), "with notes");
    }

    #[test]
    fn relaxed_limits_accept_either_diagram_shape() {
        for kind in [DocKind::Options, DocKind::Proposal, DocKind::DesignDoc] {
            let relaxed = compile(&document_schema(kind, &SchemaLimits::relaxed())).unwrap();
            let graph = crate::normalize::normalize(kind, &crate::render::tests::fixture(kind));
            let mermaid = crate::render::tests::with_mermaid(kind, &graph);
            assert_ne!(graph, mermaid);
            for (name, doc) in [("graph", &graph), ("mermaid", &mermaid)] {
                let errors: Vec<String> = relaxed.iter_errors(doc).map(|e| e.to_string()).collect();
                assert!(errors.is_empty(), "{kind} {name}: {errors:?}");
            }
            // Each strict shape takes only its own.
            let local = compile(&document_schema(
                kind,
                &SchemaLimits::local().with_diagrams(DiagramShape::Graph),
            ))
            .unwrap();
            assert!(!local.is_valid(&mermaid), "{kind}");
            let remote = compile(&document_schema(
                kind,
                &SchemaLimits::relaxed().with_diagrams(DiagramShape::Mermaid),
            ))
            .unwrap();
            assert!(
                remote.is_valid(&mermaid) && !remote.is_valid(&graph),
                "{kind}"
            );
        }
    }

    #[test]
    fn local_limits_cap_strings_and_remote_do_not() {
        let local =
            serde_json::to_string(&document_schema(DocKind::Proposal, &SchemaLimits::local()))
                .unwrap();
        assert!(local.contains("\"maxLength\":64"));
        let remote = document_schema(DocKind::Proposal, &SchemaLimits::remote());
        assert!(remote["properties"]["summary"].get("maxLength").is_none());
    }

    #[test]
    fn generated_schemas_are_valid_json_schemas() {
        for kind in DocKind::ALL {
            compile(&document_schema(kind, &SchemaLimits::local())).unwrap();
            compile(&document_schema(kind, &SchemaLimits::remote())).unwrap();
            compile(&document_schema(kind, &SchemaLimits::relaxed())).unwrap();
            compile(&integration_schema(
                kind,
                &["PE-r1-1".into()],
                &SchemaLimits::remote(),
            ))
            .unwrap();
        }
        compile(&review_schema(None, &SchemaLimits::local())).unwrap();
        compile(&rereview_schema(None, &[], &SchemaLimits::local())).unwrap();
        compile(&manifest_schema(2, 6)).unwrap();
        compile(&manifest_draft_schema(2, 6, &SchemaLimits::local(), &[])).unwrap();
    }

    #[test]
    fn integration_schema_pins_one_disposition_per_item() {
        let ids = vec!["PE-r1-1".to_string(), "CR-r1-1".to_string()];
        let s = integration_schema(DocKind::Options, &ids, &SchemaLimits::local());
        let d = &s["properties"]["dispositions"];
        assert_eq!(
            (d["minItems"].as_u64(), d["maxItems"].as_u64()),
            (Some(2), Some(2))
        );
        assert_eq!(d["items"]["properties"]["item_id"]["enum"], json!(ids));
        assert!(s["properties"]["document"]["required"].is_null());
        // The bundled model rewrites at most two sections; a capable one any number.
        assert_eq!(s["properties"]["document"]["maxProperties"], json!(2));
        let remote = integration_schema(DocKind::Options, &ids, &SchemaLimits::remote());
        assert!(
            remote["properties"]["document"]
                .get("maxProperties")
                .is_none()
        );
    }

    #[test]
    fn manifest_draft_is_bounded_everywhere() {
        let lim = SchemaLimits::local();
        let s = manifest_draft_schema(2, 4, &lim, &["O1".into(), "FR-1".into()]);
        let docs = &s["properties"]["docs"];
        assert_eq!(
            (docs["minItems"].as_u64(), docs["maxItems"].as_u64()),
            (Some(2), Some(4))
        );
        assert_eq!(
            docs["items"]["properties"]["file"]["pattern"],
            json!(design_file_pattern())
        );
        assert!(design_file_pattern().contains("{0,4}"));
        // No open maps: every object lists its properties and forbids others.
        fn walk(v: &Value) {
            if let Some(o) = v.as_object() {
                if o.get("type") == Some(&json!("object")) {
                    assert_eq!(o["additionalProperties"], json!(false), "{v}");
                }
                if o.get("type") == Some(&json!("array")) {
                    assert!(o.contains_key("maxItems"), "{v}");
                }
                if o.get("type") == Some(&json!("string")) {
                    assert!(
                        o.contains_key("maxLength")
                            || o.contains_key("pattern")
                            || o.contains_key("enum"),
                        "{v}"
                    );
                }
                o.values().for_each(walk);
            }
        }
        walk(&s);
        // Every PRD item must be traced, by the position of a document.
        let trace = &s["properties"]["traceability"];
        assert_eq!(trace["required"], json!(["O1", "FR-1"]));
        let pos = &trace["properties"]["FR-1"]["items"];
        assert_eq!(
            (pos["minimum"].as_u64(), pos["maximum"].as_u64()),
            (Some(1), Some(4))
        );
        // Without known items: the list of {prd_item, docs}.
        let free = manifest_draft_schema(2, 4, &lim, &[]);
        assert_eq!(free["properties"]["traceability"]["type"], "array");
        walk(&free);
    }

    #[test]
    fn a_capable_model_may_raise_more_items_per_review() {
        let most = |lim: &SchemaLimits| {
            review_schema(None, lim)["properties"]["items"]["maxItems"].clone()
        };
        assert_eq!(most(&SchemaLimits::remote()), json!(20));
        assert_eq!(most(&SchemaLimits::local()), json!(2));
    }

    #[test]
    fn remote_manifest_draft_carries_the_validators_limits() {
        let checked = manifest_schema(2, 6);
        let draft = manifest_draft_schema(2, 6, &SchemaLimits::remote(), &[]);
        let entry = "/properties/docs/items/properties";
        let assumption = "/properties/assumptions_tbd/items/anyOf/1/properties";
        let phase = "/properties/phase_plan_overview/items/properties";
        for (in_draft, in_validator) in [
            (
                "/properties/project_name/maxLength",
                "/properties/project_name/maxLength".to_string(),
            ),
            (
                &format!("{entry}/scope/maxLength"),
                "/properties/design_areas/additionalProperties/maxLength".into(),
            ),
            (
                &format!("{entry}/rationale/maxLength"),
                "/properties/rationale/additionalProperties/maxLength".into(),
            ),
            (
                "/properties/assumptions_tbd/maxItems",
                "/properties/assumptions_tbd/maxItems".into(),
            ),
            (
                "/properties/assumptions_tbd/items/properties/assumption/maxLength",
                format!("{assumption}/assumption/maxLength"),
            ),
            (
                "/properties/assumptions_tbd/items/properties/owner/maxLength",
                format!("{assumption}/owner/maxLength"),
            ),
            (
                "/properties/phase_plan_overview/maxItems",
                "/properties/phase_plan_overview/maxItems".into(),
            ),
            (
                &format!("{phase}/phase/maxLength"),
                format!("{phase}/phase/maxLength"),
            ),
            (
                &format!("{phase}/goals/maxLength"),
                format!("{phase}/goals/maxLength"),
            ),
            (
                &format!("{phase}/exit_criteria/maxLength"),
                format!("{phase}/exit_criteria/maxLength"),
            ),
        ] {
            let limit = checked.pointer(&in_validator).and_then(Value::as_u64);
            let told = draft.pointer(in_draft).and_then(Value::as_u64);
            assert!(
                limit.is_some(),
                "the validator has no bound at {in_validator}"
            );
            assert!(
                told.is_some_and(|t| Some(t) <= limit),
                "{in_draft}: the model is told {told:?}, the validator allows {limit:?}"
            );
        }
        // The file's 2,000-character prose limits themselves, not a tighter profile value.
        assert_eq!(
            draft.pointer(&format!("{entry}/scope/maxLength")),
            Some(&json!(2000))
        );
        assert_eq!(
            draft.pointer(&format!("{entry}/rationale/maxLength")),
            Some(&json!(2000))
        );
    }

    #[test]
    fn review_sections_are_the_document_headings() {
        let s = review_schema(Some(DocKind::Options), &SchemaLimits::local());
        let section = &s["properties"]["items"]["items"]["properties"]["section"];
        assert_eq!(
            section["enum"],
            json!([
                "Title and Summary",
                "Architecture Options",
                "Option Comparison and Decision",
                "General"
            ])
        );
        let free = review_schema(None, &SchemaLimits::local());
        assert_eq!(
            free["properties"]["items"]["items"]["properties"]["section"]["type"],
            "string"
        );
    }

    #[test]
    fn manifest_schema_applies_counts_and_checks_names() {
        let s = manifest_schema(2, 3);
        assert_eq!(s["properties"]["selected_docs"]["minItems"], 2);
        let v = compile(&s).unwrap();
        let good = json!({
            "project_name": "x", "selected_docs": ["a_design.md", "b_c_design.md"],
            "design_areas": {"a_design.md": "A", "b_c_design.md": "B"},
            "rationale": {"a_design.md": "O1", "b_c_design.md": "NFR"},
            "assumptions_tbd": [], "traceability": {"O1": ["a_design.md"]},
            "phase_plan_overview": [{"phase": "MVP", "goals": "g", "exit_criteria": "e"}]
        });
        assert!(v.is_valid(&good));
        // Seed 004's wording, as other tools write it: document -> objectives, plain strings.
        let mut seed = good.clone();
        seed["traceability"] = json!({"a_design.md": ["O1", "KPI-2"]});
        seed["assumptions_tbd"] = json!(["EU only", {"assumption": "x", "owner": ""}]);
        assert!(v.is_valid(&seed));
        for name in [
            "../a_design.md",
            "A_design.md",
            "a_design.txt",
            "a__design.md",
            "/abs_design.md",
            "a/b_design.md",
        ] {
            let mut bad = good.clone();
            bad["selected_docs"] = json!([name, "b_design.md"]);
            assert!(!v.is_valid(&bad), "{name}");
        }
        let mut long = good.clone();
        long["selected_docs"] = json!([format!("{}_design.md", ["x"; 6].join("_")), "b_design.md"]);
        assert!(
            !v.is_valid(&long),
            "name parts are bounded so a grammar cannot loop"
        );
        let mut one = good;
        one["selected_docs"] = json!(["a_design.md"]);
        assert!(!v.is_valid(&one));
    }
}
