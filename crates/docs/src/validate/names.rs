//! Safe design-document file names.
//!
//! Names come from a model's manifest and become files in `.agentmux/specs/`; a name is accepted
//! only if it cannot point anywhere else: snake_case, ending in `_design.md`, no separators, no
//! `..`, not absolute, flat in `specs/`.

/// The suffix every design document has.
pub(crate) const DESIGN_SUFFIX: &str = "_design.md";

/// The longest accepted name, in bytes.
pub(crate) const MAX_NAME_LEN: usize = 100;

/// `Ok` if `name` is a safe design-document name; `Err` says what is wrong and how to fix it.
pub fn check_doc_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("the name is empty; use a snake_case name ending in `_design.md`".into());
    }
    if name.starts_with('/') || name.starts_with('\\') || has_drive_prefix(name) {
        return Err(format!(
            "`{}` is an absolute path; use a bare file name such as `{}` (documents are written flat in .agentmux/specs/)",
            shown(name),
            suggest(name)
        ));
    }
    if name.contains('/') || name.contains('\\') {
        return Err(format!(
            "`{}` contains a path separator; use a bare file name such as `{}` (no subdirectories under .agentmux/specs/)",
            shown(name),
            suggest(name)
        ));
    }
    if name.contains("..") {
        return Err(format!(
            "`{}` contains `..`; use a snake_case name such as `{}`",
            shown(name),
            suggest(name)
        ));
    }
    if name.len() > MAX_NAME_LEN {
        return Err(format!(
            "the name is {} bytes long; keep it under {MAX_NAME_LEN}",
            name.len()
        ));
    }
    let Some(stem) = name.strip_suffix(DESIGN_SUFFIX) else {
        return Err(format!(
            "`{}` does not end in `{DESIGN_SUFFIX}`; rename it, e.g. `{}`",
            shown(name),
            suggest(name)
        ));
    };
    let snake = !stem.is_empty()
        && stem.split('_').all(|w| {
            !w.is_empty()
                && w.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
        && stem.as_bytes()[0].is_ascii_lowercase();
    if !snake {
        return Err(format!(
            "`{}` is not snake_case (lowercase letters, digits and single underscores, starting with a letter); rename it, e.g. `{}`",
            shown(name),
            suggest(name)
        ));
    }
    Ok(())
}

fn has_drive_prefix(name: &str) -> bool {
    let b = name.as_bytes();
    b.len() >= 2 && b[0].is_ascii_alphabetic() && b[1] == b':'
}

/// The name as shown in a message: control characters escaped, long names cut.
fn shown(name: &str) -> String {
    let s: String = name.chars().flat_map(char::escape_debug).take(80).collect();
    s
}

/// A safe name derived from a bad one.
pub(crate) fn suggest(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let base = base.strip_suffix(".md").unwrap_or(base);
    let mut out = String::new();
    for c in base.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('_') && !out.is_empty() {
            out.push('_');
        }
    }
    let mut out = out.trim_matches('_').to_string();
    if out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert_str(0, "doc_");
    }
    let out = out.strip_suffix("_design").unwrap_or(&out).to_string();
    let out = if out.is_empty() {
        "component".into()
    } else {
        out
    };
    let out: String = out
        .chars()
        .take(MAX_NAME_LEN - DESIGN_SUFFIX.len())
        .collect();
    format!("{}{DESIGN_SUFFIX}", out.trim_end_matches('_'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn good_names() {
        for n in [
            "auth_security_design.md",
            "order_domain_backend_design.md",
            "api2_design.md",
            "x_design.md",
        ] {
            assert_eq!(check_doc_name(n), Ok(()), "{n}");
        }
    }

    #[test]
    fn bad_names_say_why_and_suggest_a_fix() {
        for (n, why) in [
            ("", "empty"),
            ("/etc/passwd_design.md", "absolute"),
            ("C:\\x_design.md", "absolute"),
            ("\\\\server\\x_design.md", "absolute"),
            ("specs/auth_design.md", "separator"),
            (".agentmux/specs/auth_design.md", "separator"),
            ("a\\b_design.md", "separator"),
            ("..evil_design.md", "`..`"),
            ("auth_design.txt", "does not end"),
            ("auth.md", "does not end"),
            ("AuthSecurity_design.md", "snake_case"),
            ("auth__security_design.md", "snake_case"),
            ("_design.md", "snake_case"),
            ("1auth_design.md", "snake_case"),
            ("auth-security_design.md", "snake_case"),
            ("authé_design.md", "snake_case"),
        ] {
            let e = check_doc_name(n).unwrap_err();
            assert!(e.contains(why), "{n}: {e}");
        }
        let e = check_doc_name("specs/Auth Security.md").unwrap_err();
        assert!(e.contains("`auth_security_design.md`"), "{e}");
        assert!(check_doc_name(&format!("{}_design.md", "a".repeat(200))).is_err());
    }

    #[test]
    fn suggestions_are_valid_names() {
        for n in [
            "",
            "../../x",
            "Hello World.md",
            "123",
            "a/b/C-D_design.md",
            "___",
            "é",
        ] {
            let s = suggest(n);
            assert_eq!(check_doc_name(&s), Ok(()), "{n} -> {s}");
        }
    }
}
