#!/usr/bin/env bash
# Benchmarks the LLM client's overhead per call against the fake OpenAI server (zero latency),
# next to a bare reqwest request reading the same stream, and reports RSS.
# Usage: scripts/bench-llm.sh [CALLS]   (default 2000; release build)
set -euo pipefail
cd "$(dirname "$0")/.."
BENCH_CALLS="${1:-2000}" exec cargo bench -p agentmux-llm --bench llm_client
