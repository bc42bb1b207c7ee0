//! Gemini CLI: `gemini -p` (headless) with stream-json events, in plan mode, with a policy file
//! that denies every tool that writes or runs commands.
//!
//! Gemini CLI has no structured-output option, so the schema is in the prompt (appended to it on
//! stdin) and the answer's JSON is checked after. The answer is asked for in a ```json code block:
//! Gemini CLI's loop detection skips code blocks, and outside one it cancels a long answer whose
//! text repeats a phrase (a design document's tables do) as "repeating content", then asks the
//! model a recovery question without the task (disabling it takes a setting in the user's own
//! `settings.json`: the system settings files must be owned by root).
//! The prompt comes on stdin; `-p` adds a short line after it. Events: `init`, `message`
//! (assistant text, in deltas), `tool_use`, `tool_result`, `error`, `result` with `stats`.
//! Gemini CLI reports no cost, so the cost stays unknown.

use serde_json::Value;

use super::{Answer, CommandLine, Invocation, json_in, short, tool_arg};
use protocol::Usage;

/// Gemini CLI's policy engine: no tool that writes, edits or runs anything.
const READ_ONLY_POLICY: &str = "[[rule]]\n\
toolName = [\"write_file\", \"replace\", \"run_shell_command\", \"exit_plan_mode\"]\n\
decision = \"deny\"\n\
priority = 999\n";

pub(super) fn command_line(inv: &Invocation<'_>) -> CommandLine {
    let mut args: Vec<String> = vec![
        "--output-format".into(),
        "stream-json".into(),
        "--approval-mode".into(),
        "plan".into(),
        "--skip-trust".into(),
    ];
    if let Some(model) = inv.model {
        args.extend(["--model".into(), model.into()]);
    }
    // Plan mode still offers the model its file-writing tools (for plan files); a policy that
    // denies them (and the shell) takes them out of the model's view altogether.
    let policy = inv.schema_file.with_file_name("gemini-read-only.toml");
    args.extend(["--policy".into(), policy.display().to_string()]);
    args.extend(["--prompt".into(), "Answer the task above.".into()]);
    // The schema goes on stdin with the prompt: a command-line argument has a size limit.
    let stdin_suffix = inv.schema.as_ref().map(|schema| {
        format!(
            "\n## Answer format\n\nAnswer with exactly one JSON object conforming to this JSON \
             Schema, in one ```json code block, and nothing else:\n{schema}\n"
        )
    });
    CommandLine {
        program: "gemini".into(),
        args,
        env: Vec::new(),
        stdin_suffix,
        files: vec![(policy, READ_ONLY_POLICY.into())],
    }
}

pub(super) struct Events {
    json: bool,
    text: String,
    model: Option<String>,
    stats: Option<Value>,
    error: Option<String>,
}

impl Events {
    pub(super) fn new(json: bool) -> Self {
        Self {
            json,
            text: String::new(),
            model: None,
            stats: None,
            error: None,
        }
    }
}

impl super::Events for Events {
    fn line(&mut self, line: &str) -> Vec<String> {
        let Ok(e) = serde_json::from_str::<Value>(line) else {
            return Vec::new();
        };
        match e["type"].as_str() {
            Some("init") => {
                self.model = e["model"].as_str().map(str::to_string);
                vec![format!(
                    "gemini: started (model {})",
                    e["model"].as_str().unwrap_or("?")
                )]
            }
            Some("message") if e["role"].as_str() == Some("assistant") => {
                let t = e["content"].as_str().unwrap_or_default();
                if e["delta"].as_bool() != Some(true) {
                    self.text.clear();
                }
                self.text.push_str(t);
                Vec::new()
            }
            Some("tool_use") => vec![format!(
                "→ {} {}",
                e["tool_name"].as_str().unwrap_or("tool"),
                tool_arg(&e["parameters"])
            )],
            Some("error") => {
                let m = e["message"].as_str().unwrap_or("error");
                if e["severity"].as_str() != Some("warning") {
                    self.error = Some(m.to_string());
                }
                vec![format!("gemini: {}", short(m, 100))]
            }
            Some("result") => {
                if e["status"].as_str() == Some("error") {
                    let m = e["error"]["message"].as_str().unwrap_or("failed");
                    self.error = Some(m.to_string());
                }
                self.stats = Some(e["stats"].clone());
                vec![format!(
                    "gemini: done ({}, cost unknown)",
                    short(&self.text, 60)
                )]
            }
            _ => Vec::new(),
        }
    }

    fn finish(&mut self) -> std::result::Result<Answer, String> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        let Some(stats) = self.stats.take() else {
            return Err("no `result` event in its stream-json output".into());
        };
        let text = std::mem::take(&mut self.text);
        let json = if self.json {
            Some(json_in(&text)?)
        } else {
            None
        };
        Ok(Answer {
            json,
            text,
            usage: Usage {
                prompt_tokens: stats["input_tokens"].as_u64().unwrap_or(0),
                completion_tokens: stats["output_tokens"].as_u64().unwrap_or(0),
                cached_prompt_tokens: stats["cached"].as_u64().unwrap_or(0),
                estimated: stats["input_tokens"].is_null(),
            },
            cost_usd: None,
            // The model that answered (the init event may say only `auto`).
            model: stats["models"]
                .as_object()
                .and_then(|m| m.keys().next().cloned())
                .or_else(|| self.model.clone())
                .unwrap_or_default(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::Events as _;
    use super::*;
    use serde_json::json;

    #[test]
    fn deltas_make_the_answer_and_the_result_gives_usage() {
        let mut ev = Events::new(true);
        for l in [
            json!({"type": "init", "model": "gemini-x", "session_id": "s"}),
            json!({"type": "tool_use", "tool_name": "read_file", "tool_id": "1",
                   "parameters": {"file_path": "a.rs"}}),
            json!({"type": "message", "role": "assistant", "content": "{\"a\":", "delta": true}),
            json!({"type": "message", "role": "assistant", "content": "1}", "delta": true}),
            json!({"type": "result", "status": "success",
                   "stats": {"input_tokens": 7, "output_tokens": 2, "total_tokens": 9}}),
        ] {
            ev.line(&l.to_string());
        }
        let a = ev.finish().unwrap();
        assert_eq!(a.json, Some(json!({"a": 1})));
        assert_eq!((a.usage.prompt_tokens, a.usage.completion_tokens), (7, 2));
        assert_eq!(a.model, "gemini-x");
        assert_eq!(a.cost_usd, None);
    }
}
