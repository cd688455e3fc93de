"""Ingestion throughput against raw model encoding, search latency split, index size and peak memory.

    .venv/bin/python bench/retrieval.py [--corpus corpus] [--queries eval/dev.jsonl]

Quality per mode comes from `protokollsok eval`; this measures speed and size on the same machine.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from protokollsok.indexes.analyzer import Analyzer
from protokollsok.indexes.build import Entry, indexed_text, publish
from protokollsok.indexes.embed import Embedder, text_hash
from protokollsok.indexes.search import Searcher, one_thread_per_query
from protokollsok.indexes.store import Store
from protokollsok.indexes.synonyms import DEFAULT, Synonyms
from protokollsok.ingest.pipeline import ingest_file
from protokollsok.settings import Settings


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--corpus", type=Path, default=Path("corpus"))
    parser.add_argument("--queries", type=Path, default=Path("eval/dev.jsonl"))
    args = parser.parse_args()
    settings = Settings.load()
    embedder, analyzer = Embedder(settings.model), Analyzer()

    started = time.perf_counter()
    ingested = [ingest_file(p, settings.model, settings.max_bytes) for p in sorted(args.corpus.glob("*.txt"))]
    steps = {k: sum(i.seconds[k] for i in ingested) for k in ("partition", "structure", "chunk")}
    texts = [indexed_text(c) for i in ingested for c in i.chunks]
    tokens = [c.tokens for i in ingested for c in i.chunks]
    model_tokens = [c.model_tokens for i in ingested for c in i.chunks]

    started = time.perf_counter()
    embedder.encode(texts)
    raw = len(texts) / (time.perf_counter() - started)

    with tempfile.TemporaryDirectory() as folder:
        store = Store(Path(folder))
        entries = [Entry(i.document, i.chunks, text_hash(i.document.text)) for i in ingested]
        started = time.perf_counter()
        with store.writing():
            version = publish(store, entries, embedder, analyzer, "bench", keep=1)
        build = time.perf_counter() - started
        size = sum(p.stat().st_size for p in version.path.rglob("*") if p.is_file())
        one_thread_per_query()  # as `protokollsok search` and the service answer queries
        searcher = Searcher(version, embedder, analyzer, Synonyms.load(DEFAULT, analyzer))
        questions = [json.loads(line)["question"] for line in args.queries.read_text().splitlines() if line.strip()]
        for q in questions[:5]:
            searcher.search(searcher.read(q))
        split = {"embed": [], "lexical": [], "dense": [], "fusion": [], "total": []}
        for q in questions:
            started = time.perf_counter()
            t = searcher.search(searcher.read(q)).timings
            split["total"].append(time.perf_counter() - started)
            for k in ("embed", "lexical", "dense", "fusion"):
                split[k].append(getattr(t, k))
        searcher.close()

    ms = {k: (1000 * statistics.median(v), 1000 * float(np.percentile(v, 95))) for k, v in split.items()}
    print(f"chunks {len(texts)}; cl100k tokens p50/p95/max {np.percentile(tokens, 50):.0f}/{np.percentile(tokens, 95):.0f}/{max(tokens)}; "
          f"model tokens p50/p95/max {np.percentile(model_tokens, 50):.0f}/{np.percentile(model_tokens, 95):.0f}/{max(model_tokens)}; "
          f"model/cl100k ratio {np.sum(model_tokens) / np.sum(tokens):.2f}")
    print("ingest steps (s): " + ", ".join(f"{k} {v:.2f}" for k, v in steps.items()))
    print(f"raw encoding {raw:.1f} chunks/s; index build incl. encoding {len(texts) / build:.1f} chunks/s "
          f"(ratio {len(texts) / build / raw:.2f}); build {build:.1f} s")
    print("search ms p50/p95: " + ", ".join(f"{k} {a:.1f}/{b:.1f}" for k, (a, b) in ms.items()))
    print(f"index size {size / 2**20:.1f} MiB; peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
