//! Mermaid diagrams checked by a real parser (`merman-core`, a Rust port of Mermaid's parsers).
//!
//! A diagram that does not parse renders as an error box on GitHub and in every viewer, so a
//! broken diagram is a finding, not a log line. The finding names the block (its index, line and
//! first line) and quotes the parser's message with the offending line of the block.

use std::panic::{AssertUnwindSafe, catch_unwind};

use merman_core::{Error as MermaidError, SemanticParser};

use super::Finding;
use super::markdown::{CodeBlock, Doc};

/// Larger blocks are rejected unparsed: no real diagram is this big, and a bound keeps the
/// parser's work (and recursion) bounded on hostile input.
pub const MAX_MERMAID_BYTES: usize = 32 * 1024;

/// Checks every ```` ```mermaid ```` block of a markdown document.
pub fn validate_mermaid_blocks(md: &str) -> Vec<Finding> {
    findings(&Doc::parse(md))
}

/// Checks every mermaid block of a parsed document.
pub(crate) fn findings(doc: &Doc<'_>) -> Vec<Finding> {
    let parser = SemanticParser::new();
    doc.mermaid_blocks()
        .enumerate()
        .filter_map(|(i, block)| {
            check_block(&parser, block)
                .err()
                .map(|message| Finding::new(location(i + 1, block), message))
        })
        .collect()
}

/// `mermaid block 2 (line 40: "flowchart LR")`.
fn location(index: usize, block: &CodeBlock) -> String {
    let first = block
        .content
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim();
    let first: String = first.chars().take(40).collect();
    format!("mermaid block {index} (line {}: \"{first}\")", block.line)
}

fn check_block(parser: &SemanticParser, block: &CodeBlock) -> Result<String, String> {
    const UNCLOSED: &str =
        "the block is not closed: end it with a line of ``` right after the diagram";
    match (check_source(parser, &block.content), block.closed) {
        (Ok(kind), true) => Ok(kind),
        (Ok(_), false) => Err(UNCLOSED.into()),
        (Err(m), true) => Err(m),
        (Err(m), false) => Err(format!("{m}; {UNCLOSED}")),
    }
}

/// Parses one diagram; `Ok` is the diagram type, `Err` the problem and the fix.
pub fn check_diagram(source: &str) -> Result<String, String> {
    check_source(&SemanticParser::new(), source)
}

fn check_source(parser: &SemanticParser, source: &str) -> Result<String, String> {
    if source.trim().is_empty() {
        return Err("the block is empty; put a diagram in it or remove the block".into());
    }
    if source.len() > MAX_MERMAID_BYTES {
        return Err(format!(
            "the diagram is {} bytes, more than the {MAX_MERMAID_BYTES} allowed; split it into smaller diagrams",
            source.len()
        ));
    }
    let result = catch_unwind(AssertUnwindSafe(|| parser.parse_diagram_sync(source)));
    match result {
        Ok(Ok(parsed)) => Ok(parsed.metadata.diagram_type.clone()),
        Ok(Err(e)) => Err(describe(source, &e)),
        Err(_) => Err(
            "the Mermaid parser failed on this diagram; simplify it (plain `flowchart` nodes and edges parse reliably)"
                .into(),
        ),
    }
}

fn describe(source: &str, error: &MermaidError) -> String {
    match error {
        MermaidError::DiagramParse {
            diagram_type,
            diagnostic,
        } => {
            let at = diagnostic
                .span()
                .map(|s| {
                    let start = s.start.min(source.len());
                    let line_no = source
                        .get(..start)
                        .map_or(1, |p| p.matches('\n').count() + 1);
                    let line = source.lines().nth(line_no - 1).unwrap_or("").trim();
                    let line: String = line.chars().take(80).collect();
                    format!(" at line {line_no} of the diagram (`{line}`)")
                })
                .unwrap_or_default();
            format!(
                "{diagram_type} diagram does not parse: {}{at}; fix the Mermaid syntax",
                diagnostic.message()
            )
        }
        MermaidError::DetectType(_) => {
            let first = source
                .lines()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("")
                .trim();
            let first: String = first.chars().take(60).collect();
            format!(
                "no Mermaid diagram type recognised in `{first}`; start the block with a type such as `flowchart LR`, `sequenceDiagram`, `erDiagram` or `classDiagram`"
            )
        }
        other => format!("the diagram does not parse: {other}; fix the Mermaid syntax"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_diagrams_of_common_types_parse() {
        for src in [
            "flowchart TD\n A[API] --> B[(DB)]",
            "graph LR\n A --> B",
            "sequenceDiagram\n Alice->>Bob: hi\n Bob-->>Alice: ok",
            "erDiagram\n USER ||--o{ ORDER : places",
            "classDiagram\n class A\n A <|-- B",
            "stateDiagram-v2\n [*] --> A\n A --> [*]",
            "C4Context\n Person(u, \"User\")\n System(s, \"Sys\")\n Rel(u, s, \"uses\")",
            "gantt\n title x\n section s\n task :a1, 2024-01-01, 3d",
        ] {
            assert!(
                check_diagram(src).is_ok(),
                "{src}: {:?}",
                check_diagram(src)
            );
        }
    }

    #[test]
    fn errors_name_the_problem_and_the_line() {
        let e = check_diagram("flowchart TD\n A[unclosed --> B").unwrap_err();
        assert!(e.contains("missing `]`"), "{e}");
        assert!(e.contains("line 2"), "{e}");
        let e = check_diagram("flowchar TD\n A-->B").unwrap_err();
        assert!(e.contains("`flowchar TD`"), "{e}");
        let e = check_diagram("  \n").unwrap_err();
        assert!(e.contains("empty"), "{e}");
        let e = check_diagram(&format!("graph TD\n{}", "A-->B\n".repeat(10_000))).unwrap_err();
        assert!(e.contains("split it"), "{e}");
    }

    #[test]
    fn blocks_are_named_by_index_line_and_first_line() {
        let md = "# D\n\n```mermaid\ngraph TD\n A-->B\n```\n\ntext\n\n```mermaid\nsequenceDiagram\n Alice->>: hi\n```\n\n```mermaid\ngraph LR\n A-->B\n";
        let f = validate_mermaid_blocks(md);
        assert_eq!(f.len(), 2, "{f:?}");
        assert_eq!(
            f[0].location,
            "mermaid block 2 (line 10: \"sequenceDiagram\")"
        );
        assert!(
            f[0].message.contains("sequence diagram does not parse"),
            "{}",
            f[0].message
        );
        assert!(
            f[1].location.starts_with("mermaid block 3 (line 15"),
            "{}",
            f[1].location
        );
        assert!(f[1].message.contains("not closed"), "{}", f[1].message);
    }
}
