#!/usr/bin/env bash
# The quality gate CI runs after the tests (eval/gate.py): the sample corpus ingested into a fresh index by
# this checkout's code, then `protokollsok eval` on eval/dev.jsonl and eval/unanswerable.jsonl with --ask,
# held against eval/gate-baseline.json. Fails naming the questions that regressed.
#   bash scripts/gate.sh            # check
#   bash scripts/gate.sh --update   # a deliberate change: write the baseline, commit it with the before/after
set -euo pipefail
cd "$(dirname "$0")/.."
case "${1:-}" in
    "") update=() ;;
    --update) update=(--update-gate) ;;
    *) echo "gate: unknown option '$1'; use no option to check, or --update to write eval/gate-baseline.json" >&2; exit 2 ;;
esac
bash scripts/setup.sh >/dev/null
index=var/gate/index
# Every run builds the index anew, so that it is this code's chunks that are measured; the embedding cache
# beside the versions is kept, so only chunk texts the code now cuts differently are encoded again.
rm -rf "$index/versions" "$index/current"
# The gate measures the defaults, whatever this shell sets.
unset PROTOKOLLSOK_MODEL PROTOKOLLSOK_FUSION PROTOKOLLSOK_DENSE_WEIGHT PROTOKOLLSOK_SYNONYMS PROTOKOLLSOK_BACKEND PROTOKOLLSOK_INDEX \
    PROTOKOLLSOK_READER PROTOKOLLSOK_JUDGE
.venv/bin/protokollsok ingest corpus/ --index "$index"
exec .venv/bin/protokollsok eval eval/dev.jsonl eval/unanswerable.jsonl --ask --modes hybrid --index "$index" \
    --report var/gate/report --gate eval/gate-baseline.json "${update[@]}"
