"""Index versions on disk: `versions/vNNNN/` folders and a `current` symlink published by one atomic rename.

A version is built in a hidden `.building-*` folder, renamed into place when complete, and only then made
current by replacing the symlink (rename(2) is atomic), so a crash or a failed ingest at any point leaves
the previous version serving and complete. A build that fails removes its folder on the way out; one that
was killed leaves it to the next writer, which removes it when it takes the lock.

The lock file keeps every command that changes the index (`ingest`, `remove`, `rollback`) to one at a time,
so a rollback made during an ingest is not undone when the ingest publishes; it holds the pid and command of
its holder, so one that waits can say for whom.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import shutil
import sqlite3
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from .recipe import Recipe

MANIFEST = "manifest.json"
# Disk a version takes per chunk when there is no current version to measure: bench/index_scale.py measured
# about 3.8 GB per million chunks.
BYTES_PER_CHUNK = 4000


class VersionError(Exception):
    pass


class StoreError(Exception):
    """An index write that cannot go on, said so that the user knows what to do: nothing was changed."""


class Busy(StoreError):
    pass


class DiskFull(StoreError):
    pass


@dataclass(frozen=True)
class Version:
    name: str
    path: Path
    manifest: dict
    current: bool

    def open(self, recipe: Recipe | None = None):
        """The version's parts, read as search asks (reader.py), with `recipe` or else the version's own."""
        from .reader import FileReader

        return FileReader(self.path, recipe or Recipe.from_manifest(self.manifest))


class Store:
    def __init__(self, root: Path):
        self.root = root
        self.versions_dir = root / "versions"
        self.current_link = root / "current"

    @contextmanager
    def writing(
        self, command: str = "ingest", wait: bool = True, on_wait: Callable[[str], None] | None = None
    ) -> Iterator[None]:
        """Held while a version is built and published or current is changed, so writers queue instead of
        racing. When another holds it: `on_wait` is told whom we wait for, or, without `wait`, Busy."""
        self.versions_dir.mkdir(parents=True, exist_ok=True)
        with open(self.root / ".lock", "a+b", buffering=0) as lock:  # unbuffered: nothing left to flush on a full disk
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                lock.seek(0)
                pid, _, holder = lock.read().decode(errors="replace").strip().partition(" ")
                if not wait:
                    raise Busy(
                        f"{self.root}: another {holder or 'ingest'} is running (pid {pid or '?'}); nothing was "
                        "changed (--no-wait). Run it again when that one has finished"
                    ) from None
                if on_wait:
                    on_wait(f"waiting for another {holder or 'ingest'} to finish (pid {pid or '?'})…")
                fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                lock.truncate(0)
                lock.write(f"{os.getpid()} {command}".encode())
            except OSError:  # a full disk: the lock holds all the same, only its holder goes unnamed
                pass
            try:
                self._remove_abandoned()
                yield
            finally:
                lock.truncate(0)
                fcntl.flock(lock, fcntl.LOCK_UN)

    @contextmanager
    def building(self, chunks: int) -> Iterator[Path]:
        """A new `.building-*` folder for a version of `chunks` chunks. Whatever fails inside (a full disk, an
        interrupt, any exception) removes it on the way out, and a full disk becomes DiskFull naming the index
        folder and about how much space the version needs."""
        folder = None
        try:
            folder = self.building_folder()
            yield folder
        except BaseException as error:
            if folder is not None:
                shutil.rmtree(folder, ignore_errors=True)
            if _no_space(error):
                raise DiskFull(
                    f"{self.root}: the disk is full ({shutil.disk_usage(self.root).free / 2**20:.0f} MB free); a "
                    f"version of {chunks} chunks needs about {self._needed(chunks) / 2**20:.0f} MB there. Free "
                    "space or set PROTOKOLLSOK_INDEX to a larger disk; nothing was changed, the current version "
                    "still serves"
                ) from None
            raise

    def current(self) -> Version | None:
        name = self.current_name()
        return self._version(name, current=True) if name else None

    def current_name(self) -> str | None:
        if not self.current_link.is_symlink():
            return None
        return os.readlink(self.current_link).split("/")[-1]

    def building_folder(self) -> Path:
        folder = self.versions_dir / f".building-{uuid.uuid4().hex[:8]}"
        folder.mkdir(parents=True)
        return folder

    def publish(self, building: Path, manifest: dict) -> Version:
        name = self._next_name()
        manifest = {**manifest, "version": name, "created": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
        (building / MANIFEST).write_text(json.dumps(manifest, indent=2, ensure_ascii=False))
        _fsync_tree(building)
        final = self.versions_dir / name
        building.rename(final)
        self._point_current(name)
        return self._version(name, current=True)

    def rollback(self, name: str) -> Version:
        if not _is_version(name) or not (self.versions_dir / name / MANIFEST).is_file():
            known = ", ".join(v.name for v in self.versions()) or "none"
            raise VersionError(f"version '{name}' does not exist in {self.versions_dir} (versions: {known})")
        self._point_current(name)
        return self._version(name, current=True)

    def versions(self) -> list[Version]:
        if not self.versions_dir.is_dir():
            return []
        current = self.current()
        names = sorted(p.name for p in self.versions_dir.iterdir() if _is_version(p.name) and (p / MANIFEST).is_file())
        return [self._version(n, current=current is not None and current.name == n) for n in names]

    def prune(self, keep: int) -> list[str]:
        """Delete the oldest versions beyond `keep`, never the current one."""
        removed = []
        old = [v for v in self.versions() if not v.current]
        for version in old[: max(0, len(old) - max(keep - 1, 0))]:
            shutil.rmtree(version.path)
            removed.append(version.name)
        return removed

    def _point_current(self, name: str) -> None:
        temporary = self.root / f".current-{uuid.uuid4().hex[:8]}"
        os.symlink(f"versions/{name}", temporary)
        os.replace(temporary, self.current_link)
        _fsync_dir(self.root)

    def _next_name(self) -> str:
        numbers = [int(p.name[1:]) for p in self.versions_dir.iterdir() if _is_version(p.name)]
        return f"v{max(numbers, default=0) + 1:04d}"

    def _version(self, name: str, current: bool) -> Version:
        path = self.versions_dir / name
        return Version(name, path, json.loads((path / MANIFEST).read_text()), current)

    def _needed(self, chunks: int) -> int:
        """The current version's bytes per chunk times `chunks`, with a quarter more for the embedding cache
        and SQLite's journals while it is written."""
        current = self.current()
        per_chunk = BYTES_PER_CHUNK
        if current is not None and current.manifest.get("chunks"):
            size = sum(p.stat().st_size for p in current.path.rglob("*") if p.is_file())
            per_chunk = size / current.manifest["chunks"]
        return int(chunks * per_chunk * 1.25)

    def _remove_abandoned(self) -> None:
        for folder in self.versions_dir.glob(".building-*"):
            shutil.rmtree(folder, ignore_errors=True)
        for link in self.root.glob(".current-*"):
            link.unlink(missing_ok=True)


def _no_space(error: BaseException) -> bool:
    """Each writer says it its own way: OSError ENOSPC (numpy, files), SQLite's "database or disk is full",
    FAISS's RuntimeError "No space left on device"; the cause may sit further down the chain."""
    while error is not None:
        if isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        if isinstance(error, sqlite3.Error) and getattr(error, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL:
            return True
        if "No space left on device" in str(error):
            return True
        error = error.__cause__ or error.__context__
    return False


def _is_version(name: str) -> bool:
    """Published versions only: a `.building-*` folder may hold a manifest and still be half written."""
    return name[:1] == "v" and name[1:].isdigit()


def _fsync_tree(folder: Path) -> None:
    for path in folder.rglob("*"):
        if path.is_file():
            with open(path, "rb") as f:
                os.fsync(f.fileno())
    _fsync_dir(folder)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
