//! `agentmux init`: create `.agentmux/config.yaml` and `.agentmux/specs/`; never overwrite a file.

use std::io::Write;

use super::Ctx;
use crate::agent::cli;
use protocol::config::Backend;
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
        let found = installed_clis();
        osutil::write_atomic(&config, with_cli_choices(EXAMPLE_CONFIG, &found).as_bytes())?;
        println!("created  {}", config.display());
        for (backend, version) in &found {
            println!(
                "found    {version}: to run a role on it, uncomment its line under `roles:` (backend: {})",
                backend.as_str()
            );
        }
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

/// The coding-agent CLIs on PATH, with their versions.
fn installed_clis() -> Vec<(Backend, String)> {
    [Backend::Claude, Backend::Codex, Backend::Gemini]
        .into_iter()
        .filter_map(|b| cli::version(b).ok().map(|v| (b, v)))
        .collect()
}

/// `config` with one commented choice per CLI found, at the end of its `roles:` block: nothing
/// switches to a CLI (and its account) until the user uncomments a line.
fn with_cli_choices(config: &str, found: &[(Backend, String)]) -> String {
    if found.is_empty() {
        return config.to_string();
    }
    let mut block = String::from(
        "  # Coding-agent CLIs found on PATH when this file was written; uncomment a line to run\n  \
         # that role on one (it uses the CLI's own login and account):\n",
    );
    for ((backend, version), role) in found.iter().zip(
        ["architect", "principal-engineer", "code-reviewer"]
            .iter()
            .cycle(),
    ) {
        block.push_str(&format!(
            "  # {role}: {{ enabled: true, backend: {} }}   # {version}\n",
            backend.as_str()
        ));
    }
    match config.find("\npaths:") {
        Some(at) => format!("{}{block}{}", &config[..at + 1], &config[at + 1..]),
        None => format!("{config}{block}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn found_clis_are_commented_choices_in_the_roles_block_and_nothing_else_changes() {
        let found = vec![
            (
                Backend::Claude,
                "`claude` 2.1.332 (Claude Code)".to_string(),
            ),
            (Backend::Codex, "`codex` codex-cli 0.171.0".to_string()),
        ];
        let out = with_cli_choices(EXAMPLE_CONFIG, &found);
        assert!(
            out.contains("  # architect: { enabled: true, backend: claude }   # `claude` 2.1.332")
        );
        assert!(out.contains("  # principal-engineer: { enabled: true, backend: codex }"));
        let roles = out.find("\nroles:").unwrap();
        let choice = out.find("backend: claude }").unwrap();
        let paths = out.find("\npaths:").unwrap();
        assert!(roles < choice && choice < paths, "{out}");
        // Only comment lines were added.
        let added: Vec<&str> = out
            .lines()
            .filter(|l| !EXAMPLE_CONFIG.lines().any(|e| e == *l))
            .collect();
        assert!(
            added.iter().all(|l| l.trim_start().starts_with('#')),
            "{added:?}"
        );
        assert_eq!(with_cli_choices(EXAMPLE_CONFIG, &[]), EXAMPLE_CONFIG);
    }
}
