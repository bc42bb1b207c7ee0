//! The validators run over an existing `.agentmux/` directory (what `agentmux validate` does, in
//! CI or by hand): the top-level documents when present, the manifest, every design document, and
//! the shape of `specs/` itself (no unlisted files, no subdirectories, no links).
//!
//! Citations are checked against the project the directory belongs to (its parent, as far up
//! as `paths.root` goes down), and a manifest with a baseline is compared with that project's
//! files now: drift is reported apart from the findings, since code moving on is expected and
//! only `agentmux validate --drift` fails on it. So a recorded citation whose file changed is
//! drift even when its lines are gone; it is a finding only if the file is as recorded, or the
//! citation was added after the baseline.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::citations::{check_citations_but, normalize};
use super::design_doc::check_design_doc;
use super::manifest::{DESIGN_DOCS_CEILING, DocCount, check_manifest};
use super::names::DESIGN_SUFFIX;
use super::options::check_options;
use super::plan::check_plan;
use super::proposal::check_proposal;
use super::structure::{Structure, refuse_override};
use super::trace_form::{TraceForm, detect_form};
use super::traceability::check_traceability;
use super::{Finding, check_text, validate_prd};
use crate::baseline::{Baseline, Drift, drift};
use protocol::config::Config;

/// The largest document accepted, in bytes.
pub const MAX_ARTIFACT_BYTES: usize = 1024 * 1024;

/// The outcome of validating a directory.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct Report {
    pub findings: Vec<Finding>,
    /// What is accepted but worth a look (a manifest over `workflow.design_docs.max`); they do
    /// not fail the report.
    #[serde(default)]
    pub warnings: Vec<Finding>,
    /// The files that were checked, relative to the directory, in the order checked.
    pub checked: Vec<String>,
    /// Citations whose file changed since the manifest's baseline (see [`crate::baseline`]);
    /// they do not fail the report.
    #[serde(default)]
    pub drift: Vec<Finding>,
    /// The baseline the drift is measured against (`commit 1a2b3c4`), when the manifest has one.
    #[serde(default)]
    pub baseline: Option<String>,
}

impl Report {
    pub fn is_ok(&self) -> bool {
        self.findings.is_empty()
    }
}

type Check = fn(&Structure, &str) -> Vec<Finding>;

/// Runs every validator that applies to the files in `agentmux_dir`.
pub fn validate_dir(agentmux_dir: &Path, cfg: &Config) -> Report {
    let mut report = Report::default();
    let specs_rel = relative_to_root(&cfg.paths.specs, &cfg.paths.root);
    let templates_rel = relative_to_root(&cfg.paths.templates, &cfg.paths.root);
    let structure = Structure::builtin();
    let project = project_root(agentmux_dir, &cfg.paths.root);
    let specs = agentmux_dir.join(&specs_rel);
    let specs_name = slash(&specs_rel);
    let drifted = drift_of(
        &specs.join("manifest.json"),
        &project,
        &specs_name,
        &mut report,
    );
    // The citations of document `name` that are reported as drift rather than checked.
    let check = |name: &str, text: &str| {
        check_citations_but(&project, text, |c| {
            drifted.iter().any(|d| {
                d.document == name
                    && normalize(&c.path).is_ok_and(|p| p == d.citation.path)
                    && (c.start, c.end) == (d.citation.start, d.citation.end)
            })
        })
    };
    if let Err(e) = refuse_override(&agentmux_dir.join(&templates_rel)) {
        report.findings.push(
            Finding::new("sections.yaml", e)
                .in_file(format!("{}/sections.yaml", slash(&templates_rel))),
        );
    }

    let top: [(&str, Check); 3] = [
        ("options.md", check_options),
        ("design_proposal.md", check_proposal),
        ("implementation_plan.md", check_plan),
    ];
    for (name, validate) in top {
        let path = agentmux_dir.join(name);
        if path.exists()
            && let Some(text) = read(&path, name, &mut report)
        {
            let mut f = validate(structure, &text);
            f.extend(check(name, &text));
            report.add(name, f);
        }
    }

    if !specs.exists() {
        return report;
    }
    let entries = match std::fs::read_dir(&specs) {
        Ok(rd) => rd,
        Err(e) => {
            report.findings.push(
                Finding::new("directory", format!("cannot be read: {e}")).in_file(specs_name),
            );
            return report;
        }
    };
    let mut files: Vec<String> = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let rel = format!("{specs_name}/{name}");
        match entry.path().symlink_metadata() {
            Ok(m) if m.file_type().is_symlink() => report.findings.push(
                Finding::new("file", "is a symbolic link; specs/ holds plain files only: replace it with the file itself")
                    .in_file(rel),
            ),
            Ok(m) if m.is_dir() => report.findings.push(
                Finding::new("directory", format!("subdirectories are not allowed in {specs_name}/; move its documents up into {specs_name}/ (flat) and remove it"))
                    .in_file(rel),
            ),
            Ok(_) => files.push(name),
            Err(e) => report
                .findings
                .push(Finding::new("file", format!("cannot be read: {e}")).in_file(rel)),
        }
    }
    files.sort();

    let prd_name = "project.md";
    let prd = if files.iter().any(|f| f == prd_name) {
        let rel = format!("{specs_name}/{prd_name}");
        read(&specs.join(prd_name), &rel, &mut report).inspect(|text| {
            let mut f = validate_prd(text);
            f.extend(check(prd_name, text));
            report.add(&rel, f);
        })
    } else {
        None
    };

    let design_docs: Vec<String> = files
        .iter()
        .filter(|f| f.ends_with(DESIGN_SUFFIX))
        .cloned()
        .collect();
    for name in &design_docs {
        let rel = format!("{specs_name}/{name}");
        if let Some(text) = read(&specs.join(name), &rel, &mut report) {
            let mut f = check_design_doc(structure, &text);
            f.extend(check(name, &text));
            report.add(&rel, f);
        }
    }

    let manifest_name = "manifest.json";
    let manifest_rel = format!("{specs_name}/{manifest_name}");
    if files.iter().any(|f| f == manifest_name) {
        if let Some(text) = read(&specs.join(manifest_name), &manifest_rel, &mut report) {
            match serde_json::from_str::<Value>(&text) {
                Ok(json) => {
                    let count = DocCount {
                        min: cfg.workflow.design_docs.min as usize,
                        max: cfg.workflow.design_docs.max as usize,
                        ceiling: DESIGN_DOCS_CEILING,
                    };
                    let c = check_manifest(&json, Some(&design_docs), count);
                    report.add(&manifest_rel, c.findings);
                    report
                        .warnings
                        .extend(c.warnings.into_iter().map(|f| f.in_file(&manifest_rel)));
                    if let Some(prd) = &prd {
                        let form = trace_form_of(&json);
                        let f = check_traceability(structure, prd, None, &json)
                            .iter()
                            .map(|u| u.to_finding_in(form))
                            .collect();
                        report.add(&manifest_rel, f);
                    }
                }
                Err(e) => report.findings.push(
                    Finding::new(
                        format!("line {}, column {}", e.line(), e.column()),
                        format!("not valid JSON: {e}; fix the syntax"),
                    )
                    .in_file(manifest_rel.clone()),
                ),
            }
        }
    } else if !design_docs.is_empty() {
        report.findings.push(
            Finding::new(
                "file",
                format!("missing: {} design documents but no manifest; write {manifest_rel} listing them in selected_docs", design_docs.len()),
            )
            .in_file(manifest_rel.clone()),
        );
    }

    for name in &files {
        let known = name == manifest_name || name == prd_name || name.ends_with(DESIGN_SUFFIX);
        if !known {
            report.findings.push(
                Finding::new(
                    "file",
                    format!("is not a design document and not listed in {manifest_name}; move it out of {specs_name}/, or rename it to a snake_case `*{DESIGN_SUFFIX}` and list it in selected_docs"),
                )
                .in_file(format!("{specs_name}/{name}")),
            );
        }
    }
    report
}

/// Which way round the manifest's traceability is written, so a fix for an uncovered PRD item
/// is given in the same form (agentmux's when there is no map or it mixes the two, which
/// validate_manifest reports).
fn trace_form_of(manifest: &Value) -> TraceForm {
    let selected = super::manifest::selected_docs(manifest);
    manifest
        .get("traceability")
        .and_then(Value::as_object)
        .and_then(|t| detect_form(t, &selected).ok())
        .unwrap_or(TraceForm::ItemToDocs)
}

/// Records the drift of the project at `project` from the baseline of the manifest at
/// `manifest` (when there is one), and returns it. A manifest that cannot be read or whose
/// baseline the schema rejects is reported by the manifest checks; here it means no drift.
fn drift_of(manifest: &Path, project: &Path, specs_name: &str, report: &mut Report) -> Vec<Drift> {
    let baseline = std::fs::read_to_string(manifest)
        .ok()
        .and_then(|t| serde_json::from_str::<Value>(&t).ok())
        .and_then(|mut m| m.get_mut("baseline").map(Value::take))
        .and_then(|b| serde_json::from_value::<Baseline>(b).ok());
    let Some(baseline) = baseline else {
        return Vec::new();
    };
    report.baseline = Some(match (&baseline.commit, baseline.dirty) {
        (Some(c), Some(true)) => format!(
            "commit {} with uncommitted changes",
            c.get(..12).unwrap_or(c)
        ),
        (Some(c), _) => format!("commit {}", c.get(..12).unwrap_or(c)),
        (None, _) => "the files as they were (no git commit recorded)".into(),
    });
    let found = drift(project, &baseline);
    for d in &found {
        // Design documents and a generated PRD are in specs/, the others at the top.
        let file = if d.document.ends_with(DESIGN_SUFFIX) || d.document == "project.md" {
            format!("{specs_name}/{}", d.document)
        } else {
            d.document.clone()
        };
        let location = if d.section.is_empty() {
            "document".to_string()
        } else {
            format!("section \"{}\"", d.section)
        };
        report
            .drift
            .push(Finding::new(location, d.message()).in_file(file));
    }
    found
}

/// The project an agentmux directory belongs to: `/p/.agentmux` -> `/p` for `paths.root:
/// .agentmux` (as many levels up as `root` has parts).
fn project_root(agentmux_dir: &Path, root: &str) -> PathBuf {
    let depth = Path::new(root)
        .components()
        .filter(|c| matches!(c, std::path::Component::Normal(_)))
        .count();
    let mut dir = agentmux_dir;
    for _ in 0..depth {
        match dir.parent() {
            Some(p) => dir = p,
            None => break,
        }
    }
    dir.to_path_buf()
}

impl Report {
    fn add(&mut self, file: &str, findings: Vec<Finding>) {
        self.findings
            .extend(findings.into_iter().map(|f| f.in_file(file)));
    }
}

/// Reads a file within the limits; a problem becomes a finding. Records the file as checked.
fn read(path: &Path, rel: &str, report: &mut Report) -> Option<String> {
    report.checked.push(rel.to_string());
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) => {
            report
                .findings
                .push(Finding::new("file", format!("cannot be read: {e}")).in_file(rel));
            return None;
        }
    };
    match check_text(&bytes, MAX_ARTIFACT_BYTES) {
        Ok(text) => Some(text.to_string()),
        Err(f) => {
            report.findings.push(f.in_file(rel));
            None
        }
    }
}

/// A configured project path relative to the agentmux directory: `.agentmux/specs` -> `specs`;
/// one outside it (`docs/specs`) -> `../docs/specs`, so a project that keeps its specs elsewhere
/// is still checked.
fn relative_to_root(path: &str, root: &str) -> PathBuf {
    match Path::new(path).strip_prefix(root) {
        Ok(p) => p.to_path_buf(),
        Err(_) => {
            let depth = Path::new(root)
                .components()
                .filter(|c| matches!(c, std::path::Component::Normal(_)))
                .count();
            let mut up = PathBuf::new();
            for _ in 0..depth {
                up.push("..");
            }
            up.join(path)
        }
    }
}

fn slash(p: &Path) -> String {
    p.to_string_lossy().replace('\\', "/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_project_is_as_far_up_as_the_root_goes_down() {
        assert_eq!(
            project_root(Path::new("/p/.agentmux"), ".agentmux"),
            PathBuf::from("/p")
        );
        assert_eq!(
            project_root(Path::new("/p/tools/agentmux"), "tools/agentmux"),
            PathBuf::from("/p")
        );
        assert_eq!(
            project_root(Path::new("/p/.agentmux"), "./.agentmux/"),
            PathBuf::from("/p")
        );
    }

    #[test]
    fn configured_paths_relative_to_the_agentmux_directory() {
        assert_eq!(
            relative_to_root(".agentmux/specs", ".agentmux"),
            PathBuf::from("specs")
        );
        assert_eq!(
            relative_to_root("docs/specs", ".agentmux"),
            PathBuf::from("../docs/specs")
        );
        assert_eq!(
            relative_to_root("specs", "tools/agentmux"),
            PathBuf::from("../../specs")
        );
    }
}
