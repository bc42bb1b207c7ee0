#!/usr/bin/env bash
# The test suite: unit tests, then the integration binary (CLI, config, tmux on private
# servers, fake OpenAI server, and the real local model when installed).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --locked --all-targets "$@"
