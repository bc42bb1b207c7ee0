#!/usr/bin/env bash
# Measures the HTML report of a six-design-document session on the fake model (plus the PRD,
# options, proposal and plan): its size, and the time headless Chromium takes to load it and
# draw every Mermaid diagram (median of 5 runs of `chromium --headless --dump-dom` with a virtual
# time budget, which ends when the page is idle; "render" is that minus the same for a blank
# page, i.e. without the browser's start-up), and the page's own clock (performance.now, from
# navigation start) when its first screen was drawn and when every diagram was. Prints the figures for BENCHMARKS.md's report
# section, and writes that section (between its `report` markers; scripts/bench.sh keeps it when
# it rewrites the file). Needs `chromium` (apt-get install chromium). Nothing is asserted about
# time.
#
# Usage: scripts/bench-report.sh
set -euo pipefail
cd "$(dirname "$0")/.."
command -v chromium >/dev/null || { echo "chromium is not installed: apt-get install chromium" >&2; exit 2; }
out=$(nice -n 19 cargo test -j 1 --locked --test all bench_report -- --include-ignored --nocapture --test-threads 1 2>&1) \
  || { echo "$out" >&2; exit 1; }
line=$(grep -o 'REPORT-BENCH .*' <<<"$out" | sed 's/^REPORT-BENCH //')
echo "$line"
field() { grep -o "$1=[0-9]*" <<<"$line" | cut -d= -f2; }
bytes=$(field bytes)
block=$(cat <<BLOCK
<!-- report:begin (written by scripts/bench-report.sh) -->
## HTML report (\`agentmux report\`)

The report of a session with six design documents (plus the PRD, options, proposal and plan:
$(field documents) documents, $(field diagrams) Mermaid diagrams) on the fake model, opened with
\`chromium --headless --dump-dom\` and a virtual-time budget (the run ends once the page is idle,
every diagram drawn); median of 5 runs, against the same for a blank page (the browser's start).
Measured $(date -u +%Y-%m-%dT%H:%M:%SZ), commit $(git rev-parse --short HEAD), $(chromium --version 2>/dev/null | head -1),
$(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg).

| figure | measured | target |
|---|---|---|
| file size | $((bytes / 1024)) KiB ($bytes bytes; the embedded Mermaid 11 build is 3,489 KiB of it) | < 5 MB |
| the page rendered: text laid out, the first screen's diagrams drawn (the page's clock, from navigation start) | $(field first_screen_ms) ms | < 3 s |
| every diagram drawn (the page's clock; after the first screen, one diagram at a time, the page scrollable) | $(field all_drawn_ms) ms | < 3 s |
| whole \`chromium\` run on the report minus a blank page's | $(field render_ms) ms | |
| whole \`chromium\` run on the report / on a blank page | $(field chromium_ms) ms / $(field blank_ms) ms | |

\`\`\`sh
scripts/bench-report.sh   # cargo test --test all bench_report -- --include-ignored --nocapture
\`\`\`
<!-- report:end -->
BLOCK
)
out=BENCHMARKS.md
if grep -q '<!-- report:begin' "$out"; then
  python3 - "$out" "$block" <<'PY'
import re, sys
path, block = sys.argv[1], sys.argv[2]
text = open(path).read()
text = re.sub(r"<!-- report:begin.*?<!-- report:end -->", lambda _: block, text, flags=re.S)
open(path, "w").write(text)
PY
else
  printf '\n%s\n' "$block" >>"$out"
fi
echo "wrote the report section of $out" >&2
