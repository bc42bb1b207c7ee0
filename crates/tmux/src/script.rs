//! Turning tmux commands into text that tmux parses again: a `source-file -` script on stdin,
//! and arguments that survive tmux's own argv and format rules.
//!
//! Why a script: a pane's environment (the API key among it) must reach tmux without appearing
//! in any process's argv, where every local user can read it (`/proc/<pid>/cmdline`). tmux reads
//! commands from stdin with `source-file -`, so commands carrying environment go that way.

use std::borrow::Cow;

use tmux_interface::TmuxCommand;

/// Quotes one argument for tmux's command parser: a double-quoted string in which `\`, `"` and
/// `$` are escaped and control characters become escapes, so nothing is expanded or split.
pub(crate) fn quote(arg: &str) -> String {
    let mut out = String::with_capacity(arg.len() + 2);
    out.push('"');
    for c in arg.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '$' => out.push_str("\\$"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\{:03o}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// One script line: the command's words, each quoted.
pub(crate) fn line(cmd: &TmuxCommand<'_>) -> String {
    let words: Vec<String> = cmd.to_vec().iter().map(|w| quote(w)).collect();
    words.join(" ")
}

/// Escapes `#` for arguments tmux expands as a format (`-c start-directory`, messages).
pub(crate) fn no_format(s: &str) -> String {
    s.replace('#', "##")
}

/// Makes free text safe as one argv argument of a tmux command line: tmux treats an argument that
/// ends in `;` as a command separator, and control characters would garble the status line.
pub(crate) fn argv_text(s: &str) -> Cow<'_, str> {
    if !s.ends_with(';') && !s.chars().any(char::is_control) {
        return Cow::Borrowed(s);
    }
    let mut out: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if out.ends_with(';') {
        out.pop();
        out.push_str("\\;");
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quote_escapes_everything_tmux_would_interpret() {
        assert_eq!(quote("plain"), "\"plain\"");
        assert_eq!(quote("a\"b\\c$HOME"), "\"a\\\"b\\\\c\\$HOME\"");
        assert_eq!(quote("x\ny\tz\u{1}"), "\"x\\ny\\tz\\001\"");
        // `#`, `;`, `~`, braces and quotes of the other kind need nothing inside double quotes.
        assert_eq!(quote("#{x};~{}'"), "\"#{x};~{}'\"");
    }

    #[test]
    fn line_quotes_every_word_of_a_command() {
        let cmd = tmux_interface::KillSession::new()
            .target_session("=a b")
            .build();
        let text = line(&cmd);
        assert!(text.ends_with("\"-t\" \"=a b\""), "{text}");
    }

    #[test]
    fn argv_text_escapes_a_trailing_semicolon_and_control_characters() {
        assert_eq!(argv_text("done"), "done");
        assert_eq!(argv_text("done;"), "done\\;");
        assert_eq!(argv_text("a\u{1b}[31mb"), "a [31mb");
        assert_eq!(no_format("50# of #{x}"), "50## of ##{x}");
    }
}
