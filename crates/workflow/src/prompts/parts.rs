//! The pieces prompts are made of: the user message builder, the field guide, excerpts of
//! earlier documents, and the helpers that keep every piece within its token share.

use std::fmt::Write as _;

use serde_json::Value;

use super::PromptInputs;
pub(super) use super::context::fit;
use super::context::{Block, Blocks, Layer};
use docs::DocKind;
use docs::markdown::{heading_block, section_text};
use docs::schema::{DiagramShape, MAX_DIAGRAMS, SchemaLimits, option_letter};
use docs::sections::sections;
use protocol::ContextCut;
use protocol::{Decision, FeedbackItem};

/// How relevant a context block is to its task: the shrink rule (see [`super::context`])
/// summarises and then leaves out the least relevant first.
pub(super) mod rank {
    /// The codebase digest: the first to go.
    pub(crate) const CODE: u8 = 1;
    /// Background documents: the other options' verdicts, contributions, sibling documents.
    pub(crate) const BACKGROUND: u8 = 2;
    /// The requirements.
    pub(crate) const PRD: u8 = 3;
    /// The document this task builds on (the chosen option, the accepted proposal).
    pub(crate) const BASIS: u8 = 4;
    /// What the task reads most closely (the manifest's plan for a design document, the
    /// document an integration revises).
    pub(crate) const CORE: u8 = 5;
}

/// Whether a prompt asks for citations: with a capable model and code to show. A greenfield
/// project has nothing to cite, and the bundled model cannot.
fn cites(inputs: &PromptInputs) -> bool {
    !inputs.local_model && !inputs.code.trim().is_empty()
}

/// What an author is told about citing the code (when [`cites`]): "cite what you rely on"
/// (every citation is checked, and a bad one comes back for repair).
pub(super) fn cite_rule(inputs: &PromptInputs) -> &'static str {
    if !cites(inputs) {
        return "";
    }
    " When you rely on existing code, cite it as `path:line` or `path:start-end` (paths from the project \
     root, as in the code shown above) next to the claim; every citation is checked, and a file or line that \
     does not exist is sent back to you."
}

/// What a reviewer is told about claims on existing code (when [`cites`]).
pub(super) fn check_citations_rule(inputs: &PromptInputs) -> &'static str {
    if !cites(inputs) {
        return "";
    }
    " Check every claim about existing code against the code shown and the lines it cites; raise an item \
     where a claim has no citation or the code says otherwise."
}

/// The user message under construction: titled blocks, sent stable-first.
#[derive(Default)]
pub(super) struct UserPrompt {
    blocks: Blocks,
}

impl UserPrompt {
    pub(super) fn add(&mut self, block: Block) {
        self.blocks.push(block);
    }

    /// A block of plain text.
    pub(super) fn text(&mut self, layer: Layer, title: &str, text: &str, rank: Option<u8>) {
        self.add(Block::new(layer, title, text).ranked(rank));
    }

    /// A document or other markdown, fenced so its headings stay inside it.
    pub(super) fn doc(&mut self, layer: Layer, title: &str, text: &str, rank: Option<u8>) {
        self.add(
            Block::new(layer, title, text)
                .fenced("markdown")
                .ranked(rank),
        );
    }

    pub(super) fn task(&mut self, text: String) {
        self.text(Layer::Task, "Your task", &text, None);
    }

    pub(super) fn goal_and_journey(&mut self, inputs: &PromptInputs) {
        if let Some(g) = inputs.goal {
            self.text(Layer::Inputs, "Goal", g, None);
        }
        if let Some(j) = inputs.journey {
            self.text(Layer::Inputs, "User journey", j, None);
        }
    }

    /// The goal, the journey and the PRD, whole (the PRD shrinks with rank [`rank::PRD`]).
    fn requirements(&mut self, inputs: &PromptInputs) {
        self.goal_and_journey(inputs);
        if let Some(prd) = inputs.prd {
            self.doc(Layer::Inputs, "Requirements (PRD)", prd, Some(rank::PRD));
        }
    }

    /// The codebase digest (the first block to shrink), then the context pack. The pack was
    /// fitted to its own budget when it was made; on the bundled model it never shrinks further
    /// (its few hundred tokens are the only code that model sees), elsewhere it goes with the
    /// digest.
    fn digest(&mut self, inputs: &PromptInputs) {
        self.doc(
            Layer::Code,
            "Codebase digest",
            inputs.digest,
            Some(rank::CODE),
        );
        if !inputs.code.trim().is_empty() {
            let rank = (!inputs.local_model).then_some(rank::CODE);
            self.text(Layer::Code, super::CODE_PACK, inputs.code, rank);
        }
    }

    /// The part of a prompt that every later prompt of the session repeats, in one order (so
    /// that an endpoint's prefix cache serves it): the goal, journey and PRD (the goal and journey
    /// only when the PRD itself is the document at hand), the codebase digest, and the documents
    /// accepted before a task on a document of `kind`.
    pub(super) fn stable_context(&mut self, inputs: &PromptInputs, kind: DocKind) {
        if kind == DocKind::Prd {
            self.goal_and_journey(inputs);
        } else {
            self.requirements(inputs);
        }
        self.digest(inputs);
        self.accepted(inputs, kind);
    }

    /// The documents accepted before a task on a document of `kind`, in workflow order and in
    /// one form, so that every later task of a role repeats them as a prefix a cache can serve:
    /// for the proposal, the chosen option with the comparison of all options and the helpers'
    /// contributions; from the design documents on, also the whole proposal and the manifest's
    /// plan (every document's scope and the phase plan).
    fn accepted(&mut self, inputs: &PromptInputs, kind: DocKind) {
        let (options_rank, proposal_rank, plan_rank) = match kind {
            DocKind::Prd | DocKind::Options => return,
            DocKind::Proposal => (rank::BASIS, None, None),
            DocKind::DesignDoc => (rank::BACKGROUND, Some(rank::BASIS), Some(rank::CORE)),
            DocKind::ImplementationPlan => (rank::BACKGROUND, Some(rank::BASIS), Some(rank::CORE)),
        };
        // The options document whole, under the title its review gave it (so the reviewers'
        // earlier requests share it); summarised, the chosen option and the comparison.
        if let Some(doc) = inputs.options_doc {
            let chosen = chosen_option(inputs);
            let summary = chosen.as_ref().map(|c| {
                format!(
                    "{}\n\n{}",
                    c.section,
                    c.comparison.as_deref().unwrap_or_default()
                )
            });
            let mut block = Block::new(Layer::Accepted, "Architecture options", doc)
                .fenced("markdown")
                .ranked(Some(options_rank));
            if let Some(summary) = summary {
                block = block.summarised_as(summary);
            }
            self.add(block);
            if let Some(c) = chosen {
                self.text(
                    Layer::Accepted,
                    "Chosen option",
                    &format!("The design builds on {} (above).", c.heading),
                    None,
                );
            }
        }
        if kind == DocKind::Proposal {
            for (who, text) in inputs.contributions {
                self.doc(
                    Layer::Accepted,
                    &format!("Contribution from {who}"),
                    text,
                    Some(rank::BACKGROUND),
                );
            }
        }
        if let (Some(rank), Some(doc)) = (proposal_rank, inputs.proposal_doc) {
            self.add(
                Block::new(Layer::Accepted, "Design proposal", doc)
                    .fenced("markdown")
                    .ranked(Some(rank))
                    .summarised_as(pick_sections(doc, PROPOSAL_SUMMARY)),
            );
        }
        if let (Some(rank), Some(m)) = (plan_rank, inputs.manifest) {
            self.text(
                Layer::Accepted,
                "Design documents planned",
                &super::design_doc::plan_of(m, !inputs.local_model),
                Some(rank),
            );
        }
    }

    pub(super) fn fields(&mut self, kind: DocKind, lim: &SchemaLimits, project: &str) {
        self.text(
            Layer::Task,
            "Output",
            &format!(
                "Return one JSON object with these fields, every one filled for this project:\n{}",
                fields_guide(kind, lim, project)
            ),
            None,
        );
    }

    pub(super) fn output_json(&mut self, what: &str) {
        self.text(
            Layer::Task,
            "Output",
            &format!("Return one JSON object: {what}, as the schema requires."),
            None,
        );
    }

    /// The message within the budget, and what was shrunk.
    pub(super) fn finish(
        self,
        user_budget: u32,
        context_cap: Option<u32>,
    ) -> (String, Vec<ContextCut>) {
        self.blocks.finish(user_budget, context_cap)
    }
}

/// How a diagram's fields are described in prompts (the node/edge shape of the local model).
const DIAGRAM_FIELDS: &str =
    "{direction: LR|TD, nodes [{id, label}], edges [{from, to, label}]} (edges use node ids)";

/// "- key: hint" for every field of a document, with the parts of options and steps.
///
/// Diagrams are described in the shape `lim` asks for: node/edge objects ([`DIAGRAM_FIELDS`])
/// for the local model, Mermaid source for a capable one.
pub(crate) fn fields_guide(kind: DocKind, lim: &SchemaLimits, project: &str) -> String {
    /// Mermaid diagram kinds and what each is for.
    const MERMAID_KINDS: &str = "flowchart or C4Container for components and data flow, sequenceDiagram for \
                                 requests and API calls, erDiagram for data, classDiagram for types, \
                                 stateDiagram-v2 for lifecycles";
    let mermaid = lim.diagrams != DiagramShape::Graph;
    let s = sections();
    let mut out = String::new();
    let title_hint = match kind {
        DocKind::Prd => format!("the product's name (e.g. {project})"),
        DocKind::DesignDoc => "the name of the area this document designs".to_string(),
        _ => format!("a short name for what {project} builds"),
    };
    let _ = writeln!(out, "- title: {title_hint}");
    for sec in s.of(kind) {
        let _ = writeln!(out, "- {}: {}", sec.key, sec.hint_for(lim.depth));
        match (kind, sec.key.as_str()) {
            (DocKind::Options, "options") => {
                let parts: Vec<String> = s
                    .option_parts
                    .iter()
                    .map(|p| match p.key.as_str() {
                        "effort" => "effort {size: S|M|L, timeline}".to_string(),
                        "overview" if mermaid => {
                            "overview, diagram (Mermaid source of the option's components and data flow, \
                             no ``` fence: flowchart LR, C4Container or sequenceDiagram)"
                                .to_string()
                        }
                        "overview" => format!("overview, diagram {DIAGRAM_FIELDS}"),
                        k => k.to_string(),
                    })
                    .collect();
                let _ = writeln!(
                    out,
                    "  each option: name, {}, ratings {{requirements_fit, time, risk, cost, performance, operability}}",
                    parts.join(", ")
                );
            }
            (DocKind::Options, "comparison") => {
                let _ = writeln!(
                    out,
                    "  recommended (a letter, {}), rationale, spike",
                    (0..lim.options.0 as usize)
                        .map(option_letter)
                        .collect::<Vec<_>>()
                        .join("/")
                );
            }
            (DocKind::Proposal, "steps") => {
                let parts: Vec<&str> = s.step_parts.iter().map(|p| p.key.as_str()).collect();
                let notes = if lim.step_notes {
                    ", notes (optional: anything else the developer needs)"
                } else {
                    ""
                };
                let _ = writeln!(out, "  each step: title, {}{notes}", parts.join(", "));
            }
            (DocKind::Proposal, "approach") | (DocKind::DesignDoc, "architecture_overview")
                if mermaid =>
            {
                let which = if kind == DocKind::DesignDoc {
                    "a component diagram first, then a sequenceDiagram for the main API or request flow \
                     and an erDiagram for the data model where this area has them"
                } else {
                    "the components and data flow first, then a sequence or ER diagram where it helps"
                };
                let _ = writeln!(
                    out,
                    "  description, diagrams [{{title, mermaid}}] (1 to {MAX_DIAGRAMS}; mermaid is the source \
                     without a ``` fence, starting with its type: {MERMAID_KINDS}; {which}; every diagram \
                     must parse)"
                );
            }
            (DocKind::Proposal, "approach") | (DocKind::DesignDoc, "architecture_overview") => {
                let _ = writeln!(out, "  description, diagram {DIAGRAM_FIELDS}");
            }
            (DocKind::DesignDoc, "phases") if lim.depth => {
                let _ = writeln!(
                    out,
                    "  each phase: scope, entry_criteria (the gate to start it), kpis, exit_criteria (the gate to \
                     leave it), tests, deltas (what it changes against phase 0)"
                );
            }
            _ => {}
        }
    }
    if lim.depth && kind == DocKind::Proposal {
        let _ = writeln!(
            out,
            "- appendix: glossary (each term the proposal uses, `Term: meaning`) and references (the documents, \
             files and standards it relies on)"
        );
    }
    out.trim_end().to_string()
}

/// "1. Title and Summary, 2. ..." for review prompts.
pub(super) fn section_list(kind: DocKind) -> String {
    sections()
        .of(kind)
        .iter()
        .map(|s| s.title.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The chosen option of the options document: its heading line (e.g. `### Option B: Queue`) and
/// its section, and the comparison with the other options' verdicts and the recommendation.
/// None without an options document or when no option can be found.
pub(super) struct Chosen {
    pub(super) heading: String,
    pub(super) section: String,
    pub(super) comparison: Option<String>,
}

pub(super) fn chosen_option(inputs: &PromptInputs) -> Option<Chosen> {
    let doc = inputs.options_doc?;
    let letter = match inputs.selected_option {
        Some(sel) => selected_letter(sel, doc),
        None => recommended_letter(doc),
    }?;
    let section = heading_block(doc, 3, |h| {
        h.strip_prefix("Option ").is_some_and(|r| {
            r.starts_with(letter.as_str()) && r[letter.len()..].starts_with([':', ' '])
        })
    })?;
    let heading = section
        .lines()
        .next()
        .unwrap_or_default()
        .trim_start_matches('#')
        .trim()
        .to_string();
    Some(Chosen {
        heading,
        section: section.trim_end().to_string(),
        comparison: section_text(doc, "Option Comparison and Decision")
            .map(|c| c.trim_end().to_string()),
    })
}

pub(super) fn selected_letter(sel: &str, doc: &str) -> Option<String> {
    let t = sel.trim();
    let body = t
        .strip_prefix("Option ")
        .or_else(|| t.strip_prefix("option "))
        .unwrap_or(t);
    let mut chars = body.chars();
    if let Some(c) = chars.next()
        && c.is_ascii_alphabetic()
        && chars.next().is_none_or(|n| !n.is_ascii_alphanumeric())
    {
        return Some(c.to_ascii_uppercase().to_string());
    }
    // A name: find `### Option X: <name>`.
    doc.lines().find_map(|l| {
        let rest = l.trim().strip_prefix("### Option ")?;
        let (letter, name) = rest.split_once(": ")?;
        name.trim()
            .eq_ignore_ascii_case(t)
            .then(|| letter.trim().to_string())
    })
}

pub(super) fn recommended_letter(doc: &str) -> Option<String> {
    let line = doc.lines().find(|l| l.contains("**Recommendation**"))?;
    let rest = &line[line.find("Option ")? + "Option ".len()..];
    rest.chars()
        .next()
        .filter(char::is_ascii_uppercase)
        .map(String::from)
}

/// The proposal's sections kept when it must be summarised: what later tasks build on.
const PROPOSAL_SUMMARY: &[&str] = &[
    "Title and Summary",
    "Approach Overview",
    "Detailed Component Design",
    "Data Design",
    "API Design",
    "High-Level Implementation Plan",
];

/// The `## N. Title` sections of a rendered document with these titles, in document order.
pub(super) fn pick_sections(doc: &str, titles: &[&str]) -> String {
    let picked: Vec<&str> = titles.iter().filter_map(|t| section_text(doc, t)).collect();
    if picked.is_empty() {
        doc.to_string()
    } else {
        picked
            .iter()
            .map(|s| s.trim_end())
            .collect::<Vec<_>>()
            .join("\n\n")
    }
}

/// The document JSON for an integration when it does not fit whole: the sections the items
/// name in full and the other section keys listed.
pub(super) fn integration_summary(kind: DocKind, doc: &Value, items: &[FeedbackItem]) -> String {
    let Some(obj) = doc.as_object() else {
        return serde_json::to_string(doc).unwrap_or_default();
    };
    let named = |key: &str| {
        let title = sections()
            .find(kind, key)
            .map(|s| s.title.to_lowercase())
            .unwrap_or_default();
        items.iter().any(|it| {
            let sec = it.section.to_lowercase();
            sec.contains(key)
                || (!title.is_empty() && (sec.contains(&title) || title.contains(sec.trim())))
        })
    };
    let mut shown = serde_json::Map::new();
    let mut others = Vec::new();
    for (k, v) in obj {
        if k == "title" || named(k) {
            shown.insert(k.clone(), v.clone());
        } else {
            others.push(k.as_str());
        }
    }
    let mut s = serde_json::to_string(&Value::Object(shown)).unwrap_or_default();
    if !others.is_empty() {
        let _ = write!(
            s,
            "\n(Sections not shown, unchanged unless an item needs them: {}.)",
            others.join(", ")
        );
    }
    s
}

/// The ids of feedback items.
pub(super) fn ids<'i>(items: impl IntoIterator<Item = &'i FeedbackItem>) -> Vec<String> {
    items.into_iter().map(|i| i.id.clone()).collect()
}

pub(super) fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

pub(super) fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

pub(super) fn decision_word(d: Decision) -> &'static str {
    match d {
        Decision::Accepted => "accepted",
        Decision::Rejected => "rejected",
        Decision::Deferred => "deferred",
    }
}
