"""Retrieval metrics as small pure functions over one ranked list of relevance flags (True = relevant)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np


def recall_at(relevant: Sequence[bool], k: int) -> float:
    """1 when any relevant chunk is in the top k (one answer passage is enough to answer from)."""
    return float(any(relevant[:k]))


def reciprocal_rank(relevant: Sequence[bool], k: int = 10) -> float:
    for rank, flag in enumerate(relevant[:k], 1):
        if flag:
            return 1.0 / rank
    return 0.0


def ndcg_at(relevant: Sequence[bool], k: int, total_relevant: int) -> float:
    """Binary-gain nDCG (Järvelin & Kekäläinen 2002); the ideal list holds every relevant chunk in the index."""
    dcg = sum(1.0 / math.log2(rank + 1) for rank, flag in enumerate(relevant[:k], 1) if flag)
    ideal = sum(1.0 / math.log2(rank + 1) for rank in range(1, min(k, total_relevant) + 1))
    return dcg / ideal if ideal else 0.0


def coverage(found: Sequence[bool]) -> float:
    """Share of a question's evidence items found in the top k."""
    return sum(found) / len(found) if found else 0.0


def percentile(values: Sequence[float], q: float) -> float:
    return float(np.percentile(np.asarray(values, dtype=float), q)) if len(values) else 0.0
