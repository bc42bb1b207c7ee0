//! An incremental parser for server-sent events (`text/event-stream`).
//!
//! Bytes arrive in arbitrary pieces; [`SseParser::push`] buffers them and returns every complete
//! event's `data` (multi-line data joined with `\n`). Comments (`: keep-alive`), `event:`, `id:` and
//! `retry:` lines are ignored: OpenAI-compatible servers put everything into `data`.

/// Buffers bytes and yields complete events.
#[derive(Debug, Default)]
pub struct SseParser {
    buf: Vec<u8>,
    /// The data lines of the event being read, joined with `\n`.
    data: String,
    has_data: bool,
}

impl SseParser {
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds bytes; returns the data of every event completed by them. Lines are read in place
    /// (no copy unless one is not UTF-8): a fast server sends thousands of small events per
    /// completion, and an agent reading a burst of them is on the session's critical path.
    pub fn push(&mut self, bytes: &[u8]) -> Vec<String> {
        self.buf.extend_from_slice(bytes);
        let Self {
            buf,
            data,
            has_data,
        } = self;
        let mut out = Vec::new();
        let mut start = 0;
        while let Some(pos) = buf[start..].iter().position(|&b| b == b'\n') {
            let end = start + pos;
            let mut line = &buf[start..end];
            if line.last() == Some(&b'\r') {
                line = &line[..line.len() - 1];
            }
            start = end + 1;
            on_line(&String::from_utf8_lossy(line), data, has_data, &mut out);
        }
        buf.drain(..start);
        out
    }

    /// Ends the stream: an event not terminated by a blank line is still delivered.
    pub fn finish(&mut self) -> Option<String> {
        if !self.buf.is_empty() {
            let rest = std::mem::take(&mut self.buf);
            let line = String::from_utf8_lossy(&rest);
            let mut out = Vec::new();
            on_line(
                line.trim_end_matches('\r'),
                &mut self.data,
                &mut self.has_data,
                &mut out,
            );
            if let Some(d) = out.pop() {
                return Some(d);
            }
        }
        take_event(&mut self.data, &mut self.has_data)
    }
}

fn on_line(line: &str, data: &mut String, has_data: &mut bool, out: &mut Vec<String>) {
    if line.is_empty() {
        if let Some(d) = take_event(data, has_data) {
            out.push(d);
        }
        return;
    }
    if line.starts_with(':') {
        return;
    }
    let (field, value) = match line.split_once(':') {
        Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
        None => (line, ""),
    };
    if field == "data" {
        if *has_data {
            data.push('\n');
        }
        data.push_str(value);
        *has_data = true;
    }
}

fn take_event(data: &mut String, has_data: &mut bool) -> Option<String> {
    if !*has_data {
        return None;
    }
    *has_data = false;
    Some(std::mem::take(data))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_split_across_pushes() {
        let mut p = SseParser::new();
        assert!(p.push(b"data: {\"a\"").is_empty());
        assert_eq!(
            p.push(b":1}\n\ndata: [DONE]\n\n"),
            vec!["{\"a\":1}", "[DONE]"]
        );
    }

    #[test]
    fn crlf_comments_and_other_fields() {
        let mut p = SseParser::new();
        let got = p.push(b": keep-alive\r\n\r\nevent: message\r\nid: 3\r\ndata:x\r\n\r\n");
        assert_eq!(got, vec!["x"]);
    }

    #[test]
    fn multi_line_data_is_joined() {
        let mut p = SseParser::new();
        assert_eq!(p.push(b"data: a\ndata: b\n\n"), vec!["a\nb"]);
    }

    #[test]
    fn unterminated_last_event_is_delivered_on_finish() {
        let mut p = SseParser::new();
        assert!(p.push(b"data: tail").is_empty());
        assert_eq!(p.finish().as_deref(), Some("tail"));
        assert_eq!(p.finish(), None);
    }

    #[test]
    fn utf8_split_inside_a_character() {
        let mut p = SseParser::new();
        let bytes = "data: héllo\n\n".as_bytes();
        assert!(p.push(&bytes[..8]).is_empty());
        assert_eq!(p.push(&bytes[8..]), vec!["héllo"]);
    }
}
