//! A session's fixed context: paths, config, roles, plan, templates and the frozen inputs.
//! Built once when the supervisor starts (or resumes); everything else comes from the journal.

use std::path::Path;

use crate::config::Config;
use crate::journal::SessionState;
use crate::paths::{ProjectPaths, SessionPaths};
use crate::supervisor::code::CodeIndex;
use crate::supervisor::store::Store;
use docs::templates::TemplatesLoader;
use protocol::Stage;
use protocol::error::{Error, Result};
use workflow::machine::Plan;
use workflow::roles::Roles;

/// File names of the frozen inputs in `artifacts/intake/`.
pub(crate) const INPUT_PRD: &str = "prd.md";
pub(crate) const INPUT_DIGEST: &str = "digest.md";

pub(crate) struct SessionContext {
    pub project: ProjectPaths,
    pub paths: SessionPaths,
    pub session_id: String,
    pub config: Config,
    pub roles: Roles,
    pub plan: Plan,
    /// The session runs on the bundled local model (`llm::uses_local_model`, decided once here).
    pub local_model: bool,
    /// Compiled on a thread once the first requests are out; see [`TemplatesLoader`].
    pub templates: TemplatesLoader,
    pub store: Store,
    /// The project's code index, for the context packs (the supervisor starts building it).
    pub code: CodeIndex,
}

impl SessionContext {
    /// Builds the context of an existing session from its journal state.
    pub(crate) fn load(
        project_dir: &Path,
        config: Config,
        state: &SessionState,
    ) -> Result<SessionContext> {
        let project = ProjectPaths::new(project_dir, &config);
        let paths = project.session(&state.session_id);
        let t0 = std::time::Instant::now();
        let roles = crate::roles::load_roles(&project.agents, &config)?;
        let roles_us = t0.elapsed().as_micros() as u64;
        let store = Store::new(paths.artifacts());
        let has_prd = store.input_path(INPUT_PRD).is_file();
        let summary_over = config
            .workflow
            .prd_summary_over(llm::uses_local_model(&config));
        let prd_needs_summary = store
            .read_input(INPUT_PRD)
            .is_some_and(|p| protocol::estimate_tokens(&p) > summary_over);
        let author = roles
            .enabled_authors()
            .first()
            .map(|r| r.name.clone())
            .ok_or_else(|| {
                Error::Usage("no author role is enabled; enable `roles.architect`".into())
            })?;
        let reviewers = roles
            .enabled_reviewers()
            .iter()
            .map(|r| r.name.clone())
            .collect();
        let helpers = roles
            .enabled_helpers()
            .iter()
            .map(|r| r.name.clone())
            .collect();
        let local_model = llm::uses_local_model(&config);
        let plan = Plan::new(
            &config,
            local_model,
            &author,
            reviewers,
            helpers,
            has_prd,
            prd_needs_summary,
        );
        let plan = if state.inputs.update.is_some() {
            plan.for_update()
        } else {
            plan
        };
        let templates = TemplatesLoader::new(project.templates.clone());
        let code = CodeIndex::new(
            project_dir,
            project.root.join("index"),
            config.repository.deny.clone(),
        );
        tracing::debug!(
            roles_us,
            total_us = t0.elapsed().as_micros() as u64,
            "session context parts"
        );
        Ok(SessionContext {
            project,
            paths,
            session_id: state.session_id.clone(),
            config,
            roles,
            plan,
            local_model,
            templates,
            store,
            code,
        })
    }

    /// The PRD text prompts should use: the summary, else the generated PRD, else the input.
    pub(crate) fn prd_text(&self, state: &SessionState) -> Option<String> {
        self.store
            .latest_md(state, Stage::Intake, "prd_summary")
            .or_else(|| self.store.latest_md(state, Stage::Requirements, "prd"))
            .or_else(|| self.store.read_input(INPUT_PRD))
    }
}

/// The artifact name of a stage's main document.
pub(crate) fn doc_name(stage: Stage) -> &'static str {
    match stage {
        Stage::Requirements => "prd",
        Stage::Options => "options",
        Stage::Proposal => "proposal",
        Stage::ImplementationPlan => "plan",
        Stage::Intake => "prd_summary",
        Stage::Helpers => "contribution",
        Stage::DesignDocs | Stage::FinalReview => "manifest",
    }
}

/// The artifact name of a design document file (`api_design.md` -> `api_design`).
pub(crate) fn design_doc_name(file: &str) -> String {
    file.trim_end_matches(".md").to_string()
}

/// Short codes for feedback item ids: `OPT-PE-r1-3`.
pub(crate) fn stage_code(stage: Stage) -> &'static str {
    match stage {
        Stage::Intake => "INT",
        Stage::Requirements => "REQ",
        Stage::Options => "OPT",
        Stage::Helpers => "HLP",
        Stage::Proposal => "PRO",
        Stage::DesignDocs => "DOC",
        Stage::FinalReview => "FIN",
        Stage::ImplementationPlan => "PLN",
    }
}

/// `principal-engineer` -> `PE`, `human` -> `HU`, `code-reviewer` -> `CR`.
pub(crate) fn role_code(role: &str) -> String {
    if role == "human" {
        return "HU".into();
    }
    let parts: Vec<&str> = role
        .split(['-', '_', ' '])
        .filter(|p| !p.is_empty())
        .collect();
    let code: String = if parts.len() >= 2 {
        parts.iter().filter_map(|p| p.chars().next()).collect()
    } else {
        role.chars().take(2).collect()
    };
    code.to_ascii_uppercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_codes_are_initials() {
        assert_eq!(role_code("principal-engineer"), "PE");
        assert_eq!(role_code("code-reviewer"), "CR");
        assert_eq!(role_code("human"), "HU");
        assert_eq!(role_code("security"), "SE");
    }
}
