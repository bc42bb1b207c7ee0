//! The structural summary at the head of every context pack: what a newcomer learns from the
//! file tree and the manifests in a minute (languages, entry points, packages, dependencies,
//! tests, how to build), told from file names and manifest contents only, so it costs no parse
//! of the code and says nothing it cannot back.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::lang::Language;
use crate::repo::Repo;

/// Lists in the rendered summary stop after this many entries.
const SHOWN: usize = 12;

/// A repository's structure.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Summary {
    /// Files a model may see.
    pub files: usize,
    /// Languages by file count, most first.
    pub languages: Vec<(String, usize)>,
    /// Where execution starts: binaries, `__main__.py`, console scripts, `bin/`.
    pub entry_points: Vec<String>,
    /// Packages and crates: `readtime/ (Python package)`.
    pub modules: Vec<String>,
    /// Top-level directories with their file counts.
    pub layout: Vec<(String, usize)>,
    /// Dependencies by manifest, in path order.
    pub manifests: Vec<Manifest>,
    /// Test directories (or test files' directories) with their test file counts.
    pub tests: Vec<(String, usize)>,
    /// How to build and test, where the files say.
    pub commands: Vec<String>,
}

/// One manifest's dependencies.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Manifest {
    /// Its path.
    pub path: String,
    /// Runtime dependencies, by name.
    pub dependencies: Vec<String>,
    /// Development, test and build dependencies, by name.
    pub dev_dependencies: Vec<String>,
}

/// The structural summary of `repo` (walks it and reads its manifests).
pub fn summary(repo: &Repo) -> Summary {
    let files: Vec<String> = repo.files().into_iter().map(|f| f.path).collect();
    Summary::of(repo, &files)
}

impl Summary {
    /// The summary of `files` (paths a model may see, as the walk lists them) in `repo`.
    pub(crate) fn of(repo: &Repo, files: &[String]) -> Self {
        let mut s = Summary {
            files: files.len(),
            ..Summary::default()
        };
        let set: BTreeSet<&str> = files.iter().map(String::as_str).collect();

        let mut languages: BTreeMap<&'static str, usize> = BTreeMap::new();
        for f in files {
            if let Some(l) = Language::of_path(f) {
                *languages.entry(l.name()).or_default() += 1;
            }
        }
        s.languages = languages
            .into_iter()
            .map(|(l, n)| (l.to_string(), n))
            .collect();
        s.languages
            .sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));

        let mut layout: BTreeMap<&str, usize> = BTreeMap::new();
        for f in files {
            if let Some((top, _)) = f.split_once('/') {
                *layout.entry(top).or_default() += 1;
            }
        }
        s.layout = layout
            .into_iter()
            .map(|(d, n)| (format!("{d}/"), n))
            .collect();

        let mut entries = BTreeSet::new();
        let mut modules = BTreeSet::new();
        for f in files {
            let (dir, name) = f.rsplit_once('/').unwrap_or(("", f.as_str()));
            let entry = match name {
                "main.rs" | "__main__.py" | "main.go" | "manage.py" => true,
                _ => {
                    dir == "bin"
                        || dir.ends_with("src/bin")
                        || (dir.is_empty() && name == "main.py")
                }
            };
            if entry {
                entries.insert(f.clone());
            }
            if name == "__init__.py" {
                let parent_init = dir
                    .rsplit_once('/')
                    .map(|(p, _)| format!("{p}/__init__.py"))
                    .is_some_and(|p| set.contains(p.as_str()));
                if !dir.is_empty() && !parent_init && !is_test_path(dir) {
                    modules.insert(format!("{dir}/ (Python package)"));
                }
            }
        }

        let mut commands = Vec::new();
        let has = |p: &str| set.contains(p);
        for f in files {
            let (dir, name) = f.rsplit_once('/').unwrap_or(("", f.as_str()));
            let is_manifest = matches!(
                name,
                "Cargo.toml"
                    | "pyproject.toml"
                    | "setup.py"
                    | "setup.cfg"
                    | "package.json"
                    | "go.mod"
            ) || (name.starts_with("requirements") && name.ends_with(".txt"));
            if !is_manifest || f.split('/').count() > 4 {
                continue;
            }
            let Ok(text) = repo.read_to_string(f) else {
                continue;
            };
            let mut m = Manifest {
                path: f.clone(),
                ..Manifest::default()
            };
            let at = |p: &str| {
                if dir.is_empty() {
                    p.to_string()
                } else {
                    format!("{dir}/{p}")
                }
            };
            match name {
                "Cargo.toml" => cargo(&text, &at, &mut m, &mut entries, &mut modules),
                "pyproject.toml" => pyproject(&text, &mut m, &mut entries, &mut modules),
                "setup.py" => setup_py(&text, &mut m, &mut entries),
                "setup.cfg" => setup_cfg(&text, &mut m),
                "package.json" => {
                    let scripts = package_json(&text, &at, &mut m, &mut entries, &mut modules);
                    if dir.is_empty() {
                        commands.push("npm install".to_string());
                        for (script, command) in [("build", "npm run build"), ("test", "npm test")]
                        {
                            if scripts.contains(script) {
                                commands.push(command.to_string());
                            }
                        }
                    }
                }
                "go.mod" => go_mod(&text, &mut m, &mut modules),
                _ => m.dependencies = requirements(&text),
            }
            if name.starts_with("requirements") && !f.contains("dev") && !f.contains("test") {
                commands.push(format!("pip install -r {f}"));
            }
            s.manifests.push(m);
        }
        if has("Cargo.toml") {
            commands.extend(["cargo build".to_string(), "cargo test".to_string()]);
        }
        if has("go.mod") {
            commands.extend(["go build ./...".to_string(), "go test ./...".to_string()]);
        }
        if has("pyproject.toml") || has("setup.py") {
            commands.push("pip install -e .".to_string());
        }
        if has("tox.ini") {
            commands.push("tox".to_string());
        }

        let mut tests: BTreeMap<String, usize> = BTreeMap::new();
        for f in files {
            if let Some(root) = test_root(f) {
                *tests.entry(root).or_default() += 1;
            }
        }
        let python_tests = files
            .iter()
            .any(|f| f.ends_with(".py") && test_root(f).is_some());
        if python_tests {
            let dirs: Vec<&str> = tests
                .keys()
                .map(String::as_str)
                .filter(|d| d.ends_with('/'))
                .collect();
            commands.push(
                format!("python -m pytest {}", dirs.join(" "))
                    .trim_end()
                    .to_string(),
            );
        }
        if has("Makefile")
            && let Ok(makefile) = repo.read_to_string("Makefile")
        {
            for target in ["build", "test"] {
                if makefile
                    .lines()
                    .any(|l| l.starts_with(&format!("{target}:")))
                {
                    commands.push(format!("make {target}"));
                }
            }
        }

        s.entry_points = entries.into_iter().collect();
        s.modules = modules.into_iter().collect();
        s.tests = tests.into_iter().collect();
        s.commands = commands;
        s
    }

    /// Markdown bullet lines, in a fixed order, each list cut after a dozen entries.
    pub fn render(&self) -> String {
        let mut out = Vec::new();
        let counted = |items: &[(String, usize)], unit: &str| {
            shown(
                items
                    .iter()
                    .map(|(n, c)| format!("{n} ({c} {unit}{})", if *c == 1 { "" } else { "s" })),
                items.len(),
            )
        };
        out.push(format!("- Files: {}", self.files));
        if !self.languages.is_empty() {
            out.push(format!("- Languages: {}", counted(&self.languages, "file")));
        }
        if !self.entry_points.is_empty() {
            out.push(format!(
                "- Entry points: {}",
                shown(
                    self.entry_points.iter().map(|e| format!("`{e}`")),
                    self.entry_points.len()
                )
            ));
        }
        if !self.modules.is_empty() {
            out.push(format!(
                "- Packages: {}",
                shown(self.modules.iter().cloned(), self.modules.len())
            ));
        }
        if !self.layout.is_empty() {
            out.push(format!(
                "- Top-level directories: {}",
                counted(&self.layout, "file")
            ));
        }
        for m in self.manifests.iter().take(SHOWN) {
            let mut line = format!("- Dependencies in `{}`: ", m.path);
            if m.dependencies.is_empty() {
                line.push_str("none");
            } else {
                line.push_str(&shown(m.dependencies.iter().cloned(), m.dependencies.len()));
            }
            if !m.dev_dependencies.is_empty() {
                line.push_str(&format!(
                    "; for development: {}",
                    shown(m.dev_dependencies.iter().cloned(), m.dev_dependencies.len())
                ));
            }
            out.push(line);
        }
        if self.manifests.len() > SHOWN {
            out.push(format!(
                "- … and {} more manifests",
                self.manifests.len() - SHOWN
            ));
        }
        if !self.tests.is_empty() {
            out.push(format!("- Tests: {}", counted(&self.tests, "file")));
        }
        if !self.commands.is_empty() {
            out.push(format!(
                "- Build and test: {}",
                self.commands
                    .iter()
                    .map(|c| format!("`{c}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        out.join("\n") + "\n"
    }
}

fn shown(items: impl Iterator<Item = String>, total: usize) -> String {
    let mut s = items.take(SHOWN).collect::<Vec<_>>().join(", ");
    if total > SHOWN {
        s.push_str(&format!(", … ({} more)", total - SHOWN));
    }
    s
}

fn is_test_dir(name: &str) -> bool {
    matches!(
        name,
        "test" | "tests" | "spec" | "specs" | "__tests__" | "testing"
    ) || name.ends_with("_tests")
        || name.ends_with("-tests")
        || name.starts_with("test_")
}

fn is_test_path(dir: &str) -> bool {
    dir.split('/').any(is_test_dir)
}

/// The directory a test file belongs to (`unit_tests/`), or for a test file outside a test
/// directory, its own directory (`src/ (test files)`); `None` for other files.
fn test_root(path: &str) -> Option<String> {
    let parts: Vec<&str> = path.split('/').collect();
    let (name, dirs) = parts.split_last()?;
    if let Some(i) = dirs.iter().position(|d| is_test_dir(d)) {
        return Some(format!("{}/", dirs[..=i].join("/")));
    }
    let stem = name.rsplit_once('.').map_or(*name, |(s, _)| s);
    let test_file = stem.starts_with("test_")
        || stem.ends_with("_test")
        || stem.ends_with(".test")
        || stem.ends_with(".spec");
    test_file.then(|| {
        if dirs.is_empty() {
            "(root test files)".to_string()
        } else {
            format!("{} (test files)", dirs.join("/"))
        }
    })
}

/// The distribution name of a PEP 508 requirement: `lxml>=4; python_version>"3"` is `lxml`.
fn requirement_name(req: &str) -> Option<String> {
    let name: String = req
        .trim()
        .chars()
        .take_while(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.'))
        .collect();
    (!name.is_empty()).then_some(name)
}

fn requirements(text: &str) -> Vec<String> {
    text.lines()
        .map(|l| l.split('#').next().unwrap_or("").trim())
        .filter(|l| !l.is_empty() && !l.starts_with('-'))
        .filter_map(requirement_name)
        .collect()
}

fn table_keys(v: Option<&toml::Value>) -> Vec<String> {
    v.and_then(toml::Value::as_table)
        .map(|t| t.keys().cloned().collect())
        .unwrap_or_default()
}

fn cargo(
    text: &str,
    at: &dyn Fn(&str) -> String,
    m: &mut Manifest,
    entries: &mut BTreeSet<String>,
    modules: &mut BTreeSet<String>,
) {
    let Ok(doc) = text.parse::<toml::Table>() else {
        return;
    };
    m.dependencies = table_keys(doc.get("dependencies"));
    m.dependencies.extend(table_keys(
        doc.get("workspace").and_then(|w| w.get("dependencies")),
    ));
    m.dev_dependencies = table_keys(doc.get("dev-dependencies"));
    m.dev_dependencies
        .extend(table_keys(doc.get("build-dependencies")));
    if let Some(name) = doc
        .get("package")
        .and_then(|p| p.get("name"))
        .and_then(toml::Value::as_str)
    {
        let place = package_place(&at(""));
        modules.insert(format!("{place} (Rust crate `{name}`)"));
    }
    for bin in doc
        .get("bin")
        .and_then(toml::Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Some(path) = bin.get("path").and_then(toml::Value::as_str) {
            entries.insert(at(path));
        }
    }
}

fn pyproject(
    text: &str,
    m: &mut Manifest,
    entries: &mut BTreeSet<String>,
    modules: &mut BTreeSet<String>,
) {
    let Ok(doc) = text.parse::<toml::Table>() else {
        return;
    };
    let project = doc.get("project");
    m.dependencies = project
        .and_then(|p| p.get("dependencies"))
        .and_then(toml::Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(toml::Value::as_str)
        .filter_map(requirement_name)
        .collect();
    let poetry = doc.get("tool").and_then(|t| t.get("poetry"));
    m.dependencies.extend(
        table_keys(poetry.and_then(|p| p.get("dependencies")))
            .into_iter()
            .filter(|d| d != "python"),
    );
    for value in project
        .and_then(|p| p.get("optional-dependencies"))
        .and_then(toml::Value::as_table)
        .into_iter()
        .flat_map(|t| t.values())
    {
        m.dev_dependencies.extend(
            value
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(toml::Value::as_str)
                .filter_map(requirement_name),
        );
    }
    for (name, target) in project
        .and_then(|p| p.get("scripts"))
        .and_then(toml::Value::as_table)
        .into_iter()
        .flatten()
    {
        if let Some(t) = target.as_str() {
            entries.insert(format!("{name} = {t} (console script)"));
        }
    }
    if let Some(name) = project
        .and_then(|p| p.get("name"))
        .and_then(toml::Value::as_str)
    {
        modules.insert(format!("distribution `{name}` (pyproject.toml)"));
    }
}

/// The quoted strings of the first `[...]` list after `key` in Python source.
fn python_list(text: &str, key: &str) -> Vec<String> {
    let Some(at) = text.find(key) else {
        return Vec::new();
    };
    let rest = &text[at..];
    let (Some(open), Some(close)) = (rest.find('['), rest.find(']')) else {
        return Vec::new();
    };
    if close < open {
        return Vec::new();
    }
    let mut rest = &rest[open + 1..close];
    let mut out = Vec::new();
    while let Some(i) = rest.find(['"', '\'']) {
        let quote = &rest[i..=i];
        let after = &rest[i + 1..];
        let Some(end) = after.find(quote) else { break };
        out.push(after[..end].to_string());
        rest = &after[end + 1..];
    }
    out
}

fn setup_py(text: &str, m: &mut Manifest, entries: &mut BTreeSet<String>) {
    m.dependencies = python_list(text, "install_requires")
        .iter()
        .filter_map(|r| requirement_name(r))
        .collect();
    m.dev_dependencies = python_list(text, "tests_require")
        .iter()
        .filter_map(|r| requirement_name(r))
        .collect();
    for script in python_list(text, "console_scripts") {
        entries.insert(format!(
            "{} (console script)",
            script.split_whitespace().collect::<Vec<_>>().join(" ")
        ));
    }
}

/// `key =` followed by indented lines (or values on the same line), in an INI file.
fn cfg_values(text: &str, key: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut inside = false;
    for line in text.lines() {
        let indented = line.starts_with([' ', '\t']);
        if inside && indented {
            let v = line.trim();
            if !v.is_empty() {
                out.push(v.to_string());
            }
            continue;
        }
        inside = false;
        if let Some((k, v)) = line.split_once('=')
            && k.trim() == key
        {
            inside = true;
            if !v.trim().is_empty() {
                out.push(v.trim().to_string());
            }
        }
    }
    out
}

fn setup_cfg(text: &str, m: &mut Manifest) {
    m.dependencies = cfg_values(text, "install_requires")
        .iter()
        .filter_map(|r| requirement_name(r))
        .collect();
}

/// Fills `m` from a package.json and returns the names of its scripts.
fn package_json(
    text: &str,
    at: &dyn Fn(&str) -> String,
    m: &mut Manifest,
    entries: &mut BTreeSet<String>,
    modules: &mut BTreeSet<String>,
) -> BTreeSet<String> {
    let Ok(doc) = serde_json::from_str::<Value>(text) else {
        return BTreeSet::new();
    };
    let keys = |k: &str| -> Vec<String> {
        doc.get(k)
            .and_then(Value::as_object)
            .map(|o| o.keys().cloned().collect())
            .unwrap_or_default()
    };
    m.dependencies = keys("dependencies");
    m.dev_dependencies = keys("devDependencies");
    match doc.get("bin") {
        Some(Value::String(p)) => {
            entries.insert(at(p.trim_start_matches("./")));
        }
        Some(Value::Object(o)) => {
            for p in o.values().filter_map(Value::as_str) {
                entries.insert(at(p.trim_start_matches("./")));
            }
        }
        _ => {}
    }
    if let Some(main) = doc.get("main").and_then(Value::as_str) {
        entries.insert(at(main.trim_start_matches("./")));
    }
    if let Some(name) = doc.get("name").and_then(Value::as_str) {
        let place = package_place(&at(""));
        modules.insert(format!("{place} (npm package `{name}`)"));
    }
    keys("scripts").into_iter().collect()
}

fn go_mod(text: &str, m: &mut Manifest, modules: &mut BTreeSet<String>) {
    let mut in_block = false;
    for line in text.lines().map(str::trim) {
        if let Some(name) = line.strip_prefix("module ") {
            modules.insert(format!("Go module `{}`", name.trim()));
        } else if line.starts_with("require (") {
            in_block = true;
        } else if in_block && line == ")" {
            in_block = false;
        } else if let Some(dep) = line.strip_prefix("require ").or(in_block.then_some(line))
            && let Some(path) = dep.split_whitespace().next()
            && !path.starts_with("//")
            && !dep.contains("// indirect")
        {
            m.dependencies.push(path.to_string());
        }
    }
}

/// How a summary names the directory a manifest is in: `.` for the root, else `dir/`.
fn package_place(dir: &str) -> String {
    let dir = dir.trim_end_matches('/');
    if dir.is_empty() {
        ".".to_string()
    } else {
        format!("{dir}/")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::Policy;

    fn summarise(files: &[(&str, &str)]) -> Summary {
        let dir = tempfile::tempdir().unwrap();
        for (path, text) in files {
            let p = dir.path().join(path);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        }
        summary(&Repo::open(dir.path(), Policy::default()).unwrap())
    }

    #[test]
    fn a_rust_workspace() {
        let s = summarise(&[
            (
                "Cargo.toml",
                "[workspace]\nmembers = [\"crates/*\"]\n[workspace.dependencies]\nserde = \"1\"\n",
            ),
            (
                "crates/cli/Cargo.toml",
                "[package]\nname = \"cli\"\n[dependencies]\nclap = \"4\"\n[dev-dependencies]\ninsta = \"1\"\n",
            ),
            ("crates/cli/src/main.rs", "fn main() {}\n"),
            ("crates/cli/tests/it.rs", "#[test]\nfn t() {}\n"),
        ]);
        assert_eq!(s.entry_points, ["crates/cli/src/main.rs"]);
        assert_eq!(s.modules, ["crates/cli/ (Rust crate `cli`)"]);
        assert_eq!(s.manifests[0].dependencies, ["serde"]);
        assert_eq!(s.manifests[1].dependencies, ["clap"]);
        assert_eq!(s.manifests[1].dev_dependencies, ["insta"]);
        assert_eq!(s.tests, [("crates/cli/tests/".to_string(), 1)]);
        assert_eq!(s.commands, ["cargo build", "cargo test"]);
    }

    #[test]
    fn python_manifests_and_console_scripts() {
        let s = summarise(&[
            (
                "setup.py",
                "setup(\n  name='x',\n  install_requires=['requests>=2', \"click\"],\n  entry_points={'console_scripts': ['x = x.cli:main']},\n)\n",
            ),
            (
                "pyproject.toml",
                "[project]\nname = \"x\"\ndependencies = [\"httpx>=0.1; python_version>'3'\"]\n[project.scripts]\nxx = \"x.cli:run\"\n",
            ),
            ("requirements-dev.txt", "# dev\npytest==8\n-e .\n"),
            ("x/__init__.py", ""),
            ("x/sub/__init__.py", ""),
            ("x/__main__.py", ""),
            ("tests/test_x.py", "def test(): pass\n"),
        ]);
        assert_eq!(
            s.entry_points,
            [
                "x = x.cli:main (console script)",
                "x/__main__.py",
                "xx = x.cli:run (console script)"
            ]
        );
        assert!(
            s.modules.contains(&"x/ (Python package)".to_string()),
            "{:?}",
            s.modules
        );
        let deps: Vec<&[String]> = s.manifests.iter().map(|m| &m.dependencies[..]).collect();
        assert_eq!(
            deps,
            [
                &["httpx".to_string()][..],
                &["pytest".to_string()],
                &["requests".to_string(), "click".to_string()]
            ]
        );
        assert!(
            s.commands.contains(&"python -m pytest tests/".to_string()),
            "{:?}",
            s.commands
        );
        assert!(!s.commands.iter().any(|c| c.contains("requirements-dev")));
    }

    #[test]
    fn node_and_go() {
        let s = summarise(&[
            (
                "package.json",
                r#"{"name": "web", "main": "src/index.js", "dependencies": {"react": "18"}, "devDependencies": {"jest": "29"}, "scripts": {"test": "jest"}}"#,
            ),
            ("src/index.js", ""),
            (
                "svc/go.mod",
                "module example.com/svc\n\nrequire (\n\tgithub.com/a/b v1.0.0\n\tgithub.com/c/d v1.0.0 // indirect\n)\n",
            ),
            ("svc/cmd/svc/main.go", "package main\n"),
        ]);
        assert_eq!(s.entry_points, ["src/index.js", "svc/cmd/svc/main.go"]);
        assert_eq!(s.manifests[0].dependencies, ["react"]);
        assert_eq!(s.manifests[1].dependencies, ["github.com/a/b"]);
        assert_eq!(s.commands, ["npm install", "npm test"]);
        assert!(
            s.modules
                .contains(&"Go module `example.com/svc`".to_string())
        );
    }

    #[test]
    fn the_render_is_stable_markdown() {
        let s = summarise(&[("a.py", ""), ("b.py", ""), ("README.md", "")]);
        assert_eq!(
            s.render(),
            "- Files: 3\n- Languages: Python (2 files), Markdown (1 file)\n"
        );
    }
}
