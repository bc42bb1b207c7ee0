//! The context of a prompt: its blocks, the order they are sent in, and the one rule by which a
//! prompt shrinks when the model's window cannot hold it.
//!
//! **Order (stable first).** Blocks are sent by [`Layer`]: the session's inputs (goal, journey,
//! PRD), then the code, then accepted documents in the order the workflow accepts them, then the
//! material of this task (the document under review, the feedback items), then the task and the
//! output guide. What many requests share therefore comes first, so an endpoint's prefix cache
//! (OpenAI's automatic prompt caching, llama-server's `cache_prompt`) serves it.
//!
//! **Budget.** A prompt may use the model's window minus the answer's `max_tokens`, the system
//! prompt, the schema when it travels in the prompt, and a safety margin for the token estimate
//! ([`ContextBudget::user_tokens`]); `workflow.context_tokens`, when set, caps the blocks that
//! may shrink besides (the PRD, the code, earlier documents, the document an integration
//! revises; the bundled local model defaults to 600).
//!
//! **Shrink rule.** Each shrinkable block has a relevance rank for its task. While the prompt is
//! over budget: (1) the least relevant block not yet summarised is replaced by its outline (its
//! headings and each section's first line); (2) when every shrinkable block is an outline, the
//! least relevant is left out; (3) when nothing is left to leave out, the largest remaining block
//! is cut at a line break with a marker. Blocks the task cannot be done without (the task, the
//! feedback items it answers) are never shrunk. Every step is recorded as a [`ContextCut`]: the
//! prompt lists them under "Left out to fit the context window", and the supervisor journals
//! them with the task.

use std::fmt::Write as _;

use protocol::{ContextCut, CutKind, estimate_tokens};

/// The part of a prompt a block belongs to; blocks are sent in this order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Layer {
    /// Goal, user journey, PRD: the same for the whole session.
    Inputs,
    /// What the code looks like.
    Code,
    /// Documents accepted earlier, in workflow order.
    Accepted,
    /// What this task works on: the document under review, the feedback items.
    Work,
    /// The task and the output guide.
    Task,
}

/// One titled block of the user message.
#[derive(Clone, Debug)]
pub(super) struct Block {
    pub(super) layer: Layer,
    pub(super) title: String,
    pub(super) text: String,
    /// Fenced in a code block of this language (so a document's headings stay inside it).
    pub(super) lang: Option<&'static str>,
    /// Shrink order: lower ranks shrink first. None: never shrunk.
    pub(super) rank: Option<u8>,
    /// What the block becomes when summarised; None: its outline.
    pub(super) summary: Option<String>,
    summarised: bool,
    truncated: bool,
    /// Its size before the first cut.
    original_tokens: Option<u32>,
}

impl Block {
    pub(super) fn new(layer: Layer, title: &str, text: &str) -> Self {
        Self {
            layer,
            title: title.to_string(),
            text: text.trim().to_string(),
            lang: None,
            rank: None,
            summary: None,
            summarised: false,
            truncated: false,
            original_tokens: None,
        }
    }

    pub(super) fn fenced(mut self, lang: &'static str) -> Self {
        self.lang = Some(lang);
        self
    }

    /// Its shrink rank; None: never shrunk.
    pub(super) fn ranked(mut self, rank: Option<u8>) -> Self {
        self.rank = rank;
        self
    }

    /// The shorter form it takes when summarised (instead of its outline).
    pub(super) fn summarised_as(mut self, summary: String) -> Self {
        self.summary = Some(summary);
        self
    }

    fn rendered(&self) -> String {
        match self.lang {
            Some(lang) => format!("## {}\n\n{}", self.title, fence(self.text.trim(), lang)),
            None => format!("## {}\n\n{}", self.title, self.text.trim()),
        }
    }

    fn tokens(&self) -> u32 {
        estimate_tokens(&self.rendered())
    }
}

/// How many tokens a prompt may use, from the role's model profile.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ContextBudget {
    /// The model's context window (prompt and answer together), in tokens.
    pub window: u32,
    /// What the answer may use (the request's `max_tokens`).
    pub output: u32,
    /// `workflow.context_tokens`: most tokens of the blocks that may shrink in one prompt. None:
    /// only the window limits them.
    pub context_cap: Option<u32>,
    /// The schema travels in the prompt (a model without structured output), so it counts.
    pub schema_in_prompt: bool,
}

impl ContextBudget {
    /// The bundled local model as agentmux runs it by default: an 8k window and 4,096-token
    /// answers (`llm.local.ctx_size`, `llm.max_tokens`).
    pub const LOCAL: ContextBudget = ContextBudget {
        window: 8192,
        output: 4096,
        context_cap: None,
        schema_in_prompt: false,
    };

    /// Tokens the user message may use when the system prompt takes `system` tokens and the
    /// schema `schema`: the window minus the answer, the system prompt, the schema when it is
    /// in the prompt, and a margin of 5 % plus 64 tokens for the estimate's error and the chat
    /// template.
    pub(super) fn user_tokens(&self, system: u32, schema: u32) -> u32 {
        let margin = self.window / 20 + 64;
        let schema = if self.schema_in_prompt { schema } else { 0 };
        self.window
            .saturating_sub(self.output)
            .saturating_sub(system)
            .saturating_sub(schema)
            .saturating_sub(margin)
    }
}

impl Default for ContextBudget {
    fn default() -> Self {
        Self::LOCAL
    }
}

/// The user message as a list of blocks.
#[derive(Default)]
pub(super) struct Blocks {
    blocks: Vec<Block>,
}

impl Blocks {
    pub(super) fn push(&mut self, block: Block) {
        if !block.text.trim().is_empty() {
            self.blocks.push(block);
        }
    }

    /// The message within `user_budget` tokens (context blocks also within `context_cap`), in
    /// layer order, and what had to be shrunk to get there.
    pub(super) fn finish(
        mut self,
        user_budget: u32,
        context_cap: Option<u32>,
    ) -> (String, Vec<ContextCut>) {
        let mut cuts = Vec::new();
        // The note naming the cuts takes room too; reserve it once anything is cut.
        let note_reserve = |cuts: &Vec<ContextCut>| {
            if cuts.is_empty() {
                0
            } else {
                40 + 30 * cuts.len() as u32
            }
        };
        loop {
            let total: u32 =
                self.blocks.iter().map(Block::tokens).sum::<u32>() + note_reserve(&cuts);
            let context: u32 = self
                .blocks
                .iter()
                .filter(|b| b.rank.is_some())
                .map(Block::tokens)
                .sum();
            let over_total = total.saturating_sub(user_budget);
            let over_context = context_cap.map_or(0, |cap| context.saturating_sub(cap));
            if over_total == 0 && over_context == 0 {
                break;
            }
            // Over the context cap only: shrink context blocks; over the window: any block.
            let only_context = over_total == 0;
            if !self.shrink_once(&mut cuts, over_total.max(over_context), only_context) {
                break;
            }
        }
        self.blocks.sort_by_key(|b| b.layer);
        let mut parts: Vec<String> = self.blocks.iter().map(Block::rendered).collect();
        if !cuts.is_empty() {
            let at = self
                .blocks
                .iter()
                .position(|b| b.layer == Layer::Task)
                .unwrap_or(parts.len());
            parts.insert(at, cut_note(&cuts));
        }
        let mut s = parts.join("\n\n");
        s.push('\n');
        (s, cuts)
    }

    /// One step of the shrink rule; false when nothing more can shrink.
    fn shrink_once(&mut self, cuts: &mut Vec<ContextCut>, over: u32, only_context: bool) -> bool {
        let may_touch = |b: &Block| !only_context || b.rank.is_some();
        let least_relevant = |blocks: &[Block], also: &dyn Fn(&Block) -> bool| {
            blocks
                .iter()
                .enumerate()
                .filter(|(_, b)| b.rank.is_some() && may_touch(b) && also(b))
                .min_by_key(|(i, b)| (b.rank, std::cmp::Reverse(*i)))
                .map(|(i, _)| i)
        };
        // 1. Summarise the least relevant block that is not yet summarised.
        if let Some(i) = least_relevant(&self.blocks, &|b| !b.summarised) {
            let b = &mut self.blocks[i];
            b.summarised = true;
            let before = b.tokens();
            let summary = b.summary.take().unwrap_or_else(|| outline(&b.text));
            if estimate_tokens(&summary) < estimate_tokens(&b.text) {
                b.original_tokens.get_or_insert(before);
                b.text = summary;
                record(cuts, b, CutKind::Summarised);
            }
            return true;
        }
        // 2. Leave out the least relevant block still present.
        if let Some(i) = least_relevant(&self.blocks, &|_| true) {
            let mut b = self.blocks.remove(i);
            b.original_tokens.get_or_insert(b.tokens());
            b.text.clear();
            record(cuts, &b, CutKind::Omitted);
            return true;
        }
        // 3. Cut the largest block that may be cut, once each (never the task itself).
        let largest = self
            .blocks
            .iter()
            .enumerate()
            .filter(|(_, b)| b.layer != Layer::Task && may_touch(b) && !b.truncated)
            .max_by_key(|(_, b)| b.tokens())
            .map(|(i, _)| i);
        let Some(i) = largest else {
            return false;
        };
        let b = &mut self.blocks[i];
        let before = b.tokens();
        b.truncated = true;
        b.original_tokens.get_or_insert(before);
        b.text = fit(&b.text, before.saturating_sub(over + 24).max(before / 10));
        record(cuts, b, CutKind::Truncated);
        true
    }
}

/// Records (or updates) the cut of a block.
fn record(cuts: &mut Vec<ContextCut>, b: &Block, how: CutKind) {
    cuts.retain(|c| c.part != b.title);
    cuts.push(ContextCut {
        part: b.title.clone(),
        tokens: b.original_tokens.unwrap_or_default(),
        kept_tokens: if b.text.is_empty() { 0 } else { b.tokens() },
        how,
    });
}

/// The note a shrunk prompt carries, naming each cut.
fn cut_note(cuts: &[ContextCut]) -> String {
    let mut s = String::from(
        "## Left out to fit the context window\n\nThe model's context window could not hold everything this task reads; \
         these parts were shortened (least relevant first). Do not guess what they said: note a gap under open questions \
         or assumptions instead.\n",
    );
    for c in cuts {
        let _ = match c.how {
            CutKind::Summarised => writeln!(
                s,
                "- {}: summarised ({} of {} tokens)",
                c.part, c.kept_tokens, c.tokens
            ),
            CutKind::Omitted => writeln!(s, "- {}: left out ({} tokens)", c.part, c.tokens),
            CutKind::Truncated => writeln!(
                s,
                "- {}: cut to its first {} of {} tokens",
                c.part, c.kept_tokens, c.tokens
            ),
        };
    }
    s.trim_end().to_string()
}

/// A markdown text's outline: its headings, and the first line of text under each (at most
/// 200 characters). Text without headings keeps its first lines up to a fifth of its length.
pub(super) fn outline(text: &str) -> String {
    let mut out = Vec::new();
    let mut want_first_line = true;
    let mut in_fence = false;
    let mut any_heading = false;
    for line in text.lines() {
        let t = line.trim();
        if t.starts_with("```") {
            in_fence = !in_fence;
            continue;
        }
        if in_fence {
            continue;
        }
        if t.starts_with('#') {
            out.push(t.to_string());
            want_first_line = true;
            any_heading = true;
        } else if want_first_line && !t.is_empty() {
            out.push(t.chars().take(200).collect());
            want_first_line = false;
        }
    }
    if !any_heading {
        let limit = text.chars().count() / 5;
        return fit(
            text,
            estimate_tokens(&text.chars().take(limit).collect::<String>()).max(20),
        );
    }
    out.join("\n")
}

/// `text` in a code fence longer than any backtick run inside it.
pub(crate) fn fence(text: &str, lang: &str) -> String {
    let longest = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    // At least four backticks, so that a revision adding a code block keeps the same fence (and
    // the prompt its prefix).
    let ticks = "`".repeat(longest.max(3) + 1);
    format!("{ticks}{lang}\n{text}\n{ticks}")
}

/// `text` cut to about `tokens`, at a line break when possible, with a visible marker.
pub(crate) fn fit(text: &str, tokens: u32) -> String {
    let text = text.trim();
    let have = estimate_tokens(text);
    if have <= tokens {
        return text.to_string();
    }
    let marker_tokens = 20;
    let limit = tokens.saturating_sub(marker_tokens) as usize * 4;
    let end = text
        .char_indices()
        .nth(limit)
        .map(|(i, _)| i)
        .unwrap_or(text.len());
    let cut = &text[..end];
    let cut = match cut.rfind('\n') {
        Some(nl) if nl >= end / 2 => &cut[..nl],
        _ => cut,
    };
    format!(
        "{}\n[... truncated: about {} of {have} tokens shown]",
        cut.trim_end(),
        estimate_tokens(cut)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(title: &str, sections: usize, layer: Layer, rank: Option<u8>) -> Block {
        let text: String = (1..=sections)
            .map(|i| {
                format!(
                    "## Section {i}\n\nFirst line of {i}.\n{}\n",
                    "More words here. ".repeat(40)
                )
            })
            .collect();
        Block::new(layer, title, &text)
            .fenced("markdown")
            .ranked(rank)
    }

    fn blocks(list: Vec<Block>) -> Blocks {
        let mut b = Blocks::default();
        for x in list {
            b.push(x);
        }
        b
    }

    fn sample() -> Blocks {
        blocks(vec![
            Block::new(Layer::Task, "Your task", "Do the thing."),
            doc("Document to review", 4, Layer::Work, None),
            doc("Codebase digest", 6, Layer::Code, Some(1)),
            doc("Requirements (PRD)", 6, Layer::Inputs, Some(3)),
            doc("Design proposal", 6, Layer::Accepted, Some(2)),
        ])
    }

    fn titles(text: &str) -> Vec<&str> {
        text.lines()
            .filter_map(|l| l.strip_prefix("## "))
            .filter(|l| !l.starts_with("Section"))
            .collect()
    }

    #[test]
    fn blocks_are_sent_stable_first_and_whole_when_they_fit() {
        let (text, cuts) = sample().finish(100_000, None);
        assert!(cuts.is_empty());
        assert_eq!(
            titles(&text),
            [
                "Requirements (PRD)",
                "Codebase digest",
                "Design proposal",
                "Document to review",
                "Your task"
            ]
        );
        assert_eq!(text.matches("More words here.").count(), 40 * 22);
    }

    #[test]
    fn the_least_relevant_block_is_summarised_first_and_the_cut_is_named() {
        let whole = estimate_tokens(&sample().finish(100_000, None).0);
        // Room for all but about half the digest: only the digest shrinks.
        let (text, cuts) = sample().finish(whole - 200, None);
        assert_eq!(cuts.len(), 1, "{cuts:?}");
        assert_eq!(cuts[0].part, "Codebase digest");
        assert_eq!(cuts[0].how, CutKind::Summarised);
        assert!(cuts[0].kept_tokens < cuts[0].tokens / 5, "{cuts:?}");
        assert!(text.contains("## Left out to fit the context window"));
        assert!(text.contains("- Codebase digest: summarised"));
        assert!(estimate_tokens(&text) <= whole - 200);
        // The outline keeps the headings and first lines.
        assert!(text.contains("First line of 6."));
        // The note comes right before the task.
        let note = text.find("## Left out").unwrap();
        assert!(note > text.find("## Document to review").unwrap());
        assert!(note < text.find("## Your task").unwrap());
    }

    #[test]
    fn then_more_relevant_blocks_then_omission_then_truncation() {
        let task_and_doc = estimate_tokens(
            &blocks(vec![
                Block::new(Layer::Task, "Your task", "Do the thing."),
                doc("Document to review", 4, Layer::Work, None),
            ])
            .finish(100_000, None)
            .0,
        );
        // Just room for the task and the document: every context block is summarised, then left
        // out, least relevant first.
        let (text, cuts) = sample().finish(task_and_doc + 120, None);
        let omitted: Vec<&str> = cuts
            .iter()
            .filter(|c| c.how == CutKind::Omitted)
            .map(|c| c.part.as_str())
            .collect();
        assert_eq!(omitted.first(), Some(&"Codebase digest"), "{cuts:?}");
        assert!(text.contains("Do the thing."));
        assert!(estimate_tokens(&text) <= task_and_doc + 120, "{text}");
        // Less room than the document itself: it is cut with a marker, the task stays.
        let (text, cuts) = sample().finish(task_and_doc / 2, None);
        let doc_cut = cuts
            .iter()
            .find(|c| c.part == "Document to review")
            .unwrap();
        assert_eq!(doc_cut.how, CutKind::Truncated);
        assert!(text.contains("[... truncated"));
        assert!(text.contains("Do the thing."));
        assert!(text.contains("- Document to review: cut to its first"));
    }

    #[test]
    fn the_context_cap_shrinks_context_blocks_only() {
        let (text, cuts) = sample().finish(100_000, Some(500));
        assert!(!cuts.is_empty());
        assert!(
            cuts.iter().all(|c| c.part != "Document to review"),
            "{cuts:?}"
        );
        let work = text.find("## Document to review").unwrap();
        assert!(estimate_tokens(&text[..work]) <= 500, "{}", &text[..work]);
        // The document under review is whole.
        assert_eq!(text[work..].matches("More words here.").count(), 40 * 4);
    }

    #[test]
    fn the_budget_leaves_room_for_the_answer_and_the_system_prompt() {
        let b = ContextBudget {
            window: 8192,
            output: 2048,
            context_cap: None,
            schema_in_prompt: false,
        };
        assert_eq!(b.user_tokens(500, 900), 8192 - 2048 - 500 - (409 + 64));
        let b = ContextBudget {
            schema_in_prompt: true,
            ..b
        };
        assert_eq!(
            b.user_tokens(500, 900),
            8192 - 2048 - 500 - 900 - (409 + 64)
        );
        let tiny = ContextBudget {
            window: 1000,
            output: 4096,
            ..b
        };
        assert_eq!(tiny.user_tokens(500, 0), 0);
    }

    #[test]
    fn outline_keeps_headings_and_first_lines_outside_code() {
        let md = "# Title\n\nIntro line.\nMore.\n\n## A\n\n```\n# not a heading\n```\nA's first.\nA's second.\n";
        assert_eq!(outline(md), "# Title\nIntro line.\n## A\nA's first.");
    }
}
