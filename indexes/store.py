"""Index versions on disk: `versions/vNNNN/` folders and a `current` symlink published by one atomic rename.

A version is built in a hidden `.building-*` folder, renamed into place when complete, and only then made
current by replacing the symlink (rename(2) is atomic), so a crash or a failed ingest at any point leaves
the previous version serving and complete. A lock file keeps two writers from publishing at once.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

MANIFEST = "manifest.json"


class VersionError(Exception):
    pass


@dataclass(frozen=True)
class Version:
    name: str
    path: Path
    manifest: dict
    current: bool

    def open(self):
        """The version's parts, read as search asks (reader.py)."""
        from .reader import FileReader

        return FileReader(self.path)


class Store:
    def __init__(self, root: Path):
        self.root = root
        self.versions_dir = root / "versions"
        self.current_link = root / "current"

    @contextmanager
    def writing(self):
        """Held while a version is built and published, so concurrent writers queue instead of racing."""
        self.versions_dir.mkdir(parents=True, exist_ok=True)
        with open(self.root / ".lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                self._remove_abandoned()
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

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

    def _remove_abandoned(self) -> None:
        for folder in self.versions_dir.glob(".building-*"):
            shutil.rmtree(folder, ignore_errors=True)
        for link in self.root.glob(".current-*"):
            link.unlink(missing_ok=True)


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
