//! Claude Code: `claude -p` with stream-json events and `--json-schema`.
//!
//! Read-only: only the read tools exist (`--tools`), they are pre-approved (`--allowedTools`)
//! and anything else is refused without asking (`--permission-mode dontAsk`). The schema is
//! offered to the model as the `StructuredOutput` tool; the last `result` event carries the
//! parsed answer (`structured_output`), the usage and `total_cost_usd`.

use serde_json::Value;

use super::{Answer, CommandLine, Invocation, short, tool_arg};
use protocol::Usage;

/// The tools a role may use: reading and searching the repository.
const READ_TOOLS: &str = "Read,Glob,Grep";

pub(super) fn command_line(inv: &Invocation<'_>) -> CommandLine {
    let mut args: Vec<String> = [
        "-p",
        "--output-format",
        "stream-json",
        "--verbose",
        "--no-session-persistence",
        "--permission-mode",
        "dontAsk",
        "--tools",
        READ_TOOLS,
        "--allowedTools",
        READ_TOOLS,
    ]
    .map(String::from)
    .to_vec();
    if let Some(model) = inv.model {
        args.extend(["--model".into(), model.into()]);
    }
    if let Some(schema) = &inv.schema {
        args.extend(["--json-schema".into(), schema.to_string()]);
    }
    CommandLine {
        program: "claude".into(),
        args,
        env: Vec::new(),
        stdin_suffix: None,
        files: Vec::new(),
    }
}

#[derive(Default)]
pub(super) struct Events {
    model: Option<String>,
    result: Option<Value>,
}

impl super::Events for Events {
    fn line(&mut self, line: &str) -> Vec<String> {
        let Ok(e) = serde_json::from_str::<Value>(line) else {
            return Vec::new();
        };
        match (e["type"].as_str(), e["subtype"].as_str()) {
            (Some("system"), Some("init")) => {
                self.model = e["model"].as_str().map(str::to_string);
                vec![format!(
                    "claude: started (model {})",
                    e["model"].as_str().unwrap_or("?")
                )]
            }
            (Some("assistant"), _) => {
                if let Some(m) = e["message"]["model"].as_str() {
                    self.model = Some(m.to_string());
                }
                let blocks = e["message"]["content"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default();
                blocks
                    .iter()
                    .filter_map(|b| match b["type"].as_str() {
                        Some("text") => {
                            let t = b["text"].as_str().unwrap_or_default();
                            (!t.trim().is_empty()).then(|| format!("claude: {}", short(t, 100)))
                        }
                        Some("tool_use") => match b["name"].as_str() {
                            Some("StructuredOutput") => Some("→ answer".to_string()),
                            Some(name) => Some(format!("→ {name} {}", tool_arg(&b["input"]))),
                            None => None,
                        },
                        _ => None,
                    })
                    .collect()
            }
            (Some("result"), _) => {
                self.result = Some(e.clone());
                let cost = e["total_cost_usd"]
                    .as_f64()
                    .map_or("cost unknown".to_string(), |c| format!("${c:.4}"));
                vec![format!(
                    "claude: done ({} turns, {cost})",
                    e["num_turns"].as_u64().unwrap_or(0)
                )]
            }
            _ => Vec::new(),
        }
    }

    fn finish(&mut self) -> std::result::Result<Answer, String> {
        let Some(r) = self.result.take() else {
            return Err("no `result` event in its stream-json output".into());
        };
        let text = r["result"].as_str().unwrap_or_default().to_string();
        if r["is_error"].as_bool() == Some(true) {
            let http = r["api_error_status"]
                .as_u64()
                .map_or(String::new(), |s| format!(" (HTTP {s})"));
            return Err(format!("it reported an error{http}: {}", short(&text, 300)));
        }
        let json = match r.get("structured_output") {
            Some(v) if !v.is_null() => Some(v.clone()),
            _ => None,
        };
        let u = &r["usage"];
        let cached = u["cache_read_input_tokens"].as_u64().unwrap_or(0);
        // Anthropic counts cache reads and writes apart from `input_tokens`.
        let prompt = u["input_tokens"].as_u64().unwrap_or(0)
            + cached
            + u["cache_creation_input_tokens"].as_u64().unwrap_or(0);
        let usage = Usage {
            prompt_tokens: prompt,
            completion_tokens: u["output_tokens"].as_u64().unwrap_or(0),
            cached_prompt_tokens: cached,
            estimated: u.is_null(),
        };
        let model = r["modelUsage"]
            .as_object()
            .and_then(|m| m.keys().next().cloned())
            .or_else(|| self.model.clone())
            .unwrap_or_default();
        Ok(Answer {
            text: match &json {
                Some(v) => v.to_string(),
                None => text,
            },
            json,
            usage,
            cost_usd: r["total_cost_usd"].as_f64(),
            model,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::Events as _;
    use super::*;
    use serde_json::json;

    #[test]
    fn the_result_event_gives_the_answer_usage_and_cost() {
        let mut ev = Events::default();
        let lines = [
            json!({"type": "system", "subtype": "init", "model": "claude-x"}),
            json!({"type": "assistant", "message": {"model": "claude-x", "content": [
                {"type": "tool_use", "name": "Read", "input": {"file_path": "/p/src/main.rs"}},
            ]}}),
            json!({"type": "system", "subtype": "informational", "message": "note"}),
            json!({"type": "assistant", "message": {"content": [
                {"type": "tool_use", "name": "StructuredOutput", "input": {"a": 1}},
            ]}}),
            json!({"type": "result", "subtype": "success", "is_error": false, "num_turns": 3,
                   "result": "{\"a\":1}", "structured_output": {"a": 1}, "total_cost_usd": 0.0123,
                   "usage": {"input_tokens": 100, "cache_read_input_tokens": 50,
                             "cache_creation_input_tokens": 10, "output_tokens": 20},
                   "modelUsage": {"claude-x": {}}}),
        ];
        let shown: Vec<String> = lines.iter().flat_map(|l| ev.line(&l.to_string())).collect();
        assert_eq!(
            shown,
            [
                "claude: started (model claude-x)",
                "→ Read /p/src/main.rs",
                "→ answer",
                "claude: done (3 turns, $0.0123)"
            ]
        );
        let a = ev.finish().unwrap();
        assert_eq!(a.json, Some(json!({"a": 1})));
        assert_eq!(a.cost_usd, Some(0.0123));
        assert_eq!(a.usage.prompt_tokens, 160);
        assert_eq!(a.usage.cached_prompt_tokens, 50);
        assert_eq!(a.usage.completion_tokens, 20);
        assert_eq!(a.model, "claude-x");
    }

    #[test]
    fn an_error_result_and_a_missing_result_are_errors() {
        let mut ev = Events::default();
        ev.line(
            &json!({"type": "result", "subtype": "success", "is_error": true,
                    "result": "Invalid API key · Please run /login"})
            .to_string(),
        );
        let e = ev.finish().unwrap_err();
        assert!(e.contains("Please run /login"), "{e}");
        assert!(Events::default().finish().is_err());
    }
}
