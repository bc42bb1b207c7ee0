#!/usr/bin/env bash
# Measures the HTML report of a six-design-document session on the fake model (plus the PRD,
# options, proposal and plan): its size, and the time headless Chromium takes to load it and
# draw every Mermaid diagram (median of 5 runs of `chromium --headless --dump-dom` with a virtual
# time budget, which ends when the page is idle; "render" is that minus the same for a blank
# page, i.e. without the browser's start-up). Prints the figures for BENCHMARKS.md's report
# section. Needs `chromium` (apt-get install chromium). Nothing is asserted about time.
#
# Usage: scripts/bench-report.sh
set -euo pipefail
cd "$(dirname "$0")/.."
command -v chromium >/dev/null || { echo "chromium is not installed: apt-get install chromium" >&2; exit 2; }
out=$(nice -n 19 cargo test -j 1 --locked --test all bench_report -- --include-ignored --nocapture --test-threads 1 2>&1) \
  || { echo "$out" >&2; exit 1; }
line=$(grep -o 'REPORT-BENCH .*' <<<"$out" | sed 's/^REPORT-BENCH //')
echo "$line"
echo "chromium $(chromium --version 2>/dev/null | head -1); $(nproc) cores"
