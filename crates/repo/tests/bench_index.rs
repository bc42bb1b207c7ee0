//! The index on a large repository: build time, peak memory and the incremental update after one
//! file changes. Ignored by default; `scripts/bench-index.sh` runs it optimised and prints the
//! figures BENCHMARKS.md quotes. Each phase runs in a process of its own (this test binary again,
//! running `bench_phase`), so its peak resident memory is its own and not the allocator's
//! leftovers from an earlier phase.
//!
//! The repository is real code: `.rs` files copied from the cargo registry's sources (every
//! developer machine has them), topped up with generated Python modules if there are too few.
//! `AGENTMUX_BENCH_FILES` sets the file count (default 12,000), `AGENTMUX_BENCH_SOURCE` the
//! directory to copy from.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use repo::index::Index;
use repo::{IndexLimits, Policy, Repo};

/// Resident-memory high-water mark of this process, in MiB (Linux).
fn peak_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kb: f64 = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0);
    kb / 1024.0
}

/// CPU time of this thread (user + system), in seconds: on a machine shared with other work,
/// wall time alone overstates the cost. `/proc` counts in USER_HZ, 100 a second on Linux.
fn cpu_secs() -> f64 {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").unwrap_or_default();
    let after = stat.rsplit_once(')').map(|(_, a)| a).unwrap_or("");
    let fields: Vec<f64> = after
        .split_whitespace()
        .map(|f| f.parse().unwrap_or(0.0))
        .collect();
    (fields.get(11).unwrap_or(&0.0) + fields.get(12).unwrap_or(&0.0)) / 100.0
}

/// Wall and CPU seconds of `f`.
fn timed<T>(f: impl FnOnce() -> T) -> (T, String) {
    let (wall, cpu) = (Instant::now(), cpu_secs());
    let out = f();
    let text = format!(
        "{:.2} s (CPU {:.2} s)",
        wall.elapsed().as_secs_f64(),
        cpu_secs() - cpu
    );
    (out, text)
}

fn source_dir() -> Option<PathBuf> {
    if let Ok(dir) = std::env::var("AGENTMUX_BENCH_SOURCE") {
        return Some(PathBuf::from(dir));
    }
    let home = std::env::var("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|_| std::env::var("HOME").map(|h| PathBuf::from(h).join(".cargo")))
        .ok()?;
    Some(home.join("registry/src"))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = entries.flatten().collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let Ok(kind) = e.file_type() else { continue };
        if kind.is_dir() {
            rust_files(&e.path(), out);
        } else if kind.is_file() && e.path().extension().is_some_and(|x| x == "rs") {
            out.push(e.path());
        }
    }
}

/// Fills `root` with `count` source files; returns their total size.
fn make_repository(root: &Path, count: usize) -> (u64, usize) {
    let mut sources = Vec::new();
    if let Some(src) = source_dir() {
        rust_files(&src, &mut sources);
    }
    let source_root = source_dir().unwrap_or_default();
    let mut bytes = 0;
    let copied = sources.len().min(count);
    for path in sources.iter().take(count) {
        let rel = path.strip_prefix(&source_root).unwrap();
        let target = root.join(rel);
        std::fs::create_dir_all(target.parent().unwrap()).unwrap();
        bytes += std::fs::copy(path, &target).unwrap();
    }
    for i in copied..count {
        let mut text = format!("\"\"\"Generated module {i}.\"\"\"\n\nimport math\n\n");
        for j in 0..20 {
            text.push_str(&format!(
                "def compute_{i}_{j}(value, factor={j}):\n    \"\"\"Scales value by factor {j}.\"\"\"\n    return math.ceil(value * factor / {})\n\n\n",
                i % 97 + 1
            ));
        }
        let target = root.join(format!("generated/pkg_{}/module_{i}.py", i / 500));
        std::fs::create_dir_all(target.parent().unwrap()).unwrap();
        std::fs::write(&target, &text).unwrap();
        bytes += text.len() as u64;
    }
    (bytes, copied)
}

fn bench_policy() -> Policy {
    // Limits raised so that every file is indexed: this measures the whole repository.
    Policy {
        index: IndexLimits {
            max_files: 1_000_000,
            max_total_bytes: 4 << 30,
            time_budget: std::time::Duration::from_secs(3600),
            ..IndexLimits::default()
        },
        ..Policy::default()
    }
}

/// Runs `phase` in a fresh process over the repository in `dir` and prints what it printed.
fn run_phase(phase: &str, dir: &Path) {
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "--ignored",
            "--exact",
            "bench_phase",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("AGENTMUX_BENCH_PHASE", phase)
        .env("AGENTMUX_BENCH_DIR", dir)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    // libtest prints `test bench_phase ... ` before the first line, so look inside lines.
    for line in stdout
        .lines()
        .filter_map(|l| l.split_once("bench: ").map(|(_, rest)| rest))
    {
        println!("{line}");
    }
    assert!(
        out.status.success(),
        "phase {phase} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
#[ignore = "a benchmark: run scripts/bench-index.sh"]
fn bench_index_on_a_large_repository() {
    let count: usize = std::env::var("AGENTMUX_BENCH_FILES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(12_000);
    let dir = tempfile::tempdir().unwrap();
    let (bytes, copied) = make_repository(&dir.path().join("project"), count);
    println!(
        "repository: {count} files ({copied} .rs from the cargo registry, {} generated .py), {:.1} MiB",
        count - copied,
        bytes as f64 / 1048576.0
    );
    run_phase("build", dir.path());
    run_phase("pack", dir.path());
    run_phase("update", dir.path());
    run_phase("unchanged", dir.path());
    run_phase("default-limits", dir.path());
}

/// One phase, when run by [`run_phase`]; nothing otherwise.
#[test]
#[ignore = "a phase of bench_index_on_a_large_repository"]
fn bench_phase() {
    let (Ok(phase), Ok(dir)) = (
        std::env::var("AGENTMUX_BENCH_PHASE"),
        std::env::var("AGENTMUX_BENCH_DIR"),
    ) else {
        return;
    };
    let dir = PathBuf::from(dir);
    let (root, cache) = (dir.join("project"), dir.join("cache"));
    let repo = Repo::open(&root, bench_policy()).unwrap();
    let before = peak_mib();
    match phase.as_str() {
        "build" => {
            let ((_index, stats), t) = timed(|| Index::build_or_update(&repo, &cache).unwrap());
            println!(
                "bench: build, no cache: {t}, peak RSS {:.0} MiB (at start {before:.0} MiB)",
                peak_mib()
            );
            println!("bench:   {stats}");
            assert_eq!(stats.rechunked.len(), stats.files);
        }
        "pack" => {
            let ((index, stats), load) = timed(|| Index::build_or_update(&repo, &cache).unwrap());
            assert!(stats.rechunked.is_empty(), "{stats}");
            let (pack, first) = timed(|| {
                index.pack(
                    "incremental parser for configuration files: read a token stream, report errors with line numbers",
                    8_000,
                )
            });
            let (again, next) =
                timed(|| index.pack("hash map with open addressing and a custom hasher", 8_000));
            println!(
                "bench: load from the cache {load}; first pack (builds the BM25 postings) {first}; next pack {next}; peak RSS {:.0} MiB",
                peak_mib()
            );
            println!(
                "bench:   {} and {} excerpts, {} and {} tokens (budget 8000)",
                pack.excerpts.len(),
                again.excerpts.len(),
                pack.tokens(),
                again.tokens()
            );
        }
        "update" => {
            let changed = repo
                .files()
                .into_iter()
                .nth(repo.files().len() / 2)
                .unwrap()
                .path;
            let path = root.join(&changed);
            let mut text = std::fs::read_to_string(&path).unwrap();
            text.push_str("\n// changed for the benchmark\nfn benchmark_marker() {}\n");
            std::fs::write(&path, text).unwrap();
            let ((_index, stats), t) = timed(|| Index::build_or_update(&repo, &cache).unwrap());
            println!(
                "bench: update after one file changed: {t}, peak RSS {:.0} MiB",
                peak_mib()
            );
            println!("bench:   {stats}");
            assert_eq!(stats.rechunked, [changed]);
        }
        "unchanged" => {
            let ((_index, stats), t) = timed(|| Index::build_or_update(&repo, &cache).unwrap());
            println!(
                "bench: update, nothing changed: {t}, peak RSS {:.0} MiB",
                peak_mib()
            );
            assert!(stats.rechunked.is_empty());
        }
        "default-limits" => {
            let bounded = Repo::open(&root, Policy::default()).unwrap();
            let ((_index, stats), t) =
                timed(|| Index::build_or_update(&bounded, &dir.join("cache-default")).unwrap());
            println!(
                "bench: build with the default limits, no cache: {t}, peak RSS {:.0} MiB",
                peak_mib()
            );
            println!("bench:   {stats}");
        }
        other => panic!("unknown phase {other}"),
    }
}
