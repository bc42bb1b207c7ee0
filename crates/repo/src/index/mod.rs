//! The context pack: the repository cut into symbol-sized chunks, ranked by BM25 against a query
//! (the PRD, the goal, a stage's subject), and the best excerpts that fit a token budget, after a
//! structural [`Summary`]. It is the only view of the code a model without tools gets.
//!
//! [`Index::build_or_update`] walks the repository under the [`crate::Repo`]'s rules, reads and
//! hashes every file, reuses the cached chunks of files whose hash is unchanged and parses only
//! the rest, within [`crate::IndexLimits`]; [`IndexStats`] says what it did and what it left out.

mod bm25;
mod cache;
mod chunk;
mod pack;
mod summary;

use std::collections::BTreeMap;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::error::{RepoError, Rule};
use crate::fmt::size;
use crate::lang::Language;
use crate::repo::{Repo, read_text};
use bm25::Bm25;
use cache::{CachedFile, Loaded};
use chunk::Span;

pub use pack::{Excerpt, Pack};
pub use summary::{Manifest, Summary, summary};

/// The indexed repository: chunks with their text, the summary, and (built on the first
/// [`Index::pack`]) the BM25 postings.
#[derive(Debug)]
pub struct Index {
    files: Vec<IndexedFile>,
    chunks: Vec<Chunk>,
    summary: Summary,
    bm25: OnceLock<Bm25>,
}

#[derive(Debug)]
struct IndexedFile {
    path: String,
    language: Option<Language>,
    text: String,
}

#[derive(Debug)]
struct Chunk {
    file: usize,
    start: u32,
    end: u32,
    bytes: std::ops::Range<usize>,
    name: Option<String>,
}

/// What a build or update did.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct IndexStats {
    /// Files in the index now.
    pub files: usize,
    /// Of those, files parsed and chunked in this run (new or changed), in walk order.
    pub rechunked: Vec<String>,
    /// Of those, files whose cached chunks were reused (content hash unchanged).
    pub reused: usize,
    /// Cache entries removed: files gone or now refused. (When a limit stops the walk, the
    /// entries of the files it did not reach are kept for the next run.)
    pub dropped: usize,
    /// Chunks in the index.
    pub chunks: usize,
    /// Bytes of text indexed.
    pub bytes: u64,
    /// Files left out, with the reason.
    pub skipped: Vec<Skipped>,
    /// A limit that stopped the walk early; files after it were not looked at.
    pub stopped: Option<Stopped>,
    /// What became of the cache.
    pub cache: CacheStatus,
    /// Wall-clock time of the run.
    pub elapsed: Duration,
}

/// A file the index left out.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Skipped {
    /// Relative path.
    pub path: String,
    /// Why.
    pub reason: SkipReason,
}

/// Why a file was left out.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum SkipReason {
    /// A rule of the policy refuses it (secret, deny list, binary, a symlink leading out).
    Refused {
        /// The rule.
        rule: Rule,
    },
    /// Larger than [`crate::IndexLimits::max_file_bytes`].
    TooLarge {
        /// Its size.
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// Reading it failed.
    Unreadable {
        /// The error.
        error: String,
    },
}

impl SkipReason {
    /// A short name for counts, e.g. `too large`.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Refused { rule } => rule.name(),
            Self::TooLarge { .. } => "too large",
            Self::Unreadable { .. } => "unreadable",
        }
    }
}

/// The limit that stopped a walk, and the first file not looked at.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Stopped {
    /// Which limit.
    pub limit: Limit,
    /// The first file left out.
    pub at: String,
}

/// An [`crate::IndexLimits`] bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Limit {
    /// `max_files`.
    MaxFiles(usize),
    /// `max_total_bytes`.
    MaxTotalBytes(u64),
    /// `time_budget`.
    TimeBudget(Duration),
}

/// What became of the cache on load.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "cache", rename_all = "snake_case")]
pub enum CacheStatus {
    /// There was none: everything was chunked.
    #[default]
    Missing,
    /// Loaded and used.
    Loaded,
    /// There was one but it could not be used (another format version, does not parse).
    Discarded {
        /// Why.
        why: String,
    },
}

/// The index cache could not be written.
#[derive(Debug, thiserror::Error)]
#[error("the index cache `{}` could not be written: {source}; check that the directory is writable", path.display())]
pub struct IndexError {
    /// The cache file.
    pub path: PathBuf,
    /// What the operating system said.
    pub source: std::io::Error,
}

impl std::fmt::Display for IndexStats {
    /// One line: `indexed 12 files (1 re-chunked, 11 reused, 0 dropped), 40 chunks, 36.1 KB in
    /// 0.02 s; skipped 2 (1 secret, 1 binary)`, plus where a limit stopped it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "indexed {} files ({} re-chunked, {} reused, {} dropped), {} chunks, {} in {:.2} s",
            self.files,
            self.rechunked.len(),
            self.reused,
            self.dropped,
            self.chunks,
            size(self.bytes),
            self.elapsed.as_secs_f64()
        )?;
        if !self.skipped.is_empty() {
            let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
            for s in &self.skipped {
                *counts.entry(s.reason.name()).or_default() += 1;
            }
            let counts: Vec<String> = counts.iter().map(|(k, n)| format!("{n} {k}")).collect();
            write!(
                f,
                "; skipped {} ({})",
                self.skipped.len(),
                counts.join(", ")
            )?;
        }
        if let Some(s) = &self.stopped {
            let limit = match s.limit {
                Limit::MaxFiles(n) => format!("the {n}-file limit"),
                Limit::MaxTotalBytes(b) => format!("the {} limit", size(b)),
                Limit::TimeBudget(d) => format!("the {:.0} s time budget", d.as_secs_f64()),
            };
            write!(
                f,
                "; stopped at {limit}: `{}` and the files after it are not indexed",
                s.at
            )?;
        }
        Ok(())
    }
}

impl Index {
    /// Indexes `repo`, reusing and then replacing the cache in `cache_dir` (the caller passes
    /// `.agentmux/index/`). Only the cache write can fail; unreadable files are skipped and an
    /// unusable cache is rebuilt.
    pub fn build_or_update(
        repo: &Repo,
        cache_dir: &Path,
    ) -> Result<(Index, IndexStats), IndexError> {
        let started = Instant::now();
        let limits = repo.policy().index.clone();
        let (mut cached, cache_status) = match cache::load(cache_dir) {
            Loaded::Missing => (Default::default(), CacheStatus::Missing),
            Loaded::Discarded(why) => (Default::default(), CacheStatus::Discarded { why }),
            Loaded::Files(files) => (files, CacheStatus::Loaded),
        };
        let mut stats = IndexStats {
            cache: cache_status,
            ..IndexStats::default()
        };
        let mut files: Vec<IndexedFile> = Vec::new();
        let mut spans: Vec<Vec<Span>> = Vec::new();
        let mut hashes: Vec<String> = Vec::new();
        let mut visible: Vec<String> = Vec::new();
        repo.walk(|item| {
            if let Some(rule) = item.refused {
                stats.skipped.push(Skipped {
                    path: item.rel,
                    reason: SkipReason::Refused { rule },
                });
                return ControlFlow::Continue(());
            }
            let limit = if files.len() >= limits.max_files {
                Some(Limit::MaxFiles(limits.max_files))
            } else if item.size <= limits.max_file_bytes
                && stats.bytes + item.size > limits.max_total_bytes
            {
                Some(Limit::MaxTotalBytes(limits.max_total_bytes))
            } else if started.elapsed() > limits.time_budget {
                Some(Limit::TimeBudget(limits.time_budget))
            } else {
                None
            };
            if let Some(limit) = limit {
                stats.stopped = Some(Stopped {
                    limit,
                    at: item.rel,
                });
                return ControlFlow::Break(());
            }
            visible.push(item.rel.clone());
            if item.size > limits.max_file_bytes {
                stats.skipped.push(Skipped {
                    path: item.rel,
                    reason: SkipReason::TooLarge {
                        size: item.size,
                        limit: limits.max_file_bytes,
                    },
                });
                return ControlFlow::Continue(());
            }
            let text = match read_text(&item.abs, &item.rel, limits.max_file_bytes) {
                Ok(t) => t,
                Err(e) => {
                    let reason = match e {
                        RepoError::Refused {
                            rule: Rule::TooLarge { size, limit },
                            ..
                        } => SkipReason::TooLarge { size, limit },
                        RepoError::Refused { rule, .. } => SkipReason::Refused { rule },
                        other => SkipReason::Unreadable {
                            error: other.to_string(),
                        },
                    };
                    stats.skipped.push(Skipped {
                        path: item.rel,
                        reason,
                    });
                    return ControlFlow::Continue(());
                }
            };
            let hash = format!("{:032x}", xxhash_rust::xxh3::xxh3_128(text.as_bytes()));
            let language = Language::of_path(&item.rel);
            let line_count = u32::try_from(text.lines().count()).unwrap_or(u32::MAX);
            let reused = cached.remove(&item.rel).filter(|c| {
                c.hash == hash
                    && c.chunks
                        .iter()
                        .all(|s| 1 <= s.start && s.start <= s.end && s.end <= line_count)
            });
            let file_spans = match reused {
                Some(c) => {
                    stats.reused += 1;
                    c.chunks
                }
                None => {
                    stats.rechunked.push(item.rel.clone());
                    chunk::chunk(language, &text)
                }
            };
            stats.bytes += text.len() as u64;
            files.push(IndexedFile {
                path: item.rel,
                language,
                text,
            });
            spans.push(file_spans);
            hashes.push(hash);
            ControlFlow::Continue(())
        });
        // What is left in the cache was not indexed this time. After a complete walk those files
        // are gone (or now refused) and their entries are dropped; when a limit stopped the walk,
        // the files it did not reach keep theirs, so the next run need not chunk them again.
        let carried: Vec<CachedFile> = if stats.stopped.is_some() {
            cached.into_values().collect()
        } else {
            stats.dropped = cached.len();
            Vec::new()
        };
        stats.files = files.len();

        let changed =
            !stats.rechunked.is_empty() || stats.dropped > 0 || stats.cache != CacheStatus::Loaded;
        if changed {
            let mut entries: Vec<CachedFile> = files
                .iter()
                .zip(&spans)
                .zip(&hashes)
                .map(|((f, s), h)| CachedFile {
                    path: f.path.clone(),
                    hash: h.clone(),
                    chunks: s.clone(),
                })
                .chain(carried)
                .collect();
            entries.sort_by(|a, b| a.path.cmp(&b.path));
            cache::store(cache_dir, entries).map_err(|source| IndexError {
                path: cache::path(cache_dir),
                source,
            })?;
        }

        let mut chunks = Vec::new();
        for (i, (file, file_spans)) in files.iter().zip(spans).enumerate() {
            let starts = line_starts(&file.text);
            for s in file_spans {
                let from = starts
                    .get(s.start as usize - 1)
                    .copied()
                    .unwrap_or(file.text.len());
                let to = starts
                    .get(s.end as usize)
                    .copied()
                    .unwrap_or(file.text.len());
                chunks.push(Chunk {
                    file: i,
                    start: s.start,
                    end: s.end,
                    bytes: from..to,
                    name: s.name,
                });
            }
        }
        stats.chunks = chunks.len();
        let summary = Summary::of(repo, &visible);
        stats.elapsed = started.elapsed();
        Ok((
            Index {
                files,
                chunks,
                summary,
                bm25: OnceLock::new(),
            },
            stats,
        ))
    }

    /// The structural summary computed with the index.
    pub fn summary(&self) -> &Summary {
        &self.summary
    }

    /// The chunks as excerpts (score 0), in file and line order.
    pub fn chunks(&self) -> impl Iterator<Item = Excerpt> + '_ {
        (0..self.chunks.len()).map(|i| self.excerpt(i, 0.0))
    }

    /// The excerpts most relevant to `query` that fit, with the summary, in `budget_tokens`
    /// (four characters to a token).
    pub fn pack(&self, query: &str, budget_tokens: usize) -> Pack {
        let terms = bm25::query_terms(query);
        let bm25 = self.bm25.get_or_init(|| {
            let docs: Vec<[&str; 3]> = self
                .chunks
                .iter()
                .map(|c| {
                    let file = &self.files[c.file];
                    [
                        file.path.as_str(),
                        c.name.as_deref().unwrap_or(""),
                        &file.text[c.bytes.clone()],
                    ]
                })
                .collect();
            Bm25::build(docs.iter().map(|d| &d[..]))
        });
        let scores = bm25.scores(&terms);
        let mut ranked: Vec<(usize, f64)> = scores
            .into_iter()
            .enumerate()
            .filter(|(_, s)| *s > 0.0)
            .collect();
        ranked.sort_by(|a, b| {
            b.1.total_cmp(&a.1).then_with(|| {
                let (ca, cb) = (&self.chunks[a.0], &self.chunks[b.0]);
                self.files[ca.file]
                    .path
                    .cmp(&self.files[cb.file].path)
                    .then(ca.start.cmp(&cb.start))
            })
        });
        let total = ranked.len();
        let candidates = ranked.into_iter().map(|(i, s)| self.excerpt(i, s));
        Pack::fit(&self.summary, candidates, total, budget_tokens)
    }

    fn excerpt(&self, i: usize, score: f64) -> Excerpt {
        let c = &self.chunks[i];
        let file = &self.files[c.file];
        Excerpt {
            path: file.path.clone(),
            start_line: c.start,
            end_line: c.end,
            symbol: c.name.clone(),
            language: file.language,
            score,
            text: file.text[c.bytes.clone()].to_string(),
        }
    }
}

/// Byte offsets where each line starts.
fn line_starts(text: &str) -> Vec<usize> {
    let mut starts = vec![0];
    starts.extend(memchr::memchr_iter(b'\n', text.as_bytes()).map(|i| i + 1));
    starts
}
