"""The k best rows of a BM25 query, exact and compiled: MaxScore (Turtle & Flood 1995), a block of rows at
a time.

In numpy, adding posting lists into an N-long array of partial scores costs 4–15 ns a posting at 10 M
chunks, and each pass over that array (finding candidates, zeroing it) 5–10 ms more: 40 MB does not stay
in cache. Here rows are taken BLOCK at a time, into a block-long array that stays in L2:
- the essential tokens' postings in the block are added;
- the rows that can still make the top k are the block's candidates; the other tokens are added to them
  best bound first, each read through the block when its postings there are fewer than LOOKUP times the
  candidates, else looked up for each (a cursor per token, galloping forward: rows only grow);
- after each token, candidates that cannot reach the k-th best score so far (theta) with what is left are
  dropped; the rest go to a heap of the k best.
As theta rises, the tokens whose bounds together stay below it stop being essential: a row holding only
those cannot make the top k. Those are the common tokens, with long lists and low idf.

Scores are summed in float64 from float32 parts (weight × precomputed score). Over a query's few dozen
tokens the order of the sum then changes nothing at float32 precision, so a row scores the same here, in
Matches.of and in Lexical.scores, whichever tokens were essential when it was met.
"""

from __future__ import annotations

import numba
import numpy as np
from numba import types

BLOCK = 1 << 16  # rows a block: 512 KB of float64 partial scores, well inside L2
SLACK = 1 + 1e-9  # bounds are summed in another order than scores: never prune a row by a rounding
LOOKUP = 8  # a lookup (galloping) costs about as much as reading this many postings into the block
_READ_ONLY = {dtype: types.Array(dtype, 1, "C", readonly=True) for dtype in (types.int32, types.float32)}
# top_k is compiled on import (cached on disk), after the helpers it calls: no search waits for it
_SIGNATURE = types.Tuple((types.int64[::1], types.float64[::1]))(
    _READ_ONLY[types.int32], _READ_ONLY[types.float32], types.int64[::1], types.int64[::1], types.float32[::1],
    types.float64[::1], types.int64[:, ::1], types.boolean[::1], types.int64, types.int64,
)


@numba.njit(nogil=True, cache=True)
def _blocks(spans: np.ndarray, block: int) -> list[tuple[int, int]]:
    """(first, last + 1) of each block, span by span."""
    out = []
    for s in range(len(spans)):
        for first in range(spans[s, 0], spans[s, 1], block):
            out.append((first, min(first + block, spans[s, 1])))
    return out


@numba.njit(nogil=True, cache=True)
def _gallop(indices: np.ndarray, p: int, stop: int, row: int) -> int:
    """The first place from p on (up to stop) whose row is ≥ `row`: steps doubling, then halving."""
    if p >= stop or indices[p] >= row:
        return p
    step = 1
    while p + step < stop and indices[p + step] < row:
        p += step
        step *= 2
    low, high = p + 1, min(p + step, stop)
    while low < high:
        middle = (low + high) // 2
        if indices[middle] < row:
            low = middle + 1
        else:
            high = middle
    return low


@numba.njit(nogil=True, cache=True)
def _sift_up(scores: np.ndarray, rows: np.ndarray, i: int) -> None:
    while i > 0:
        parent = (i - 1) // 2
        if scores[parent] <= scores[i]:
            return
        scores[parent], scores[i] = scores[i], scores[parent]
        rows[parent], rows[i] = rows[i], rows[parent]
        i = parent


@numba.njit(nogil=True, cache=True)
def _sift_down(scores: np.ndarray, rows: np.ndarray, size: int) -> None:
    i = 0
    while True:
        child = 2 * i + 1
        if child >= size:
            return
        if child + 1 < size and scores[child + 1] < scores[child]:
            child += 1
        if scores[i] <= scores[child]:
            return
        scores[i], scores[child] = scores[child], scores[i]
        rows[i], rows[child] = rows[child], rows[i]
        i = child


@numba.njit(_SIGNATURE, nogil=True, cache=True)
def top_k(
    indices: np.ndarray,
    data: np.ndarray,
    starts: np.ndarray,
    stops: np.ndarray,
    weights: np.ndarray,
    bounds: np.ndarray,
    spans: np.ndarray,
    mask: np.ndarray,
    k: int,
    block: int,
) -> tuple[np.ndarray, np.ndarray]:
    """The k best rows with a score above 0, in no order. Token t's postings are indices[starts[t]:stops[t]]
    (sorted rows) with scores data[…], weighed by weights[t]; bounds[t] is the most it adds to a row. Rows
    are read from the spans (spans[s, 0] … spans[s, 1] − 1, ascending), and only those with
    mask[row − spans[0, 0]] when mask is not empty; `block` rows at a time (BLOCK: any size gives the
    same rows)."""
    count = len(starts)
    masked = len(mask) > 0
    order = np.argsort(bounds)  # the smallest bounds stop being essential first
    below = np.zeros(count + 1)  # below[j]: the most order[0 … j − 1] add together
    for j in range(count):
        below[j + 1] = below[j] + bounds[order[j]]
    at = starts.copy()
    base = spans[0, 0]
    heap_scores = np.zeros(k)
    heap_rows = np.zeros(k, dtype=np.int64)
    size = 0
    theta = 0.0  # the k-th best score so far, 0 until k rows are held
    lazy = 0  # order[0 … lazy − 1] are only looked up
    partial = np.zeros(block)
    live = np.zeros(block, dtype=np.int32)  # the block's candidates, as offsets from its first row
    for first, last in _blocks(spans, block):
        while size == k and lazy < count and below[lazy + 1] * SLACK < theta:
            lazy += 1
        if lazy == count:  # no row yet to come can beat theta
            break
        for j in range(lazy, count):
            t = order[j]
            stop, w = stops[t], weights[t]
            p = _gallop(indices, at[t], stop, first)  # over the gap since the last span
            while p < stop and indices[p] < last:
                row = indices[p]
                if not masked or mask[row - base]:
                    partial[row - first] += w * data[p]
                p += 1
            at[t] = p
        floor = theta - below[lazy] * SLACK
        alive = 0
        for i in range(last - first):
            if partial[i] > 0.0 and partial[i] >= floor:
                live[alive] = i
                alive += 1
        j = lazy
        while j > 0 and alive > 0:
            j -= 1
            t = order[j]
            stop, w = stops[t], weights[t]
            p = _gallop(indices, at[t], stop, first)  # behind when an earlier block had no candidates left
            end = _gallop(indices, p, stop, last)
            if end - p < alive * LOOKUP:  # fewer postings than lookups cost: read them all
                for q in range(p, end):
                    partial[indices[q] - first] += w * data[q]
            else:
                for c in range(alive):
                    row = first + live[c]
                    p = _gallop(indices, p, end, row)
                    if p < end and indices[p] == row:
                        partial[live[c]] += w * data[p]
            at[t] = end
            floor = theta - below[j] * SLACK
            if floor <= 0.0:  # every candidate can still make it
                continue
            kept = 0
            for c in range(alive):
                if partial[live[c]] >= floor:
                    live[kept] = live[c]
                    kept += 1
            alive = kept
        for c in range(alive):  # complete: every lazy token added
            score, row = partial[live[c]], first + live[c]
            if size < k:
                heap_scores[size], heap_rows[size] = score, row
                size += 1
                _sift_up(heap_scores, heap_rows, size - 1)
            elif score > heap_scores[0]:
                heap_scores[0], heap_rows[0] = score, row
                _sift_down(heap_scores, heap_rows, size)
            if size == k:
                theta = heap_scores[0]
        partial[: last - first] = 0.0
    return heap_rows[:size], heap_scores[:size]
