"""The scope file (`PROTOKOLLSOK_SCOPES`): which API keys see which records, and what the widget sees.

An administrator edits one TOML file; keys are stored only as their SHA-256 (`protokollsok hash-key`), so the
file gives nobody a key. Each `[[key]]` names its kommuner (`["*"]` for all) and optionally `organ` and
`doc_types`; `[widget]` is what the widget page's token sees. Values are matched like filters (case and
diacritics folded). The file is read again when it changes, checked at most every CHECK_EVERY seconds, so no
restart is needed; a broken file keeps the last good scopes and logs the file, line and what is wrong, and at
start it is refused with the same words (service/app.py).
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from protokollsok.indexes.metadata import Scope
from protokollsok.ingest.structure import fold

CHECK_EVERY = 1.0
ALL = "*"
WIDGET = "widget"
_SHA256 = re.compile(r"[0-9a-f]{64}")
_TOML_LINE = re.compile(r"at line (\d+)")
_FIELDS = {"kommuner", "organ", "doc_types"}
log = logging.getLogger(__name__)


class ScopeFileError(ValueError):
    """What is wrong with the scope file, where, and what to do: `FILE:LINE: detail`."""


def hash_key(key: str) -> str:
    """What the scope file stores of a key: its SHA-256 in hex."""
    return hashlib.sha256(key.encode()).hexdigest()


@dataclass(frozen=True)
class ScopeTable:
    """One reading of the scope file: each key's name by its hash, and each name's scope (a scope whose every
    field is `*` is None: everything)."""

    by_hash: dict[str, str] = field(default_factory=dict)
    by_name: dict[str, Scope | None] = field(default_factory=dict)
    widget: Scope | None = None
    has_widget: bool = False


def parse(path: Path, text: str) -> ScopeTable:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        line = _TOML_LINE.search(str(error))
        at = line[1] if line else max(1, len(text.splitlines()))  # tomllib says "at end of document"
        raise ScopeFileError(f"{path}:{at}: not valid TOML ({error})") from None
    lines = text.splitlines()
    for name in sorted(set(data) - {"key", WIDGET}):
        raise ScopeFileError(f"{path}:{_line(lines, name)}: unknown section '{name}'; the sections are [[key]] and [widget]")
    keys = data.get("key", [])
    if not isinstance(keys, list):
        raise ScopeFileError(f"{path}:{_line(lines, 'key')}: write each key as a [[key]] table")
    table = ScopeTable()
    for number, entry in enumerate(keys):
        where = f"{path}:{_line(lines, 'key', number)}"
        name = entry.get("name")
        if not isinstance(name, str) or not name.strip():
            raise ScopeFileError(f"{where}: [[key]] needs a name, e.g. name = \"Norsjö personalsystem\"")
        digest = entry.get("sha256")
        if not isinstance(digest, str) or not _SHA256.fullmatch(digest):
            raise ScopeFileError(
                f"{where}: sha256 must be the 64 hex digits `protokollsok hash-key` prints for the key (read "
                "from stdin); the file never holds a key itself"
            )
        if digest in table.by_hash or name in table.by_name or name == WIDGET:
            raise ScopeFileError(f"{where}: key '{name}' repeats a name or a sha256 of an earlier [[key]] (or is named 'widget')")
        scope = _scope(where, name, entry, {"name", "sha256"})
        table.by_hash[digest] = name
        table.by_name[name] = scope
    if WIDGET in data:
        widget = _scope(f"{path}:{_line(lines, WIDGET)}", WIDGET, data[WIDGET], set())
        return ScopeTable(table.by_hash, {**table.by_name, WIDGET: widget}, widget, True)
    return table


def _scope(where: str, name: str, entry: dict, other: set[str]) -> Scope | None:
    unknown = sorted(set(entry) - _FIELDS - other)
    if unknown:
        raise ScopeFileError(f"{where}: unknown field '{unknown[0]}'; a scope has {', '.join(sorted(_FIELDS | other))}")
    if "kommuner" not in entry:
        raise ScopeFileError(f"{where}: '{name}' needs kommuner = [\"Norsjö\", …], or [\"*\"] for every kommun")
    values = {}
    for part in _FIELDS:
        value = entry.get(part, [ALL])
        if not isinstance(value, list) or not value or not all(isinstance(v, str) and v.strip() for v in value):
            raise ScopeFileError(f"{where}: {part} must be a list of names, e.g. {part} = [\"Norsjö\"], or [\"*\"] for all")
        values[part] = None if ALL in value else frozenset(fold(v.strip()) for v in value)
    if all(v is None for v in values.values()):
        return None
    return Scope(name=name, **values)


def _line(lines: list[str], section: str, number: int = 0) -> int:
    """The line of the `number`th header of a section (`[widget]`, `[[key]]`), 1 when none is found."""
    header = re.compile(rf"\s*\[\[?\s*{re.escape(section)}\s*\]\]?")
    found = [i + 1 for i, line in enumerate(lines) if header.match(line)]
    return found[number] if number < len(found) else 1


class Scopes:
    """The scope file as last read well; `current()` reads it again when it has changed."""

    def __init__(self, path: Path, check_every: float = CHECK_EVERY):
        self.path = path
        self.check_every = check_every
        self._lock = threading.Lock()
        self._stamp = self._stat()
        self._table = parse(path, self._read())
        self._checked = time.monotonic()

    def current(self) -> ScopeTable:
        now = time.monotonic()
        if now - self._checked >= self.check_every:
            with self._lock:
                if now - self._checked >= self.check_every:
                    self._checked = now
                    self._reload()
        return self._table

    def _reload(self) -> None:
        try:
            stamp = self._stat()
            if stamp == self._stamp:
                return
            self._stamp = stamp
            self._table = parse(self.path, self._read())
            log.info("scope file read again file=%s keys=%d", self.path, len(self._table.by_hash))
        except (ScopeFileError, OSError) as error:
            log.error("scope file not applied, the last good scopes stay in force: %s", error)

    def _stat(self) -> tuple[int, int, int]:
        try:
            info = self.path.stat()
        except FileNotFoundError:
            raise ScopeFileError(
                f"{self.path}:1: the scope file (PROTOKOLLSOK_SCOPES) does not exist; create it (README: Scopes)"
            ) from None
        return info.st_mtime_ns, info.st_size, info.st_ino

    def _read(self) -> str:
        try:
            return self.path.read_text(encoding="utf-8")
        except UnicodeDecodeError as error:
            raise ScopeFileError(f"{self.path}:1: not UTF-8 text ({error})") from None
