#!/usr/bin/env bash
# Measures the repository index (crates/repo) on a large repository: 12,000 .rs files copied from
# the cargo registry's sources (topped up with generated Python if there are fewer), built
# optimised. Prints, with wall and CPU time and peak resident memory (VmHWM of a fresh process
# per phase): the build without a cache, the first context pack (it builds the BM25 postings),
# the update after one file changed, the update with nothing changed, and a build under the
# default limits.
#
# Usage: scripts/bench-index.sh [FILES]   (FILES defaults to 12000)
# AGENTMUX_BENCH_SOURCE=DIR copies the .rs files of DIR instead of the cargo registry's.
set -euo pipefail
cd "$(dirname "$0")/.."

case "${1:-}" in
  -h|--help) sed -n 2,10p "$0"; exit 0 ;;
esac
export AGENTMUX_BENCH_FILES="${1:-12000}"
nice -n 19 cargo test --release -p agentmux-repo --test bench_index -j 1 -- \
  --ignored --exact bench_index_on_a_large_repository --nocapture --test-threads=1 2>&1 |
  grep -v '^running\|^test result\|^$'
