//! The structure every document must have, read from `specs-templates/sections.yaml`.
//!
//! That file is the one source of truth shared by the prompts, the JSON schemas, the templates and
//! these validators. The built-in copy is compiled in; a project can override it with its own
//! `sections.yaml` in its templates directory ([`Structure::load`]).

use std::path::Path;

pub(crate) use crate::sections::Section;

/// The ordered sections of every document type (the one parser of `sections.yaml`).
pub type Structure = crate::sections::Sections;

impl Structure {
    /// Parses a `sections.yaml`. The error names the problem (for an override file).
    pub(crate) fn from_yaml(text: &str) -> Result<Self, String> {
        crate::sections::parse(text)
    }

    /// The built-in structure (compiled in; a unit test guarantees it parses).
    pub fn builtin() -> &'static Structure {
        crate::sections::sections()
    }

    /// The project's override in `templates_dir/sections.yaml` when it exists, else the built-in.
    pub(crate) fn load(templates_dir: Option<&Path>) -> Result<Structure, String> {
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
        Ok(Structure::builtin().clone())
    }

    /// The section with `key` in `sections`, if any.
    pub(crate) fn find_in<'a>(sections: &'a [Section], key: &str) -> Option<&'a Section> {
        sections.iter().find(|s| s.key == key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_parses_and_has_every_document() {
        let s = Structure::builtin();
        assert_eq!(s.implementation_plan.len(), 10);
        assert!(s.options.len() >= 3);
        assert!(s.proposal.len() >= 10);
        assert_eq!(s.step_parts.len(), 4);
        assert!(Structure::find_in(&s.option_parts, "tradeoffs").is_some());
        assert!(Structure::find_in(&s.option_parts, "effort").is_some());
        assert!(Structure::find_in(&s.proposal, "steps").is_some());
        assert!(Structure::find_in(&s.options, "comparison").is_some());
        assert!(Structure::find_in(&s.options, "options").is_some());
    }

    #[test]
    fn override_file_wins_and_a_broken_one_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let mut text = crate::sections::SECTIONS_YAML.to_string();
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
            *Structure::builtin()
        );
    }
}
