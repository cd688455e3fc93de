#!/usr/bin/env bash
# The test suite: sets up .venv if needed, then runs pytest on tests/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/python -m pytest -q "$@"
