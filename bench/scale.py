"""Scale run: the sample's vectors replicated with small perturbations to N, no model time.

    .venv/bin/python bench/scale.py [--n 1000000] [--queries 200]

Reports build time and peak memory of exact (IndexFlatIP) and approximate (HNSW) search, their latency,
and HNSW recall@10 against exact search for several efSearch values (the index uses HNSW_EF_SEARCH).
The replicated vectors form tight clusters of near-duplicates, which is harder for HNSW than real text,
so the recall here is a floor.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

import faiss
import numpy as np

from protokollsok.indexes.store import Store
from protokollsok.indexes.vectors import FILE, HNSW_EF_SEARCH, Vectors

EF_SEARCH = sorted({64, 128, 256, HNSW_EF_SEARCH})


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
    vectors += 0.02 * rng.standard_normal(vectors.shape, dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    queries = vectors[rng.choice(args.n, args.queries, replace=False)] + rng.normal(0, 0.05, (args.queries, base.shape[1])).astype(np.float32)
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)

    started = time.perf_counter()
    exact = Vectors.build(vectors, approximate_from=args.n + 1)
    print(f"exact: build {time.perf_counter() - started:.1f} s, {_size(exact)}")
    truth, latencies = _run(lambda q: exact.search(q, 10)[0], queries)
    print(f"exact: search {_percentiles(latencies)}")

    del exact
    started = time.perf_counter()
    hnsw = Vectors.build(vectors, approximate_from=0)
    print(f"hnsw: build {time.perf_counter() - started:.1f} s, {_size(hnsw)}")
    for ef in EF_SEARCH:
        params = faiss.SearchParametersHNSW(efSearch=ef)
        found, latencies = _run(lambda q: hnsw.index.search(q.reshape(1, -1), 10, params=params)[1][0], queries)
        recall = np.mean([len(set(a) & set(e)) / 10 for a, e in zip(found, truth)])
        print(f"hnsw efSearch {ef}: search {_percentiles(latencies)}, recall@10 vs exact {recall:.3f}")
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB (vectors and queries included)")


def _run(search, queries: np.ndarray) -> tuple[list[list[int]], list[float]]:
    found, latencies = [], []
    for q in queries:
        started = time.perf_counter()
        ids = search(q)
        latencies.append(time.perf_counter() - started)
        found.append(ids.tolist())
    return found, latencies


def _percentiles(latencies: list[float]) -> str:
    return f"p50 {1000 * np.median(latencies):.2f} ms p95 {1000 * np.percentile(latencies, 95):.2f} ms"


def _size(vectors: Vectors) -> str:
    """The index as saved, which is what it holds in memory too."""
    with tempfile.TemporaryDirectory() as folder:
        vectors.save(Path(folder))
        return f"index {(Path(folder) / FILE).stat().st_size / 2**20:.0f} MiB"


if __name__ == "__main__":
    main()
