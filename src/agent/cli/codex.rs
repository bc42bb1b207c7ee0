//! Codex CLI: `codex exec --json` with `--output-schema FILE` in the read-only sandbox.
//!
//! The prompt is read from stdin (`-`). Events are JSON lines: `item.completed` items (the
//! agent's messages, the commands it ran, its reasoning), `turn.completed` with the turn's usage,
//! `turn.failed` / `error` when it fails. Codex reports no cost, so the cost stays unknown.

use serde_json::Value;

use super::{Answer, CommandLine, Invocation, json_in, short};
use protocol::Usage;

pub(super) fn command_line(
    inv: &Invocation<'_>,
    schema_file: Option<&std::path::Path>,
) -> CommandLine {
    let mut args: Vec<String> = [
        "exec",
        "--json",
        "--sandbox",
        "read-only",
        "--skip-git-repo-check",
        "--ephemeral",
        "--cd",
    ]
    .map(String::from)
    .to_vec();
    args.push(inv.project_dir.display().to_string());
    if let Some(model) = inv.model {
        args.extend(["--model".into(), model.into()]);
    }
    if let Some(file) = schema_file {
        args.extend(["--output-schema".into(), file.display().to_string()]);
    }
    args.push("-".into());
    CommandLine {
        program: "codex".into(),
        args,
        env: Vec::new(),
        stdin_suffix: None,
        files: Vec::new(),
    }
}

#[derive(Default)]
pub(super) struct Events {
    /// The last agent message: the answer.
    last_message: Option<String>,
    usage: Usage,
    turns: u32,
    error: Option<String>,
}

impl super::Events for Events {
    fn line(&mut self, line: &str) -> Vec<String> {
        let Ok(e) = serde_json::from_str::<Value>(line) else {
            return Vec::new();
        };
        match e["type"].as_str() {
            Some("thread.started") => vec!["codex: started".into()],
            Some("item.completed") => {
                let item = &e["item"];
                match item["type"].as_str() {
                    Some("agent_message") => {
                        let text = item["text"].as_str().unwrap_or_default().to_string();
                        let shown = format!("codex: {}", short(&text, 100));
                        self.last_message = Some(text);
                        vec![shown]
                    }
                    Some("command_execution") => vec![format!(
                        "→ run {}",
                        short(item["command"].as_str().unwrap_or_default(), 90)
                    )],
                    Some("reasoning") => {
                        let t = item["text"].as_str().unwrap_or_default();
                        vec![format!("codex thinks: {}", short(t, 90))]
                    }
                    Some("web_search") => vec![format!(
                        "→ search {}",
                        short(item["query"].as_str().unwrap_or_default(), 90)
                    )],
                    // Warnings (e.g. missing model metadata) are not fatal; the turn decides.
                    Some("error") => vec![format!(
                        "codex warning: {}",
                        short(item["message"].as_str().unwrap_or_default(), 100)
                    )],
                    _ => Vec::new(),
                }
            }
            Some("turn.completed") => {
                let u = &e["usage"];
                let cached = u["cached_input_tokens"].as_u64().unwrap_or(0);
                self.usage.prompt_tokens += u["input_tokens"].as_u64().unwrap_or(0);
                self.usage.cached_prompt_tokens += cached;
                self.usage.completion_tokens += u["output_tokens"].as_u64().unwrap_or(0);
                self.usage.estimated |= u.is_null();
                self.turns += 1;
                vec![format!(
                    "codex: done ({} tokens in, {} out, cost unknown)",
                    u["input_tokens"].as_u64().unwrap_or(0),
                    u["output_tokens"].as_u64().unwrap_or(0)
                )]
            }
            Some("turn.failed") => {
                let m = e["error"]["message"].as_str().unwrap_or("turn failed");
                self.error = Some(m.to_string());
                vec![format!("codex: failed: {}", short(m, 100))]
            }
            Some("error") => {
                let m = e["message"].as_str().unwrap_or("error");
                self.error = Some(m.to_string());
                vec![format!("codex: error: {}", short(m, 100))]
            }
            _ => Vec::new(),
        }
    }

    fn finish(&mut self) -> std::result::Result<Answer, String> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        if self.turns == 0 {
            return Err("no `turn.completed` event in its --json output".into());
        }
        let Some(text) = self.last_message.take() else {
            return Err("the turn ended without an agent message".into());
        };
        Ok(Answer {
            json: Some(json_in(&text)?),
            text,
            usage: self.usage,
            cost_usd: None,
            model: String::new(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::Events as _;
    use super::*;
    use serde_json::json;

    #[test]
    fn the_last_agent_message_is_the_answer_and_usage_adds_up() {
        let mut ev = Events::default();
        for l in [
            json!({"type": "thread.started", "thread_id": "t"}),
            json!({"type": "turn.started"}),
            json!({"type": "item.completed", "item": {"type": "error", "message": "no metadata"}}),
            json!({"type": "item.completed", "item": {"type": "command_execution", "command": "rg foo"}}),
            json!({"type": "item.completed", "item": {"type": "agent_message", "text": "{\"a\":1}"}}),
            json!({"type": "turn.completed", "usage": {"input_tokens": 10, "cached_input_tokens": 4,
                   "output_tokens": 3, "reasoning_output_tokens": 0}}),
        ] {
            ev.line(&l.to_string());
        }
        let a = ev.finish().unwrap();
        assert_eq!(a.json, Some(json!({"a": 1})));
        assert_eq!(
            (a.usage.prompt_tokens, a.usage.cached_prompt_tokens),
            (10, 4)
        );
        assert_eq!(a.usage.completion_tokens, 3);
        assert_eq!(a.cost_usd, None);
    }

    #[test]
    fn a_failed_turn_is_an_error() {
        let mut ev = Events::default();
        ev.line(
            &json!({"type": "turn.failed", "error": {"message": "401 Unauthorized"}}).to_string(),
        );
        assert!(ev.finish().unwrap_err().contains("401"));
    }
}
