"""Lexical part of an index version: BM25 (Lucene variant) over the Swedish analyser's tokens.

Length normalisation is softer than Lucene's default (b 0.6, not 0.75): every chunk carries its unit's
title, §, Dnr and section in front of its text, so with full normalisation a short chunk that is little
more than that header outranks the paragraph that answers (eval/dev.jsonl: MRR@10 0.609 → 0.627 lexical).

The scores are bm25s's (method "lucene", Kamphuis et al., ECIR 2020: idf log(1 + (N − df + 0.5)/(df + 0.5)),
tf/(tf + k1·(1 − b + b·len/avglen))), precomputed per (token, chunk) into a token-major sparse matrix, but
built here in numpy from the chunks' token ids: no Python object per token, memory bounded by the matrix
itself. The ids are kept with the version, so an incremental publish scores new chunks (N, average length
and idf change, so every score is recomputed) without analysing the old text again.

A query reads only the postings it needs, exactly: MaxScore (Turtle & Flood 1995). Its tokens are added
cheapest bound first; once the best k scores seen so far beat what the tokens not yet read could give a
chunk that has none of the read ones, the rest are looked up only for the candidates that can still make
the top k. Common tokens (long posting lists, low idf) are then binary searches for a few thousand rows
instead of additions over a large share of N.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import islice
from pathlib import Path

import numpy as np

FOLDER = "lexical"
K1 = 1.2
B = 0.6
EMPTY = [""]  # an empty chunk is one empty token, as bm25s indexed it: N and the average length stay its
BATCH_TOKENS = 1 << 22  # tokens sorted at once while building: ~200 MB of temporaries
BATCH_CHUNKS = 100_000  # token lists turned into ids at once
SLACK = 1 + 1e-5  # float32 sums of a few terms round within this of the bound, which must not prune a tie
WINDOW = 1 << 20  # rows scored at a time: their partial scores (4 MB) stay in cache, where adding is 2x faster
FIRST = 64  # the first threshold comes from the best rows of the tokens read first, up to N/FIRST postings …
THETA_ROWS = 4  # … THETA_ROWS·k of each
LOOKUP = 8  # a binary search costs about as much as adding this many postings to the window
PROBE = 16  # a sorted array this many times longer than the other is searched, not scanned


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
            out += term.weight * _lookup(self.lexical.indices[term.start : term.stop], self.lexical.data[term.start : term.stop], unique)
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

        Two passes over batches of chunks: each batch's (token, row) pairs are counted by one sort of packed
        keys and kept (row int32 and tf, 6 bytes a posting), then scored into place once df is known. Peak
        memory is the ids, those pairs, and the matrix being filled (8 bytes a posting)."""
        ids = np.asarray(ids, dtype=np.uint32)
        offsets = np.asarray(offsets, dtype=np.int64)
        n, size = len(offsets) - 1, len(vocabulary)
        if len(ids) and int(ids.max()) >= size:
            raise ValueError(f"token id {int(ids.max())} is outside the vocabulary of {size}")
        lengths = np.diff(offsets)
        batches = [_pairs(ids, offsets, start, stop, size) for start, stop in _batches(offsets)]
        df = np.zeros(size, dtype=np.int64)
        for counts, _, _ in batches:
            df += counts
        indptr = np.zeros(size + 1, dtype=np.int64)
        np.cumsum(df, out=indptr[1:])
        idf = _idf(df, n)
        # bm25s's expression, in its order and precision: float64 per chunk, idf rounded to float32 first
        norm = K1 * ((1 - B) + B * lengths / (int(lengths.sum()) / max(n, 1)))
        indices = np.empty(indptr[-1], dtype=np.int32)
        data = np.empty(indptr[-1], dtype=np.float32)
        filled = indptr[:-1].copy()
        batches.reverse()
        while batches:
            counts, batch_rows, tf = batches.pop()
            terms = np.repeat(np.arange(size), counts)
            at = np.repeat(filled - (np.cumsum(counts) - counts), counts) + np.arange(len(batch_rows))
            indices[at] = batch_rows
            tf = tf.astype(np.float64)
            data[at] = idf[terms] * (tf / (norm[batch_rows] + tf))
            filled += counts
            del counts, batch_rows, tf, terms, at
        peaks = np.zeros(size, dtype=np.float32)
        if len(data):
            peaks[df > 0] = np.maximum.reduceat(data, indptr[:-1][df > 0])
        return cls(vocabulary, ids, offsets, indptr, indices, data, peaks)

    def append(self, documents: Iterable[list[str]]) -> Lexical:
        """A new Lexical with `documents` as rows N, N + 1, …; old chunks are not analysed again."""
        vocabulary = dict(self.vocabulary)
        ids, offsets = token_ids(documents, vocabulary)
        return Lexical.from_tokens(
            np.concatenate([self.tokens, ids]), np.concatenate([self.offsets, offsets[1:] + self.offsets[-1]]), vocabulary
        )

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
        mapped = {name: np.load(here / f"{name}.npy", mmap_mode="r") for name in ("tokens", "offsets", "indices", "data")}
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
        query.sort(key=lambda t: -t.bound / (t.stop - t.start))  # the most bound per posting read first
        rest = np.cumsum([t.bound for t in query][::-1])[::-1].tolist() + [0.0]
        theta = self._first_theta(query, within, k)
        starts = np.arange(0, self.n, WINDOW)
        edges = [np.append(np.searchsorted(self.indices[t.start : t.stop], starts) + t.start, t.stop) for t in query]
        allowed_edges = np.searchsorted(within.rows, np.append(starts, self.n)) if within is not None else None
        buffer = np.zeros(min(WINDOW, self.n), dtype=np.float32)
        rows, scores = np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.float32)
        for w, start in enumerate(starts.tolist()):
            if within is not None:
                within.window(allowed_edges[w], allowed_edges[w + 1])
            found, part, theta = self._window(query, rest, [e[w : w + 2] for e in edges], within, start, buffer, theta, k)
            rows, scores = np.concatenate([rows, found]), np.concatenate([scores, part])
            if len(scores) >= k:
                best = _largest(scores, k)
                rows, scores = rows[best], scores[best]
                theta = max(theta, float(scores.min()))
        return Matches(self, query, _top(rows, scores, k))

    def _first_theta(self, query: list[_Term], within: _Allowed | None, k: int) -> float:
        """A first lower bound for the k-th best score, before any window: the k-th best exact score among
        the rows where the first tokens (the cheapest, up to N/FIRST postings) score best."""
        picked, spent = [], 0
        for term in query:
            spent += term.stop - term.start
            if picked and spent > self.n // FIRST:
                break
            rows, scores = self._postings(term, within)
            picked.append(rows[_largest(scores, THETA_ROWS * k)])
        rows = np.unique(np.concatenate(picked))
        if len(rows) < k:
            return 0.0
        full = np.zeros(len(rows), dtype=np.float32)
        for term in query:
            full += term.weight * _lookup(self.indices[term.start : term.stop], self.data[term.start : term.stop], rows)
        return float(full[_largest(full, k)].min())

    def _window(
        self, query: list[_Term], rest: list[float], edges: list[np.ndarray], within: _Allowed | None,
        start: int, buffer: np.ndarray, theta: float, k: int,
    ) -> tuple[np.ndarray, np.ndarray, float]:
        """MaxScore over rows start … start + WINDOW: the tokens that could lift a row to `theta` are added
        into `buffer` (the window's partial scores, small enough to stay in cache); rows that can still make
        the top k then get the others, by lookup, or added too while those rows are many. Candidate rows,
        their exact scores, and theta raised by what was seen."""
        read = 0
        while read < len(query) and rest[read] * SLACK >= theta:
            rows, scores = self.indices[edges[read][0] : edges[read][1]], self.data[edges[read][0] : edges[read][1]]
            if within is not None:
                rows, scores = within.filter(rows, scores)
            np.add.at(buffer, rows - start, query[read].weight * scores)
            read += 1
        # a row none of those tokens holds scores at most rest[read] < theta: not among the k best
        size = min(WINDOW, self.n - start)
        floor = theta - rest[read] * SLACK if theta else 0.0
        local = np.flatnonzero(buffer[:size] >= floor) if floor > 0 else np.flatnonzero(buffer[:size])
        part = buffer[local]
        adding = True
        for i in range(read, len(query)):
            if len(part) > k:
                theta = max(theta, float(part[_largest(part, k)].min()))
                keep = part + rest[i] * SLACK >= theta
                local, part = local[keep], part[keep]
            a, b = edges[i]
            adding = adding and len(local) * LOOKUP > b - a
            if adding:
                np.add.at(buffer, self.indices[a:b] - start, query[i].weight * self.data[a:b])
                part = buffer[local]
            else:
                part += query[i].weight * _lookup(self.indices[a:b], self.data[a:b], (local + start).astype(np.int32))
        buffer.fill(0)
        return (local + start).astype(np.int32), part, theta

    def scores(self, terms: dict[str, float]) -> np.ndarray:
        """BM25 score of every chunk, N long: for callers that need them all."""
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
        out = []
        for token, weight in terms.items():
            if weight < 0:
                raise ValueError(f"{token!r}: a negative weight would break the bound that prunes")
            i = self.vocabulary.get(token)
            if i is not None and weight > 0 and self.indptr[i + 1] > self.indptr[i]:
                w = np.float32(weight)
                out.append(_Term(int(self.indptr[i]), int(self.indptr[i + 1]), w, float(w) * float(self.peaks[i])))
        return out

    def _postings(self, term: _Term, within: _Allowed | None) -> tuple[np.ndarray, np.ndarray]:
        rows, scores = self.indices[term.start : term.stop], self.data[term.start : term.stop]
        if within is not None:
            rows, scores = within.filter(rows, scores)
        return rows, term.weight * scores


def _lookup(postings: np.ndarray, scores: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """A token's score for each of `rows` (sorted, int32 like the postings: searchsorted would copy a
    posting list of another type), 0 where it is absent; the shorter side is searched in the other."""
    out = np.zeros(len(rows), dtype=np.float32)
    if not len(postings) or not len(rows):
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


def _pairs(ids: np.ndarray, offsets: np.ndarray, start: int, stop: int, size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The batch's distinct (token, row) pairs, token-major with rows ascending: postings per token
    (size long), each posting's row, its term frequency."""
    tokens = np.asarray(ids[offsets[start] : offsets[stop]], dtype=np.int64)
    shift = max(stop - start - 1, 1).bit_length()
    keys = (tokens << shift) | np.repeat(np.arange(stop - start, dtype=np.int64), np.diff(offsets[start : stop + 1]))
    del tokens
    keys.sort()
    if not len(keys):
        return np.zeros(size, dtype=np.int64), np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.uint16)
    first = np.flatnonzero(np.concatenate(([True], keys[1:] != keys[:-1])))
    tf = np.diff(first, append=len(keys))
    keys = keys[first]
    rows = ((keys & ((1 << shift) - 1)) + start).astype(np.int32)
    counts = np.bincount(keys >> shift, minlength=size)
    return counts, rows, tf.astype(np.uint16 if tf.max() < 1 << 16 else np.uint32)


def _idf(df: np.ndarray, n: int) -> np.ndarray:
    """Lucene's idf, 0 for a token no chunk holds (bm25s's _score_idf_lucene, rounded to float32 as it is)."""
    out = np.zeros(len(df), dtype=np.float32)
    held = df > 0
    out[held] = np.log(1 + (n - df[held] + 0.5) / (df[held] + 0.5))
    return out


class _Allowed:
    """Membership in a filter's rows, asked of posting lists a window at a time: the shorter side is
    searched in the longer one, and a boolean mask over N is built (once) only when both are long."""

    def __init__(self, rows: np.ndarray, n: int):
        self.rows, self.n = rows, n
        self.here = rows
        self.mask: np.ndarray | None = None

    def window(self, lo: int, hi: int) -> None:
        self.here = self.rows[lo:hi]

    def filter(self, rows: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        allowed = self.here
        if not len(allowed) or not len(rows):
            return rows[:0], scores[:0]
        if len(allowed) * PROBE < len(rows):
            at = np.minimum(np.searchsorted(rows, allowed), len(rows) - 1)
            hit = rows[at] == allowed
            return allowed[hit], scores[at[hit]]
        if self.mask is None and len(rows) * PROBE < len(allowed):
            at = np.minimum(np.searchsorted(allowed, rows), len(allowed) - 1)
            keep = allowed[at] == rows
        else:
            if self.mask is None:
                self.mask = np.zeros(self.n, dtype=bool)
                self.mask[self.rows] = True
            keep = self.mask[rows]
        return rows[keep], scores[keep]


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
