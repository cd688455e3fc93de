"""Dense part of an index version: normalised vectors in FAISS, searched by inner product (= cosine).

Exact search (`IndexFlatIP`) up to `APPROXIMATE_FROM` vectors; above that an HNSW graph, whose recall
against exact search bench/scale.py measures: at 1,000,000 vectors recall@10 was 0.81-0.83 with efSearch
128 and 0.95-0.97 with 512, at about 2 ms, which is small beside the query embedding. A vector's position is its
chunk's row in the metadata store, so a filter is a FAISS id selector applied before ranking, not a cut
after it.
"""

from __future__ import annotations

from pathlib import Path

import faiss
import numpy as np

APPROXIMATE_FROM = 200_000
HNSW_NEIGHBOURS = 32
HNSW_EF_SEARCH = 512
FILE = "vectors.faiss"


class Vectors:
    def __init__(self, index: faiss.Index):
        self.index = index

    @classmethod
    def build(cls, vectors: np.ndarray, approximate_from: int = APPROXIMATE_FROM) -> "Vectors":
        dimension = vectors.shape[1]
        if len(vectors) >= approximate_from:
            inner = faiss.IndexHNSWFlat(dimension, HNSW_NEIGHBOURS, faiss.METRIC_INNER_PRODUCT)
            inner.hnsw.efConstruction = 64
        else:
            inner = faiss.IndexFlatIP(dimension)
        inner.add(np.ascontiguousarray(vectors, dtype=np.float32))
        return cls(inner)

    @classmethod
    def load(cls, folder: Path) -> "Vectors":
        return cls(faiss.read_index(str(folder / FILE)))

    def save(self, folder: Path) -> None:
        faiss.write_index(self.index, str(folder / FILE))

    @property
    def approximate(self) -> bool:
        return not isinstance(self.index, faiss.IndexFlat)

    def reconstruct_all(self) -> np.ndarray:
        return self.index.reconstruct_n(0, self.index.ntotal)

    def search(self, query: np.ndarray, k: int, allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Top k (ids, cosine scores) for one query vector, among `allowed` row ids when given."""
        k = min(k, self.index.ntotal if allowed is None else len(allowed))
        if k <= 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        params = None
        if allowed is not None:
            selector = faiss.IDSelectorBatch(np.ascontiguousarray(allowed, dtype=np.int64))
            params = (
                faiss.SearchParametersHNSW(sel=selector, efSearch=max(HNSW_EF_SEARCH, k))
                if self.approximate
                else faiss.SearchParameters(sel=selector)
            )
        elif self.approximate:
            params = faiss.SearchParametersHNSW(efSearch=max(HNSW_EF_SEARCH, k))
        scores, ids = self.index.search(query.reshape(1, -1).astype(np.float32), k, params=params)
        keep = ids[0] >= 0
        return ids[0][keep], scores[0][keep]
