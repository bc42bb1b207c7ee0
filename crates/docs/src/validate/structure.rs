//! The structure every document must have, read from `specs-templates/sections.yaml`.
//!
//! That file is the one source of truth shared by the prompts, the JSON schemas, the templates and
//! these validators. It is compiled in and cannot be replaced by a project (see
//! [`refuse_override`]): templates can be, sections cannot.

use std::path::Path;

pub(crate) use crate::sections::Section;

/// The ordered sections of every document type (the one parser of `sections.yaml`).
pub type Structure = crate::sections::Sections;

impl Structure {
    /// The built-in structure (compiled in; a unit test guarantees it parses).
    pub fn builtin() -> &'static Structure {
        crate::sections::sections()
    }

    /// The section with `key` in `sections`, if any.
    pub(crate) fn find_in<'a>(sections: &'a [Section], key: &str) -> Option<&'a Section> {
        sections.iter().find(|s| s.key == key)
    }
}

/// A project cannot replace `sections.yaml`: the prompts, the schemas, the templates and the
/// validators all read the built-in one, so a copy in the templates directory would change what
/// `validate` requires and not what a session writes. Its presence is an error naming the fix.
pub(crate) fn refuse_override(templates_dir: &Path) -> Result<(), String> {
    let path = templates_dir.join("sections.yaml");
    if path.exists() {
        return Err(
            "sections.yaml cannot be overridden (the prompts, schemas, templates and \
             validators all use the built-in sections); remove the file, and override the \
             document templates (*.md.j2) instead"
                .into(),
        );
    }
    Ok(())
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
    fn an_override_is_refused_with_the_fix() {
        let dir = tempfile::tempdir().unwrap();
        assert!(refuse_override(dir.path()).is_ok());
        std::fs::write(dir.path().join("sections.yaml"), "prd: []").unwrap();
        let err = refuse_override(dir.path()).unwrap_err();
        assert!(err.contains("sections.yaml cannot be overridden"), "{err}");
        assert!(err.contains("remove the file"), "{err}");
    }
}
