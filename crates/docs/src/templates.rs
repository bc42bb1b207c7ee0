//! The minijinja environment that turns document JSON into markdown.
//!
//! The built-in templates of `specs-templates/` are compiled into the binary; a project may
//! replace any of them, or add templates they import, with a file of the same name in
//! `.agentmux/templates/`. Templates are compiled when loaded, so a syntax error in an override
//! is reported up front with its file and line. Filters make any model text safe where it lands:
//! `mermaid_id` and `mermaid_label` inside diagrams, `cell` in tables, `md` in section bodies.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};
use std::thread::JoinHandle;

use minijinja::{AutoEscape, Environment, UndefinedBehavior};

use protocol::error::{Error, Result};

/// The built-in templates, by name.
pub(crate) const BUILTIN: [(&str, &str); 6] = [
    (
        "macros.md.j2",
        include_str!("../../../specs-templates/macros.md.j2"),
    ),
    (
        "prd.md.j2",
        include_str!("../../../specs-templates/prd.md.j2"),
    ),
    (
        "options.md.j2",
        include_str!("../../../specs-templates/options.md.j2"),
    ),
    (
        "proposal.md.j2",
        include_str!("../../../specs-templates/proposal.md.j2"),
    ),
    (
        "design_doc.md.j2",
        include_str!("../../../specs-templates/design_doc.md.j2"),
    ),
    (
        "implementation_plan.md.j2",
        include_str!("../../../specs-templates/implementation_plan.md.j2"),
    ),
];

/// A compiled set of templates.
pub struct Templates {
    env: Environment<'static>,
    overrides: Vec<PathBuf>,
}

impl std::fmt::Debug for Templates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Templates")
            .field("overrides", &self.overrides)
            .finish()
    }
}

impl Templates {
    /// The built-in templates only.
    pub fn builtin() -> Result<Self> {
        Self::load(None)
    }

    /// The built-in templates, replaced or extended by every `*.j2` file in `override_dir`
    /// (a missing directory means no overrides).
    pub(crate) fn load(override_dir: Option<&Path>) -> Result<Self> {
        let mut env = new_env();
        for (name, source) in BUILTIN {
            env.add_template_owned(name.to_string(), source.to_string())
                .map_err(|e| template_error(Path::new("specs-templates").join(name), &e))?;
        }
        let mut overrides = Vec::new();
        if let Some(dir) = override_dir.filter(|d| d.is_dir()) {
            crate::validate::structure::refuse_override(dir).map_err(|message| Error::Input {
                path: dir.join("sections.yaml"),
                message,
            })?;
            let entries = std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
            let mut files: Vec<PathBuf> = entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "j2"))
                .collect();
            files.sort();
            for path in files {
                let Some(name) = path.file_name().map(|n| n.to_string_lossy().into_owned()) else {
                    continue;
                };
                let source = std::fs::read_to_string(&path).map_err(|e| Error::Input {
                    path: path.clone(),
                    message: format!("cannot read the template ({e}); it must be UTF-8 text"),
                })?;
                env.add_template_owned(name, source)
                    .map_err(|e| template_error(path.clone(), &e))?;
                overrides.push(path);
            }
        }
        Ok(Self { env, overrides })
    }

    /// Renders template `name` with `ctx`; the error names the template and line.
    pub(crate) fn render(
        &self,
        name: &str,
        ctx: &serde_json::Value,
    ) -> std::result::Result<String, String> {
        let tpl = self
            .env
            .get_template(name)
            .map_err(|e| format!("template `{name}`: {e}"))?;
        tpl.render(minijinja::Value::from_serialize(ctx))
            .map_err(|e| describe(name, &e))
    }
}

/// The templates of a session, compiled when first needed or, after
/// [`TemplatesLoader::compile_in_background`], on a thread of their own, so a starting
/// supervisor does not compile them between its start and its first request, while the agents
/// starting beside it need the same cores.
pub struct TemplatesLoader {
    override_dir: PathBuf,
    ready: OnceLock<std::result::Result<Templates, String>>,
    pending: Mutex<Option<JoinHandle<Result<Templates>>>>,
}

impl TemplatesLoader {
    /// The built-in templates with the overrides of `override_dir`; nothing is compiled yet.
    pub fn new(override_dir: PathBuf) -> Self {
        Self {
            override_dir,
            ready: OnceLock::new(),
            pending: Mutex::new(None),
        }
    }

    /// Starts compiling on a thread (once); [`TemplatesLoader::get`] then waits for it.
    pub fn compile_in_background(&self) {
        let mut pending = self.pending();
        if self.ready.get().is_some() || pending.is_some() {
            return;
        }
        let dir = self.override_dir.clone();
        if let Ok(handle) = std::thread::Builder::new()
            .name("templates".into())
            .spawn(move || Templates::load(Some(&dir)))
        {
            *pending = Some(handle);
        }
    }

    /// The compiled templates, or the error that names the template file to fix.
    pub fn get(&self) -> Result<&Templates> {
        let loaded = self.ready.get_or_init(|| {
            let loaded = match self.pending().take() {
                Some(handle) => handle.join().unwrap_or_else(|_| {
                    Err(Error::Other(
                        "compiling the templates failed unexpectedly".into(),
                    ))
                }),
                None => Templates::load(Some(&self.override_dir)),
            };
            loaded.map_err(|e| e.to_string())
        });
        loaded.as_ref().map_err(|m| Error::Other(m.clone()))
    }

    fn pending(&self) -> std::sync::MutexGuard<'_, Option<JoinHandle<Result<Templates>>>> {
        self.pending.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl std::fmt::Debug for TemplatesLoader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TemplatesLoader")
            .field("ready", &self.ready.get().is_some())
            .finish()
    }
}

fn new_env() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_auto_escape_callback(|_| AutoEscape::None);
    env.set_trim_blocks(true);
    env.set_lstrip_blocks(true);
    env.set_keep_trailing_newline(true);
    env.add_filter("mermaid_id", |s: String| mermaid_id(&s));
    env.add_filter("mermaid_label", |s: String| mermaid_label(&s));
    env.add_filter("md", |s: String| md(&s));
    env.add_filter("cell", |s: String| cell(&s));
    env.add_filter("inline", |s: String| inline(&s));
    env.add_filter("item", |s: String| item(&s));
    env.add_filter("code", |s: String| code(&s));
    env.add_filter("mermaid_source", |s: String| mermaid_source(&s));
    env.add_filter("is_block", |s: String| is_block(&s));
    env.add_function("option_letter", |i: usize| super::schema::option_letter(i));
    env
}

fn template_error(path: PathBuf, e: &minijinja::Error) -> Error {
    let line = e.line().map(|l| format!("line {l}: ")).unwrap_or_default();
    Error::Input {
        path,
        message: format!(
            "{line}template error: {}\n  fix the template or delete it to use the built-in one",
            e.detail().unwrap_or(&e.kind().to_string())
        ),
    }
}

fn describe(name: &str, e: &minijinja::Error) -> String {
    let mut msg = format!("template `{name}`");
    if let Some(line) = e.line() {
        let _ = write!(msg, " line {line}");
    }
    let _ = write!(msg, ": {}", e.kind());
    if let Some(d) = e.detail() {
        let _ = write!(msg, " ({d})");
    }
    msg
}

/// Words that end or change a flowchart statement when used as a node id.
const MERMAID_RESERVED_PREFIXES: [&str; 14] = [
    "end",
    "graph",
    "flowchart",
    "subgraph",
    "style",
    "class",
    "click",
    "linkstyle",
    "direction",
    "default",
    "call",
    "href",
    "interpolate",
    "acc",
];

/// Makes any string a safe mermaid flowchart node id: ASCII letters, digits and `_`; other
/// characters become `_` (separators) or `_u<hex>` (anything else, so distinct names stay
/// distinct); ids that are empty, start with a digit, `o` or `x` (edge heads) or a keyword get
/// an `n_` prefix. Deterministic, so edges and nodes agree.
pub(crate) fn mermaid_id(s: &str) -> String {
    let mut out = String::new();
    for c in s.trim().chars() {
        if c.is_ascii_alphanumeric() || c == '_' {
            out.push(c);
        } else if c.is_whitespace() || matches!(c, '-' | '.' | '/' | ':') {
            if !out.ends_with('_') {
                out.push('_');
            }
        } else {
            let _ = write!(out, "_u{:x}", c as u32);
        }
    }
    let lower = out.to_ascii_lowercase();
    let risky = out.is_empty()
        || out.starts_with(|c: char| c.is_ascii_digit() || c == '_')
        || lower.starts_with('o')
        || lower.starts_with('x')
        || matches!(lower.as_str(), "tb" | "td" | "bt" | "rl" | "lr")
        || MERMAID_RESERVED_PREFIXES
            .iter()
            .any(|w| lower.starts_with(w));
    if risky { format!("n_{out}") } else { out }
}

/// Makes any string safe inside a double-quoted mermaid label (`A["..."]`, `-->|"..."|`):
/// one line, and the characters that end or reinterpret a label written as entity codes.
pub(crate) fn mermaid_label(s: &str) -> String {
    let one_line = inline(s);
    let mut out = String::with_capacity(one_line.len());
    for c in one_line.chars() {
        match c {
            '#' => out.push_str("#35;"),
            '"' => out.push_str("#quot;"),
            '`' => out.push_str("#96;"),
            '<' => out.push_str("#lt;"),
            '>' => out.push_str("#gt;"),
            '|' => out.push_str("#124;"),
            // `%%` starts a comment or a `%%{init}%%` directive, even inside quotes.
            '%' => out.push_str("#37;"),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    if out.trim().is_empty() {
        "-".into()
    } else {
        out
    }
}

/// One line: whitespace runs (newlines included) collapsed to single spaces.
pub(crate) fn inline(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A markdown table cell: one line, `|` escaped.
pub(crate) fn cell(s: &str) -> String {
    let lines: Vec<String> = s
        .lines()
        .map(|l| l.trim().replace('|', "\\|"))
        .filter(|l| !l.is_empty())
        .collect();
    let joined = lines.join("<br>");
    if joined.is_empty() {
        "-".into()
    } else {
        joined
    }
}

/// A list entry: one line, without an enumerator the model may have added (`1.`, `- `,
/// `O2:`, `FR-3 -`, `Step 4:`), since the template numbers entries itself.
pub(crate) fn item(s: &str) -> String {
    let mut t = inline(s);
    loop {
        let trimmed = strip_enumerator(&t);
        if trimmed.len() == t.len() {
            break;
        }
        t = trimmed.to_string();
    }
    t
}

fn strip_enumerator(s: &str) -> &str {
    let t = s.trim_start();
    for bullet in ["- ", "* ", "+ "] {
        if let Some(rest) = t.strip_prefix(bullet) {
            return rest.trim_start();
        }
    }
    // An optional id prefix (`O`, `FR-`, `NFR-`, `Step`), digits, then a separator.
    let prefix_len = t
        .find(|c: char| !(c.is_ascii_alphabetic() || c == '-'))
        .unwrap_or(t.len());
    let prefix = &t[..prefix_len];
    let id_like = prefix.len() <= 4 && prefix.chars().all(|c| c.is_ascii_uppercase() || c == '-');
    if !(id_like || prefix.eq_ignore_ascii_case("step")) {
        return t;
    }
    let after = t[prefix_len..].trim_start();
    let digits = after
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(after.len());
    if digits == 0 {
        return t;
    }
    let rest = &after[digits..];
    for sep in [":", ".", ")"] {
        if let Some(r) = rest.strip_prefix(sep)
            && (r.is_empty() || r.starts_with(char::is_whitespace))
        {
            return r.trim_start();
        }
    }
    for sep in [" - ", " – ", " — "] {
        if let Some(r) = rest.strip_prefix(sep) {
            return r.trim_start();
        }
    }
    t
}

/// Whether text must be rendered as a block rather than after a label on the same line: it has
/// several lines, or starts with something that only means its markup at the start of a line
/// (a fence, a heading, a list, a quote, a table).
pub(crate) fn is_block(s: &str) -> bool {
    let t = s.trim();
    t.contains('\n')
        || ["```", "~~~", "#", "- ", "* ", "+ ", "> ", "|", "1. "]
            .iter()
            .any(|p| t.starts_with(p))
}

/// Mermaid source as a model wrote it, ready for a ```` ```mermaid ```` fence: trimmed, without
/// a fence around it (```` ```mermaid ````, ```` ``` ```` or `~~~`, closed or not), and with no
/// line that could close the fence (see [`code`]; such a line then fails the parser check).
pub(crate) fn mermaid_source(s: &str) -> String {
    let is_fence = |l: &str| {
        let l = l.trim();
        l.starts_with("```") || l.starts_with("~~~")
    };
    let mut lines: Vec<&str> = s.trim().lines().collect();
    if lines.first().is_some_and(|l| is_fence(l)) {
        lines.remove(0);
        if lines
            .last()
            .is_some_and(|l| is_fence(l) && l.trim().trim_matches(['`', '~']).is_empty())
        {
            lines.pop();
        }
    }
    while lines.first().is_some_and(|l| l.trim().is_empty()) {
        lines.remove(0);
    }
    while lines.last().is_some_and(|l| l.trim().is_empty()) {
        lines.pop();
    }
    code(&lines.join("\n"))
}

/// Text for inside a fenced code block: no line can close the fence.
pub(crate) fn code(s: &str) -> String {
    s.lines()
        .map(|l| {
            let t = l.trim_start();
            if t.starts_with("```") || t.starts_with("~~~") {
                l.replace("```", "'''").replace("~~~", "'''")
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
        .trim_end()
        .to_string()
}

/// A section body: markdown the model wrote, made unable to break the document's structure.
/// Level 1 and 2 headings become level 3, an underline that would make a setext heading gets a
/// blank line before it, and an unclosed code fence is closed.
pub(crate) fn md(s: &str) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut fence: Option<&str> = None;
    for line in s.trim().lines() {
        let t = line.trim_start();
        if let Some(f) = fence {
            if t.starts_with(f) && t[f.len()..].trim().is_empty() {
                fence = None;
            }
            out.push(line.to_string());
            continue;
        }
        if t.starts_with("```") {
            fence = Some("```");
            out.push(line.to_string());
            continue;
        }
        if t.starts_with("~~~") {
            fence = Some("~~~");
            out.push(line.to_string());
            continue;
        }
        let hashes = t.chars().take_while(|c| *c == '#').count();
        if (1..=2).contains(&hashes) && t[hashes..].starts_with([' ', '\t']) {
            out.push(format!("### {}", t[hashes..].trim()));
            continue;
        }
        if (hashes == 1 || hashes == 2) && t.len() == hashes {
            continue;
        }
        let underline =
            !t.is_empty() && (t.chars().all(|c| c == '=') || t.chars().all(|c| c == '-'));
        if underline && out.last().is_some_and(|l| !l.trim().is_empty()) {
            out.push(String::new());
        }
        out.push(line.trim_end().to_string());
    }
    if let Some(f) = fence {
        out.push(f.to_string());
    }
    let text = out.join("\n");
    if text.trim().is_empty() {
        "_(none)_".into()
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mermaid_ids_are_safe_and_deterministic() {
        assert_eq!(mermaid_id("API Gateway"), "API_Gateway");
        assert_eq!(mermaid_id("api-gateway"), "api_gateway");
        assert_eq!(mermaid_id("end"), "n_end");
        assert_eq!(mermaid_id("output"), "n_output");
        assert_eq!(mermaid_id("3rd party"), "n_3rd_party");
        assert_eq!(mermaid_id(""), "n_");
        assert_eq!(mermaid_id("Café"), "Caf_ue9");
        assert_ne!(mermaid_id("a\"b"), mermaid_id("a'b"));
        assert_eq!(mermaid_id("x[y]"), mermaid_id("x[y]"));
        for s in ["a[b]", "q\"uote", "日本", "a --> b", "{x}", "a;b"] {
            assert!(
                mermaid_id(s)
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_'),
                "{s}"
            );
        }
    }

    #[test]
    fn mermaid_labels_cannot_close_the_quote() {
        assert_eq!(mermaid_label("say \"hi\""), "say #quot;hi#quot;");
        assert_eq!(mermaid_label("a\nb   c"), "a b c");
        assert_eq!(mermaid_label("C# <T> | x"), "C#35; #lt;T#gt; #124; x");
        assert_eq!(mermaid_label(""), "-");
    }

    #[test]
    fn md_demotes_headings_and_closes_fences() {
        assert_eq!(md("# Big\ntext"), "### Big\ntext");
        assert_eq!(md("## Mid\n### Small"), "### Mid\n### Small");
        assert_eq!(md("```rust\nfn x() {}"), "```rust\nfn x() {}\n```");
        assert_eq!(md("```\n# not a heading\n```"), "```\n# not a heading\n```");
        assert_eq!(md("Title\n---\nbody"), "Title\n\n---\nbody");
        assert_eq!(md("  "), "_(none)_");
        assert_eq!(md("#hashtag"), "#hashtag");
    }

    #[test]
    fn items_lose_model_enumerators() {
        assert_eq!(item("O1: Fast startup"), "Fast startup");
        assert_eq!(item("FR-3 - Parse HTML"), "Parse HTML");
        assert_eq!(item("1. first"), "first");
        assert_eq!(item("- Step 2: do it"), "do it");
        assert_eq!(item("Python 3 support"), "Python 3 support");
        assert_eq!(item("HTML5 input"), "HTML5 input");
    }

    #[test]
    fn cells_stay_in_their_column() {
        assert_eq!(cell("a | b\nc"), "a \\| b<br>c");
        assert_eq!(cell(""), "-");
    }

    #[test]
    fn mermaid_source_loses_a_surrounding_fence_and_keeps_its_indentation() {
        let src = "sequenceDiagram\n    A->>B: hi";
        for wrapped in [
            src.to_string(),
            format!("  \n{src}\n\n"),
            format!("```mermaid\n{src}\n```"),
            format!("```\n{src}\n```\n"),
            format!("~~~mermaid\n{src}\n~~~"),
            format!("```mermaid\n{src}"),
            format!("\n```mermaid\n\n{src}\n\n```  \n"),
        ] {
            assert_eq!(mermaid_source(&wrapped), src, "{wrapped:?}");
        }
        // A fence inside the source cannot close the block it is written into.
        assert_eq!(
            mermaid_source("flowchart LR\n```\nA-->B"),
            "flowchart LR\n'''\nA-->B"
        );
    }

    #[test]
    fn code_cannot_close_its_fence() {
        assert_eq!(code("x\n```\ny"), "x\n'''\ny");
    }

    #[test]
    fn builtin_templates_compile() {
        Templates::builtin().unwrap();
    }

    #[test]
    fn a_sections_override_among_the_templates_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("sections.yaml"), "prd: []\n").unwrap();
        let err = Templates::load(Some(dir.path())).unwrap_err().to_string();
        assert!(err.contains("sections.yaml"), "{err}");
        assert!(err.contains("cannot be overridden"), "{err}");
    }

    #[test]
    fn project_templates_override_and_report_errors_with_line() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("prd.md.j2"), "# {{ doc.title }}\n").unwrap();
        let t = Templates::load(Some(dir.path())).unwrap();
        let out = t
            .render("prd.md.j2", &serde_json::json!({"doc": {"title": "X"}}))
            .unwrap();
        assert_eq!(out, "# X\n");

        std::fs::write(
            dir.path().join("options.md.j2"),
            "line one\n{% for x in %}\n",
        )
        .unwrap();
        let err = Templates::load(Some(dir.path())).unwrap_err().to_string();
        assert!(err.contains("options.md.j2"), "{err}");
        assert!(err.contains("line 2"), "{err}");
    }

    #[test]
    fn the_loader_gives_the_templates_or_the_error_naming_the_broken_file() {
        let dir = tempfile::tempdir().unwrap();
        let loader = TemplatesLoader::new(dir.path().to_path_buf());
        loader.compile_in_background();
        assert!(loader.get().is_ok());
        // Asked again: the same templates, no second compilation.
        assert!(std::ptr::eq(loader.get().unwrap(), loader.get().unwrap()));

        std::fs::write(dir.path().join("options.md.j2"), "{% if %}").unwrap();
        // Compiled where first asked for, without a thread.
        let broken = TemplatesLoader::new(dir.path().to_path_buf());
        let e = broken.get().unwrap_err().to_string();
        assert!(e.contains("options.md.j2") && e.contains("line 1"), "{e}");
        assert_eq!(broken.get().unwrap_err().to_string(), e);
    }
}
