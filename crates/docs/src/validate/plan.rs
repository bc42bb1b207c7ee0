//! The implementation plan: its ten sections, in order, none empty.

use super::markdown::Doc;
use super::sections::Outline;
use super::structure::Structure;
use super::{Finding, mermaid, with_builtin};

/// Checks an implementation plan with the built-in structure.
pub fn validate_plan(md: &str) -> Vec<Finding> {
    with_builtin(|s| check_plan(s, md))
}

/// Checks an implementation plan against `structure`.
pub(super) fn check_plan(structure: &Structure, md: &str) -> Vec<Finding> {
    let doc = Doc::parse(md);
    let outline = Outline::locate(&doc, &structure.implementation_plan);
    let mut out = outline.findings(&doc);
    out.extend(mermaid::findings(&doc));
    out
}
