#!/usr/bin/env bash
# The test command: lint, fast unit tests, then integration tests with the real
# model and corpus (installs the environment and fetches the model if missing).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${VENV:-.venv}"
bash scripts/setup.sh --install
"$VENV/bin/assistant" models fetch >/dev/null
"$VENV/bin/ruff" check assistant tests
"$VENV/bin/python" -m pytest -q -m "not integration" "$@"
"$VENV/bin/python" -m pytest -q -m integration "$@"
