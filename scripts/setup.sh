#!/usr/bin/env bash
# One command for a fresh machine: virtualenv, torch (CPU) first, the package,
# the verified model, the index, and a first cited answer. Safe to run again.
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

[ "${1:-}" = "--install" ] && exit 0

step "fetching and verifying the embedding model (no-op when already verified)"
"$VENV/bin/assistant" models fetch
step "building the index"
"$VENV/bin/assistant" index
step "a first question"
"$VENV/bin/assistant" ask "What does negative integration mean?"
printf '\nReady. Ask more with: %s/bin/assistant ask "你的问题"   (or open the TUI: %s/bin/assistant)\n' "$VENV" "$VENV" >&2
