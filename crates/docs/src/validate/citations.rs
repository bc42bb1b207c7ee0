//! Citations checked against the project: every cited file is a text file inside the project and
//! the cited lines exist in it.
//!
//! A citation that points nowhere is worse than none: it makes an invented claim look checked.
//! So a bad one is a finding like a broken diagram, and in a session it goes back to the author
//! as a repair task. A document without citations has nothing to check here (a project with no
//! code works as before). The files are read, never followed out of the project: a path is
//! resolved with its symbolic links and must stay under the project root.

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::path::{Component, Path, PathBuf};

use super::Finding;
use crate::cite::{Citation, Cited, find};

/// A cited file larger than this is refused: source files are far smaller, and a design should
/// not rest on a generated blob.
pub const MAX_CITED_BYTES: u64 = 16 * 1024 * 1024;

/// Git's test for a binary file: a NUL byte in the first 8,000 bytes.
const BINARY_SNIFF: usize = 8000;

/// Checks every citation of a markdown document against the project at `project_root`.
pub fn check_citations(project_root: &Path, md: &str) -> Vec<Finding> {
    check_citations_but(project_root, md, |_| false)
}

/// Like [`check_citations`], without the citations `drifted` says are reported as drift.
pub(crate) fn check_citations_but(
    project_root: &Path,
    md: &str,
    drifted: impl Fn(&Citation) -> bool,
) -> Vec<Finding> {
    let cited = find(md);
    if cited.is_empty() {
        return Vec::new();
    }
    let mut files = Files::new(project_root);
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for c in &cited {
        if !seen.insert((c.section.clone(), c.citation.clone())) || drifted(&c.citation) {
            continue;
        }
        let problem = match files.lines(&c.citation.path) {
            Err(p) => Some(p.describe()),
            Ok(n) => line_problem(c.citation.start, c.citation.end, n),
        };
        if let Some(problem) = problem {
            out.push(Finding::new(
                location(c),
                format!("`{}` \u{2014} {problem}", c.citation),
            ));
        }
    }
    out
}

/// `section "3. Detailed Design" (line 42)`, or `document (line 3)` before the first heading.
pub(crate) fn location(c: &Cited) -> String {
    if c.section.is_empty() {
        format!("document (line {})", c.line)
    } else {
        format!("section \"{}\" (line {})", c.section, c.line)
    }
}

/// What is wrong with lines `start..=end` of a file of `n` lines, and the fix.
pub(crate) fn line_problem(start: u32, end: u32, n: usize) -> Option<String> {
    if start == 0 {
        Some("lines are numbered from 1; cite a line that exists".into())
    } else if start > end {
        Some("the range is reversed; write it as `path:start-end` with start <= end".into())
    } else if end as usize > n {
        let has = match n {
            0 => "the file is empty".to_string(),
            1 => "the file has 1 line".to_string(),
            n => format!("the file has {n} lines"),
        };
        Some(format!("{has}; cite a line that exists"))
    } else {
        None
    }
}

/// Why a cited path cannot be used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Unusable {
    Absolute,
    Outside,
    Missing,
    NotAFile,
    Binary,
    TooLarge(u64),
    Unreadable(String),
}

impl Unusable {
    /// The problem and the fix, after the citation.
    pub(crate) fn describe(&self) -> String {
        match self {
            Unusable::Absolute => {
                "an absolute path; cite the file by its path relative to the project root".into()
            }
            Unusable::Outside => {
                "points outside the project; cite files inside it, by their path relative to the project root".into()
            }
            Unusable::Missing => {
                "no such file in the project; cite an existing file by its path relative to the project root".into()
            }
            Unusable::NotAFile => "not a regular file (a directory?); cite a file and its lines".into(),
            Unusable::Binary => "not a text file; cite source or text files only".into(),
            Unusable::TooLarge(n) => format!(
                "the file is {n} bytes, more than the {MAX_CITED_BYTES} a cited file may have; cite a source file"
            ),
            Unusable::Unreadable(e) => format!("the file cannot be read ({e}); cite a readable file"),
        }
    }
}

impl fmt::Display for Unusable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.describe())
    }
}

/// A cited file as read: its bytes and its number of lines.
pub(crate) struct CitedFile {
    pub bytes: Vec<u8>,
    pub lines: usize,
}

/// The path relative to the project root with `.` and inner `..` resolved (`./a/../b.py` ->
/// `b.py`), or why it cannot name a file inside the project.
pub(crate) fn normalize(path: &str) -> Result<String, Unusable> {
    let p = Path::new(path);
    let mut parts: Vec<&str> = Vec::new();
    for c in p.components() {
        match c {
            Component::RootDir | Component::Prefix(_) => return Err(Unusable::Absolute),
            Component::CurDir => {}
            Component::ParentDir => {
                if parts.pop().is_none() {
                    return Err(Unusable::Outside);
                }
            }
            Component::Normal(s) => parts.push(s.to_str().unwrap_or_default()),
        }
    }
    if parts.is_empty() {
        return Err(Unusable::NotAFile);
    }
    Ok(parts.join("/"))
}

/// Reads the file at `rel` (normalized, see [`normalize`]) under the canonical project root.
pub(crate) fn read_cited(canonical_root: &Path, rel: &str) -> Result<CitedFile, Unusable> {
    let joined = canonical_root.join(rel);
    let real = match std::fs::canonicalize(&joined) {
        Ok(p) => p,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            // A dangling link is a missing file; one that resolves outside is worse.
            return Err(Unusable::Missing);
        }
        Err(e) => return Err(Unusable::Unreadable(e.to_string())),
    };
    if !real.starts_with(canonical_root) {
        return Err(Unusable::Outside);
    }
    let meta = std::fs::metadata(&real).map_err(|e| Unusable::Unreadable(e.to_string()))?;
    if !meta.is_file() {
        return Err(Unusable::NotAFile);
    }
    if meta.len() > MAX_CITED_BYTES {
        return Err(Unusable::TooLarge(meta.len()));
    }
    let bytes = std::fs::read(&real).map_err(|e| Unusable::Unreadable(e.to_string()))?;
    if bytes[..bytes.len().min(BINARY_SNIFF)].contains(&0) {
        return Err(Unusable::Binary);
    }
    let lines = count_lines(&bytes);
    Ok(CitedFile { bytes, lines })
}

/// Lines as an editor numbers them: a last line without a newline counts.
pub(crate) fn count_lines(bytes: &[u8]) -> usize {
    let newlines = bytes.iter().filter(|b| **b == b'\n').count();
    newlines + usize::from(bytes.last().is_some_and(|b| *b != b'\n'))
}

/// The cited files of one check, each read once.
pub(crate) struct Files {
    root: Result<PathBuf, String>,
    read: HashMap<String, Result<usize, Unusable>>,
}

impl Files {
    pub(crate) fn new(project_root: &Path) -> Self {
        Self {
            root: std::fs::canonicalize(project_root).map_err(|e| {
                format!(
                    "the project directory {} cannot be read: {e}",
                    project_root.display()
                )
            }),
            read: HashMap::new(),
        }
    }

    /// The number of lines of the file `path` cites, or why it cannot be cited.
    pub(crate) fn lines(&mut self, path: &str) -> Result<usize, Unusable> {
        let rel = normalize(path)?;
        let root = self.root.clone().map_err(Unusable::Unreadable)?;
        self.read
            .entry(rel.clone())
            .or_insert_with(|| read_cited(&root, &rel).map(|f| f.lines))
            .clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn project() -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(d.path().join("readtime")).unwrap();
        let api: String = (1..=120).map(|i| format!("line {i}\n")).collect();
        std::fs::write(d.path().join("readtime/api.py"), api).unwrap();
        std::fs::write(d.path().join("readtime/last.py"), "a\nb").unwrap();
        std::fs::write(d.path().join("empty.txt"), "").unwrap();
        std::fs::write(d.path().join("logo.png"), b"\x89PNG\r\n\x1a\n\0\0\0").unwrap();
        d
    }

    fn messages(root: &Path, md: &str) -> Vec<String> {
        check_citations(root, md)
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn good_citations_and_no_citations_pass() {
        let d = project();
        assert!(messages(d.path(), "# A\n\nNo code cited.\n").is_empty());
        let md = "## 3. Detailed Design\n\n`readtime/api.py:12-40`, readtime/api.py:120, ./readtime/last.py:2, readtime/../readtime/api.py:1\n";
        assert_eq!(messages(d.path(), md), Vec::<String>::new());
    }

    #[test]
    fn each_problem_names_the_section_the_citation_and_the_fix() {
        let d = project();
        let md = "intro readtime/api.py:400\n\n## 3. Detailed Design\n\n- readtime/api.py:400\n- readtime/api.py:0\n- readtime/api.py:40-12\n- readtime/nope.py:1\n- readtime/api.py:400\n- ../secret.py:1\n- /etc/passwd.txt:1\n- `readtime/:3`\n- logo.png:1\n- empty.txt:1\n- `readtime/last.py:3`\n";
        assert_eq!(
            messages(d.path(), md),
            [
                "document (line 1): `readtime/api.py:400` \u{2014} the file has 120 lines; cite a line that exists",
                "section \"3. Detailed Design\" (line 5): `readtime/api.py:400` \u{2014} the file has 120 lines; cite a line that exists",
                "section \"3. Detailed Design\" (line 6): `readtime/api.py:0` \u{2014} lines are numbered from 1; cite a line that exists",
                "section \"3. Detailed Design\" (line 7): `readtime/api.py:40-12` \u{2014} the range is reversed; write it as `path:start-end` with start <= end",
                "section \"3. Detailed Design\" (line 8): `readtime/nope.py:1` \u{2014} no such file in the project; cite an existing file by its path relative to the project root",
                "section \"3. Detailed Design\" (line 10): `../secret.py:1` \u{2014} points outside the project; cite files inside it, by their path relative to the project root",
                "section \"3. Detailed Design\" (line 11): `/etc/passwd.txt:1` \u{2014} an absolute path; cite the file by its path relative to the project root",
                "section \"3. Detailed Design\" (line 13): `logo.png:1` \u{2014} not a text file; cite source or text files only",
                "section \"3. Detailed Design\" (line 14): `empty.txt:1` \u{2014} the file is empty; cite a line that exists",
                "section \"3. Detailed Design\" (line 15): `readtime/last.py:3` \u{2014} the file has 2 lines; cite a line that exists",
            ]
        );
    }

    #[test]
    fn a_directory_is_not_a_file() {
        let d = project();
        let f = messages(d.path(), "`readtime/x/..:3` and `./readtime/.:1`\n");
        assert!(f.is_empty(), "not citations: {f:?}");
        std::fs::create_dir_all(d.path().join("pkg.d")).unwrap();
        let f = messages(d.path(), "pkg.d:3\n");
        assert_eq!(f.len(), 1, "{f:?}");
        assert!(f[0].contains("not a regular file"), "{f:?}");
    }

    #[cfg(unix)]
    #[test]
    fn a_symbolic_link_out_of_the_project_is_outside() {
        let d = project();
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("x.py"), "x\n").unwrap();
        std::os::unix::fs::symlink(outside.path().join("x.py"), d.path().join("link.py")).unwrap();
        std::os::unix::fs::symlink(d.path().join("readtime/api.py"), d.path().join("in.py"))
            .unwrap();
        std::os::unix::fs::symlink(d.path().join("gone.py"), d.path().join("dangling.py")).unwrap();
        let f = messages(d.path(), "link.py:1 in.py:3 dangling.py:1\n");
        assert_eq!(f.len(), 2, "{f:?}");
        assert!(
            f[0].contains("`link.py:1` \u{2014} points outside"),
            "{f:?}"
        );
        assert!(
            f[1].contains("`dangling.py:1` \u{2014} no such file"),
            "{f:?}"
        );
    }

    #[test]
    fn paths_are_normalized_inside_the_project() {
        assert_eq!(normalize("./a/../b.py").as_deref(), Ok("b.py"));
        assert_eq!(normalize("a//b.py").as_deref(), Ok("a/b.py"));
        assert_eq!(normalize("a/../../b.py"), Err(Unusable::Outside));
        assert_eq!(normalize("/b.py"), Err(Unusable::Absolute));
        assert_eq!(count_lines(b""), 0);
        assert_eq!(count_lines(b"a"), 1);
        assert_eq!(count_lines(b"a\n"), 1);
        assert_eq!(count_lines(b"a\n\nb"), 3);
    }
}
