"""Lexical part of an index version: BM25 (Lucene variant) over the Swedish analyser's tokens.

Length normalisation is softer than Lucene's default (b 0.6, not 0.75): every chunk carries its unit's
title, §, Dnr and section in front of its text, so with full normalisation a short chunk that is little
more than that header outranks the paragraph that answers (eval/dev.jsonl: MRR@10 0.609 → 0.627 lexical).

The scores are bm25s's (method "lucene", Kamphuis et al., ECIR 2020: idf log(1 + (N − df + 0.5)/(df + 0.5)),
tf/(tf + k1·(1 − b + b·len/avglen))), precomputed per (token, chunk) into a token-major sparse matrix, but
built here in numpy from the chunks' token ids: no Python object per token, memory bounded by the matrix
itself. The ids are kept with the version, so an incremental publish scores new chunks (N, average length
and idf change, so every score is recomputed) without analysing the old text again.

A query reads only the postings it needs and is exact: MaxScore (Turtle & Flood 1995). Its tokens are
added to an N-long array of partial scores, the most bound (weight × the token's best score) per posting
first; once the k-th best exact score known is above what the tokens not yet read could add, a chunk
holding none of the read ones cannot make the top k, and the rest (the common tokens, long posting lists
and low idf) are only looked up, by binary search, for the candidates that still can, pruned as they go.
In the synthetic benchmark (bench/lexical.py) queries read about a quarter of their postings.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import islice
from pathlib import Path

import numpy as np

FOLDER = "lexical"
_MAPPED = ("tokens", "offsets", "indices", "data")  # memory-mapped on load; indptr, peaks are small
K1 = 1.2
B = 0.6
EMPTY = [""]  # an empty chunk is one empty token, as callers gave it to bm25s: N and the average length stay
BATCH_TOKENS = 1 << 22  # tokens sorted at once while building: ~200 MB of temporaries
BATCH_CHUNKS = 100_000  # token lists turned into ids at once
SLACK = 1 + 1e-5  # float32 sums of a few terms round within this of the bound, which must not prune a tie
# Costs that set the search's choices, measured at 5 M chunks: adding a posting to the N-long array ~10 ns,
# a binary search in a long posting list ~0.5 µs (cache misses), a pass over N ~1 ns a row.
REFRESH = 8  # tokens with up to N/REFRESH postings are read as they come; before a longer one, the threshold
THETA_ROWS = 4  # is raised from the THETA_ROWS·k best rows so far, fully scored
LOOKUP = 8  # while candidates are over a token's postings / LOOKUP, it is added, not looked up
SCAN = 16  # once the postings added are over N/SCAN, rows are found and zeroed by a pass over N
RUNS = 64  # a filter in fewer runs of rows than a list's postings / RUNS cuts the list at the runs' ends


@dataclass(frozen=True)
class _Term:
    start: int
    stop: int
    weight: np.float32
    bound: float  # the most this token adds to any chunk's score


class Matches:
    """One query's k best rows, and the exact score of any other rows (the dense ranker's candidates)."""

    def __init__(self, lexical: Lexical, terms: list[_Term], top: dict[int, float]):
        self.lexical, self.terms, self.top = lexical, terms, top

    def of(self, rows: np.ndarray) -> np.ndarray:
        unique, back = np.unique(np.asarray(rows, dtype=np.int32), return_inverse=True)
        out = np.zeros(len(unique), dtype=np.float32)
        for term in self.terms:  # the order search added them in, so a row in `top` gets the same float32 sum
            out += term.weight * self.lexical._lookup(term, unique)
        return out[back]


class Lexical:
    """Every chunk's token ids, and the BM25 matrix they give: for each token, the rows holding it (sorted)
    and their precomputed scores."""

    def __init__(
        self,
        vocabulary: dict[str, int],
        tokens: np.ndarray,
        offsets: np.ndarray,
        indptr: np.ndarray,
        indices: np.ndarray,
        data: np.ndarray,
        peaks: np.ndarray,
    ):
        self.vocabulary = vocabulary
        self.tokens, self.offsets = tokens, offsets
        self.indptr, self.indices, self.data, self.peaks = indptr, indices, data, peaks
        self._buffers: list[np.ndarray] = []  # for _partial; list.pop and append are atomic

    @property
    def n(self) -> int:
        return len(self.offsets) - 1

    @classmethod
    def build(cls, documents: Iterable[list[str]]) -> Lexical:
        """From token lists; a generator works, and is read a batch at a time."""
        vocabulary: dict[str, int] = {}
        ids, offsets = token_ids(documents, vocabulary)
        return cls.from_tokens(ids, offsets, vocabulary)

    @classmethod
    def from_tokens(cls, ids: np.ndarray, offsets: np.ndarray, vocabulary: dict[str, int]) -> Lexical:
        """`ids` (uint32, every chunk's token ids in row order) with `offsets` (N + 1: chunk i is
        ids[offsets[i]:offsets[i + 1]]), ids 0 … len(vocabulary) − 1. A row without ids has length 0 and no
        postings (Lexical.build gives an empty chunk the empty token instead, as bm25s did).

        Two passes over batches of chunks, each sorting the batch's packed (token, row) keys: the first
        counts df, the second scores each pair into its place. Peak memory is the ids, the matrix (8 bytes a
        posting) and one batch; keeping the first pass's pairs instead would save its sort for 6 bytes a
        posting more."""
        ids = np.asarray(ids, dtype=np.uint32)
        offsets = np.asarray(offsets, dtype=np.int64)
        n, size = len(offsets) - 1, len(vocabulary)
        if len(ids) and int(ids.max()) >= size:
            raise ValueError(f"token id {int(ids.max())} is outside the vocabulary of {size}")
        df = np.zeros(size, dtype=np.int64)
        for start, stop in _batches(offsets):
            keys, _, shift = _pairs(ids, offsets, start, stop)
            df += np.bincount(keys >> shift, minlength=size)
        indptr = np.zeros(size + 1, dtype=np.int64)
        np.cumsum(df, out=indptr[1:])
        idf = _idf(df, n)
        # bm25s's expression, in its order and precision: float64 per chunk, idf rounded to float32 first
        lengths = np.diff(offsets)
        norm = K1 * ((1 - B) + B * lengths / (int(lengths.sum()) / max(n, 1)))
        indices = np.empty(indptr[-1], dtype=np.int32)
        data = np.empty(indptr[-1], dtype=np.float32)
        filled = indptr[:-1].copy()
        for start, stop in _batches(offsets):
            keys, tf, shift = _pairs(ids, offsets, start, stop)
            terms, rows = keys >> shift, (keys & ((1 << shift) - 1)) + start
            counts = np.bincount(terms, minlength=size)
            at = (filled - (np.cumsum(counts) - counts))[terms] + np.arange(len(keys))
            indices[at] = rows
            data[at] = idf[terms] * (tf / (norm[rows] + tf))
            filled += counts
        peaks = np.zeros(size, dtype=np.float32)
        if len(data):
            peaks[df > 0] = np.maximum.reduceat(data, indptr[:-1][df > 0])
        return cls(vocabulary, ids, offsets, indptr, indices, data, peaks)

    def append(self, documents: Iterable[list[str]]) -> Lexical:
        """A new Lexical with `documents` as rows N, N + 1, …; old chunks are not analysed again."""
        vocabulary = dict(self.vocabulary)
        ids, offsets = token_ids(documents, vocabulary)
        offsets = np.concatenate([self.offsets, offsets[1:] + self.offsets[-1]])
        return Lexical.from_tokens(np.concatenate([self.tokens, ids]), offsets, vocabulary)

    @classmethod
    def load(cls, folder: Path) -> Lexical:
        """The large arrays are memory-mapped: a version opens in milliseconds whatever its size, and its
        token ids, read only by append, stay on disk."""
        here = folder / FOLDER
        if not (here / "vocabulary.json").is_file():
            raise FileNotFoundError(
                f"{here}: this index version's lexical part was written by an older protokollsok (bm25s files); "
                "run `protokollsok ingest` on the records again: it rewrites the index without re-encoding anything"
            )
        words = json.loads((here / "vocabulary.json").read_text(encoding="utf-8"))
        mapped = {name: np.load(here / f"{name}.npy", mmap_mode="r") for name in _MAPPED}
        return cls(
            {word: i for i, word in enumerate(words)}, mapped["tokens"], mapped["offsets"],
            np.load(here / "indptr.npy"), mapped["indices"], mapped["data"], np.load(here / "peaks.npy"),
        )

    def save(self, folder: Path) -> None:
        here = folder / FOLDER
        here.mkdir(parents=True, exist_ok=True)
        words = sorted(self.vocabulary, key=self.vocabulary.__getitem__)
        (here / "vocabulary.json").write_text(json.dumps(words, ensure_ascii=False), encoding="utf-8")
        for name in ("tokens", "offsets", "indptr", "indices", "data", "peaks"):
            np.save(here / f"{name}.npy", getattr(self, name))

    def search(self, terms: dict[str, float], allowed: np.ndarray | None, k: int) -> Matches:
        """The k best rows with a score above 0, among `allowed` (sorted row numbers) when given. `terms`
        weighs each token (how often it was typed, less for a synonym); tokens the index never saw add
        nothing. Exact: the same rows (up to ties) as scoring every chunk."""
        query = self._terms(terms)
        if not query or k <= 0 or (allowed is not None and not len(allowed)):
            return Matches(self, query, {})
        within = _Allowed(np.asarray(allowed, dtype=np.int32), self.n) if allowed is not None else None
        with self._partial() as partial:
            rows, scores = self._maxscore(query, within, k, partial)
        return Matches(self, query, _top(rows, scores, k))

    def _maxscore(
        self, query: list[_Term], within: _Allowed | None, k: int, partial: _Partial
    ) -> tuple[np.ndarray, np.ndarray]:
        """Candidate rows with their exact scores, the k best among them; `query` is left in the order its
        tokens were added in."""
        query.sort(key=lambda t: -t.bound / (t.stop - t.start))  # the most bound per posting read first
        rest = _suffix_sums(query)
        theta, read, fresh = 0.0, 0, True  # fresh: theta has seen every token read
        while read < len(query) and rest[read] * SLACK >= theta:
            if not fresh and query[read].stop - query[read].start > self.n // REFRESH:
                theta = max(theta, self._theta(*partial.best(THETA_ROWS * k), query[read:], k))
                fresh = True
                continue
            partial.add(*self._postings(query[read], within))
            read, fresh = read + 1, False
        # a row none of those tokens holds scores at most rest[read] < theta: not among the k best
        rows, part = partial.above(theta - rest[read] * SLACK if theta else 0.0)
        if not fresh and read < len(query):
            best = _largest(part, THETA_ROWS * k)
            theta = max(theta, self._theta(rows[best], part[best], query[read:], k))
        # the others by bound, largest first, so that candidates fall fastest: added like the ones before
        # while candidates are many, then looked up for each candidate
        query[read:] = sorted(query[read:], key=lambda t: -t.bound)
        rest[read:] = _suffix_sums(query[read:])
        adding = True
        for i in range(read, len(query)):
            if len(part) > k:
                theta = max(theta, float(part[_largest(part, k)].min()))
                keep = part + rest[i] * SLACK >= theta
                rows, part = rows[keep], part[keep]
            term = query[i]
            adding = adding and len(rows) * LOOKUP > term.stop - term.start
            if adding:
                partial.add(*self._postings(term, None))
                part = partial.of(rows)
            else:
                part += term.weight * self._lookup(term, rows)
        return rows, part

    def _theta(self, rows: np.ndarray, part: np.ndarray, later: list[_Term], k: int) -> float:
        """A lower bound for the k-th best score: the k-th best exact score of `rows`, whose scores so far
        are `part` and whose `later` tokens are looked up (0 if fewer than k rows)."""
        if len(rows) < k:
            return 0.0
        order = np.argsort(rows)
        rows, full = rows[order], part[order]
        for term in later:
            full += term.weight * self._lookup(term, rows)
        return float(full[_largest(full, k)].min())

    @contextmanager
    def _partial(self) -> Iterator[_Partial]:
        """An N-long float32 array of zeros, from those kept for reuse (a fresh one per query would cost a
        page fault per 4 KB written), zeroed again after the query."""
        try:
            buffer = self._buffers.pop()
        except IndexError:
            buffer = np.zeros(self.n, dtype=np.float32)
        partial = _Partial(buffer)
        try:
            yield partial
        finally:
            partial.clear()
            self._buffers.append(buffer)

    def scores(self, terms: dict[str, float]) -> np.ndarray:
        """BM25 score of every chunk, N long, as `search` weighs `terms`: the exhaustive way, for what
        compares with it (bench/index_scale.py, tests)."""
        out = np.zeros(self.n, dtype=np.float32)
        for term in self._terms(terms):
            np.add.at(out, self.indices[term.start : term.stop], term.weight * self.data[term.start : term.stop])
        return out

    def frequencies(self) -> tuple[dict[str, int], np.ndarray, int]:
        """Vocabulary, document frequency by token id, number of chunks: what IDF is made of."""
        return self.vocabulary, np.diff(self.indptr), self.n

    def matrix(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """indptr (V + 1), indices (rows, int32) and data (scores, float32) of the token-major matrix: token
        t's postings are indices[indptr[t]:indptr[t + 1]], sorted, their scores at the same places in data."""
        return self.indptr, self.indices, self.data

    def _terms(self, terms: dict[str, float]) -> list[_Term]:
        """The query's tokens the index holds, each with its posting list and the most it can add."""
        out = []
        for token, weight in terms.items():
            if weight < 0:
                raise ValueError(f"{token!r}: a negative weight would break the bound that prunes")
            i = self.vocabulary.get(token)
            if i is not None and weight > 0 and self.indptr[i + 1] > self.indptr[i]:
                w = np.float32(weight)
                out.append(_Term(int(self.indptr[i]), int(self.indptr[i + 1]), w, float(w) * float(self.peaks[i])))
        return out

    def _lookup(self, term: _Term, rows: np.ndarray) -> np.ndarray:
        """The token's score for each of `rows` (sorted, int32 like the postings: searchsorted would copy a
        posting list of another type), 0 where it is absent; the shorter side is searched in the other."""
        postings, scores = self.indices[term.start : term.stop], self.data[term.start : term.stop]
        out = np.zeros(len(rows), dtype=np.float32)
        if not len(rows):
            return out
        if len(rows) <= len(postings):
            at = np.minimum(np.searchsorted(postings, rows), len(postings) - 1)
            hit = postings[at] == rows
            out[hit] = scores[at[hit]]
        else:
            at = np.minimum(np.searchsorted(rows, postings), len(rows) - 1)
            hit = rows[at] == postings
            out[at[hit]] = scores[hit]
        return out

    def _postings(self, term: _Term, within: _Allowed | None) -> tuple[np.ndarray, np.ndarray]:
        rows, scores = self.indices[term.start : term.stop], self.data[term.start : term.stop]
        if within is not None:
            rows, scores = within.filter(rows, scores)
        return rows, (scores if term.weight == 1 else term.weight * scores)  # most tokens: a pass fewer


def token_ids(documents: Iterable[list[str]], vocabulary: dict[str, int]) -> tuple[np.ndarray, np.ndarray]:
    """Token lists → flat uint32 ids and N + 1 offsets, new tokens added to `vocabulary` in the order met.
    A batch of chunks at a time, so no Python int per token is held for all of them."""
    ids: list[np.ndarray] = []
    lengths: list[np.ndarray] = []
    chunks = iter(documents)
    while batch := [tokens or EMPTY for tokens in islice(chunks, BATCH_CHUNKS)]:
        flat = [token for tokens in batch for token in tokens]
        for token in dict.fromkeys(flat):
            vocabulary.setdefault(token, len(vocabulary))
        ids.append(np.fromiter(map(vocabulary.__getitem__, flat), dtype=np.uint32, count=len(flat)))
        lengths.append(np.fromiter(map(len, batch), dtype=np.int64, count=len(batch)))
    offsets = np.zeros(sum(map(len, lengths)) + 1, dtype=np.int64)
    if lengths:
        np.cumsum(np.concatenate(lengths), out=offsets[1:])
    return (np.concatenate(ids) if ids else np.zeros(0, dtype=np.uint32)), offsets


def _batches(offsets: np.ndarray) -> Iterator[tuple[int, int]]:
    """Consecutive chunks holding about BATCH_TOKENS tokens (at least one chunk)."""
    n, start = len(offsets) - 1, 0
    while start < n:
        stop = int(np.searchsorted(offsets, offsets[start] + BATCH_TOKENS, side="right")) - 1
        stop = min(max(stop, start + 1), n)
        yield start, stop
        start = stop


def _pairs(ids: np.ndarray, offsets: np.ndarray, start: int, stop: int) -> tuple[np.ndarray, np.ndarray, int]:
    """The batch's distinct (token, row) pairs as keys token << shift | row − start, sorted (token-major,
    rows ascending), with each pair's term frequency (float64, as bm25s scores it)."""
    tokens = np.asarray(ids[offsets[start] : offsets[stop]], dtype=np.int64)
    shift = max(stop - start - 1, 1).bit_length()
    keys = (tokens << shift) | np.repeat(np.arange(stop - start, dtype=np.int64), np.diff(offsets[start : stop + 1]))
    del tokens
    keys.sort()
    first = np.flatnonzero(np.concatenate(([True], keys[1:] != keys[:-1]))[: len(keys)])
    return keys[first], np.diff(first, append=len(keys)).astype(np.float64), shift


def _idf(df: np.ndarray, n: int) -> np.ndarray:
    """Lucene's idf, 0 for a token no chunk holds (bm25s's _score_idf_lucene, rounded to float32 as it is)."""
    out = np.zeros(len(df), dtype=np.float32)
    held = df > 0
    out[held] = np.log(1 + (n - df[held] + 0.5) / (df[held] + 0.5))
    return out


class _Allowed:
    """A filter's rows, applied to posting lists: by cutting a list at the ends of the filter's runs of
    consecutive rows (rows are in doc_id order, so a kommun is one run, a year one run per document), or,
    when the runs are many, through a boolean mask over N built once."""

    def __init__(self, rows: np.ndarray, n: int):
        self.rows, self.n = rows, n
        cut = np.flatnonzero(np.diff(rows) != 1) + 1
        self.starts = rows[np.concatenate(([0], cut))]
        self.stops = rows[np.concatenate((cut - 1, [len(rows) - 1]))] + 1
        self.mask: np.ndarray | None = None

    def filter(self, rows: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if len(self.starts) * RUNS < len(rows):
            lo, hi = np.searchsorted(rows, self.starts), np.searchsorted(rows, self.stops)
            at = _ranges(lo, hi)
            return rows[at], scores[at]
        if self.mask is None:
            self.mask = np.zeros(self.n, dtype=bool)
            self.mask[self.rows] = True
        keep = self.mask[rows]
        return rows[keep], scores[keep]


class _Partial:
    """Partial scores of the rows read, in a zeroed N-long array: each token's postings are added in turn
    (in the order Matches.of adds them, so the float32 sums agree), and the rows written are kept. Finding
    and zeroing those rows again costs a gather or scatter per posting written; once they are over N/SCAN,
    a pass over all N (compare, memset) is cheaper."""

    def __init__(self, buffer: np.ndarray):
        self.buffer = buffer
        self.written: list[np.ndarray] = []
        self.count = 0

    def add(self, rows: np.ndarray, scores: np.ndarray) -> None:
        np.add.at(self.buffer, rows, scores)  # a token's rows are distinct; add.at is numpy's fast scatter-add
        self.written.append(rows)
        self.count += len(rows)

    def of(self, rows: np.ndarray) -> np.ndarray:
        return self.buffer[rows]

    def best(self, count: int) -> tuple[np.ndarray, np.ndarray]:
        """Rows with the best partial scores among the last token's: likely good rows, and any rows give a
        lower bound."""
        last = self.written[-1]
        part = self.buffer[last]
        at = _largest(part, count)
        return np.asarray(last[at], dtype=np.int32), part[at]

    def above(self, floor: float) -> tuple[np.ndarray, np.ndarray]:
        """The rows whose partial score reaches `floor` (every row read, for 0), sorted."""
        if self.count * SCAN > len(self.buffer):
            rows = np.flatnonzero(self.buffer >= floor if floor > 0 else self.buffer)
            return rows.astype(np.int32), self.buffer[rows]
        taken = []
        for rows in self.written:  # a row taken is negated for a moment: another token holding it skips it
            part = self.buffer[rows]
            rows = rows[part >= floor] if floor > 0 else rows[part > 0]
            self.buffer[rows] *= -1
            taken.append(rows)
        rows = np.sort(np.concatenate(taken)) if taken else np.zeros(0, dtype=np.int32)
        part = -self.buffer[rows]
        self.buffer[rows] = part
        return rows.astype(np.int32), part

    def clear(self) -> None:
        if self.count * SCAN > len(self.buffer):
            self.buffer.fill(0)
            return
        for rows in self.written:
            self.buffer[rows] = 0


def _suffix_sums(query: list[_Term]) -> list[float]:
    """rest[i]: the most tokens i, i + 1, … can add to any row's score."""
    return np.cumsum([t.bound for t in query][::-1])[::-1].tolist() + [0.0]


def _ranges(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """lo[0] … hi[0] − 1, lo[1] … hi[1] − 1, …, concatenated."""
    lengths = hi - lo
    keep = lengths > 0
    lo, lengths = lo[keep], lengths[keep]
    if not len(lo):
        return np.zeros(0, dtype=np.int64)
    steps = np.ones(int(lengths.sum()), dtype=np.int64)
    steps[0] = lo[0]
    ends = np.cumsum(lengths)[:-1]
    steps[ends] = lo[1:] - (lo[:-1] + lengths[:-1] - 1)
    return np.cumsum(steps)


def _largest(values: np.ndarray, count: int) -> np.ndarray:
    """Where the `count` largest values are, in no order. Over many values, a threshold from every 16th
    one keeps about 8·count of them for the exact partition: a compare per value instead of a selection."""
    n = len(values)
    if n <= count:
        return np.arange(n)
    if n > 64 * count:
        sample = values[::16]
        floor = np.partition(sample, len(sample) - count // 2 - 1)[len(sample) - count // 2 - 1]
        keep = np.flatnonzero(values >= floor)
        if len(keep) >= count:
            return keep[np.argpartition(values[keep], len(keep) - count)[len(keep) - count :]]
    return np.argpartition(values, n - count)[n - count :]


def _top(rows: np.ndarray, scores: np.ndarray, k: int) -> dict[int, float]:
    """The k best with a score above 0, best first."""
    at = _largest(scores, k)
    at = at[np.argsort(-scores[at], kind="stable")]
    return {int(r): float(v) for r, v in zip(rows[at], scores[at]) if v > 0}
