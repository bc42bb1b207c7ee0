//! Reading the project's role files (`.agentmux/agents/*.md`); the role definitions, the built-in
//! roles and the rules that combine them live in `workflow::roles`.

use std::path::{Path, PathBuf};

use protocol::config::Config;
use protocol::error::{Error, Result};
use workflow::roles::{Roles, assemble};

/// Loads the built-in roles, then every `*.md` in `agents_dir` (missing directory: none), which
/// replaces the role of the same name or adds one.
pub(crate) fn load_roles(agents_dir: &Path, config: &Config) -> Result<Roles> {
    let mut overrides = Vec::new();
    if agents_dir.is_dir() {
        let entries = std::fs::read_dir(agents_dir).map_err(|e| Error::io(agents_dir, e))?;
        let mut files: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "md"))
            .collect();
        files.sort();
        for path in files {
            let text = std::fs::read_to_string(&path).map_err(|e| Error::Input {
                path: path.clone(),
                message: format!("cannot read the role file ({e}); it must be UTF-8 text"),
            })?;
            overrides.push((path, text));
        }
    }
    assemble(&overrides, agents_dir, config)
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::config::RoleConfig;
    use workflow::roles::RoleDef;

    fn write(dir: &Path, name: &str, text: &str) {
        std::fs::write(dir.join(name), text).unwrap();
    }

    #[test]
    fn builtins_load_with_helpers_on() {
        let roles = load_roles(Path::new("/nonexistent"), &Config::default()).unwrap();
        let names = |v: Vec<&RoleDef>| v.into_iter().map(|r| r.name.clone()).collect::<Vec<_>>();
        assert_eq!(names(roles.enabled_authors()), ["architect"]);
        assert_eq!(
            names(roles.enabled_reviewers()),
            ["principal-engineer", "code-reviewer"]
        );
        // Seed 002's helpers, data structures first (the bundled model's defaults turn them off).
        assert_eq!(
            names(roles.enabled_helpers()),
            ["data-modeler", "language-idioms"]
        );
        assert_eq!(roles.all().len(), 5);
        let arch = roles.get("architect").unwrap();
        assert!(arch.prompt.contains("Acknowledge"));
        assert!(!arch.prompt.contains("---"));
        assert_eq!(arch.source, "built-in agents/architect.md");
    }

    #[test]
    fn config_disables_a_helper_and_overrides_model() {
        let mut cfg = Config::default();
        cfg.roles.insert(
            "data-modeler".into(),
            RoleConfig {
                enabled: Some(false),
                ..Default::default()
            },
        );
        cfg.roles.insert(
            "code-reviewer".into(),
            RoleConfig {
                enabled: Some(false),
                model: Some("gpt-4o".into()),
                temperature: Some(0.7),
                ..Default::default()
            },
        );
        let roles = load_roles(Path::new("/nonexistent"), &cfg).unwrap();
        assert_eq!(roles.enabled_helpers().len(), 1);
        assert_eq!(roles.enabled_reviewers().len(), 1);
        assert_eq!(roles.model("code-reviewer").as_deref(), Some("gpt-4o"));
        assert_eq!(roles.temperature("code-reviewer"), Some(0.7));
        assert_eq!(roles.temperature("architect"), Some(0.3), "role file value");
        assert_eq!(roles.model("architect"), None);
    }

    #[test]
    fn project_file_overrides_and_adds() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            "architect.md",
            "---\nname: architect\ndescription: mine\nkind: author\nmodel: local-big\n---\nYou are my architect.\n",
        );
        write(
            dir.path(),
            "security-reviewer.md",
            "---\nname: security-reviewer\ndescription: sec\nkind: reviewer\n---\nFind threats.\n",
        );
        write(dir.path(), "notes.txt", "ignored");
        let roles = load_roles(dir.path(), &Config::default()).unwrap();
        let arch = roles.get("architect").unwrap();
        assert_eq!(arch.prompt, "You are my architect.");
        assert_eq!(roles.model("architect").as_deref(), Some("local-big"));
        assert!(arch.source.ends_with("architect.md") && arch.source.starts_with('/'));
        assert_eq!(roles.enabled_reviewers().len(), 3);
        assert_eq!(roles.all().last().unwrap().name, "security-reviewer");
    }

    #[test]
    fn bad_front_matter_names_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            "architect.md",
            "---\nname: architect\ndescription: x\nkind: boss\n---\nbody\n",
        );
        let err = load_roles(dir.path(), &Config::default())
            .unwrap_err()
            .to_string();
        assert!(err.contains("architect.md"), "{err}");
        assert!(err.contains("line 4, column 7"), "{err}");
        assert!(err.contains("unknown variant `boss`"), "{err}");
        assert!(
            !err.contains("line 3"),
            "the YAML-relative position is not shown: {err}"
        );

        write(
            dir.path(),
            "architect.md",
            "---\nname: architect\ndescription: [unclosed\nkind: author\n---\nbody\n",
        );
        let err = load_roles(dir.path(), &Config::default())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("architect.md:") || err.contains("architect.md"),
            "{err}"
        );
        assert!(err.contains("line "), "{err}");

        write(dir.path(), "architect.md", "no front matter\n");
        let err = load_roles(dir.path(), &Config::default())
            .unwrap_err()
            .to_string();
        assert!(err.contains("line 1") && err.contains("---"), "{err}");

        write(
            dir.path(),
            "architect.md",
            "---\nname: architect\ndescription: x\nkind: author\ncolour: red\n---\nbody\n",
        );
        let err = load_roles(dir.path(), &Config::default())
            .unwrap_err()
            .to_string();
        assert!(err.contains("colour"), "{err}");
    }

    #[test]
    fn name_must_match_file_and_be_safe() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            "a.md",
            "---\nname: b\ndescription: x\nkind: helper\n---\nbody\n",
        );
        let err = load_roles(dir.path(), &Config::default())
            .unwrap_err()
            .to_string();
        assert!(err.contains("line 2") && err.contains("`a.md`"), "{err}");
        std::fs::remove_file(dir.path().join("a.md")).unwrap();
        write(
            dir.path(),
            "human.md",
            "---\nname: human\ndescription: x\nkind: reviewer\n---\nbody\n",
        );
        let err = load_roles(dir.path(), &Config::default())
            .unwrap_err()
            .to_string();
        assert!(err.contains("reserved"), "{err}");
    }

    #[test]
    fn unknown_role_in_config_is_an_error_with_a_suggestion() {
        let mut cfg = Config::default();
        cfg.roles
            .insert("code-reviwer".into(), RoleConfig::default());
        let err = load_roles(Path::new("/nonexistent"), &cfg)
            .unwrap_err()
            .to_string();
        assert!(err.contains("roles.code-reviwer"), "{err}");
        assert!(err.contains("did you mean `code-reviewer`"), "{err}");
    }
}
