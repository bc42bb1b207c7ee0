//! A generic program (`backend: command`, `roles.<name>.command`), run through `sh -c`.
//!
//! The contract (also in the README and on [`protocol::config::Backend::Command`]): the prompt
//! on stdin; `AGENTMUX_SCHEMA_FILE` names the answer's JSON Schema (unset for a text answer);
//! `AGENTMUX_MODEL` is the role's model when it has one; `AGENTMUX_ROLE` is the role. It prints
//! the answer on stdout and exits 0. Each stdout line is shown in the pane as it comes.
//! Usage is estimated from the text and the cost is unknown.

use super::{Answer, CommandLine, Invocation, json_in, short};
use protocol::{Usage, estimate_tokens};

pub(super) fn command_line(
    inv: &Invocation<'_>,
    schema_file: Option<&std::path::Path>,
) -> CommandLine {
    let mut env = vec![("AGENTMUX_ROLE".to_string(), inv.role.to_string())];
    if let Some(f) = schema_file {
        env.push(("AGENTMUX_SCHEMA_FILE".into(), f.display().to_string()));
    }
    if let Some(m) = inv.model {
        env.push(("AGENTMUX_MODEL".into(), m.to_string()));
    }
    CommandLine {
        program: "sh".into(),
        args: vec!["-c".into(), inv.command.unwrap_or_default().to_string()],
        env,
        stdin_suffix: None,
        files: Vec::new(),
    }
}

pub(super) struct Events {
    json: bool,
    out: String,
}

impl Events {
    pub(super) fn new(json: bool) -> Self {
        Self {
            json,
            out: String::new(),
        }
    }
}

impl super::Events for Events {
    fn line(&mut self, line: &str) -> Vec<String> {
        self.out.push_str(line);
        self.out.push('\n');
        if line.trim().is_empty() {
            Vec::new()
        } else {
            vec![short(line, 100)]
        }
    }

    fn finish(&mut self) -> std::result::Result<Answer, String> {
        let text = std::mem::take(&mut self.out);
        if text.trim().is_empty() {
            return Err("it printed nothing on stdout".into());
        }
        let json = if self.json {
            // The last non-empty line, else the whole output.
            let last = text
                .lines()
                .rev()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("");
            Some(json_in(last).or_else(|_| json_in(&text))?)
        } else {
            None
        };
        Ok(Answer {
            usage: Usage {
                prompt_tokens: 0,
                completion_tokens: u64::from(estimate_tokens(&text)),
                cached_prompt_tokens: 0,
                estimated: true,
            },
            json,
            text,
            cost_usd: None,
            model: String::new(),
        })
    }
}
