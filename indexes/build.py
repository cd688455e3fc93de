"""A complete set of documents → a new published index version (metadata, vectors, lexical, manifest).

Every version holds every document, so any version can serve alone and rollback is a pointer change.
What makes it cheap is the embedding cache: only chunks whose text is new are encoded.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass

from protokollsok.ingest.records import Chunk, Document

from .analyzer import Analyzer
from .answers import AnswerKinds
from .embed import Embedder, EmbeddingCache, text_hash
from .lexical import Lexical
from .metadata import Metadata
from .store import Store, Version
from .vectors import APPROXIMATE_FROM, Vectors

CACHE = "embeddings.sqlite"


@dataclass
class Entry:
    document: Document
    chunks: list[Chunk]
    source_hash: str


def indexed_text(chunk: Chunk) -> str:
    """What the models read: the unit's title, §, Dnr and section in front of the chunk's own text."""
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
    building = store.building_folder()
    meta = Metadata.create(building)
    texts: list[str] = []
    chunk_texts: list[str] = []
    for entry in sorted(entries, key=lambda e: e.document.doc_id):
        entry_texts = [indexed_text(c) for c in entry.chunks]
        chunk_texts.extend(c.text for c in entry.chunks)
        meta.add(entry.document, entry.chunks, entry.source_hash, [text_hash(t) for t in entry_texts])
        texts.extend(entry_texts)
    meta.commit()
    meta.close()

    cache = EmbeddingCache(store.root / CACHE)
    try:
        before, started = embedder.encoded, time.perf_counter()
        vectors = cache.encode(embedder, texts, progress=progress)
        encoded, encode_seconds = embedder.encoded - before, time.perf_counter() - started
    finally:
        cache.close()
    Vectors.build(vectors, approximate_from).save(building)
    Lexical.build([analyzer.tokens(t) for t in texts]).save(building)
    AnswerKinds.build(chunk_texts).save(building)

    version = store.publish(
        building,
        {
            "note": note,
            "model": embedder.model_id,
            "model_path": str(embedder.model_path),
            "dimension": embedder.dimension,
            "documents": len(entries),
            "chunks": len(texts),
            "encoded": encoded,
            "encode_seconds": round(encode_seconds, 2),
            "approximate": len(texts) >= approximate_from,
        },
    )
    _delete_versions_holding(store, purge)
    store.prune(keep)
    _forget_unused(store)
    return version


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
