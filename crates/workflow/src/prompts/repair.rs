//! Asking again after an answer failed validation. The repair continues the conversation of the
//! original request: the model sees the request, its own answer and the validator's findings,
//! and returns the corrected answer in the same format, so the output and its schema stay the
//! original task's. An answer cut off at the length limit or stuck repeating itself is no base
//! to fix: quoted back it would fill the context and invite the same loop (small models do
//! this), so the model is told why it was rejected and asked to answer afresh instead.

use std::collections::HashSet;

use super::Prompt;
use protocol::{ChatMessage, estimate_tokens};

/// How much of the invalid answer is quoted back, in characters, so that the repair prompt
/// stays bounded whatever the model wrote.
const ANSWER_CHARS: usize = 12_000;

/// `request`, the original task's prompt, continued with the answer and the findings.
pub(super) fn build(request: Prompt, answer: &str, findings: &[String], cut_off: bool) -> Prompt {
    let Prompt {
        mut messages,
        output,
        title,
        cuts,
        budget_tokens,
    } = request;
    let answer: String = answer.chars().take(ANSWER_CHARS).collect();
    match runaway(&answer, cut_off) {
        Some(why) => messages.push(ChatMessage::user(format!(
            "An earlier answer to this request was rejected:\n{}\n\nAnswer again from the start, in the \
             same format. Keep every field short and specific, and do not repeat a phrase.",
            listed(findings, Some(why))
        ))),
        None => {
            messages.push(ChatMessage::assistant(answer));
            messages.push(ChatMessage::user(format!(
                "Your answer above failed validation:\n{}\n\nReturn the complete corrected answer in the same \
                 format, fixing every problem listed.",
                listed(findings, None)
            )));
        }
    }
    Prompt {
        messages,
        output,
        title: format!("repair: {title}"),
        cuts,
        budget_tokens,
    }
}

/// The tokens a repair adds to the request it repeats: the answer quoted back (unless it is
/// not, see [`runaway`]), the findings and the instructions.
pub(super) fn added_tokens(answer: &str, findings: &[String], cut_off: bool) -> u32 {
    let answer: String = answer.chars().take(ANSWER_CHARS).collect();
    let quoted = if runaway(&answer, cut_off).is_some() {
        0
    } else {
        estimate_tokens(&answer)
    };
    quoted + findings.iter().map(|f| estimate_tokens(f) + 2).sum::<u32>() + 80
}

/// The findings, and `extra`, as a bullet list.
fn listed(findings: &[String], extra: Option<&str>) -> String {
    findings
        .iter()
        .map(String::as_str)
        .chain(extra)
        .map(|f| format!("- {f}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Why the answer is not worth repairing in place, if it is not.
fn runaway(answer: &str, cut_off: bool) -> Option<&'static str> {
    if cut_off {
        Some("it was cut off at the length limit")
    } else if repetitive(answer) {
        Some("it repeated the same words over and over")
    } else {
        None
    }
}

/// A long text made of a few words repeated: what a small model writes when it loops.
fn repetitive(text: &str) -> bool {
    let words: Vec<&str> = text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    if words.len() < 200 {
        return false;
    }
    let distinct: HashSet<&str> = words.iter().copied().collect();
    distinct.len() * 10 < words.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runaway_replies_are_answered_afresh_and_ordinary_ones_repaired_in_place() {
        let loop_text = "A: A: A: option A: ".repeat(200);
        let prose = (0..400).map(|i| format!("word{i} ")).collect::<String>();
        assert_eq!(
            runaway(&loop_text, false),
            Some("it repeated the same words over and over")
        );
        assert_eq!(
            runaway(&prose, true),
            Some("it was cut off at the length limit")
        );
        assert_eq!(runaway(&prose, false), None);
        // Short answers are never judged repetitive.
        assert_eq!(runaway("ok ok ok ok", false), None);
    }

    #[test]
    fn a_runaway_answer_is_not_quoted_back() {
        let request = Prompt {
            messages: vec![ChatMessage::system("role"), ChatMessage::user("task")],
            output: protocol::OutputSpec::Text,
            title: "Draft".into(),
            cuts: Vec::new(),
            budget_tokens: 1000,
        };
        let findings = vec!["a finding".to_string()];
        let afresh = build(request.clone(), &"A: ".repeat(300), &findings, false);
        assert_eq!(afresh.messages.len(), 3);
        assert!(
            afresh.messages[2]
                .content
                .contains("- a finding\n- it repeated the same words")
        );
        let fixed = build(request, "{}", &findings, false);
        assert_eq!(fixed.messages[2], ChatMessage::assistant("{}"));
        assert!(fixed.messages[3].content.contains("- a finding\n\n"));
        assert_eq!(fixed.title, "repair: Draft");
    }
}
