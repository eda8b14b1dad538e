#!/usr/bin/env bash
# One command for a fresh machine: virtualenv, torch (CPU) first, the package, llama-cpp-python for
# the reader (built once, then reused), the verified models, the index, and a first cited answer.
# Safe to run again.
#   bash scripts/setup.sh            # everything, ends with a sample answer
#   bash scripts/setup.sh --install  # only the virtualenv and packages
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${VENV:-.venv}"
PYTHON="${PYTHON:-python3}"

step() { printf '\n==> %s\n' "$*" >&2; }

if [ ! -x "$VENV/bin/python" ]; then
  step "creating virtualenv $VENV"
  "$PYTHON" -m venv "$VENV"
fi
# torch first, pinned: the CPU wheel lies on local disk; an unpinned torch
# requirement would pull a multi-GB CUDA build.
if ! "$VENV/bin/python" -c 'import torch, sys; sys.exit(torch.__version__.split("+")[0] != "2.13.0")' 2>/dev/null; then
  step "installing torch==2.13.0 (CPU)"
  "$VENV/bin/pip" install -q "torch==2.13.0"
fi
step "installing the assistant package and its dependencies"
"$VENV/bin/pip" install -q -e ".[dev]"

# The reader runs on llama-cpp-python, which has no wheel for this machine and compiles from source
# (about 3.5 minutes on 2 cores). Build it once into a wheel folder and install from there, so a
# second set-up (or a fresh clone on the same machine) does not compile again.
LLAMA_CPP="llama-cpp-python==0.3.16"
WHEELS="${ASSISTANT_WHEELS:-$HOME/.cache/assistant/wheels}"
if ! "$VENV/bin/python" -c 'import llama_cpp' 2>/dev/null; then
  if ! ls "$WHEELS"/llama_cpp_python-0.3.16-*.whl >/dev/null 2>&1; then
    step "building $LLAMA_CPP for the reader (once; a few minutes; kept in $WHEELS)"
    started=$(date +%s)
    mkdir -p "$WHEELS"
    if CMAKE_ARGS="-DLLAVA_BUILD=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF" \
      "$VENV/bin/pip" wheel -q --no-deps -w "$WHEELS" "$LLAMA_CPP"; then
      printf '    built in %ss\n' "$(( $(date +%s) - started ))" >&2
    else
      printf '    could not build %s: answers stay extractive (no reader)\n' "$LLAMA_CPP" >&2
    fi
  fi
  if ls "$WHEELS"/llama_cpp_python-0.3.16-*.whl >/dev/null 2>&1; then
    step "installing $LLAMA_CPP from $WHEELS"
    "$VENV/bin/pip" install -q --find-links "$WHEELS" "$LLAMA_CPP"
  fi
fi

[ "${1:-}" = "--install" ] && exit 0

step "fetching and verifying the embedding and reader models (no-op when already verified)"
"$VENV/bin/assistant" models fetch
step "building the index"
"$VENV/bin/assistant" index
step "a first question"
"$VENV/bin/assistant" ask "What does negative integration mean?"
printf '\nReady. Ask more with: %s/bin/assistant ask "你的问题"   (or open the TUI: %s/bin/assistant)\n' "$VENV" "$VENV" >&2
