"""Hybrid search over one index version: filters first, then lexical and dense ranking, fused.

Filters restrict the candidate rows before either ranker runs. Lexical (BM25 over the Swedish analyser,
with the synonym list's words at SYNONYM_WEIGHT of a word typed) and dense (cosine over the embedding model,
read with its query prompt) each propose their top CANDIDATES. Every candidate is then described by a few
FEATURES and ranked by their WEIGHTS:
- its BM25 score and its cosine, each normalised over this query's candidates: min-max for `convex`
  fusion (the default: e5's cosines sit in a narrow band, so only their spread within one query counts),
  reciprocal-rank terms for `rrf`; the dense weight shares out the two;
- whether it opens a case or § the query names by Dnr or number: it names the case;
- whether it belongs to a kommun the query names ("sjukfrånvaro i Luleå"), a soft filter, since a
  question may compare kommuner;
- whether it holds the kind of answer the question asks for, an amount or a date (answers.py).
The weights were derived with `protokollsok eval` on eval/dev.jsonl and checked on eval/heldout.jsonl; they
sit on a flat optimum (dense weight 0.4–0.6, leads ×0.75–1). A Dnr or § in the query is an exact request:
the chunks of that case or § come first, then chunks that mention it, each group in that order.
"""

from __future__ import annotations

import re
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from protokollsok.ingest import dnr as dnrs
from protokollsok.ingest.structure import fold

from .analyzer import Analyzer
from .answers import AnswerKinds
from .cases import Cases, asks_what_applies
from .embed import Embedder
from .metadata import Filters
from .reader import IndexVersion, LexicalScores
from .synonyms import Synonyms

MODES = ("hybrid", "lexical", "dense")
FUSIONS = ("convex", "rrf")
CANDIDATES = 100
DENSE_WEIGHT = 0.5
RRF_K = 60
SYNONYM_WEIGHT = 0.5
FEATURES = ("lexical", "dense", "opening", "kommun", "answer_kind")
WEIGHTS = {"lexical": 0.5, "dense": 0.5, "opening": 0.5, "kommun": 0.5, "answer_kind": 0.2}
_PARAGRAF_QUERY = re.compile(r"(?:§|(?i:paragraf))\s*(\d{1,4})(?![\d/])")


@dataclass
class Hit:
    rank: int
    score: float
    row: int
    chunk: dict

    def to_json(self) -> dict:
        """The hit as `protokollsok search --json` prints it: a contract other tools read."""
        c = self.chunk
        return {
            "rank": self.rank,
            "score": round(self.score, 6),
            "chunk_id": c["chunk_id"],
            "doc_id": c["doc_id"],
            "title": c["title"],
            "kommun": c["kommun"],
            "organ": c["organ"],
            "doc_type": c["doc_type"],
            "date": c["date"],
            "paragraf": c["paragraf"],
            "dnr": c["dnr"],
            "dnr_as_written": c["dnr_as_written"],
            "section": c["section"],
            "page": c["page"],
            "text": c["text"],
            "span": [c["span_start"], c["span_end"]],
        }


@dataclass
class Timings:
    embed: float = 0.0
    lexical: float = 0.0
    dense: float = 0.0
    fusion: float = 0.0


@dataclass
class Result:
    query: str
    version: str
    hits: list[Hit]
    timings: Timings = field(default_factory=Timings)

    def to_json(self) -> dict:
        return {"query": self.query, "index_version": self.version, "hits": [h.to_json() for h in self.hits]}


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
        fusion: str = "convex",
        dense_weight: float = DENSE_WEIGHT,
    ):
        if fusion not in FUSIONS:
            raise ValueError(f"fusion: '{fusion}' is not one of {', '.join(FUSIONS)}")
        if version.manifest.get("model") != embedder.model_id:
            raise ValueError(
                f"index {version.name} was built with model {version.manifest.get('model_path')}; "
                f"searching it with {embedder.model_path} would compare unrelated vectors. Re-ingest, or set "
                "PROTOKOLLSOK_MODEL to the model the index was built with"
            )
        self.version = version
        self.reader = version.open()
        self.cases = Cases(self.reader)
        self.kommun_patterns = [re.compile(rf"\b{re.escape(name)}s?\b") for name in self.reader.kommun_names]
        self.embedder = embedder
        self.analyzer = analyzer
        self.synonyms = synonyms
        self.normalise = _minmax if fusion == "convex" else _rank_scores
        self.dense_weight = dense_weight
        self.weights = weights(dense_weight)
        # The dense half runs on a thread of its own while BM25 runs: torch and faiss work outside the GIL, so
        # on two cores the halves overlap instead of adding up. At 10 M chunks (bench/lexical.py path) the dense
        # half takes ~50 / ~70 ms p50 / p95, BM25 ~37 / ~80 ms, both together ~59 / ~80 ms. Processes that
        # answer queries call one_thread_per_query.
        self._dense_threads = ThreadPoolExecutor(max_workers=2, thread_name_prefix="dense")

    def close(self) -> None:
        self._dense_threads.shutdown(wait=False)
        self.reader.close()

    def search(self, query: str, k: int = 10, filters: Filters = Filters(), mode: str = "hybrid") -> Result:
        if mode not in MODES:
            raise ValueError(f"mode: '{mode}' is not one of {', '.join(MODES)}")
        timings = Timings()
        allowed = self.reader.select(filters)
        if allowed is not None and len(allowed) == 0:
            return Result(query, self.version.name, [], timings)

        nearest = self._dense_threads.submit(self._dense, query, allowed, timings) if mode != "lexical" else None
        lexical: LexicalScores | None = None
        if mode in ("hybrid", "lexical"):
            started = time.perf_counter()
            lexical = self.reader.lexical(self._terms(query), allowed, CANDIDATES)
            timings.lexical = time.perf_counter() - started
        vector, dense = nearest.result() if nearest else (np.zeros(0, dtype=np.float32), {})

        started = time.perf_counter()
        if mode == "hybrid":
            rows, features, tiers = self.features(query, allowed, lexical, dense, vector)
            fused = features @ self.weights
            ranked = sorted(zip(rows.tolist(), fused.tolist()), key=lambda item: (-tiers.get(item[0], 0), -item[1]))
        else:
            ranked = sorted((lexical.top if lexical else dense).items(), key=lambda item: -item[1])
        ranked = self._distinct(ranked, k)
        timings.fusion = time.perf_counter() - started

        chunks = self.reader.chunks([row for row, _ in ranked])
        if asks_what_applies(query):  # issue 22: the decision in force before those it replaced (cases.py)
            ranked, chunks = self.cases.in_force_first(ranked, chunks, allowed)
        hits = [Hit(i + 1, float(score), row, chunk) for i, ((row, score), chunk) in enumerate(zip(ranked, chunks))]
        return Result(query, self.version.name, hits, timings)

    def _dense(
        self, query: str, allowed: np.ndarray | None, timings: Timings
    ) -> tuple[np.ndarray, dict[int, float]]:
        """The query's vector and the rows nearest to it."""
        started = time.perf_counter()
        vector = self.embedder.encode_query(query)
        timings.embed = time.perf_counter() - started
        started = time.perf_counter()
        dense = self.reader.dense(vector, allowed, CANDIDATES)
        timings.dense = time.perf_counter() - started
        return vector, dense

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

    def _terms(self, query: str) -> dict[str, float]:
        """The query's tokens weighted by how often they were typed, plus its synonyms at SYNONYM_WEIGHT."""
        tokens = self.analyzer.tokens(query, typed=True)
        terms: dict[str, float] = {}
        for token in tokens:
            terms[token] = terms.get(token, 0.0) + 1.0
        for token in self.synonyms.expand(query, tokens) if self.synonyms else []:
            terms[token] = terms.get(token, 0.0) + SYNONYM_WEIGHT
        return terms

    def features(
        self,
        query: str,
        allowed: np.ndarray | None,
        lexical: LexicalScores,
        dense: dict[int, float],
        vector: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray, dict[int, int]]:
        """The candidates (either ranker's top, and the chunks of a case or § the query names) and, for each,
        the FEATURES the ranking weighs; plus the tiers of an exact Dnr or § request."""
        tiers, openings = self._tiers(query, allowed)
        rows = np.fromiter(lexical.top.keys() | dense.keys() | tiers.keys(), dtype=np.int64)
        lexical_n = self.normalise(lexical.of(rows))
        dense_n = self.normalise(self.reader.similarity(vector, rows))
        kommun_of_row, _, kinds = self.reader.row_facts(rows)
        folded = fold(query)
        named = [i for i, pattern in enumerate(self.kommun_patterns) if pattern.search(folded)]
        asked = AnswerKinds.asked(query)
        out = np.zeros((len(rows), len(FEATURES)))
        out[:, 0] = lexical_n
        out[:, 1] = dense_n
        out[:, 2] = np.isin(rows, list(openings))
        out[:, 3] = np.isin(kommun_of_row, named) if named else 0
        out[:, 4] = (kinds & asked) != 0 if asked else 0
        return rows, out, tiers

    def _tiers(self, query: str, allowed: np.ndarray | None) -> tuple[dict[int, int], set[int]]:
        """Tier 2 for the chunks of the case or § the query names, 1 for chunks that mention the Dnr
        elsewhere; and the unit's opening chunks (title, §, Dnr), which lead their tier unless the rest of
        the query points clearly at another part of the case."""
        tiers: dict[int, int] = {}
        openings: set[int] = set()
        for match in dnrs.find_all(query, typed=True):
            first, rest, mentioned = self.reader.rows_with_dnr(match.dnr.key)
            tiers.update({row: max(tiers.get(row, 0), 1) for row in mentioned})
            tiers.update({row: 2 for row in first + rest})
            openings.update(first)
        for number in _PARAGRAF_QUERY.findall(query):
            first, rest = self.reader.rows_with_paragraf(f"§ {int(number)}")
            tiers.update({row: 2 for row in first + rest})
            openings.update(first)
        if allowed is not None and tiers:
            permitted = set(allowed.tolist())
            tiers = {row: tier for row, tier in tiers.items() if row in permitted}
        return tiers, openings


def weights(dense_weight: float) -> np.ndarray:
    """WEIGHTS with the lexical and dense features' total shared out by `dense_weight`."""
    out = np.array([WEIGHTS[name] for name in FEATURES])
    total = out[0] + out[1]
    out[:2] = (1 - dense_weight) * total, dense_weight * total
    return out


def _minmax(scores: np.ndarray) -> np.ndarray:
    """Scores scaled to 0–1 over this query's candidates: e5's cosines sit in a narrow band (about
    0.75–0.90), so only their spread within one query says anything, and BM25 has no fixed scale."""
    scores = scores.astype(np.float64)
    low, high = scores.min(initial=0.0), scores.max(initial=0.0)
    return (scores - low) / (high - low) if high > low else np.zeros_like(scores)


def _rank_scores(scores: np.ndarray) -> np.ndarray:
    """Reciprocal rank fusion's terms (Cormack, Clarke & Büttcher 2009), scaled to a top of 1."""
    ranks = np.empty(len(scores))
    ranks[np.argsort(-scores, kind="stable")] = np.arange(len(scores))
    return (RRF_K + 1) / (RRF_K + ranks + 1)
