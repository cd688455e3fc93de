"""Hybrid search over one index version: filters first, then lexical and dense ranking, fused.

Filters restrict the candidate rows before either ranker runs. Lexical (BM25 over the Swedish analyser,
with the synonym list's words at the recipe's synonym weight) and dense (cosine over the embedding model,
read with its query prompt) each propose their top candidates. Every candidate is then described by a few
FEATURES and ranked by the recipe's weights (recipe.py):
- its BM25 score and its cosine, each normalised over this query's candidates: min-max for `convex`
  fusion (the default: e5's cosines sit in a narrow band, so only their spread within one query counts),
  reciprocal-rank terms for `rrf`; the dense weight shares out the two;
- whether it opens a case or § the query names by Dnr or number: it names the case;
- whether it belongs to a kommun the query names ("sjukfrånvaro i Luleå"), a soft filter, since a
  question may compare kommuner;
- whether it holds the kind of answer the question asks for, an amount or a date (answers.py).
A site's reader (rerank.py, off unless `PROTOKOLLSOK_READER` names one) then re-scores the top of a hybrid
ranking, question beside passage, and reorders it by the recipe's mix of its score and the fused one; a
hit's `score` stays the fused score and its `reader` holds the reader's.
The question arrives read once (question.py). The weights were derived with `protokollsok eval` on eval/dev.jsonl and checked on eval/heldout.jsonl; they
sit on a flat optimum (dense weight 0.4–0.6, leads ×0.75–1). A Dnr or § in the query is an exact request:
the chunks of that case or § come first, then chunks that mention it, each group in that order.
"""

from __future__ import annotations

import copy
import re
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial

import numpy as np

from .analyzer import Analyzer
from .build import indexed_text
from .cases import Cases
from .embed import Embedder
from .metadata import Filters
from .passage import Passage
from .question import Question, Vocabulary
from .reader import IndexVersion, LexicalScores, Reader
from .recipe import Recipe
from .rerank import Reranker
from .synonyms import DERIVATIONS, Synonyms
from protokollsok.ingest.language import ANSWER_KINDS, alternation, kommuner
from protokollsok.ingest.structure import fold

MODES = ("hybrid", "lexical", "dense")
FEATURES = ("lexical", "dense", "opening", "kommun", "answer_kind")


@dataclass
class Hit:
    rank: int
    score: float
    passage: Passage
    reader: float | None = None
    """The site's reader's score (rerank.py) of this passage for the question; None without a reader."""


@dataclass
class Timings:
    embed: float = 0.0
    lexical: float = 0.0
    dense: float = 0.0
    fusion: float = 0.0
    reader: float = 0.0


@dataclass
class Result:
    question: Question
    version: str
    hits: list[Hit]
    timings: Timings = field(default_factory=Timings)


def one_thread_per_query() -> None:
    """For a process that answers queries: torch and faiss each on one thread. A query's dense half runs beside
    its BM25 (Searcher.search), and the service runs requests side by side; the libraries' own thread pools on
    top of that fought for the two cores (1 M chunks, dense half beside BM25: search p50 / p95 102 / 198 ms with
    torch on two threads, 78 / 106 ms on one; an embedding alone takes 43 ms on two, 52 ms on one)."""
    import faiss
    import torch

    torch.set_num_threads(1)
    faiss.omp_set_num_threads(1)


class Searcher:
    def __init__(
        self,
        version: IndexVersion,
        embedder: Embedder,
        analyzer: Analyzer,
        synonyms: Synonyms | None = None,
        recipe: Recipe | None = None,
        reranker: Reranker | None = None,
    ):
        if version.manifest.get("model") != embedder.model_id:
            raise ValueError(
                f"index {version.name} was built with model {version.manifest.get('model_path')}; "
                f"searching it with {embedder.model_path} would compare unrelated vectors. Re-ingest, or set "
                "PROTOKOLLSOK_MODEL to the model the index was built with"
            )
        self.version = version
        self.reader = version.open(recipe)
        self.recipe = recipe or Recipe.from_manifest(version.manifest)
        self.vocabulary = Vocabulary(
            analyzer, synonyms, self.reader.kommun_names, Synonyms.load(DERIVATIONS, analyzer)
        )
        self.cases = Cases(self.reader)
        self.embedder = embedder
        self.analyzer = analyzer
        self.synonyms = synonyms
        self.reranker = reranker
        self.unheld: re.Pattern | None = None  # set by `within`: the kommuner a scope does not hold
        self.normalise = _minmax if self.recipe.fusion == "convex" else partial(_rank_scores, k=self.recipe.rrf_k)
        self.weights = weights(self.recipe)
        # The dense half runs on a thread of its own while BM25 runs: torch and faiss work outside the GIL, so
        # on two cores the halves overlap instead of adding up. At 10 M chunks (bench/lexical.py path) the dense
        # half takes ~50 / ~70 ms p50 / p95, BM25 ~37 / ~80 ms, both together ~59 / ~80 ms. Processes that
        # answer queries call one_thread_per_query.
        self._dense_threads = ThreadPoolExecutor(max_workers=2, thread_name_prefix="dense")

    def close(self) -> None:
        self._dense_threads.shutdown(wait=False)
        self.reader.close()

    def within(self, reader: Reader) -> "Searcher":
        """This searcher over a narrower reader (a scope's, indexes/scoped.py): the same model, recipe and
        threads; its own case timelines and its own kommuner to read questions with, so that neither knows a
        record outside the reader (a kommun outside the scope reads like a place the index does not hold)."""
        narrowed = copy.copy(self)
        narrowed.reader = reader
        narrowed.vocabulary = Vocabulary(
            self.analyzer, self.synonyms, reader.facets()["kommuner"], self.vocabulary.derivations
        )
        narrowed.cases = Cases(reader)
        held = {fold(name) for name in reader.facets()["kommuner"]}
        narrowed.unheld = re.compile(rf"\b(?:{alternation(n for n in kommuner() if fold(n) not in held)})s?\b")
        return narrowed

    def read(self, text: str) -> Question:
        """The question read once with this version's vocabulary; search, evidence and answers take it."""
        return self.vocabulary.question(text)

    def search(self, question: Question, k: int = 10, filters: Filters = Filters(), mode: str = "hybrid") -> Result:
        if mode not in MODES:
            raise ValueError(f"mode: '{mode}' is not one of {', '.join(MODES)}")
        timings = Timings()
        allowed = self.reader.select(filters)
        if allowed is not None and len(allowed) == 0:
            return Result(question, self.version.name, [], timings)

        candidates = self.recipe.candidates
        # Over a scope, a kommun it does not hold is embedded as `kommunen`, held elsewhere in the index or not:
        # the dense half must not rank by which of two such names was asked (indexes/scoped.py).
        embedded = self.unheld.sub("kommunen", question.text) if self.unheld else question.text
        nearest = self._dense_threads.submit(self._dense, embedded, allowed, timings) if mode != "lexical" else None
        lexical: LexicalScores | None = None
        if mode in ("hybrid", "lexical"):
            started = time.perf_counter()
            lexical = self.reader.lexical(question.terms(self.recipe.synonym_weight), allowed, candidates)
            timings.lexical = time.perf_counter() - started
        vector, dense = nearest.result() if nearest else (np.zeros(0, dtype=np.float32), {})

        started = time.perf_counter()
        tiers: dict[int, int] = {}
        if mode == "hybrid":
            rows, features, tiers = self.features(question, allowed, lexical, dense, vector)
            fused = features @ self.weights
            ranked = sorted(zip(rows.tolist(), fused.tolist()), key=lambda item: (-tiers.get(item[0], 0), -item[1]))
        else:
            ranked = sorted((lexical.top if lexical else dense).items(), key=lambda item: -item[1])
        rerank = self.reranker is not None and mode == "hybrid"
        ranked = self._distinct(ranked, max(k, self.recipe.reader_candidates) if rerank else k)
        timings.fusion = time.perf_counter() - started

        passages = self.reader.chunks([row for row, _ in ranked])
        read: dict[str, float] = {}
        if rerank:
            ranked, passages, read = self._reranked(question, ranked, passages, tiers, timings)
            ranked, passages = ranked[:k], passages[:k]
        if question.applies_now:  # the decision in force before those it replaced (cases.py)
            ranked, passages = self.cases.in_force_first(ranked, passages, allowed)
        hits = [
            Hit(i + 1, float(score), passage, read.get(passage.chunk_id))
            for i, ((_, score), passage) in enumerate(zip(ranked, passages))
        ]
        return Result(question, self.version.name, hits, timings)

    def _dense(
        self, query: str, allowed: np.ndarray | None, timings: Timings
    ) -> tuple[np.ndarray, dict[int, float]]:
        """The query's vector and the rows nearest to it."""
        started = time.perf_counter()
        vector = self.embedder.encode_query(query)
        timings.embed = time.perf_counter() - started
        started = time.perf_counter()
        dense = self.reader.dense(vector, allowed, self.recipe.candidates)
        timings.dense = time.perf_counter() - started
        return vector, dense

    def _reranked(
        self,
        question: Question,
        ranked: list[tuple[int, float]],
        passages: list[Passage],
        tiers: dict[int, int],
        timings: Timings,
    ) -> tuple[list[tuple[int, float]], list[Passage], dict[str, float]]:
        """The top `reader_candidates` reordered by the recipe's mix of the fused score and the reader's, each
        min-max normalised over them (an exact Dnr or § request's tiers still first), the rest after them as
        they were; and the reader's score of each passage it read, by chunk id."""
        started = time.perf_counter()
        top = min(self.recipe.reader_candidates, len(passages))
        scores = self.reranker.scores(question.text, [indexed_text(p) for p in passages[:top]])
        fused = np.array([score for _, score in ranked[:top]])
        mixed = (1 - self.recipe.reader_weight) * _minmax(fused) + self.recipe.reader_weight * _minmax(scores)
        order = sorted(range(top), key=lambda i: (-tiers.get(ranked[i][0], 0), -mixed[i]))
        order += range(top, len(passages))
        timings.reader = time.perf_counter() - started
        read = {passages[i].chunk_id: float(scores[i]) for i in range(top)}
        return [ranked[i] for i in order], [passages[i] for i in order], read

    def _distinct(self, ranked: list[tuple[int, float]], k: int) -> list[tuple[int, float]]:
        """The top k, never two chunks whose indexed text (heading and text) is the same: a record indexed
        twice under two names, or a chunk repeated within one, is shown once."""
        if not ranked:
            return []
        _, hashes, _ = self.reader.row_facts(np.array([row for row, _ in ranked], dtype=np.int64))
        seen: set[int] = set()
        out = []
        for (row, score), text_hash in zip(ranked, hashes.tolist()):
            if text_hash not in seen:
                seen.add(text_hash)
                out.append((row, score))
                if len(out) == k:
                    break
        return out

    def features(
        self,
        question: Question,
        allowed: np.ndarray | None,
        lexical: LexicalScores,
        dense: dict[int, float],
        vector: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray, dict[int, int]]:
        """The candidates (either ranker's top, and the chunks of a case or § the query names) and, for each,
        the FEATURES the ranking weighs; plus the tiers of an exact Dnr or § request."""
        tiers, openings = self._tiers(question, allowed)
        rows = np.fromiter(lexical.top.keys() | dense.keys() | tiers.keys(), dtype=np.int64)
        lexical_n = self.normalise(lexical.of(rows))
        dense_n = self.normalise(self.reader.similarity(vector, rows))
        kommun_of_row, _, kinds = self.reader.row_facts(rows)
        named = [i for i, name in enumerate(self.reader.kommun_names) if name in question.kommuner]
        asked = sum(1 << bit for bit, kind in enumerate(ANSWER_KINDS) if kind in question.kinds)
        out = np.zeros((len(rows), len(FEATURES)))
        out[:, 0] = lexical_n
        out[:, 1] = dense_n
        out[:, 2] = np.isin(rows, list(openings))
        out[:, 3] = np.isin(kommun_of_row, named) if named else 0
        out[:, 4] = (kinds & asked) != 0 if asked else 0
        return rows, out, tiers

    def _tiers(self, question: Question, allowed: np.ndarray | None) -> tuple[dict[int, int], set[int]]:
        """Tier 2 for the chunks of the case or § the query names, 1 for chunks that mention the Dnr
        elsewhere; and the unit's opening chunks (title, §, Dnr), which lead their tier unless the rest of
        the query points clearly at another part of the case."""
        tiers: dict[int, int] = {}
        openings: set[int] = set()
        for key in question.dnr_keys:
            first, rest, mentioned = self.reader.rows_with_dnr(key)
            tiers.update({row: max(tiers.get(row, 0), 1) for row in mentioned})
            tiers.update({row: 2 for row in first + rest})
            openings.update(first)
        for paragraf in question.paragrafer:
            first, rest = self.reader.rows_with_paragraf(paragraf)
            tiers.update({row: 2 for row in first + rest})
            openings.update(first)
        if allowed is not None and tiers:
            permitted = set(allowed.tolist())
            tiers = {row: tier for row, tier in tiers.items() if row in permitted}
        return tiers, openings


def weights(recipe: Recipe) -> np.ndarray:
    """The recipe's weight of each of FEATURES: the rankers share 1 by its dense weight, the leads follow."""
    return np.array(
        [1 - recipe.dense_weight, recipe.dense_weight, recipe.opening_lead, recipe.kommun_lead, recipe.answer_kind_lead]
    )


def _minmax(scores: np.ndarray) -> np.ndarray:
    """Scores scaled so that this query's lowest candidate is 0 and its highest 1 (all 0 when they are equal):
    e5's cosines sit in a narrow band (about 0.75–0.90), so only their spread within one query says anything,
    BM25 has no fixed scale, and a reader's sigmoids may bunch up too. (Until 2026-12 the low end was pinned at
    0, which scaled cosines by their maximum to 0.83–1 and left the dense ranker a sixth of its weight.)"""
    scores = np.asarray(scores, dtype=np.float64)
    low, high = (float(scores.min()), float(scores.max())) if len(scores) else (0.0, 0.0)
    return (scores - low) / (high - low) if high > low else np.zeros(len(scores))


def _rank_scores(scores: np.ndarray, k: int) -> np.ndarray:
    """Reciprocal rank fusion's terms (Cormack, Clarke & Büttcher 2009), scaled to a top of 1."""
    ranks = np.empty(len(scores))
    ranks[np.argsort(-scores, kind="stable")] = np.arange(len(scores))
    return (k + 1) / (k + ranks + 1)
