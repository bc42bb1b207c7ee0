//! `agentmux validate [DIR] [--json]`: the deliverable validators on an existing `.agentmux/`
//! directory, for CI on a repository's committed specs or for a look after a session.
//!
//! Exit 0 when every check passes, 1 on any finding, 2 when the directory does not exist or the
//! configuration is broken.

use std::path::PathBuf;

use super::Ctx;
use crate::cli::ValidateArgs;
use docs::validate::{Report, validate_dir};
use protocol::error::{Error, Result, exit};

pub(super) fn run(ctx: &Ctx, args: &ValidateArgs) -> Result<u8> {
    let loaded = ctx.load_config()?;
    let mut cfg = loaded.config.clone();
    // The bundled local model's one-document default shapes its sessions, not what a manifest
    // may hold: unless the config sets them, specs are judged by one document at least and the
    // usual maximum (a session's own specs pass either way).
    let local_default = |key: &str| {
        matches!(
            loaded.origins.get(key),
            Some(crate::config::load::Origin::LocalModelDefault)
        )
    };
    if local_default("workflow.design_docs.max") {
        cfg.workflow.design_docs.max = protocol::config::DesignDocsConfig::default().max;
    }
    let cfg = &cfg;
    let dir: PathBuf = match &args.dir {
        Some(d) => std::path::absolute(d).map_err(|e| Error::io(d, e))?,
        None => ctx.project_dir.join(&cfg.paths.root),
    };
    if !dir.is_dir() {
        let what = if dir.exists() {
            "is not a directory"
        } else {
            "does not exist"
        };
        return Err(Error::Input {
            path: dir,
            message: format!(
                "{what}; pass the `.agentmux/` directory to check (default: the project's), or run `agentmux init` first"
            ),
        });
    }
    // `agentmux validate .` in a project means its `.agentmux/`.
    let nested = dir.join(&cfg.paths.root);
    let dir = if nested.is_dir() && !has_artifacts(&dir) {
        nested
    } else {
        dir
    };
    let report = validate_dir(&dir, cfg);
    if args.json {
        let out = serde_json::json!({
            "ok": report.is_ok(),
            "checked": report.checked,
            "findings": report.findings,
            "warnings": report.warnings,
        });
        let text = serde_json::to_string_pretty(&out)
            .map_err(|e| Error::Other(format!("cannot print the report as JSON: {e}")))?;
        println!("{text}");
    } else {
        print!("{}", human(&report, &dir));
    }
    Ok(if report.is_ok() {
        exit::SUCCESS
    } else {
        exit::SESSION_FAILED
    })
}

/// True if `dir` holds something `validate_dir` checks.
fn has_artifacts(dir: &std::path::Path) -> bool {
    [
        "options.md",
        "design_proposal.md",
        "implementation_plan.md",
        "specs",
    ]
    .iter()
    .any(|n| dir.join(n).exists())
}

/// The human report: findings grouped by file, one per line, then a summary line.
fn human(report: &Report, dir: &std::path::Path) -> String {
    let mut out = String::new();
    let mut files: Vec<Option<&str>> = Vec::new();
    for f in &report.findings {
        if !files.contains(&f.file.as_deref()) {
            files.push(f.file.as_deref());
        }
    }
    for file in &files {
        out.push_str(file.unwrap_or("(general)"));
        out.push('\n');
        for f in report
            .findings
            .iter()
            .filter(|f| f.file.as_deref() == *file)
        {
            out.push_str(&format!("  {}: {}\n", f.location, f.message));
        }
    }
    for w in &report.warnings {
        out.push_str(&format!("warning: {w}\n"));
    }
    let n = report.checked.len();
    if report.checked.is_empty() && report.findings.is_empty() {
        out.push_str(&format!(
            "nothing to check in {}: no options.md, design_proposal.md, implementation_plan.md or specs/ documents\n",
            dir.display()
        ));
    } else if report.is_ok() {
        out.push_str(&format!(
            "ok: {n} file{} checked in {}, no findings\n",
            plural(n),
            dir.display()
        ));
    } else {
        let k = report.findings.len();
        out.push_str(&format!(
            "{k} finding{} in {} file{} ({n} checked in {})\n",
            plural(k),
            files.len(),
            plural(files.len()),
            dir.display()
        ));
    }
    out
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

#[cfg(test)]
mod tests {
    use super::*;
    use docs::validate::Finding;

    #[test]
    fn human_report_groups_by_file() {
        let report = Report {
            checked: vec!["options.md".into(), "specs/manifest.json".into()],
            findings: vec![
                Finding::new("section \"X\"", "missing").in_file("options.md"),
                Finding::new("selected_docs", "bad").in_file("specs/manifest.json"),
                Finding::new("option \"Option A\"", "no diagram").in_file("options.md"),
            ],
            warnings: vec![],
        };
        let text = human(&report, std::path::Path::new("/p/.agentmux"));
        assert_eq!(
            text,
            "options.md\n  section \"X\": missing\n  option \"Option A\": no diagram\nspecs/manifest.json\n  selected_docs: bad\n3 findings in 2 files (2 checked in /p/.agentmux)\n"
        );
    }

    #[test]
    fn warnings_are_printed_and_do_not_fail_the_report() {
        let report = Report {
            checked: vec!["specs/manifest.json".into()],
            findings: vec![],
            warnings: vec![
                Finding::new("selected_docs", "7 documents").in_file("specs/manifest.json"),
            ],
        };
        assert!(report.is_ok());
        let text = human(&report, std::path::Path::new("/p/.agentmux"));
        assert_eq!(
            text,
            "warning: specs/manifest.json: selected_docs: 7 documents\nok: 1 file checked in /p/.agentmux, no findings\n"
        );
    }
}
