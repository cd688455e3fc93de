"""Lexical part of an index version: BM25 (Lucene variant) over the Swedish analyser's tokens.

Length normalisation is softer than Lucene's default (b 0.6, not 0.75): every chunk carries its unit's
title, §, Dnr and section in front of its text, so with full normalisation a short chunk that is little
more than that header outranks the paragraph that answers (eval/dev.jsonl: MRR@10 0.609 → 0.627 lexical).

The scores are bm25s's (method "lucene", Kamphuis et al., ECIR 2020: idf log(1 + (N − df + 0.5)/(df + 0.5)),
tf/(tf + k1·(1 − b + b·len/avglen))), precomputed per (token, chunk) into a token-major sparse matrix, but
built here in numpy from the chunks' token ids: no Python object per token, memory bounded by the matrix
itself. The ids are kept with the version, so an incremental publish scores new chunks (N, average length
and idf change, so every score is recomputed) without analysing the old text again.

A query is exact and reads only what it needs: MaxScore, compiled, a block of rows at a time (maxscore.py).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import islice
from pathlib import Path

import numpy as np

from . import maxscore
from .recipe import DEFAULT as RECIPE

FOLDER = "lexical"
_MAPPED = ("tokens", "offsets", "indices", "data")  # memory-mapped on load; indptr, peaks are small
K1 = RECIPE.bm25_k1
B = RECIPE.bm25_b
EMPTY = [""]  # an empty chunk is one empty token, as callers gave it to bm25s: N and the average length stay
BATCH_TOKENS = 1 << 22  # tokens sorted at once while building: ~200 MB of temporaries
BATCH_CHUNKS = 100_000  # token lists turned into ids at once


@dataclass(frozen=True)
class _Term:
    start: int
    stop: int
    weight: np.float32
    bound: np.float32  # the most this token adds to any chunk's score: weight × its best, rounded as scores are


class Matches:
    """One query's k best rows, and the exact score of any other rows (the dense ranker's candidates)."""

    def __init__(self, lexical: Lexical, terms: list[_Term], top: dict[int, float]):
        self.lexical, self.terms, self.top = lexical, terms, top

    def of(self, rows: np.ndarray) -> np.ndarray:
        unique, back = np.unique(np.asarray(rows, dtype=np.int32), return_inverse=True)
        out = np.zeros(len(unique))
        for term in self.terms:  # float64 sums of float32 parts, as maxscore.top_k's: a row in `top` agrees
            out += term.weight * self.lexical._lookup(term, unique)
        return out.astype(np.float32)[back]


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
        self._postings = _read_only(indices), _read_only(data)  # as maxscore.top_k is compiled for

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
        spans, mask = np.array([[0, self.n]], dtype=np.int64), np.zeros(0, dtype=bool)
        if allowed is not None:
            spans, mask = _spans(np.asarray(allowed, dtype=np.int64))
        rows, scores = maxscore.top_k(
            *self._postings,
            np.array([t.start for t in query], dtype=np.int64),
            np.array([t.stop for t in query], dtype=np.int64),
            np.array([t.weight for t in query], dtype=np.float32),
            np.array([t.bound for t in query], dtype=np.float64),
            spans, mask, k, maxscore.BLOCK,
        )
        scores = scores.astype(np.float32)
        at = np.lexsort((rows, -scores))
        return Matches(self, query, {int(r): float(v) for r, v in zip(rows[at], scores[at]) if v > 0})

    def scores(self, terms: dict[str, float]) -> np.ndarray:
        """BM25 score of every chunk, N long, as `search` weighs `terms`: the exhaustive way, for what
        compares with it (bench/index_scale.py, tests)."""
        out = np.zeros(self.n)
        for term in self._terms(terms):
            np.add.at(out, self.indices[term.start : term.stop], term.weight * self.data[term.start : term.stop])
        return out.astype(np.float32)

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
                out.append(_Term(int(self.indptr[i]), int(self.indptr[i + 1]), w, w * self.peaks[i]))
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


def _read_only(values: np.ndarray) -> np.ndarray:
    """A plain array (a memmap's too) over the same memory, which cannot be written through."""
    view = np.asarray(values).view()
    view.flags.writeable = False
    return view


def _spans(allowed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A filter's rows (sorted) as the spans of rows a search reads, and a mask over the first span's start
    … the last one's end when the spans hold other rows too. Rows are in doc_id order, so a kommun is a
    run or a few (one per publish that added to it), a year or an organ a run per document: runs closer
    than a block are read as one span, through the mask; farther ones are skipped between spans."""
    cut = np.flatnonzero(np.diff(allowed) > maxscore.BLOCK) + 1
    spans = np.stack([allowed[np.concatenate(([0], cut))], allowed[np.concatenate((cut - 1, [len(allowed) - 1]))] + 1], 1)
    if int((spans[:, 1] - spans[:, 0]).sum()) == len(allowed):
        return spans, np.zeros(0, dtype=bool)
    mask = np.zeros(int(spans[-1, 1] - spans[0, 0]), dtype=bool)
    mask[allowed - spans[0, 0]] = True
    return spans, mask


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
