//! Numbered lines from a stream, holding at most one (cut) line and the output in memory: a line
//! range of a 50 MB log is read by skipping to it, never by loading the file.

use std::io::{self, BufRead};

use crate::fmt::cut;

/// Where a read of numbered lines stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stop {
    /// The file ended; it has this many lines.
    Eof { lines: u64 },
    /// The requested last line was reached.
    End,
    /// The byte cap was reached; the next line not shown.
    Cap { next: u64 },
}

#[derive(Debug)]
pub(crate) struct Numbered {
    /// `cat -n` style: the number right-aligned in six columns, a tab, the line.
    pub(crate) text: String,
    /// The last line shown (0 when none was).
    pub(crate) last: u64,
    pub(crate) stop: Stop,
}

#[derive(Debug)]
pub(crate) enum LinesError {
    Io(io::Error),
    /// A line in the range is not UTF-8.
    InvalidUtf8,
}

impl From<io::Error> for LinesError {
    fn from(e: io::Error) -> Self {
        Self::Io(e)
    }
}

/// Lines `start..=end` (1-based; `end` `None` for the rest of the file) of `reader`, numbered,
/// each cut at `max_line` bytes, the whole at most `cap` bytes (at least one line is shown, cut to
/// the cap, so a read always makes progress).
pub(crate) fn numbered<R: BufRead>(
    reader: &mut R,
    start: u64,
    end: Option<u64>,
    cap: usize,
    max_line: usize,
) -> Result<Numbered, LinesError> {
    let mut out = String::new();
    let mut last = 0;
    let mut line: Vec<u8> = Vec::new();
    let mut line_len = 0usize;
    let mut n: u64 = 1;
    loop {
        let buf = reader.fill_buf()?;
        if buf.is_empty() {
            // A last line without a newline is still a line.
            if line_len > 0 {
                if n >= start && !emit(&mut out, n, &line, line_len, max_line, cap)? {
                    return Ok(Numbered {
                        text: out,
                        last,
                        stop: Stop::Cap { next: n },
                    });
                }
                if n >= start {
                    last = n;
                }
                return Ok(Numbered {
                    text: out,
                    last,
                    stop: Stop::Eof { lines: n },
                });
            }
            return Ok(Numbered {
                text: out,
                last,
                stop: Stop::Eof { lines: n - 1 },
            });
        }
        let in_range = n >= start;
        let newline = memchr::memchr(b'\n', buf);
        let take = newline.unwrap_or(buf.len());
        if in_range && line.len() < max_line {
            let room = max_line - line.len();
            line.extend_from_slice(&buf[..take.min(room)]);
        }
        line_len += take;
        match newline {
            None => reader.consume(take),
            Some(i) => {
                reader.consume(i + 1);
                if in_range {
                    if !emit(&mut out, n, &line, line_len, max_line, cap)? {
                        return Ok(Numbered {
                            text: out,
                            last,
                            stop: Stop::Cap { next: n },
                        });
                    }
                    last = n;
                    if end == Some(n) {
                        return Ok(Numbered {
                            text: out,
                            last,
                            stop: Stop::End,
                        });
                    }
                }
                line.clear();
                line_len = 0;
                n += 1;
            }
        }
    }
}

/// Appends line `n`; `false` when it does not fit under `cap` (and something is already shown).
fn emit(
    out: &mut String,
    n: u64,
    bytes: &[u8],
    full_len: usize,
    max_line: usize,
    cap: usize,
) -> Result<bool, LinesError> {
    let bytes = bytes.strip_suffix(b"\r").unwrap_or(bytes);
    let was_cut = full_len > max_line;
    let text = match std::str::from_utf8(bytes) {
        Ok(t) => t,
        // A cut in the middle of a character is ours, not the file's.
        Err(e) if was_cut && e.error_len().is_none() => {
            std::str::from_utf8(&bytes[..e.valid_up_to()]).map_err(|_| LinesError::InvalidUtf8)?
        }
        Err(_) => return Err(LinesError::InvalidUtf8),
    };
    let mut line = format!("{n:>6}\t{text}");
    if was_cut {
        line.push_str(&format!(" [… line cut at {max_line} of {full_len} bytes]"));
    }
    line.push('\n');
    if out.len() + line.len() > cap {
        if out.is_empty() {
            out.push_str(cut(&line, cap));
            return Ok(true);
        }
        return Ok(false);
    }
    out.push_str(&line);
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufReader, Read};

    fn read(text: &str, start: u64, end: Option<u64>, cap: usize) -> Numbered {
        numbered(&mut text.as_bytes(), start, end, cap, 20).unwrap()
    }

    #[test]
    fn a_range_is_numbered_from_one() {
        let r = read("a\nb\nc\nd\n", 2, Some(3), 1000);
        assert_eq!(r.text, "     2\tb\n     3\tc\n");
        assert_eq!((r.last, r.stop), (3, Stop::End));
    }

    #[test]
    fn the_end_of_file_reports_the_line_count() {
        let r = read("a\nb", 1, None, 1000);
        assert_eq!(r.text, "     1\ta\n     2\tb\n");
        assert_eq!(r.stop, Stop::Eof { lines: 2 });
        let r = read("a\nb\n", 5, Some(9), 1000);
        assert_eq!(
            (r.text.as_str(), r.last, r.stop),
            ("", 0, Stop::Eof { lines: 2 })
        );
    }

    #[test]
    fn the_cap_stops_before_a_line_that_does_not_fit() {
        let r = read("aaaa\nbbbb\ncccc\n", 1, None, 20);
        assert_eq!(r.text, "     1\taaaa\n");
        assert_eq!(r.stop, Stop::Cap { next: 2 });
    }

    #[test]
    fn long_lines_are_cut_and_say_so() {
        let long = "x".repeat(100);
        let r = read(&format!("{long}\nshort\n"), 1, None, 1000);
        assert!(
            r.text.starts_with(&format!("     1\t{}", "x".repeat(20))),
            "{}",
            r.text
        );
        assert!(r.text.contains("line cut at 20 of 100 bytes"), "{}", r.text);
        assert!(r.text.ends_with("     2\tshort\n"));
    }

    #[test]
    fn invalid_utf8_in_range_is_an_error_but_elsewhere_is_not() {
        let bytes = b"ok\n\xff\xfe\nok\n";
        assert!(numbered(&mut &bytes[..], 1, Some(1), 100, 20).is_ok());
        assert!(matches!(
            numbered(&mut &bytes[..], 2, Some(2), 100, 20),
            Err(LinesError::InvalidUtf8)
        ));
    }

    /// Counts the bytes pulled from the underlying file.
    struct Counting<R> {
        inner: R,
        read: u64,
    }

    impl<R: Read> Read for Counting<R> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.inner.read(buf)?;
            self.read += n as u64;
            Ok(n)
        }
    }

    #[test]
    fn a_range_at_the_start_of_a_huge_stream_reads_only_a_buffer() {
        // 50 MB of lines, generated on the fly: nothing holds them.
        let line = b"0123456789abcdef0123456789abcdef0123456789abcdef\n";
        let total = 50 * 1024 * 1024;
        let source = std::iter::repeat(line).flatten().copied().take(total);
        struct Gen<I>(I);
        impl<I: Iterator<Item = u8>> Read for Gen<I> {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                let mut n = 0;
                for slot in buf.iter_mut() {
                    match self.0.next() {
                        Some(b) => *slot = b,
                        None => break,
                    }
                    n += 1;
                }
                Ok(n)
            }
        }
        let mut reader = BufReader::with_capacity(
            64 * 1024,
            Counting {
                inner: Gen(source),
                read: 0,
            },
        );
        let r = numbered(&mut reader, 10, Some(20), 32 * 1024, 1000).unwrap();
        assert_eq!(r.last, 20);
        assert!(r.text.starts_with("    10\t0123"));
        let pulled = reader.get_ref().read;
        assert!(pulled <= 64 * 1024, "read {pulled} bytes for 11 lines");
    }
}
