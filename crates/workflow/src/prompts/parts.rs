//! The pieces prompts are made of: the user message builder, the field guide, excerpts of
//! earlier documents, and the helpers that keep every piece within its token share.

use std::fmt::Write as _;

use serde_json::Value;

use super::PromptInputs;
use docs::DocKind;
use docs::markdown::{heading_block, section_text};
use docs::schema::{DiagramShape, MAX_DIAGRAMS, SchemaLimits, option_letter};
use docs::sections::sections;
use protocol::estimate_tokens;
use protocol::{Decision, FeedbackItem};

/// The user message under construction.
#[derive(Default)]
pub(super) struct UserPrompt {
    parts: Vec<String>,
}

impl UserPrompt {
    pub(super) fn context(&mut self, title: &str, text: &str) {
        if !text.trim().is_empty() {
            self.parts.push(format!("## {title}\n\n{}", text.trim()));
        }
    }

    /// A document or other markdown, fenced so its headings stay inside it.
    pub(super) fn doc(&mut self, title: &str, text: &str, lang: &str) {
        if !text.trim().is_empty() {
            self.parts
                .push(format!("## {title}\n\n{}", fence(text.trim(), lang)));
        }
    }

    pub(super) fn task(&mut self, text: String) {
        self.parts.push(format!("## Your task\n\n{text}"));
    }

    pub(super) fn goal_and_journey(&mut self, inputs: &PromptInputs) {
        if let Some(g) = inputs.goal {
            self.context("Goal", g);
        }
        if let Some(j) = inputs.journey {
            self.context("User journey", j);
        }
    }

    /// The PRD within `tokens`; without one, the goal and journey stand in (once).
    pub(super) fn requirements(&mut self, inputs: &PromptInputs, tokens: u32) {
        match inputs.prd {
            Some(prd) => self.doc("Requirements (PRD)", &fit(prd, tokens), "markdown"),
            None => {
                if !self.parts.iter().any(|p| p.starts_with("## Goal")) {
                    self.goal_and_journey(inputs);
                }
            }
        }
    }

    /// The design proposal's sections with these titles, within `tokens`.
    pub(super) fn proposal_excerpt(&mut self, inputs: &PromptInputs, titles: &[&str], tokens: u32) {
        if let Some(doc) = inputs.proposal_doc {
            self.doc(
                "Design proposal (excerpt)",
                &fit(&pick_sections(doc, titles), tokens),
                "markdown",
            );
        }
    }

    pub(super) fn digest(&mut self, inputs: &PromptInputs, tokens: u32) {
        if tokens >= 50 {
            self.doc("Codebase digest", &fit(inputs.digest, tokens), "markdown");
        }
    }

    pub(super) fn fields(&mut self, kind: DocKind, lim: &SchemaLimits, project: &str) {
        self.parts.push(format!(
            "## Output\n\nReturn one JSON object with these fields, every one filled for this project:\n{}",
            fields_guide(kind, lim, project)
        ));
    }

    pub(super) fn output_json(&mut self, what: &str) {
        self.parts.push(format!(
            "## Output\n\nReturn one JSON object: {what}, as the schema requires."
        ));
    }

    pub(super) fn tokens(&self) -> u32 {
        self.parts.iter().map(|p| estimate_tokens(p)).sum()
    }

    pub(super) fn finish(self) -> String {
        let mut s = self.parts.join("\n\n");
        s.push('\n');
        s
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
        let _ = writeln!(out, "- {}: {}", sec.key, sec.hint);
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
            _ => {}
        }
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

/// The chosen option's section of the options document plus the recommendation, within `tokens`.
pub(super) fn chosen_option(inputs: &PromptInputs, tokens: u32) -> Option<String> {
    let doc = inputs.options_doc?;
    let letter = match inputs.selected_option {
        Some(sel) => selected_letter(sel, doc),
        None => recommended_letter(doc),
    };
    let mut out = String::new();
    if let Some(l) = &letter
        && let Some(block) = heading_block(doc, 3, |h| {
            h.strip_prefix("Option ")
                .is_some_and(|r| r.starts_with(l.as_str()) && r[l.len()..].starts_with([':', ' ']))
        })
    {
        out.push_str(block.trim_end());
        out.push_str("\n\n");
    }
    if let Some(cmp) = section_text(doc, "Option Comparison and Decision")
        && let Some(at) = cmp.find("**Recommendation**")
    {
        out.push_str(cmp[at..].trim_end());
    }
    if out.trim().is_empty() {
        out = doc.to_string();
    }
    Some(fit(&out, tokens))
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

/// The `## N. Title` sections of a rendered document with these titles, in document order.
fn pick_sections(doc: &str, titles: &[&str]) -> String {
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

/// The document JSON for an integration: whole when it fits, else the sections the items name
/// in full and the other section keys listed.
pub(super) fn document_for_integration(
    kind: DocKind,
    doc: &Value,
    items: &[FeedbackItem],
    tokens: u32,
) -> String {
    let full = serde_json::to_string(doc).unwrap_or_default();
    if estimate_tokens(&full) <= tokens {
        return full;
    }
    let Some(obj) = doc.as_object() else {
        return fit(&full, tokens);
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
    let mut s = fit(
        &serde_json::to_string(&Value::Object(shown)).unwrap_or_default(),
        tokens,
    );
    if !others.is_empty() {
        let _ = write!(
            s,
            "\n(Sections not shown, unchanged unless an item needs them: {}.)",
            others.join(", ")
        );
    }
    s
}

/// `text` in a code fence longer than any backtick run inside it.
pub(crate) fn fence(text: &str, lang: &str) -> String {
    let longest = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let ticks = "`".repeat(longest.max(2) + 1);
    format!("{ticks}{lang}\n{text}\n{ticks}")
}

/// `text` cut to about `tokens`, at a line break when possible, with a visible marker.
pub(crate) fn fit(text: &str, tokens: u32) -> String {
    let text = text.trim();
    let have = estimate_tokens(text);
    if have <= tokens {
        return text.to_string();
    }
    let marker_tokens = 20;
    let limit = tokens.saturating_sub(marker_tokens) as usize * 4;
    let end = text
        .char_indices()
        .nth(limit)
        .map(|(i, _)| i)
        .unwrap_or(text.len());
    let cut = &text[..end];
    let cut = match cut.rfind('\n') {
        Some(nl) if nl >= end / 2 => &cut[..nl],
        _ => cut,
    };
    format!(
        "{}\n[... truncated: about {} of {have} tokens shown]",
        cut.trim_end(),
        estimate_tokens(cut)
    )
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
