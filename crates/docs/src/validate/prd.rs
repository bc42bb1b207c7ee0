//! The product requirements document. Often written by a person before agentmux runs, so only
//! the minimum is required: some content and at least one heading.

use super::Finding;
use super::markdown::{Doc, is_blank};

/// Checks a PRD leniently: not empty, has a heading.
pub fn validate_prd(md: &str) -> Vec<Finding> {
    if is_blank(md) {
        return vec![Finding::new(
            "document",
            "the PRD is empty; describe the product, its objectives and its functional requirements",
        )];
    }
    if Doc::parse(md).headings.is_empty() {
        return vec![Finding::new(
            "document",
            "the PRD has no heading; structure it with headings such as \"## Objectives\" and \"## Functional Requirements\"",
        )];
    }
    Vec::new()
}
