//! A context pack: the structural summary and the ranked excerpts that fit a token budget,
//! rendered as Markdown. The same index and query always render the same bytes (ranks tie-break
//! by path and line), so a prompt built from a pack is stable across runs and cacheable.

use crate::lang::Language;

use super::summary::Summary;

const SUMMARY_HEADING: &str = "## Repository summary\n\n";
const EXCERPTS_HEADING: &str = "\n## Code excerpts relevant to this task (most relevant first)\n\n";
const NO_EXCERPT: &str = "No part of the code matched this task's terms.\n";
/// The summary takes at most this share of the budget, so excerpts always get room.
const SUMMARY_SHARE: usize = 3;
/// With fewer characters left, no excerpt could fit.
const MIN_EXCERPT_CHARS: usize = 80;
/// Candidates tried after the first one that did not fit, so a huge candidate list costs a
/// bounded time.
const MAX_MISSES: usize = 200;

/// A ranked excerpt of the code.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Excerpt {
    /// Relative path.
    pub path: String,
    /// First line (1-based).
    pub start_line: u32,
    /// Last line (inclusive).
    pub end_line: u32,
    /// The symbol it holds (`read_time`, `Result.minutes`), if any.
    pub symbol: Option<String>,
    /// The file's language, if known.
    pub language: Option<Language>,
    /// BM25 score against the query.
    pub score: f64,
    /// The lines, verbatim.
    pub text: String,
}

impl Excerpt {
    /// `path:start-end`, as a document cites it.
    pub fn citation(&self) -> String {
        format!("{}:{}-{}", self.path, self.start_line, self.end_line)
    }

    /// The citation on its own line, then the lines in a fenced block (a fence longer than any
    /// run of backticks in the text, so Markdown in the excerpt cannot close it).
    pub fn render(&self) -> String {
        let longest = self
            .text
            .split(|c| c != '`')
            .map(str::len)
            .max()
            .unwrap_or(0);
        let fence = "`".repeat(longest.max(2) + 1);
        let tag = self.language.map(Language::fence).unwrap_or("");
        format!(
            "{}\n{fence}{tag}\n{}\n{fence}\n",
            self.citation(),
            self.text.trim_end_matches(['\n', '\r'])
        )
    }
}

/// The summary and the excerpts chosen for one query and budget.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Pack {
    /// The rendered summary (cut to whole lines when the budget is small).
    pub summary: String,
    /// The excerpts, most relevant first.
    pub excerpts: Vec<Excerpt>,
    /// Matching excerpts that did not fit the budget.
    pub left_out: usize,
    /// The budget it was fitted to.
    pub budget_tokens: usize,
}

impl Pack {
    /// Fits `summary` and as many of `candidates` (ranked, `total` of them) as the budget holds.
    pub(crate) fn fit(
        summary: &Summary,
        candidates: impl Iterator<Item = Excerpt>,
        total: usize,
        budget_tokens: usize,
    ) -> Pack {
        let budget = budget_tokens.saturating_mul(4);
        let summary_cap = (budget / SUMMARY_SHARE).saturating_sub(SUMMARY_HEADING.len());
        let mut summary_text = String::new();
        for line in summary.render().lines() {
            if summary_text.len() + line.len() + 1 > summary_cap {
                break;
            }
            summary_text.push_str(line);
            summary_text.push('\n');
        }
        let mut used = SUMMARY_HEADING.len() + summary_text.len() + EXCERPTS_HEADING.len();
        let mut excerpts = Vec::new();
        let mut misses = 0;
        for e in candidates {
            if budget.saturating_sub(used) < MIN_EXCERPT_CHARS || misses > MAX_MISSES {
                break;
            }
            // Excerpts are separated by a blank line.
            let size = e.render().len() + usize::from(!excerpts.is_empty());
            if used + size <= budget {
                used += size;
                excerpts.push(e);
            } else {
                misses += 1;
            }
        }
        Pack {
            summary: summary_text,
            left_out: total - excerpts.len(),
            excerpts,
            budget_tokens,
        }
    }

    /// The pack as Markdown: the summary, then the excerpts.
    pub fn render(&self) -> String {
        let mut out = String::from(SUMMARY_HEADING);
        out.push_str(&self.summary);
        out.push_str(EXCERPTS_HEADING);
        if self.excerpts.is_empty() {
            out.push_str(NO_EXCERPT);
        }
        let rendered: Vec<String> = self.excerpts.iter().map(Excerpt::render).collect();
        out.push_str(&rendered.join("\n"));
        out
    }

    /// The rendered size in tokens, at four characters to a token.
    pub fn tokens(&self) -> usize {
        self.render().len().div_ceil(4)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn excerpt(path: &str, text: &str) -> Excerpt {
        Excerpt {
            path: path.to_string(),
            start_line: 3,
            end_line: 4,
            symbol: None,
            language: Language::of_path(path),
            score: 1.0,
            text: text.to_string(),
        }
    }

    #[test]
    fn an_excerpt_is_a_fenced_block_headed_by_its_citation() {
        assert_eq!(
            excerpt("a.py", "def f():\n    pass\n").render(),
            "a.py:3-4\n```python\ndef f():\n    pass\n```\n"
        );
        let md = excerpt("README.md", "```sh\nmake\n```\n").render();
        assert!(md.starts_with("README.md:3-4\n````markdown\n"), "{md}");
        assert!(md.ends_with("\n````\n"), "{md}");
    }

    #[test]
    fn the_pack_fits_its_budget() {
        let summary = Summary {
            files: 2,
            ..Summary::default()
        };
        let big = "x = 1\n".repeat(100);
        let candidates = vec![excerpt("big.py", &big), excerpt("small.py", "y = 2\n")];
        let pack = Pack::fit(&summary, candidates.into_iter(), 2, 100);
        assert_eq!(pack.excerpts.len(), 1);
        assert_eq!(pack.excerpts[0].path, "small.py");
        assert_eq!(pack.left_out, 1);
        assert!(pack.render().len() <= 400, "{}", pack.render().len());
    }
}
