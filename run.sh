#!/usr/bin/env bash
# Install everything into .venv/, fetch and verify the models, then
#   ./run.sh chat   index the bundled articles and start the chat on http://127.0.0.1:7860
#   ./run.sh test   run the linters, the type checker and the test suite (installs Debian's
#                   Chromium first if it is missing: the browser tests drive it)
#   ./run.sh setup  only install and fetch the models (e.g. to build a container image)
# Safe to run again: each step reuses what is already there.
set -euo pipefail
cd "$(dirname "$0")"
mode=${1:-chat}
case $mode in chat | test | setup) ;; *) echo "usage: $0 chat|test|setup" >&2; exit 2 ;; esac

export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 ANONYMIZED_TELEMETRY=False
export PIP_DISABLE_PIP_VERSION_CHECK=1
step() { printf '\n==> %s\n' "$*" >&2; }
# pip's own lines, less the noise (one progress line per package, and every error)
pip_progress() { grep --line-buffered -E '^(Collecting|Installing|Successfully|ERROR|error)|rror:' >&2 || true; }
python=${PYTHON:-$(command -v python3.11 || command -v python3 || true)}
if [ -z "$python" ] || ! "$python" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
    echo "error: Python 3.11 is needed (the pinned wheels, torch 2.13.0 among them, are for 3.11);" \
        "set PYTHON=/path/to/python3.11" >&2
    exit 1
fi

if ! .venv/bin/python -m pip --version >/dev/null 2>&1; then
    step "creating .venv with $python"
    rm -rf .venv
    "$python" -m venv .venv || {
        echo "error: could not create .venv (on Debian: apt-get install python3-venv)" >&2
        exit 1
    }
fi
pip=(.venv/bin/python -m pip)
stamp=".venv/.installed-$(cat requirements.lock pyproject.toml run.sh | sha256sum | cut -c1-16)"
if [ ! -f "$stamp" ]; then
    step "installing torch 2.13.0 (CPU wheel) before anything that depends on it"
    "${pip[@]}" install torch==2.13.0 2>&1 | pip_progress
    step "installing llama-cpp-python (compiles llama.cpp the first time: 5-10 min on 2 cores; pip caches the wheel)"
    log=.venv/llama-cpp-build.log
    # Portable x86-64 build (AVX2, FMA, F16C) without the multimodal library and tools: a
    # -march=native build crashed at its first decode on a CPU with AMX. --no-cache-dir: a
    # wheel pip cached from a native build must not come back.
    if ! CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DLLAVA_BUILD=OFF -DLLAMA_BUILD_TOOLS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_SERVER=OFF ${CMAKE_ARGS:-}" \
        "${pip[@]}" install --no-cache-dir -v "$(grep -i '^llama_cpp_python==' requirements.lock)" 2>&1 | tee "$log" |
        sed -un 's/^ *\[\([0-9]*\)\/\([0-9]*\)\].*/  compiling llama.cpp: \1 of \2/p'; then
        tail -n 40 "$log" >&2
        exit 1
    fi
    step "installing the pinned dependencies (requirements.lock)"
    "${pip[@]}" install -r requirements.lock 2>&1 | pip_progress
    "${pip[@]}" install --no-deps -e . >/dev/null
    rm -f .venv/.installed-*
    touch "$stamp"
else
    step "dependencies already installed"
fi

if [ "$mode" = test ]; then
    step "installing the measuring kit (eval/, a development install)"
    "${pip[@]}" install --no-deps -e eval >/dev/null
fi

step "fetching and verifying the models"
if [ "$mode" = test ]; then .venv/bin/rag setup --with llm-tiny; else .venv/bin/rag setup; fi
[ "$mode" = setup ] && exit 0

if [ "$mode" = chat ]; then
    step "indexing the bundled articles (corpus/)"
    .venv/bin/rag ingest
    step "starting the chat on http://127.0.0.1:7860 (Ctrl-C stops it)"
    exec .venv/bin/rag chat
fi
if ! command -v chromium >/dev/null; then
    step "installing Chromium for the browser tests (Debian packages chromium, chromium-driver)"
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        apt-get update -qq >/dev/null
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
    elif command -v sudo >/dev/null && command -v apt-get >/dev/null; then
        sudo apt-get update -qq >/dev/null
        sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
    else
        echo "error: the browser tests need Chromium (Debian: apt-get install chromium)" >&2
        exit 1
    fi
fi
step "ruff"
.venv/bin/ruff check .
step "mypy"
.venv/bin/mypy
step "pytest"
exec .venv/bin/pytest "${@:2}"
