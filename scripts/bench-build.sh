#!/usr/bin/env bash
# Build times of agentmux, measured on a fresh clone so nothing is cached but the downloaded
# crates: a clean release build, a clean debug build of the tests, and the incremental test
# rebuild after one supervisor file changes (a line appended to src/supervisor/run.rs, three
# times). Writes the figures between the build markers of BENCHMARKS.md (bench.sh keeps them).
#
#   bash scripts/bench-build.sh [REV]      # default: HEAD
#
# Run it on an idle machine: it measures wall time.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
rev=$(git rev-parse --short "${1:-HEAD}")
tmp=$(mktemp -d)
# BENCH_BUILD_KEEP=1 keeps the clone and its builds (e.g. to try `cargo install` on them).
[[ -n ${BENCH_BUILD_KEEP:-} ]] || trap 'rm -rf "$tmp"' EXIT
git clone -q "$root" "$tmp/src"
cd "$tmp/src"
git checkout -q "$rev"
cargo fetch --locked >/dev/null 2>&1

secs() { # runs "$@" and prints its wall time in seconds
  local t0 t1
  t0=$(date +%s.%N)
  "$@" >/dev/null 2>&1
  t1=$(date +%s.%N)
  awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }'
}

tests=(cargo test --workspace --locked --lib --bins --tests --no-run)
release=$(secs cargo build --release --locked)
size=$(stat -c %s target/release/agentmux)
debug=$(secs "${tests[@]}")
inc=()
for i in 1 2 3; do
  echo "// bench-build: edit $i" >>src/supervisor/run.rs
  inc+=("$(secs "${tests[@]}")")
done
load=$(cut -d' ' -f1-3 /proc/loadavg)

block=$(
  cat <<MD
<!-- build:begin (scripts/bench-build.sh) -->
## Build times

Measured by \`scripts/bench-build.sh\` on $(date -u +%Y-%m-%dT%H:%M:%SZ) at commit $rev, on a fresh clone
($(nproc) cores, load average at the end: $load; crates already downloaded).

| build | wall time |
|---|---|
| clean release build (\`cargo build --release --locked\`) | ${release} s (binary $((size / 1024)) KiB) |
| clean debug build of the tests (\`${tests[*]}\`) | ${debug} s |
| incremental test rebuild after a line is added to \`src/supervisor/run.rs\` | ${inc[0]} s, ${inc[1]} s, ${inc[2]} s |
MD
)
out="$root/BENCHMARKS.md"
if grep -q '<!-- build:begin' "$out"; then
  python3 - "$out" "$block" <<'PY'
import re, sys
path, block = sys.argv[1], sys.argv[2]
text = open(path).read()
text = re.sub(r'<!-- build:begin.*?<!-- build:end -->', lambda m: block + '\n<!-- build:end -->', text, flags=re.S)
open(path, 'w').write(text)
PY
else
  printf '\n%s\n<!-- build:end -->\n' "$block" >>"$out"
fi
echo "$block"
[[ -z ${BENCH_BUILD_KEEP:-} ]] || echo "kept: $tmp/src" >&2
