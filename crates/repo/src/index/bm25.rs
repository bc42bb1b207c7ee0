//! Lexical ranking: Okapi BM25 over chunks, with a tokeniser for code. Identifiers are split the
//! way people name things (`read_time_as_seconds` is also `read`, `time`, `seconds`;
//! `HTMLParser` is also `html`, `parser`), words are lower-cased and lightly stemmed (`reading`
//! and `read`, `words` and `word` meet), and common English words are dropped, so a goal written
//! in prose finds the code that implements it.
//!
//! Small enough to write here: the crates that offer BM25 bring their own tokenisers for prose,
//! and the tokeniser is the part that matters for code.

use std::collections::{BTreeSet, HashMap};
use std::hash::{BuildHasherDefault, Hasher};

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

/// Calls `f` with every term of `text`: each word's parts, then the whole word when it has
/// several parts.
pub(crate) fn for_each_term(text: &str, mut f: impl FnMut(&str)) {
    let mut buf = String::new();
    let bytes = text.as_bytes();
    let word_byte = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || b >= 0x80;
    let mut i = 0;
    while i < bytes.len() {
        if !word_byte(bytes[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && word_byte(bytes[i]) {
            i += 1;
        }
        // The run stops at an ASCII byte, so both ends are character boundaries.
        let run = &text[start..i];
        if run.is_ascii() {
            word(run, &mut buf, &mut f);
        } else {
            // Unicode punctuation (`—`, `“`) separates words too.
            for w in run.split(|c: char| !(c.is_alphanumeric() || c == '_')) {
                word(w, &mut buf, &mut f);
            }
        }
    }
}

/// The terms of one word: its `snake_case`, `camelCase`, `PascalCase` or `HTTPServer` parts,
/// and the whole word if it has more than one.
fn word(w: &str, buf: &mut String, f: &mut impl FnMut(&str)) {
    if w.is_empty() {
        return;
    }
    let mut parts = 0;
    for piece in w.split('_').filter(|p| !p.is_empty()) {
        let mut start = 0;
        let mut prev: Option<char> = None;
        let mut chars = piece.char_indices().peekable();
        while let Some((i, cur)) = chars.next() {
            if let Some(p) = prev {
                let next_lower = chars.peek().is_some_and(|(_, c)| c.is_lowercase());
                if (p.is_lowercase() && cur.is_uppercase())
                    || (p.is_uppercase() && cur.is_uppercase() && next_lower)
                {
                    emit(&piece[start..i], buf, f);
                    parts += 1;
                    start = i;
                }
            }
            prev = Some(cur);
        }
        emit(&piece[start..], buf, f);
        parts += 1;
    }
    if parts > 1 {
        emit(w, buf, f);
    }
}

/// Normalises one word into `buf` and passes it on, unless it is a stop word or one character.
fn emit(word: &str, buf: &mut String, f: &mut impl FnMut(&str)) {
    buf.clear();
    if word.is_ascii() {
        buf.push_str(word);
        buf.make_ascii_lowercase();
    } else {
        buf.extend(word.chars().flat_map(char::to_lowercase));
    }
    if buf.chars().nth(1).is_none() || STOP_WORDS.binary_search(&buf.as_str()).is_ok() {
        return;
    }
    stem(buf);
    f(buf);
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

/// A fast hash for short strings (the rustc `FxHasher` mix): the index hashes every token of
/// the repository, and the keys are the repository's own words, not an attacker's.
#[derive(Default, Clone, Copy)]
struct Fx(u64);

impl Fx {
    fn add(&mut self, w: u64) {
        self.0 = (self.0.rotate_left(5) ^ w).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
}

impl Hasher for Fx {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut b = [0u8; 8];
            b.copy_from_slice(c);
            self.add(u64::from_le_bytes(b));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut b = [0u8; 8];
            b[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(b));
        }
    }

    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// An inverted index of documents (chunks) by term.
#[derive(Debug, Default)]
pub(crate) struct Bm25 {
    ids: HashMap<Box<str>, u32, BuildHasherDefault<Fx>>,
    /// By term id: (document, term frequency), in document order.
    postings: Vec<Vec<(u32, u32)>>,
    lengths: Vec<u32>,
    average: f64,
}

impl Bm25 {
    /// Indexes `docs` in order: document `i` is the `i`th item, the concatenation of its parts.
    pub(crate) fn build<'a>(docs: impl Iterator<Item = &'a [&'a str]>) -> Self {
        let mut index = Bm25::default();
        // Term frequencies of the current document by term id, and the ids it touched.
        let mut tf: Vec<u32> = Vec::new();
        let mut touched: Vec<u32> = Vec::new();
        for (doc, parts) in docs.enumerate() {
            let doc = u32::try_from(doc).unwrap_or(u32::MAX);
            let mut length = 0u32;
            for part in parts {
                for_each_term(part, |t| {
                    length += 1;
                    let id = match index.ids.get(t) {
                        Some(&id) => id,
                        None => {
                            let id = u32::try_from(index.postings.len()).unwrap_or(u32::MAX);
                            index.ids.insert(t.into(), id);
                            index.postings.push(Vec::new());
                            tf.push(0);
                            id
                        }
                    };
                    if tf[id as usize] == 0 {
                        touched.push(id);
                    }
                    tf[id as usize] += 1;
                });
            }
            for id in touched.drain(..) {
                index.postings[id as usize].push((doc, tf[id as usize]));
                tf[id as usize] = 0;
            }
            index.lengths.push(length);
        }
        let total: u64 = index.lengths.iter().map(|&l| u64::from(l)).sum();
        if !index.lengths.is_empty() {
            index.average = total as f64 / index.lengths.len() as f64;
        }
        index
    }

    /// BM25 scores of every document for `terms`; zero where none occurs.
    pub(crate) fn scores(&self, terms: &[String]) -> Vec<f64> {
        let n = self.lengths.len() as f64;
        let mut scores = vec![0.0; self.lengths.len()];
        for term in terms {
            let Some(&id) = self.ids.get(term.as_str()) else {
                continue;
            };
            let postings = &self.postings[id as usize];
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
            ["read", "tim", "second", "read_time_as_second"]
        );
        assert_eq!(terms("HTMLParser"), ["html", "parser", "htmlparser"]);
        assert_eq!(terms("wordsPerMinute"), ["word", "minut", "wordsperminut"]);
        assert_eq!(terms("fn main() -> x;"), ["fn", "main"]);
        assert_eq!(terms("“naïve—Ünïcode”"), ["naïve", "ünïcode"]);
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
