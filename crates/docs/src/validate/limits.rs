//! Size and encoding limits: what a model returns must be a reasonably sized UTF-8 text before any
//! other check runs, and it is rejected (never written) otherwise.

use super::Finding;

/// Returns the text if `bytes` is at most `max_bytes` of UTF-8 text without NUL bytes or control
/// characters (tab, newline, carriage return and form feed are allowed).
pub fn check_text(bytes: &[u8], max_bytes: usize) -> Result<&str, Finding> {
    if bytes.len() > max_bytes {
        return Err(Finding::new(
            "size",
            format!(
                "{} bytes, more than the limit of {max_bytes}; shorten the document",
                bytes.len()
            ),
        ));
    }
    let text = std::str::from_utf8(bytes).map_err(|e| {
        let at = e.valid_up_to();
        let line = bytes[..at].iter().filter(|b| **b == b'\n').count() + 1;
        Finding::new(
            format!("line {line}"),
            format!(
                "not valid UTF-8 at byte {at} (binary or another encoding); the document must be UTF-8 text"
            ),
        )
    })?;
    for (n, line) in text.split('\n').enumerate() {
        if let Some((col, c)) = line.chars().enumerate().find(|(_, c)| is_forbidden(*c)) {
            let what = if c == '\0' {
                "a NUL byte (binary data)".to_string()
            } else {
                format!("the control character U+{:04X}", c as u32)
            };
            return Err(Finding::new(
                format!("line {}", n + 1),
                format!(
                    "contains {what} at column {}; the document must be plain text without control characters or terminal escapes",
                    col + 1
                ),
            ));
        }
    }
    Ok(text)
}

fn is_forbidden(c: char) -> bool {
    c.is_control() && !matches!(c, '\t' | '\r' | '\u{0C}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_text_and_rejects_binary_oversize_and_bad_encoding() {
        assert_eq!(
            check_text("# Hi\n\tx\r\n".as_bytes(), 100).unwrap(),
            "# Hi\n\tx\r\n"
        );
        assert_eq!(check_text("é ✓ 漢字".as_bytes(), 100).unwrap(), "é ✓ 漢字");

        let e = check_text(b"abcdef", 5).unwrap_err();
        assert_eq!(e.location, "size");
        assert!(e.message.contains("6 bytes, more than the limit of 5"));

        let e = check_text(b"ok\nbad \xff\xfe here", 100).unwrap_err();
        assert_eq!(e.location, "line 2");
        assert!(
            e.message.contains("not valid UTF-8 at byte 7"),
            "{}",
            e.message
        );

        let e = check_text(b"a\nb\nc\0d", 100).unwrap_err();
        assert_eq!(e.location, "line 3");
        assert!(e.message.contains("NUL"));

        let e = check_text(b"\x1b[31mred\x1b[0m", 100).unwrap_err();
        assert!(e.message.contains("U+001B"), "{}", e.message);

        let e = check_text("x\u{85}y".as_bytes(), 100).unwrap_err();
        assert!(e.message.contains("U+0085"), "{}", e.message);
    }
}
