#!/usr/bin/env bash
# The test suite: unit tests and the integration binary (CLI, config, tmux on private servers,
# the fake OpenAI server), then the tests against the real local model on their own so that the
# model has the CPU (they skip, saying so, when the runtime is not installed; CI requires them).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --workspace --locked --lib --bins --tests -- --skip suite::local_ "$@"
cargo test --locked --test all suite::local_ -- --test-threads=1 "$@"
