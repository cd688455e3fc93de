"""Dense search at millions of vectors without model time: what indexes/vectors.py costs and finds.

    .venv/bin/python bench/vectors.py [--n 1000000 2000000] [--queries 200] [--index var/index]

Each N runs in a process of its own, so its peak RSS is its own. `Vectors.build` takes the vectors in
batches of 65,536 generated on the fly; the exact top 10 (unfiltered, and among random 1 % and 10 % of rows)
is computed by numpy over the same batches generated again, so no run holds all float32 vectors at once.

The vectors are made from the sample index's real e5 vectors (800 × 384): each is their mean plus a mix of
three sample vectors' deviations from it (Dirichlet weights scaled to unit length) plus 0.3 × Gaussian noise
with the sample's own covariance, normalised. At 800 vectors this has the sample's geometry (mean cosine
0.835 against 0.844, nearest neighbour 0.94 against 0.95, 10th 0.90 against 0.915); uniform random vectors
are near-orthogonal, with neighbours far apart, which flatters or breaks an index in ways text never does.
At 1 M the 10th and 11th neighbours of a query differ by ~1e-4 in cosine, as among near-duplicate chunks.
Queries are drawn the same way, not taken from the index.

Rows: `search` is `Vectors.search(query, 10)` as the service calls it (graph, then float16 re-scoring),
at several efSearch; `graph` is the HNSW graph's own top 10 without re-scoring; `filter` rows pass a
random allowed set, through the exact path (the allowed rows' 8-bit codes scanned, the best re-scored from
the float16 copy) or the selector path (graph search with a bitmap id selector), whichever `EXACT_UP_TO`
picks; `exact path` and `selector path` rows force one, for sets of 2k-50k rows.

Peak RSS counts the float16 copy's pages as they are written through its memory map: they are file pages
the kernel may drop, not memory the process owns; the graph and a training sample are. Projection to
10 M, on paper: memory and disk grow linearly (bytes per vector measured at 2 M × 10 M); build
time as N log N from the 2 M run; latency and recall of the graph change by the same step per doubling of N
as from 1 M to 2 M, extrapolated 2.3 doublings (2 M → 10 M); the exact path costs the same per allowed row
at any N; the selector's bitmap grows with N (0.1 ms at 1 M rows).

The load average over the run is printed with each N: on a machine shared with other work the latencies
are upper bounds.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import faiss
import numpy as np

import protokollsok.indexes.vectors as vectors_module
from protokollsok.indexes.store import Store
from protokollsok.indexes.vectors import EXACT_FILE, FILE, Vectors

BATCH = 65_536
K = 10
EF_SEARCH = (256, 512, 1024, 2048)
FILTERS = (0.01, 0.1)
PATH_SIZES = (2_000, 5_000, 10_000, 20_000, 50_000)
SELECTOR_EF_SEARCH = (1024, 4096)


class Generator:
    """Vectors shaped like the sample's e5 vectors; batch i is the same on every call (its own seed)."""

    def __init__(self, sample: np.ndarray, mixed: int = 3, noise: float = 0.3):
        self.mean = sample.mean(axis=0)
        self.deviations = sample - self.mean
        covariance = np.cov(self.deviations.T) + 1e-6 * np.eye(sample.shape[1])
        self.shape = np.linalg.cholesky(covariance).T.astype(np.float32)
        self.mixed, self.noise = mixed, noise

    def draw(self, seed: int, n: int) -> np.ndarray:
        rng = np.random.default_rng(seed)
        picks = rng.integers(0, len(self.deviations), (n, self.mixed))
        weights = rng.dirichlet(np.ones(self.mixed), n).astype(np.float32)
        weights /= np.linalg.norm(weights, axis=1, keepdims=True)
        x = self.mean + np.einsum("nm,nmd->nd", weights, self.deviations[picks])
        x += self.noise * rng.standard_normal(x.shape, dtype=np.float32) @ self.shape
        return np.ascontiguousarray(x / np.linalg.norm(x, axis=1, keepdims=True), dtype=np.float32)

    def batches(self, n: int):
        for i, start in enumerate(range(0, n, BATCH)):
            yield self.draw(1_000 + i, min(BATCH, n - start))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--index", type=Path, default=Path("var/index"))
    parser.add_argument("--n", type=int, nargs="+", default=[1_000_000])
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure(args.index, args.n[0], args.queries)))
        return
    results = []
    for n in args.n:
        command = [sys.executable, __file__, "--one", "--n", str(n), "--queries", str(args.queries)]
        command += ["--index", str(args.index)]
        done = subprocess.run(command, stdout=subprocess.PIPE, text=True, check=True)
        results.append(json.loads(done.stdout.strip().splitlines()[-1]))
        _print(results[-1])
    if len(results) >= 2:
        _print(project(results[-2], results[-1], 10_000_000))


def measure(index: Path, n: int, queries: int) -> dict:
    sample = Vectors.load(Store(index).current().path)
    generator = Generator(sample.vectors_of(np.arange(sample.index.ntotal)))
    query_vectors = generator.draw(7, queries)
    rng = np.random.default_rng(3)
    allowed = {f"filter {p:.0%}": np.flatnonzero(rng.random(n) < p) for p in FILTERS}
    for size in (size for size in PATH_SIZES if size < n):
        allowed[f"{size // 1000}k rows ({size / n:.1%})"] = np.sort(rng.choice(n, size, replace=False))

    started = time.perf_counter()
    truth = _exact(generator.batches(n), query_vectors, allowed, n)
    truth_seconds = time.perf_counter() - started

    started = time.perf_counter()
    vectors = Vectors.build(generator.batches(n), n, generator.mean.shape[0], approximate_from=0)
    build_seconds = time.perf_counter() - started
    with tempfile.TemporaryDirectory(dir=".") as folder:
        vectors.save(Path(folder))
        del vectors
        graph_mib = (Path(folder) / FILE).stat().st_size / 2**20
        copy_mib = (Path(folder) / EXACT_FILE).stat().st_size / 2**20
        # searched as the service searches: the graph read into memory, the float16 copy memory-mapped
        rows = _searches(Vectors.load(Path(folder)), query_vectors, truth, allowed)
    return {
        "n": n,
        "build_s": round(build_seconds, 1),
        "exact_truth_s": round(truth_seconds, 1),
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "load": round(os.getloadavg()[1], 1),
        "graph_mib": round(graph_mib),
        "float16_mib": round(copy_mib),
        "rows": rows,
    }


def _searches(vectors: Vectors, queries: np.ndarray, truth: dict, allowed: dict[str, np.ndarray]) -> list[dict]:
    """One row per way of searching; the breadth and module settings are changed for a row and put back after it."""
    names = ("SELECTIVE_EF_SEARCH", "EXACT_UP_TO")
    defaults = {name: getattr(vectors_module, name) for name in names}
    ef_default = vectors.ef_search

    def searching(k: int, rows: np.ndarray | None = None, ef: int | None = None, exact_up_to: int | None = None):
        """`ef` sets efSearch whatever the share of allowed rows; None keeps the recipe's and module's choice."""
        settings = dict(defaults)
        if ef is not None:
            settings["SELECTIVE_EF_SEARCH"] = ef
        if exact_up_to is not None:
            settings["EXACT_UP_TO"] = exact_up_to

        def search(query: np.ndarray) -> np.ndarray:
            for name, value in settings.items():
                setattr(vectors_module, name, value)
            vectors.ef_search = ef_default if ef is None else ef
            try:
                return vectors.search(query, k, rows)[0]
            finally:
                for name, value in defaults.items():
                    setattr(vectors_module, name, value)
                vectors.ef_search = ef_default

        return search

    def graph_only(ef: int):
        params = faiss.SearchParametersHNSW(efSearch=ef)
        return lambda query: vectors.index.search(query.reshape(1, -1), K, params=params)[1][0]

    out = []
    for ef in EF_SEARCH:
        out.append(_row(f"search ef{ef}", searching(K, ef=ef), queries, truth[None]))
        out.append(_row(f"graph ef{ef}", graph_only(ef), queries, truth[None]))
    out.append(_row(f"search k100 ef{ef_default}", searching(100), queries, None))
    for name, rows in allowed.items():
        if name.startswith("filter"):
            out.append(
                _row(name, searching(K, rows), queries, truth[name]) | {"share": len(rows) / vectors.index.ntotal}
            )
            continue
        out.append(_row(f"exact path {name}", searching(K, rows, exact_up_to=len(rows)), queries, truth[name]))
        for ef in SELECTOR_EF_SEARCH:
            search = searching(K, rows, ef=ef, exact_up_to=0)
            out.append(_row(f"selector path ef{ef} {name}", search, queries, truth[name]))
    return out


def _exact(batches, queries: np.ndarray, allowed: dict[str, np.ndarray], n: int) -> dict[str | None, np.ndarray]:
    """Exact top K per query, unfiltered (key None) and within each allowed set, merged batch by batch."""
    masks: dict[str | None, np.ndarray | None] = {None: None}
    for key, rows in allowed.items():
        masks[key] = np.zeros(n, bool)
        masks[key][rows] = True
    empty = (np.full((len(queries), K), -np.inf, np.float32), np.zeros((len(queries), K), np.int64))
    best = {key: empty for key in masks}
    start = 0
    for batch in batches:
        scores = queries @ batch.T
        ids = np.broadcast_to(np.arange(start, start + len(batch)), scores.shape)
        for key, mask in masks.items():
            masked = scores if mask is None else np.where(mask[start : start + len(batch)], scores, -np.inf)
            merged = np.concatenate([best[key][0], masked], axis=1)
            merged_ids = np.concatenate([best[key][1], ids], axis=1)
            top = np.argpartition(-merged, K, axis=1)[:, :K]
            best[key] = (np.take_along_axis(merged, top, 1), np.take_along_axis(merged_ids, top, 1))
        start += len(batch)
    return {key: ids for key, (_, ids) in best.items()}


def _row(name: str, search, queries: np.ndarray, truth: np.ndarray | None) -> dict:
    latencies, recalls = [], []
    for i, query in enumerate(queries):
        started = time.perf_counter()
        found = search(query)
        latencies.append(time.perf_counter() - started)
        if truth is not None:
            recalls.append(len(set(found[:K].tolist()) & set(truth[i].tolist())) / K)
    return {
        "name": name,
        "p50_ms": round(1000 * float(np.median(latencies)), 2),
        "p95_ms": round(1000 * float(np.percentile(latencies, 95)), 2),
        "recall": round(float(np.mean(recalls)), 3) if recalls else None,
    }


def project(smaller: dict, larger: dict, n: int) -> dict:
    """N on paper: sizes linear in N, build N log N; latency and recall move one 1 M → 2 M step per
    doubling. The exact path costs the same per allowed row at any N, so its rows are carried over; the
    selector rows are left out, as their allowed sets are a smaller share of rows at 10 M, and so is a
    filter whose allowed share would take the other path at n."""
    scale = n / larger["n"]
    doublings = math.log2(n / larger["n"]) / math.log2(larger["n"] / smaller["n"])
    rows = []
    for small, large in zip(smaller["rows"], larger["rows"]):
        share, exact_up_to = large.get("share"), vectors_module.EXACT_UP_TO
        other_path = share is not None and (share * larger["n"] <= exact_up_to) != (share * n <= exact_up_to)
        if large["name"].startswith("selector path") or other_path:
            continue
        row = dict(large)
        if not large["name"].startswith("exact path"):
            for key in ("p50_ms", "p95_ms", "recall"):
                if large[key] is not None:  # latency only grows with N and recall only falls: noise is no step
                    step = large[key] - small[key]
                    row[key] = round(large[key] + doublings * (min(step, 0) if key == "recall" else max(step, 0)), 3)
        rows.append(row)
    return {
        "n": n,
        "projected": True,
        "build_s": round(larger["build_s"] * scale * math.log(n) / math.log(larger["n"])),
        "peak_rss_mib": round(larger["peak_rss_mib"] + (scale - 1) * (larger["graph_mib"] + larger["float16_mib"])),
        "graph_mib": round(larger["graph_mib"] * scale),
        "float16_mib": round(larger["float16_mib"] * scale),
        "rows": rows,
    }


def _print(result: dict) -> None:
    label = "projected" if result.get("projected") else "measured"
    print(
        f"\nN {result['n']:,} ({label}): build {result['build_s']} s, peak RSS {result['peak_rss_mib']} MiB, "
        f"graph {result['graph_mib']} MiB in memory, float16 copy {result['float16_mib']} MiB on disk"
        + (f", exact truth {result['exact_truth_s']} s" if "exact_truth_s" in result else "")
        + (f", load average {result['load']} on {os.cpu_count()} cores" if "load" in result else "")
    )
    print(f"  {'':42} {'p50 ms':>8} {'p95 ms':>8} {'recall@10':>10}")
    for row in result["rows"]:
        recall = "" if row["recall"] is None else f"{row['recall']:.3f}"
        print(f"  {row['name']:42} {row['p50_ms']:8.2f} {row['p95_ms']:8.2f} {recall:>10}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
