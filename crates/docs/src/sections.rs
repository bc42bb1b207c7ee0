//! The document structures of `specs-templates/sections.yaml`, parsed once.
//!
//! That file is the one source of truth for section keys, headings and hints: the JSON schemas
//! are generated from it ([`super::schema`]), the templates iterate it for their headings, the
//! prompts quote its hints, and the validators look for its titles. It is compiled into the
//! binary, so a project cannot drift from the schemas the authors are given.

use std::sync::LazyLock;

use serde::{Deserialize, Serialize};

use super::DocKind;

/// The text of `specs-templates/sections.yaml`.
pub(crate) const SECTIONS_YAML: &str = include_str!("../../../specs-templates/sections.yaml");

/// One section (or one labelled part of an option or a step).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Section {
    /// The JSON field name.
    pub key: String,
    /// The markdown heading (`## N. Title`) or bold label.
    pub title: String,
    /// What belongs there; quoted in prompts and in validator findings.
    #[serde(default)]
    pub hint: String,
    /// Other headings a person might use for the same section (accepted by the validators).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    /// What a capable model is asked for on top of the hint (the seeds' full depth: tables,
    /// subsections); the bundled local model gets the hint alone.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub depth: String,
    /// Tables the depth asks for, each as column headings that must all appear in one table
    /// header of the section (checked by `validate::check_depth`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tables: Vec<Vec<String>>,
    /// Labels or subsection names the depth asks for, each of which must appear in the section
    /// (checked by `validate::check_depth`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub labels: Vec<String>,
}

impl Section {
    /// The hint a model with `depth` (a capable model) or without it is given.
    pub fn hint_for(&self, depth: bool) -> String {
        if depth && !self.depth.is_empty() {
            format!("{} {}", self.hint, self.depth)
        } else {
            self.hint.clone()
        }
    }
}

/// Every document structure.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Sections {
    pub prd: Vec<Section>,
    pub options: Vec<Section>,
    /// The labelled parts of each option inside `options.options`.
    pub option_parts: Vec<Section>,
    pub proposal: Vec<Section>,
    /// The labelled parts of each step inside `proposal.steps`.
    pub step_parts: Vec<Section>,
    pub design_doc: Vec<Section>,
    pub implementation_plan: Vec<Section>,
}

static SECTIONS: LazyLock<Sections> = LazyLock::new(|| match parse(SECTIONS_YAML) {
    Ok(s) => s,
    // The file is compiled in and parsed by a unit test, so this is a build defect, not input.
    Err(e) => panic!("specs-templates/sections.yaml is invalid: {e}"),
});

/// The built-in document structures.
pub fn sections() -> &'static Sections {
    &SECTIONS
}

/// Parses a sections file (used for the built-in one and by tests).
pub(crate) fn parse(text: &str) -> Result<Sections, String> {
    let s: Sections = serde_saphyr::from_str(text).map_err(|e| e.to_string())?;
    for (name, list) in s.lists() {
        if list.is_empty() {
            return Err(format!("`{name}` has no sections"));
        }
        let mut seen = std::collections::BTreeSet::new();
        for sec in list {
            if !seen.insert(sec.key.as_str()) {
                return Err(format!("`{name}` repeats the key `{}`", sec.key));
            }
        }
    }
    Ok(s)
}

impl Sections {
    /// The top-level sections of a document kind, in order.
    pub fn of(&self, kind: DocKind) -> &[Section] {
        match kind {
            DocKind::Prd => &self.prd,
            DocKind::Options => &self.options,
            DocKind::Proposal => &self.proposal,
            DocKind::DesignDoc => &self.design_doc,
            DocKind::ImplementationPlan => &self.implementation_plan,
        }
    }

    /// The section of `kind` with this key.
    pub fn find(&self, kind: DocKind, key: &str) -> Option<&Section> {
        self.of(kind).iter().find(|s| s.key == key)
    }

    fn lists(&self) -> [(&'static str, &Vec<Section>); 7] {
        [
            ("prd", &self.prd),
            ("options", &self.options),
            ("option_parts", &self.option_parts),
            ("proposal", &self.proposal),
            ("step_parts", &self.step_parts),
            ("design_doc", &self.design_doc),
            ("implementation_plan", &self.implementation_plan),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_sections_parse_with_the_seed_counts() {
        let s = parse(SECTIONS_YAML).unwrap();
        assert_eq!(s.implementation_plan.len(), 10, "seed 003 has ten sections");
        assert_eq!(s.design_doc.len(), 11);
        assert!(s.options.len() >= 3);
        assert_eq!(s.step_parts.len(), 4);
        assert_eq!(
            sections().find(DocKind::Proposal, "steps").unwrap().title,
            "High-Level Implementation Plan"
        );
    }

    #[test]
    fn duplicate_keys_are_rejected() {
        let bad = SECTIONS_YAML.replace("key: users,", "key: overview,");
        let err = parse(&bad).unwrap_err();
        assert!(err.contains("repeats the key `overview`"), "{err}");
    }
}
