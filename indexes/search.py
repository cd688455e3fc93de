"""Hybrid search over one index version: filters first, then lexical and dense ranking, fused.

Filters restrict the candidate rows before either ranker runs. Lexical (BM25 over the Swedish analyser,
with the synonym list's words at SYNONYM_WEIGHT of a word typed) and dense (cosine over the embedding model)
each rank the allowed rows. The fusion is chosen once, when the searcher is made: `convex` mixes
max-normalised scores with a fixed dense weight (GUIDE §4: with an English model on Swedish text, rank
fusion lets the weak dense list drag BM25 down), `rrf` is reciprocal rank fusion. The fused scores are
scaled to a top of 1, and three kinds of chunk get a lead on that scale:
- the opening chunk of a case or § the query names by Dnr or number (OPENING_BONUS): it names the case;
- chunks of a kommun the query names ("sjukfrånvaro i Luleå", KOMMUN_BONUS), a soft filter, since a
  question may compare kommuner;
- chunks holding the kind of answer the question asks for, an amount or a date (answers.py, ANSWER_BONUS).
A Dnr or § in the query is an exact request: the chunks of that case or § come first, then chunks that
mention it, each group in that order.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from protokollsok.ingest import dnr as dnrs
from protokollsok.ingest.structure import fold

from .analyzer import Analyzer
from .answers import AnswerKinds
from .embed import Embedder
from .lexical import Lexical
from .metadata import Filters, Metadata
from .store import Version
from .synonyms import Synonyms
from .vectors import Vectors

MODES = ("hybrid", "lexical", "dense")
FUSIONS = ("convex", "rrf")
CANDIDATES = 100
DENSE_WEIGHT = 0.3
RRF_K = 60
SYNONYM_WEIGHT = 0.5
KOMMUN_BONUS = 0.5
ANSWER_BONUS = 0.2
OPENING_BONUS = 0.5
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

    def total(self) -> float:
        return self.embed + self.lexical + self.dense + self.fusion


@dataclass
class Result:
    query: str
    version: str
    hits: list[Hit]
    timings: Timings = field(default_factory=Timings)

    def to_json(self) -> dict:
        return {"query": self.query, "index_version": self.version, "hits": [h.to_json() for h in self.hits]}


class Searcher:
    def __init__(
        self,
        version: Version,
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
        self.meta = Metadata.load(version.path)
        names, self.kommun_of_row = self.meta.kommun_per_row()
        self.kommun_patterns = [re.compile(rf"\b{re.escape(name)}s?\b") for name in names]
        self.vectors = Vectors.load(version.path)
        self.lexical = Lexical.load(version.path)
        self.answers = AnswerKinds.load(version.path)
        self.embedder = embedder
        self.analyzer = analyzer
        self.synonyms = synonyms
        self.fuse = _convex if fusion == "convex" else _rrf
        self.dense_weight = dense_weight

    def close(self) -> None:
        self.meta.close()

    def search(self, query: str, k: int = 10, filters: Filters = Filters(), mode: str = "hybrid") -> Result:
        if mode not in MODES:
            raise ValueError(f"mode: '{mode}' is not one of {', '.join(MODES)}")
        timings = Timings()
        allowed = self.meta.filter_rows(filters)
        if allowed is not None and len(allowed) == 0:
            return Result(query, self.version.name, [], timings)

        lexical: dict[int, float] = {}
        dense: dict[int, float] = {}
        lexical_all = np.zeros(0, dtype=np.float32)
        vector = np.zeros(0, dtype=np.float32)
        if mode in ("hybrid", "lexical"):
            started = time.perf_counter()
            lexical_all = self._lexical_scores(query, allowed)
            lexical = _top(lexical_all)
            timings.lexical = time.perf_counter() - started
        if mode in ("hybrid", "dense"):
            started = time.perf_counter()
            vector = self.embedder.encode([query])[0]
            timings.embed = time.perf_counter() - started
            started = time.perf_counter()
            ids, scores = self.vectors.search(vector, CANDIDATES, allowed)
            dense = dict(zip(ids.tolist(), scores.tolist()))
            timings.dense = time.perf_counter() - started

        started = time.perf_counter()
        if mode == "hybrid":
            fused = self.fuse(lexical, dense, self.dense_weight)
            tiers, openings = self._tiers(query, allowed)
            top = max(lexical.values(), default=0.0) or 1.0
            for row in tiers.keys() - fused.keys():
                cosine = float(self.vectors.index.reconstruct(int(row)) @ vector)
                fused[row] = (1 - self.dense_weight) * float(lexical_all[row]) / top + self.dense_weight * cosine
            fused = self._lead(query, fused, openings)
            ranked = sorted(fused.items(), key=lambda item: (-tiers.get(item[0], 0), -item[1]))
        else:
            ranked = sorted((lexical or dense).items(), key=lambda item: -item[1])
        ranked = ranked[:k]
        timings.fusion = time.perf_counter() - started

        chunks = self.meta.chunks([row for row, _ in ranked])
        hits = [Hit(i + 1, float(score), row, chunk) for i, ((row, score), chunk) in enumerate(zip(ranked, chunks))]
        return Result(query, self.version.name, hits, timings)

    def _lexical_scores(self, query: str, allowed: np.ndarray | None) -> np.ndarray:
        tokens = self.analyzer.tokens(query, typed=True)
        scores = self.lexical.scores(tokens)
        extra = self.synonyms.expand(query, tokens) if self.synonyms else []
        if extra:
            scores = scores + SYNONYM_WEIGHT * self.lexical.scores(extra)
        if allowed is None:
            return scores
        masked = np.zeros_like(scores)
        masked[allowed] = scores[allowed]
        return masked

    def _lead(self, query: str, fused: dict[int, float], openings: set[int]) -> dict[int, float]:
        """Fused scores scaled to a top of 1, plus the leads of openings, named kommuner and answer kinds."""
        rows = np.fromiter(fused, dtype=np.int64, count=len(fused))
        scores = np.fromiter(fused.values(), dtype=np.float64, count=len(fused))
        scores /= scores.max(initial=0.0) or 1.0
        scores += OPENING_BONUS * np.isin(rows, list(openings))
        folded = fold(query)
        named = [i for i, pattern in enumerate(self.kommun_patterns) if pattern.search(folded)]
        if named:
            scores += KOMMUN_BONUS * np.isin(self.kommun_of_row[rows], named)
        asked = self.answers.asked(query)
        if asked:
            scores += ANSWER_BONUS * self.answers.holds(rows, asked)
        return dict(zip(rows.tolist(), scores.tolist()))

    def _tiers(self, query: str, allowed: np.ndarray | None) -> tuple[dict[int, int], set[int]]:
        """Tier 2 for the chunks of the case or § the query names, 1 for chunks that mention the Dnr
        elsewhere; and the unit's opening chunks (title, §, Dnr), which lead their tier unless the rest of
        the query points clearly at another part of the case."""
        tiers: dict[int, int] = {}
        openings: set[int] = set()
        for match in dnrs.find_all(query, typed=True):
            first, rest, mentioned = self.meta.rows_with_dnr(match.dnr.key)
            tiers.update({row: max(tiers.get(row, 0), 1) for row in mentioned})
            tiers.update({row: 2 for row in first + rest})
            openings.update(first)
        for number in _PARAGRAF_QUERY.findall(query):
            first, rest = self.meta.rows_with_paragraf(f"§ {int(number)}")
            tiers.update({row: 2 for row in first + rest})
            openings.update(first)
        if allowed is not None and tiers:
            permitted = set(allowed.tolist())
            tiers = {row: tier for row, tier in tiers.items() if row in permitted}
        return tiers, openings


def _top(scores: np.ndarray) -> dict[int, float]:
    if len(scores) == 0:
        return {}
    top = np.argpartition(-scores, min(CANDIDATES, len(scores) - 1))[:CANDIDATES]
    return {int(i): float(scores[i]) for i in top if scores[i] > 0}


def _convex(lexical: dict[int, float], dense: dict[int, float], weight: float) -> dict[int, float]:
    """(1 − w)·BM25/max(BM25) + w·cosine: scores keep their margins, unlike ranks."""
    top = max(lexical.values(), default=0.0) or 1.0
    rows = set(lexical) | set(dense)
    floor = min(dense.values(), default=0.0)
    return {
        row: (1 - weight) * lexical.get(row, 0.0) / top + weight * dense.get(row, floor)
        for row in rows
    }


def _rrf(lexical: dict[int, float], dense: dict[int, float], weight: float) -> dict[int, float]:
    """Reciprocal rank fusion (Cormack, Clarke & Büttcher 2009), each list weighted like the convex mix."""
    fused: dict[int, float] = {}
    for scores, w in ((lexical, 1 - weight), (dense, weight)):
        for rank, row in enumerate(sorted(scores, key=lambda r: -scores[r])):
            fused[row] = fused.get(row, 0.0) + w / (RRF_K + rank + 1)
    return fused


def open_searcher(index_root: Path, embedder: Embedder, analyzer: Analyzer, **options) -> Searcher:
    from .store import Store

    version = Store(index_root).current()
    if version is None:
        raise FileNotFoundError(
            f"{index_root}: no index has been published here yet; run `protokollsok ingest PATH` first "
            "(or point --index / PROTOKOLLSOK_INDEX at an existing index)"
        )
    return Searcher(version, embedder, analyzer, **options)
