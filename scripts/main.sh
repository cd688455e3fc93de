#!/usr/bin/env bash
# The main job on the sample corpus: set up .venv, ingest corpus/ into var/index, then show a search.
# (The service comes with a later issue; until then the job ends with a search of the published index.)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/protokollsok ingest corpus/
.venv/bin/protokollsok versions
.venv/bin/protokollsok search "Dnr KS 2023/651 planeringsdirektiv och budget" --k 3
