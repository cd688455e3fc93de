#!/usr/bin/env bash
# The main job on the sample corpus: set up .venv, ingest corpus/ into var/index, then serve it
# (the chat widget at http://localhost:8000/, the API under /api; Ctrl-C stops it).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/protokollsok ingest corpus/
.venv/bin/protokollsok versions
exec .venv/bin/protokollsok serve "$@"
