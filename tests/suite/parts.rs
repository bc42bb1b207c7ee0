//! Documents too long for one reply under the model's output budget are answered in parts: one
//! request per group of sections, each seeing the parts written before it, merged into one
//! document. An agent answering a task in parts, and a whole session whose remote profile has a
//! small output budget.

use std::time::Duration;

use serde_json::{Map, Value, json};

use agentmux::{read_result, write_task};
use docs::DocKind;
use docs::schema::{SchemaLimits, document_schema};
use protocol::{OutputSpec, TaskKind, TaskOutcome, TaskPart};
use test_support::wait::wait_for;

use super::agent::Fixture;
use super::support::Rig;
use super::support::design_team::Script;
use super::support::fake_openai::{FakeOpenAi, FakeReply, Fault, RecordedRequest};

/// The `response_format` schema of a request and its name.
fn requested(r: &RecordedRequest) -> Option<(String, Value)> {
    let js = r.response_format.as_ref()?.get("json_schema")?;
    Some((js["name"].as_str()?.to_string(), js["schema"].clone()))
}

fn property_keys(schema: &Value) -> Vec<String> {
    schema["properties"]
        .as_object()
        .map(|p| p.keys().cloned().collect())
        .unwrap_or_default()
}

fn object_keys(v: &Value) -> Vec<String> {
    v.as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default()
}

fn max_tokens(r: &RecordedRequest) -> u64 {
    r.body["max_tokens"]
        .as_u64()
        .or_else(|| r.body["max_completion_tokens"].as_u64())
        .unwrap_or(u64::MAX)
}

/// A schema of string properties `keys`, all required.
fn strings_schema(keys: &[&str]) -> Value {
    let props: Map<String, Value> = keys
        .iter()
        .map(|k| (k.to_string(), json!({"type": "string"})))
        .collect();
    json!({"type": "object", "properties": props, "required": keys, "additionalProperties": false})
}

fn part(keys: &[&str]) -> TaskPart {
    TaskPart {
        fields: keys.iter().map(|k| k.to_string()).collect(),
        schema: strings_schema(keys),
        instruction: format!("Write only these fields now: {}.", keys.join(", ")),
        prior_tokens: None,
        messages: Vec::new(),
    }
}

/// Answers with `"<field> text"` for every field the request's schema asks for, plus a stray
/// `a` (never asked for after part 1: the agent must keep the first part's); part 2 is cut off,
/// and answered with no JSON at all when the prompt is `no json`.
fn part_answers() -> FakeOpenAi {
    FakeOpenAi::start(|r| {
        let (_, schema) = requested(r).expect("a json_schema request");
        let keys = property_keys(&schema);
        if r.messages[1].content == "no json" && keys.first().map(String::as_str) == Some("c") {
            return FakeReply::text("Sorry, I cannot.");
        }
        let mut m = Map::new();
        for k in &keys {
            m.insert(k.clone(), json!(format!("{k} text")));
        }
        if !keys.contains(&"a".to_string()) {
            m.insert("a".into(), json!("stray"));
        }
        let mut reply = FakeReply::text(Value::Object(m).to_string());
        if keys.first().map(String::as_str) == Some("c") {
            reply.finish_reason = "length".into();
        }
        reply
    })
}

#[test]
fn an_agent_answers_a_task_in_parts_and_merges_them_in_order() {
    let f = Fixture::new(part_answers(), 1);
    f.fake.configure(|s| s.cached_prompt_tokens = Some(5));
    f.open(&["architect"]);
    let mut task = f.task("architect", TaskKind::Draft, "draft the document");
    task.output = OutputSpec::Json {
        name: "doc".into(),
        schema: strings_schema(&["a", "b", "c", "d", "e"]),
    };
    task.parts = vec![part(&["a", "b"]), part(&["c", "d"]), part(&["e"])];
    task.max_tokens = Some(1000);
    write_task(&f.paths, &task).unwrap();
    let r = f.wait_result(&task.id, 60);
    let TaskOutcome::Completed {
        text,
        json,
        usage,
        finish_reason,
        retries,
        ..
    } = r.outcome
    else {
        panic!("{:?}", r.outcome);
    };
    let json = json.expect("merged JSON");
    assert_eq!(object_keys(&json), ["a", "b", "c", "d", "e"], "{json}");
    assert_eq!(json["a"], "a text", "a later part's stray field is ignored");
    assert_eq!(json["e"], "e text");
    assert_eq!(serde_json::from_str::<Value>(&text).unwrap(), json);
    assert_eq!(
        finish_reason.as_deref(),
        Some("length"),
        "part 2 was cut off"
    );
    assert_eq!(retries, 0);

    let reqs = f.fake.requests();
    assert_eq!(reqs.len(), 3);
    let expected_prompt: u64 = reqs
        .iter()
        .map(|r| (r.prompt().chars().count() as u64).div_ceil(4))
        .sum();
    assert_eq!(
        usage.prompt_tokens, expected_prompt,
        "summed over the parts"
    );
    assert_eq!(usage.cached_prompt_tokens, 15, "5 cached tokens a part");
    for (i, (r, fields)) in reqs
        .iter()
        .zip([["a", "b"].as_slice(), &["c", "d"], &["e"]])
        .enumerate()
    {
        let (name, schema) = requested(r).unwrap();
        assert_eq!(name, "doc");
        assert_eq!(property_keys(&schema), fields);
        assert_eq!(max_tokens(r), 1000);
        let roles: Vec<&str> = r.messages.iter().map(|m| m.role.as_str()).collect();
        if i == 0 {
            assert_eq!(roles, ["system", "user", "user"]);
        } else {
            assert_eq!(roles, ["system", "user", "assistant", "user"]);
            let so_far: Value = serde_json::from_str(&r.messages[2].content).unwrap();
            let before: Vec<&str> = ["a", "b", "c", "d"][..2 * i].to_vec();
            assert_eq!(object_keys(&so_far), before, "{so_far}");
        }
        assert_eq!(r.messages[1].content, "draft the document");
        assert!(
            r.last_user().contains(&fields.join(", ")),
            "{}",
            r.last_user()
        );
    }
    let transcript = wait_for(Duration::from_secs(10), "the footer", || {
        let t = std::fs::read_to_string(f.paths.transcript("architect")).ok()?;
        t.contains("── done · ").then_some(t)
    });
    for line in ["part 1/3: a, b", "part 2/3: c, d", "part 3/3: e"] {
        assert!(transcript.contains(line), "{transcript}");
    }

    // A part that fails fails the task, as one call would; no later part is asked for.
    f.fake
        .push_fault(Fault::FinishReason("stop".into()))
        .push_fault(Fault::server_error());
    let mut second = f.task(
        "architect",
        TaskKind::DesignDoc {
            file: "x_design.md".into(),
        },
        "again",
    );
    second.output = task.output.clone();
    second.parts = task.parts.clone();
    write_task(&f.paths, &second).unwrap();
    let r = f.wait_result(&second.id, 60);
    match r.outcome {
        TaskOutcome::Failed {
            retryable, error, ..
        } => {
            assert!(retryable, "{error}");
            assert!(error.contains("500"), "{error}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(f.fake.request_count(), 5);

    // A part with no JSON ends the task there: no JSON, for the validator to reject.
    let mut third = f.task(
        "architect",
        TaskKind::Repair {
            of: Box::new(TaskKind::Draft),
        },
        "no json",
    );
    third.output = task.output.clone();
    third.parts = task.parts.clone();
    write_task(&f.paths, &third).unwrap();
    let r = f.wait_result(&third.id, 60);
    let TaskOutcome::Completed { text, json, .. } = r.outcome else {
        panic!("{:?}", r.outcome);
    };
    assert!(json.is_none(), "{json:?}");
    assert!(
        text.contains(r#"{"a":"a text","b":"b text"}"#) && text.ends_with("Sorry, I cannot."),
        "{text}"
    );
    assert_eq!(f.fake.request_count(), 7, "no third part");
}

/// The proposal's section keys (with the title) in schema order.
fn proposal_keys() -> Vec<String> {
    property_keys(&document_schema(
        DocKind::Proposal,
        &SchemaLimits::for_model(false),
    ))
}

#[test]
fn a_small_output_budget_writes_the_proposal_in_parts_with_every_section() {
    let rig = Rig::new(
        Script::default(),
        "  context_window: 32000\n  max_output_tokens: 1500\nworkflow:\n  review_rounds: 1\n",
    );
    rig.run_headless(0);
    let keys = proposal_keys();
    let reqs = rig.server.requests();
    for r in &reqs {
        assert!(max_tokens(r) <= 1500, "{}", r.body);
    }
    // The proposal draft: the requests for the `proposal` output sharing the first one's prompt.
    let proposal: Vec<&RecordedRequest> = reqs
        .iter()
        .filter(|r| requested(r).is_some_and(|(name, _)| name == "proposal"))
        .collect();
    let first = proposal.first().expect("a proposal request");
    let prompt = &first.messages[..2];
    let draft: Vec<&RecordedRequest> = proposal
        .iter()
        .copied()
        // A repair (the invalid answer and its findings follow the prompt) would have more.
        .filter(|r| r.messages.len() <= 4 && &r.messages[..2] == prompt)
        .collect();
    assert!(draft.len() > 1, "{} proposal draft requests", draft.len());
    let mut written: Vec<String> = Vec::new();
    for (i, r) in draft.iter().enumerate() {
        let (_, schema) = requested(r).unwrap();
        let fields = property_keys(&schema);
        assert!(
            !fields.is_empty() && fields.len() < keys.len(),
            "{fields:?}"
        );
        let required: Vec<String> = schema["required"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect();
        assert_eq!(required, fields);
        if i > 0 {
            // The parts written before, as the assistant's JSON.
            let so_far: Value =
                serde_json::from_str(&r.messages[r.messages.len() - 2].content).unwrap();
            assert_eq!(object_keys(&so_far), written, "part {}", i + 1);
        }
        assert!(
            r.last_user().contains(&fields.join(", ")),
            "{}",
            r.last_user()
        );
        written.extend(fields);
    }
    assert_eq!(written, keys, "every section once, in order");

    // The task said so, and its result is the one merged document.
    let id = rig
        .journal()
        .into_iter()
        .find(|e| {
            e["type"] == "task_dispatched"
                && e["stage"] == "proposal"
                && e["kind"]["kind"] == "draft"
        })
        .expect("the proposal draft was dispatched")["task_id"]
        .as_str()
        .unwrap()
        .to_string();
    let paths = agentmux::SessionPaths::new(rig.session_dir());
    let task: Value =
        serde_json::from_str(&std::fs::read_to_string(paths.task(&id)).unwrap()).unwrap();
    assert_eq!(task["parts"].as_array().unwrap().len(), draft.len());
    let result = read_result(&paths, &id)
        .unwrap()
        .expect("the draft's result");
    let TaskOutcome::Completed { json, .. } = result.outcome else {
        panic!("{:?}", result.outcome);
    };
    assert_eq!(object_keys(&json.unwrap()), keys);

    // Reviews and integrations stay one reply each.
    let others: Vec<&RecordedRequest> = reqs
        .iter()
        .filter(|r| requested(r).is_some_and(|(name, _)| name == "review" || name == "integration"))
        .collect();
    assert!(!others.is_empty());
    for r in others {
        assert!(
            !r.prompt().contains("too long for one reply"),
            "{}",
            r.last_user()
        );
        assert!(
            !r.prompt().contains("the fields written so far"),
            "{}",
            r.last_user()
        );
    }
    let doc = rig.read(".agentmux/design_proposal.md");
    for s in docs::sections::sections().of(DocKind::Proposal) {
        assert!(
            doc.contains(&s.title),
            "no `{}` in the proposal:\n{doc}",
            s.title
        );
    }
    rig.cmd().arg("validate").assert().success();
}
