//! Prompt snapshots and token bounds on the real DevBench PRDs.

use std::path::Path;

use serde_json::Value;

use super::parts::fit;
use super::*;
use crate::roles::{Roles, assemble};
use docs::render::{RenderMeta, render};
use docs::templates::Templates;
use protocol::{Category, MessageRole, Stage, estimate_tokens};

const READTIME: &str = include_str!("../../../../tests/fixtures/prd/readtime.md");
const LICE: &str = include_str!("../../../../tests/fixtures/prd/lice.md");
/// The binary's codebase digest of `tests/fixtures/project/readtime` at 600 tokens (the binary's
/// intake tests check that this file is what the digest gives).
const DIGEST: &str = include_str!("../../../../tests/fixtures/project/readtime.digest.txt");
const GOAL: &str = "A Python library that estimates reading time for text, HTML and markdown.";
const JOURNEY: &str =
    "1. Install with pip. 2. Call readtime.of_markdown(text). 3. Show `3 min read`.";

/// Everything a late-stage prompt can see, built from the fixtures.
struct World {
    digest: String,
    options_md: String,
    proposal_md: String,
    proposal_json: Value,
    options_json: Value,
    manifest: Value,
    design_docs: Vec<(String, String)>,
    contributions: Vec<(String, String)>,
}

fn fixture(name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/docs")
        .join(name);
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn world() -> World {
    let tpl = Templates::builtin().unwrap();
    let meta = RenderMeta::new("readtime", "2026-01-15");
    let options_json = fixture("options.json");
    let proposal_json = fixture("proposal.json");
    let options_md = render(DocKind::Options, &options_json, &meta, &tpl).unwrap();
    let proposal_md = render(DocKind::Proposal, &proposal_json, &meta, &tpl).unwrap();
    let mut design_docs = Vec::new();
    for file in ["estimation_core_design.md", "format_adapters_design.md"] {
        let mut m = meta.clone();
        m.spec_path = Some(format!("/work/readtime/.agentmux/specs/{file}"));
        design_docs.push((
            file.to_string(),
            render(DocKind::DesignDoc, &fixture("design_doc.json"), &m, &tpl).unwrap(),
        ));
    }
    World {
        digest: DIGEST.to_string(),
        options_md,
        proposal_md,
        proposal_json,
        options_json,
        manifest: fixture("manifest.json"),
        design_docs,
        contributions: vec![(
            "data-modeler".into(),
            "```python\n@dataclass(frozen=True)\nclass Result:\n    seconds: int\n    wpm: int\n```\nA `Format` enum replaces format strings.".into(),
        )],
    }
}

fn inputs<'a>(w: &'a World, prd: Option<&'a str>) -> PromptInputs<'a> {
    PromptInputs {
        project_name: "readtime",
        goal: Some(GOAL),
        journey: Some(JOURNEY),
        prd,
        digest: &w.digest,
        code: "",
        options_doc: Some(&w.options_md),
        selected_option: None,
        proposal_doc: Some(&w.proposal_md),
        contributions: &w.contributions,
        manifest: Some(&w.manifest),
        design_docs: &w.design_docs,
        revising: None,
        local_model: true,
        budget: ContextBudget::LOCAL,
    }
}

fn roles() -> Roles {
    assemble(&[], Path::new("/nonexistent"), &Config::default()).unwrap()
}

fn items() -> Vec<FeedbackItem> {
    let item = |id: &str, author: &str, cat, section: &str, comment: &str| FeedbackItem {
        id: id.into(),
        author: author.into(),
        stage: Stage::Options,
        round: 1,
        category: cat,
        section: section.into(),
        comment: comment.into(),
        suggestion: Some("Name the limit and test it.".into()),
    };
    vec![
        item(
            "PE-r1-1",
            "principal-engineer",
            Category::Critical,
            "Architecture Options",
            "Option A ignores HTML script and style tags, inflating counts.",
        ),
        item(
            "CR-r1-1",
            "code-reviewer",
            Category::Important,
            "Option Comparison and Decision",
            "The comparison has no testability dimension.",
        ),
    ]
}

/// What the cases read besides the world.
struct Extras {
    items: Vec<FeedbackItem>,
    /// A re-reviewer's items with the architect's answers.
    own: Vec<(FeedbackItem, Option<Disposition>)>,
    /// What the validator found in the answers the repairs fix.
    findings: Vec<String>,
    /// The changed sections a re-review sees.
    changed: String,
}

impl Extras {
    fn new(findings: Vec<String>, changed: String) -> Self {
        let items = items();
        Self {
            own: own_items(&items),
            items,
            findings,
            changed,
        }
    }
}

/// (snapshot name, role, task).
type Case<'a> = (&'static str, &'static str, PromptTask<'a>);

/// Every task kind but the repairs, in workflow order.
fn cases<'a>(
    w: &'a World,
    x: &'a Extras,
    (prd_text, trace): (&'a str, &'a [(String, String)]),
) -> Vec<Case<'a>> {
    let (items, own, changed) = (&x.items, &x.own, &x.changed);
    vec![
        (
            "summarize",
            "architect",
            PromptTask::Summarize {
                text: prd_text,
                budget_tokens: 500,
            },
        ),
        (
            "draft_prd",
            "architect",
            PromptTask::Draft { kind: DocKind::Prd },
        ),
        (
            "draft_options",
            "architect",
            PromptTask::Draft {
                kind: DocKind::Options,
            },
        ),
        (
            "review_options",
            "principal-engineer",
            PromptTask::Review {
                kind: DocKind::Options,
                document: &w.options_md,
                round: 1,
            },
        ),
        (
            "integrate_options",
            "architect",
            PromptTask::Integrate {
                kind: DocKind::Options,
                document: &w.options_json,
                items,
            },
        ),
        (
            "rereview_options",
            "principal-engineer",
            PromptTask::ReReview {
                kind: DocKind::Options,
                changed,
                own_items: own,
            },
        ),
        ("contribute", "data-modeler", PromptTask::Contribute),
        (
            "draft_proposal",
            "architect",
            PromptTask::Draft {
                kind: DocKind::Proposal,
            },
        ),
        (
            "review_proposal",
            "code-reviewer",
            PromptTask::Review {
                kind: DocKind::Proposal,
                document: &w.proposal_md,
                round: 2,
            },
        ),
        (
            "integrate_proposal",
            "architect",
            PromptTask::Integrate {
                kind: DocKind::Proposal,
                document: &w.proposal_json,
                items,
            },
        ),
        (
            "manifest",
            "architect",
            PromptTask::Manifest {
                min: 2,
                max: 6,
                trace_items: trace,
            },
        ),
        (
            "design_doc",
            "architect",
            PromptTask::DesignDoc {
                file: "format_adapters_design.md",
                scope: "Turning HTML and markdown into countable text.",
            },
        ),
        (
            "final_review",
            "code-reviewer",
            PromptTask::Review {
                kind: DocKind::DesignDoc,
                document: "",
                round: 1,
            },
        ),
        (
            "draft_implementation_plan",
            "architect",
            PromptTask::Draft {
                kind: DocKind::ImplementationPlan,
            },
        ),
    ]
}

/// `base`, then the repairs of two answers that failed validation, as the supervisor asks for
/// them.
fn with_repairs<'a>(base: &'a [Case<'a>], findings: &'a [String]) -> Vec<Case<'a>> {
    let of = |name: &str| {
        &base
            .iter()
            .find(|(n, _, _)| *n == name)
            .expect("a case of that name")
            .2
    };
    let repair = |name, of, answer| {
        (
            name,
            "architect",
            PromptTask::Repair {
                of,
                answer,
                findings,
                cut_off: false,
            },
        )
    };
    let mut all = base.to_vec();
    all.push(repair(
        "repair_proposal",
        of("draft_proposal"),
        "{\"title\": \"ReadTime\", \"steps\": []}",
    ));
    all.push(repair(
        "repair_manifest",
        of("manifest"),
        "{\"selected_docs\": [\"Core.md\"]}",
    ));
    all
}

fn own_items(items: &[FeedbackItem]) -> Vec<(FeedbackItem, Option<Disposition>)> {
    vec![(
        items[0].clone(),
        Some(Disposition {
            item_id: "PE-r1-1".into(),
            decision: protocol::Decision::Accepted,
            rationale: "Counts must exclude code that is never read.".into(),
            change: Some("Option A risks: drop script and style before counting".into()),
            acknowledgement: None,
            round: 1,
        }),
    )]
}

/// The prompt as sent: the role prompt's first line, then every other message in full.
fn render_prompt(
    Prompt {
        messages,
        output,
        title,
        ..
    }: &Prompt,
) -> String {
    let out = match output {
        OutputSpec::Text => "text".to_string(),
        OutputSpec::Json { name, schema } => format!(
            "json `{name}` ({} schema tokens)",
            estimate_tokens(&schema.to_string())
        ),
    };
    let system = &messages[0].content;
    let mut s = format!(
        "title: {title}\noutput: {out}\nsystem: {} ({} tokens)\ntokens: {}\n",
        system.lines().next().unwrap_or_default(),
        estimate_tokens(system),
        messages
            .iter()
            .map(|m| estimate_tokens(&m.content))
            .sum::<u32>(),
    );
    for m in &messages[1..] {
        let role = match m.role {
            MessageRole::System => "system",
            MessageRole::User => "user",
            MessageRole::Assistant => "assistant",
            MessageRole::Tool => "tool",
        };
        s.push_str(&format!("----- {role} -----\n{}", m.content));
        if !s.ends_with('\n') {
            s.push('\n');
        }
    }
    s
}

#[test]
fn prompt_snapshots_for_every_task_on_the_readtime_prd() {
    let w = world();
    let cfg = Config::default();
    let roles = roles();
    let findings = vec![
        "High-Level Implementation Plan (steps): [] has less than 8 items".to_string(),
        "Security Design (security): \"security\" is a required property".to_string(),
    ];
    let changed =
        docs::markdown::extract_sections(DocKind::Options, &w.options_md, &["options".into()]);
    let x = Extras::new(findings, changed);
    let trace = crate::trace::items(READTIME, None);
    assert!(trace.len() >= 5, "{trace:?}");
    let base = cases(&w, &x, (LICE, &trace));
    for (name, role, task) in with_repairs(&base, &x.findings) {
        let role = roles.get(role).unwrap();
        let prd = if matches!(task, PromptTask::Draft { kind: DocKind::Prd }) {
            None
        } else {
            Some(READTIME)
        };
        let prompt = build(role, &task, &inputs(&w, prd), &cfg);
        insta::assert_snapshot!(format!("prompt_{name}"), render_prompt(&prompt));
    }
}

/// The prompts of a capable model where the seeds' full depth differs from the local shapes:
/// the section depth (tables, system context, stakeholders), the phase gates, the appendices,
/// the acknowledgement, the manifest's inventory, the plan's sources and DRY, the helpers'
/// sequence. The JSON schema each carries is snapshotted with it.
#[test]
fn capable_prompt_snapshots_ask_for_the_seeds_full_depth() {
    let w = world();
    let cfg = Config::default();
    let roles = roles();
    let changed =
        docs::markdown::extract_sections(DocKind::Options, &w.options_md, &["options".into()]);
    let x = Extras::new(Vec::new(), changed);
    let trace = crate::trace::items(READTIME, None);
    let base = cases(&w, &x, (LICE, &trace));
    let wanted = [
        "contribute",
        "draft_proposal",
        "integrate_proposal",
        "manifest",
        "design_doc",
        "draft_implementation_plan",
    ];
    for (name, role, task) in base.iter().filter(|(n, _, _)| wanted.contains(n)) {
        let capable = PromptInputs {
            local_model: false,
            budget: ContextBudget {
                window: 128_000,
                output: 16_384,
                context_cap: None,
                schema_in_prompt: false,
            },
            ..inputs(&w, Some(READTIME))
        };
        let prompt = build(roles.get(role).unwrap(), task, &capable, &cfg);
        let schema = match &prompt.output {
            OutputSpec::Json { schema, .. } => serde_json::to_string_pretty(schema).unwrap(),
            OutputSpec::Text => "text".into(),
        };
        insta::assert_snapshot!(
            format!("capable_{name}"),
            format!("{}\n===== schema =====\n{schema}\n", render_prompt(&prompt))
        );
    }
}

#[test]
fn every_prompt_stays_well_under_the_local_window() {
    let w = world();
    let roles = roles();
    let findings: Vec<String> = (0..12)
        .map(|i| format!("finding {i}: something is missing in section {i}"))
        .collect();
    let x = Extras::new(findings, w.options_md.clone());
    // A PRD far over the budget (as if it had not been summarised) must still be bounded.
    let huge_prd = LICE.repeat(8);
    let mut report = Vec::new();
    let cfg = Config::default();
    for local_model in [true, false] {
        for (prd_name, prd) in [
            ("readtime", READTIME),
            ("lice", LICE),
            ("lice x8", huge_prd.as_str()),
        ] {
            let trace = crate::trace::items(prd, None);
            let base = cases(&w, &x, (prd, &trace));
            for (name, role, task) in with_repairs(&base, &x.findings) {
                let Prompt {
                    messages, output, ..
                } = build(
                    roles.get(role).unwrap(),
                    &task,
                    &PromptInputs {
                        local_model,
                        ..inputs(&w, Some(prd))
                    },
                    &cfg,
                );
                let tokens: u32 = messages.iter().map(|m| estimate_tokens(&m.content)).sum();
                report.push(format!("{prd_name:8} {name:26} {tokens}"));
                if let PromptTask::Summarize { budget_tokens, .. } = task {
                    // Summarising reads the whole long text: locally it must fit the window
                    // with its output; a remote model gets the whole text.
                    assert!(
                        !local_model || tokens + budget_tokens <= cfg.llm.local.ctx_size,
                        "{prd_name} {name}: {tokens} tokens"
                    );
                } else {
                    assert!(tokens < 4600, "{prd_name} {name}: {tokens} tokens");
                }
                if let OutputSpec::Json { schema, .. } = output {
                    docs::schema::compile(&schema).unwrap();
                }
            }
        }
    }
    eprintln!("{}", report.join("\n"));
}

#[test]
fn prompts_use_the_chosen_option_and_mark_truncation() {
    let w = world();
    let roles = roles();
    let proposal_prompt = |selected_option| {
        let inp = PromptInputs {
            selected_option,
            ..inputs(&w, Some(READTIME))
        };
        let task = PromptTask::Draft {
            kind: DocKind::Proposal,
        };
        let prompt = build(
            roles.get("architect").unwrap(),
            &task,
            &inp,
            &Config::default(),
        );
        prompt.messages[1].content.clone()
    };
    let user = proposal_prompt(Some("Pluggable format registry"));
    assert!(
        user.contains("The design builds on Option B: Pluggable format registry (above)."),
        "{user}"
    );
    // The options document is there whole (it fits), the other options too.
    assert!(user.contains("### Option A:"));
    assert!(
        proposal_prompt(None).contains("The design builds on Option A: Single module"),
        "the recommendation stands when nobody chose"
    );

    let long = "word ".repeat(10_000);
    let cut = fit(&long, 100);
    assert!(estimate_tokens(&cut) <= 100, "{}", estimate_tokens(&cut));
    assert!(cut.ends_with("of 12500 tokens shown]"), "{cut}");
    assert_eq!(fit("short", 100), "short");
}

#[test]
fn integrate_pins_item_ids_and_rereview_sees_only_its_items() {
    let w = world();
    let roles = roles();
    let items = items();
    let Prompt {
        messages: m,
        output: out,
        ..
    } = build(
        roles.get("architect").unwrap(),
        &PromptTask::Integrate {
            kind: DocKind::Options,
            document: &w.options_json,
            items: &items,
        },
        &inputs(&w, Some(READTIME)),
        &Config::default(),
    );
    let OutputSpec::Json { schema, .. } = out else {
        panic!("json expected")
    };
    assert_eq!(
        schema["properties"]["dispositions"]["items"]["properties"]["item_id"]["enum"],
        serde_json::json!(["PE-r1-1", "CR-r1-1"])
    );
    assert!(
        m[1].content
            .contains("PE-r1-1 (critical, from principal-engineer)")
    );
    assert!(
        m[1].content.contains("Requirements (PRD)"),
        "an integration reads the PRD"
    );

    let own = own_items(&items);
    let Prompt {
        messages: m,
        output: out,
        title,
        ..
    } = build(
        roles.get("principal-engineer").unwrap(),
        &PromptTask::ReReview {
            kind: DocKind::Options,
            changed: "## 2. Architecture Options\n\nchanged text",
            own_items: &own,
        },
        &inputs(&w, Some(READTIME)),
        &Config::default(),
    );
    let OutputSpec::Json { schema, .. } = out else {
        panic!("json expected")
    };
    assert_eq!(schema["properties"]["verdicts"]["minItems"], 1);
    assert!(
        m[1].content
            .contains("Architect: accepted. Counts must exclude")
    );
    assert!(!m[1].content.contains("CR-r1-1"));
    assert!(m[1].content.contains("Requirements (PRD)"));
    assert_eq!(title, "Re-review 1 items on the architecture options");
}

#[test]
fn large_documents_in_integration_show_only_the_named_sections() {
    let roles = roles();
    let w = world();
    let mut doc = w.proposal_json.clone();
    doc["components"] = Value::String("component detail ".repeat(2000));
    let mut items = items();
    items[0].section = "Security Design".into();
    items.truncate(1);
    let Prompt { messages: m, .. } = build(
        roles.get("architect").unwrap(),
        &PromptTask::Integrate {
            kind: DocKind::Proposal,
            document: &doc,
            items: &items,
        },
        &inputs(&w, None),
        &Config::default(),
    );
    let user = &m[1].content;
    assert!(user.contains("\"security\":"), "{user}");
    assert!(!user.contains("component detail"));
    assert!(user.contains("Sections not shown") && user.contains("components"));
}

#[test]
fn the_code_pack_goes_after_the_digest_and_capable_authors_are_asked_to_cite() {
    let w = world();
    let roles = roles();
    let pack = "## Code excerpts relevant to this task\n\nreadtime/utils.py:66-93\n```python\ndef read_time_as_seconds(text):\n```\n";
    let prompt = |local_model, kind, role: &str, code| {
        let task = match kind {
            Some(kind) => PromptTask::Draft { kind },
            None => PromptTask::Review {
                kind: DocKind::Proposal,
                document: "",
                round: 1,
            },
        };
        let inp = PromptInputs {
            local_model,
            code,
            budget: if local_model {
                ContextBudget::LOCAL
            } else {
                ContextBudget {
                    window: 128_000,
                    output: 16_384,
                    ..ContextBudget::LOCAL
                }
            },
            ..inputs(&w, Some(READTIME))
        };
        build(roles.get(role).unwrap(), &task, &inp, &Config::default()).messages[1]
            .content
            .clone()
    };
    let cite = "cite it as `path:line` or `path:start-end`";
    let check = "Check every claim about existing code";
    let capable = prompt(false, Some(DocKind::Proposal), "architect", pack);
    let digest = capable.find("Codebase digest").unwrap();
    let code = capable.find(super::CODE_PACK).unwrap();
    assert!(digest < code, "the pack follows the digest");
    assert!(
        capable[code..].contains("readtime/utils.py:66-93\n```python\ndef read_time_as_seconds")
    );
    assert!(capable.contains(cite), "{capable}");
    assert!(prompt(false, None, "code-reviewer", pack).contains(check));
    // The bundled model sees the code but is not asked to cite it; no code, no rule.
    let local = prompt(true, Some(DocKind::Proposal), "architect", pack);
    assert!(
        local.contains("def read_time_as_seconds") && !local.contains(cite),
        "{local}"
    );
    let greenfield = prompt(false, Some(DocKind::Proposal), "architect", "");
    assert!(!greenfield.contains(super::CODE_PACK) && !greenfield.contains(cite));
    assert!(!prompt(false, None, "code-reviewer", "").contains(check));
}

#[test]
fn the_change_proposal_is_reviewed_integrated_and_re_reviewed_with_its_own_subject() {
    let w = world();
    let roles = roles();
    let items = items();
    let existing = vec!["api_design.md".to_string()];
    let change = serde_json::json!({"summary": "Export clicks.", "changes": [], "requirements": [], "plan_additions": []});
    // An update session's proposal is the baseline's followed by its change proposal; a task on
    // the change proposal shows the change once, as its work.
    let combined = format!(
        "{}\n\n# Change Proposal\n\nExport clicks as CSV.",
        w.proposal_md.trim_end()
    );
    let mut update_inputs = inputs(&w, Some(READTIME));
    update_inputs.proposal_doc = Some(&combined);
    let review = build(
        roles.get("code-reviewer").unwrap(),
        &PromptTask::ReviewChange {
            document: "# Change Proposal\n\nExport clicks as CSV.",
            round: 1,
        },
        &update_inputs,
        &Config::default(),
    );
    assert_eq!(review.title, "Review the change proposal, round 1");
    let text = &review.messages[1].content;
    assert_eq!(text.matches("Export clicks as CSV.").count(), 1, "{text}");
    assert!(
        text.contains("Design proposal"),
        "the baseline's proposal stays"
    );
    let OutputSpec::Json { name, schema } = &review.output else {
        panic!("json expected")
    };
    assert_eq!(name, "review");
    assert!(schema["properties"]["items"].is_object(), "{schema}");

    let integrate = build(
        roles.get("architect").unwrap(),
        &PromptTask::IntegrateChange {
            document: &change,
            items: &items,
            existing: &existing,
        },
        &inputs(&w, Some(READTIME)),
        &Config::default(),
    );
    assert_eq!(
        integrate.title,
        "Integrate 2 items into the change proposal"
    );
    let OutputSpec::Json { schema, .. } = &integrate.output else {
        panic!("json expected")
    };
    assert_eq!(
        schema["properties"]["dispositions"]["items"]["properties"]["item_id"]["enum"],
        serde_json::json!(["PE-r1-1", "CR-r1-1"])
    );
    // The document is the change proposal, any of its fields.
    let document = &schema["properties"]["document"];
    assert!(
        document["properties"]["plan_additions"].is_object(),
        "{document}"
    );
    assert!(document.get("required").is_none(), "{document}");
    assert!(
        integrate.messages[1]
            .content
            .contains("PE-r1-1 (critical, from principal-engineer)")
    );

    let own = own_items(&items);
    let rereview = build(
        roles.get("principal-engineer").unwrap(),
        &PromptTask::ReReviewChange {
            document: "# Change Proposal\n\nExport clicks as CSV, revised.",
            own_items: &own,
        },
        &inputs(&w, Some(READTIME)),
        &Config::default(),
    );
    assert_eq!(rereview.title, "Re-review 1 items on the change proposal");
    assert!(
        rereview.messages[1]
            .content
            .contains("Architect: accepted. Counts must exclude")
    );
    assert!(!rereview.messages[1].content.contains("CR-r1-1"));
}
