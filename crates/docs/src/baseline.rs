//! The baseline of a design: what the code looked like when the specs were written, so that a
//! later `agentmux validate` can say which documents rest on code that has changed since (drift).
//!
//! It lives in `manifest.json` under `baseline` (optional, so manifests written before it and by
//! other tools still validate): the commit and whether the tree had uncommitted changes (both
//! absent outside a git repository; the supervisor asks git, this crate does not), a SHA-256 of
//! every cited file, and which section of which document cites which lines. Hashing whole files
//! rather than the cited lines is deliberate: a change just above a cited range shifts the lines,
//! and the citation then points at the wrong code although "its" text is still there.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::cite::{Citation, find};
use crate::validate::citations::{normalize, read_cited};

/// The `baseline` of a manifest.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct Baseline {
    /// The commit checked out (`git rev-parse HEAD`); absent outside a git repository or before
    /// the first commit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    /// Whether the tree had uncommitted changes outside agentmux's own directory; absent outside
    /// a git repository.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dirty: Option<bool>,
    /// Every cited file (its path relative to the project root) -> `sha256:<hex>` of its bytes.
    #[serde(default)]
    pub files: BTreeMap<String, String>,
    /// Which section of which document cites which lines, in document order.
    #[serde(default)]
    pub citations: Vec<CitationRecord>,
}

/// One citation of one section.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct CitationRecord {
    /// The document's file name (`readtime_cjk_design.md`, `design_proposal.md`).
    pub document: String,
    /// The heading the citation is under (empty before the first heading).
    pub section: String,
    /// The cited file, relative to the project root (a key of [`Baseline::files`]).
    pub path: String,
    pub start: u32,
    pub end: u32,
}

impl CitationRecord {
    pub fn citation(&self) -> Citation {
        Citation {
            path: self.path.clone(),
            start: self.start,
            end: self.end,
        }
    }
}

/// A document whose citations go into the baseline.
#[derive(Clone, Copy, Debug)]
pub struct Document<'a> {
    /// Its file name, as `selected_docs` lists it (`api_design.md`).
    pub name: &'a str,
    pub markdown: &'a str,
}

/// The citations of `documents` and the hash of every file they cite, without the git facts
/// (`commit`, `dirty`), which the caller adds. A citation the validators would reject (a missing
/// file, a path out of the project) is left out: it has no code to drift from.
pub fn of_documents(project_root: &Path, documents: &[Document<'_>]) -> Baseline {
    let mut baseline = Baseline::default();
    let Ok(root) = std::fs::canonicalize(project_root) else {
        return baseline;
    };
    let mut unusable = BTreeSet::new();
    let mut seen = BTreeSet::new();
    for doc in documents {
        for c in find(doc.markdown) {
            let Ok(path) = normalize(&c.citation.path) else {
                continue;
            };
            if unusable.contains(&path) {
                continue;
            }
            if !baseline.files.contains_key(&path) {
                match read_cited(&root, &path) {
                    Ok(f) => {
                        baseline.files.insert(path.clone(), hash(&f.bytes));
                    }
                    Err(_) => {
                        unusable.insert(path);
                        continue;
                    }
                }
            }
            let record = CitationRecord {
                document: doc.name.to_string(),
                section: c.section,
                path,
                start: c.citation.start,
                end: c.citation.end,
            };
            if seen.insert(record.clone()) {
                baseline.citations.push(record);
            }
        }
    }
    baseline
}

/// `sha256:<64 hex digits>` of `bytes`.
pub fn hash(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let mut out = String::with_capacity(7 + 64);
    out.push_str("sha256:");
    for b in digest.iter() {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// A citation whose file is no longer what the design was made against.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Drift {
    pub document: String,
    pub section: String,
    pub citation: Citation,
    pub now: Now,
}

/// What became of a cited file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Now {
    /// Its content differs from the baseline's hash; it has `lines` lines now.
    Changed { lines: usize },
    /// It cannot be read as a file of the project any more (why, as the validator says it).
    Gone { why: String },
}

impl Drift {
    /// The change and whether the cited lines still exist, for a report.
    pub fn message(&self) -> String {
        let c = &self.citation;
        let (lines, exist, they) = if c.start == c.end {
            (format!("line {}", c.start), "exists", "it still says")
        } else {
            (format!("lines {}", c.lines()), "exist", "they still say")
        };
        match &self.now {
            Now::Changed { lines: n } if c.end as usize <= *n => format!(
                "cites `{c}`: {} changed since the baseline; {lines} still {exist}, check {they} what this section relies on",
                c.path
            ),
            Now::Changed { lines: n } => format!(
                "cites `{c}`: {} changed since the baseline and has {n} line{} now, so {lines} no longer {exist}",
                c.path,
                if *n == 1 { "" } else { "s" }
            ),
            Now::Gone { why } => {
                format!("cites `{c}`: {} is gone since the baseline ({why})", c.path)
            }
        }
    }
}

/// The citations of `baseline` whose file changed or is gone, in the baseline's order. Paths the
/// manifest check rejects (absolute, out of the project, without a hash) are skipped here.
pub fn drift(project_root: &Path, baseline: &Baseline) -> Vec<Drift> {
    let root = std::fs::canonicalize(project_root);
    let mut now: BTreeMap<&str, Option<Now>> = BTreeMap::new();
    for (path, recorded) in &baseline.files {
        if normalize(path).as_deref() != Ok(path.as_str()) {
            continue;
        }
        let state = match root.as_ref().map(|r| read_cited(r, path)) {
            Err(e) => Some(Now::Gone {
                why: format!("the project directory cannot be read: {e}"),
            }),
            Ok(Err(why)) => Some(Now::Gone {
                why: why.to_string(),
            }),
            Ok(Ok(f)) if hash(&f.bytes) != *recorded => Some(Now::Changed { lines: f.lines }),
            Ok(Ok(_)) => None,
        };
        now.insert(path, state);
    }
    baseline
        .citations
        .iter()
        .filter_map(|r| {
            let state = now.get(r.path.as_str())?.clone()?;
            Some(Drift {
                document: r.document.clone(),
                section: r.section.clone(),
                citation: r.citation(),
                now: state,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn project() -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(d.path().join("readtime")).unwrap();
        std::fs::write(
            d.path().join("readtime/api.py"),
            "def estimate(text):\n    words = text.split()\n    return len(words) / 200\n",
        )
        .unwrap();
        std::fs::write(d.path().join("readtime/cli.py"), "import api\n").unwrap();
        d
    }

    const DOC: &str = "# Readtime CJK\n\n## 3. Detailed Design\n\n`readtime/api.py:1-3` counts words; so does ./readtime/api.py:2 and again `readtime/api.py:1-3`.\n\n## 4. Testing\n\nreadtime/cli.py:1, missing.py:1 and ../out.py:1.\n";

    fn base(d: &Path) -> Baseline {
        of_documents(
            d,
            &[Document {
                name: "readtime_cjk_design.md",
                markdown: DOC,
            }],
        )
    }

    #[test]
    fn records_a_hash_per_cited_file_and_each_section_citation_once() {
        let d = project();
        let b = base(d.path());
        assert_eq!(b.commit, None);
        assert_eq!(
            b.files.keys().collect::<Vec<_>>(),
            ["readtime/api.py", "readtime/cli.py"]
        );
        assert_eq!(b.files["readtime/cli.py"], hash(b"import api\n"));
        let cited: Vec<(String, String)> = b
            .citations
            .iter()
            .map(|r| (r.section.clone(), r.citation().to_string()))
            .collect();
        assert_eq!(
            cited,
            [
                ("3. Detailed Design".into(), "readtime/api.py:1-3".into()),
                ("3. Detailed Design".into(), "readtime/api.py:2".into()),
                ("4. Testing".into(), "readtime/cli.py:1".into()),
            ]
        );
        // The JSON form: no git facts outside a repository.
        let v = serde_json::to_value(&b).unwrap();
        assert!(v.get("commit").is_none() && v.get("dirty").is_none(), "{v}");
        assert_eq!(serde_json::from_value::<Baseline>(v).unwrap(), b);
    }

    #[test]
    fn the_hash_is_sha256() {
        assert_eq!(
            hash(b""),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn no_drift_until_a_cited_file_changes() {
        let d = project();
        let b = base(d.path());
        assert!(drift(d.path(), &b).is_empty());
        // An uncited file changing is not drift.
        std::fs::write(d.path().join("readtime/other.py"), "x\n").unwrap();
        assert!(drift(d.path(), &b).is_empty());

        std::fs::write(
            d.path().join("readtime/api.py"),
            "def estimate(text):\n    return len(text) / 900\n",
        )
        .unwrap();
        std::fs::remove_file(d.path().join("readtime/cli.py")).unwrap();
        let found: Vec<(String, String)> = drift(d.path(), &b)
            .iter()
            .map(|x| (x.section.clone(), x.message()))
            .collect();
        assert_eq!(
            found,
            [
                (
                    "3. Detailed Design".into(),
                    "cites `readtime/api.py:1-3`: readtime/api.py changed since the baseline and has 2 lines now, so lines 1-3 no longer exist".into()
                ),
                (
                    "3. Detailed Design".into(),
                    "cites `readtime/api.py:2`: readtime/api.py changed since the baseline; line 2 still exists, check it still says what this section relies on".into()
                ),
                (
                    "4. Testing".into(),
                    "cites `readtime/cli.py:1`: readtime/cli.py is gone since the baseline (no such file in the project; cite an existing file by its path relative to the project root)".into()
                ),
            ]
        );
        assert!(
            drift(d.path(), &b)
                .iter()
                .all(|x| x.document == "readtime_cjk_design.md")
        );
    }

    #[test]
    fn unsafe_paths_in_a_hand_edited_baseline_are_never_read() {
        let d = project();
        let mut b = base(d.path());
        b.files.insert("../out.py".into(), hash(b""));
        b.citations.push(CitationRecord {
            document: "x_design.md".into(),
            section: String::new(),
            path: "../out.py".into(),
            start: 1,
            end: 1,
        });
        assert!(drift(d.path(), &b).is_empty());
    }
}
