//! A temporary project directory for a test, with its files written by the test.

use std::path::{Path, PathBuf};

/// A temporary project directory, deleted on drop unless the test is failing: then it is kept
/// for a look, and its path printed with the test's output.
pub struct Project {
    dir: tempfile::TempDir,
}

impl Drop for Project {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.dir.disable_cleanup(true);
            eprintln!(
                "kept the failing test's project: {}",
                self.dir.path().display()
            );
        }
    }
}

impl Default for Project {
    fn default() -> Self {
        Self::new()
    }
}

impl Project {
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().expect("tempdir"),
        }
    }

    /// A project in `dir` that is left in place (benchmarks: the caller removes `dir` once it
    /// has measured everything).
    pub fn kept_in(dir: &Path) -> Self {
        std::fs::create_dir_all(dir).expect("mkdir");
        Self {
            dir: tempfile::Builder::new()
                .prefix("project-")
                .disable_cleanup(true)
                .tempdir_in(dir)
                .expect("tempdir"),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes a file relative to the project (its directories too); the file's path.
    pub fn write(&self, rel: &str, text: &str) -> PathBuf {
        let p = self.dir.path().join(rel);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(&p, text).expect("write");
        p
    }
}
