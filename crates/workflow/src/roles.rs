//! Role prompt files: who the agents are.
//!
//! A role is a markdown file with YAML front matter (`name`, `description`, `kind`, optional
//! `model` and `temperature`) and the role prompt as its body, which becomes the system message of
//! every task the role runs. The built-in roles in `agents/` are compiled into the binary; a file
//! `.agentmux/agents/<name>.md` in the project replaces the built-in role of that name or adds a
//! new one. Whether a role takes part, and its model, come from `roles.<name>` in the config,
//! which wins over the role file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use protocol::config::Config;
use protocol::error::{Error, Result};

/// The built-in role files: (file name, text).
pub(crate) const BUILTIN: [(&str, &str); 5] = [
    ("architect.md", include_str!("../../../agents/architect.md")),
    (
        "principal-engineer.md",
        include_str!("../../../agents/principal-engineer.md"),
    ),
    (
        "code-reviewer.md",
        include_str!("../../../agents/code-reviewer.md"),
    ),
    (
        "data-modeler.md",
        include_str!("../../../agents/data-modeler.md"),
    ),
    (
        "language-idioms.md",
        include_str!("../../../agents/language-idioms.md"),
    ),
];

/// Names no role may take: they mean something else in feedback ids and panes.
const RESERVED: [&str; 3] = ["human", "supervisor", "llm"];

/// What a role does in the workflow.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum RoleKind {
    /// Writes the documents and integrates feedback.
    Author,
    /// Reviews documents and confirms or reopens its own items.
    Reviewer,
    /// Contributes before the proposal (on by default; the bundled local model's defaults turn
    /// the built-in helpers off).
    Helper,
}

/// One role, as read from its file.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct RoleDef {
    pub name: String,
    pub description: String,
    pub kind: RoleKind,
    /// The role file's model, if it names one (see [`Roles::model`] for the effective one).
    pub model: Option<String>,
    pub temperature: Option<f64>,
    /// The role prompt (the file's body): the system message of the role's tasks.
    pub prompt: String,
    /// Where it came from: `built-in agents/<file>` or the project file's path.
    pub source: String,
}

/// The front matter keys of a role file.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FrontMatter {
    name: String,
    description: String,
    kind: RoleKind,
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    temperature: Option<f64>,
}

/// Every known role with the config's settings applied.
#[derive(Clone, Debug)]
pub struct Roles {
    /// Built-in roles first, in their built-in order, then project additions by name.
    roles: Vec<RoleDef>,
    config: BTreeMap<String, protocol::config::RoleConfig>,
}

impl Roles {
    /// The role of this name.
    pub fn get(&self, name: &str) -> Option<&RoleDef> {
        self.roles.iter().find(|r| r.name == name)
    }

    /// Every role, enabled or not.
    pub fn all(&self) -> &[RoleDef] {
        &self.roles
    }

    /// Whether the role takes part: `roles.<name>.enabled`, else on.
    pub(crate) fn is_enabled(&self, name: &str) -> bool {
        if self.get(name).is_none() {
            return false;
        }
        self.config
            .get(name)
            .and_then(|c| c.enabled)
            .unwrap_or(true)
    }

    fn enabled(&self, kind: RoleKind) -> Vec<&RoleDef> {
        self.roles
            .iter()
            .filter(|r| r.kind == kind && self.is_enabled(&r.name))
            .collect()
    }

    pub fn enabled_authors(&self) -> Vec<&RoleDef> {
        self.enabled(RoleKind::Author)
    }

    pub fn enabled_reviewers(&self) -> Vec<&RoleDef> {
        self.enabled(RoleKind::Reviewer)
    }

    pub fn enabled_helpers(&self) -> Vec<&RoleDef> {
        self.enabled(RoleKind::Helper)
    }

    /// The names of the roles that get an agent: authors, reviewers, enabled helpers.
    pub fn enabled_names(&self) -> Vec<String> {
        [
            self.enabled_authors(),
            self.enabled_reviewers(),
            self.enabled_helpers(),
        ]
        .concat()
        .iter()
        .map(|r| r.name.clone())
        .collect()
    }

    /// The effective model: `roles.<name>.model`, else the role file's, else none (the `llm` default).
    pub fn model(&self, name: &str) -> Option<String> {
        self.config
            .get(name)
            .and_then(|c| c.model.clone())
            .or_else(|| self.get(name).and_then(|r| r.model.clone()))
    }

    /// The effective temperature: `roles.<name>.temperature`, else the role file's, else none.
    pub fn temperature(&self, name: &str) -> Option<f64> {
        self.config
            .get(name)
            .and_then(|c| c.temperature)
            .or_else(|| self.get(name).and_then(|r| r.temperature))
    }

    /// The effective max_tokens: `roles.<name>.max_tokens`, else none (the `llm` default).
    pub fn max_tokens(&self, name: &str) -> Option<u32> {
        self.config.get(name).and_then(|c| c.max_tokens)
    }
}

/// The built-in roles with `overrides` applied: each override (its path and text, in the order
/// given) replaces the role of the same name or adds one. Checks that every `roles.<name>` in the
/// config names a known role; `agents_dir` (where overrides live) is named in that error.
pub fn assemble(
    overrides: &[(PathBuf, String)],
    agents_dir: &Path,
    config: &Config,
) -> Result<Roles> {
    let mut roles: Vec<RoleDef> = Vec::new();
    for (file, text) in BUILTIN {
        let role = parse_role(
            text,
            &PathBuf::from("agents").join(file),
            &format!("built-in agents/{file}"),
        )?;
        roles.push(role);
    }
    for (path, text) in overrides {
        let role = parse_role(text, path, &path.display().to_string())?;
        match roles.iter_mut().find(|r| r.name == role.name) {
            Some(existing) => *existing = role,
            None => roles.push(role),
        }
    }
    for name in config.roles.keys() {
        if !roles.iter().any(|r| &r.name == name) {
            let names: Vec<&str> = roles.iter().map(|r| r.name.as_str()).collect();
            let near = names
                .iter()
                .max_by(|a, b| {
                    strsim::jaro_winkler(name, a)
                        .partial_cmp(&strsim::jaro_winkler(name, b))
                        .unwrap_or(std::cmp::Ordering::Equal)
                })
                .filter(|n| strsim::jaro_winkler(name, n) > 0.8)
                .map(|n| format!(" (did you mean `{n}`?)"))
                .unwrap_or_default();
            return Err(Error::ConfigValue {
                origin: "config".into(),
                key: format!("roles.{name}"),
                message: format!(
                    "names no role{near}; known roles: {}. Add `{}/{name}.md` or fix the name",
                    names.join(", "),
                    agents_dir.display()
                ),
            });
        }
    }
    Ok(Roles {
        roles,
        config: config.roles.clone(),
    })
}

/// Parses one role file. `path` is used in error messages; `source` is recorded in the role.
pub(crate) fn parse_role(text: &str, path: &Path, source: &str) -> Result<RoleDef> {
    let input = |line: usize, message: String| Error::Input {
        path: path.to_owned(),
        message: format!("line {line}: {message}"),
    };
    let text = text.trim_start_matches('\u{feff}');
    let mut lines = text.split_inclusive('\n');
    let first = lines.next().unwrap_or_default();
    if first.trim_end() != "---" {
        return Err(input(
            1,
            "a role file starts with `---`, then YAML front matter (name, description, kind), then `---` and the prompt".into(),
        ));
    }
    let mut yaml = String::new();
    let mut body_start = None;
    let mut offset = first.len();
    for (i, line) in lines.enumerate() {
        offset += line.len();
        if line.trim_end() == "---" {
            body_start = Some((offset, i + 2));
            break;
        }
        yaml.push_str(line);
    }
    let Some((body_offset, _closing_line)) = body_start else {
        return Err(input(
            1,
            "the front matter is not closed: add a line `---` after it".into(),
        ));
    };
    let fm: FrontMatter = serde_saphyr::from_str(&yaml).map_err(|e| {
        // Line numbers in the YAML start after the opening `---`.
        let line = e.location().map(|l| l.line() as usize + 1).unwrap_or(2);
        let column = e
            .location()
            .map(|l| format!(", column {}", l.column()))
            .unwrap_or_default();
        Error::Input {
            path: path.to_owned(),
            message: format!(
                "line {line}{column}: invalid front matter: {}\n  expected keys: name, description, kind (author|reviewer|helper), optional model, temperature",
                yaml_message(&e.to_string())
            ),
        }
    })?;
    let name_line = yaml
        .lines()
        .position(|l| l.trim_start().starts_with("name:"))
        .map(|i| i + 2)
        .unwrap_or(2);
    if fm.name.is_empty()
        || !fm.name.starts_with(|c: char| c.is_ascii_lowercase())
        || !fm
            .name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    {
        return Err(input(
            name_line,
            format!(
                "role name `{}` must be lowercase letters, digits and `-`, starting with a letter",
                fm.name
            ),
        ));
    }
    if RESERVED.contains(&fm.name.as_str()) {
        return Err(input(
            name_line,
            format!("`{}` is reserved; choose another role name", fm.name),
        ));
    }
    if let Some(stem) = path.file_stem().map(|s| s.to_string_lossy())
        && stem != fm.name
    {
        return Err(input(
            name_line,
            format!(
                "the role is named `{}` but the file is `{stem}.md`; rename one so they match",
                fm.name
            ),
        ));
    }
    if let Some(t) = fm.temperature
        && !(0.0..=2.0).contains(&t)
    {
        return Err(input(
            name_line,
            format!("temperature {t} is outside 0.0..=2.0"),
        ));
    }
    let prompt = text[body_offset..].trim().to_string();
    if prompt.is_empty() {
        return Err(input(
            body_start.map(|b| b.1).unwrap_or(1),
            "the role prompt (the text after the front matter) is empty".into(),
        ));
    }
    Ok(RoleDef {
        name: fm.name,
        description: fm.description,
        kind: fm.kind,
        model: fm.model.filter(|m| !m.trim().is_empty()),
        temperature: fm.temperature,
        prompt,
        source: source.to_string(),
    })
}

/// The parser's message without its own position prefix (`error: line 3 column 7: ...`), which
/// counts from the start of the front matter rather than the file.
fn yaml_message(raw: &str) -> String {
    let first = raw.lines().next().unwrap_or(raw).trim();
    let first = first.strip_prefix("error: ").unwrap_or(first);
    match first.split_once(": ") {
        Some((pos, rest)) if pos.starts_with("line ") && pos.contains("column") => rest.to_string(),
        _ => first.to_string(),
    }
}
