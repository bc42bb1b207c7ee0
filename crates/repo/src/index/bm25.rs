//! Lexical ranking: Okapi BM25 over chunks, with a tokeniser for code. Identifiers are split the
//! way people name things (`read_time_as_seconds` is also `read`, `time`, `seconds`;
//! `HTMLParser` is also `html`, `parser`), words are lower-cased and lightly stemmed (`reading`
//! and `read`, `words` and `word` meet), and common English words are dropped, so a goal written
//! in prose finds the code that implements it.
//!
//! Small enough to write here: the crates that offer BM25 bring their own tokenisers for prose,
//! and the tokeniser is the part that matters for code.

use std::collections::{BTreeSet, HashMap};

const K1: f64 = 1.2;
const B: f64 = 0.75;

const STOP_WORDS: &[&str] = &[
    "a", "about", "after", "all", "also", "an", "and", "any", "are", "as", "at", "be", "been",
    "but", "by", "can", "could", "do", "does", "each", "for", "from", "had", "has", "have", "how",
    "if", "in", "into", "is", "it", "its", "may", "more", "must", "no", "not", "of", "on", "or",
    "other", "our", "per", "should", "so", "some", "such", "than", "that", "the", "their", "them",
    "then", "there", "these", "they", "this", "those", "to", "was", "we", "were", "what", "when",
    "which", "while", "who", "will", "with", "would", "you", "your",
];

/// Calls `f` with every term of `text`.
pub(crate) fn for_each_term(text: &str, mut f: impl FnMut(&str)) {
    let mut buf = String::new();
    for word in text.split(|c: char| !(c.is_alphanumeric() || c == '_')) {
        if word.is_empty() {
            continue;
        }
        let parts = split_identifier(word);
        if parts.len() > 1 {
            emit(word, &mut buf, &mut f);
        }
        for part in parts {
            emit(part, &mut buf, &mut f);
        }
    }
}

/// Normalises one word into `buf` and passes it on, unless it is a stop word or one character.
fn emit(word: &str, buf: &mut String, f: &mut impl FnMut(&str)) {
    buf.clear();
    buf.extend(word.chars().flat_map(char::to_lowercase));
    if buf.chars().count() < 2 || STOP_WORDS.binary_search(&buf.as_str()).is_ok() {
        return;
    }
    stem(buf);
    f(buf);
}

/// `snake_case`, `camelCase`, `PascalCase` and `HTTPServer` split into their words.
fn split_identifier(word: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    for piece in word.split('_').filter(|p| !p.is_empty()) {
        let chars: Vec<(usize, char)> = piece.char_indices().collect();
        let mut start = 0;
        for i in 1..chars.len() {
            let (prev, cur) = (chars[i - 1].1, chars[i].1);
            let next_lower = chars.get(i + 1).is_some_and(|c| c.1.is_lowercase());
            let boundary = (prev.is_lowercase() && cur.is_uppercase())
                || (prev.is_uppercase() && cur.is_uppercase() && next_lower);
            if boundary {
                parts.push(&piece[start..chars[i].0]);
                start = chars[i].0;
            }
        }
        parts.push(&piece[start..]);
    }
    parts
}

/// A light suffix stemmer (plural `s`, `ies`, `ing`, `ed`, final `e`), applied alike to queries
/// and code, so only consistency matters, not linguistics.
fn stem(w: &mut String) {
    if !w.is_ascii() {
        return;
    }
    if w.len() > 4 && w.ends_with("ies") {
        w.truncate(w.len() - 3);
        w.push('y');
    } else if w.len() > 3
        && w.ends_with('s')
        && !w.ends_with("ss")
        && !w.ends_with("us")
        && !w.ends_with("is")
    {
        w.pop();
    }
    if w.len() > 5 && w.ends_with("ing") {
        w.truncate(w.len() - 3);
    } else if w.len() > 4 && w.ends_with("ed") {
        w.truncate(w.len() - 2);
    }
    if w.len() > 3 && w.ends_with('e') {
        w.pop();
    }
}

/// The terms of a query, each once, in a fixed order (so scores add up the same way every time).
pub(crate) fn query_terms(query: &str) -> Vec<String> {
    let mut terms = BTreeSet::new();
    for_each_term(query, |t| {
        terms.insert(t.to_string());
    });
    terms.into_iter().collect()
}

/// An inverted index of documents (chunks) by term.
#[derive(Debug, Default)]
pub(crate) struct Bm25 {
    postings: HashMap<String, Vec<(u32, u32)>>,
    lengths: Vec<u32>,
    average: f64,
}

impl Bm25 {
    /// Indexes `docs` in order: document `i` is the `i`th item.
    pub(crate) fn build<'a>(docs: impl Iterator<Item = &'a [&'a str]>) -> Self {
        let mut postings: HashMap<String, Vec<(u32, u32)>> = HashMap::new();
        let mut lengths = Vec::new();
        let mut counts: HashMap<String, u32> = HashMap::new();
        for (id, parts) in docs.enumerate() {
            let id = u32::try_from(id).unwrap_or(u32::MAX);
            counts.clear();
            let mut length = 0u32;
            for part in parts {
                for_each_term(part, |t| {
                    length += 1;
                    match counts.get_mut(t) {
                        Some(c) => *c += 1,
                        None => {
                            counts.insert(t.to_string(), 1);
                        }
                    }
                });
            }
            for (term, tf) in counts.drain() {
                postings.entry(term).or_default().push((id, tf));
            }
            lengths.push(length);
        }
        let total: u64 = lengths.iter().map(|&l| u64::from(l)).sum();
        let average = if lengths.is_empty() {
            0.0
        } else {
            total as f64 / lengths.len() as f64
        };
        Self {
            postings,
            lengths,
            average,
        }
    }

    /// BM25 scores of every document for `terms`; zero where none occurs.
    pub(crate) fn scores(&self, terms: &[String]) -> Vec<f64> {
        let n = self.lengths.len() as f64;
        let mut scores = vec![0.0; self.lengths.len()];
        for term in terms {
            let Some(postings) = self.postings.get(term) else {
                continue;
            };
            let df = postings.len() as f64;
            let idf = (1.0 + (n - df + 0.5) / (df + 0.5)).ln();
            for &(doc, tf) in postings {
                let tf = f64::from(tf);
                let len = f64::from(self.lengths[doc as usize]);
                let norm = K1 * (1.0 - B + B * len / self.average.max(1.0));
                scores[doc as usize] += idf * tf * (K1 + 1.0) / (tf + norm);
            }
        }
        scores
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn terms(text: &str) -> Vec<String> {
        let mut out = Vec::new();
        for_each_term(text, |t| out.push(t.to_string()));
        out
    }

    #[test]
    fn stop_words_are_sorted_for_binary_search() {
        assert!(STOP_WORDS.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn identifiers_split_into_their_words() {
        assert_eq!(
            terms("read_time_as_seconds"),
            ["read_time_as_second", "read", "tim", "second"]
        );
        assert_eq!(terms("HTMLParser"), ["htmlparser", "html", "parser"]);
        assert_eq!(terms("wordsPerMinute"), ["wordsperminut", "word", "minut"]);
    }

    #[test]
    fn prose_and_code_meet_through_the_stemmer() {
        assert_eq!(terms("reading"), terms("read"));
        assert_eq!(terms("words"), terms("word"));
        assert_eq!(terms("minutes"), terms("minute"));
        assert_eq!(terms("parsing"), terms("parse"));
        assert!(terms("the of a for").is_empty());
    }

    #[test]
    fn the_document_with_the_rarer_terms_ranks_first() {
        let a: &[&str] = &["def read_time(text, wpm): words per minute"];
        let b: &[&str] = &["def unrelated(x): return x"];
        let c: &[&str] = &["text text text"];
        let index = Bm25::build([a, b, c].into_iter());
        let s = index.scores(&query_terms("reading time, words per minute"));
        assert!(s[0] > 0.0 && s[1] == 0.0 && s[2] == 0.0, "{s:?}");
    }
}
