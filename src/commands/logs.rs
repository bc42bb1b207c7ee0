//! `agentmux logs [ROLE] [-f] [--raw] [--session ID]`: what the agents streamed, read back from
//! their transcripts (`agents/<role>/transcript.log`, the readable form the pane showed; with
//! `--raw`, `raw.log`, the replies as the model sent them), so it works after the panes are gone.
//!
//! One role: the transcript as it is, byte for byte (with `-f`, streamed as it grows, like the
//! pane). All roles: every line prefixed with its role, role after role in file order; with
//! `-f`, new lines of all roles interleave as they arrive (a line is printed once complete, so
//! two streaming agents never mix inside a line). Following polls the files (a few stats a poll
//! are cheaper and simpler than a watcher for a handful of files) until Ctrl-C.

use std::fs::File;
use std::io::{BufRead, BufReader, IsTerminal, Read, Seek, SeekFrom, Write};
use std::path::PathBuf;
use std::time::Duration;

use super::{Ctx, sessions};
use crate::cli::LogsArgs;
use crate::paths::{ProjectPaths, SessionPaths};
use protocol::error::{Error, Result, exit};

/// Roles that exist in every default setup: following one of them before its agent has written
/// anything waits instead of failing.
const DEFAULT_ROLES: [&str; 3] = ["architect", "principal-engineer", "code-reviewer"];

/// How often `-f` looks for new output.
const POLL: Duration = Duration::from_millis(250);

pub(super) fn run(ctx: &Ctx, args: LogsArgs) -> Result<u8> {
    let loaded = ctx.load_config()?;
    let project = ProjectPaths::new(&ctx.project_dir, &loaded.config);
    let id = sessions::select(&project, args.session.as_deref())?.id;
    let session = project.session(&id);
    let file = Transcript::of(args.raw);
    let with_transcript = roles_with_transcripts(&session, file)?;

    let roles = match &args.role {
        Some(role) => {
            let known = with_transcript.contains(role)
                || session.agent_dir(role).is_dir()
                || loaded.config.roles.contains_key(role)
                || DEFAULT_ROLES.contains(&role.as_str());
            let waitable = args.follow && known;
            if !(with_transcript.contains(role) || waitable) {
                return Err(unknown_role(role, &id, &with_transcript, known));
            }
            vec![role.clone()]
        }
        None => with_transcript,
    };
    if roles.is_empty() && !args.follow {
        eprintln!(
            "session {id} has no transcripts yet (agents write {} when they start)",
            file.path(&session, "<role>").display()
        );
        return Ok(exit::SUCCESS);
    }
    if args.follow {
        for r in roles.iter().filter(|r| !file.path(&session, r).exists()) {
            eprintln!("waiting for {} ...", file.path(&session, r).display());
        }
    }

    let prefixed = args.role.is_none();
    let color = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let mut out = std::io::stdout().lock();
    let mut tails: Vec<Tail> = roles
        .iter()
        .map(|r| Tail::new(r, file.path(&session, r)))
        .collect();
    let result = (|| -> std::io::Result<()> {
        for (i, t) in tails.iter_mut().enumerate() {
            let p = prefixed.then(|| prefix(&t.role, i, color));
            t.pump(&mut out, p.as_deref(), !args.follow)?;
        }
        out.flush()?;
        if !args.follow {
            return Ok(());
        }
        loop {
            std::thread::sleep(POLL);
            if prefixed {
                // Agents that start later get their transcript followed too.
                for r in roles_with_transcripts(&session, file).unwrap_or_default() {
                    if !tails.iter().any(|t| t.role == r) {
                        let path = file.path(&session, &r);
                        tails.push(Tail::new(&r, path));
                    }
                }
            }
            for (i, t) in tails.iter_mut().enumerate() {
                let p = prefixed.then(|| prefix(&t.role, i, color));
                t.pump(&mut out, p.as_deref(), false)?;
            }
            out.flush()?;
        }
    })();
    match result {
        Ok(()) => Ok(exit::SUCCESS),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(exit::SUCCESS),
        Err(e) => Err(Error::Other(format!("cannot show the transcripts: {e}"))),
    }
}

fn unknown_role(role: &str, id: &str, with_transcript: &[String], known: bool) -> Error {
    let have = if with_transcript.is_empty() {
        "none yet".to_string()
    } else {
        with_transcript.join(", ")
    };
    let hint = if known {
        format!("; `agentmux logs {role} -f` waits for it")
    } else {
        String::new()
    };
    Error::Usage(format!(
        "no transcript for role `{role}` in session {id} (roles with transcripts: {have}){hint}"
    ))
}

/// `[role] `, coloured per role on a terminal.
fn prefix(role: &str, index: usize, color: bool) -> String {
    const COLORS: [u8; 6] = [36, 33, 35, 32, 34, 31];
    if color {
        format!("\x1b[{}m[{role}]\x1b[0m ", COLORS[index % COLORS.len()])
    } else {
        format!("[{role}] ")
    }
}

/// Reading one transcript from where the last read stopped.
struct Tail {
    role: String,
    path: PathBuf,
    offset: u64,
    /// The start of a line whose end has not been written yet (prefixed mode only).
    partial: Vec<u8>,
}

impl Tail {
    fn new(role: &str, path: PathBuf) -> Self {
        Tail {
            role: role.to_string(),
            path,
            offset: 0,
            partial: Vec::new(),
        }
    }

    /// Writes what was appended since the last call. With a prefix, only whole lines are written
    /// (unless `finish`, which also ends a last unterminated line).
    fn pump(
        &mut self,
        out: &mut impl Write,
        prefix: Option<&str>,
        finish: bool,
    ) -> std::io::Result<()> {
        let len = match std::fs::metadata(&self.path) {
            Ok(m) => m.len(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e),
        };
        if len < self.offset {
            // Truncated or replaced: start again from the top.
            self.offset = 0;
            self.partial.clear();
        }
        if len > self.offset {
            let mut f = File::open(&self.path)?;
            f.seek(SeekFrom::Start(self.offset))?;
            let mut reader = BufReader::new(f.take(len - self.offset));
            match prefix {
                None => {
                    self.offset += std::io::copy(&mut reader, out)?;
                }
                Some(p) => loop {
                    let n = reader.read_until(b'\n', &mut self.partial)?;
                    if n == 0 {
                        break;
                    }
                    self.offset += n as u64;
                    if self.partial.ends_with(b"\n") {
                        out.write_all(p.as_bytes())?;
                        out.write_all(&self.partial)?;
                        self.partial.clear();
                    }
                },
            }
        }
        if finish && !self.partial.is_empty() {
            out.write_all(prefix.unwrap_or_default().as_bytes())?;
            out.write_all(&self.partial)?;
            out.write_all(b"\n")?;
            self.partial.clear();
        }
        Ok(())
    }
}

/// Which of an agent's logs is shown.
#[derive(Clone, Copy, Debug)]
enum Transcript {
    /// What the pane showed, without colour.
    Readable,
    /// The model's replies as they came.
    Raw,
}

impl Transcript {
    fn of(raw: bool) -> Self {
        if raw {
            Transcript::Raw
        } else {
            Transcript::Readable
        }
    }

    fn path(self, session: &SessionPaths, role: &str) -> PathBuf {
        match self {
            Transcript::Readable => session.transcript(role),
            Transcript::Raw => session.raw_transcript(role),
        }
    }
}

/// Roles with a transcript file in the session, sorted by name.
fn roles_with_transcripts(session: &SessionPaths, file: Transcript) -> Result<Vec<String>> {
    let agents = session.dir.join("agents");
    let entries = match std::fs::read_dir(&agents) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io(&agents, e)),
    };
    let mut roles: Vec<String> = entries
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|r| file.path(session, r).is_file())
        .collect();
    roles.sort();
    Ok(roles)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixed_pump_writes_whole_lines_and_resumes_where_it_stopped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.log");
        std::fs::write(&path, "one\ntw").unwrap();
        let mut t = Tail::new("a", path.clone());
        let mut out = Vec::new();
        t.pump(&mut out, Some("[a] "), false).unwrap();
        assert_eq!(String::from_utf8_lossy(&out), "[a] one\n");
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        f.write_all(b"o\nthree").unwrap();
        t.pump(&mut out, Some("[a] "), true).unwrap();
        assert_eq!(
            String::from_utf8_lossy(&out),
            "[a] one\n[a] two\n[a] three\n"
        );
        // Truncation starts over.
        std::fs::write(&path, "new\n").unwrap();
        t.pump(&mut out, Some("[a] "), false).unwrap();
        assert!(String::from_utf8_lossy(&out).ends_with("[a] three\n[a] new\n"));
    }

    #[test]
    fn raw_pump_copies_bytes_as_they_are() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.log");
        std::fs::write(&path, b"\x1b[1mhead\x1b[0m\npartial").unwrap();
        let mut t = Tail::new("a", path);
        let mut out = Vec::new();
        t.pump(&mut out, None, false).unwrap();
        assert_eq!(out, b"\x1b[1mhead\x1b[0m\npartial");
    }
}
