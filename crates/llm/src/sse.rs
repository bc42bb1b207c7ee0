//! An incremental parser for server-sent events (`text/event-stream`).
//!
//! Bytes arrive in arbitrary pieces; [`SseParser::feed`] buffers what it must and passes every
//! complete event's `data` (multi-line data joined with `\n`) to a callback. Comments
//! (`: keep-alive`), `event:`, `id:` and `retry:` lines are ignored: OpenAI-compatible servers put
//! everything into `data`.

use std::ops::ControlFlow;

/// Buffers bytes and yields complete events.
#[derive(Debug, Default)]
pub(crate) struct SseParser {
    /// The start of a line whose end has not arrived yet.
    buf: Vec<u8>,
    /// The data lines of the event being read, joined with `\n`; reused from event to event.
    data: String,
    has_data: bool,
}

impl SseParser {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Feeds bytes; calls `on_event` with the data of every event completed by them, in order,
    /// until it breaks. A fast server sends thousands of small events per completion, and an agent
    /// reading a burst of them is on the session's critical path, so nothing is allocated per
    /// event: lines are read in place (copied only when one is split between two pieces or is not
    /// UTF-8) and the event's text lives in a buffer that is reused.
    pub(crate) fn feed<B>(
        &mut self,
        bytes: &[u8],
        mut on_event: impl FnMut(&str) -> ControlFlow<B>,
    ) -> ControlFlow<B> {
        if self.buf.is_empty() {
            let (used, flow) = lines(bytes, &mut self.data, &mut self.has_data, &mut on_event);
            self.buf.extend_from_slice(&bytes[used..]);
            return flow;
        }
        self.buf.extend_from_slice(bytes);
        let buf = std::mem::take(&mut self.buf);
        let (used, flow) = lines(&buf, &mut self.data, &mut self.has_data, &mut on_event);
        self.buf = buf;
        self.buf.drain(..used);
        flow
    }

    /// [`SseParser::feed`], collecting the events completed by `bytes`.
    pub(crate) fn events(&mut self, bytes: &[u8]) -> Vec<String> {
        let mut out = Vec::new();
        let _ = self.feed(bytes, |d| {
            out.push(d.to_string());
            ControlFlow::<()>::Continue(())
        });
        out
    }

    /// Ends the stream: an event not terminated by a blank line is still delivered.
    pub(crate) fn finish(&mut self) -> Option<String> {
        if !self.buf.is_empty() {
            let rest = std::mem::take(&mut self.buf);
            let line = String::from_utf8_lossy(&rest);
            let mut last = None;
            let _ = on_line(
                line.trim_end_matches('\r'),
                &mut self.data,
                &mut self.has_data,
                &mut |d: &str| {
                    last = Some(d.to_string());
                    ControlFlow::<()>::Continue(())
                },
            );
            if last.is_some() {
                return last;
            }
        }
        if !std::mem::take(&mut self.has_data) {
            return None;
        }
        Some(std::mem::take(&mut self.data))
    }
}

/// Reads the complete lines of `bytes`; returns how many bytes they took and whether `on_event`
/// broke.
fn lines<B>(
    bytes: &[u8],
    data: &mut String,
    has_data: &mut bool,
    on_event: &mut impl FnMut(&str) -> ControlFlow<B>,
) -> (usize, ControlFlow<B>) {
    let mut start = 0;
    while let Some(pos) = bytes[start..].iter().position(|&b| b == b'\n') {
        let end = start + pos;
        let mut line = &bytes[start..end];
        if line.last() == Some(&b'\r') {
            line = &line[..line.len() - 1];
        }
        start = end + 1;
        let flow = match std::str::from_utf8(line) {
            Ok(line) => on_line(line, data, has_data, on_event),
            Err(_) => on_line(&String::from_utf8_lossy(line), data, has_data, on_event),
        };
        if flow.is_break() {
            return (start, flow);
        }
    }
    (start, ControlFlow::Continue(()))
}

fn on_line<B>(
    line: &str,
    data: &mut String,
    has_data: &mut bool,
    on_event: &mut impl FnMut(&str) -> ControlFlow<B>,
) -> ControlFlow<B> {
    if line.is_empty() {
        if !std::mem::take(has_data) {
            return ControlFlow::Continue(());
        }
        let flow = on_event(data);
        data.clear();
        return flow;
    }
    if line.starts_with(':') {
        return ControlFlow::Continue(());
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
    ControlFlow::Continue(())
}

/// Every event of `bytes` followed by the end of the stream.
pub(crate) fn parse_all(bytes: &[u8]) -> Vec<String> {
    let mut parser = SseParser::new();
    let mut events = parser.events(bytes);
    events.extend(parser.finish());
    events
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_split_across_pushes() {
        let mut p = SseParser::new();
        assert!(p.events(b"data: {\"a\"").is_empty());
        assert_eq!(
            p.events(b":1}\n\ndata: [DONE]\n\n"),
            vec!["{\"a\":1}", "[DONE]"]
        );
    }

    #[test]
    fn crlf_comments_and_other_fields() {
        let mut p = SseParser::new();
        let got = p.events(b": keep-alive\r\n\r\nevent: message\r\nid: 3\r\ndata:x\r\n\r\n");
        assert_eq!(got, vec!["x"]);
    }

    #[test]
    fn multi_line_data_is_joined() {
        let mut p = SseParser::new();
        assert_eq!(p.events(b"data: a\ndata: b\n\n"), vec!["a\nb"]);
    }

    #[test]
    fn unterminated_last_event_is_delivered_on_finish() {
        let mut p = SseParser::new();
        assert!(p.events(b"data: tail").is_empty());
        assert_eq!(p.finish().as_deref(), Some("tail"));
        assert_eq!(p.finish(), None);
    }

    #[test]
    fn utf8_split_inside_a_character() {
        let mut p = SseParser::new();
        let bytes = "data: héllo\n\n".as_bytes();
        assert!(p.events(&bytes[..8]).is_empty());
        assert_eq!(p.events(&bytes[8..]), vec!["héllo"]);
    }

    #[test]
    fn a_break_stops_at_that_event_and_keeps_the_rest() {
        let mut p = SseParser::new();
        let mut seen = Vec::new();
        let flow = p.feed(b"data: a\n\ndata: stop\n\ndata: c\n\n", |d| {
            seen.push(d.to_string());
            if d == "stop" {
                ControlFlow::Break(7)
            } else {
                ControlFlow::Continue(())
            }
        });
        assert_eq!(flow, ControlFlow::Break(7));
        assert_eq!(seen, vec!["a", "stop"]);
        assert_eq!(p.events(b""), vec!["c"]);
    }

    #[test]
    fn invalid_utf8_is_replaced_not_fatal() {
        let mut p = SseParser::new();
        assert_eq!(p.events(b"data: a\xffb\n\n"), vec!["a\u{fffd}b"]);
    }

    #[test]
    fn parse_all_includes_an_unterminated_tail() {
        assert_eq!(parse_all(b"data: 1\n\ndata: 2"), vec!["1", "2"]);
    }
}
