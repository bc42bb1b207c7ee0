//! A writer that never blocks its caller: bytes go to a thread that owns the real sink.
//!
//! An agent streams every token into its tmux pane. A pane is a pseudo-terminal whose buffer
//! holds a few KiB; when tmux reads it more slowly than the model writes (a busy machine, a
//! long burst of tokens), a plain `write` blocks, and with it the task reading the HTTP stream:
//! the result file would wait for the screen. Through a [`Pipe`] the stream runs at network
//! speed while the pane catches up on its own thread, which writes what has queued up in one
//! go. [`Drain::wait`] lets the process show its last lines before it exits.
//!
//! The thread also paces the sink: after the first bytes of a burst it waits one [`FRAME`] and
//! writes everything queued by then at once. Without that, a streamed completion woke the thread,
//! wrote to the pane and made tmux redraw once per token (thousands per document, each a
//! context switch on the cores the session runs on); with it, a pane gets at most ~60 writes a
//! second, which is also all a screen shows.

use std::io::{self, Write};
use std::sync::mpsc::{self, Receiver, Sender};
use std::time::Duration;

/// Most bytes written to the sink in one call.
const BATCH: usize = 64 * 1024;

/// How long the thread lets bytes gather after the first of a burst before it writes them.
pub(super) const FRAME: Duration = Duration::from_millis(16);

enum Msg {
    Data(Vec<u8>),
    /// Answered once everything sent before it has been written and flushed.
    Barrier(Sender<()>),
}

/// The writing end: `write` queues, `flush` is a no-op (the thread flushes every batch).
pub(super) struct Pipe {
    tx: Sender<Msg>,
}

/// Waits for a [`Pipe`]'s queued bytes to reach its sink.
#[derive(Clone)]
pub(super) struct Drain {
    tx: Sender<Msg>,
}

impl Pipe {
    /// Starts the thread writing to `sink`; `name` names the thread.
    pub(super) fn spawn(name: &str, sink: Box<dyn Write + Send>) -> io::Result<(Pipe, Drain)> {
        let (tx, rx) = mpsc::channel();
        std::thread::Builder::new()
            .name(format!("pipe-{name}"))
            .spawn(move || pump(rx, sink))?;
        Ok((Pipe { tx: tx.clone() }, Drain { tx }))
    }
}

impl Write for Pipe {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if !buf.is_empty() {
            self.tx.send(Msg::Data(buf.to_vec())).map_err(|_| {
                io::Error::new(io::ErrorKind::BrokenPipe, "the writer thread ended")
            })?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drain {
    /// True when everything written before this call reached the sink within `timeout`.
    pub(super) fn wait(&self, timeout: Duration) -> bool {
        let (tx, rx) = mpsc::channel();
        if self.tx.send(Msg::Barrier(tx)).is_err() {
            return false;
        }
        rx.recv_timeout(timeout).is_ok()
    }
}

fn pump(rx: Receiver<Msg>, mut sink: Box<dyn Write + Send>) {
    let mut buf = Vec::with_capacity(BATCH);
    let mut barriers = Vec::new();
    // Blocks for the first message, lets a frame's worth gather (not listening, so the writers'
    // sends wake nobody meanwhile), then takes whatever is queued.
    while let Ok(first) = rx.recv() {
        if matches!(first, Msg::Data(_)) {
            std::thread::sleep(FRAME);
        }
        let mut next = Some(first);
        while let Some(msg) = next.take() {
            match msg {
                Msg::Data(d) => buf.extend_from_slice(&d),
                Msg::Barrier(b) => barriers.push(b),
            }
            if buf.len() >= BATCH {
                break;
            }
            next = rx.try_recv().ok();
        }
        // A sink that fails (the pane closed) drops the bytes; the agent carries on.
        if !buf.is_empty() {
            let _ = sink.write_all(&buf).and_then(|()| sink.flush());
            buf.clear();
        }
        for b in barriers.drain(..) {
            let _ = b.send(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    /// A sink that blocks until the test opens the gate, then records what it got.
    #[derive(Clone, Default)]
    struct Gated {
        open: Arc<Mutex<bool>>,
        got: Arc<Mutex<Vec<u8>>>,
        writes: Arc<Mutex<usize>>,
    }

    impl Write for Gated {
        fn write(&mut self, b: &[u8]) -> io::Result<usize> {
            while !*self.open.lock().unwrap() {
                std::thread::sleep(Duration::from_millis(1));
            }
            self.got.lock().unwrap().extend_from_slice(b);
            *self.writes.lock().unwrap() += 1;
            Ok(b.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn writes_return_while_the_sink_is_stuck_and_arrive_in_order_after() {
        let sink = Gated::default();
        let (mut pipe, drain) = Pipe::spawn("test", Box::new(sink.clone())).unwrap();
        for i in 0..1000 {
            write!(pipe, "{i},").unwrap();
            pipe.flush().unwrap();
        }
        // Nothing could be written yet, yet every write returned.
        assert!(!drain.wait(Duration::from_millis(50)));
        assert!(sink.got.lock().unwrap().is_empty());
        *sink.open.lock().unwrap() = true;
        assert!(drain.wait(Duration::from_secs(10)));
        let want: String = (0..1000).map(|i| format!("{i},")).collect();
        assert_eq!(
            String::from_utf8(sink.got.lock().unwrap().clone()).unwrap(),
            want
        );
        // The backlog went out in a few large writes, not one per call.
        assert!(*sink.writes.lock().unwrap() < 1000);
    }

    #[test]
    fn a_stream_of_small_writes_reaches_the_sink_in_few_writes() {
        let sink = Gated::default();
        *sink.open.lock().unwrap() = true;
        let (mut pipe, drain) = Pipe::spawn("paced", Box::new(sink.clone())).unwrap();
        // 200 tokens over ~100 ms, as a model streams them.
        let t0 = std::time::Instant::now();
        for i in 0..200 {
            write!(pipe, "t{i} ").unwrap();
            if i % 10 == 9 {
                std::thread::sleep(Duration::from_millis(5));
            }
        }
        assert!(drain.wait(Duration::from_secs(10)));
        let took = t0.elapsed();
        let want: String = (0..200).map(|i| format!("t{i} ")).collect();
        assert_eq!(
            String::from_utf8(sink.got.lock().unwrap().clone()).unwrap(),
            want
        );
        // Each write follows a frame's wait, so there were at most as many as frames fit in the
        // time it all took (however slow the machine), and far fewer than tokens.
        let writes = *sink.writes.lock().unwrap() as u128;
        let frames = took.as_millis() / FRAME.as_millis() + 1;
        assert!(
            writes <= frames && writes < 100,
            "{writes} writes for 200 tokens in {took:?}"
        );
    }

    #[test]
    fn a_failing_sink_does_not_fail_the_writer() {
        struct Broken;
        impl Write for Broken {
            fn write(&mut self, _: &[u8]) -> io::Result<usize> {
                Err(io::Error::other("pane gone"))
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let (mut pipe, drain) = Pipe::spawn("broken", Box::new(Broken)).unwrap();
        pipe.write_all(b"text").unwrap();
        assert!(drain.wait(Duration::from_secs(10)));
    }
}
