//! Reliability, short versions for CI: random model faults, SIGKILL at random moments, bad inputs,
//! a full disk, and the API key kept out of files, logs and argv. Each run is a real session in a
//! private tmux server against the fake model server; nothing here asserts anything about time.

use std::path::Path;
use std::time::Duration;

use test_support::wait::{wait_for, wait_for_exit};

use super::support::design_team::{Script, responder};
use super::support::fake_openai::{FakeOpenAi, Fault, RandomFaults};
use super::support::{AgentmuxCmd as _, Project, Rig, TmuxServer, agentmux_on, repeated_requests};

const GOAL: &str = "A team link shortener with click statistics";
const JOURNEY: &str = "Alice shortens a URL, shares it, and reads the clicks on Friday";

fn start(rig: &Rig) {
    rig.cmd()
        .args(["start", "--detach", "--goal", GOAL, "--journey", JOURNEY])
        .assert()
        .success();
}

/// The manifest's documents exist and `agentmux validate` accepts the whole output.
fn assert_valid_deliverables(rig: &Rig) {
    let manifest: serde_json::Value =
        serde_json::from_str(&rig.read(".agentmux/specs/manifest.json")).unwrap();
    let docs = manifest["selected_docs"].as_array().unwrap();
    assert!(!docs.is_empty(), "{manifest}");
    for d in docs {
        let d = d.as_str().unwrap();
        assert!(!rig.read(&format!(".agentmux/specs/{d}")).trim().is_empty());
    }
    let v = rig.cmd().arg("validate").output().unwrap();
    assert!(
        v.status.success(),
        "validate: {}{}",
        String::from_utf8_lossy(&v.stdout),
        String::from_utf8_lossy(&v.stderr)
    );
}

/// Every line of the journal is JSON (a crash must never leave a torn record behind).
fn assert_journal_parses(session_dir: &Path) {
    let text = std::fs::read_to_string(session_dir.join("journal.jsonl")).unwrap_or_default();
    for (i, line) in text.lines().enumerate() {
        assert!(
            serde_json::from_str::<serde_json::Value>(line).is_ok(),
            "journal line {} is not JSON: {line:?}",
            i + 1
        );
    }
}

/// No file under `dir` mentions a panic.
fn assert_no_panic_in(dir: &Path) {
    for f in files_under(dir) {
        if let Ok(text) = std::fs::read(&f) {
            let text = String::from_utf8_lossy(&text);
            assert!(
                !text.contains("panicked at"),
                "{} shows a panic",
                f.display()
            );
        }
    }
}

fn files_under(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.filter_map(|e| e.ok()) {
            let p = e.path();
            match e.file_type() {
                Ok(t) if t.is_dir() => stack.push(p),
                Ok(t) if t.is_file() => out.push(p),
                _ => {}
            }
        }
    }
    out
}

/// xorshift64: deterministic pseudo-random numbers for a seed.
fn next(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

// ---------------------------------------------------------------------------------------------
// Faults
// ---------------------------------------------------------------------------------------------

#[test]
fn a_session_completes_through_random_5xx_429_dropped_streams_and_a_hang() {
    let rig = Rig::new(
        Script::default(),
        "  timeouts:\n    first_token_secs: 2\n    idle_secs: 2\n  retries:\n    max_retries: 10\n    initial_backoff_ms: 20\n    max_backoff_ms: 200\nworkflow:\n  review_rounds: 2\n",
    );
    rig.server.push_fault(Fault::Hang);
    rig.server.set_random_faults(Some(RandomFaults {
        pct_5xx: 15,
        pct_429: 10,
        pct_drop: 10,
        retry_after_secs: 1,
        seed: 0x5eed_1234,
    }));
    start(&rig);
    let (code, out) = rig.wait(300);
    assert_eq!(code, 0, "{out}");
    let injected = rig.server.injected_faults();
    assert!(injected.contains(&Fault::Hang), "{injected:?}");
    for kind in ["5xx", "429", "drop"] {
        assert!(
            injected.iter().any(|f| matches!(
                (kind, f),
                ("5xx", Fault::Status { .. })
                    | ("429", Fault::RateLimited { .. })
                    | ("drop", Fault::DropMidStream { .. })
            )),
            "no {kind} fault was injected: {injected:?}"
        );
    }
    assert_valid_deliverables(&rig);
    assert_journal_parses(&rig.session_dir());
    assert_no_panic_in(&rig.session_dir());
}

// ---------------------------------------------------------------------------------------------
// Kill soak
// ---------------------------------------------------------------------------------------------

/// One session killed with SIGKILL (the supervisor) after a pseudo-random delay, then resumed.
fn killed_and_resumed(seed: u64) {
    let rig = Rig::new(Script::default(), "workflow:\n  review_rounds: 2\n");
    rig.server
        .configure(|s| s.latency = Duration::from_millis(150));
    start(&rig);
    let mut state = seed;
    let kills = 1 + next(&mut state) % 2;
    for _ in 0..kills {
        rig.wait_journal(60, "the first dispatch", |j| {
            j.iter().any(|e| e["type"] == "task_dispatched")
        });
        let delay = Duration::from_millis(next(&mut state) % 3000);
        std::thread::sleep(delay);
        if rig.journal().iter().any(|e| e["type"] == "completed") {
            break;
        }
        let pid = rig.lock_holder_pid().expect("a supervisor holds the lock");
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGKILL,
        );
        wait_for_exit(pid as u32, Duration::from_secs(30));
        rig.cmd().args(["resume", "--detach"]).assert().success();
    }
    let (code, out) = rig.wait(180);
    assert_eq!(code, 0, "seed {seed}: {out}");
    assert_valid_deliverables(&rig);
    assert_journal_parses(&rig.session_dir());
    assert_eq!(
        repeated_requests(&rig.server),
        0,
        "seed {seed}: an answered request was sent again"
    );
}

#[test]
fn sessions_killed_at_random_moments_and_resumed_all_complete() {
    let seeds: Vec<u64> = std::env::var("AGENTMUX_SOAK_SEEDS")
        .ok()
        .map(|s| s.split(',').filter_map(|x| x.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![0x9e37_79b9, 0x1234_5678, 0xdead_beef]);
    std::thread::scope(|s| {
        let handles: Vec<_> = seeds
            .iter()
            .map(|&seed| s.spawn(move || killed_and_resumed(seed)))
            .collect();
        for h in handles {
            if let Err(e) = h.join() {
                std::panic::resume_unwind(e);
            }
        }
    });
}

// ---------------------------------------------------------------------------------------------
// Bad inputs
// ---------------------------------------------------------------------------------------------

/// `start --prd FILE` on a project with a config: exit 2, the message names the file and the
/// fix, no panic, no session created, the config untouched.
fn refused_prd(bytes: &[u8], fix: &str) {
    let rig = Rig::new(Script::default(), "");
    let prd = rig.project.path().join("PRD.md");
    std::fs::write(&prd, bytes).unwrap();
    let config_before = rig.read(".agentmux/config.yaml");
    let out = rig
        .cmd()
        .args(["start", "--detach", "--prd", "PRD.md"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("PRD.md"), "names the file: {stderr}");
    assert!(stderr.contains(fix), "says `{fix}`: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(rig.read(".agentmux/config.yaml"), config_before);
    assert!(rig.tmux.sessions().is_empty());
    let sessions = rig.project.path().join(".agentmux/sessions");
    let n = std::fs::read_dir(&sessions)
        .map(|rd| rd.count())
        .unwrap_or(0);
    assert_eq!(n, 0, "a refused start leaves no session behind");
}

#[test]
fn an_empty_prd_is_refused_with_the_fix() {
    refused_prd(b"", "empty");
    refused_prd(b"  \n\n\t\n", "empty");
}

#[test]
fn a_5_mb_prd_is_refused_with_the_fix() {
    let big = "The service shortens links and counts clicks.\n".repeat(5 * 1024 * 1024 / 46);
    refused_prd(big.as_bytes(), "2 MiB");
}

#[test]
fn a_binary_prd_is_refused_with_the_fix() {
    let mut bytes = b"%PDF-1.7\n".to_vec();
    bytes.extend((0..4096u32).map(|i| (i * 31 % 256) as u8));
    refused_prd(&bytes, "convert");
}

#[test]
fn a_non_utf8_prd_is_refused_with_the_fix() {
    // Latin-1: "Café für Größe".
    refused_prd(b"# Caf\xe9 f\xfcr Gr\xf6\xdfe\n\nRequirements.\n", "iconv");
}

#[test]
fn a_broken_config_is_a_clear_error_naming_the_file() {
    for (text, needle) in [
        ("llm:\n  base_url: [unclosed\n", "config.yaml"),
        ("llm:\n  no_such_key: 1\n", "no_such_key"),
        ("workflow:\n  review_rounds: many\n", "review_rounds"),
        ("\u{0}\u{1}binary", "config.yaml"),
    ] {
        let p = Project::new();
        p.write(".agentmux/config.yaml", text);
        let out = p
            .cmd()
            .args(["start", "--detach", "--goal", GOAL])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{text:?}: {stderr}");
        assert!(
            stderr.contains(needle),
            "{text:?} names `{needle}`: {stderr}"
        );
        assert!(!stderr.contains("panicked"), "{stderr}");
        assert_eq!(
            std::fs::read_to_string(p.path().join(".agentmux/config.yaml")).unwrap(),
            text,
            "the config is left as it was"
        );
    }
}

/// A `.agentmux/` the process cannot write to. As root (where tests usually run in containers)
/// permissions are not enforced, so a plain file where the `sessions/` directory must be stands in
/// for it: every write below it fails with an I/O error just as a read-only directory would.
#[test]
fn an_unwritable_agentmux_dir_is_a_clear_error() {
    let rig = Rig::new(Script::default(), "");
    let dot = rig.project.path().join(".agentmux");
    // /proc/self belongs to the process's effective user.
    let root = std::os::unix::fs::MetadataExt::uid(&std::fs::metadata("/proc/self").unwrap()) == 0;
    if root {
        std::fs::write(dot.join("sessions"), "not a directory").unwrap();
    } else {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&dot, std::fs::Permissions::from_mode(0o555)).unwrap();
    }
    let out = rig
        .cmd()
        .args(["start", "--detach", "--goal", GOAL])
        .output()
        .unwrap();
    if !root {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&dot, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains(".agentmux"), "names the path: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(rig.tmux.sessions().is_empty(), "no tmux session was left");
    if root {
        assert_eq!(
            std::fs::read_to_string(dot.join("sessions")).unwrap(),
            "not a directory"
        );
    }
}

/// Mounts a tmpfs of `size` at `dir` (root only); None when that is not possible here.
struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    fn mount(size: &str) -> Option<Self> {
        let dir = tempfile::tempdir().ok()?;
        let ok = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false);
        ok.then_some(Self { dir })
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .output();
    }
}

/// Writes into `path` until the file system is full.
fn fill(path: &Path) {
    use std::io::Write;
    let mut f = std::fs::File::create(path).unwrap();
    let block = vec![b'x'; 4096];
    while f.write_all(&block).is_ok() {}
    let _ = f.flush();
}

#[test]
fn a_full_disk_pauses_or_fails_clearly_and_leaves_a_readable_journal() {
    let Some(fs) = Tmpfs::mount("2m") else {
        eprintln!("skipped: cannot mount a tmpfs here (needs root and mount permission)");
        return;
    };
    let server = FakeOpenAi::start(responder(Script::default()));
    server.configure(|s| s.latency = Duration::from_millis(150));
    let project = fs.dir.path().join("project");
    std::fs::create_dir_all(project.join(".agentmux")).unwrap();
    std::fs::write(
        project.join(".agentmux/config.yaml"),
        format!(
            "llm:\n  base_url: {}\n  model: fake-model\n  structured_output: json_schema\n",
            server.url()
        ),
    )
    .unwrap();
    let tmux = TmuxServer::new();
    let cmd = || agentmux_on(&project, &tmux);
    cmd()
        .args(["start", "--detach", "--goal", GOAL, "--journey", JOURNEY])
        .assert()
        .success();
    let sessions = project.join(".agentmux/sessions");
    let session_dir = std::fs::read_dir(&sessions)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    // Fill the disk once the first task is out.
    wait_for(Duration::from_secs(60), "the first dispatch", || {
        std::fs::read_to_string(session_dir.join("journal.jsonl"))
            .ok()
            .filter(|j| j.contains("task_dispatched"))
    });
    let filler = fs.dir.path().join("filler");
    fill(&filler);
    let out = cmd().args(["wait", "--timeout", "60"]).output().unwrap();
    let code = out.status.code();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let status = cmd().args(["status", "--json"]).output().unwrap();
    let status_text = String::from_utf8_lossy(&status.stdout).into_owned();
    let log = std::fs::read_to_string(session_dir.join("logs/supervisor.log")).unwrap_or_default();
    eprintln!(
        "wait exit {code:?}: {said}\nstatus: {status_text}\nsupervisor log tail: {}",
        {
            let lines: Vec<&str> = log.lines().collect();
            lines[lines.len().saturating_sub(15)..].join("\n")
        }
    );
    // The supervisor notices the full disk and pauses (exit 3 from wait) with a reason naming it.
    assert_eq!(code, Some(3), "a full disk pauses the session: {said}");
    assert!(status_text.contains("no space left"), "{status_text}");
    assert!(!said.contains("panicked"), "{said}");
    assert_journal_parses(&session_dir);
    assert_no_panic_in(&session_dir);
    // Free the space: the session resumes and completes.
    std::fs::remove_file(&filler).unwrap();
    // `wait` right after `resume --detach` sees the resumed session, not the old pause.
    cmd().args(["resume", "--detach"]).assert().success();
    let out = cmd().args(["wait", "--timeout", "120"]).output().unwrap();
    assert!(
        out.status.success(),
        "after freeing space: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_journal_parses(&session_dir);
}

/// `start` on a full disk: a clear error naming the cause, and nothing left behind — no session
/// directory for the next `start` to offer to resume, no tmux session.
#[test]
fn start_on_a_full_disk_fails_clearly_and_leaves_no_session() {
    let Some(fs) = Tmpfs::mount("2m") else {
        eprintln!("skipped: cannot mount a tmpfs here (needs root and mount permission)");
        return;
    };
    let project = fs.dir.path().join("project");
    std::fs::create_dir_all(project.join(".agentmux")).unwrap();
    std::fs::write(
        project.join(".agentmux/config.yaml"),
        "llm:\n  base_url: http://127.0.0.1:9/v1\n  model: fake-model\n",
    )
    .unwrap();
    // A project whose digest needs a few pages, then the disk filled but for three pages: the
    // session lock and `runtime.json` (written before the panes open) get theirs, the digest
    // (written while they open) does not, so the tmux session must be closed again.
    let para = "This project does things that need explaining at some length. ".repeat(20);
    std::fs::write(
        project.join("README.md"),
        format!("# A project\n\n{}\n", [para.as_str(); 40].join("\n\n")),
    )
    .unwrap();
    let filler = fs.dir.path().join("filler");
    fill(&filler);
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(&filler)
        .unwrap();
    f.set_len(f.metadata().unwrap().len() - 3 * 4096).unwrap();
    let tmux = TmuxServer::new();
    let out = agentmux_on(&project, &tmux)
        .args(["start", "--detach", "--goal", GOAL, "--journey", JOURNEY])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success(), "{said}");
    assert!(said.contains("No space left"), "{said}");
    // It ran out writing the inputs or the journal, after the panes had begun to open.
    assert!(!said.contains("runtime.json"), "{said}");
    assert!(!said.contains("panicked"), "{said}");
    let left: Vec<_> = std::fs::read_dir(project.join(".agentmux/sessions"))
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "sessions left: {left:?}");
    assert!(
        tmux.sessions().is_empty(),
        "tmux sessions left: {:?}",
        tmux.sessions()
    );
}

// ---------------------------------------------------------------------------------------------
// Secrets
// ---------------------------------------------------------------------------------------------

/// Every process whose argv contains `needle`, as "pid: argv".
fn argv_containing(needle: &[u8]) -> Vec<String> {
    let mut hits = Vec::new();
    let Ok(rd) = std::fs::read_dir("/proc") else {
        return hits;
    };
    for e in rd.filter_map(|e| e.ok()) {
        let name = e.file_name();
        if !name.to_string_lossy().bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        if let Ok(argv) = std::fs::read(e.path().join("cmdline"))
            && argv.windows(needle.len()).any(|w| w == needle)
        {
            hits.push(format!(
                "{}: {}",
                name.to_string_lossy(),
                String::from_utf8_lossy(&argv).replace('\0', " ")
            ));
        }
    }
    hits
}

#[test]
fn the_api_key_is_in_no_file_no_log_and_no_argv() {
    let key = format!("sk-test-{}", uuid::Uuid::new_v4().simple());
    let rig = Rig::new(Script::default(), "workflow:\n  review_rounds: 2\n");
    rig.server
        .configure(|s| s.latency = Duration::from_millis(100));
    let stop = std::sync::atomic::AtomicBool::new(false);
    let (hits, scans) = std::thread::scope(|s| {
        let scanner = s.spawn(|| {
            let mut hits = Vec::new();
            let mut scans = 0usize;
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                hits.extend(argv_containing(key.as_bytes()));
                scans += 1;
                std::thread::sleep(Duration::from_millis(5));
            }
            (hits, scans)
        });
        let out = rig
            .cmd()
            .env("OPENAI_API_KEY", &key)
            .args(["start", "--detach", "--goal", GOAL, "--journey", JOURNEY])
            .output()
            .unwrap();
        let result = if out.status.success() {
            Some(rig.wait(180))
        } else {
            None
        };
        stop.store(true, std::sync::atomic::Ordering::SeqCst);
        let scanned = scanner.join().unwrap();
        assert!(
            out.status.success(),
            "start: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let (code, text) = result.unwrap();
        assert_eq!(code, 0, "{text}");
        scanned
    });
    assert!(scans > 10, "the argv scan ran during the session");
    assert!(hits.is_empty(), "the key is in a process's argv: {hits:?}");
    // The agents did use the key.
    let requests = rig.server.requests();
    assert!(!requests.is_empty());
    assert!(
        requests
            .iter()
            .all(|r| r.authorization.as_deref() == Some(&format!("Bearer {key}"))),
        "every request carries the key"
    );
    let mut leaked = Vec::new();
    for f in files_under(&rig.project.path().join(".agentmux")) {
        let bytes = std::fs::read(&f).unwrap();
        if bytes.windows(key.len()).any(|w| w == key.as_bytes()) {
            leaked.push(f.display().to_string());
        }
    }
    assert!(leaked.is_empty(), "the key is written in {leaked:?}");
    // The tmux pane scrollback is a log too.
    let panes = rig
        .tmux
        .try_tmux(&["list-panes", "-a", "-F", "#{pane_id}"])
        .unwrap_or_default();
    for pane in panes.lines() {
        let screen = rig
            .tmux
            .try_tmux(&["capture-pane", "-p", "-S", "-", "-t", pane])
            .unwrap_or_default();
        assert!(!screen.contains(&key), "pane {pane} shows the key");
    }
}
