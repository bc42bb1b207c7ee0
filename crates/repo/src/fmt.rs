//! Small text helpers shared by the tools and the pack: sizes for people, and cutting text at a
//! byte cap without splitting a character.

/// `2.1 KB`, `50.0 MB`: binary units, one decimal, as a pane line or an error message shows them.
pub(crate) fn size(bytes: u64) -> String {
    const KB: u64 = 1024;
    const MB: u64 = 1024 * KB;
    const GB: u64 = 1024 * MB;
    let f = bytes as f64;
    if bytes < KB {
        format!("{bytes} B")
    } else if bytes < MB {
        format!("{:.1} KB", f / KB as f64)
    } else if bytes < GB {
        format!("{:.1} MB", f / MB as f64)
    } else {
        format!("{:.1} GB", f / GB as f64)
    }
}

/// The longest prefix of `s` of at most `max` bytes that ends on a character boundary.
pub(crate) fn cut(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_like_ls_h() {
        assert_eq!(size(12), "12 B");
        assert_eq!(size(2150), "2.1 KB");
        assert_eq!(size(50 * 1024 * 1024), "50.0 MB");
    }

    #[test]
    fn cut_keeps_characters_whole() {
        assert_eq!(cut("héllo", 2), "h");
        assert_eq!(cut("héllo", 3), "hé");
        assert_eq!(cut("abc", 10), "abc");
    }
}
