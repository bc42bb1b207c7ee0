//! Deliverables: the files users come for, written only by the supervisor, atomically.
//!
//! - `.agentmux/specs/project.md` (when the PRD was generated), `specs/manifest.json`,
//!   `specs/<area>_design.md` (flat; the manifest lists exactly the files written, and its
//!   `baseline` the commit and cited files they were written against)
//! - `.agentmux/options.md`, `.agentmux/design_proposal.md`, `.agentmux/implementation_plan.md`
//! - `.agentmux/feedback.md`, `.agentmux/feedback.json`: every item with its disposition and status
//!   (an update session's ledger keeps the earlier sessions' items)
//! - `.agentmux/changes/<session>.md`: an update session's change proposal (see `update`)
//!
//! An artifact accepted although invalid (`workflow.on_invalid: continue`) is written under
//! `.agentmux/invalid/` instead, never into `specs/` as if it were valid.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::journal::SessionState;
use crate::supervisor::session::{SessionContext, design_doc_name};
use docs::baseline::Document;
use protocol::error::{Error, Result};
use protocol::{Event, ItemStatus, Stage};

/// How a deliverable reaches the disk: the supervisor passes its journal's writer, which writes
/// the file (atomically) before any record that follows, off the supervisor's thread.
pub(crate) type WriteFile<'a> = dyn FnMut(PathBuf, Vec<u8>) -> Result<()> + 'a;

/// Writes what a completed stage delivers through `write`; returns the `DeliverableWritten`
/// events.
pub(crate) fn write_stage(
    ctx: &SessionContext,
    state: &SessionState,
    stage: Stage,
    write: &mut WriteFile<'_>,
) -> Result<Vec<Event>> {
    let root = &ctx.project.root;
    let specs = &ctx.project.specs;
    let mut written: Vec<PathBuf> = Vec::new();
    let mut put = |path: PathBuf, text: &str| -> Result<()> {
        write(path.clone(), text.as_bytes().to_vec())?;
        written.push(path);
        Ok(())
    };
    let latest = |stage: Stage, name: &str| ctx.store.latest_md(state, stage, name);
    // A reviewed document is Approved (seed 001's header) when its review ended with every item
    // of the stage answered and none reopened; the design documents, once the final review's
    // items are. Items the stop rule integrated without a re-review count as answered.
    let settled = |stage: Stage| {
        let mut items = state.stage_items(stage).peekable();
        items.peek().is_some()
            && state
                .stage_items(stage)
                .all(|i| i.status != ItemStatus::Open)
    };
    let status = |stage: Stage, md: String| {
        let reviewed = matches!(stage, Stage::Options | Stage::Proposal | Stage::FinalReview);
        if reviewed && settled(stage) {
            docs::render::approved(&md)
        } else {
            md
        }
    };
    // Stages that deliver one document: its artifact name and where it goes.
    let single = match stage {
        Stage::Requirements => Some(("prd", specs.join("project.md"))),
        Stage::Options => Some(("options", root.join("options.md"))),
        Stage::Proposal => Some(("proposal", root.join("design_proposal.md"))),
        Stage::ImplementationPlan => Some(("plan", root.join("implementation_plan.md"))),
        Stage::Intake | Stage::Helpers | Stage::DesignDocs | Stage::FinalReview => None,
    };
    if let Some((name, place)) = single
        && let Some(md) = latest(stage, name)
    {
        put(destination(ctx, state, name, place), &status(stage, md))?;
    }
    match stage {
        Stage::DesignDocs | Stage::FinalReview => {
            let update = state.inputs.update.is_some();
            if stage == Stage::DesignDocs {
                if update {
                    crate::supervisor::update::retire(ctx, state)?;
                } else {
                    archive_stale(ctx, state)?;
                }
            }
            let mut ok_files = Vec::new();
            // The documents the baseline takes its citations from: the design documents written
            // into specs/ and the proposal they elaborate.
            let mut cited: Vec<(String, String)> = Vec::new();
            for file in &state.design_docs {
                let name = design_doc_name(file);
                let Some(md) = latest(Stage::DesignDocs, &name) else {
                    continue;
                };
                let dest = destination(ctx, state, &name, specs.join(file));
                if dest.starts_with(specs) {
                    ok_files.push(file.clone());
                    cited.push((file.clone(), md.clone()));
                }
                put(dest, &status(stage, md))?;
            }
            if update
                && stage == Stage::DesignDocs
                && let Some(md) = latest(Stage::DesignDocs, crate::supervisor::update::CHANGE)
            {
                // The change proposal stays with the specs' history, one file per update.
                let name = format!("{}.md", ctx.session_id);
                put(root.join("changes").join(name), &md)?;
                // The plan gains what the change adds, in place.
                if let Some(plan) = crate::supervisor::update::plan(ctx, state) {
                    put(root.join("implementation_plan.md"), &plan)?;
                }
            }
            if update {
                // The documents the update leaves alone are cited as they are.
                for (file, md) in crate::supervisor::update::current_docs(ctx, state) {
                    if !cited.iter().any(|(f, _)| *f == file) {
                        ok_files.push(file.clone());
                        cited.push((file, md));
                    }
                }
            }
            let proposal = root.join("design_proposal.md");
            if let Some(md) = latest(Stage::Proposal, "proposal").or_else(|| {
                update
                    .then(|| crate::supervisor::update::baseline_proposal(&ctx.store))
                    .flatten()
            }) && destination(ctx, state, "proposal", proposal.clone()) == proposal
            {
                cited.push(("design_proposal.md".into(), md));
            }
            let manifest = if update {
                crate::supervisor::update::manifest(ctx, state)
            } else {
                ctx.store.latest_json(state, Stage::DesignDocs, "manifest")
            };
            if let Some(mut m) = manifest {
                if !update {
                    restrict_manifest(&mut m, &ok_files);
                }
                add_baseline(ctx, &mut m, &cited);
                let text = serde_json::to_string_pretty(&m).unwrap_or_default() + "\n";
                put(specs.join("manifest.json"), &text)?;
            }
        }
        Stage::Intake
        | Stage::Helpers
        | Stage::Requirements
        | Stage::Options
        | Stage::Proposal
        | Stage::ImplementationPlan => {}
    }
    let (json_path, json_text, md_path, md_text) = feedback_files(ctx, state);
    put(json_path, &json_text)?;
    put(md_path, &md_text)?;
    Ok(written
        .into_iter()
        .map(|p| Event::DeliverableWritten {
            path: p
                .strip_prefix(&ctx.project.project_dir)
                .unwrap_or(&p)
                .display()
                .to_string(),
        })
        .collect())
}

/// Records in the manifest what the design was made against (the commit, the hash of every
/// cited file, which section cites which lines), for `agentmux validate` to report drift later.
/// Recorded afresh each time the specs are written, so a resumed session's baseline is the code
/// as it was when the specs were last written.
fn add_baseline(ctx: &SessionContext, manifest: &mut Value, cited: &[(String, String)]) {
    let documents: Vec<Document<'_>> = cited
        .iter()
        .map(|(name, md)| Document { name, markdown: md })
        .collect();
    let own = [ctx.project.root.as_path(), ctx.project.specs.as_path()];
    let baseline = crate::baseline::record(&ctx.project.project_dir, &own, &documents);
    match (manifest.as_object_mut(), serde_json::to_value(&baseline)) {
        (Some(obj), Ok(v)) => {
            obj.insert("baseline".into(), v);
        }
        (_, Err(e)) => tracing::warn!("the baseline cannot be written: {e}"),
        (None, Ok(_)) => {}
    }
}

/// Where an artifact goes: its place, or `.agentmux/invalid/` when accepted although invalid.
fn destination(ctx: &SessionContext, state: &SessionState, name: &str, place: PathBuf) -> PathBuf {
    let invalid = state.items.iter().any(|i| {
        i.item.author == "validator" && i.item.section == name && i.status != ItemStatus::Closed
    });
    if invalid {
        let file = place
            .file_name()
            .map(|f| f.to_os_string())
            .unwrap_or_default();
        ctx.project.root.join("invalid").join(file)
    } else {
        place
    }
}

/// Keeps only the documents actually written in the manifest's per-file maps.
fn restrict_manifest(m: &mut Value, files: &[String]) {
    if let Some(obj) = m.as_object_mut() {
        obj.insert("selected_docs".into(), json!(files));
        for key in ["design_areas", "rationale"] {
            if let Some(Value::Object(map)) = obj.get_mut(key) {
                map.retain(|k, _| files.contains(k));
            }
        }
    }
}

/// Moves `*_design.md` files of an earlier run that this session does not produce out of
/// `specs/`, so the manifest lists exactly the design documents present.
fn archive_stale(ctx: &SessionContext, state: &SessionState) -> Result<()> {
    let specs = &ctx.project.specs;
    let Ok(rd) = std::fs::read_dir(specs) else {
        return Ok(());
    };
    for e in rd.filter_map(|e| e.ok()) {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.ends_with("_design.md") && !state.design_docs.contains(&name) {
            let dest_dir = ctx.project.root.join("archive").join(&ctx.session_id);
            std::fs::create_dir_all(&dest_dir).map_err(|err| Error::io(&dest_dir, err))?;
            let dest = dest_dir.join(&name);
            std::fs::rename(e.path(), &dest).map_err(|err| Error::io(e.path(), err))?;
            tracing::info!(
                "moved an earlier design document out of specs/: {}",
                dest.display()
            );
        }
    }
    Ok(())
}

/// The feedback ledger as `feedback.json` and `feedback.md`: (path, text) of each.
fn feedback_files(
    ctx: &SessionContext,
    state: &SessionState,
) -> (PathBuf, String, PathBuf, String) {
    let root: &Path = &ctx.project.root;
    let prior = crate::supervisor::update::baseline_feedback(&ctx.store);
    let text = serde_json::to_string_pretty(&workflow::ledger::ledger_json(state, prior.as_ref()))
        .unwrap_or_default()
        + "\n";
    (
        root.join("feedback.json"),
        text,
        root.join("feedback.md"),
        workflow::ledger::ledger_md(state, prior.as_ref()),
    )
}
