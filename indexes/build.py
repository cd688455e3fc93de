"""Documents → a new published index version (metadata, filter columns, vectors, lexical, answer kinds).

Every version holds every document, so any version can serve alone and rollback is a pointer change.
`publish` writes a complete set of documents; the embedding cache makes it cheap, since only chunks whose
text is new are encoded, and vectors stream from the cache into the index, never all in memory at once.
`append` adds new documents to the current version: its parts are copied and extended, so adding a thousand
documents to millions of chunks analyses and encodes only the new ones (bench/index_scale.py).
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from protokollsok.ingest.records import Chunk, Document

from .analyzer import Analyzer
from .answers import AnswerKinds
from .columns import Columns
from .embed import Embedder, EmbeddingCache, text_hash
from .lexical import Lexical
from .metadata import FILE as META_FILE
from .metadata import Metadata
from .passage import Passage
from .recipe import DEFAULT as RECIPE
from .store import Store, Version
from .vectors import APPROXIMATE_FROM, Vectors

CACHE = "embeddings.sqlite"
# 2: Dnr mentions in their own table, filter columns in numpy; 3: BM25 in numpy files; 4: six answer kinds;
# 5: front-page fields; 6: answer kinds that tell a count from a year or date, quarters and durations as dates;
# 7: a recipe whose threshold is calibrated for evidence read over whole units (recipe.unit_share)
FORMAT = 7


@dataclass
class Entry:
    document: Document
    chunks: list[Chunk]
    source_hash: str


def indexed_text(chunk: Chunk | Passage) -> str:
    """What the models read (the embedding model, a site's reader): the unit's title, §, Dnr and section in front of the chunk's own text."""
    head = " · ".join(x for x in (chunk.title, chunk.paragraf, chunk.dnr_as_written, chunk.section) if x)
    return f"{head}\n{chunk.text}"


def current_entries(store: Store) -> list[Entry]:
    version = store.current()
    if version is None:
        return []
    meta = Metadata.load(version.path)
    try:
        return [Entry(document, chunks, source_hash) for document, chunks, source_hash in meta.documents()]
    finally:
        meta.close()


def publish(
    store: Store,
    entries: list[Entry],
    embedder: Embedder,
    analyzer: Analyzer,
    note: str,
    keep: int,
    approximate_from: int = APPROXIMATE_FROM,
    purge: frozenset[str] = frozenset(),
    progress: bool = False,
) -> Version:
    """Write all `entries` as a new version and make it current; call inside `store.writing()`.

    `purge` names removed documents: older versions that still hold their text are deleted, so neither
    a rollback nor the embedding cache can bring a retracted record back.
    """
    with store.building(sum(len(e.chunks) for e in entries)) as building:
        meta = Metadata.create(building)
        texts, chunk_texts = _add(meta, entries, building)
        meta.close()

        vectors, encoded, encode_seconds = _vectors(
            store,
            embedder,
            texts,
            progress,
            lambda batches: Vectors.build(batches, len(texts), embedder.dimension, approximate_from),
        )
        vectors.save(building)
        Lexical.build(analyzer.tokens(t) for t in texts).save(building)
        AnswerKinds.build(chunk_texts).save(building)

        manifest = _manifest(note, embedder, len(entries), len(texts), encoded, encode_seconds, vectors.approximate)
        version = store.publish(building, manifest)
    _delete_versions_holding(store, purge)
    pruned = store.prune(keep)
    if purge or pruned:
        _forget_unused(store)
    return version


def append(
    store: Store,
    added: list[Entry],
    embedder: Embedder,
    analyzer: Analyzer,
    note: str,
    keep: int,
    progress: bool = False,
) -> Version:
    """Add documents the current version does not hold, as a new version; call inside `store.writing()`.

    The new chunks take the rows after the current ones; the metadata file is copied and extended, the
    vectors added to a copy of the graph, BM25 recomputed from the stored tokens (its statistics change with
    every chunk) plus the new chunks' tokens. Nothing already indexed is analysed or encoded again.
    """
    current = store.current()
    if current is None or current.manifest.get("model") != embedder.model_id:
        raise ValueError("append needs a current version built with the same model; publish all documents instead")
    with store.building(current.manifest.get("chunks", 0) + sum(len(e.chunks) for e in added)) as building:
        shutil.copyfile(current.path / META_FILE, building / META_FILE)
        meta = Metadata.open(building)
        texts, chunk_texts = _add(meta, added, building)
        documents, chunks = len(meta.document_ids()), meta.count()
        meta.close()

        vectors = Vectors.load(current.path)
        _, encoded, encode_seconds = _vectors(store, embedder, texts, progress, lambda batches: vectors.add(batches))
        vectors.save(building)
        Lexical.load(current.path).append([analyzer.tokens(t) for t in texts]).save(building)
        old = AnswerKinds.load(current.path).masks
        AnswerKinds(np.concatenate([old, AnswerKinds.build(chunk_texts).masks])).save(building)

        version = store.publish(
            building, _manifest(note, embedder, documents, chunks, encoded, encode_seconds, vectors.approximate)
        )
    if store.prune(keep):
        _forget_unused(store)
    return version


def _vectors(
    store: Store, embedder: Embedder, texts: list[str], progress: bool, make: Callable[[Iterator[np.ndarray]], Vectors]
) -> tuple[Vectors, int, float]:
    """Encodes what the cache lacks, then `make`s the vector index from the cached vectors as they stream in;
    returns it with how many texts were encoded and the seconds that took."""
    cache = EmbeddingCache(store.root / CACHE)
    try:
        before, started = embedder.encoded, time.perf_counter()
        cache.ensure(embedder, texts, progress=progress)
        encoded, seconds = embedder.encoded - before, time.perf_counter() - started
        return make(cache.batches(embedder.model_id, [text_hash(t) for t in texts])), encoded, seconds
    finally:
        cache.close()


def _add(meta: Metadata, entries: list[Entry], building: Path) -> tuple[list[str], list[str]]:
    """The entries into the metadata store, in doc_id order, and the filter columns of the result; returns
    the texts the models read and the chunks' own texts."""
    texts: list[str] = []
    chunk_texts: list[str] = []
    for entry in sorted(entries, key=lambda e: e.document.doc_id):
        entry_texts = [indexed_text(c) for c in entry.chunks]
        chunk_texts.extend(c.text for c in entry.chunks)
        meta.add(entry.document, entry.chunks, entry.source_hash, [text_hash(t) for t in entry_texts])
        texts.extend(entry_texts)
    meta.commit()
    Columns.build(meta.db).save(building)
    return texts, chunk_texts


def _manifest(
    note: str, embedder: Embedder, documents: int, chunks: int, encoded: int, seconds: float, approximate: bool
) -> dict:
    return {
        "note": note,
        "format": FORMAT,
        "model": embedder.model_id,
        "model_path": str(embedder.model_path),
        "dimension": embedder.dimension,
        "documents": documents,
        "chunks": chunks,
        "encoded": encoded,
        "encode_seconds": round(seconds, 2),
        "approximate": approximate,
        "recipe": RECIPE.to_manifest(),
    }


def _delete_versions_holding(store: Store, doc_ids: frozenset[str]) -> None:
    if not doc_ids:
        return
    for version in store.versions():
        if version.current:
            continue
        meta = Metadata.load(version.path)
        holds = not doc_ids.isdisjoint(meta.document_ids())
        meta.close()
        if holds:
            shutil.rmtree(version.path)


def _forget_unused(store: Store) -> None:
    """Keep in the embedding cache only vectors some remaining version still uses."""
    keep: set[str] = set()
    for version in store.versions():
        meta = Metadata.load(version.path)
        keep.update(r[0] for r in meta.db.execute("SELECT text_hash FROM chunks"))
        meta.close()
    cache = EmbeddingCache(store.root / CACHE)
    cache.forget(keep)
    cache.close()
