"""Scale run: the sample's vectors replicated with small perturbations to N, no model time.

    .venv/bin/python bench/scale.py [--n 1000000] [--queries 200]

Reports build time and peak memory of exact (IndexFlatIP) and approximate (HNSW) search, their latency,
and HNSW recall@10 against exact search.
"""

from __future__ import annotations

import argparse
import resource
import time
from pathlib import Path

import numpy as np

from protokollsok.indexes.store import Store
from protokollsok.indexes.vectors import Vectors


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--index", type=Path, default=Path("var/index"))
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    base = Vectors.load(Store(args.index).current().path).reconstruct_all()
    rng = np.random.default_rng(7)
    reps = -(-args.n // len(base))
    vectors = np.tile(base, (reps, 1))[: args.n]
    vectors += rng.normal(0, 0.02, vectors.shape).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    queries = vectors[rng.choice(args.n, args.queries, replace=False)] + rng.normal(0, 0.05, (args.queries, base.shape[1])).astype(np.float32)
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)

    results = {}
    for name, threshold in (("exact", args.n + 1), ("hnsw", 0)):
        started = time.perf_counter()
        index = Vectors.build(vectors, approximate_from=threshold)
        built = time.perf_counter() - started
        latencies, ids = [], []
        for q in queries:
            started = time.perf_counter()
            found, _ = index.search(q, 10)
            latencies.append(time.perf_counter() - started)
            ids.append(set(found.tolist()))
        results[name] = ids
        print(f"{name}: build {built:.1f} s, search p50 {1000 * np.median(latencies):.2f} ms p95 {1000 * np.percentile(latencies, 95):.2f} ms, "
              f"peak RSS so far {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
    recall = np.mean([len(a & e) / 10 for a, e in zip(results["hnsw"], results["exact"])])
    print(f"n {args.n}: HNSW recall@10 vs exact {recall:.3f}")


if __name__ == "__main__":
    main()
