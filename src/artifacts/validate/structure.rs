//! The structure every document must have, read from `specs-templates/sections.yaml`.
//!
//! That file is the one source of truth shared by the prompts, the JSON schemas, the templates and
//! these validators. The built-in copy is compiled in; a project can override it with its own
//! `sections.yaml` in its templates directory ([`Structure::load`]).

use std::path::Path;
use std::sync::OnceLock;

use serde::Deserialize;

/// The built-in `sections.yaml`.
pub const BUILTIN_SECTIONS_YAML: &str = include_str!("../../../specs-templates/sections.yaml");

/// One section (or labelled part) of a document.
#[derive(Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Section {
    /// The field name in the author's JSON.
    pub key: String,
    /// The heading or label the template renders and the validator looks for.
    pub title: String,
    /// What belongs there; quoted in findings so the fix is concrete.
    #[serde(default)]
    pub hint: String,
    /// Other headings a person might use for the same section (optional).
    #[serde(default)]
    pub aliases: Vec<String>,
}

/// The ordered sections of every document type.
#[derive(Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Structure {
    pub prd: Vec<Section>,
    pub options: Vec<Section>,
    pub option_parts: Vec<Section>,
    pub proposal: Vec<Section>,
    pub step_parts: Vec<Section>,
    pub design_doc: Vec<Section>,
    pub implementation_plan: Vec<Section>,
}

impl Structure {
    /// Parses a `sections.yaml`. The error names the problem (for an override file).
    pub fn from_yaml(text: &str) -> Result<Self, String> {
        serde_saphyr::from_str::<Structure>(text).map_err(|e| e.to_string())
    }

    /// The built-in structure. `Err` only if the compiled-in file is broken (a unit test
    /// guarantees it is not); validators turn that into a finding instead of panicking.
    pub fn builtin() -> Result<&'static Structure, &'static str> {
        static BUILTIN: OnceLock<Result<Structure, String>> = OnceLock::new();
        BUILTIN
            .get_or_init(|| Structure::from_yaml(BUILTIN_SECTIONS_YAML))
            .as_ref()
            .map_err(|e| e.as_str())
    }

    /// The project's override in `templates_dir/sections.yaml` when it exists, else the built-in.
    pub fn load(templates_dir: Option<&Path>) -> Result<Structure, String> {
        if let Some(dir) = templates_dir {
            let path = dir.join("sections.yaml");
            if path.is_file() {
                let text = std::fs::read_to_string(&path)
                    .map_err(|e| format!("{}: {e}", path.display()))?;
                return Structure::from_yaml(&text).map_err(|e| {
                    format!(
                        "{}: {e}; fix the file or delete it to use the built-in structure",
                        path.display()
                    )
                });
            }
        }
        Structure::builtin()
            .cloned()
            .map_err(|e| format!("built-in sections.yaml: {e}"))
    }

    /// The section with `key` in `sections`, if any.
    pub fn find<'a>(sections: &'a [Section], key: &str) -> Option<&'a Section> {
        sections.iter().find(|s| s.key == key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_parses_and_has_every_document() {
        let s = Structure::builtin().unwrap();
        assert_eq!(s.implementation_plan.len(), 10);
        assert!(s.options.len() >= 3);
        assert!(s.proposal.len() >= 10);
        assert_eq!(s.step_parts.len(), 4);
        assert!(Structure::find(&s.option_parts, "tradeoffs").is_some());
        assert!(Structure::find(&s.option_parts, "effort").is_some());
        assert!(Structure::find(&s.proposal, "steps").is_some());
        assert!(Structure::find(&s.options, "comparison").is_some());
        assert!(Structure::find(&s.options, "options").is_some());
    }

    #[test]
    fn override_file_wins_and_a_broken_one_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let mut text = BUILTIN_SECTIONS_YAML.to_string();
        text = text.replace("\"Open Questions\"", "\"Questions Still Open\"");
        std::fs::write(dir.path().join("sections.yaml"), &text).unwrap();
        let s = Structure::load(Some(dir.path())).unwrap();
        assert_eq!(s.implementation_plan[9].title, "Questions Still Open");

        std::fs::write(dir.path().join("sections.yaml"), "prd: [").unwrap();
        let err = Structure::load(Some(dir.path())).unwrap_err();
        assert!(err.contains("sections.yaml"), "{err}");

        let empty = tempfile::tempdir().unwrap();
        assert_eq!(
            Structure::load(Some(empty.path())).unwrap(),
            *Structure::builtin().unwrap()
        );
    }
}
