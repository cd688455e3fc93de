"""Dense part of an index version: normalised vectors in FAISS, searched by inner product (= cosine).

A vector's position is its chunk's row in the metadata store. Below `APPROXIMATE_FROM` vectors the index
is exact (`IndexFlatIP`): a query reads all 1.5 KB of every vector, which is bound by memory bandwidth
(200 k vectors took 90-160 ms p50 here under load), so the exact index stays small. Above it an HNSW graph
over 8-bit scalar-quantised codes (`IndexHNSWSQ`, M 32) proposes `REFINE` × k candidates and a float16
copy of the vectors, memory-mapped from disk, re-scores them. bench/vectors.py measured this index, single
queries on 2 cores shared with other work (load average 4-7, so latencies are upper bounds), on vectors
shaped like the sample's e5 vectors; the two alternatives were measured once on the same 1 M vectors.
Recall@10 against exact search:

                                          1 M: recall  p50 / p95 ms     2 M: recall  p50 / p95 ms
    HNSW32,SQ8 graph alone, efSearch 1024      0.939   2.2 /  3.1            0.919   3.0 /  8.3
    same graph + float16 re-scoring, 1024      0.983   2.6 /  7.4            0.967   3.5 /  8.2
    same graph + float16 re-scoring, 2048      0.993   6.2 /  9.5            0.982  11.1 / 16.1
    HNSW32,SQfp16 graph alone, 1024            0.984   2.8 /  7.1 (1.6× the memory of SQ8)
    IVF4096,PQ48 + SQ8 refine ×10, nprobe 64   0.793   1.5 /  5.9 (k-means training alone took 17 min)

e5 vectors crowd into a narrow cone (mean cosine 0.84), so at 1 M a query's 10th and 11th neighbours
differ by ~1e-4 in cosine: 8-bit codes cannot order them (an exhaustive SQ8 scan reaches 0.95 at 1 M, less
as N grows), product quantisation much less. The graph only has to find the neighbourhood; the float16
copy orders it. Recall falls ~0.012 per doubling of N, so at 10 M efSearch 2048 should give ~0.956 with
p95 within ~20 ms; 1024 would give ~0.93. At 10 M × 384 the graph takes ~6.1 GiB of memory, the float16
copy 7.2 GiB of disk that the page cache holds as memory allows (HNSW over float32 would need ~17 GiB of
memory); a build took 490 s at 1 M and 1,110 s at 2 M, ~1.7 h projected for 10 M.

A filter is applied before ranking, not after it. HNSW with an id selector loses recall when few rows
qualify (efSearch 1024 at 1 M rows: 0.45 at 0.2 %, 0.74 at 0.5 %, 0.93 at 1 %, 0.98 from 2 % up), so an
allowed set of up to `EXACT_UP_TO` rows is scored exactly: FAISS scans those rows' 8-bit codes and the
best are re-scored from the float16 copy (recall 1.00 at 12 / 28 ms p50 / p95 for 2-5 k rows, 44 / 56 ms
for 50 k, under load). A larger set is a bitmap id selector on the graph search, with efSearch 4096 when
it is under `SELECTIVE_SHARE` of the rows (1 M rows: 0.2 % → 0.91, 0.5 % → 0.94, 1 % → 0.96, 2 % → 0.99,
at 30 / 41-47 ms p50 / p95 whatever the share) and efSearch 2048 above (10 % → 0.99 at 12 / 20 ms). At
10 M, then: up to 50 k rows (0.5 %) exact, 0.5-2 % at recall ~0.94-0.99, more at ~0.98.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

import faiss
import numpy as np

from .recipe import DEFAULT as RECIPE

APPROXIMATE_FROM = 50_000
HNSW_NEIGHBOURS = 32
EF_SEARCH = RECIPE.ef_search  # the default; a version is searched with its recipe's (Vectors.ef_search)
REFINE = 4
EXACT_UP_TO = 50_000
SELECTIVE_SHARE = 0.02
SELECTIVE_EF_SEARCH = 4096
TRAIN_SAMPLE = 65_536
COPY_ROWS = 262_144
FILE = "vectors.faiss"
EXACT_FILE = "vectors.f16.npy"


class Vectors:
    def __init__(self, index: faiss.Index, exact: np.ndarray | None = None, ef_search: int = EF_SEARCH):
        """`exact` is the float16 copy of an approximate index's vectors; an exact index holds them itself.
        `ef_search`: the HNSW search breadth, from the recipe a version is searched with (recipe.py)."""
        self.index = index
        self.exact = exact
        self.ef_search = ef_search

    @classmethod
    def build(
        cls, batches: Iterable[np.ndarray], count: int, dimension: int, approximate_from: int = APPROXIMATE_FROM
    ) -> "Vectors":
        """`count` vectors arriving in batches; only the approximate index's training sample is held at once."""
        if count < max(approximate_from, 1):
            vectors = cls(faiss.IndexFlatIP(dimension))
            vectors.add(batches)
        else:
            batches = iter(batches)
            sample = _take(batches, TRAIN_SAMPLE)
            index = faiss.IndexHNSWSQ(
                dimension, faiss.ScalarQuantizer.QT_8bit, HNSW_NEIGHBOURS, faiss.METRIC_INNER_PRODUCT
            )
            index.train(_float32(np.concatenate(sample)))
            vectors = cls(index, _scratch(count, dimension))
            vectors._append(_chain(sample, batches), 0)
        if vectors.index.ntotal != count:
            raise ValueError(f"expected {count} vectors, the batches held {vectors.index.ntotal}")
        return vectors

    @classmethod
    def load(cls, folder: Path, ef_search: int = EF_SEARCH) -> "Vectors":
        index = faiss.read_index(str(folder / FILE))
        exact = None if isinstance(index, faiss.IndexFlat) else np.load(folder / EXACT_FILE, mmap_mode="r")
        return cls(index, exact, ef_search)

    def save(self, folder: Path) -> None:
        faiss.write_index(self.index, str(folder / FILE))
        if self.exact is not None:
            out = np.lib.format.open_memmap(folder / EXACT_FILE, mode="w+", dtype=np.float16, shape=self.exact.shape)
            _copy(self.exact, out)
            out.flush()
            del out

    @property
    def approximate(self) -> bool:
        return self.exact is not None

    def add(self, batches: Iterable[np.ndarray]) -> None:
        """Append vectors after the last row (an incremental publish). The float16 copy is rewritten into a
        new temporary file, never into the loaded version's; the few new vectors are held meanwhile. An exact
        index stays exact until the next build."""
        if self.exact is None:
            for batch in batches:
                self.index.add(_float32(batch))
            return
        new = [_float32(b) for b in batches]
        old = self.exact
        self.exact = _scratch(len(old) + sum(len(b) for b in new), old.shape[1])
        _copy(old, self.exact)
        self._append(new, len(old))

    def _append(self, batches: Iterable[np.ndarray], start: int) -> None:
        """Add to the graph and write into the float16 copy (sized beforehand) from row `start` on."""
        end = start
        for batch in batches:
            batch = _float32(batch)
            if end + len(batch) > len(self.exact):
                raise ValueError(f"more than the {len(self.exact)} vectors announced")
            self.index.add(batch)
            self.exact[end : end + len(batch)] = batch
            end += len(batch)
        self.exact = self.exact[:end]

    def vectors_of(self, rows: np.ndarray) -> np.ndarray:
        """Float32 vectors of `rows`: from the float16 copy of an approximate index, so cosines computed
        from them are exact to about 1e-3."""
        rows = np.asarray(rows, dtype=np.int64)
        if self.exact is None:
            return self.index.reconstruct_batch(rows)
        return np.asarray(self.exact[rows], dtype=np.float32)

    def search(self, query: np.ndarray, k: int, allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Top k (ids, cosine scores) for one query vector, among `allowed` row ids when given."""
        query = _float32(query).reshape(-1)
        k = min(k, self.index.ntotal if allowed is None else len(allowed))
        if k <= 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        if allowed is not None and len(allowed) <= EXACT_UP_TO:
            allowed = np.asarray(allowed, dtype=np.int64)
            if self.exact is not None:
                allowed = self._best_codes(allowed, query, REFINE * k)
            return _top(allowed, self.vectors_of(allowed) @ query, k)
        selector = _selector(allowed, self.index.ntotal) if allowed is not None else None
        if self.exact is None:
            params = faiss.SearchParameters(sel=selector) if selector is not None else None
            scores, ids = self.index.search(query.reshape(1, -1), k, params=params)
            keep = ids[0] >= 0
            return ids[0][keep], scores[0][keep]
        wanted = min(REFINE * k, self.index.ntotal if allowed is None else len(allowed))
        selective = allowed is not None and len(allowed) < SELECTIVE_SHARE * self.index.ntotal
        params = faiss.SearchParametersHNSW(efSearch=max(SELECTIVE_EF_SEARCH if selective else self.ef_search, wanted))
        if selector is not None:
            params.sel = selector
        _, ids = self.index.search(query.reshape(1, -1), wanted, params=params)
        ids = ids[0][ids[0] >= 0]
        return _top(ids, self.vectors_of(ids) @ query, k)

    def _best_codes(self, rows: np.ndarray, query: np.ndarray, n: int) -> np.ndarray:
        """The n of `rows` whose 8-bit codes score best: FAISS scans 384 bytes a row several times faster
        than numpy turns float16 into float32, so only the n best are read from the float16 copy."""
        if len(rows) <= n:
            return rows
        storage = faiss.downcast_index(self.index.storage)
        codes = faiss.rev_swig_ptr(storage.codes.data(), storage.ntotal * storage.code_size)
        subset = faiss.IndexScalarQuantizer(storage.d, storage.sq.qtype, faiss.METRIC_INNER_PRODUCT)
        subset.sq, subset.is_trained = storage.sq, True
        faiss.copy_array_to_vector(np.take(codes.reshape(storage.ntotal, -1), rows, axis=0).ravel(), subset.codes)
        subset.ntotal = len(rows)
        _, found = subset.search(query.reshape(1, -1), n)
        return rows[found[0][found[0] >= 0]]


def _top(ids: np.ndarray, scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    if len(ids) > k:
        best = np.argpartition(-scores, k - 1)[:k]
        ids, scores = ids[best], scores[best]
    order = np.argsort(-scores, kind="stable")
    return ids[order], scores[order].astype(np.float32)


def _selector(allowed: np.ndarray, total: int) -> faiss.IDSelector:
    """A bitmap selector: one bit a row, built in milliseconds where a hash set of a million ids takes tens."""
    mask = np.zeros(total, dtype=bool)
    mask[allowed] = True
    bitmap = np.packbits(mask, bitorder="little")
    selector = faiss.IDSelectorBitmap(total, faiss.swig_ptr(bitmap))
    selector.referenced_objects = [bitmap]  # FAISS reads the bitmap through a raw pointer
    return selector


def _scratch(rows: int, dimension: int) -> np.ndarray:
    """A float16 array in an unnamed temporary file: the copy of 10 M vectors is 7.2 GiB, written as it
    arrives, and `save` copies it into the version's folder."""
    if rows == 0:
        return np.zeros((0, dimension), dtype=np.float16)
    return np.memmap(tempfile.TemporaryFile(), dtype=np.float16, mode="w+", shape=(rows, dimension))


def _copy(source: np.ndarray, target: np.ndarray) -> None:
    """Row blocks of `source` into the start of `target`, so a memory-mapped copy is never read whole."""
    for start in range(0, len(source), COPY_ROWS):
        stop = min(start + COPY_ROWS, len(source))
        target[start:stop] = source[start:stop]


def _take(batches: Iterator[np.ndarray], rows: int) -> list[np.ndarray]:
    taken: list[np.ndarray] = []
    while sum(len(b) for b in taken) < rows:
        batch = next(batches, None)
        if batch is None:
            break
        taken.append(batch)
    return taken


def _chain(first: list[np.ndarray], rest: Iterator[np.ndarray]) -> Iterator[np.ndarray]:
    yield from first
    yield from rest


def _float32(vectors: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(vectors, dtype=np.float32)
