"""One index version as a scoped client sees it: a Reader that holds only the records of a Scope.

Search, answers, cases, the document view and the facets are all written against `Reader` (reader.py), so
wrapping the reader is the one place the scope is applied, below every filter: a row outside the scope is
never selected, ranked, fetched or counted, whatever filters, Dnr or § a request names and whichever helper
(the decision in force of a case, the decision text of a cited §) asks. Term statistics (BM25's and the
evidence's document frequencies) stay the version's: they weigh words, they list no record.
"""

from __future__ import annotations

import numpy as np

from protokollsok.ingest.records import Document

from .metadata import Filters, Scope
from .passage import Passage
from .reader import LexicalScores, Reader


class ScopedReader:
    def __init__(self, inner: Reader, scope: Scope):
        self.inner = inner
        self.scope = scope
        self.kommun_names = inner.kommun_names  # the codes row_facts returns; the scope's names are in facets()
        self.rows = self._rows()
        self._facets = inner.facets(scope)

    def _rows(self) -> np.ndarray:
        """The scope's rows, sorted: each field's allowed values united, the fields intersected."""
        rows: np.ndarray | None = None
        for field, allowed in (("kommun", self.scope.kommuner), ("organ", self.scope.organ), ("doc_type", self.scope.doc_types)):
            if allowed is None:
                continue
            parts = [self.inner.select(Filters(**{field: value})) for value in sorted(allowed)]
            united = np.unique(np.concatenate(parts)) if parts else np.zeros(0, dtype=np.int64)
            rows = united if rows is None else np.intersect1d(rows, united, assume_unique=True)
        if rows is None:
            _, chunks = self.inner.counts()
            return np.arange(chunks, dtype=np.int64)
        return rows.astype(np.int64)

    def _within(self, rows: np.ndarray | None) -> np.ndarray:
        return self.rows if rows is None else np.intersect1d(np.asarray(rows, dtype=np.int64), self.rows)

    def _kept(self, rows: list[int]) -> list[int]:
        inside = np.isin(np.asarray(rows, dtype=np.int64), self.rows)
        return [row for row, keep in zip(rows, inside.tolist()) if keep]

    def _admitted(self, passages: list[Passage]) -> list[Passage]:
        return [p for p in passages if self.scope.admits(p.kommun, p.organ, p.doc_type)]

    def select(self, filters: Filters) -> np.ndarray:
        """Never None: no filter still means only the scope's rows."""
        return self._within(self.inner.select(filters))

    def lexical(self, terms: dict[str, float], allowed: np.ndarray | None, k: int) -> LexicalScores:
        return self.inner.lexical(terms, self._within(allowed), k)

    def dense(self, vector: np.ndarray, allowed: np.ndarray | None, k: int) -> dict[int, float]:
        return self.inner.dense(vector, self._within(allowed), k)

    def similarity(self, vector: np.ndarray, rows: np.ndarray) -> np.ndarray:
        return self.inner.similarity(vector, rows)

    def row_facts(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return self.inner.row_facts(rows)

    def rows_with_dnr(self, key: str) -> tuple[list[int], list[int], list[int]]:
        own, rest, mentioned = self.inner.rows_with_dnr(key)
        return self._kept(own), self._kept(rest), self._kept(mentioned)

    def rows_with_paragraf(self, paragraf: str) -> tuple[list[int], list[int]]:
        own, rest = self.inner.rows_with_paragraf(paragraf)
        return self._kept(own), self._kept(rest)

    def chunks(self, rows: list[int]) -> list[Passage]:
        return self._admitted(self.inner.chunks(rows))

    def unit_chunks(self, doc_id: str, unit: int) -> list[Passage]:
        return self._admitted(self.inner.unit_chunks(doc_id, unit))

    def chunk_texts(self, doc_id: str) -> list[str]:
        return self.inner.chunk_texts(doc_id) if self.document(doc_id) is not None else []

    def document(self, doc_id: str) -> Document | None:
        document = self.inner.document(doc_id)
        if document is None or not self.scope.admits(document.kommun, document.organ, document.doc_type):
            return None
        return document

    def document_ids(self) -> list[str]:
        return [doc_id for doc_id in self.inner.document_ids() if self.document(doc_id) is not None]

    def facets(self, scope: Scope | None = None) -> dict:
        """The scope's facets; a narrower scope than this one is no question a client can ask."""
        return self._facets

    def counts(self, scope: Scope | None = None) -> tuple[int, int]:
        return self.inner.counts(self.scope)

    def frequencies(self) -> tuple[dict[str, int], np.ndarray, int]:
        return self.inner.frequencies()

    def read_ahead(self) -> None:
        """The version's reader has read ahead already."""

    def close(self) -> None:
        """The version's reader is closed with the version, not with one scope of it."""
