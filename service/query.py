"""One question's way through the system, the same for the command line, the API and eval.

`Queries.open` wires one index version's searcher, evidence and answerer once. A question is masked
(personnummer) and read once into a `Question`; then it is searched or asked, written to the query log, and
shaped into the object `search --json` / `GET /api/search` and `ask --json` / `POST /api/ask` return.
"""

from __future__ import annotations

from dataclasses import dataclass

from protokollsok.indexes.analyzer import Analyzer
from protokollsok.indexes.embed import Embedder
from protokollsok.indexes.metadata import Filters
from protokollsok.indexes.passage import cited
from protokollsok.indexes.question import Question
from protokollsok.indexes.reader import IndexVersion, Reader
from protokollsok.indexes.recipe import Recipe
from protokollsok.indexes.rerank import Reranker
from protokollsok.indexes.search import Result, Searcher
from protokollsok.indexes.synonyms import Synonyms

from . import personnummer
from .answers import Answerer
from .evidence import Evidence
from .generator import Generator
from .judge import Judge
from .querylog import QueryLog
from .records import Answer
from .schemas import SearchHit, SearchResponse


@dataclass
class Queries:
    searcher: Searcher
    evidence: Evidence
    answerer: Answerer
    scope: str | None = None
    """The name of the scope these queries see (service/scopes.py), written to the query log; None: all."""

    @classmethod
    def open(
        cls,
        version: IndexVersion,
        embedder: Embedder,
        analyzer: Analyzer,
        synonyms: Synonyms | None,
        settings_recipe: dict,
        generator: Generator | None = None,
        reranker: Reranker | None = None,
        judge: Judge | None = None,
    ) -> "Queries":
        """`settings_recipe`: the administrator's overrides of the version's recipe (Recipe.with_settings);
        `reranker` and `judge`: a site's reader and judge (Settings.reranker, Settings.judge_client), off when None."""
        recipe = Recipe.from_manifest(version.manifest).with_settings(**settings_recipe)
        searcher = Searcher(version, embedder, analyzer, synonyms, recipe, reranker)
        evidence = Evidence(analyzer, searcher.reader, recipe)
        return cls(searcher, evidence, Answerer(searcher, evidence, generator, judge))

    def within(self, reader: Reader, scope: str) -> "Queries":
        """The same queries over a narrower reader (the client's scope named `scope`): search, answers and cases
        see only it, and the query log says whose scope asked."""
        searcher = self.searcher.within(reader)
        answerer = Answerer(searcher, self.evidence, self.answerer.generator, self.answerer.judge)
        return Queries(searcher, self.evidence, answerer, scope)

    def read(self, text: str) -> Question:
        return self.searcher.read(personnummer.mask(text))

    def result(self, text: str, k: int, filters: Filters = Filters(), mode: str = "hybrid") -> Result:
        return self.searcher.search(self.read(text), k, filters, mode)

    def search(self, text: str, k: int, filters: Filters, log: QueryLog, mode: str = "hybrid") -> SearchResponse:
        """Search, log, shape: the object `search --json` prints."""
        result = self.result(text, k, filters, mode)
        hits = [
            cited(
                h.passage,
                SearchHit,
                rank=h.rank,
                score=round(h.score, 6),
                text=personnummer.mask(h.passage.text),
                likely_relevant=self.evidence.support(result.question, h.passage, h.reader).likely,
            )
            for h in result.hits
        ]
        trace_id = log.record(
            "search", result.question.text, filters.to_dict(), [h.chunk_id for h in hits], result.version, None,
            scope=self.scope,
        )
        return SearchResponse(result.question.text, result.version, hits, trace_id)

    def ask(self, text: str, filters: Filters, log: QueryLog) -> Answer:
        """Ask, log: the answer `ask --json` prints, its trace id set."""
        answer = self.answerer.ask(self.read(text), filters)
        answer.trace_id = log.record(
            "ask", answer.question, filters.to_dict(), [s.chunk_id for s in answer.sources], answer.index_version,
            answer.answered, trail={"level": answer.level, "reason": answer.to_json()["reason"], **answer.trail},
            scope=self.scope,
        )  # fmt: skip
        return answer
