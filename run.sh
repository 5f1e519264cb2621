#!/usr/bin/env bash
# Install everything into .venv/, fetch and verify the models, then
#   ./run.sh chat   index the bundled articles and start the chat on http://127.0.0.1:7860
#   ./run.sh test   add the development tools (requirements-dev.lock, the measuring kit) and
#                   run the linters, the type checker and the test suite (installs Debian's
#                   Chromium first if it is missing: the browser tests drive it)
#   ./run.sh setup  only install and fetch the models (e.g. to build a container image)
# Safe to run again: each step reuses what is already there.
#
# The first run compiles llama.cpp. That compile runs in the background while the other
# packages install and the models download, and its wheel is kept in
# ~/.cache/rag-news/wheels/ (one folder per version and build options), so a fresh clone on
# the same machine does not compile again.
set -euo pipefail
cd "$(dirname "$0")"
mode=${1:-chat}
case $mode in chat | test | setup) ;; *) echo "usage: $0 chat|test|setup" >&2; exit 2 ;; esac

export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 ANONYMIZED_TELEMETRY=False
export PIP_DISABLE_PIP_VERSION_CHECK=1
# Python keeps the bytecode of what it imports (in __pycache__/, git-ignored). Where the
# environment forbids that, every process compiles torch, transformers and the rest from
# source again: `rag ask` took 18.8 s instead of 9.9 s, and the suite starts dozens of them.
unset PYTHONDONTWRITEBYTECODE

# llama.cpp as the product uses it: portable x86-64 (AVX2, FMA, F16C; a -march=native build
# crashed at its first decode on a CPU with AMX), without the multimodal library (mtmd), the
# command-line tools, the examples, the tests, the server and their `common` library
# (llama-cpp.cmake says why that one needs a hook): 83 compile steps instead of 193.
LLAMA_CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON"
LLAMA_CMAKE_ARGS+=" -DLLAVA_BUILD=OFF -DLLAMA_BUILD_TOOLS=OFF -DLLAMA_BUILD_EXAMPLES=OFF"
LLAMA_CMAKE_ARGS+=" -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_SERVER=OFF ${CMAKE_ARGS:-}"
llama_hook="-DCMAKE_PROJECT_llama.cpp_INCLUDE=$PWD/llama-cpp.cmake"

t_start=$SECONDS
# One line per event, each with its step's name, so that lines of steps running side by
# side stay readable when they interleave.
say() { printf '[%s] %s\n' "$1" "${*:2}" >&2; }
took() { local s=$(($SECONDS - $1)); printf '%dm%02ds' $((s / 60)) $((s % 60)); }
# pip's output, less the noise: only its errors pass
pip_errors() { grep --line-buffered -iE '^(ERROR|error)|rror:' >&2 || true; }

python=${PYTHON:-$(command -v python3.11 || command -v python3 || true)}
if [ -z "$python" ] || ! "$python" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
    echo "error: Python 3.11 is needed (the pinned wheels, torch 2.13.0 among them, are for 3.11);" \
        "set PYTHON=/path/to/python3.11" >&2
    exit 1
fi

# chat and setup install the runtime; test adds the development tools (and the tiny model
# the tests run) on top of it
locks=(requirements.lock)
roles=()
if [ "$mode" = test ]; then locks+=(requirements-dev.lock); roles=(--with llm-tiny); fi
stamp_of() {
    printf '.venv/.installed-%s-%s' "$1" \
        "$(cat "${@:2}" pyproject.toml eval/pyproject.toml run.sh | sha256sum | cut -c1-16)"
}
runtime_stamp=$(stamp_of runtime requirements.lock)
stamp=$runtime_stamp
[ "$mode" = test ] && stamp=$(stamp_of dev requirements.lock requirements-dev.lock)
llama_req=$(grep -i '^llama_cpp_python==' requirements.lock)
wheels=${XDG_CACHE_HOME:-$HOME/.cache}/rag-news/wheels/$(printf '%s\n' "$llama_req" \
    "$LLAMA_CMAKE_ARGS" "$(cat llama-cpp.cmake)" "$(uname -m)" | sha256sum | cut -c1-16)

if [ ! -f "$stamp" ]; then
    have_wheel=$(ls "$wheels"/*.whl 2>/dev/null || true)
    compile="2 .. 7 min"
    [ -n "$have_wheel" ] && compile="none: the wheel is in $wheels"
    cat >&2 <<EOF
Set-up, first run. Rough durations on 2 cores, from a fast CPU to a slow laptop:
  1. .venv and torch 2.13.0 (CPU wheel)       0.5 .. 1.5 min
  2. side by side:
     - compile llama.cpp                      $compile
     - the pinned packages                    1 .. 3 min
       then fetch and verify the models       1 .. 5 min (network and disk)
  3. index the bundled articles (chat only)   0.3 .. 1.5 min
Each step prints its real duration when it ends.
EOF
    if ! .venv/bin/python -m pip --version >/dev/null 2>&1; then
        t=$SECONDS
        say venv "creating .venv with $python"
        rm -rf .venv
        "$python" -m venv .venv || {
            echo "error: could not create .venv (on Debian: apt-get install python3-venv)" >&2
            exit 1
        }
        say venv "done in $(took $t)"
    fi
    pip=(.venv/bin/python -m pip)

    # llama.cpp compiles in the background, into a wheel of its own: pip never installs
    # into .venv from two processes at once.
    build_log=.venv/llama-cpp-build.log
    build_pid=
    if [ -z "$have_wheel" ]; then
        build_llama() {
            local t=$SECONDS tmp
            tmp=$(mktemp -d)
            say llama.cpp "compiling $llama_req (log: $build_log)"
            # --no-cache-dir: a wheel pip cached from another build must not come back
            if ! CMAKE_ARGS="$LLAMA_CMAKE_ARGS $llama_hook" "${pip[@]}" wheel --no-deps --no-cache-dir -v \
                -w "$tmp" "$llama_req" >"$build_log" 2>&1; then
                say llama.cpp "error: the compile failed; the end of $build_log:"
                tail -n 40 "$build_log" >&2
                return 1
            fi
            mkdir -p "$(dirname "$wheels")"
            rm -rf "$wheels" && mv -T "$tmp" "$wheels"
            say llama.cpp "compiled in $(took $t)"
        }
        progress() {  # "[n/N]" lines of the compile, every tenth step
            tail -n +1 -F "$build_log" 2>/dev/null | sed -un 's/^ *\[\([0-9]*\)\/\([0-9]*\)\].*/\1 \2/p' |
                while read -r n total; do
                    [ $((n % 10)) = 0 ] && say llama.cpp "compiling: step $n of $total"
                done
        }
        : >"$build_log"
        set -m  # the build gets a process group of its own, so that a failure can stop all of it
        build_llama &
        build_pid=$!
        progress &
        progress_pid=$!
        set +m
        trap 'kill -- -$build_pid -$progress_pid 2>/dev/null || true' EXIT
    else
        say llama.cpp "compiled wheel reused from $wheels"
    fi

    # --no-compile: pip would byte-compile every module of every package (thousands, most
    # never imported) on the cores the compile needs; Python compiles what it imports, once.
    t=$SECONDS
    say torch "installing torch 2.13.0 (CPU wheel) before anything that depends on it"
    "${pip[@]}" install -q --no-compile torch==2.13.0 2>&1 | pip_errors
    say torch "done in $(took $t)"

    t=$SECONDS
    n=$(cat "${locks[@]}" | grep -cvE '^\s*(#|$)')
    say packages "installing $n pinned packages (${locks[*]}), llama-cpp-python aside"
    cat "${locks[@]}" | grep -viE '^llama_cpp_python==' >.venv/requirements.txt
    "${pip[@]}" install -q --no-compile -r .venv/requirements.txt 2>&1 | pip_errors
    "${pip[@]}" install -q --no-deps -e . 2>&1 | pip_errors
    [ "$mode" = test ] && "${pip[@]}" install -q --no-deps -e eval 2>&1 | pip_errors
    say packages "done in $(took $t)"

    # the models need only the packages, not llama.cpp: they download while it compiles
    t=$SECONDS
    say models "fetching and verifying the models"
    .venv/bin/rag setup "${roles[@]}" 2>&1 | sed -u 's/^ */[models] /' >&2
    say models "done in $(took $t)"

    if [ -n "$build_pid" ]; then
        t=$SECONDS
        say llama.cpp "waiting for the compile to end"
        if ! wait "$build_pid"; then
            echo "error: llama.cpp did not compile (see above, or $build_log)" >&2
            exit 1
        fi
        kill -- -"$progress_pid" 2>/dev/null || true
        trap - EXIT
        say llama.cpp "waited $(took $t)"
    fi
    "${pip[@]}" install -q --no-deps --force-reinstall "$wheels"/*.whl 2>&1 | pip_errors
    rm -f .venv/.installed-*
    touch "$stamp" "$runtime_stamp"  # the development install holds the runtime's
    say setup "installed in $(took $t_start)"
else
    say setup "packages already installed"
    .venv/bin/rag setup "${roles[@]}" 2>&1 | sed -u 's/^ */[models] /' >&2
fi
[ "$mode" = setup ] && exit 0

if [ "$mode" = chat ]; then
    t=$SECONDS
    say index "indexing the bundled articles (corpus/)"
    .venv/bin/rag ingest
    say index "done in $(took $t); set-up took $(took $t_start) in all"
    say chat "starting the chat on http://127.0.0.1:7860 (Ctrl-C stops it)"
    exec .venv/bin/rag chat
fi
if ! command -v chromium >/dev/null; then
    say chromium "installing Chromium for the browser tests (Debian packages chromium, chromium-driver)"
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
t=$SECONDS
say ruff "checking"
.venv/bin/ruff check .
say mypy "checking"
.venv/bin/mypy
say lint "ruff and mypy took $(took $t)"
say pytest "running the suite"
# The crash drill fails on any damage Chroma took in a kill that the repair left behind.
export RAG_CRASH_STRICT=${RAG_CRASH_STRICT:-1}
exec .venv/bin/pytest "${@:2}"
