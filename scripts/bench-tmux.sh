#!/usr/bin/env bash
# Benchmarks the tmux layer and the file transport on a private tmux server:
#   - session start: open_session with 4 panes until the panes exist / every agent process runs;
#   - dispatch latency: task file written -> the agent's request reaches a zero-latency fake server;
#   - delivery latency: result file written -> a DirWatcher on results/ reports it;
#   - a burst of tasks over three agents.
# Prints p50/p99. Nothing is asserted about time.
#
# Usage: scripts/bench-tmux.sh [--release]
#   BENCH_TASKS=200 (tasks per phase)  BENCH_STARTS=5 (session starts)
set -euo pipefail
cd "$(dirname "$0")/.."
profile=()
if [[ "${1:-}" == "--release" ]]; then
  profile=(--release)
fi
command -v tmux >/dev/null || { echo "tmux is not installed" >&2; exit 2; }
echo "tmux: $(tmux -V); cpus: $(nproc 2>/dev/null || echo ?); tasks: ${BENCH_TASKS:-200}; starts: ${BENCH_STARTS:-5}"
exec cargo test "${profile[@]}" --test all bench_tmux_start_and_transport_latency -- --ignored --nocapture --test-threads 1
