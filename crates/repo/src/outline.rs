//! A file's symbols (functions, classes, types, impls) with their line ranges, from a
//! tree-sitter parse. The `outline` tool shows them; the index cuts chunks along them, so an
//! excerpt is a whole function rather than sixty arbitrary lines.
//!
//! Only grammars compiled in are supported (Python, Rust, JavaScript, Go); any other language
//! has no outline and the index falls back to blocks split at blank lines. TypeScript is left
//! out on purpose: its two grammars are more generated C than the other four together.

use tree_sitter::{Node, Parser};

use crate::lang::Language;

/// What a symbol is.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum SymbolKind {
    /// A free function.
    Function,
    /// A function inside a class, impl or trait.
    Method,
    /// A class (Python, JavaScript).
    Class,
    /// A Rust or Go struct.
    Struct,
    /// A Rust enum.
    Enum,
    /// A Rust union.
    Union,
    /// A Rust trait or Go interface.
    Trait,
    /// A Rust impl block.
    Impl,
    /// A Rust module.
    Module,
    /// A constant or static (Python: a module-level `UPPER_CASE` assignment).
    Const,
    /// A type alias.
    Type,
    /// A `macro_rules!` macro.
    Macro,
}

impl SymbolKind {
    /// The lower-case word shown in an outline, e.g. `function`.
    pub fn word(self) -> &'static str {
        match self {
            Self::Function => "function",
            Self::Method => "method",
            Self::Class => "class",
            Self::Struct => "struct",
            Self::Enum => "enum",
            Self::Union => "union",
            Self::Trait => "trait",
            Self::Impl => "impl",
            Self::Module => "mod",
            Self::Const => "const",
            Self::Type => "type",
            Self::Macro => "macro",
        }
    }
}

/// A symbol and the symbols nested in it (methods of a class or impl, items of a module).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Symbol {
    /// What it is.
    pub kind: SymbolKind,
    /// Its name; for an impl, the implemented type (`Trait for Type`).
    pub name: String,
    /// First line (1-based), decorators included.
    pub start_line: u32,
    /// Last line (1-based, inclusive).
    pub end_line: u32,
    /// Nested symbols.
    pub children: Vec<Symbol>,
}

/// Whether [`outline`] supports `language`.
pub fn supports(language: Language) -> bool {
    grammar(language).is_some()
}

/// The names of the languages [`outline`] supports, for messages.
pub fn supported_names() -> &'static str {
    "Python (.py), Rust (.rs), JavaScript (.js, .jsx, .mjs, .cjs) and Go (.go)"
}

/// The symbols of `text` in `language`; `None` when the language has no grammar here or the
/// parser gives up. A file with syntax errors still gets the symbols that parsed.
pub fn outline(language: Language, text: &str) -> Option<Vec<Symbol>> {
    let (grammar, classify) = grammar(language)?;
    let mut parser = Parser::new();
    parser.set_language(&grammar).ok()?;
    let tree = parser.parse(text, None)?;
    let src = text.as_bytes();
    Some(collect(classify, tree.root_node(), src, false))
}

/// What the named children of a node declare; `in_type` inside a class, impl or trait.
type Classify = for<'t> fn(Node<'t>, &[u8], bool) -> Vec<Declared<'t>>;

/// A language's grammar and how to read symbols off its syntax tree: one place to add one.
fn grammar(language: Language) -> Option<(tree_sitter::Language, Classify)> {
    match language {
        Language::Python => Some((tree_sitter_python::LANGUAGE.into(), |n, src, in_type| {
            python(n, src, in_type).into_iter().collect()
        })),
        Language::Rust => Some((tree_sitter_rust::LANGUAGE.into(), |n, src, in_type| {
            rust(n, src, in_type).into_iter().collect()
        })),
        Language::JavaScript => Some((
            tree_sitter_javascript::LANGUAGE.into(),
            |n, src, in_type| javascript(n, n, src, in_type),
        )),
        Language::Go => Some((tree_sitter_go::LANGUAGE.into(), |n, src, _| go(n, src))),
        Language::TypeScript
        | Language::Java
        | Language::Kotlin
        | Language::C
        | Language::Cpp
        | Language::CSharp
        | Language::Ruby
        | Language::Php
        | Language::Swift
        | Language::Scala
        | Language::Shell
        | Language::Sql
        | Language::Html
        | Language::Css
        | Language::Markdown
        | Language::Rst
        | Language::Toml
        | Language::Yaml
        | Language::Json
        | Language::Text => None,
    }
}

/// What a node declares: its kind, name, the node whose lines it spans and the node holding
/// its members, if any.
struct Declared<'t> {
    kind: SymbolKind,
    name: String,
    span: Node<'t>,
    body: Option<Node<'t>>,
}

fn collect(classify: Classify, parent: Node<'_>, src: &[u8], in_type: bool) -> Vec<Symbol> {
    let mut out = Vec::new();
    let mut cursor = parent.walk();
    for node in parent.named_children(&mut cursor) {
        for d in classify(node, src, in_type) {
            let nested = matches!(
                d.kind,
                SymbolKind::Class | SymbolKind::Impl | SymbolKind::Trait
            );
            let children = d
                .body
                .map(|b| collect(classify, b, src, nested))
                .unwrap_or_default();
            out.push(Symbol {
                kind: d.kind,
                name: d.name,
                start_line: line(d.span.start_position().row),
                end_line: line(last_row(d.span)),
                children,
            });
        }
    }
    out
}

/// The last row holding text of `node`: a node that ends at column 0 ended with the line before.
fn last_row(node: Node<'_>) -> usize {
    let (start, end) = (node.start_position(), node.end_position());
    if end.column == 0 && end.row > start.row {
        end.row - 1
    } else {
        end.row
    }
}

fn line(row: usize) -> u32 {
    u32::try_from(row + 1).unwrap_or(u32::MAX)
}

fn text_of(node: Node<'_>, src: &[u8]) -> String {
    let text = node.utf8_text(src).unwrap_or_default();
    // Generic parameters and `where` clauses can span lines; a name is one line.
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn field<'t>(node: Node<'t>, name: &str, src: &[u8]) -> Option<String> {
    node.child_by_field_name(name).map(|n| text_of(n, src))
}

fn python<'t>(node: Node<'t>, src: &[u8], in_class: bool) -> Option<Declared<'t>> {
    let span = node;
    match node.kind() {
        "function_definition" => Some(Declared {
            kind: if in_class {
                SymbolKind::Method
            } else {
                SymbolKind::Function
            },
            name: field(node, "name", src)?,
            span,
            body: None,
        }),
        "class_definition" => Some(Declared {
            kind: SymbolKind::Class,
            name: field(node, "name", src)?,
            span,
            body: node.child_by_field_name("body"),
        }),
        // `@decorator` lines belong to the definition they decorate.
        "decorated_definition" => {
            let inner = python(node.child_by_field_name("definition")?, src, in_class)?;
            Some(Declared { span, ..inner })
        }
        "expression_statement" if !in_class => {
            let assignment = node.named_child(0).filter(|n| n.kind() == "assignment")?;
            let left = assignment.child_by_field_name("left")?;
            let name = text_of(left, src);
            let constant = left.kind() == "identifier"
                && name.chars().any(|c| c.is_ascii_uppercase())
                && !name.chars().any(|c| c.is_ascii_lowercase());
            constant.then_some(Declared {
                kind: SymbolKind::Const,
                name,
                span,
                body: None,
            })
        }
        _ => None,
    }
}

fn rust<'t>(node: Node<'t>, src: &[u8], in_type: bool) -> Option<Declared<'t>> {
    let span = node;
    let named = |kind| {
        Some(Declared {
            kind,
            name: field(node, "name", src)?,
            span,
            body: None,
        })
    };
    match node.kind() {
        "function_item" | "function_signature_item" => named(if in_type {
            SymbolKind::Method
        } else {
            SymbolKind::Function
        }),
        "struct_item" => named(SymbolKind::Struct),
        "enum_item" => named(SymbolKind::Enum),
        "union_item" => named(SymbolKind::Union),
        "const_item" | "static_item" => named(SymbolKind::Const),
        "type_item" => named(SymbolKind::Type),
        "macro_definition" => named(SymbolKind::Macro),
        "trait_item" => Some(Declared {
            kind: SymbolKind::Trait,
            name: field(node, "name", src)?,
            span,
            body: node.child_by_field_name("body"),
        }),
        "mod_item" => Some(Declared {
            kind: SymbolKind::Module,
            name: field(node, "name", src)?,
            span,
            body: node.child_by_field_name("body"),
        }),
        "impl_item" => {
            let ty = field(node, "type", src)?;
            let name = match field(node, "trait", src) {
                Some(tr) => format!("{tr} for {ty}"),
                None => ty,
            };
            Some(Declared {
                kind: SymbolKind::Impl,
                name,
                span,
                body: node.child_by_field_name("body"),
            })
        }
        _ => None,
    }
}

/// JavaScript: functions, classes and their methods, `const f = () => ...`, and all of these
/// behind `export`. `span` is the outermost node (the `export` statement).
fn javascript<'t>(node: Node<'t>, span: Node<'t>, src: &[u8], in_class: bool) -> Vec<Declared<'t>> {
    let one = |kind, name: Option<String>, body| {
        name.map(|name| Declared {
            kind,
            name,
            span,
            body,
        })
        .into_iter()
        .collect()
    };
    match node.kind() {
        "function_declaration" | "generator_function_declaration" => {
            one(SymbolKind::Function, field(node, "name", src), None)
        }
        "class_declaration" | "class" => one(
            SymbolKind::Class,
            field(node, "name", src),
            node.child_by_field_name("body"),
        ),
        "method_definition" if in_class => one(SymbolKind::Method, field(node, "name", src), None),
        "export_statement" => match node.child_by_field_name("declaration") {
            Some(d) => javascript(d, span, src, in_class),
            None => node
                .child_by_field_name("value")
                .map(|v| javascript(v, span, src, in_class))
                .unwrap_or_default(),
        },
        "lexical_declaration" | "variable_declaration" => {
            let mut cursor = node.walk();
            let declarators: Vec<Node<'t>> = node
                .named_children(&mut cursor)
                .filter(|c| c.kind() == "variable_declarator")
                .collect();
            // Only `const f = () => ...` and `const C = class ...` are symbols; other variables
            // are data.
            let mut out = Vec::new();
            for d in &declarators {
                let value = d.child_by_field_name("value").map(|v| v.kind());
                let kind = match value {
                    Some("arrow_function" | "function_expression" | "function") => {
                        SymbolKind::Function
                    }
                    Some("class") => SymbolKind::Class,
                    _ => continue,
                };
                let Some(name) = field(*d, "name", src) else {
                    continue;
                };
                let span = if declarators.len() == 1 { span } else { *d };
                let body = (kind == SymbolKind::Class)
                    .then(|| {
                        d.child_by_field_name("value")
                            .and_then(|v| v.child_by_field_name("body"))
                    })
                    .flatten();
                out.push(Declared {
                    kind,
                    name,
                    span,
                    body,
                });
            }
            out
        }
        _ => Vec::new(),
    }
}

/// Go: functions, methods (named with their receiver), types (each spec of a grouped
/// declaration on its own) and constants.
fn go<'t>(node: Node<'t>, src: &[u8]) -> Vec<Declared<'t>> {
    let specs = |spec_kinds: &[&str]| {
        let mut cursor = node.walk();
        node.named_children(&mut cursor)
            .filter(|c| spec_kinds.contains(&c.kind()))
            .collect::<Vec<_>>()
    };
    match node.kind() {
        "function_declaration" => field(node, "name", src)
            .map(|name| Declared {
                kind: SymbolKind::Function,
                name,
                span: node,
                body: None,
            })
            .into_iter()
            .collect(),
        "method_declaration" => {
            let Some(name) = field(node, "name", src) else {
                return Vec::new();
            };
            let name = match field(node, "receiver", src) {
                Some(receiver) => format!("{receiver} {name}"),
                None => name,
            };
            vec![Declared {
                kind: SymbolKind::Method,
                name,
                span: node,
                body: None,
            }]
        }
        "type_declaration" => {
            let found = specs(&["type_spec", "type_alias"]);
            let single = found.len() == 1;
            found
                .into_iter()
                .filter_map(|spec| {
                    let kind = match spec.child_by_field_name("type").map(|t| t.kind()) {
                        Some("struct_type") => SymbolKind::Struct,
                        Some("interface_type") => SymbolKind::Trait,
                        _ => SymbolKind::Type,
                    };
                    Some(Declared {
                        kind,
                        name: field(spec, "name", src)?,
                        span: if single { node } else { spec },
                        body: None,
                    })
                })
                .collect()
        }
        "const_declaration" => {
            let found = specs(&["const_spec"]);
            let single = found.len() == 1;
            found
                .into_iter()
                .filter_map(|spec| {
                    Some(Declared {
                        kind: SymbolKind::Const,
                        name: field(spec, "name", src)?,
                        span: if single { node } else { spec },
                        body: None,
                    })
                })
                .collect()
        }
        _ => Vec::new(),
    }
}

/// `symbols` flattened depth-first with their depth, for rendering.
pub(crate) fn flatten(symbols: &[Symbol]) -> Vec<(usize, &Symbol)> {
    fn walk<'a>(symbols: &'a [Symbol], depth: usize, out: &mut Vec<(usize, &'a Symbol)>) {
        for s in symbols {
            out.push((depth, s));
            walk(&s.children, depth + 1, out);
        }
    }
    let mut out = Vec::new();
    walk(symbols, 0, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(symbols: &[Symbol]) -> Vec<String> {
        flatten(symbols)
            .into_iter()
            .map(|(d, s)| {
                format!(
                    "{}{} {} {}-{}",
                    "  ".repeat(d),
                    s.kind.word(),
                    s.name,
                    s.start_line,
                    s.end_line
                )
            })
            .collect()
    }

    #[test]
    fn python_functions_classes_methods_and_constants() {
        let src = "\
import os

LIMIT = 3
name = 'x'

@cache
def top(a):
    return a

class Thing(Base):
    def __init__(self):
        pass

    @property
    def size(self):
        return 1
";
        let symbols = outline(Language::Python, src).unwrap();
        assert_eq!(
            names(&symbols),
            [
                "const LIMIT 3-3",
                "function top 6-8",
                "class Thing 10-16",
                "  method __init__ 11-12",
                "  method size 14-16",
            ]
        );
    }

    #[test]
    fn rust_items_impls_and_modules() {
        let src = "\
/// Doc.
pub struct Point<T> {
    x: T,
}

impl<T> Display for Point<T> {
    fn fmt(&self) {}
}

pub trait Shape {
    fn area(&self) -> f64;
}

const MAX: u32 = 3;

mod tests {
    fn helper() {}
}

macro_rules! m { () => {} }
";
        let symbols = outline(Language::Rust, src).unwrap();
        assert_eq!(
            names(&symbols),
            [
                "struct Point 2-4",
                "impl Display for Point<T> 6-8",
                "  method fmt 7-7",
                "trait Shape 10-12",
                "  method area 11-11",
                "const MAX 14-14",
                "mod tests 16-18",
                "  function helper 17-17",
                "macro m 20-20",
            ]
        );
    }

    #[test]
    fn javascript_functions_classes_and_exports() {
        let src = "\
import x from 'y';

export function parse(text) {
  return text;
}

class Reader {
  constructor() {}
  read() {
    return 1;
  }
}

export const format = (value) => `${value}`;
const LIMIT = 3;
export default class Writer {}
";
        let symbols = outline(Language::JavaScript, src).unwrap();
        assert_eq!(
            names(&symbols),
            [
                "function parse 3-5",
                "class Reader 7-12",
                "  method constructor 8-8",
                "  method read 9-11",
                "function format 14-14",
                "class Writer 16-16",
            ]
        );
    }

    #[test]
    fn go_functions_methods_types_and_constants() {
        let src = "\
package main

const Limit = 3

type (
\tServer struct{ addr string }
\tHandler interface{ Serve() }
)

type ID int

func (s *Server) Start() error {
\treturn nil
}

func main() {}
";
        let symbols = outline(Language::Go, src).unwrap();
        assert_eq!(
            names(&symbols),
            [
                "const Limit 3-3",
                "struct Server 6-6",
                "trait Handler 7-7",
                "type ID 10-10",
                "method (s *Server) Start 12-14",
                "function main 16-16",
            ]
        );
    }

    #[test]
    fn other_languages_have_no_outline() {
        assert!(outline(Language::Markdown, "# Title\n").is_none());
        assert!(!supports(Language::TypeScript));
    }
}
