"""The index the service answers from: loaded once, switched to a newly published version without a restart.

`ingest`, `remove` and `rollback` publish by making another version current (a link on disk, a row in
PostgreSQL: indexes/backend.py). Each request asks `LiveIndex.current()`, which asks the backend at most every
CHECK_EVERY seconds and, when another version is current, loads it beside the old one and swaps the reference. A request in flight keeps the
bundle it started with (its files stay open even if the version folder is pruned), so none is dropped.
The embedding model, and a site's reader, are loaded once and shared by every version.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field

from protokollsok.indexes.analyzer import Analyzer
from protokollsok.indexes.backend import Backend
from protokollsok.indexes.embed import Embedder
from protokollsok.indexes.metadata import Scope
from protokollsok.indexes.reader import Reader
from protokollsok.indexes.scoped import ScopedReader
from protokollsok.indexes.rerank import Reranker
from protokollsok.indexes.synonyms import Synonyms

from .generator import Generator
from .judge import Judge
from .query import Queries

CHECK_EVERY = 1.0
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Loaded:
    """Everything one index version answers with."""

    version: str
    manifest: dict
    facets: dict
    queries: Queries
    _scoped: dict[Scope, "Loaded"] = field(default_factory=dict, compare=False, repr=False)

    @property
    def reader(self) -> Reader:
        return self.queries.searcher.reader

    def within(self, scope: Scope | None) -> "Loaded":
        """This version as a client with `scope` sees it (None: all of it): its records, facets and counts
        only. Built once per version and scope; a scope file's change makes a new Scope, so a new one."""
        if scope is None:
            return self
        if scope not in self._scoped:
            reader = ScopedReader(self.reader, scope)
            documents, chunks = reader.counts()
            manifest = {**self.manifest, "documents": documents, "chunks": chunks}
            self._scoped[scope] = Loaded(self.version, manifest, reader.facets(), self.queries.within(reader, scope.name))
        return self._scoped[scope]


class LiveIndex:
    def __init__(
        self,
        backend: Backend,
        embedder: Embedder,
        analyzer: Analyzer,
        synonyms: Synonyms | None,
        generator: Generator | None = None,
        settings_recipe: dict | None = None,
        reranker: Reranker | None = None,
        judge: Judge | None = None,
    ):
        self.backend = backend
        self.generator = generator
        self.embedder = embedder
        self.analyzer = analyzer
        self.synonyms = synonyms
        self.settings_recipe = settings_recipe or {}
        self.reranker = reranker
        self.judge = judge
        self._lock = threading.Lock()
        self._loaded: Loaded | None = None
        self._target: str | None = None
        self._checked = 0.0
        self.current()

    def current(self) -> Loaded:
        now = time.monotonic()
        if self._loaded is None or now - self._checked >= CHECK_EVERY:
            self._refresh(now)
        if self._loaded is None:
            raise FileNotFoundError(
                f"{self.backend.where}: no index has been published; run `protokollsok ingest PATH` first"
            )
        return self._loaded

    def _refresh(self, now: float) -> None:
        with self._lock:
            if self._loaded is not None and now - self._checked < CHECK_EVERY:
                return
            self._checked = now
            try:
                target = self.backend.current_name()
            except ConnectionError as error:
                if self._loaded is None:
                    raise
                log.error("index backend unreachable, serving version=%s error=%s", self._loaded.version, error)
                return
            if target == self._target or target is None:
                return
            version = self.backend.current()
            try:
                queries = Queries.open(
                    version, self.embedder, self.analyzer, self.synonyms, self.settings_recipe, self.generator,
                    self.reranker, self.judge,
                )
            except (ValueError, FileNotFoundError) as error:
                log.error("index version not switched version=%s error=%s", version.name if version else None, error)
                if self._loaded is None:
                    raise
                return
            queries.searcher.reader.read_ahead()  # in the background: the first searches need not wait on the disk
            facets = queries.searcher.reader.facets()  # once a version: every request's filters are checked on them
            self._loaded = Loaded(version.name, version.manifest, facets, queries)
            self._target = target
            log.info("serving index version=%s chunks=%s", version.name, version.manifest.get("chunks"))
