//! `agentmux validate [DIR] [--json] [--drift]`: the deliverable validators on an existing
//! `.agentmux/` directory, for CI on a repository's committed specs or for a look after a session.
//!
//! When the manifest has a baseline, the citations whose file changed since are reported as
//! drift: code moving on after a design is normal, so drift is a warning unless `--drift` asks
//! for it to fail the run (a CI job that wants the specs kept in step with the code).
//!
//! Exit 0 when every check passes, 1 on any finding (and with `--drift` on any drift), 2 when the
//! directory does not exist or the configuration is broken.

use std::path::PathBuf;

use super::Ctx;
use crate::cli::ValidateArgs;
use docs::validate::{Finding, Report, validate_dir};
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
    // Drift fails the run only when asked to.
    let ok = report.is_ok() && (report.drift.is_empty() || !args.drift);
    if args.json {
        let out = serde_json::json!({
            "ok": ok,
            "checked": report.checked,
            "findings": report.findings,
            "warnings": report.warnings,
            "baseline": report.baseline,
            "drift": report.drift,
        });
        let text = serde_json::to_string_pretty(&out)
            .map_err(|e| Error::Other(format!("cannot print the report as JSON: {e}")))?;
        println!("{text}");
    } else {
        print!("{}", human(&report, &dir, args.drift));
    }
    Ok(if ok {
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

/// The human report: findings grouped by file, one per line, warnings, drift grouped by file,
/// then a summary line (and what to do about drift). `fail_on_drift`: `--drift`.
fn human(report: &Report, dir: &std::path::Path, fail_on_drift: bool) -> String {
    let mut out = String::new();
    let files = by_file(&report.findings, &mut out);
    for w in &report.warnings {
        out.push_str(&format!("warning: {w}\n"));
    }
    if !report.drift.is_empty() {
        out.push_str(&format!(
            "drift since the baseline ({}):\n",
            report.baseline.as_deref().unwrap_or("unknown")
        ));
        by_file(&report.drift, &mut out);
    }
    let n = report.checked.len();
    if report.checked.is_empty() && report.findings.is_empty() {
        out.push_str(&format!(
            "nothing to check in {}: no options.md, design_proposal.md, implementation_plan.md or specs/ documents\n",
            dir.display()
        ));
    } else if report.is_ok() && fail_on_drift && !report.drift.is_empty() {
        out.push_str(&format!(
            "drift: {n} file{} checked in {}, no findings, but the specs cite code that changed\n",
            plural(n),
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
    if !report.drift.is_empty() {
        let k = report.drift.len();
        out.push_str(&format!(
            "{k} citation{} rest{} on code changed since the specs were written: re-run a session (`agentmux start`) to revise the design against the current code, or, where the cited lines still say what the documents rely on, update the citations and remove `baseline` from the manifest (the next session records a new one){}\n",
            plural(k),
            if k == 1 { "s" } else { "" },
            if fail_on_drift {
                ""
            } else {
                "; reported only: `agentmux validate --drift` fails on drift"
            }
        ));
    }
    out
}

/// Writes `findings` grouped by file, one per line under its file; returns the files in order.
fn by_file<'a>(findings: &'a [Finding], out: &mut String) -> Vec<Option<&'a str>> {
    let mut files: Vec<Option<&str>> = Vec::new();
    for f in findings {
        if !files.contains(&f.file.as_deref()) {
            files.push(f.file.as_deref());
        }
    }
    for file in &files {
        out.push_str(file.unwrap_or("(general)"));
        out.push('\n');
        for f in findings.iter().filter(|f| f.file.as_deref() == *file) {
            out.push_str(&format!("  {}: {}\n", f.location, f.message));
        }
    }
    files
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

#[cfg(test)]
mod tests {
    use super::*;

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
            ..Report::default()
        };
        let text = human(&report, std::path::Path::new("/p/.agentmux"), false);
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
            ..Report::default()
        };
        assert!(report.is_ok());
        let text = human(&report, std::path::Path::new("/p/.agentmux"), false);
        assert_eq!(
            text,
            "warning: specs/manifest.json: selected_docs: 7 documents\nok: 1 file checked in /p/.agentmux, no findings\n"
        );
    }

    #[test]
    fn drift_is_reported_and_says_what_to_do() {
        let report = Report {
            checked: vec!["specs/a_design.md".into(), "specs/manifest.json".into()],
            drift: vec![
                Finding::new(
                    "section \"3. Detailed Design\"",
                    "cites `x.py:1-3`: x.py changed",
                )
                .in_file("specs/a_design.md"),
            ],
            baseline: Some("commit 0123456789ab".into()),
            ..Report::default()
        };
        let dir = std::path::Path::new("/p/.agentmux");
        let warn = human(&report, dir, false);
        assert_eq!(
            warn,
            "drift since the baseline (commit 0123456789ab):\nspecs/a_design.md\n  section \"3. Detailed Design\": cites `x.py:1-3`: x.py changed\nok: 2 files checked in /p/.agentmux, no findings\n1 citation rests on code changed since the specs were written: re-run a session (`agentmux start`) to revise the design against the current code, or, where the cited lines still say what the documents rely on, update the citations and remove `baseline` from the manifest (the next session records a new one); reported only: `agentmux validate --drift` fails on drift\n"
        );
        let fail = human(&report, dir, true);
        assert!(
            fail.contains("drift: 2 files checked in /p/.agentmux, no findings, but the specs cite code that changed\n"),
            "{fail}"
        );
        assert!(
            fail.ends_with("(the next session records a new one)\n"),
            "{fail}"
        );
    }
}
