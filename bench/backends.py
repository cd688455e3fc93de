"""The two backends side by side in one run: eval figures and search latency on the same index and questions.

    .venv/bin/python bench/backends.py [--index var/index] [--questions eval/dev.jsonl] [--dsn DSN] [--cluster]

The files backend is the published index at --index; the same documents are published to PostgreSQL (at --dsn,
or on throwaway servers on loopback started here: one node, or with --cluster a primary with two shard
servers and a streaming replica that searches read from). The embedding cache beside --index supplies the
vectors, so nothing is encoded again. Latency is the search call as `protokollsok search` makes it, the query
embedding included; each question is asked once per mode after one warm-up question.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from protokollsok.eval.questions import load
from protokollsok.eval.run import evaluate
from protokollsok.indexes.analyzer import Analyzer
from protokollsok.indexes.backend import FileBackend
from protokollsok.indexes.build import CACHE
from protokollsok.indexes.embed import Embedder
from protokollsok.indexes.postgres import PostgresBackend
from protokollsok.indexes.search import one_thread_per_query
from protokollsok.indexes.synonyms import DEFAULT, Synonyms
from protokollsok.service.query import Queries
from protokollsok.settings import Settings

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
import pgcluster  # noqa: E402  (the tests' loopback servers)

MODES = ["hybrid", "lexical", "dense"]
FIGURES = ["recall@1", "recall@5", "recall@10", "mrr@10"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--index", type=Path, default=Path("var/index"))
    parser.add_argument("--questions", type=Path, default=Path("eval/dev.jsonl"))
    parser.add_argument("--dsn", help="an existing PostgreSQL database with pgvector (default: start one here)")
    parser.add_argument("--cluster", action="store_true", help="primary, replica and two shards on loopback")
    args = parser.parse_args()

    settings = Settings.load(index=str(args.index))
    one_thread_per_query()  # as `protokollsok search` and the service answer queries
    embedder, analyzer = Embedder(settings.model), Analyzer()
    synonyms = Synonyms.load(DEFAULT, analyzer)
    files = FileBackend(args.index)
    servers, parent = [], None
    try:
        if args.dsn:
            postgres = PostgresBackend(args.dsn, args.index / CACHE)
        else:
            parent = pgcluster.folder()
            primary = pgcluster.primary(parent, "primary")
            servers.append(primary)
            replicas, shards = [], []
            if args.cluster:
                shards = [pgcluster.primary(parent, f"shard{i}") for i in range(2)]
                servers.extend(shards)
                replicas = [pgcluster.replica(primary, parent, "replica")]
                servers.extend(replicas)
            postgres = PostgresBackend(
                primary.dsn, args.index / CACHE, [r.dsn for r in replicas], [s.dsn for s in shards]
            )
        started = time.perf_counter()
        with postgres.writing():
            postgres.publish(files.entries(), embedder, analyzer, "bench", keep=1)
        print(
            f"published to PostgreSQL in {time.perf_counter() - started:.1f} s"
            + (" (primary, replica, 2 shards)" if args.cluster else "")
        )

        questions = load(args.questions)
        print(f"{'backend':<9} {'mode':<8} " + " ".join(f"{f:>9}" for f in FIGURES) + "   p50 ms   p95 ms")
        for name, backend in (("files", files), ("postgres", postgres)):
            queries = Queries.open(backend.current(), embedder, analyzer, synonyms, {})
            queries.result(questions[0].question, 10)
            records = evaluate(questions, queries, MODES, 10)
            for mode in MODES:
                rows = [r for r in records if r["mode"] == mode]
                latency = [r["latency_ms"] for r in rows]
                means = " ".join(f"{np.mean([r[f] for r in rows]):>9.3f}" for f in FIGURES)
                print(
                    f"{name:<9} {mode:<8} {means} {np.percentile(latency, 50):>8.1f} {np.percentile(latency, 95):>8.1f}"
                )
            queries.searcher.close()
    finally:
        if parent is not None:
            pgcluster.remove(parent, servers)


if __name__ == "__main__":
    main()
