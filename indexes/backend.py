"""Where index versions live: version folders on this machine (the default), or PostgreSQL past one machine.

Both backends keep the same promises: every version holds every document, publishing is atomic, the
previous versions stay for rollback, and `remove` deletes a record from every version that holds it. The
command line, the service and eval talk to a `Backend` and never to the storage behind it.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Protocol

from .analyzer import Analyzer
from .build import CACHE, FORMAT, Entry, append, current_entries, publish
from .embed import Embedder
from .metadata import Known, Metadata
from .reader import IndexVersion
from .store import Store

BACKENDS = ("files", "postgres")


class Backend(Protocol):
    where: str

    def writing(
        self, command: str = "ingest", wait: bool = True, on_wait: Callable[[str], None] | None = None
    ) -> AbstractContextManager:
        """The one write lock of ingest, remove and rollback; without `wait`, store.Busy when it is held."""

    def current(self) -> IndexVersion | None: ...

    def current_name(self) -> str | None:
        """The current version's name, cheaply: the service asks it every second."""

    def versions(self) -> list[IndexVersion]: ...

    def rollback(self, name: str) -> IndexVersion: ...

    def entries(self) -> list[Entry]:
        """Every document of the current version with its chunks: what the next version starts from."""

    def known(self) -> dict[str, Known]:
        """Each document of the current version: its source and the hashes ingest compares a file with."""

    def publish(
        self,
        entries: list[Entry],
        embedder: Embedder,
        analyzer: Analyzer,
        note: str,
        keep: int,
        purge: frozenset[str] = frozenset(),
        progress: bool = False,
    ) -> IndexVersion: ...

    def append(
        self, added: list[Entry], embedder: Embedder, analyzer: Analyzer, note: str, keep: int, progress: bool = False
    ) -> IndexVersion:
        """New documents only: the current version plus these, as a new current version."""


class FileBackend:
    """Version folders under one root (store.py), built by build.py."""

    def __init__(self, root: Path):
        self.store = Store(root)
        self.where = str(root)

    def writing(self, command="ingest", wait=True, on_wait=None) -> AbstractContextManager:
        return self.store.writing(command, wait, on_wait)

    def current(self) -> IndexVersion | None:
        return self.store.current()

    def current_name(self) -> str | None:
        return self.store.current_name()

    def versions(self) -> list[IndexVersion]:
        return self.store.versions()

    def rollback(self, name: str) -> IndexVersion:
        return self.store.rollback(name)

    def entries(self) -> list[Entry]:
        return current_entries(self.store)

    def known(self) -> dict[str, Known]:
        version = self.store.current()
        if version is None:
            return {}
        meta = Metadata.load(version.path)
        try:
            return meta.known()
        finally:
            meta.close()

    def publish(self, entries, embedder, analyzer, note, keep, purge=frozenset(), progress=False) -> IndexVersion:
        return publish(self.store, entries, embedder, analyzer, note, keep, purge=purge, progress=progress)

    def append(self, added, embedder, analyzer, note, keep, progress=False) -> IndexVersion:
        return append(self.store, added, embedder, analyzer, note, keep, progress=progress)


def outdated(version: IndexVersion | None) -> bool:
    """A version written by an older protokollsok, which the next ingest rewrites even if no record changed."""
    return version is not None and version.manifest.get("format", 1) < FORMAT


def open_backend(kind: str, index: Path, dsn: str = "", replicas: str = "", shards: str = "") -> Backend:
    if kind == "files":
        return FileBackend(index)
    if kind == "postgres":
        if not dsn:
            raise ValueError(
                "PROTOKOLLSOK_BACKEND=postgres needs PROTOKOLLSOK_DSN, a connection string such as "
                "'host=db.kommun.se dbname=protokollsok user=protokollsok'"
            )
        from .postgres import PostgresBackend

        return PostgresBackend(dsn, index / CACHE, _listed(replicas), _listed(shards))
    raise ValueError(f"PROTOKOLLSOK_BACKEND / --backend: '{kind}' is not one of {', '.join(BACKENDS)}")


def _listed(value: str) -> list[str]:
    """Connection strings separated by `;` (a URI may hold commas between hosts)."""
    return [part.strip() for part in value.split(";") if part.strip()]
