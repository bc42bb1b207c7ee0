//! Which language a file is in, told by its name alone (no file is opened for it): the summary
//! counts languages, the pack tags code fences, the outline picks a grammar, and the secret rules
//! exempt source code.

/// A language (or document format) recognised by file name.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Language {
    Rust,
    Python,
    JavaScript,
    TypeScript,
    Go,
    Java,
    Kotlin,
    C,
    Cpp,
    CSharp,
    Ruby,
    Php,
    Swift,
    Scala,
    Shell,
    Sql,
    Html,
    Css,
    Markdown,
    Rst,
    Toml,
    Yaml,
    Json,
    Text,
}

impl Language {
    /// The language of a file, by its extension or well-known name.
    pub fn of_path(path: &str) -> Option<Self> {
        let name = path.rsplit('/').next().unwrap_or(path);
        match name {
            "Dockerfile" | "Makefile" => return None,
            "Cargo.lock" => return Some(Self::Toml),
            _ => {}
        }
        let ext = name.rsplit_once('.')?.1.to_ascii_lowercase();
        Some(match ext.as_str() {
            "rs" => Self::Rust,
            "py" | "pyi" => Self::Python,
            "js" | "mjs" | "cjs" | "jsx" => Self::JavaScript,
            "ts" | "tsx" | "mts" | "cts" => Self::TypeScript,
            "go" => Self::Go,
            "java" => Self::Java,
            "kt" | "kts" => Self::Kotlin,
            "c" | "h" => Self::C,
            "cc" | "cpp" | "cxx" | "hpp" | "hh" | "hxx" => Self::Cpp,
            "cs" => Self::CSharp,
            "rb" => Self::Ruby,
            "php" => Self::Php,
            "swift" => Self::Swift,
            "scala" => Self::Scala,
            "sh" | "bash" | "zsh" => Self::Shell,
            "sql" => Self::Sql,
            "html" | "htm" => Self::Html,
            "css" | "scss" => Self::Css,
            "md" | "markdown" => Self::Markdown,
            "rst" => Self::Rst,
            "toml" => Self::Toml,
            "yaml" | "yml" => Self::Yaml,
            "json" => Self::Json,
            "txt" => Self::Text,
            _ => return None,
        })
    }

    /// The name a person reads, e.g. `Python`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Rust => "Rust",
            Self::Python => "Python",
            Self::JavaScript => "JavaScript",
            Self::TypeScript => "TypeScript",
            Self::Go => "Go",
            Self::Java => "Java",
            Self::Kotlin => "Kotlin",
            Self::C => "C",
            Self::Cpp => "C++",
            Self::CSharp => "C#",
            Self::Ruby => "Ruby",
            Self::Php => "PHP",
            Self::Swift => "Swift",
            Self::Scala => "Scala",
            Self::Shell => "Shell",
            Self::Sql => "SQL",
            Self::Html => "HTML",
            Self::Css => "CSS",
            Self::Markdown => "Markdown",
            Self::Rst => "reStructuredText",
            Self::Toml => "TOML",
            Self::Yaml => "YAML",
            Self::Json => "JSON",
            Self::Text => "text",
        }
    }

    /// The info string of a Markdown code fence, e.g. `python`.
    pub fn fence(self) -> &'static str {
        match self {
            Self::Rust => "rust",
            Self::Python => "python",
            Self::JavaScript => "javascript",
            Self::TypeScript => "typescript",
            Self::Go => "go",
            Self::Java => "java",
            Self::Kotlin => "kotlin",
            Self::C => "c",
            Self::Cpp => "cpp",
            Self::CSharp => "csharp",
            Self::Ruby => "ruby",
            Self::Php => "php",
            Self::Swift => "swift",
            Self::Scala => "scala",
            Self::Shell => "sh",
            Self::Sql => "sql",
            Self::Html => "html",
            Self::Css => "css",
            Self::Markdown => "markdown",
            Self::Rst => "rst",
            Self::Toml => "toml",
            Self::Yaml => "yaml",
            Self::Json => "json",
            Self::Text => "text",
        }
    }

    /// Source code, as opposed to documents, configuration and data.
    pub fn is_code(self) -> bool {
        match self {
            Self::Rust
            | Self::Python
            | Self::JavaScript
            | Self::TypeScript
            | Self::Go
            | Self::Java
            | Self::Kotlin
            | Self::C
            | Self::Cpp
            | Self::CSharp
            | Self::Ruby
            | Self::Php
            | Self::Swift
            | Self::Scala
            | Self::Shell
            | Self::Sql => true,
            Self::Html
            | Self::Css
            | Self::Markdown
            | Self::Rst
            | Self::Toml
            | Self::Yaml
            | Self::Json
            | Self::Text => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn languages_come_from_the_name() {
        assert_eq!(Language::of_path("readtime/api.py"), Some(Language::Python));
        assert_eq!(Language::of_path("src/MAIN.RS"), Some(Language::Rust));
        assert_eq!(Language::of_path("Makefile"), None);
        assert_eq!(Language::of_path("LICENSE"), None);
        assert_eq!(Language::of_path(".env"), None);
    }
}
