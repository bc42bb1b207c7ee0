#!/usr/bin/env bash
# Installs the coding-agent CLIs that agentmux can run a role on (backend: claude | codex |
# gemini), pinned, into a private npm prefix so nothing global changes. Idempotent: a CLI whose
# pinned version is already installed is skipped.
#
# Layout under ${AGENTMUX_HOME:-~/.local/share/agentmux}:
#   npm/node_modules/...        the packages
#   bin/claude, bin/codex, bin/gemini   symlinks to npm/node_modules/.bin/*
# Put "$AGENTMUX_HOME/bin" on PATH (the tests look there too).
set -euo pipefail

# The versions agentmux was verified against (README, "Backends").
PACKAGES=(
  "@anthropic-ai/claude-code@2.1.332:claude"
  "@openai/codex@0.171.0:codex"
  "@google/gemini-cli@0.61.0:gemini"
)

home="${AGENTMUX_HOME:-$HOME/.local/share/agentmux}"
prefix="$home/npm"
mkdir -p "$prefix" "$home/bin"

log() { printf 'install-agent-clis: %s\n' "$*" >&2; }
die() { printf 'install-agent-clis: error: %s\n' "$*" >&2; exit 1; }

command -v npm >/dev/null || die "npm is needed (apt-get install npm, or Node.js 20+ from nodejs.org)"

installed_version() { # package
  local manifest="$prefix/node_modules/$1/package.json"
  [[ -f "$manifest" ]] || return 0
  node -e 'process.stdout.write(require(process.argv[1]).version)' "$manifest" 2>/dev/null || true
}

missing=()
for entry in "${PACKAGES[@]}"; do
  spec=${entry%%:*}
  package=${spec%@*}
  version=${spec##*@}
  if [[ "$(installed_version "$package")" == "$version" ]]; then
    log "present: $spec"
  else
    missing+=("$spec")
  fi
done

if ((${#missing[@]})); then
  log "installing ${missing[*]}"
  npm install --prefix "$prefix" --no-audit --no-fund --loglevel=error --save-exact "${missing[@]}" \
    || die "npm could not install ${missing[*]}; check access to https://registry.npmjs.org"
fi

for entry in "${PACKAGES[@]}"; do
  bin=${entry##*:}
  [[ -x "$prefix/node_modules/.bin/$bin" ]] || die "$bin is missing from $prefix/node_modules/.bin after the install"
  ln -sfn "$prefix/node_modules/.bin/$bin" "$home/bin/$bin"
  log "$bin: $("$home/bin/$bin" --version 2>/dev/null | head -n1)"
done
