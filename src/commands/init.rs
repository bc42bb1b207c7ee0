//! `agentmux init`: create `.agentmux/config.yaml` and `.agentmux/specs/`; never overwrite a file.

use std::io::Write;

use super::Ctx;
use protocol::error::{Error, Result, exit};

/// The config written by `init`: the example config shipped with agentmux.
const EXAMPLE_CONFIG: &str = include_str!("../../.agentmux.example/config.yaml");

pub(super) fn run(ctx: &Ctx) -> Result<u8> {
    let root = ctx.project_dir.join(".agentmux");
    let specs = root.join("specs");
    std::fs::create_dir_all(&specs).map_err(|e| Error::io(&specs, e))?;
    let config = root.join("config.yaml");
    if config.exists() {
        println!("kept     {} (already exists)", config.display());
    } else {
        osutil::write_atomic(&config, EXAMPLE_CONFIG.as_bytes())?;
        println!("created  {}", config.display());
    }
    println!("ready    {}", specs.display());
    if ctx.project_dir.join(".git").exists() {
        let gi = ctx.project_dir.join(".gitignore");
        let existing = std::fs::read_to_string(&gi).unwrap_or_default();
        let entry = ".agentmux/sessions/";
        if existing
            .lines()
            .any(|l| l.trim() == entry || l.trim() == "/.agentmux/sessions/")
        {
            println!("kept     {} (already ignores {entry})", gi.display());
        } else {
            let mut f = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&gi)
                .map_err(|e| Error::io(&gi, e))?;
            let sep = if existing.is_empty() || existing.ends_with('\n') {
                ""
            } else {
                "\n"
            };
            writeln!(f, "{sep}{entry}").map_err(|e| Error::io(&gi, e))?;
            println!("updated  {} (ignores {entry})", gi.display());
        }
    }
    println!(
        "\nNext: agentmux start --goal \"...\" --journey \"...\"  (or put a PRD in {}/project.md)",
        specs.display()
    );
    Ok(exit::SUCCESS)
}
