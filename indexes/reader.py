"""What search, answers and eval ask of one index version, and the local backend's answers from its folder.

Ranking (search.py) is written once against `Reader`; a backend only answers these questions: which rows pass
the filters, BM25 and cosine scores, the chunks and documents behind rows. `FileReader` answers from the
version's files (SQLite, FAISS, numpy BM25); indexes/postgres.py answers the same from PostgreSQL. Row numbers are
the backend's chunk ids: every call takes and returns them.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Protocol

import numpy as np

from protokollsok.ingest.records import Document

from .answers import AnswerKinds
from .columns import FILE as COLUMNS
from .columns import Columns
from .lexical import Lexical
from .metadata import Filters, Metadata, Scope
from .passage import Passage
from .recipe import DEFAULT, Recipe
from .vectors import EXACT_FILE, Vectors

# What a search reads at random, memory-mapped: BM25 postings, the float16 vectors that re-score candidates
READ_AHEAD = ("lexical/indices.npy", "lexical/data.npy", EXACT_FILE)

log = logging.getLogger(__name__)


class LexicalScores(Protocol):
    top: dict[int, float]

    def of(self, rows: np.ndarray) -> np.ndarray:
        """BM25 scores of any rows, candidates of the other ranker included."""


class Reader(Protocol):
    kommun_names: list[str]

    def select(self, filters: Filters) -> np.ndarray | None:
        """Rows that pass every filter; None when no filter is set."""

    def lexical(self, terms: dict[str, float], allowed: np.ndarray | None, k: int) -> LexicalScores: ...

    def dense(self, vector: np.ndarray, allowed: np.ndarray | None, k: int) -> dict[int, float]: ...

    def similarity(self, vector: np.ndarray, rows: np.ndarray) -> np.ndarray: ...

    def row_facts(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """For each row: its kommun's index in `kommun_names` (-1: none), its text hash (uint64), its answer kinds."""

    def rows_with_dnr(self, key: str) -> tuple[list[int], list[int], list[int]]: ...

    def rows_with_paragraf(self, paragraf: str) -> tuple[list[int], list[int]]: ...

    def chunks(self, rows: list[int]) -> list[Passage]: ...

    def unit_chunks(self, doc_id: str, unit: int) -> list[Passage]: ...

    def chunk_texts(self, doc_id: str) -> list[str]: ...

    def document(self, doc_id: str) -> Document | None: ...

    def document_ids(self) -> list[str]: ...

    def facets(self, scope: Scope | None = None) -> dict: ...

    def counts(self, scope: Scope | None = None) -> tuple[int, int]:
        """Documents and chunks, in the version or in a scope of it."""

    def frequencies(self) -> tuple[dict[str, int], np.ndarray, int]:
        """The lexical vocabulary (token → id), each token's document frequency by id, and the number of chunks."""

    def read_ahead(self) -> None:
        """For a process about to serve many searches from this version: bring what they read into memory."""

    def close(self) -> None: ...


class IndexVersion(Protocol):
    """A published version of either backend: its name, its manifest, and its reader."""

    name: str
    manifest: dict
    current: bool

    def open(self, recipe: Recipe | None = None) -> Reader:
        """Its reader, searching with `recipe`'s breadths (ef_search); None: the version's own recipe."""


class MetadataReads:
    """The questions the metadata store answers, the same on every backend (metadata.py's SQL runs on both)."""

    meta: Metadata

    def rows_with_dnr(self, key: str) -> tuple[list[int], list[int], list[int]]:
        return self.meta.rows_with_dnr(key)

    def rows_with_paragraf(self, paragraf: str) -> tuple[list[int], list[int]]:
        return self.meta.rows_with_paragraf(paragraf)

    def chunks(self, rows: list[int]) -> list[Passage]:
        return self.meta.chunks(rows)

    def unit_chunks(self, doc_id: str, unit: int) -> list[Passage]:
        return self.meta.unit_chunks(doc_id, unit)

    def chunk_texts(self, doc_id: str) -> list[str]:
        return self.meta.chunk_texts(doc_id)

    def document(self, doc_id: str) -> Document | None:
        return self.meta.document(doc_id)

    def document_ids(self) -> list[str]:
        return self.meta.document_ids()

    def facets(self, scope: Scope | None = None) -> dict:
        return self.meta.facets(scope)

    def counts(self, scope: Scope | None = None) -> tuple[int, int]:
        return self.meta.counts(scope)


def read_ahead(folder: Path) -> threading.Thread:
    """Reads the version's READ_AHEAD files through once, on a daemon thread, so that the page cache holds
    them: after the service starts or switches to a version, a search would otherwise wait on the disk for each page it touches
    first. At 2 M chunks, a fresh process on a version dropped from the page cache: unfiltered p95 118–177
    ms without it, 92–95 with it; Dnr searches 292–298 against 135–228 (bench/scale.py). posix_fadvise's
    WILLNEED left most of each file unread here. Files that would take more than half the memory available
    are left to be read as searches touch them."""
    paths = [folder / name for name in READ_AHEAD if (folder / name).is_file()]
    thread = threading.Thread(target=_read_through, args=(paths, _available() // 2), name="read-ahead", daemon=True)
    thread.start()
    return thread


def _read_through(paths: list[Path], budget: int) -> None:
    chunk = bytearray(1 << 23)
    for path in paths:
        try:
            budget -= path.stat().st_size
            if budget < 0:
                log.info("read-ahead stops file=%s reason=over half the available memory", path)
                return
            with path.open("rb", buffering=0) as file:
                while file.readinto(chunk):
                    pass
        except OSError as error:  # the version was removed meanwhile: nothing left to serve from it
            log.info("read-ahead stops file=%s error=%s", path, error)
            return


def _available() -> int:
    """MemAvailable in /proc/meminfo, in bytes (0 where there is none)."""
    meminfo = Path("/proc/meminfo")
    for line in meminfo.read_text().splitlines() if meminfo.is_file() else []:
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) * 1024
    return 0


class FileReader(MetadataReads):
    def __init__(self, folder: Path, recipe: Recipe = DEFAULT):
        if not (folder / COLUMNS).is_file():
            raise FileNotFoundError(
                f"{folder}: this index version was built by an older protokollsok (no filter columns); run "
                "`protokollsok ingest` on the records again: it rewrites the index without re-encoding anything"
            )
        self.meta = Metadata.load(folder)
        self.vectors = Vectors.load(folder, recipe.ef_search)
        self.bm25 = Lexical.load(folder)
        self.answers = AnswerKinds.load(folder)
        self.columns = Columns.load(folder)
        self.kommun_names = self.columns.names["kommun"]
        self.folder = folder

    def select(self, filters: Filters) -> np.ndarray | None:
        """Kommun, organ, type and date from the numpy columns; Dnr and § from SQLite's indexes."""
        if filters.empty():
            return None
        mask = self.columns.mask(filters)
        if filters.dnr or filters.paragraf:
            named = np.zeros(len(self.columns.date), dtype=bool)
            named[self.meta.filter_rows(Filters(dnr=filters.dnr, paragraf=filters.paragraf))] = True
            mask = named if mask is None else mask & named
        return np.flatnonzero(mask)

    def lexical(self, terms: dict[str, float], allowed: np.ndarray | None, k: int) -> LexicalScores:
        return self.bm25.search(terms, allowed, k)

    def read_ahead(self) -> None:
        read_ahead(self.folder)

    def dense(self, vector: np.ndarray, allowed: np.ndarray | None, k: int) -> dict[int, float]:
        ids, scores = self.vectors.search(vector, k, allowed)
        return dict(zip(ids.tolist(), scores.tolist()))

    def similarity(self, vector: np.ndarray, rows: np.ndarray) -> np.ndarray:
        if not len(rows):
            return np.zeros(0, np.float32)
        return self.vectors.vectors_of(rows) @ vector

    def row_facts(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return self.columns.kommun[rows], self.columns.text_hash[rows], self.answers.masks[rows]

    def frequencies(self) -> tuple[dict[str, int], np.ndarray, int]:
        return self.bm25.frequencies()

    def close(self) -> None:
        self.meta.close()
