//! Property tests: the validators and parsers never panic, whatever the input (arbitrary strings
//! and bytes, markdown-ish documents full of headings and fences, arbitrary JSON), and valid
//! documents stay valid however a person styles their headings.

use std::path::Path;

use docs::validate::{
    Structure, check_text, mermaid::check_diagram, names::check_doc_name, traceability,
    validate_design_doc, validate_manifest, validate_mermaid_blocks, validate_options,
    validate_plan, validate_prd, validate_proposal,
};
use proptest::prelude::*;
use serde_json::{Value, json};

const KINDS: &[&str] = &[
    "flowchart LR",
    "graph TD",
    "sequenceDiagram",
    "erDiagram",
    "classDiagram",
    "stateDiagram-v2",
    "C4Context",
    "gantt",
    "pie",
    "journey",
    "mindmap",
    "timeline",
    "gitGraph",
    "",
    "%%{init: {}}%%",
    "---\ntitle: x\n---\nflowchart LR",
];

const MANIFEST_KEYS: &[&str] = &[
    "project_name",
    "selected_docs",
    "design_areas",
    "rationale",
    "assumptions_tbd",
    "traceability",
    "phase_plan_overview",
];

fn titles() -> Vec<String> {
    let s = Structure::builtin();
    let mut t: Vec<String> = [
        &s.prd,
        &s.options,
        &s.option_parts,
        &s.proposal,
        &s.step_parts,
        &s.design_doc,
        &s.implementation_plan,
    ]
    .iter()
    .flat_map(|v| v.iter().map(|x| x.title.clone()))
    .collect();
    t.extend(
        [
            "Option A: X",
            "Option B",
            "Option 3 - y",
            "Step 1: a",
            "Step 99",
            "Goals",
            "Features",
        ]
        .map(String::from),
    );
    t
}

/// Mermaid parsing dominates the cost (a few ms per diagram in a debug build), so the cases are
/// fewer where every case parses several diagrams.
fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        ..ProptestConfig::default()
    }
}

/// One chunk of a markdown-ish document.
fn piece() -> impl Strategy<Value = String> {
    let heading = (1usize..=7, prop::sample::select(titles()), 0u8..4, 0u32..30).prop_map(
        |(level, title, style, n)| {
            let num = match style {
                0 => format!("{n}. "),
                1 => format!("{n} "),
                _ => String::new(),
            };
            format!("{} {num}{title}\n", "#".repeat(level))
        },
    );
    let fence = (
        prop::sample::select(KINDS),
        ".{0,60}",
        "[A-Za-z0-9 \\[\\]()>|:;{}-]{0,60}",
        any::<bool>(),
        prop::sample::select(vec!["```", "~~~", "````"]),
    )
        .prop_map(|(kind, junk, body, close, f)| {
            format!(
                "{f}mermaid\n{kind}\n  {body}\n  {junk}\n{}",
                if close {
                    format!("{f}\n")
                } else {
                    String::new()
                }
            )
        });
    let label = (
        prop::sample::select(titles()),
        "[ -~]{0,30}",
        prop::sample::select(vec![
            "**{}:** ",
            "- {}: ",
            "#### {}\n",
            "| {} | ",
            "{}:",
            "**{}**\n",
        ]),
    )
        .prop_map(|(t, rest, style)| format!("{}{rest}\n", style.replace("{}", &t)));
    let table =
        prop::collection::vec(prop::collection::vec("[ -{}~]{0,8}", 0..5), 0..5).prop_map(|rows| {
            rows.iter()
                .enumerate()
                .map(|(i, r)| {
                    let line = format!("| {} |\n", r.join(" | "));
                    if i == 0 {
                        format!("{line}|---|---|\n")
                    } else {
                        line
                    }
                })
                .collect::<String>()
        });
    let list = (
        "[ 0-9]{0,4}",
        prop::sample::select(vec!["- ", "* ", "1. ", "12) ", "   - ", "> "]),
        "[ -~]{0,40}",
    )
        .prop_map(|(indent, marker, text)| format!("{indent}{marker}{text}\n"));
    prop_oneof![
        3 => heading,
        2 => fence,
        2 => label,
        1 => table,
        2 => list,
        2 => "[ -~]{0,60}\n",
        1 => ".{0,30}",
        1 => "\n{0,3}",
        1 => "(Setext|Title)\n(===|---)\n",
        1 => "<!-- [ -~]{0,20} -->\n",
        1 => "```[a-z]{0,8}\n",
    ]
}

fn markdownish() -> impl Strategy<Value = String> {
    prop::collection::vec(piece(), 0..40).prop_map(|v| v.concat())
}

fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "a_design.md",
            "auth_security_design.md",
            "../x_design.md",
            "/abs_design.md",
            "x/y_design.md",
            "C:\\x_design.md",
            "Bad Name.md",
            "",
            "..",
            "x_design.md\0",
        ])
        .prop_map(String::from),
        "[a-z_]{1,12}_design\\.md",
        "[a-zA-Z0-9_./\\\\ -]{0,30}",
        ".{0,20}",
    ]
}

fn json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        name().prop_map(Value::from),
        "(O|FR|NFR|G)-?[0-9]{1,3}(\\.\\.(O|FR)-?[0-9]{1,3})?".prop_map(Value::from),
        ".{0,30}".prop_map(Value::from),
    ];
    leaf.prop_recursive(5, 96, 8, |inner| {
        let key = prop_oneof![
            prop::sample::select(MANIFEST_KEYS).prop_map(String::from),
            name()
        ];
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            prop::collection::btree_map(key, inner, 0..8)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// An object with the manifest's keys and arbitrary values (reaches the deeper checks).
fn manifest_shaped() -> impl Strategy<Value = Value> {
    (
        prop::collection::vec(prop_oneof![name().prop_map(Value::from), json()], 0..10),
        json(),
        json(),
        json(),
        prop::collection::btree_map(name(), prop::collection::vec(json(), 0..4), 0..6),
    )
        .prop_map(|(docs, areas, rationale, extra, trace)| {
            let trace: serde_json::Map<String, Value> = trace
                .into_iter()
                .map(|(k, v)| (k, Value::Array(v)))
                .collect();
            json!({
                "project_name": "p",
                "selected_docs": docs,
                "design_areas": areas,
                "rationale": rationale,
                "assumptions_tbd": extra,
                "traceability": trace,
                "phase_plan_overview": []
            })
        })
}

fn run_all_markdown(md: &str) {
    let _ = validate_options(md);
    let _ = validate_proposal(md);
    let _ = validate_design_doc(md);
    let _ = validate_plan(md);
    let _ = validate_prd(md);
    let _ = validate_mermaid_blocks(md);
    let _ = traceability(
        md,
        Some(md),
        &json!({"traceability": {"a_design.md": [md]}}),
    );
}

proptest! {
    #![proptest_config(config(160))]

    #[test]
    fn markdown_validators_never_panic_on_arbitrary_strings(s in any::<String>()) {
        run_all_markdown(&s);
    }

    #[test]
    fn markdown_validators_never_panic_on_markdownish_documents(md in markdownish()) {
        run_all_markdown(&md);
    }

    #[test]
    fn mermaid_parser_never_panics(kind in prop::sample::select(KINDS), body in ".{0,200}", tail in "[ -~\n]{0,200}") {
        let _ = check_diagram(&format!("{kind}\n{body}\n{tail}"));
    }

    #[test]
    fn check_text_never_panics_and_only_accepts_bounded_text(bytes in prop::collection::vec(any::<u8>(), 0..600), max in 0usize..700) {
        if let Ok(text) = check_text(&bytes, max) {
            prop_assert!(text.len() <= max);
            prop_assert!(!text.contains('\0'));
            let bad = text.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\t' | '\r' | '\u{0C}'));
            prop_assert!(!bad, "control character accepted");
        }
    }

    #[test]
    fn manifest_validator_never_panics_on_arbitrary_json(
        v in json(),
        written in prop::option::of(prop::collection::vec(name(), 0..6)),
        min in 0usize..8,
        max in 0usize..8,
    ) {
        let _ = validate_manifest(&v, written.as_deref(), min, max);
        let _ = traceability("# P\n\n## Objectives\n\n- O1: x\n", None, &v);
    }

}

proptest! {
    #![proptest_config(config(64))]

    #[test]
    fn manifest_validator_never_panics_on_manifest_shaped_json(
        v in manifest_shaped(),
        written in prop::option::of(prop::collection::vec(name(), 0..6)),
        prd in markdownish(),
    ) {
        let f = validate_manifest(&v, written.as_deref(), 2, 6);
        // every listed name that is unsafe is reported
        for (i, d) in v["selected_docs"].as_array().unwrap().iter().enumerate() {
            if let Some(n) = d.as_str()
                && check_doc_name(n).is_err() {
                    let loc = format!("selected_docs[{i}]");
                    prop_assert!(f.iter().any(|x| x.location == loc), "{n:?} not reported: {f:?}");
                }
        }
        let _ = traceability(&prd, None, &v);
    }

    #[test]
    fn valid_documents_stay_valid_in_any_heading_style(
        level in 1usize..=2,
        numbering in 0u8..4,
        case in 0u8..3,
        amp in any::<bool>(),
        colon in any::<bool>(),
    ) {
        let restyle = |md: &str| -> String {
            md.lines()
                .map(|line| match top_section(line) {
                    Some((n, title)) => {
                        let mut t = title.to_string();
                        if amp { t = t.replace(" and ", " & "); } else { t = t.replace(" & ", " and "); }
                        t = match case { 0 => t, 1 => t.to_lowercase(), _ => t.to_uppercase() };
                        let num = match numbering { 0 => format!("{n}. "), 1 => format!("{n} "), 2 => format!("{n}) "), _ => String::new() };
                        format!("{} {num}{t}{}", "#".repeat(level), if colon { ":" } else { "" })
                    }
                    None => line.to_string(),
                })
                .collect::<Vec<_>>()
                .join("\n")
        };
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/specs/rendered");
        let read = |f: &str| std::fs::read_to_string(dir.join(f)).unwrap();
        let checks: [(&str, Check); 4] = [
            ("options.md", validate_options),
            ("design_proposal.md", validate_proposal),
            ("implementation_plan.md", validate_plan),
            ("specs/notification_outbox_backend_design.md", validate_design_doc),
        ];
        for (file, check) in checks {
            let md = restyle(&read(file));
            let f = check(&md);
            prop_assert!(f.is_empty(), "{file}: {f:#?}\n{md}");
        }
    }
}

type Check = fn(&str) -> Vec<docs::validate::Finding>;

/// `## 3. Title` -> (3, "Title").
fn top_section(line: &str) -> Option<(u32, &str)> {
    let rest = line.strip_prefix("## ")?;
    let (num, title) = rest.split_once(". ")?;
    Some((num.parse().ok()?, title))
}
