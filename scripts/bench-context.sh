#!/usr/bin/env bash
# Measures what prompts carry and how much of it a prefix cache can serve, and (with --local) the
# local demo's wall time, and writes the "Context and prompt caching" block of BENCHMARKS.md
# (scripts/bench.sh keeps that block when it rewrites the file).
#
#   - remote profile: a session on the fake OpenAI server advertising a 128k window and 16k
#     answers, on (a) the readtime project's code and DevBench PRD, (b) the 10k-character ledger
#     PRD in an empty project: per stage, requests, prompt tokens, completion tokens and the prompt
#     tokens OpenAI's automatic prompt caching could serve (a prefix shared with an earlier request
#     of the session, counted from 1,024 tokens in steps of 128);
#   - --local: the README's local demo (`start --goal --journey`, default configuration) on the
#     real local model, timed, with the same table. Run it on an idle machine: a build beside it
#     slows the model several times over.
#
# Usage: scripts/bench-context.sh [--local]
set -euo pipefail
cd "$(dirname "$0")/.."

local_model=0
for a in "$@"; do
  case "$a" in
    --local) local_model=1 ;;
    -h|--help) sed -n 2,16p "$0"; exit 0 ;;
    *) echo "unknown argument: $a (use --local)" >&2; exit 2 ;;
  esac
done
command -v tmux >/dev/null || { echo "tmux is not installed; install tmux 3.x" >&2; exit 2; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cargo test --locked --test all --no-run >/dev/null 2>&1 || cargo test --locked --test all --no-run

cargo test --locked --test all bench_context_remote -- --include-ignored --nocapture --test-threads 1 \
  >"$tmp/remote" 2>&1 || { cat "$tmp/remote" >&2; echo "the remote benchmark failed" >&2; exit 1; }

# The lines between BEGIN and END markers of one benchmark.
# (A marker may follow libtest's "test NAME ... " on the same line.)
section() { awk -v tag="$1" -v name="$2" '
  index($0, tag "-BEGIN") && (name == "" || index($0, tag "-BEGIN " name " ")) { on = 1; next }
  index($0, tag "-END") { on = 0 }
  on' "$3"; }

local_block=""
if [[ $local_model == 1 ]]; then
  echo "running the local demo on the real model (minutes) ..." >&2
  cargo test --locked --test all bench_context_local -- --include-ignored --nocapture --test-threads 1 \
    >"$tmp/local" 2>&1 || { cat "$tmp/local" >&2; echo "the local demo failed" >&2; exit 1; }
  # libtest prints the test's name and " ... " before the test's own first line.
  local_line=$(grep -o 'LOCAL-DEMO .*' "$tmp/local" | sed 's/^LOCAL-DEMO //' || true)
  [[ -n $local_line ]] || { cat "$tmp/local" >&2; echo "no LOCAL-DEMO line in the output" >&2; exit 1; }
  local_block=$(printf '### Local profile: the README demo on SmolLM2-135M (2 cores)\n\n`agentmux start --goal ... --journey ...` with the default configuration (one review round, one design\ndocument on the bundled model), from `start` to the session'"'"'s end: %s. llama-server keeps its prompt\ncache per slot (`cache_prompt`), so the served share below is what an OpenAI-style cache would serve, not\nwhat llama-server reused.\n\n%s\n' \
    "$local_line" "$(section CONTEXT-LOCAL '' "$tmp/local")")
fi

block=$(cat <<EOF
<!-- context:begin (scripts/bench-context.sh) -->
## Context and prompt caching

Measured by \`scripts/bench-context.sh$( [[ $local_model == 1 ]] && echo ' --local')\` on $(date -u +%Y-%m-%dT%H:%M:%SZ) at commit $(git rev-parse --short HEAD)$(git diff --quiet || echo ' (with local changes)').
Tokens are agentmux's estimate (4 characters a token) of the messages as sent. "Served" is what an
automatic prefix cache could serve: for each request, the longest prefix it shares with an earlier
request of the session, counted as OpenAI counts cached prompt tokens (none under 1,024 tokens, then
steps of 128). The fake model answers every review with one critical and one nice-to-have item and
changes no section when it integrates, so its re-reviews share more than a real model's would.

### Remote profile (fake server advertising 128k context, 16k answers): readtime code and PRD

$(section CONTEXT-REMOTE readtime "$tmp/remote")

### Remote profile: the 10k-character ledger PRD, no code

$(section CONTEXT-REMOTE ledger "$tmp/remote")

${local_block}
<!-- context:end -->
EOF
)

out=BENCHMARKS.md
if grep -q '<!-- context:begin' "$out"; then
  BLOCK="$block" awk '
    /<!-- context:begin/ { print ENVIRON["BLOCK"]; skip = 1; next }
    /<!-- context:end -->/ { skip = 0; next }
    !skip' "$out" >"$tmp/out"
else
  BLOCK="$block" awk '
    /<!-- build:begin/ && !done { print ENVIRON["BLOCK"]; print ""; done = 1 }
    { print }
    END { if (!done) { print ""; print ENVIRON["BLOCK"] } }' "$out" >"$tmp/out"
fi
mv "$tmp/out" "$out"
echo "wrote the context block of $out" >&2
