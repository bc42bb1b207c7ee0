//! Test helpers shared by the suites.

use std::path::{Path, PathBuf};

/// A temporary project directory, deleted on drop.
pub struct Project {
    pub dir: tempfile::TempDir,
}

impl Project {
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().expect("tempdir"),
        }
    }
    pub fn path(&self) -> &Path {
        self.dir.path()
    }
    /// Writes a file relative to the project.
    pub fn write(&self, rel: &str, text: &str) -> PathBuf {
        let p = self.dir.path().join(rel);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(&p, text).expect("write");
        p
    }
    /// An `agentmux` command run in this project, isolated from the user's config and keys.
    pub fn cmd(&self) -> assert_cmd::Command {
        let mut c = assert_cmd::Command::cargo_bin("agentmux").expect("binary");
        c.current_dir(self.path());
        isolate(&mut c, self.path());
        c
    }
}

/// Removes the caller's agentmux/OpenAI environment and points XDG at an empty directory.
pub fn isolate(c: &mut assert_cmd::Command, root: &Path) {
    for (k, _) in std::env::vars() {
        if k.starts_with("AGENTMUX_") || k.starts_with("OPENAI_") || k == "TMUX" {
            c.env_remove(&k);
        }
    }
    c.env("XDG_CONFIG_HOME", root.join(".xdg-config-empty"));
}

pub mod fake_openai;
